/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF-only: the DNS fast path.  Answers standard UDP queries for our zones
 * with XDP_TX; anything it does not fully understand goes to the stack.
 *
 * Speed: a helper or BPF-to-BPF call costs 10-40 ns on kernels with
 * return-thunk mitigations, more than the rest of the work on a query.
 * The common case (a name of at most 32 bytes, found) therefore makes one
 * helper call besides the inlined map lookups: bpf_xdp_adjust_head (the
 * tail would cost a memset on top).  The name table is probed inline,
 * random slots come from a per-CPU xorshift, checksums are summed from
 * registers.  Rare work (long names, names not found, a question that
 * ends the frame) is in global functions.
 *
 * Verifier: the phases are inlined, so they must not multiply each
 * other's paths.  Each phase takes its inputs from struct ps_dstate with
 * PS_GET() and re-derives packet pointers from the context; the verifier
 * sees unknowns there whichever way the previous phase left its loops, and
 * prunes.  Global functions are verified once, on their own.
 *
 * The common reply (A or AAAA records of a pool for a name of at most 32
 * bytes, IPv4 without options or IPv6, no EDNS options) is written in
 * place by ps_dns_inplace() before anything else: the question stays in
 * the frame, the frame grows at the head by the records.  What it does
 * not take goes on through the general phases, which reuse its header
 * checks, key and name lookup; they build the reply in scratch and change
 * nothing in the frame before it is complete, so every early exit can
 * still return XDP_PASS untouched.  Both give the same bytes
 * (tests/bpf/dns_packets compares them).
 */
#ifndef PS_BPF_DNS_H
#define PS_BPF_DNS_H

#include <popsteer/hash.h>

#include "parse.h"
#include "csum.h"
#include "mem.h"
#include "maps.h"

struct ps_dnshdr {
	__be16 id;
	__be16 flags;
	__be16 qd, an, ns, ar;
};

#define DNS_QR		0x8000
#define DNS_OPCODE	0x7800
#define DNS_AA		0x0400
#define DNS_TC		0x0200
#define DNS_RD		0x0100
#define DNS_CD		0x0010

/* Stop the compiler from rematerialising a checked pointer from another
 * base, which leaves the verifier with an unchecked one. */
#define ps_barrier_var(v)	asm volatile("" : "+r"(v))

/* The in-place writer's way is laid out straight, its declines out of
 * line (clang otherwise puts the general path in between). */
#define ps_likely(x)		__builtin_expect(!!(x), 1)
#define ps_unlikely(x)		__builtin_expect(!!(x), 0)

/* a rare path: global, verified once on its own, one call */
#define PS_SLOW		__attribute__((noinline))

/* Accesses the compiler can see are aligned use these plain types; any
 * other multi-byte access goes through ps_ld*() and ps_st*() (mem.h). */
typedef __u64 ps_u64;
typedef __u32 ps_u32;
typedef __u16 ps_u16;

/* The DNS message sits at buf[PS_BUF_MSG], its question 12 bytes later,
 * so half way through the 8-byte word QWORD; questions are copied as the
 * aligned words from QWORD on, starting 4 bytes before the question. */
#define QWORD	((PS_BUF_MSG + PS_DNS_HDR_LEN) / 8)
_Static_assert((PS_BUF_MSG + PS_DNS_HDR_LEN) % 8 == 4, "question layout");

static __always_inline __u64 *ps_words(struct ps_scratch *sc)
{
	return (__u64 *)sc->buf;
}
/* outcomes of the phases */
enum {
	PS_OK = 0,
	PS_PASS,		/* unsupported: leave to the stack */
	PS_MALFORMED,		/* malformed: leave to the stack */
	PS_NOTOURS,		/* not addressed to us */
	PS_FAIL,		/* cannot answer: pass, or drop once modified */
};

/* Fresh packet pointers in each phase: a cached copy would carry the
 * bounds of one path into the next phase and keep the verifier from
 * merging paths. */
static __always_inline void *ps_data(struct xdp_md *ctx)
{
	return (void *)(long)(*(volatile __u32 *)&ctx->data);
}

static __always_inline void *ps_data_end(struct xdp_md *ctx)
{
	return (void *)(long)(*(volatile __u32 *)&ctx->data_end);
}

/* Lower-case the ASCII letters of 8 bytes at once.  Label length bytes
 * (<= 63) are below 'A', so a whole wire name can go through this. */
static __always_inline __u64 ps_lower8(__u64 x)
{
	__u64 h = x & 0x7f7f7f7f7f7f7f7fULL;
	__u64 ge_a = h + 0x3f3f3f3f3f3f3f3fULL;	/* >= 'A' */
	__u64 gt_z = h + 0x2525252525252525ULL;	/* >  'Z' */
	__u64 m = ge_a & ~gt_z & ~x & 0x8080808080808080ULL;

	return x | (m >> 2);
}

/* The bytes of key word c (name bytes 8c..8c+7) that belong to a name
 * of name_len bytes, as a mask built without branches: x = clamp(name_len
 * - 8c, 0, 8) bytes kept, two shifts by 4x so that x = 8 shifts
 * everything out. */
static __always_inline __u64 ps_key_mask(__u32 name_len, int c)
{
	__s32 r = (__s32)name_len - c * 8;
	__s32 pos = r & ~(r >> 31);
	__s32 x = pos - ((pos - 8) & ~((pos - 8) >> 31));

	return ~((~0ULL << (4 * x)) << (4 * x));
}

/* The largest reply a client with EDNS UDP size `size` takes: ours at
 * most, never below 512 (RFC 6891). */
static __always_inline __u32 ps_edns_limit(__u32 size, const struct ps_cfg *cfg)
{
	if (size > cfg->edns_size)
		size = cfg->edns_size;
	return size < 512 ? 512 : size;
}

static __always_inline __u32 ps_key_size(__u32 len)
{
	if (len <= PS_KEY_S)
		return PS_KEY_S;
	if (len <= PS_KEY_M)
		return PS_KEY_M;
	if (len <= PS_KEY_L)
		return PS_KEY_L;
	return PS_KEY_X;
}

/* After a short name's four key words in key[]: zeros, as suffix keys
 * are read 32 bytes from any label of it. */
static __always_inline void ps_key_pad(__u64 *k)
{
	k[4] = 0;
	k[5] = 0;
	k[6] = 0;
	k[7] = 0;
}

/* A name of 33..255 wire bytes: key[off..] zero padded to its size. */
static __always_inline struct ps_name *ps_long_lookup(__u8 *key, __u32 off,
						      __u32 len)
{
	void *k = key + (off & 0xff);

	if (len <= PS_KEY_M)
		return bpf_map_lookup_elem(&ps_name64, k);
	if (len <= PS_KEY_L)
		return bpf_map_lookup_elem(&ps_name128, k);
	return bpf_map_lookup_elem(&ps_name256, k);
}

/*
 * A name of at most 32 wire bytes in ps_ntab: k0..k3 the name zero padded
 * to 32 bytes, as loaded from memory; ntab the ps_gen word (buffer bit,
 * seed).  Returns its entry, or NULL.
 */
static __always_inline const struct ps_nent *
ps_ntab_find(__u64 k0, __u64 k1, __u64 k2, __u64 k3, __u32 ntab)
{
	__u32 h = ps_name_hash4(k0, k1, k2, k3, ntab >> 1);
	__u32 base = (ntab & 1) * PS_NTAB_SIZE;

	for (__u32 i = 0; i < PS_NTAB_PROBES; i++) {
		__u32 idx = base + ((h + i) & (PS_NTAB_SIZE - 1));
		struct ps_nent *e = bpf_map_lookup_elem(&ps_ntab, &idx);

		if (!e || !(e->val.flags & PS_NAME_VALID))
			return 0;
		if (e->key[0] == k0 && e->key[1] == k1 && e->key[2] == k2 &&
		    e->key[3] == k3)
			return e;
	}
	return 0;
}

static __always_inline void ps_take_name(struct ps_dstate *st,
					 const struct ps_name *e)
{
	st->ttl = e->ttl;
	st->pool = e->pool;
	st->zone = e->zone;
	st->nflags = e->flags;
	st->zone_labels = e->zone_labels;
}

/* The same with the key in memory: copies the entry into st and returns
 * 1 if found. */
