// SPDX-License-Identifier: GPL-2.0-only
/*
 * popsteer backend: strip the IP-in-IP header the PoP's load balancer puts
 * in front of a flow's packets (IPv4 or IPv6 inside IPv4 or IPv6), in XDP,
 * on hosts without the ipip and ip6_tunnel modules.  The inner packet goes
 * up the stack as if it had arrived directly; the backend owns the VIP (on
 * lo) and answers the client directly.
 *
 *   ip link set dev IF xdp obj decap.bpf.o sec xdp
 *
 * iproute2 pins two maps by name in <bpffs>/tc/globals (/sys/fs/bpf, or
 * $TC_BPF_MNT); the ABI is in include/popsteer/decap.h:
 *
 *   ps_decap_addrs  HASH, the outer destinations to decapsulate for:
 *                   16-byte keys (IPv4 as ::ffff:a.b.c.d), __u32 values
 *     bpftool map update pinned /sys/fs/bpf/tc/globals/ps_decap_addrs \
 *       key hex 00 00 00 00 00 00 00 00 00 00 ff ff c6 12 00 01 \
 *       value hex 01 00 00 00                  # 198.18.0.1
 *   ps_decap_stats  PERCPU_ARRAY[1] of struct ps_decap_stats
 *     bpftool map dump pinned /sys/fs/bpf/tc/globals/ps_decap_stats
 *
 * An EMPTY ps_decap_addrs decapsulates every IP-in-IP packet: attaching
 * the program is all a backend needs, as with the kernel's own tunnels
 * (the fallback tunl0/ip6tnl0 devices, Katran's "external" ipip0 take
 * IP-in-IP to any of the host's addresses).  Once an address is listed,
 * only IP-in-IP to listed addresses is; the rest goes to the stack as it
 * came (which, without a tunnel driver, drops it).  List the tunnel
 * addresses on hosts that route, or that must not take tunnelled packets
 * on other addresses: XDP runs before netfilter, so a host firewall sees
 * only the inner packet, never the outer source.  A listed address takes
 * effect at once; the change between an empty and a non-empty map within
 * PS_DECAP_EMPTY_TTL_MS (100 ms): telling that a hash map is empty takes
 * a walk of all its buckets (about a microsecond), so each CPU remembers
 * the answer that long (ps_decap_cache, not pinned).
 *
 * What becomes of a frame, and the one counter it counts in:
 *  - IP-in-IP for us -- outer IPv4 with protocol 4 or 41, or outer IPv6
 *    with next header 41 or 4 (no extension headers), to us -- with a
 *    valid outer header and a complete, sane inner header: the outer
 *    header is removed, the Ethernet type (with VLAN tags, the innermost
 *    tag's) becomes the inner family's, XDP_PASS: decap4 / decap6.  Outer
 *    CE marks an ECT inner packet CE, as the kernel's tunnels do (RFC 6040).
 *  - Left untouched, XDP_PASS: pass.  Anything not IP-in-IP (not IP, more
 *    than two VLAN tags, other protocols, outer IPv6 extension headers, an
 *    IPv4-mapped outer IPv6 destination); an invalid outer header (bad
 *    IPv4 checksum, IHL < 5, a length beyond the frame: the stack drops it
 *    and counts it as any broken packet); outer IPv4 fragments (also
 *    pass_frag: an MTU problem between balancer and backend); IP-in-IP to
 *    an unlisted address (also pass_not_ours).
 *  - XDP_DROP: IP-in-IP for us with a valid outer header around an inner
 *    header that is truncated or lies (not the version the outer protocol
 *    says, IHL < 5, a length beyond the outer payload): drop_malformed.
 *    Outer CE around a Not-ECT inner packet: drop_ecn (RFC 6040).
 * Bytes after the inner packet (Ethernet padding, or an outer payload
 * longer than the inner packet) stay: the stack trims a packet to its IP
 * length as it trims Ethernet padding.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <popsteer/decap.h>

#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/mem.h"

/* hide a value's origin from the compiler, so it keeps the checks the
 * verifier needs */
