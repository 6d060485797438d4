/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF-only: flow steering.  A TCP or UDP packet to a VIP (address, port,
 * protocol in ps_vips) goes to a backend ("real"): the one its flow is
 * remembered on in ps_conn, or, for a new flow (or one whose backend left),
 * the one the VIP's Maglev table gives for the flow hash, remembered from
 * then on.  Forwarding: DSR (new destination MAC, XDP_TX) or IP-in-IP (an
 * outer header to the backend, next hop from the FIB).  ICMP "fragmentation
 * needed" / ICMPv6 "packet too big" about a VIP flow go to that flow's
 * backend.  Everything else (not a VIP, fragments, malformed) is left to
 * the stack untouched.
 *
 * One global function, verified once on its own: the DNS path's states
 * never meet the steering code's.
 */
#ifndef PS_BPF_LB_H
#define PS_BPF_LB_H

#include <linux/bpf.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <popsteer/lb.h>

#include "parse.h"
#include "csum.h"

#ifndef AF_INET
#define AF_INET		2
#endif
#ifndef AF_INET6
#define AF_INET6	10
#endif
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6	58
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_VIPS);
	__type(key, struct ps_vip_key);
	__type(value, struct ps_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PS_MAX_REALS);
	__type(key, __u32);
	__type(value, struct ps_real);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_reals SEC(".maps");

/* a VIP's table: any number of entries (BPF_F_INNER_MAP), steerd makes
 * one per rebuild and swaps it in */
