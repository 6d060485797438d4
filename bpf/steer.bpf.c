// SPDX-License-Identifier: GPL-2.0-only
/*
 * popsteer data plane: the one XDP entry program of a PoP's NIC.
 *
 *   ip link set dev IF xdp obj steer.bpf.o sec xdp
 *
 * Parses each frame once, answers DNS for our zones in place (XDP_TX),
 * steers flows to a VIP to their backends (lib/lb.h), and leaves
 * everything else to the stack (XDP_PASS).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/parse.h"
#include "lib/maps.h"
#include "lib/dns.h"
#include "lib/lb.h"

SEC("xdp")
int xdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ps_pkt pkt = {};
	struct ps_stats *stats;
	__u32 zero = 0;
	int rc;

	stats = bpf_map_lookup_elem(&ps_stats, &zero);
	if (!stats)
		return XDP_PASS;
	stats->c[PS_ST_PACKETS]++;

	if (ps_parse_l3(data, data_end, &pkt) < 0)
		return XDP_PASS;
	if (pkt.proto == IPPROTO_UDP) {
		rc = ps_dns(ctx, &pkt, stats);
		if (rc != PS_CONTINUE)
			return rc;
	}
	if (pkt.proto == IPPROTO_TCP || pkt.proto == IPPROTO_UDP ||
	    pkt.proto == IPPROTO_ICMP || pkt.proto == IPPROTO_ICMPV6)
		return ps_lb(ctx);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
