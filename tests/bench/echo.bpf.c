// SPDX-License-Identifier: GPL-2.0-only
/*
 * The veth ceiling of the saturation benchmark: "answers" each UDP frame to
 * port 53 by sending it straight back (MACs, addresses and ports swapped,
 * the DNS QR bit set so the client counts it like any answer).  No lookup,
 * no resizing: what is left is the cost of the veth path itself.
 *
 *   ip link set dev IF xdp obj echo.bpf.o sec xdp
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

static __always_inline __u16 psb_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

SEC("xdp")
int psb_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];
	struct udphdr *udp;
	__be16 port, *flags, old;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__be32 a;

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 ||
		    ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		if (udp->dest != bpf_htons(53))
			return XDP_PASS;
		/* swapping addresses keeps both checksums valid */
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct in6_addr a;

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		if (udp->dest != bpf_htons(53))
			return XDP_PASS;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
	} else {
		return XDP_PASS;
	}
	flags = (void *)(udp + 1) + 2;
	if ((void *)(flags + 1) > data_end)
		return XDP_PASS;

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	/* QR: one 16-bit word changes, so patch the UDP checksum (RFC 1624);
	 * the one's complement sum does not care about byte order */
	old = *flags;
	*flags = old | bpf_htons(0x8000);
	if (udp->check) {
		__u16 c = ~psb_fold((__u16)~udp->check + (__u16)~old +
				    (__u16)*flags);

		udp->check = c ? c : 0xffff;
	}
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