static __always_inline int ps_short_lookup(struct ps_dstate *st,
					   const __u8 *key, __u32 ntab)
{
	const struct ps_nent *e = ps_ntab_find(ps_ld64(key), ps_ld64(key + 8),
					       ps_ld64(key + 16),
					       ps_ld64(key + 24), ntab);

	if (!e)
		return 0;
	ps_take_name(st, &e->val);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Phase 1: addresses, UDP and the DNS header                          */
/* ------------------------------------------------------------------ */

static __always_inline int ps_dst_ours(void *data, void *data_end,
				       struct ps_pkt *pkt,
				       const struct ps_cfg *cfg)
{
	__u32 l3 = pkt->l3 & 0x1f;

	if (cfg->n_listen4 == 0 && cfg->n_listen6 == 0)
		return 1;
	if (pkt->family == 4) {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > data_end)
			return 0;
#pragma unroll
		for (int i = 0; i < PS_LISTEN_MAX; i++) {
			if (i >= cfg->n_listen4)
				break;
			if (cfg->listen4[i] == ip->daddr)
				return 1;
		}
		return 0;
	}
	{
		struct ipv6hdr *ip6 = data + l3;
		__u64 a, b;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		a = *(ps_u64 *)&ip6->daddr;
		b = *((ps_u64 *)&ip6->daddr + 1);
#pragma unroll
		for (int i = 0; i < PS_LISTEN_MAX; i++) {
			if (i >= cfg->n_listen6)
				break;
			if (*(ps_u64 *)cfg->listen6[i] == a &&
			    *((ps_u64 *)cfg->listen6[i] + 1) == b)
				return 1;
		}
	}
	return 0;
}

/* The IPv4 header checksum is right (the stack drops it otherwise). */
static __always_inline int ps_ip4_csum_ok(struct iphdr *ip, void *data_end,
					  __u32 ihl)
{
	__u64 sum = 0;

	if (ihl == 20)
		return ps_csum_fold(ps_csum_ip4((__u16 *)ip)) == 0xffff;
#pragma unroll
	for (int i = 0; i < 15; i++) {
		__u32 *w = (void *)ip + i * 4;

		if (i * 4 >= ihl)
			break;
		if ((void *)(w + 1) > data_end)
			return 0;
		sum += *w;
	}
	return ps_csum_fold(sum) == 0xffff;
}

/*
 * Checks the frame is a unicast query from a unicast source with sane
 * lengths and parses the DNS header into scratch.
 */
static __always_inline int ps_dns_head(struct xdp_md *ctx, struct ps_pkt *pkt,
				       struct ps_scratch *sc,
				       const struct ps_cfg *cfg)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	struct ps_dstate *st = &sc->st;
	__u32 l3 = pkt->l3 & 0x1f;
	__u32 l4 = pkt->l4 & 0x7f;
	struct ethhdr *eth = data;
	struct udphdr *udp = data + l4;
	struct ps_dnshdr *dh;
	__u32 ulen, dns;
	__u16 fl;

	if (!ps_dst_ours(data, data_end, pkt, cfg))
		return PS_NOTOURS;
	if ((void *)(eth + 1) > data_end || (void *)(udp + 1) > data_end)
		return PS_MALFORMED;
	if (eth->h_dest[0] & 1)		/* multicast/broadcast destination */
		return PS_PASS;
	if (udp->source == 0)
		return PS_PASS;
	ulen = ps_len16(udp->len);
	if (ulen != pkt->l4_len || ulen < 8 + PS_DNS_HDR_LEN + 5)
		return PS_MALFORMED;

	if (pkt->family == 4) {
		struct iphdr *ip = data + l3;
		__u32 s;

		if ((void *)(ip + 1) > data_end)
			return PS_MALFORMED;
		s = bpf_ntohl(ip->saddr);
		if (s == 0 || s == 0xffffffff || (s >> 28) == 0xe ||
		    (s >> 24) == 127)
			return PS_PASS;
		if (!ps_ip4_csum_ok(ip, data_end, pkt->ihl & 0x3c))
			return PS_MALFORMED;
	} else {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > data_end)
			return PS_MALFORMED;
		if (ip6->saddr.in6_u.u6_addr8[0] == 0xff)
			return PS_PASS;
		if (udp->check == 0)		/* RFC 8200: must discard */
			return PS_MALFORMED;
	}
	if (data + 24 > data_end)
		return PS_MALFORMED;

	dns = l4 + sizeof(*udp);
	dh = data + dns;
	if ((void *)(dh + 1) > data_end)
		return PS_MALFORMED;
	fl = bpf_ntohs(dh->flags);
	/* never answer a response; other opcodes and TC=1 queries are the
	 * stack's */
	if (fl & (DNS_QR | DNS_OPCODE | DNS_TC))
		return PS_PASS;
	if (dh->qd != bpf_htons(1) || dh->an || dh->ns ||
	    bpf_ntohs(dh->ar) > 1)
		return PS_PASS;

	/* from here on the parsed frame comes from scratch too: exact
	 * offsets left on the stack would have the verifier walk every
	 * later phase once per VLAN depth and IP family */
	st->l3 = l3;
	st->dns = dns;
	st->msg_len = ulen - 8;
	st->id = dh->id;
	st->qflags = fl;
	st->edns = dh->ar != 0;		/* verified to be OPT later */
	return PS_OK;
}

/* What the general path's reply needs of the query's headers, saved
 * once the in-place writer has let the query go (it needs none of it):
 * the pseudo header, UDP ports, IP fields to echo and the frame head. */
static __always_inline int ps_dns_save(struct xdp_md *ctx, struct ps_pkt *pkt,
				       struct ps_scratch *sc)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	struct ps_dstate *st = &sc->st;
	__u32 l3 = pkt->l3 & 0x1f;
	struct udphdr *udp = data + (pkt->l4 & 0x7f);

	if ((void *)(udp + 1) > data_end || data + 24 > data_end)
		return PS_MALFORMED;
	if (pkt->family == 4) {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > data_end)
			return PS_MALFORMED;
		/* pseudo header of the reply: our address, then theirs; the
		 * checksum starts at buf[0] for both families, so the rest
		 * is zeros */
		*(ps_u64 *)&sc->buf[0] = 0;
		*(ps_u64 *)&sc->buf[8] = 0;
		*(ps_u64 *)&sc->buf[16] = 0;
		*(ps_u32 *)&sc->buf[24] = 0;
		*(ps_u32 *)&sc->buf[28] = ip->daddr;
		*(ps_u32 *)&sc->buf[32] = ip->saddr;
		sc->buf[36] = 0;
		sc->buf[37] = IPPROTO_UDP;
		st->ip_tos = ip->tos;
		st->ip_id = ip->id;
		st->ip6 = 0;
	} else {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > data_end)
			return PS_MALFORMED;
		__builtin_memcpy(&sc->buf[0], &ip6->daddr, 16);
		__builtin_memcpy(&sc->buf[16], &ip6->saddr, 16);
		*(ps_u32 *)&sc->buf[32] = 0;
		*(ps_u32 *)&sc->buf[36] = 0;
		sc->buf[39] = IPPROTO_UDP;
		st->ip6_flow = *(ps_u32 *)ip6;
		st->ip6 = 1;
	}
	/* UDP header of the reply; length and checksum come later */
	*(ps_u16 *)&sc->buf[PS_BUF_UDP + 0] = udp->dest;
	*(ps_u16 *)&sc->buf[PS_BUF_UDP + 2] = udp->source;
	/* frame head, to write the reply from the frame start */
	*(ps_u64 *)&st->l2[0] = *(ps_u64 *)data;
	*(ps_u64 *)&st->l2[8] = *(ps_u64 *)(data + 8);
	*(ps_u64 *)&st->l2[16] = *(ps_u64 *)(data + 16);
	return PS_OK;
}

/* ------------------------------------------------------------------ */
/* Phase 2: walk the labels of QNAME                                    */
/* ------------------------------------------------------------------ */

static __always_inline int ps_dns_walk(struct xdp_md *ctx,
				       struct ps_scratch *sc)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	__u8 *q = data + (PS_GET(sc->st.dns) & 0xff) + PS_DNS_HDR_LEN;
	__u32 off = 0;
	int i;

	for (i = 0; i < PS_LABELS_MAX; i++) {
		__u8 *lp = q + off;
		__u8 len;

		if ((void *)(lp + 1) > data_end)
			return PS_MALFORMED;
		len = *lp;
		sc->labels[i] = off;
		if (len == 0)
			break;
		/* compression pointers (0xc0) and the obsolete extended label
		 * types: a query's own name never needs them */
		if (len > PS_LABEL_MAX)
			return PS_MALFORMED;
		off += len + 1;
		if (off > PS_NAME_WIRE_MAX - 1)
			return PS_MALFORMED;	/* over 255 bytes */
	}
	if (i >= PS_LABELS_MAX)
		return PS_MALFORMED;
	sc->st.name_len = off + 1;
	sc->st.nlabels = i + 1;
	return PS_OK;
}

/* ------------------------------------------------------------------ */
/* Phase 3: copy the question into the reply, build the lookup key      */
/* ------------------------------------------------------------------ */

/* The question ends the frame (no OPT, no padding): its last bytes come
 * one at a time. */