#define ps_barrier_var(v)	asm volatile("" : "+r"(v))

#define PS_ECN_MASK	3
#define PS_ECN_NOT_ECT	0
#define PS_ECN_CE	3

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_DECAP_ADDRS_MAX);
	__type(key, struct ps_decap_addr);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_decap_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_decap_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_decap_cache);
} ps_decap_cache SEC(".maps");

/* what became of a frame: one counter each */
enum ps_decap_res {
	PS_DR_PASS,
	PS_DR_FRAG,
	PS_DR_NOT_OURS,
	PS_DR_MALFORMED,
	PS_DR_ECN,
	PS_DR_DECAP4,
	PS_DR_DECAP6,
};

/* The outer header the parse found, to be removed. */
struct ps_outer {
	__u32 l3;		/* frame offset of the outer IP header */
	__u32 olen;		/* outer header bytes (20..60 or 40) */
	__u32 avail;		/* outer payload bytes, per the outer length */
	__u8  inner;		/* IPPROTO_IPIP or IPPROTO_IPV6 */
	__u8  ecn;		/* outer ECN field */
};

static long ps_any_addr(void *map, const void *key, void *value, void *ctx)
{
	*(__u32 *)ctx = 1;
	return 1;		/* one is enough: stop */
}

/* Is the outer destination one we decapsulate for? */
static __always_inline int ps_ours(const struct ps_decap_addr *key)
{
	struct ps_decap_cache *c;
	__u32 zero = 0, any = 0;
	__u64 now;

	if (bpf_map_lookup_elem(&ps_decap_addrs, key))
		return 1;
	/* Not listed: ours only if nothing is.  No helper tells a hash map's
	 * size, and a walk that finds nothing visits every bucket: remember
	 * the answer for a while (decap.h: ps_decap_cache). */
	c = bpf_map_lookup_elem(&ps_decap_cache, &zero);
	if (!c)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	if (now < c->until_ns)
		return c->empty;
	bpf_for_each_map_elem(&ps_decap_addrs, ps_any_addr, &any, 0);
	c->empty = !any;
	c->until_ns = now + PS_DECAP_EMPTY_TTL_MS * 1000000ULL;
	return !any;
}

/* RFC 1071 check of an IPv4 header of ihl 4-byte words (5..15) that the
 * caller knows is within the frame. */
static __always_inline int ps_ip4_csum_ok(const struct iphdr *ip,
					  void *data_end, __u32 ihl)
{
	__u64 sum = ps_csum_ip4((const __u16 *)ip);

	/* clang can prove the checks below from the caller's tot_len check
	 * and drop them; the verifier cannot (no range from a compare with
	 * a u16 offset): make data_end opaque */
	ps_barrier_var(data_end);
#pragma unroll
	for (__u32 i = 5; i < 15; i++) {
		const void *w = (const void *)ip + 4 * i;

		if (i >= ihl)
			break;
		if (w + 4 > data_end)
			return 0;
		sum += ps_ld32(w);
	}
	return ps_csum_fold(sum) == 0xffff;
}

/*
 * Parse Ethernet, up to two VLAN tags and the outer IP header.  Returns
 * PS_CONTINUE with *o filled for IP-in-IP to us with a valid outer
 * header, or the counter of a frame to leave untouched.
 */
static __always_inline int ps_parse_outer(void *data, void *data_end,
					  struct ps_outer *o)
{
	union {
		struct ps_decap_addr a;
		__u32 w[4];
	} key;
	__be16 proto;
	int l2 = ps_parse_l2(data, data_end, &proto);
	__u32 l3;

	if (l2 < 0)
		return PS_DR_PASS;
	l3 = l2;
	o->l3 = l3;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l3;
		__u32 ihl, tot;