struct ps_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	/* a size: clang leaves the struct a forward declaration here */
	__uint(value_size, sizeof(struct ps_maglev_ent));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PS_MAX_VIPS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct ps_maglev_inner);
} ps_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, PS_CONN_DEFAULT);
	__type(key, struct ps_conn_key);
	__type(value, struct ps_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_conn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct ps_lb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_MAX_REALS);
	__type(key, __u32);
	__type(value, struct ps_lb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_real_stats SEC(".maps");

/* What the parse of a steered packet found. */
struct ps_flow {
	struct ps_conn_key ck;	/* client -> VIP */
	__u32 l3, l4;		/* frame offsets */
	__u32 ip_len;		/* the IP packet, header included */
	__u8  icmp;		/* an ICMP "too big" about the flow */
	__u8  tos;		/* IPv4 TOS / IPv6 traffic class */
	__u8  df;		/* IPv4 DF */
	__u8  pad;
};

/* The ports of a TCP/UDP header at `off`, inside the IP packet that
 * ends at `end` (a frame may carry padding after it), or -1. */
static __always_inline int ps_ports(void *data, void *data_end, __u32 off,
				    __u32 end, __be16 *sport, __be16 *dport)
{
	__be16 *p = data + off;

	if ((void *)(p + 2) > data_end || off + 4 > end)
		return -1;
	*sport = p[0];
	*dport = p[1];
	return 0;
}

/*
 * Fill f from the frame: a TCP/UDP packet (client -> VIP), or an ICMP
 * "too big" whose quoted packet is VIP -> client (then f describes the
 * client -> VIP flow it belongs to).  0, or -1 when it is neither.
 */
static __always_inline int ps_lb_parse(void *data, void *data_end,
				       const struct ps_pkt *pkt,
				       struct ps_flow *f)
{
	struct ps_conn_key *ck = &f->ck;
	__u32 l4 = pkt->l4;

	f->l3 = pkt->l3;
	f->l4 = l4;
	if (pkt->family == 4) {
		struct iphdr *ip = data + pkt->l3;

		if ((void *)(ip + 1) > data_end)
			return -1;
		f->ip_len = ps_len16(ip->tot_len);
		f->tos = ip->tos;
		f->df = !!(ip->frag_off & bpf_htons(0x4000));
		ck->family = 4;
		if (pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP) {
			*(__u32 *)ck->src = ip->saddr;
			*(__u32 *)ck->dst = ip->daddr;
			ck->proto = pkt->proto;
			return ps_ports(data, data_end, l4, pkt->l3 + f->ip_len,
					&ck->sport, &ck->dport);
		}
		if (pkt->proto == IPPROTO_ICMP) {
			struct icmphdr *ic = data + l4;
			struct iphdr *in = data + l4 + sizeof(*ic);

			if ((void *)(in + 1) > data_end)
				return -1;
			if (ic->type != ICMP_DEST_UNREACH || ic->code != ICMP_FRAG_NEEDED ||
			    in->version != 4 || in->ihl != 5 ||
			    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
				return -1;
			/* the quoted packet went VIP -> client */
			*(__u32 *)ck->src = in->daddr;
			*(__u32 *)ck->dst = in->saddr;
			ck->proto = in->protocol;
			f->icmp = 1;
			return ps_ports(data, data_end, l4 + sizeof(*ic) + sizeof(*in),
					pkt->l3 + f->ip_len, &ck->dport, &ck->sport);
		}
		return -1;
	}
	if (pkt->family == 6) {
		struct ipv6hdr *ip6 = data + pkt->l3;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		f->ip_len = ps_len16(ip6->payload_len) + sizeof(*ip6);
		f->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		ck->family = 6;
		if (pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP) {
			__builtin_memcpy(ck->src, &ip6->saddr, 16);
			__builtin_memcpy(ck->dst, &ip6->daddr, 16);
			ck->proto = pkt->proto;
			return ps_ports(data, data_end, l4, pkt->l3 + f->ip_len,
					&ck->sport, &ck->dport);
		}
		if (pkt->proto == IPPROTO_ICMPV6) {
			struct icmp6hdr *ic = data + l4;
			struct ipv6hdr *in = data + l4 + sizeof(*ic);

			if ((void *)(in + 1) > data_end)
				return -1;
			if (ic->icmp6_type != ICMPV6_PKT_TOOBIG || in->version != 6 ||
			    (in->nexthdr != IPPROTO_TCP && in->nexthdr != IPPROTO_UDP))
				return -1;
			__builtin_memcpy(ck->src, &in->daddr, 16);
			__builtin_memcpy(ck->dst, &in->saddr, 16);
			ck->proto = in->nexthdr;
			f->icmp = 1;
			return ps_ports(data, data_end, l4 + sizeof(*ic) + sizeof(*in),
					pkt->l3 + f->ip_len, &ck->dport, &ck->sport);
		}
	}
	return -1;
}

static __always_inline void ps_lb_count(struct ps_lb_stats *s, __u64 bytes)
{
	if (s) {
		s->packets++;
		s->bytes += bytes;
	}
}

/* The backend for a new flow, PS_REAL_NONE if the table has none. */
static __always_inline __u32 ps_maglev_pick(const struct ps_vip *vip, __u32 vid,
					    __u32 hash)
{
	struct ps_maglev_ent *ent;
	__u32 idx, key;
	void *table;

	table = bpf_map_lookup_elem(&ps_maglev, &vid);
	if (!table || !vip->size)
		return PS_REAL_NONE;
	idx = hash % vip->size;
	key = idx / PS_MAGLEV_PER_ENT;
	ent = bpf_map_lookup_elem(table, &key);
	if (!ent)
		return PS_REAL_NONE;
	return ent->real[idx & (PS_MAGLEV_PER_ENT - 1)];
}

/* DSR: the backend owns the VIP; the frame only changes MACs. */
static __always_inline int ps_fwd_dsr(void *data, void *data_end,
				      const struct ps_real *real)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, real->mac, ETH_ALEN);
	return XDP_TX;
}

/*
 * IP-in-IP next hops, per CPU and backend: what bpf_fib_lookup() said,
 * reused for PS_NH_TTL_NS (a FIB lookup costs more than the rest of the
 * packet's work).  A route or neighbour change reaches new packets within
 * that time; a packet longer than any the entry was looked up for asks
 * the FIB again (its MTU check).  Data plane only: not pinned.
 */
#define PS_NH_TTL_NS	(1000ULL * 1000 * 1000)

struct ps_nh {
	__u64 expires;		/* bpf_ktime_get_coarse_ns() */
	__u32 in_ifindex;	/* the lookup's ingress interface */
	__u32 out_ifindex;
	__u32 fits;		/* longest outer packet it was looked up for */
	__u8  dmac[ETH_ALEN];
	__u8  smac[ETH_ALEN];
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_MAX_REALS);
	__type(key, __u32);
	__type(value, struct ps_nh);
} ps_nh_cache SEC(".maps");

