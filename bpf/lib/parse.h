/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF-only: one pass over Ethernet, up to two VLAN tags, IPv4 or IPv6 and
 * UDP.  Every read is bounds checked against data_end; offsets are kept as
 * scalars so later stages can re-derive pointers after bpf_xdp_adjust_*.
 */
#ifndef PS_BPF_PARSE_H
#define PS_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * A 16-bit length in network order as a number the verifier knows to be
 * at most 0xffff.  The 6.1 verifier forgets the bounds of a byte swap
 * (BPF_END makes an unknown scalar; later kernels track it), and then
 * refuses `data + len`; the mask makes the bound explicit, and
 * barrier_var() keeps the compiler from dropping it as redundant.
 */
static __always_inline __u32 ps_len16(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	barrier_var(x);
	return x & 0xffff;
}

/* return value of helpers: an XDP verdict, or "keep going" */
#define PS_CONTINUE	(-1)

#ifndef ETH_P_8021AD
#define ETH_P_8021AD	0x88A8
#endif

struct ps_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct ps_pkt {
	__u32 l3;		/* offset of the IP header */
	__u32 l4;		/* offset of the UDP header */
	__u32 l4_len;		/* UDP length (header + payload) */
	__u8  family;		/* 4 or 6; 0: not IP */
	__u8  proto;		/* IP protocol */
	__u8  ihl;		/* IPv4 header bytes (20..60) */
	__u8  pad;
};

/*
 * Parse L2..L3.  Returns 0 with pkt filled for IPv4/IPv6 (non-fragment) and
 * -1 for anything else.  Malformed lengths return -2.
 */
/*
 * Ethernet and up to two VLAN tags (802.1ad, 802.1Q): the offset of the
 * L3 header, with its EtherType in *proto, or -1 for a truncated frame.
 */
static __always_inline int ps_parse_l2(void *data, void *data_end,
				       __be16 *proto)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return -1;
	*proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct ps_vlan_hdr *vh;

		if (*proto != bpf_htons(ETH_P_8021Q) &&
		    *proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = data + off;
		if ((void *)(vh + 1) > data_end)
			return -1;
		*proto = vh->proto;
		off += sizeof(*vh);
	}
	return off;
}

static __always_inline int ps_parse_l3(void *data, void *data_end,
				       struct ps_pkt *pkt)
{
	__be16 proto;
	int l2 = ps_parse_l2(data, data_end, &proto);
	__u32 off;

	if (l2 < 0)
		return -1;
	off = l2;
	pkt->l3 = off;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u32 ihl, tot;

		if ((void *)(ip + 1) > data_end)
			return -1;
		if (ip->version != 4 || ip->ihl < 5)
			return -2;
		ihl = ip->ihl * 4;
		tot = ps_len16(ip->tot_len);
		if (tot < ihl || data + off + tot > data_end)
			return -2;
		/* fragments (MF or offset) belong to the stack */
		if (ip->frag_off & bpf_htons(0x3fff))
			return -1;
		pkt->family = 4;
		pkt->ihl = ihl;
		pkt->proto = ip->protocol;
		pkt->l4 = off + ihl;
		pkt->l4_len = tot - ihl;
		return 0;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		__u32 plen;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (ip6->version != 6)
			return -2;
		plen = ps_len16(ip6->payload_len);
		if (data + off + sizeof(*ip6) + plen > data_end)
			return -2;
		pkt->family = 6;
		pkt->ihl = sizeof(*ip6);
		/* extension headers are not parsed: only a UDP next header
		 * counts as UDP */
		pkt->proto = ip6->nexthdr;
		pkt->l4 = off + sizeof(*ip6);
		pkt->l4_len = plen;
		return 0;
	}
	return -1;
}

#endif
