// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF_PROG_TEST_RUN helpers for the per-query cost benchmark.
 *
 * In non-live mode the kernel runs the program `repeat` times on the same
 * buffer without restoring it, so from the second repeat on the program
 * under test would see its own reply.  psb_restore puts the original query
 * back (length, then bytes) and tail-calls the program in psb_next[0]; its
 * own cost is measured with psb_tx in psb_next[0] and subtracted.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <popsteer/lb.h>
#include "bench.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct psb_frame);
} psb_orig SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} psb_next SEC(".maps");

SEC("xdp")
int psb_restore(struct xdp_md *ctx)
{
	__u32 zero = 0, len, cur;
	struct psb_frame *f;

	f = bpf_map_lookup_elem(&psb_orig, &zero);
	if (!f)
		return XDP_ABORTED;
	len = f->len;
	if (len < PSB_FRAME_MIN || len > PSB_FRAME_MAX)
		return XDP_ABORTED;
	cur = bpf_xdp_get_buff_len(ctx);
	/* Called even when the length is right already, so the wrapper costs
	 * the same whatever the previous repeat did to the frame. */
	if (bpf_xdp_adjust_tail(ctx, (int)len - (int)cur))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, f->data, len))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &psb_next, 0);
	return XDP_ABORTED;		/* psb_next[0] empty */
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct psb_vary);
} psb_vary SEC(".maps");

/*
 * The same for flow steering, whose output may be longer than its input
 * (IP-in-IP pushes a header in front): the pushed bytes are taken off the
 * head again, every time (adjust by 0 when nothing was pushed), then the
 * frame is restored (psb_vary.restore), and its flow fields written.  DSR
 * only changes MACs, which it sets again itself: no restore needed.
 */
SEC("xdp")
int psb_restore_lb(struct xdp_md *ctx)
{
	__u32 zero = 0, len, cur;
	struct psb_frame *f;
	struct psb_vary *v;
	__be16 port, addr;

	f = bpf_map_lookup_elem(&psb_orig, &zero);
	v = bpf_map_lookup_elem(&psb_vary, &zero);
	if (!f || !v)
		return XDP_ABORTED;
	len = f->len;
	if (len < PSB_FRAME_MIN || len > PSB_FRAME_MAX)
		return XDP_ABORTED;
	if (v->restore) {
		cur = bpf_xdp_get_buff_len(ctx);
		if (cur < len || cur > len + PSB_PUSH_MAX)
			return XDP_ABORTED;
		if (bpf_xdp_adjust_head(ctx, (int)(cur - len)))
			return XDP_ABORTED;
		if (bpf_xdp_store_bytes(ctx, 0, f->data, len))
			return XDP_ABORTED;
	}
	if (v->on) {
		__u32 n = v->n++;

		port = bpf_htons(n & 0xffff);
		addr = bpf_htons(n >> 16);
	} else {
		port = v->port0;
		addr = v->addr0;
	}
	if (bpf_xdp_store_bytes(ctx, v->port_off, &port, 2) ||
	    bpf_xdp_store_bytes(ctx, v->addr_off, &addr, 2))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &psb_next, 0);
	return XDP_ABORTED;
}

/*
 * The floor of flow steering on this machine: what any load balancer with
 * a connection table does per packet, and nothing else: Ethernet, IPv4
 * and TCP headers bounds-checked, the 5-tuple looked up in an LRU hash of
 * the same size and key as ps_conn (inserted when missing, as a new flow
 * is), the backend's MAC read from an array, written, XDP_TX.  No VIP
 * lookup, no table, no counters, no IPv6 or VLANs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, PS_CONN_DEFAULT);
	__type(key, struct ps_conn_key);
	__type(value, struct ps_conn);
} psb_floor_conn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct ps_real);
} psb_floor_reals SEC(".maps");

SEC("xdp")
int psb_lb_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	struct ps_conn_key k = {};
	struct ps_conn *c, nc = {};
	struct ps_real *r;
	__u32 id;

	if ((void *)(tcp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	__builtin_memcpy(k.src, &ip->saddr, 4);
	__builtin_memcpy(k.dst, &ip->daddr, 4);
	k.sport = tcp->source;
	k.dport = tcp->dest;
	k.proto = IPPROTO_TCP;
	k.family = 4;
	c = bpf_map_lookup_elem(&psb_floor_conn, &k);
	if (c) {
		id = c->real;
	} else {
		id = 0;
		bpf_map_update_elem(&psb_floor_conn, &k, &nc, BPF_ANY);
	}
	r = bpf_map_lookup_elem(&psb_floor_reals, &id);
	if (!r)
		return XDP_PASS;
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, r->mac, ETH_ALEN);
	return XDP_TX;
}

/* Stand-in for the program under test: the wrapper's cost alone. */
SEC("xdp")
int psb_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

/* The floor of BPF_PROG_TEST_RUN itself, without the wrapper. */
SEC("xdp")
int psb_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