		if ((void *)(ip + 1) > data_end)
			return PS_DR_PASS;
		if (ip->protocol != IPPROTO_IPIP && ip->protocol != IPPROTO_IPV6)
			return PS_DR_PASS;
		/* an invalid outer header is the stack's to drop and count */
		if (ip->version != 4 || ip->ihl < 5)
			return PS_DR_PASS;
		ihl = ip->ihl;
		tot = ps_len16(ip->tot_len);
		if (tot < ihl * 4 || (void *)ip + tot > data_end)
			return PS_DR_PASS;
		if (!ps_ip4_csum_ok(ip, data_end, ihl))
			return PS_DR_PASS;
		if (ip->frag_off & bpf_htons(0x3fff))
			return PS_DR_FRAG;
		key.w[0] = 0;
		key.w[1] = 0;
		key.w[2] = bpf_htonl(0xffff);
		key.w[3] = ip->daddr;
		if (!ps_ours(&key.a))
			return PS_DR_NOT_OURS;
		o->olen = ihl * 4;
		o->avail = tot - ihl * 4;
		o->inner = ip->protocol;
		o->ecn = ip->tos & PS_ECN_MASK;
		return PS_CONTINUE;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l3;
		__u32 plen;

		if ((void *)(ip6 + 1) > data_end)
			return PS_DR_PASS;
		/* extension headers are not walked: only a next header of 41
		 * or 4 right after the fixed header is IP-in-IP */
		if (ip6->nexthdr != IPPROTO_IPV6 && ip6->nexthdr != IPPROTO_IPIP)
			return PS_DR_PASS;
		if (ip6->version != 6)
			return PS_DR_PASS;
		plen = ps_len16(ip6->payload_len);
		if ((void *)(ip6 + 1) + plen > data_end)
			return PS_DR_PASS;
		key.w[0] = ps_ld32(&ip6->daddr.in6_u.u6_addr32[0]);
		key.w[1] = ps_ld32(&ip6->daddr.in6_u.u6_addr32[1]);
		key.w[2] = ps_ld32(&ip6->daddr.in6_u.u6_addr32[2]);
		key.w[3] = ps_ld32(&ip6->daddr.in6_u.u6_addr32[3]);
		/* IPv4-mapped: not an IPv6 destination (nor an IPv4 key) */
		if (!key.w[0] && !key.w[1] && key.w[2] == bpf_htonl(0xffff))
			return PS_DR_PASS;
		if (!ps_ours(&key.a))
			return PS_DR_NOT_OURS;
		o->olen = sizeof(*ip6);
		o->avail = plen;
		o->inner = ip6->nexthdr;
		o->ecn = (ip6->flow_lbl[0] >> 4) & PS_ECN_MASK;
		return PS_CONTINUE;
	}
	return PS_DR_PASS;
}

/*
 * Check the inner header behind the outer one and apply the outer ECN to
 * it.  Returns PS_CONTINUE or the counter of a frame to drop.
 */
static __always_inline int ps_check_inner(void *data, void *data_end,
					  const struct ps_outer *o)
{
	__u32 off = o->l3 + o->olen;
	void *in;

	if (off > 22 + 60)	/* cannot be: bounds for the verifier */
		return PS_DR_MALFORMED;
	in = data + off;
	if (o->inner == IPPROTO_IPIP) {
		struct iphdr *ip = in;
		__u32 tot;

		if (o->avail < sizeof(*ip) || (void *)(ip + 1) > data_end)
			return PS_DR_MALFORMED;
		if (ip->version != 4 || ip->ihl < 5)
			return PS_DR_MALFORMED;
		tot = ps_len16(ip->tot_len);
		if (tot < ip->ihl * 4 || tot > o->avail)
			return PS_DR_MALFORMED;
		if (o->ecn == PS_ECN_CE) {
			__u16 old, new;
			__u64 sum;

			if ((ip->tos & PS_ECN_MASK) == PS_ECN_NOT_ECT)
				return PS_DR_ECN;
			if ((ip->tos & PS_ECN_MASK) == PS_ECN_CE)
				return PS_CONTINUE;
			/* RFC 1624 update of the checksum for the word
			 * holding version/IHL and TOS, in memory order */
			old = ps_ld16(ip);
			ip->tos |= PS_ECN_CE;
			ps_mem_barrier();
			new = ps_ld16(ip);
			sum = (__u16)~ip->check;
			sum += (__u16)~old;
			sum += new;
			ip->check = ~ps_csum_fold(sum);
		}
		return PS_CONTINUE;
	} else {
		struct ipv6hdr *ip6 = in;

		if (o->avail < sizeof(*ip6) || (void *)(ip6 + 1) > data_end)
			return PS_DR_MALFORMED;
		if (ip6->version != 6)
			return PS_DR_MALFORMED;
		if (sizeof(*ip6) + ps_len16(ip6->payload_len) > o->avail)
			return PS_DR_MALFORMED;
		if (o->ecn == PS_ECN_CE) {
			/* ECN: bits 5..4 of the second byte */
			if (((ip6->flow_lbl[0] >> 4) & PS_ECN_MASK) == PS_ECN_NOT_ECT)
				return PS_DR_ECN;
			ip6->flow_lbl[0] |= PS_ECN_CE << 4;
		}
		return PS_CONTINUE;
	}
}