/*
 * IP-in-IP to the backend: the next hop comes from the FIB first (a frame
 * we cannot send is left as it was, to the stack), then the outer header
 * replaces the link layer's VLAN tags, if any.
 */
static __always_inline int ps_fwd_ipip(struct xdp_md *ctx, const struct ps_flow *f,
				       const struct ps_vip *vip, __u32 rid,
				       const struct ps_real *real, __u32 hash,
				       struct ps_lb_stats *vs)
{
	struct bpf_fib_lookup fib = {};
	__u32 src[4], outer, l3 = f->l3;
	__u64 now = bpf_ktime_get_coarse_ns();
	void *data, *data_end;
	struct ethhdr *eth;
	struct ps_nh *nh;
	int rc;

#pragma unroll
	for (int w = 0; w < 4; w++)
		src[w] = (*(__u32 *)&vip->tun_src[4 * w] & ~*(__u32 *)&vip->tun_host[4 * w]) |
			 (hash & *(__u32 *)&vip->tun_host[4 * w]);
	fib.ifindex = ctx->ingress_ifindex;
	if (real->family == 4) {
		fib.family = AF_INET;
		fib.ipv4_src = src[0];
		fib.ipv4_dst = *(__u32 *)real->addr;
		fib.tot_len = f->ip_len + sizeof(struct iphdr);
		outer = sizeof(struct iphdr);
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, real->addr, 16);
		fib.tot_len = f->ip_len + sizeof(struct ipv6hdr);
		outer = sizeof(struct ipv6hdr);
	}
	nh = bpf_map_lookup_elem(&ps_nh_cache, &rid);
	if (nh && nh->expires > now && nh->in_ifindex == ctx->ingress_ifindex &&
	    fib.tot_len <= nh->fits) {
		__builtin_memcpy(fib.dmac, nh->dmac, ETH_ALEN);
		__builtin_memcpy(fib.smac, nh->smac, ETH_ALEN);
		fib.ifindex = nh->out_ifindex;
	} else {
		__u32 in = ctx->ingress_ifindex, len = fib.tot_len;

		rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
			if (vs)
				vs->fib_fail++;
			return XDP_PASS;
		}
		if (nh) {
			/* still the same entry, only a longer packet */
			if (!(nh->expires > now && nh->in_ifindex == in &&
			      nh->out_ifindex == fib.ifindex))
				nh->expires = now + PS_NH_TTL_NS;
			nh->in_ifindex = in;
			nh->out_ifindex = fib.ifindex;
			nh->fits = len;
			__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
			__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
		}
	}
	/* [eth + tags][inner] -> [eth][outer][inner] */
	if (l3 > 64 || bpf_xdp_adjust_head(ctx, (int)l3 - (int)(ETH_HLEN + outer)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if (real->family == 4) {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
		eth->h_proto = bpf_htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = f->tos;
		ip->tot_len = bpf_htons(f->ip_len + sizeof(*ip));
		ip->id = 0;
		/* RFC 2003: DF as the inner packet has it */
		ip->frag_off = f->df ? bpf_htons(0x4000) : 0;
		ip->ttl = 64;
		ip->protocol = f->ck.family == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
		ip->check = 0;
		ip->saddr = src[0];
		ip->daddr = *(__u32 *)real->addr;
		ip->check = ~ps_csum_fold(ps_csum_ip4((__u16 *)ip));
	} else {
		struct ipv6hdr *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->priority = f->tos >> 4;
		/* the flow label spreads flows over the backend's queues */
		ip6->flow_lbl[0] = ((f->tos & 0xf) << 4) | ((hash >> 16) & 0xf);
		ip6->flow_lbl[1] = hash >> 8;
		ip6->flow_lbl[2] = hash;
		ip6->payload_len = bpf_htons(f->ip_len);
		ip6->nexthdr = f->ck.family == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, src, 16);
		__builtin_memcpy(&ip6->daddr, real->addr, 16);
	}
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib.ifindex, 0);
}