PS_SLOW int ps_question_tail(struct xdp_md *ctx, struct ps_scratch *sc)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	__u32 done, qlen;
	__u8 *src;

	if (!sc)
		return PS_FAIL;
	done = PS_GET(sc->st.copied);
	if (done > PS_NAME_WIRE_MAX + 4)
		return PS_FAIL;
	qlen = (PS_GET(sc->st.name_len) & 0x1ff) + 4;
	src = data + (PS_GET(sc->st.dns) & 0xff) + PS_DNS_HDR_LEN;
	for (__u32 b = 0; b < 16; b++) {
		__u8 *p = src + done + b;

		if (done + b >= qlen)
			break;
		ps_barrier_var(p);
		if ((void *)(p + 1) > data_end)
			return PS_MALFORMED;
		sc->buf[PS_BUF_MSG + PS_DNS_HDR_LEN + done + b] = *p;
	}
	return PS_OK;
}

/* Key of a name of 33..255 bytes: lower-cased and zero padded up to the
 * end of the key buffer, for its own lookup and every suffix's.
 * Branch-free: a loop that breaks at name_len splits the verifier's state
 * once per word, and 6.1 (which keeps even contradictory ranges alive)
 * spends its whole 1M-instruction budget on the splits. */
PS_SLOW int ps_key_long(struct ps_scratch *sc)
{
	__u64 name_len;

	if (!sc)
		return PS_FAIL;
	name_len = PS_GET(sc->st.name_len) & 0xff;
	for (__u32 c = 0; c < PS_KEY_X / 8; c++) {
		/* all ones while the word starts inside the name */
		__u64 keep = ((__u64)c * 8 - name_len) >> 63;

		keep = -keep;
		ps_barrier_var(keep);
		*(ps_u64 *)&sc->key[c * 8] = keep & ps_lower8(ps_ld64(
			&sc->buf[PS_BUF_MSG + PS_DNS_HDR_LEN + c * 8]));
	}
	for (__u32 c = PS_KEY_X / 8; c < PS_KEYBUF_SIZE / 8; c++)
		*(ps_u64 *)&sc->key[c * 8] = 0;
	/* the rest of the word the name ends in */
	ps_st64(&sc->key[name_len], 0);
	return PS_OK;
}

static __always_inline int ps_dns_question(struct xdp_md *ctx,
					   struct ps_scratch *sc)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	struct ps_dstate *st = &sc->st;
	__u32 name_len = PS_GET(st->name_len) & 0x1ff;
	__u32 qlen = name_len + 4;
	__u8 *src = data + (PS_GET(st->dns) & 0xff) + PS_DNS_HDR_LEN;
	__u8 *msgq = &sc->buf[PS_BUF_MSG + PS_DNS_HDR_LEN];
	__u16 qclass;

	if (qlen + PS_DNS_HDR_LEN > PS_GET(st->msg_len))
		return PS_MALFORMED;

	/* The question as aligned 8-byte words from 4 bytes before it,
	 * while the frame has them (with an OPT after it, it always has). */
	st->copied = 0;
	for (__u32 c = 0; c < 34; c++) {
		__u8 *p = src - 4 + c * 8;

		if (c * 8 >= qlen + 4)
			break;
		ps_barrier_var(p);
		if ((void *)(p + 8) > data_end)
			break;
		ps_words(sc)[QWORD + c] = *(ps_u64 *)p;
		st->copied = c * 8 + 4;
	}
	if (PS_GET(st->copied) < qlen && ps_question_tail(ctx, sc))
		return PS_MALFORMED;

	name_len = PS_GET(st->name_len) & 0x1ff;
	if (PS_GET(st->keyed)) {
		/* the fast path built the key */
	} else if (name_len <= PS_KEY_S) {
		__u64 *w = ps_words(sc) + QWORD, *k = (__u64 *)sc->key;

		/* Key word c: bytes 8c..8c+7 of the name, lower-cased, the
		 * bytes past its end cleared */
#pragma unroll
		for (int c = 0; c < PS_KEY_S / 8; c++) {
			__u64 m = ps_key_mask(name_len, c);

			k[c] = ps_lower8((w[c] >> 32) | (w[c + 1] << 32)) & m;
		}
		ps_key_pad(k);
	} else if (ps_key_long(sc)) {
		return PS_FAIL;
	}

	name_len = PS_GET(st->name_len) & 0x1ff;
	st->qtype = bpf_ntohs(ps_ld16(msgq + name_len));
	qclass = bpf_ntohs(ps_ld16(msgq + name_len + 2));
	st->qend = PS_DNS_HDR_LEN + name_len + 4;
	if (qclass != PS_C_IN)
		return PS_PASS;
	/* meta types (ANY, AXFR, IXFR, MAILA/B, TSIG, TKEY) and OPT as a
	 * question are the stack's */
	if (st->qtype == PS_T_OPT || (st->qtype >= 128 && st->qtype <= 255))
		return PS_PASS;
	return PS_OK;
}

/* ------------------------------------------------------------------ */
/* Phase 4: the optional EDNS OPT record                                */
/* ------------------------------------------------------------------ */

static __always_inline int ps_dns_opt(struct xdp_md *ctx,
				      struct ps_scratch *sc,
				      const struct ps_cfg *cfg)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	struct ps_dstate *st = &sc->st;
	__u32 qend = PS_GET(st->qend) & 0x1ff;
	__u32 msg_len = PS_GET(st->msg_len);
	__u8 *p = data + (PS_GET(st->dns) & 0xff) + qend;
	__u32 size, rdlen, end;
	__u8 *o;

	st->rcode = PS_RC_NOERROR;
	if (!st->edns) {
		if (qend != msg_len)
			return PS_MALFORMED;	/* trailing bytes */
		st->limit = 512;
		return PS_OK;
	}
	if ((void *)(p + 11) > data_end || qend + 11 > msg_len)
		return PS_MALFORMED;
	/* owner must be the root; anything but OPT (TSIG, SIG(0)) is the
	 * stack's */
	if (p[0] != 0 || p[1] != 0 || p[2] != PS_T_OPT)
		return PS_PASS;
	size = ((__u32)p[3] << 8) | p[4];
	rdlen = ((__u32)p[9] << 8) | p[10];
	if (qend + 11 + rdlen != msg_len)
		return PS_MALFORMED;
	/* options must tile the RDATA exactly */
	end = 0;
	o = p + 11;
	for (int i = 0; i < 16; i++) {
		__u8 *h;

		if (end >= rdlen)
			break;
		if (end > 0x7ff)	/* no frame is that long */
			return PS_MALFORMED;
		h = o + end;
		if ((void *)(h + 4) > data_end)
			return PS_MALFORMED;
		end += 4 + (((__u32)h[2] << 8) | h[3]);
	}
	if (end != rdlen)
		return end < rdlen ? PS_PASS : PS_MALFORMED;

	st->limit = ps_edns_limit(size, cfg);
	if (p[6] != 0)			/* EDNS version */
		st->rcode = PS_RC_BADVERS;
	return PS_OK;
}

/* ------------------------------------------------------------------ */
/* Phase 5: find the name, or the zone that holds it                    */
/* ------------------------------------------------------------------ */

/*
 * Not configured: find the enclosing zone, walking suffixes from the
 * shortest.  Zone apexes, configured names and their empty non-terminal
 * ancestors are all names, so inside a zone the first missing suffix ends
 * the walk; above every zone, a walk deeper than the deepest apex cannot
 * find one.  Sets st->found to 2 if a zone holds the name.
 *
 * The scratch is looked up again rather than passed: 6.1 types a global
 * function's pointer argument as plain memory, which it does not accept
 * as a map key.
 */
PS_SLOW int ps_find_zone(__u32 max_apex)
{
	struct ps_scratch *sc;
	struct ps_dstate *st;
	__u32 name_len, n, ntab, zero = 0;
	int hit = 0;

	sc = bpf_map_lookup_elem(&ps_scratch, &zero);
	if (!sc)
		return PS_FAIL;
	st = &sc->st;
	name_len = PS_GET(st->name_len) & 0x1ff;
	n = (PS_GET(st->nlabels) & 0xff) - 1;	/* labels without the root */
	ntab = PS_GET(st->ntab);

	/* configured names are at most PS_CONF_LABELS_MAX deep, so the walk
	 * ends within one label more */
	for (__u32 j = 1; j <= PS_CONF_LABELS_MAX + 1; j++) {
		__u32 off, len, found;

		if (j >= n)
			break;
		off = sc->labels[(n - j) & (PS_LABELS_MAX - 1)];
		len = name_len - off;
		if (len <= PS_KEY_S) {
			found = ps_short_lookup(st, &sc->key[off & 0xff], ntab);
		} else {
			struct ps_name *e = ps_long_lookup(sc->key, off, len);

			found = e != 0;
			if (e)
				ps_take_name(st, e);
		}
		if (found) {
			hit = 1;
			continue;
		}
		if (hit || j >= max_apex)
			break;
	}
	st->found = hit ? 2 : 0;
	return PS_OK;
}

