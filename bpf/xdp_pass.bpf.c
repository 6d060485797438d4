// SPDX-License-Identifier: GPL-2.0-only
/*
 * A do-nothing XDP program for the far end of a veth pair.  veth only
 * delivers frames that its peer sends with XDP_TX when this end runs XDP
 * (NAPI); GRO alone stalls after 256 frames on the kernels we support.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