/*
 * Move the Ethernet header and VLAN tags (o->l3 bytes: 14, 18 or 22) onto
 * the end of the outer IP header, give the innermost type field the inner
 * family's, and drop the bytes in front.  The frame has at least
 * o->l3 + o->olen + 20 bytes.  Returns 0, or -1 if the frame could not be
 * shortened (it is then mangled: drop it).
 */
static __always_inline int ps_strip(struct xdp_md *ctx,
				    const struct ps_outer *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__be16 type = o->inner == IPPROTO_IPIP ? bpf_htons(ETH_P_IP)
					       : bpf_htons(ETH_P_IPV6);
	__u32 l3 = o->l3, olen = o->olen;
	void *dst, *tp;
	__u64 mac0;
	__u32 mac1, tag0, tag1;

	if (l3 < 14 || l3 > 22 || olen > 60)	/* cannot be: for the verifier */
		return -1;
	dst = data + olen;
	/* read all 20 bytes first: old and new places overlap when a
	 * 20-byte outer header follows two tags */
	if (data + 20 > data_end)
		return -1;
	mac0 = ps_ld64(data);
	mac1 = ps_ld32(data + 8);
	tag0 = ps_ld32(data + 12);
	tag1 = ps_ld32(data + 16);
	if (dst + 22 > data_end)
		return -1;
	ps_st64(dst, mac0);
	ps_st32(dst + 8, mac1);
	if (l3 > 14)
		ps_st32(dst + 12, tag0);
	if (l3 > 18)
		ps_st32(dst + 16, tag1);
	tp = dst + (l3 - 2);
	if (tp + 2 > data_end)
		return -1;
	ps_st16(tp, type);
	return bpf_xdp_adjust_head(ctx, olen) ? -1 : 0;
}

static __always_inline int ps_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ps_outer o = {};
	int rc;

	rc = ps_parse_outer(data, data_end, &o);
	if (rc != PS_CONTINUE)
		return rc;
	rc = ps_check_inner(data, data_end, &o);
	if (rc != PS_CONTINUE)
		return rc;
	if (ps_strip(ctx, &o))
		return PS_DR_MALFORMED;
	return o.inner == IPPROTO_IPIP ? PS_DR_DECAP4 : PS_DR_DECAP6;
}

SEC("xdp")
int xdp_decap(struct xdp_md *ctx)
{
	struct ps_decap_stats *st;
	__u32 zero = 0;
	int rc = ps_decap(ctx);

	st = bpf_map_lookup_elem(&ps_decap_stats, &zero);
	switch (rc) {
	case PS_DR_DECAP4:
		if (st)
			st->decap4++;
		return XDP_PASS;
	case PS_DR_DECAP6:
		if (st)
			st->decap6++;
		return XDP_PASS;
	case PS_DR_MALFORMED:
		if (st)
			st->drop_malformed++;
		return XDP_DROP;
	case PS_DR_ECN:
		if (st)
			st->drop_ecn++;
		return XDP_DROP;
	case PS_DR_FRAG:
		if (st)
			st->pass_frag++;
		break;
	case PS_DR_NOT_OURS:
		if (st)
			st->pass_not_ours++;
		break;
	}
	if (st)
		st->pass++;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