static __always_inline int ps_dns_find(struct xdp_md *ctx,
				       struct ps_scratch *sc,
				       const struct ps_cfg *cfg)
{
	struct ps_dstate *st = &sc->st;
	__u32 name_len = PS_GET(st->name_len) & 0x1ff;
	__u32 gi = PS_GEN_NTAB;
	__u32 *ntab = bpf_map_lookup_elem(&ps_gen, &gi);
	struct ps_name *e;

	if (!ntab)
		return PS_FAIL;
	if (PS_GET(st->keyed)) {
		/* the fast path looked the name up: the same table, so the
		 * zone walk reads the same seed */
		if (PS_GET(st->found))
			return PS_OK;
		return ps_find_zone(cfg->max_apex_labels);
	}
	/* one read: the table and its seed go together */
	st->ntab = *ntab;
	st->found = 1;
	if (name_len <= PS_KEY_S) {
		if (ps_short_lookup(st, sc->key, PS_GET(st->ntab)))
			return PS_OK;
	} else {
		e = ps_long_lookup(sc->key, 0, name_len);
		if (e) {
			ps_take_name(st, e);
			return PS_OK;
		}
	}
	return ps_find_zone(cfg->max_apex_labels);
}

/* ------------------------------------------------------------------ */
/* Phase 6: the answer                                                  */
/* ------------------------------------------------------------------ */

/* SOA of the zone (owner: the apex inside the question) at st->pos. */
static __always_inline int ps_put_soa(struct ps_scratch *sc,
				      const struct ps_zone *z, int negative)
{
	struct ps_dstate *st = &sc->st;
	__u8 *m = &sc->buf[PS_BUF_MSG];
	__u32 pos = st->pos;
	__u32 len = z->soa_len;
	__u32 li = (st->nlabels - 1 - st->zone_labels) & (PS_LABELS_MAX - 1);
	__u32 apex = PS_DNS_HDR_LEN + sc->labels[li];

	if (pos > PS_MSG_MAX - 2 - PS_SOA_MAX || len > PS_SOA_MAX || len < 10)
		return -1;
	/* the checked values, not copies spilled before the check (clang
	 * 19 does that; 6.1 does not carry the bounds over) */
	ps_barrier_var(pos);
	ps_barrier_var(len);
	if (st->zone_labels >= st->nlabels)	/* maps not written by steerd */
		return -1;
	ps_st16(m + pos, bpf_htons(0xc000 | apex));
	pos += 2;
	for (__u32 c = 0; c < PS_SOA_MAX / 8; c++) {
		if (c * 8 >= len)
			break;
		ps_st64(m + pos + c * 8, ((const __u64 *)z->soa)[c]);
	}
	ps_st32(m + pos + 4, negative ? z->neg_ttl : z->soa_ttl);
	st->pos = pos + len;
	return 0;
}

static __always_inline int ps_put_ns(struct ps_scratch *sc,
				     const struct ps_zone *z)
{
	struct ps_dstate *st = &sc->st;
	__u8 *m = &sc->buf[PS_BUF_MSG];
	__u32 pos = st->pos;
	__u32 len = z->ns_len;

	if (pos > PS_MSG_MAX - PS_NS_MAX || len > PS_NS_MAX)
		return -1;
	ps_barrier_var(pos);
	ps_barrier_var(len);
	for (__u32 c = 0; c < PS_NS_MAX / 8; c++) {
		if (c * 8 >= len)
			break;
		ps_st64(m + pos + c * 8, ((const __u64 *)z->ns)[c]);
	}
	st->pos = pos + len;
	st->an = z->ns_count;
	return 0;
}

/* A random slot: a per-CPU xorshift32, so spreading answers needs no
 * helper call. */
static __always_inline __u32 ps_rand_slot(struct ps_scratch *sc)
{
	__u32 x = sc->st.rng;

	if (!x)
		x = bpf_get_prandom_u32() | 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	sc->st.rng = x;
	return (x >> 8) & (PS_SEL_SLOTS - 1);
}

static __always_inline __u32 ps_pick_slot(struct ps_scratch *sc,
					  const struct ps_sel *sel)
{
	if (sel->mode == PS_SEL_HASH)
		/* the client's address is the pseudo header's destination,
		 * where the query's IP family put it */
		return ps_client_slot((__u32 *)&sc->buf[sc->st.ip6 ? 16 : 32],
				      sc->st.ip6, sel->prefix4, sel->prefix6,
				      sel->seed);
	return ps_rand_slot(sc);
}

/* A or AAAA records from the name's pool; none means NODATA.  Returns 1
 * when no server can be answered and the pool's fallback is SERVFAIL. */
static __always_inline int ps_put_pool(struct ps_scratch *sc)
{
	struct ps_dstate *st = &sc->st;
	__u8 *m = &sc->buf[PS_BUF_MSG];
	__u32 pool = st->pool;
	int v6 = st->qtype == PS_T_AAAA;
	__be32 ttl = bpf_htonl(st->ttl);
	const struct ps_sel *sel;
	__u32 n, slot, pos;

	if (pool >= PS_MAX_POOLS)
		return -1;
	sel = ps_lookup_gen(&ps_sel, pool, PS_GEN_POOL(pool));
	if (!sel)
		return -1;
	n = v6 ? sel->a6 : sel->a4;
	if (n == 0)	/* NODATA, or SERVFAIL if the pool says so */
		return !!(sel->flags & (v6 ? PS_SEL_SERVFAIL6 : PS_SEL_SERVFAIL4));
	if (n > PS_ANSWERS_MAX)
		return -1;
	slot = ps_pick_slot(sc, sel);
	pos = st->pos;
	for (__u32 i = 0; i < PS_ANSWERS_MAX; i++) {
		__u32 idx;

		if (i >= n)
			break;
		if (pos > PS_MSG_MAX - 28)
			return -1;
		/* owner: a pointer to the question */
		ps_st16(m + pos, bpf_htons(0xc000 | PS_DNS_HDR_LEN));
		ps_st16(m + pos + 2, bpf_htons(v6 ? PS_T_AAAA : PS_T_A));
		ps_st16(m + pos + 4, bpf_htons(PS_C_IN));
		ps_st32(m + pos + 6, ttl);
		if (!v6) {
			idx = sel->slot4[slot][i] & (PS_POOL_SERVERS_MAX - 1);
			ps_st16(m + pos + 10, bpf_htons(4));
			ps_st32(m + pos + 12, sel->addr4[idx]);
			pos += 16;
		} else {
			idx = sel->slot6[slot][i] & (PS_POOL_SERVERS_MAX - 1);
			ps_st16(m + pos + 10, bpf_htons(16));
			ps_st64(m + pos + 12, ((const __u64 *)sel->addr6[idx])[0]);
			ps_st64(m + pos + 20, ((const __u64 *)sel->addr6[idx])[1]);
			pos += 28;
		}
	}
	st->pos = pos;
	st->an = n;
	return 0;
}

/* The rcode and the answer and authority sections. */
static __always_inline int ps_dns_sections(struct ps_scratch *sc)
{
	struct ps_dstate *st = &sc->st;
	const struct ps_zone *z;
	__u32 zone;

	if (st->rcode == PS_RC_BADVERS) {
		st->stat = PS_ST_BADVERS;
		return 0;
	}
	if (!st->found) {
		st->rcode = PS_RC_REFUSED;
		st->stat = PS_ST_REFUSED;
		return 0;
	}
	st->aa = 1;
	st->stat = PS_ST_NOERROR;
	zone = st->zone;
	if (zone >= PS_MAX_ZONES)
		return -1;
	if (st->found == 1) {
		if ((st->qtype == PS_T_A || st->qtype == PS_T_AAAA) &&
		    (st->nflags & PS_NAME_POOL)) {
			int rc = ps_put_pool(sc);

			if (rc < 0)
				return -1;
			if (rc == 1) {
				st->rcode = PS_RC_SERVFAIL;
				st->stat = PS_ST_SERVFAIL;
				st->aa = 0;
				return 0;
			}
			if (st->an)
				return 0;
		} else if ((st->nflags & PS_NAME_APEX) &&
			   (st->qtype == PS_T_SOA || st->qtype == PS_T_NS)) {
			z = ps_lookup_gen(&ps_zone, zone, PS_GEN_ZONE(zone));
			if (!z)
				return -1;
			if (st->qtype == PS_T_NS)
				return ps_put_ns(sc, z);
			st->an = 1;
			return ps_put_soa(sc, z, 0);
		}
		st->stat = PS_ST_NODATA;
	} else {
		st->rcode = PS_RC_NXDOMAIN;
		st->stat = PS_ST_NXDOMAIN;
	}
	z = ps_lookup_gen(&ps_zone, zone, PS_GEN_ZONE(zone));
	if (!z)
		return -1;
	st->ns = 1;
	return ps_put_soa(sc, z, 1);
}

/* The whole reply message: sections, then truncation to the client's
 * limit, OPT and header. */
