// SPDX-License-Identifier: GPL-2.0-only
/*
 * The client side of the saturation benchmark.
 *
 * psb_gen runs through BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES and
 * ingress_ifindex = the client veth: its XDP_TX sends each frame out of
 * that veth to the PoP.  The kernel recycles the generator's pages without
 * restoring their bytes, and the PoP's XDP program turns queries into
 * answers in those very pages, so every frame is rewritten here from a
 * template before it goes out.
 *
 * psb_count is attached to the client veth: it checks each answer against
 * what its query (named by the DNS ID) expects, counts it and drops it.
 * In flow steering mode (psb_gcfg.lb) the frames are datagrams to a VIP
 * and what comes back is each one steered to a backend (DSR: the same
 * datagram, for a backend's MAC).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PSB_TPL_MAX);
	__type(key, __u32);
	__type(value, struct psb_frame);
} psb_tpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PSB_TPL_MAX);
	__type(key, __u32);
	__type(value, struct psb_expect);
} psb_expect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct psb_gcfg);
} psb_gcfg SEC(".maps");

/* round-robin position and frames sent (the generator runs on one CPU at
 * a time; per-CPU keeps it free of atomics anyway) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct psb_gen);
} psb_pos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct psb_count);
} psb_counts SEC(".maps");

/* per-CPU so that two CPUs never write one sample at the same time */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PSB_SAMPLES);
	__type(key, __u32);
	__type(value, struct psb_frame);
} psb_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PSB_BAD_SAMPLES);
	__type(key, __u32);
	__type(value, struct psb_frame);
} psb_bad SEC(".maps");

SEC("xdp")
int psb_gen(struct xdp_md *ctx)
{
	__u32 zero = 0, idx, len, cur;
	struct psb_gcfg *cfg;
	struct psb_frame *t;
	struct psb_gen *g;

	cfg = bpf_map_lookup_elem(&psb_gcfg, &zero);
	g = bpf_map_lookup_elem(&psb_pos, &zero);
	if (!cfg || !g || cfg->ntpl == 0)
		return XDP_ABORTED;
	idx = g->pos;
	g->pos = idx + 1 >= cfg->ntpl ? 0 : idx + 1;
	t = bpf_map_lookup_elem(&psb_tpl, &idx);
	if (!t)
		return XDP_ABORTED;
	len = t->len;
	if (len < PSB_FRAME_MIN || len > PSB_FRAME_MAX)
		return XDP_ABORTED;
	/* Each frame comes with the bounds of data_in (the longest template)
	 * but with whatever bytes its page last held, often an answer: cut
	 * it to this template's length and write all of it. */
	cur = bpf_xdp_get_buff_len(ctx);
	if (len != cur && bpf_xdp_adjust_tail(ctx, (int)len - (int)cur))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, t->data, len))
		return XDP_ABORTED;
	/* userspace stops the run with a signal: the kernel cannot say how
	 * many frames went out, so count them here */
	g->sent++;
	return XDP_TX;
}

struct psb_dnshdr {
	__be16 id, flags, qd, an, ns, ar;
};

static __always_inline void psb_sample(struct xdp_md *ctx, void *map,
				       __u32 slot, __u32 tpl)
{
	struct psb_frame *s = bpf_map_lookup_elem(map, &slot);
	__u32 len = bpf_xdp_get_buff_len(ctx);

	if (!s)
		return;
	s->len = len;
	s->tpl = tpl;
	if (len > PSB_FRAME_MAX)
		len = PSB_FRAME_MAX;	/* userspace sees s->len > max */
	if (len < 1 || bpf_xdp_load_bytes(ctx, 0, s->data, len))
		s->len = 0;
}

