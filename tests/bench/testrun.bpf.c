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
#include <bpf/bpf_helpers.h>

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