static __always_inline int ps_dns_answer(struct ps_scratch *sc,
					 const struct ps_cfg *cfg)
{
	struct ps_dstate *st = &sc->st;
	__u8 *m = &sc->buf[PS_BUF_MSG];
	__u32 opt, pos;
	__u16 fl;

	st->pos = PS_GET(st->qend);
	st->an = 0;
	st->ns = 0;
	st->aa = 0;
	st->tc = 0;
	if (ps_dns_sections(sc))
		return PS_FAIL;

	opt = st->edns ? 11 : 0;
	pos = PS_GET(st->pos);
	if (pos + opt > st->limit) {
		/* does not fit: an empty TC=1 reply sends the client to TCP */
		pos = st->qend;
		st->an = 0;
		st->ns = 0;
		st->tc = 1;
	}
	if (st->edns) {
		if (pos > PS_MSG_MAX - 11)
			return PS_FAIL;
		m[pos] = 0;				/* root */
		ps_st16(m + pos + 1, bpf_htons(PS_T_OPT));
		ps_st16(m + pos + 3, bpf_htons(cfg->edns_size));
		m[pos + 5] = st->rcode >> 4;		/* extended rcode */
		m[pos + 6] = 0;				/* version */
		ps_st32(m + pos + 7, 0);		/* DO clear, no data */
		pos += 11;
	}
	fl = DNS_QR | (st->qflags & (DNS_RD | DNS_CD)) | (st->rcode & 0xf);
	if (st->aa)
		fl |= DNS_AA;
	if (st->tc)
		fl |= DNS_TC;
	*(ps_u16 *)(m + 0) = st->id;
	*(ps_u16 *)(m + 2) = bpf_htons(fl);
	*(ps_u16 *)(m + 4) = bpf_htons(1);
	*(ps_u16 *)(m + 6) = bpf_htons(st->an);
	*(ps_u16 *)(m + 8) = bpf_htons(st->ns);
	*(ps_u16 *)(m + 10) = bpf_htons(st->edns ? 1 : 0);
	st->pos = pos;
	return PS_OK;
}

/* ------------------------------------------------------------------ */
/* Phase 7: turn the frame into the reply                               */
/* ------------------------------------------------------------------ */

/*
 * Returns XDP_TX, XDP_PASS (frame untouched) or XDP_DROP.
 *
 * The reply is written whole from the start of the frame: Ethernet and
 * VLAN tags from the saved head, a fresh IP header (IPv4 options are not
 * echoed), then UDP and the message from scratch.  A longer reply needs
 * room: at the head, where XDP guarantees XDP_PACKET_HEADROOM bytes (and
 * which, unlike the tail, the kernel does not clear first), else at the
 * tail.
 */
static __always_inline int ps_emit(struct xdp_md *ctx, struct ps_scratch *sc)
{
	struct ps_dstate *st = &sc->st;
	__u32 msg_len = PS_GET(st->pos) & 0x7ff;
	__u32 udp_len = 8 + msg_len;
	__u32 l3 = PS_GET(st->l3) & 0x1f;
	int v4 = !PS_GET(st->ip6);
	__u32 iplen = v4 ? 20 : 40;
	void *data, *data_end;
	__u8 *dst;
	int delta;

	if (msg_len > PS_MSG_MAX)
		return XDP_PASS;
	*(ps_u16 *)&sc->buf[PS_BUF_UDP + 4] = bpf_htons(udp_len);
	*(ps_u16 *)&sc->buf[PS_BUF_UDP + 6] = 0;
	if (v4)
		*(ps_u16 *)&sc->buf[38] = bpf_htons(udp_len);
	else
		*(ps_u32 *)&sc->buf[32] = bpf_htonl(udp_len);
	ps_st64(&sc->buf[PS_BUF_MSG + msg_len], 0);	/* pad to 8 */

	/* From here on the frame changes; a failure to make room leaves it
	 * untouched. */
	data = ps_data(ctx);
	data_end = ps_data_end(ctx);
	delta = (int)(l3 + iplen + udp_len) - (int)(data_end - data);
	if (delta < 0) {
		if (bpf_xdp_adjust_tail(ctx, delta))
			return XDP_PASS;
	} else if (delta > 0) {
		if (bpf_xdp_adjust_head(ctx, -delta) &&
		    bpf_xdp_adjust_tail(ctx, delta))
			return XDP_PASS;
	}

	data = ps_data(ctx);
	data_end = ps_data_end(ctx);
	/* two checks in this order: clang 19 drops the first as implied by
	 * the second if they are tested together, and the verifier cannot
	 * follow that */
	if (data + 24 > data_end)
		return XDP_DROP;
	/* Ethernet and VLAN tags, back to the sender; what lands past l3 is
	 * overwritten by the IP header */
	ps_st32(data, ps_ld32(&st->l2[6]));
	ps_st16(data + 4, ps_ld16(&st->l2[10]));
	ps_st32(data + 6, ps_ld32(&st->l2[0]));
	ps_st16(data + 10, ps_ld16(&st->l2[4]));
	*(ps_u32 *)(data + 12) = *(ps_u32 *)&st->l2[12];
	*(ps_u64 *)(data + 16) = *(ps_u64 *)&st->l2[16];
	if (data + l3 + 40 > data_end)
		return XDP_DROP;

	if (v4) {
		struct iphdr *ip = data + l3;

		*(ps_u16 *)ip = bpf_htons(0x4500 | st->ip_tos);
		ip->tot_len = bpf_htons(20 + udp_len);
		ip->id = st->ip_id;
		ip->frag_off = 0;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->check = 0;
		ip->saddr = *(ps_u32 *)&sc->buf[28];
		ip->daddr = *(ps_u32 *)&sc->buf[32];
		ip->check = ~ps_csum_fold(ps_csum_ip4((__u16 *)ip));
	} else {
		struct ipv6hdr *ip6 = data + l3;

		*(ps_u32 *)ip6 = st->ip6_flow;
		ip6->payload_len = bpf_htons(udp_len);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, &sc->buf[0], 16);
		__builtin_memcpy(&ip6->daddr, &sc->buf[16], 16);
	}

	/* UDP and the message into the frame, 8 bytes at a time, summing
	 * them for the UDP checksum on the way (the pseudo header is
	 * buf[0..40), zeros before the IPv4 one).  A last partial word is
	 * summed padded with zeros and written as the 8 bytes ending the
	 * frame, so nothing past data_end is touched. */
	{
		__u64 *w = ps_words(sc), sum = 0, v;
		__u16 csum;

		ps_mem_barrier();	/* the message was written by ps_st*() */
#pragma unroll
		for (int c = 0; c < PS_BUF_UDP / 8; c++)
			sum += (w[c] & 0xffffffff) + (w[c] >> 32);
		udp_len = 8 + PS_GET(st->pos);
		if (udp_len > 8 + PS_MSG_MAX)
			return XDP_DROP;
		dst = data + l3 + iplen;
		for (__u32 c = 0; c < (8 + PS_MSG_MAX) / 8; c++) {
			__u8 *p = dst + c * 8;

			if (c * 8 + 8 > udp_len)
				break;
			ps_barrier_var(p);
			if ((void *)(p + 8) > data_end)
				return XDP_DROP;
			v = w[PS_BUF_UDP / 8 + c];
			sum += (v & 0xffffffff) + (v >> 32);
			*(ps_u64 *)p = v;
		}
		udp_len = 8 + PS_GET(st->pos);
		if (udp_len > 8 + PS_MSG_MAX)
			return XDP_DROP;
		/* index with the checked value, not pos + 40 (6.1 does not
		 * carry the check over to the copy) */
		ps_barrier_var(udp_len);
		if (udp_len & 7) {
			__u8 *p = dst + udp_len - 8;

			v = w[PS_BUF_UDP / 8 + udp_len / 8];
			sum += (v & 0xffffffff) + (v >> 32);
			ps_barrier_var(p);
			if ((void *)(p + 8) > data_end)
				return XDP_DROP;
			*(ps_u64 *)p = ps_ld64(&sc->buf[PS_BUF_UDP + udp_len - 8]);
		}
		csum = ~ps_csum_fold(sum);
		ps_barrier_var(dst);
		if ((void *)(dst + 8) > data_end)
			return XDP_DROP;
		ps_st16(dst + 6, csum ? csum : 0xffff);
	}
	return XDP_TX;
}

/* ------------------------------------------------------------------ */
/* The common reply, written in place                                   */
/* ------------------------------------------------------------------ */

/* Bit 7 of every zero byte of v (and maybe of bytes after the first
 * zero byte, never before it). */