/* 1 if the packet is a TCP SYN without ACK (not an ICMP error).  l4 is
 * at most 14 + 8 (two VLAN tags) + 60 (IPv4 options). */
static __always_inline int ps_lb_syn(void *data, void *data_end,
				     const struct ps_flow *f)
{
	__u8 *flags = data + f->l4 + 13;

	if (f->ck.proto != IPPROTO_TCP || f->icmp || f->l4 > 128 ||
	    (void *)(flags + 1) > data_end)
		return 0;
	return (*flags & 0x12) == 0x02;
}

/* The flow hash of f for its VIP's table (and IP-in-IP outer source). */
static __always_inline __u32 ps_lb_hash(const struct ps_flow *f,
					const struct ps_vip *vip)
{
	return ps_flow_hash((const __u32 *)f->ck.src, (const __u32 *)f->ck.dst,
			    ((__u32)f->ck.sport << 16) | f->ck.dport,
			    f->ck.proto, vip->seed);
}

/*
 * Steer the frame if it belongs to a VIP: an XDP verdict, or XDP_PASS for
 * anything that is not ours.
 */
__noinline int ps_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ps_flow f = {};
	struct ps_vip_key vk = {};
	struct ps_lb_stats *vs, *rs;
	struct ps_real *real;
	struct ps_conn *conn;
	struct ps_pkt pkt = {};
	struct ps_vip *vip;
	__u32 vid, rid, hash, len = data_end - data;
	int placed = 0, hashed = 0;

	if (ps_parse_l3(data, data_end, &pkt) < 0 ||
	    ps_lb_parse(data, data_end, &pkt, &f) < 0)
		return XDP_PASS;
	__builtin_memcpy(vk.addr, f.ck.dst, 16);
	vk.port = f.ck.dport;
	vk.proto = f.ck.proto;
	vk.family = f.ck.family;
	vip = bpf_map_lookup_elem(&ps_vips, &vk);
	if (!vip)
		return XDP_PASS;
	vid = vip->id;
	vs = bpf_map_lookup_elem(&ps_vip_stats, &vid);
	ps_lb_count(vs, len);

	/* A SYN (without ACK) opens a connection: placed by the table
	 * straight away, as a retransmitted one is again (same hash), which
	 * saves a lookup that would miss in the new-flow path. */
	conn = NULL;
	if (!ps_lb_syn(data, data_end, &f))
		conn = bpf_map_lookup_elem(&ps_conn, &f.ck);
	if (conn) {
		rid = conn->real;
		real = bpf_map_lookup_elem(&ps_reals, &rid);
		if (real && real->flags & (PS_REAL_UP | PS_REAL_DRAIN))
			goto forward;
		if (vs)		/* its backend left: placed again */
			vs->replaced++;
	}
	hash = ps_lb_hash(&f, vip);
	hashed = 1;
	rid = ps_maglev_pick(vip, vid, hash);
	real = bpf_map_lookup_elem(&ps_reals, &rid);
	if (!real || !(real->flags & PS_REAL_UP)) {
		if (vs)
			vs->no_backend++;
		return XDP_PASS;
	}
	/* an ICMP error does not make a flow */
	if (!f.icmp) {
		struct ps_conn nc = { .real = rid, .vip = vid };

		bpf_map_update_elem(&ps_conn, &f.ck, &nc, BPF_ANY);
		if (vs)
			vs->new_flows++;
		placed = 1;
	}
forward:
	rs = bpf_map_lookup_elem(&ps_real_stats, &rid);
	ps_lb_count(rs, len);
	if (f.icmp && vs)
		vs->icmp++;
	if (rs && placed)
		rs->new_flows++;
	if (vip->mode == PS_FWD_DSR) {
		if (real->family != f.ck.family)
			return XDP_PASS;
		return ps_fwd_dsr(data, data_end, real);
	}
	if (vip->mode == PS_FWD_IPIP) {
		/* an established flow's hash only picks its outer source */
		if (!hashed)
			hash = ps_lb_hash(&f, vip);
		return ps_fwd_ipip(ctx, &f, vip, rid, real, hash, vs);
	}
	return XDP_PASS;
}

#endif