/* 1: a valid answer, 0: an invalid DNS reply, -1: not a DNS reply */
static __always_inline int psb_check(void *data, void *data_end,
				     const struct psb_gcfg *cfg, __u32 *tpl)
{
	struct ethhdr *eth = data;
	const struct psb_expect *e;
	struct psb_dnshdr *dh;
	struct udphdr *udp;
	__u8 family, *src;
	__u16 id, fl;
	__u32 idx;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
			return -1;
		if (ip->ihl != 5)	/* our servers never send options */
			return 0;
		udp = (void *)(ip + 1);
		src = (__u8 *)&ip->saddr;
		family = 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return -1;
		udp = (void *)(ip6 + 1);
		src = (__u8 *)&ip6->saddr;
		family = 6;
	} else {
		return -1;
	}
	if ((void *)(udp + 1) > data_end)
		return -1;
	dh = (void *)(udp + 1);
	if ((void *)(dh + 1) > data_end)
		return udp->source == bpf_htons(53) ? 0 : -1;
	id = bpf_ntohs(dh->id);
	idx = id & ~PSB_ID_MASK;
	if ((id & PSB_ID_MASK) != PSB_ID_BASE || idx >= cfg->ntpl)
		return udp->source == bpf_htons(53) ? 0 : -1;
	*tpl = idx;
	e = bpf_map_lookup_elem(&psb_expect, &idx);
	if (!e)
		return 0;
	if (udp->source != e->sport)
		return -1;		/* not from the DNS server port */
	if (family != e->family || udp->dest != e->cport)
		return 0;
	if (family == 4) {
		if (*(__u32 *)src != *(__u32 *)e->server)
			return 0;
	} else {
		if (*(__u64 *)src != *(__u64 *)e->server ||
		    *(__u64 *)(src + 8) != *(__u64 *)(e->server + 8))
			return 0;
	}
	fl = bpf_ntohs(dh->flags);
	/* QR set, opcode QUERY, TC clear, the expected RCODE */
	if ((fl & 0xfa0f) != (0x8000 | e->rcode))
		return 0;
	if (dh->qd != bpf_htons(1) || bpf_ntohs(dh->an) < e->min_an)
		return 0;
	return 1;
}

/* Flow steering: 1 the datagram of template *tpl steered to a backend,
 * 0 that datagram with something wrong, -1 anything else. */
static __always_inline int psb_check_lb(void *data, void *data_end,
					const struct psb_gcfg *cfg, __u32 *tpl)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	const struct psb_expect *e;
	__u32 idx;

	if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return -1;
	idx = bpf_ntohs(udp->source) - PSB_LB_PORT;
	if (idx >= cfg->ntpl)
		return -1;
	*tpl = idx;
	e = bpf_map_lookup_elem(&psb_expect, &idx);
	if (!e || udp->dest != e->sport || ip->daddr != *(__u32 *)e->server)
		return -1;
	if (*(__u32 *)eth->h_dest != *(__u32 *)cfg->lb_mac)
		return 0;
	return 1;
}

SEC("xdp")
int psb_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, tpl = 0;
	struct psb_gcfg *cfg;
	struct psb_count *c;
	int rc;

	cfg = bpf_map_lookup_elem(&psb_gcfg, &zero);
	c = bpf_map_lookup_elem(&psb_counts, &zero);
	if (!cfg || !c)
		return XDP_PASS;
	if (cfg->lb)
		rc = psb_check_lb(data, data_end, cfg, &tpl);
	else
		rc = psb_check(data, data_end, cfg, &tpl);
	if (rc < 0) {
		/* ARP, neighbour discovery...: the stack's */
		c->other++;
		return XDP_PASS;
	}
	if (rc == 0) {
		if (c->invalid < PSB_BAD_SAMPLES)
			psb_sample(ctx, &psb_bad, c->invalid, tpl);
		c->invalid++;
		return XDP_DROP;
	}
	if (c->countdown == 0) {
		c->countdown = cfg->sample_every;
		psb_sample(ctx, &psb_samples, c->nsampled++ % PSB_SAMPLES, tpl);
	}
	c->countdown--;
	c->valid++;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