static __always_inline __u64 ps_zero_bytes(__u64 v)
{
	return (v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL;
}

/* z != 0 from ps_zero_bytes(): *mask keeps the bytes up to and
 * including the first zero byte; returns their number (1..8). */
static __always_inline __u32 ps_zero_end(__u64 z, __u64 *mask)
{
	__u64 low = z & -z;

	*mask = low ^ (low - 1);
	/* low >> 7 is 1 << 8k; the product's top byte is then byte 7 - k of
	 * the constant, k + 1 */
	return ((low >> 7) * 0x0102030405060708ULL) >> 56;
}

/* Sum of a 64-bit word as two 32-bit ones (no carry lost). */
static __always_inline __u64 ps_sum64(__u64 v)
{
	return (v & 0xffffffff) + (v >> 32);
}

/*
 * Most queries are A or AAAA for a steered name of at most 32 bytes, with
 * or without a plain OPT, over IPv4 without options or IPv6: the reply is
 * the query with the answers (and our OPT) where the query's OPT was.
 * The in-place writer answers exactly those in the frame itself, before
 * the general path: one pass over the headers, the name read as four
 * words (its end found as its first zero byte: a name equal byte for byte
 * to a configured one is that name, labels and all, so no label walk),
 * one name-table probe, the records written after the question, and both
 * checksums summed from values in registers (the IPv4 header's from the
 * query's, checked right; the UDP checksum from the question's words read
 * for the key and the fields written), never read back from the frame.
 *
 * Two phases, as in the general path: what the reply will hold is left
 * in scratch (an, qend, pos, slot, nsum, ...) and read back after the
 * frame grew, so the verifier walks the writer once, not once per name
 * length, record count, type and EDNS, and the stack holds no spills
 * across the helper call.
 *
 * Returns PS_OK with *selp set, or PS_CONTINUE with the frame untouched:
 * the general path goes on, with this key and lookup if it got that far
 * (st.keyed; the general path checks its walk found the same name length).
 */
static __always_inline int ps_inplace_find(struct xdp_md *ctx,
					   struct ps_pkt *pkt,
					   struct ps_scratch *sc,
					   const struct ps_cfg *cfg,
					   const struct ps_sel **selp)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	struct ps_dstate *st = &sc->st;
	__u32 l3 = pkt->l3 & 0x1f, l4 = pkt->l4 & 0x7f;
	int v6 = pkt->family == 6, aaaa, edns;
	struct udphdr *udp = data + l4;
	struct ps_dnshdr *dh = (void *)(udp + 1);
	__u8 *q = (__u8 *)(dh + 1), *o;
	__u64 w0, w1, w2, w3, m, z, cnt;
	__u32 nl, ulen, qend, limit, n, rlen, ntab, gi = PS_GEN_NTAB, *gen;
	const struct ps_nent *e;
	const struct ps_sel *sel;
	__u16 fl;

	if (ps_unlikely((void *)(q + PS_KEY_S) > data_end ||
			data + l3 + 40 > data_end || (!v6 && pkt->ihl != 20)))
		return PS_CONTINUE;
	if (ps_unlikely(!ps_dst_ours(data, data_end, pkt, cfg)))
		return PS_CONTINUE;
	if (ps_unlikely((*(__u8 *)data & 1) || udp->source == 0))
		return PS_CONTINUE;
	ulen = ps_len16(udp->len);
	if (ps_unlikely(ulen != pkt->l4_len || ulen < 8 + PS_DNS_HDR_LEN + 5))
		return PS_CONTINUE;
	if (!v6) {
		struct iphdr *ip = data + l3;
		__u32 s = bpf_ntohl(ip->saddr), *h = (__u32 *)ip;

		if (ps_unlikely(s == 0 || s == 0xffffffff ||
				(s >> 28) == 0xe || (s >> 24) == 127))
			return PS_CONTINUE;
		if (ps_unlikely(ps_csum_fold40((__u64)h[0] + h[1] + h[2] +
					       h[3] + h[4]) != 0xffff))
			return PS_CONTINUE;
		st->ip4_hsum = (h[0] & 0xffff) + (h[1] & 0xffff);
		st->ip4_s = h[3];
		st->ip4_d = h[4];
	} else {
		struct ipv6hdr *ip6 = data + l3;

		if (ps_unlikely(ip6->saddr.in6_u.u6_addr8[0] == 0xff ||
				udp->check == 0))
			return PS_CONTINUE;
	}
	fl = bpf_ntohs(dh->flags);
	if (ps_unlikely(fl & (DNS_QR | DNS_OPCODE | DNS_TC)))
		return PS_CONTINUE;
	/* QDCOUNT 1, AN and NS 0, AR 0 or 1, as the bytes are in memory */
	cnt = ps_ld64_at(dh, 4);
	if (cnt == 0x0100)
		edns = 0;
	else if (cnt == 0x0100000000000100ULL)
		edns = 1;
	else
		return PS_CONTINUE;

	/* the name: its bytes up to the first zero byte */
	w0 = ps_ld64_at(q, 0);
	w1 = ps_ld64_at(q, 8);
	w2 = ps_ld64_at(q, 16);
	w3 = ps_ld64_at(q, 24);
	if ((z = ps_zero_bytes(w0))) {
		nl = ps_zero_end(z, &m);
		w0 &= m;
		w1 = w2 = w3 = 0;
	} else if ((z = ps_zero_bytes(w1))) {
		nl = 8 + ps_zero_end(z, &m);
		w1 &= m;
		w2 = w3 = 0;
	} else if ((z = ps_zero_bytes(w2))) {
		nl = 16 + ps_zero_end(z, &m);
		w2 &= m;
		w3 = 0;
	} else if ((z = ps_zero_bytes(w3))) {
		nl = 24 + ps_zero_end(z, &m);
		w3 &= m;
	} else {
		return PS_CONTINUE;	/* longer than 32 bytes */
	}
	/* the name's part of the UDP checksum (it starts at an even
	 * offset), then the key: lower case */
	st->nsum = ps_sum64(w0) + ps_sum64(w1) + ps_sum64(w2) + ps_sum64(w3);
	w0 = ps_lower8(w0);
	w1 = ps_lower8(w1);
	w2 = ps_lower8(w2);
	w3 = ps_lower8(w3);

	gen = bpf_map_lookup_elem(&ps_gen, &gi);
	if (ps_unlikely(!gen))
		return PS_CONTINUE;
	/* the general path takes the key and this lookup's outcome over */
	ntab = *gen;
	st->ntab = ntab;
	e = ps_ntab_find(w0, w1, w2, w3, ntab);
	st->keyed = 1;
	st->kname_len = nl;
	/* and what ps_dns_head() leaves, whose checks all passed here */
	st->l3 = l3;
	st->dns = l4 + 8;
	st->msg_len = ulen - 8;
	st->id = dh->id;
	st->qflags = fl;
	st->edns = edns;
	if (ps_unlikely(!e)) {
		__u64 *k = (__u64 *)sc->key;

		st->found = 0;
		k[0] = w0;
		k[1] = w1;
		k[2] = w2;
		k[3] = w3;
		ps_key_pad(k);
		return PS_CONTINUE;
	}
	ps_take_name(st, &e->val);
	st->found = 1;
	if (ps_unlikely(!(e->val.flags & PS_NAME_POOL) ||
			e->val.pool >= PS_MAX_POOLS))
		return PS_CONTINUE;

	/* QTYPE A or AAAA, class IN; then the end of the message */
	nl &= 0x3f;
	o = q + nl;
	if (ps_unlikely((void *)(o + 4) > data_end))
		return PS_CONTINUE;
	switch (ps_ld32_at(o, 0)) {
	case 0x01000100:
		aaaa = 0;
		break;
	case 0x01001c00:
		aaaa = 1;
		break;
	default:
		return PS_CONTINUE;
	}
	qend = PS_DNS_HDR_LEN + nl + 4;
	if (!edns) {
		if (ps_unlikely(ulen != 8 + qend))
			return PS_CONTINUE;
		limit = 512;
	} else {
		__u64 opt;

		/* root owner, OPT, version 0, no options: anything else is
		 * the general path's (BADVERS, options, TSIG); its first 8
		 * bytes as one word (owner, TYPE and version masked) */
		if (ps_unlikely((void *)(o + 15) > data_end ||
				ulen != 8 + qend + 11))
			return PS_CONTINUE;
		opt = ps_ld64_at(o, 4);
		if (ps_unlikely((opt & 0x00ff000000ffffffULL) !=
				((__u64)bpf_htons(PS_T_OPT) << 8) ||
				ps_ld16_at(o, 13) != 0))
			return PS_CONTINUE;
		limit = ps_edns_limit(bpf_ntohs((__u16)(opt >> 24)), cfg);
	}

	sel = ps_lookup_gen(&ps_sel, e->val.pool, PS_GEN_POOL(e->val.pool));
	if (ps_unlikely(!sel))
		return PS_CONTINUE;
	n = aaaa ? sel->a6 : sel->a4;
	if (ps_unlikely(n == 0 || n > PS_ANSWERS_MAX))
		return PS_CONTINUE;	/* NODATA or SERVFAIL: general path */
	rlen = qend + n * (aaaa ? 28 : 16) + (edns ? 11 : 0);
	if (ps_unlikely(rlen > limit))
		return PS_CONTINUE;	/* TC=1: general path */
	if (sel->mode == PS_SEL_HASH)
		st->slot = ps_client_slot(v6 ? (__u32 *)(data + l3 + 8) :
					       (__u32 *)(data + l3 + 12),
					  v6, sel->prefix4, sel->prefix6,
					  sel->seed);
	else
		st->slot = ps_rand_slot(sc);
	st->qtype = aaaa ? PS_T_AAAA : PS_T_A;
	st->qend = qend;
	st->an = n;
	st->pos = rlen;
	*selp = sel;
	return PS_OK;
}

