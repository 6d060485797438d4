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
	/* A longer reply grew at the head, a shorter one shrank at the tail
	 * (lib/dns.h): both are put back.  Called even when the length is
	 * right already, so the wrapper costs the same whatever the previous
	 * repeat did to the frame. */
	if (bpf_xdp_adjust_head(ctx, cur > len ? (int)(cur - len) : 0) ||
	    bpf_xdp_adjust_tail(ctx, cur < len ? (int)(len - cur) : 0))
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

/*
 * The floor of answering DNS in XDP on this machine: the least any
 * in-place answerer does per query, and nothing else.  One query shape
 * only (Ethernet, IPv4 without options, UDP to port 53, a 19-byte name,
 * an OPT record; all offsets fixed at compile time), the name compared
 * with the one in psb_floor_dns (an array, inlined), its address written
 * as the answer in front of a fresh OPT, the frame grown by the 16 bytes of
 * the A record (at the head: the headers and question move up),
 * addresses and ports swapped, IPv4 and UDP checksums
 * computed in full.  No zone or type logic, no lower-casing, no counters,
 * no VLANs or IPv6, no EDNS parsing.
 */
#define PSB_FLOOR_NAME	19		/* www.bench.example in wire form */
#define PSB_FLOOR_Q	(14 + 20 + 8 + 12)	/* the question's offset */
#define PSB_FLOOR_AN	(PSB_FLOOR_Q + PSB_FLOOR_NAME + 4)
#define PSB_FLOOR_LEN	(PSB_FLOOR_AN + 11)	/* the query's length */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct psb_floor_dns);
} psb_floor_dns SEC(".maps");

SEC("xdp")
int psb_dns_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct psb_floor_dns *n;
	__u8 *p = data, mac[ETH_ALEN];
	struct iphdr *ip = data + 14;
	__u32 zero = 0, sum, a;
	__u16 *w;
	__u64 q0, q1, q2;

	if (data + PSB_FLOOR_LEN > data_end ||
	    *(__be16 *)(p + 12) != bpf_htons(ETH_P_IP) || p[14] != 0x45 ||
	    ip->protocol != IPPROTO_UDP || *(__be16 *)(p + 36) != bpf_htons(53) ||
	    (p[44] & 0xf8) || *(__be16 *)(p + 46) != bpf_htons(1))
		return XDP_PASS;
	n = bpf_map_lookup_elem(&psb_floor_dns, &zero);
	if (!n)
		return XDP_PASS;
	__builtin_memcpy(&q0, p + PSB_FLOOR_Q, 8);
	__builtin_memcpy(&q1, p + PSB_FLOOR_Q + 8, 8);
	__builtin_memcpy(&q2, p + PSB_FLOOR_Q + 16, 8);
	if (q0 != n->name[0] || q1 != n->name[1] ||
	    (q2 & 0xffffff) != n->name[2])
		return XDP_PASS;
	a = n->addr4;
	/* room for the record at the head (cheaper than the tail, which the
	 * kernel clears), the headers and question moved up into it */
	if (bpf_xdp_adjust_head(ctx, -16))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	p = data;
	ip = data + 14;
	if (data + PSB_FLOOR_LEN + 16 > data_end)
		return XDP_DROP;
#pragma unroll
	for (int i = 0; i < (PSB_FLOOR_AN + 7) / 8; i++)
		__builtin_memcpy(p + 8 * i, p + 16 + 8 * i, 8);
	/* answer: pointer to the question, A, IN, TTL 30, the address */
	*(__be16 *)(p + PSB_FLOOR_AN) = bpf_htons(0xc00c);
	*(__be16 *)(p + PSB_FLOOR_AN + 2) = bpf_htons(1);
	*(__be16 *)(p + PSB_FLOOR_AN + 4) = bpf_htons(1);
	*(__be32 *)(p + PSB_FLOOR_AN + 6) = bpf_htonl(30);
	*(__be16 *)(p + PSB_FLOOR_AN + 10) = bpf_htons(4);
	__builtin_memcpy(p + PSB_FLOOR_AN + 12, &a, 4);
	/* OPT: root, type 41, size 1232, no extended rcode, version 0, DO 0 */
	p[PSB_FLOOR_AN + 16] = 0;
	*(__be16 *)(p + PSB_FLOOR_AN + 17) = bpf_htons(41);
	*(__be16 *)(p + PSB_FLOOR_AN + 19) = bpf_htons(1232);
	*(__be32 *)(p + PSB_FLOOR_AN + 21) = 0;
	*(__be16 *)(p + PSB_FLOOR_AN + 25) = 0;
	/* DNS header: QR AA RD, one answer, one OPT */
	*(__be16 *)(p + 44) = bpf_htons(0x8400 | (p[44] & 1) << 8);
	*(__be16 *)(p + 48) = bpf_htons(1);
	*(__be16 *)(p + 50) = 0;
	*(__be16 *)(p + 52) = bpf_htons(1);
	/* swap MACs, addresses and ports */
	__builtin_memcpy(mac, p, ETH_ALEN);
	__builtin_memcpy(p, p + 6, ETH_ALEN);
	__builtin_memcpy(p + 6, mac, ETH_ALEN);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	a = *(__u32 *)(p + 34);
	*(__u32 *)(p + 34) = (a >> 16) | (a << 16);
	/* lengths and checksums */
	ip->tot_len = bpf_htons(PSB_FLOOR_LEN + 16 - 14);
	ip->ttl = 64;
	ip->check = 0;
	sum = 0;
	w = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = ~((sum & 0xffff) + (sum >> 16));
	*(__be16 *)(p + 38) = bpf_htons(PSB_FLOOR_LEN + 16 - 34);
	*(__be16 *)(p + 40) = 0;
	sum = bpf_htons(IPPROTO_UDP) + bpf_htons(PSB_FLOOR_LEN + 16 - 34);
	w = (__u16 *)(p + 26);
#pragma unroll
	for (int i = 0; i < (PSB_FLOOR_LEN + 16 - 26) / 2; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	*(__u16 *)(p + 40) = (__u16)~sum ? (__u16)~sum : 0xffff;
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