/* n words (a constant) from grow bytes further on to the frame's start,
 * in increasing order. */
static __always_inline int ps_move_up(void *data, void *data_end,
				      __u32 grow, const __u32 n)
{
	__u8 *d = data, *s = data + grow;

	/* opaque to the compiler, which would drop d's check as implied by
	 * s's: the verifier needs both */
	ps_barrier_var(d);
	if (ps_unlikely((void *)(s + n * 8) > data_end ||
			(void *)(d + n * 8) > data_end))
		return XDP_DROP;
	/* n is a constant: the tests fold away (the offsets must be
	 * literal for ps_*_at) */
#define PS_MOVE_WORD(i)							\
	do {								\
		if ((i) < n)						\
			ps_st64_at(d, (i) * 8, ps_ld64_at(s, (i) * 8));	\
	} while (0)
	PS_MOVE_WORD(0);
	PS_MOVE_WORD(1);
	PS_MOVE_WORD(2);
	PS_MOVE_WORD(3);
	PS_MOVE_WORD(4);
	PS_MOVE_WORD(5);
	PS_MOVE_WORD(6);
	PS_MOVE_WORD(7);
	PS_MOVE_WORD(8);
	PS_MOVE_WORD(9);
	PS_MOVE_WORD(10);
	PS_MOVE_WORD(11);
	PS_MOVE_WORD(12);
	PS_MOVE_WORD(13);
#undef PS_MOVE_WORD
	return PS_OK;
}

/*
 * Room for the records at the head, which XDP guarantees (growing the
 * tail costs a memset, and veth frames from an skb may have no tailroom):
 * everything before them moves up, Ethernet padding after the query comes
 * off the tail.  Returns PS_OK, PS_CONTINUE (the frame untouched) or
 * XDP_DROP.  A phase of its own: its inputs come from scratch, and what
 * the writer needs after it is read again there, so the verifier walks
 * the copy once, not once per record type and count.
 */
static __always_inline int ps_inplace_grow(struct xdp_md *ctx,
					   struct ps_pkt *pkt,
					   struct ps_scratch *sc)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	struct ps_dstate *st = &sc->st;
	__u32 l4 = pkt->l4 & 0x7f, qend = PS_GET(st->qend) & 0x3f;
	__u32 grow = (PS_GET(st->an) & 0xf) *
		     (PS_GET(st->qtype) == PS_T_AAAA ? 28 : 16);
	__u32 hlen = l4 + 8 + qend, ulen = 8 + (PS_GET(st->pos) & 0x1ff);
	long pad = (long)(data_end - data) - (long)(l4 + ulen - grow);
	int rc;

	if (ps_unlikely(bpf_xdp_adjust_head(ctx, -(int)grow)))
		return PS_CONTINUE;
	if (ps_unlikely(pad > 0 && bpf_xdp_adjust_tail(ctx, -(int)pad)))
		return XDP_DROP;
	/* 8 bytes at a time upwards (the source is grow >= 16 bytes
	 * further on, so nothing is overwritten before it is read), as
	 * straight code for each whole number of words (one bounds check,
	 * no loop); the last partial word as the 8 bytes ending it */
	data = ps_data(ctx);
	data_end = ps_data_end(ctx);
	/* bounds the 6.1 verifier keeps across the helper calls */
	ps_barrier_var(grow);
	grow &= 0x1ff;
	switch (hlen >> 3) {
	case 7:
		rc = ps_move_up(data, data_end, grow, 7);
		break;
	case 8:
		rc = ps_move_up(data, data_end, grow, 8);
		break;
	case 9:
		rc = ps_move_up(data, data_end, grow, 9);
		break;
	case 10:
		rc = ps_move_up(data, data_end, grow, 10);
		break;
	case 11:
		rc = ps_move_up(data, data_end, grow, 11);
		break;
	case 12:
		rc = ps_move_up(data, data_end, grow, 12);
		break;
	case 13:
		rc = ps_move_up(data, data_end, grow, 13);
		break;
	case 14:
		rc = ps_move_up(data, data_end, grow, 14);
		break;
	default:
		rc = XDP_DROP;	/* hlen is 59..118 */
	}
	if (rc != PS_OK)
		return rc;
	if (hlen & 7) {
		/* it starts at hlen - 8: qend read again, so 6.1 does not
		 * carry the moves' impossible ranges into it */
		__u8 *d = data + l4 + (PS_GET(st->qend) & 0x3f);

		ps_barrier_var(d);
		if (ps_unlikely((void *)(d + 8) > data_end ||
				(void *)(d + grow + 8) > data_end))
			return XDP_DROP;
		ps_st64_at(d, 0, ps_ld64(d + grow));
	}
	return PS_OK;
}

/*
 * The reply in the grown frame: records and our OPT after the question,
 * header flags and counts, addresses back to the sender, lengths and
 * checksums.  Returns XDP_TX or XDP_DROP (never expected).
 */
static __always_inline int ps_inplace_write(struct xdp_md *ctx,
					    struct ps_pkt *pkt,
					    struct ps_scratch *sc,
					    const struct ps_cfg *cfg,
					    const struct ps_sel *sel,
					    struct ps_stats *stats)
{
	void *data = ps_data(ctx);
	void *data_end = ps_data_end(ctx);
	struct ps_dstate *st = &sc->st;
	__u32 l3 = pkt->l3 & 0x1f, l4 = pkt->l4 & 0x7f;
	__u32 rlen = PS_GET(st->pos) & 0x1ff, ulen = 8 + rlen;
	__u32 n = PS_GET(st->an), slot = PS_GET(st->slot);
	__u32 qend = PS_GET(st->qend) & 0x3f;
	int aaaa = PS_GET(st->qtype) == PS_T_AAAA, edns = PS_GET(st->edns);
	struct udphdr *udp;
	struct ps_dnshdr *dh;
	__u64 sum, tsum;
	__u16 fl, csum;
	__be32 ttl;
	__u8 *o;

	if (!sel)
		return XDP_DROP;
	udp = data + l4;
	dh = (void *)(udp + 1);
	if (data + l3 + 40 > data_end || (void *)(dh + 1) > data_end)
		return XDP_DROP;

	/* What follows the name (QTYPE, QCLASS, records, OPT) is summed as
	 * if it started at an even offset, and swapped below if not. */
	ttl = bpf_htonl(PS_GET(st->ttl));
	tsum = (__u64)n * ((__u32)ttl + bpf_htons(0xc000 | PS_DNS_HDR_LEN) +
			   bpf_htons(PS_C_IN) +
			   (aaaa ? bpf_htons(PS_T_AAAA) + bpf_htons(16) :
				   bpf_htons(PS_T_A) + bpf_htons(4)));
	tsum += (aaaa ? bpf_htons(PS_T_AAAA) : bpf_htons(PS_T_A)) +
		bpf_htons(PS_C_IN);

	o = (__u8 *)dh + qend;
	for (__u32 i = 0; i < PS_ANSWERS_MAX; i++) {
		__u32 idx;

		if (i >= n)
			break;
		ps_barrier_var(o);
		if ((void *)(o + 16) > data_end)
			return XDP_DROP;
		/* owner: a pointer to the question */
		ps_st16_at(o, 0, bpf_htons(0xc000 | PS_DNS_HDR_LEN));
		ps_st16_at(o, 2, aaaa ? bpf_htons(PS_T_AAAA) : bpf_htons(PS_T_A));
		ps_st16_at(o, 4, bpf_htons(PS_C_IN));
		ps_st32_at(o, 6, ttl);
		if (!aaaa) {
			__be32 a;

			idx = sel->slot4[slot & (PS_SEL_SLOTS - 1)][i] &
			      (PS_POOL_SERVERS_MAX - 1);
			a = sel->addr4[idx];
			ps_st16_at(o, 10, bpf_htons(4));
			ps_st32_at(o, 12, a);
			tsum += a;
			o += 16;
		} else {
			__u64 a0, a1;

			if ((void *)(o + 28) > data_end)
				return XDP_DROP;
			idx = sel->slot6[slot & (PS_SEL_SLOTS - 1)][i] &
			      (PS_POOL_SERVERS_MAX - 1);
			a0 = ((const __u64 *)sel->addr6[idx])[0];
			a1 = ((const __u64 *)sel->addr6[idx])[1];
			ps_st16_at(o, 10, bpf_htons(16));
			ps_st64_at(o, 12, a0);
			ps_st64_at(o, 20, a1);
			tsum += ps_sum64(a0) + ps_sum64(a1);
			o += 28;
		}
	}
	if (edns) {
		ps_barrier_var(o);
		if ((void *)(o + 11) > data_end)
			return XDP_DROP;
		o[0] = 0;
		ps_st16_at(o, 1, bpf_htons(PS_T_OPT));
		ps_st16_at(o, 3, bpf_htons(cfg->edns_size));
		ps_st32_at(o, 5, 0);	/* extended rcode, version, DO clear */
		ps_st16_at(o, 9, 0);	/* no options */
		/* its TYPE and UDP size sit at odd offsets in it */
		tsum += PS_T_OPT + cfg->edns_size;
	}
	/* at an odd offset each 16-bit word of it is swapped: x 256 modulo
	 * 0xffff, which the fold below takes (one fold first keeps the sum
	 * below 2^40) */
	tsum = (tsum & 0xffff) + (tsum >> 16);
	tsum <<= (qend & 1) * 8;

	fl = DNS_QR | DNS_AA | (PS_GET(st->qflags) & (DNS_RD | DNS_CD));
	dh->flags = bpf_htons(fl);
	dh->an = bpf_htons(n);
	/* qd stays 1, ns 0 and ar 0 or 1 */
	sum = tsum + PS_GET(st->nsum) + dh->id + bpf_htons(fl) +
	      bpf_htons(1) + bpf_htons(n) + (edns ? bpf_htons(1) : 0) +
	      2 * bpf_htons(ulen) + bpf_htons(IPPROTO_UDP);

	/* Ethernet addresses, back to the sender: read as two words, as
	 * the head move wrote them (a load across two recent stores waits
	 * for both to reach the cache; bytes: w0 = d0..d5 s0 s1, w1 =
	 * s2..s5) */
	{
		__u8 *eh = data;
		__u64 w0 = ps_ld64_at(eh, 0), w1 = ps_ld32_at(eh, 8);

		ps_st64_at(eh, 0, (w0 >> 48) | (w1 << 16) | (w0 << 48));
		ps_st32_at(eh, 8, (__u32)(w0 >> 16));
	}
	if (pkt->family == 4) {
		struct iphdr *ip = data + l3;
		__u32 s = PS_GET(st->ip4_s), d = PS_GET(st->ip4_d);
		__u16 tot = bpf_htons(20 + ulen);

		/* the header as it will be: length, no fragment bits, TTL
		 * 64; the sum of the addresses does not change with the
		 * swap */
		ip->tot_len = tot;
		ip->frag_off = 0;
		ip->ttl = 64;
		ip->saddr = d;
		ip->daddr = s;
		ip->check = ~ps_csum_fold40((__u64)PS_GET(st->ip4_hsum) + tot +
					  (64 | IPPROTO_UDP << 8) +
					  (__u64)s + d);
		sum += (__u64)s + d;
	} else {
		struct ipv6hdr *ip6 = data + l3;
		__u8 *a = (__u8 *)&ip6->saddr;
		__u64 s0 = ps_ld64_at(a, 0), s1 = ps_ld64_at(a, 8);
		__u64 d0 = ps_ld64_at(a, 16), d1 = ps_ld64_at(a, 24);

		ps_st64_at(a, 0, d0);
		ps_st64_at(a, 8, d1);
		ps_st64_at(a, 16, s0);
		ps_st64_at(a, 24, s1);
		ip6->payload_len = bpf_htons(ulen);
		ip6->hop_limit = 64;
		sum += ps_sum64(s0) + ps_sum64(s1) + ps_sum64(d0) +
		       ps_sum64(d1);
	}
	{
		__u32 ports = ps_ld32_at(udp, 0);

		sum += ports;
		ps_st32_at(udp, 0, (ports >> 16) | (ports << 16));
	}
	udp->len = bpf_htons(ulen);
	csum = ~ps_csum_fold40(sum);
	udp->check = csum ? csum : 0xffff;
	stats->c[PS_ST_NOERROR]++;
	return XDP_TX;
}

/* The common reply in place (above): XDP_TX, XDP_DROP, or PS_CONTINUE
 * with the frame untouched. */
static __always_inline int ps_dns_inplace(struct xdp_md *ctx,
					  struct ps_pkt *pkt,
					  struct ps_scratch *sc,
					  const struct ps_cfg *cfg,
					  struct ps_stats *stats)
{
	const struct ps_sel *sel = NULL;
	int rc;

	if (ps_unlikely(ps_inplace_find(ctx, pkt, sc, cfg, &sel) != PS_OK))
		return PS_CONTINUE;
	rc = ps_inplace_grow(ctx, pkt, sc);
	if (rc == PS_CONTINUE)
		return rc;
	stats->c[PS_ST_QUERIES]++;
	if (ps_unlikely(rc != PS_OK))
		return XDP_DROP;
	return ps_inplace_write(ctx, pkt, sc, cfg, sel, stats);
}

/* ------------------------------------------------------------------ */

/*
 * The DNS fast path.  Returns an XDP verdict for DNS traffic to us, or
 * PS_CONTINUE for anything else.
 */
static __always_inline int ps_dns(struct xdp_md *ctx, struct ps_pkt *pkt,
				  struct ps_stats *stats)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp = data + (pkt->l4 & 0x7f);
	const struct ps_cfg *cfg;
	struct ps_scratch *sc;
	__u32 zero = 0, what;
	int rc, verdict;

	if ((void *)(udp + 1) > data_end)
		return PS_CONTINUE;
	cfg = ps_lookup_gen(&ps_cfg, 0, PS_GEN_CFG);
	if (!cfg)
		return PS_CONTINUE;
	/* before steerd wrote a config, port 53 is the one to count */
	if (udp->dest != (cfg->dns_port ? cfg->dns_port :
			  bpf_htons(PS_DNS_PORT_DEFAULT)))
		return PS_CONTINUE;
	sc = bpf_map_lookup_elem(&ps_scratch, &zero);
	if (!sc)
		return PS_CONTINUE;

	/* the common reply, in place; what it does not take goes on here,
	 * with its key and name lookup if it got that far */
	sc->st.keyed = 0;
	if ((cfg->flags & (PS_CFG_READY | PS_CFG_NO_FAST)) == PS_CFG_READY) {
		verdict = ps_dns_inplace(ctx, pkt, sc, cfg, stats);
		if (verdict == XDP_TX)
			return XDP_TX;
		if (verdict == XDP_DROP) {
			stats->c[PS_ST_DROP]++;
			return XDP_DROP;
		}
	}

	/* the in-place writer's checks are ps_dns_head()'s: passed if it got
	 * as far as the name lookup */
	if (PS_GET(sc->st.keyed)) {
		rc = PS_OK;
	} else {
		rc = ps_dns_head(ctx, pkt, sc, cfg);
		if (rc == PS_NOTOURS)
			return PS_CONTINUE;
	}
	stats->c[PS_ST_QUERIES]++;
	if (!(cfg->flags & PS_CFG_READY)) {
		stats->c[PS_ST_PASS_NOTREADY]++;
		goto pass;
	}
	if (rc == PS_OK)
		rc = ps_dns_walk(ctx, sc);
	/* the in-place writer's key is this name's only if its end is the
	 * one the walk found */
	if (rc == PS_OK && PS_GET(sc->st.keyed) &&
	    PS_GET(sc->st.kname_len) != PS_GET(sc->st.name_len))
		sc->st.keyed = 0;
	if (rc == PS_OK)
		rc = ps_dns_save(ctx, pkt, sc);
	if (rc == PS_OK)
		rc = ps_dns_question(ctx, sc);
	if (rc == PS_OK)
		rc = ps_dns_opt(ctx, sc, cfg);
	if (rc == PS_MALFORMED)
		stats->c[PS_ST_PASS_MALFORMED]++;
	if (rc != PS_OK)
		goto pass;

	if (PS_GET(sc->st.rcode) != PS_RC_BADVERS)
		rc = ps_dns_find(ctx, sc, cfg);
	if (rc == PS_OK)
		rc = ps_dns_answer(sc, cfg);
	if (rc != PS_OK)
		goto pass;

	verdict = ps_emit(ctx, sc);
	if (verdict == XDP_TX) {
		what = PS_GET(sc->st.stat);
		if (what < PS_ST_MAX)
			stats->c[what]++;
		if (PS_GET(sc->st.tc))
			stats->c[PS_ST_TRUNCATED]++;
		return XDP_TX;
	}
	if (verdict == XDP_DROP) {
		stats->c[PS_ST_DROP]++;
		return XDP_DROP;
	}
pass:
	stats->c[PS_ST_PASS]++;
	return XDP_PASS;
}

#endif
