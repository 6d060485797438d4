// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet tests of the backends' IP-in-IP decapsulation (bpf/decap.bpf.c):
 * frames built here byte by byte go through the real compiled program
 * (BPF_PROG_TEST_RUN, maps not pinned), and each output is compared with
 * the frame we expect byte for byte, each verdict with ours, and each
 * change of the per-CPU counters with the one counter the frame should
 * count in.
 *   decap_packets [FILTER]
 * The object is the one next to this program (../bpf/decap.bpf.o), or
 * $DECAP_OBJ.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <popsteer/decap.h>

#include "check.h"

CHECK_DEFINE;

#define XDP_ABORTED 0
#define XDP_DROP 1
#define XDP_PASS 2

#define FRAME_MAX 2048
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSTATS (sizeof(struct ps_decap_stats) / sizeof(__u64))

#define ETHERTYPE_IP	0x0800
#define ETHERTYPE_ARP	0x0806
#define ETHERTYPE_IPV6	0x86dd
#define ETHERTYPE_8021Q	0x8100
#define ETHERTYPE_8021AD 0x88a8

/* tunnel addresses of the backend (ps_decap_addrs) and of the balancer */
#define TUN4	"198.18.0.1"
#define TUN6	"2001:2::1"
#define LB4	"198.18.0.2"
#define LB6	"2001:2::2"
/* the client and the VIP of the inner packet */
#define CLI4	"198.18.50.2"
#define CLI6	"2001:2:50::2"
#define VIP4	"198.18.100.1"
#define VIP6	"2001:2:100::1"

static const uint8_t mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_src[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static struct bpf_object *obj;
static int prog_fd, addrs_fd, stats_fd, cache_fd, ncpus;
static char obj_path[PATH_MAX + 32];
/* program runs that the kernel accepted, each must count exactly once */
static unsigned long long runs;
/* what open told us about the maps, before we unpinned them */
static int addrs_pinned, stats_pinned;

/* ---- bytes ------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static void addr_parse(int family, const char *s, uint8_t *out)
{
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, s, out) != 1) {
		fprintf(stderr, "bad address %s\n", s);
		abort();
	}
}

/* ---- building frames --------------------------------------------------- */

struct pkt_opts {
	int outer;		/* 4 or 6; 0: no outer header (plain traffic) */
	int inner;		/* 4 or 6 */
	int vlans;		/* 0..3 tags (802.1ad outer, 802.1Q inner) */
	int ip_opts;		/* outer IPv4 option bytes (multiple of 4) */
	const char *odst;	/* outer destination, default TUN4/TUN6 */
	int l4;			/* inner protocol, default UDP; UDP, TCP, ICMP */
	size_t payload;		/* inner L4 payload bytes, default 33 */
	uint8_t ecn_out, ecn_in;	/* ECN field of outer and inner header */
	uint16_t frag;		/* outer IPv4 flags and fragment offset */
	int v6_ext;		/* outer IPv6: an extension header first, */
	int v6_ext_type;	/*  ...of this type */
	int pad;		/* bytes after the outer packet */
	int inner_extra;	/* outer payload bytes after the inner packet */
	const uint8_t *inner_pkt;	/* ready-made inner packet (nesting) */
	size_t inner_pkt_len;
};

struct built {
	uint8_t f[FRAME_MAX];	/* the frame */
	size_t len;
	size_t l3;		/* offset of the (outer) IP header */
	size_t olen;		/* outer IP header bytes */
	size_t inner_off;	/* offset of the inner packet */
	size_t inner_len;
	uint8_t exp[FRAME_MAX];	/* the frame we expect after decapsulation */
	size_t exp_len;
};

/*
 * An IP packet: header (with opts bytes of IPv4 options), then body.
 * Traffic class/TOS: DSCP AF11 plus ecn.  Returns its length.
 */
static size_t ip_build(uint8_t *p, int family, const char *src, const char *dst,
		       int proto, const uint8_t *body, size_t blen, int opts,
		       uint16_t frag, uint8_t ecn)
{
	uint8_t tc = 0x28 | (ecn & 3);

	if (family == 4) {
		size_t ihl = 20 + opts;

		if (opts % 4 || opts > 40)
			abort();
		memset(p, 0, ihl);
		p[0] = 0x40 | (ihl / 4);
		p[1] = tc;
		put16(p + 2, ihl + blen);
		put16(p + 4, 0x4242);
		put16(p + 6, frag);
		p[8] = 64;
		p[9] = proto;
		addr_parse(4, src, p + 12);
		addr_parse(4, dst, p + 16);
		for (int i = 0; i < opts; i++)
			p[20 + i] = 1;		/* NOP */
		memcpy(p + ihl, body, blen);
		put16(p + 10, ~csum_fold(csum_add(0, p, ihl)));
		return ihl + blen;
	}
	memset(p, 0, 40);
	p[0] = 0x60 | (tc >> 4);
	p[1] = (tc << 4) | 0x1;		/* flow label 0x12345 */
	p[2] = 0x23;
	p[3] = 0x45;
	put16(p + 4, blen);
	p[6] = proto;
	p[7] = 64;
	addr_parse(6, src, p + 8);
	addr_parse(6, dst, p + 24);
	memcpy(p + 40, body, blen);
	return 40 + blen;
}

/* L4 header and payload of an inner packet, with its checksum. */
static size_t l4_build(uint8_t *b, int family, int proto, const char *src,
		       const char *dst, size_t plen)
{
	uint8_t a[32];
	size_t alen = family == 6 ? 32 : 8, hlen, len;
	uint32_t sum;
	int csum_at, pseudo = 1;

	switch (proto) {
	case IPPROTO_TCP:
		hlen = 20;
		memset(b, 0, hlen);
		put16(b, 40000);
		put16(b + 2, 443);
		b[4] = 0x11;		/* sequence number */
		b[12] = 5 << 4;
		b[13] = 0x02;		/* SYN */
		put16(b + 14, 65535);
		csum_at = 16;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		hlen = 8;
		memset(b, 0, hlen);
		b[0] = proto == IPPROTO_ICMP ? 8 : 128;	/* echo request */
		put16(b + 4, 0x77);
		put16(b + 6, 1);
		csum_at = 2;
		pseudo = proto == IPPROTO_ICMPV6;
		break;
	default:
		hlen = 8;
		put16(b, 40000);
		put16(b + 2, 53);
		put16(b + 4, hlen + plen);
		put16(b + 6, 0);
		csum_at = 6;
		break;
	}
	for (size_t i = 0; i < plen; i++)
		b[hlen + i] = 0xa0 + i;
	len = hlen + plen;
	sum = 0;
	if (pseudo) {
		addr_parse(family, src, a);
		addr_parse(family, dst, a + alen / 2);
		sum = csum_add(0, a, alen) + proto + len;
	}
	sum = (uint16_t)~csum_fold(csum_add(sum, b, len));
	if (proto == IPPROTO_UDP && !sum)
		sum = 0xffff;
	put16(b + csum_at, sum);
	return len;
}

/* The inner packet of o into p; returns its length. */
static size_t inner_build(uint8_t *p, const struct pkt_opts *o)
{
	uint8_t body[FRAME_MAX];
	int l4 = o->l4 ? o->l4 : IPPROTO_UDP;
	size_t plen = o->payload ? o->payload : 33, blen;
	const char *src = o->inner == 6 ? CLI6 : CLI4;
	const char *dst = o->inner == 6 ? VIP6 : VIP4;

	if (o->inner_pkt) {
		memcpy(p, o->inner_pkt, o->inner_pkt_len);
		return o->inner_pkt_len;
	}
	if (l4 == IPPROTO_ICMP && o->inner == 6)
		l4 = IPPROTO_ICMPV6;
	blen = l4_build(body, o->inner, l4, src, dst, plen);
	return ip_build(p, o->inner, src, dst, l4, body, blen, 0, 0, o->ecn_in);
}

/* The frame of o, and the frame expected after decapsulation. */
static void build(struct built *b, const struct pkt_opts *o)
{
	uint8_t inner[FRAME_MAX], body[FRAME_MAX];
	size_t ilen, blen = 0, off = 12;
	int iproto;

	memset(b, 0, sizeof(*b));
	ilen = inner_build(inner, o);
	iproto = o->inner == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;

	memcpy(b->f, mac_dst, 6);
	memcpy(b->f + 6, mac_src, 6);
	for (int i = 0; i < o->vlans; i++) {
		put16(b->f + off, i == 0 && o->vlans > 1 ? ETHERTYPE_8021AD
							 : ETHERTYPE_8021Q);
		put16(b->f + off + 2, 100 + i);
		off += 4;
	}
	b->l3 = off + 2;
	if (!o->outer) {
		put16(b->f + off, o->inner == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);
		memcpy(b->f + b->l3, inner, ilen);
		b->len = b->l3 + ilen;
		b->inner_off = b->l3;
		b->inner_len = ilen;
		return;
	}
	put16(b->f + off, o->outer == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);

	if (o->outer == 6 && o->v6_ext) {
		/* one 8-byte extension header: hop-by-hop or destination
		 * options (PadN), or a fragment header (first fragment, M) */
		memset(body, 0, 8);
		body[0] = iproto;
		if (o->v6_ext_type == 44) {
			put16(body + 2, 0x0001);
			body[7] = 0x99;
		} else {
			body[2] = 1;	/* PadN, 4 bytes */
			body[3] = 4;
		}
		blen = 8;
		iproto = o->v6_ext_type;
	}
	memcpy(body + blen, inner, ilen);
	b->inner_off = blen;
	blen += ilen;
	for (int i = 0; i < o->inner_extra; i++)
		body[blen++] = 0x5a;
	b->olen = o->outer == 4 ? 20 + o->ip_opts : 40;
	b->len = b->l3 + ip_build(b->f + b->l3, o->outer,
				  o->outer == 6 ? LB6 : LB4,
				  o->odst ? o->odst : o->outer == 6 ? TUN6 : TUN4,
				  iproto, body, blen, o->ip_opts, o->frag,
				  o->ecn_out);
	b->inner_off += b->l3 + b->olen;
	b->inner_len = ilen;
	memset(b->f + b->len, 0xee, o->pad);
	b->len += o->pad;

	/* expected: the same Ethernet header and tags, the innermost type
	 * the inner family's, then everything after the outer header */
	memcpy(b->exp, b->f, b->l3);
	put16(b->exp + b->l3 - 2, o->inner == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);
	memcpy(b->exp + b->l3, b->f + b->l3 + b->olen, b->len - b->l3 - b->olen);
	b->exp_len = b->len - b->olen;
}

/* Recompute the outer IPv4 header checksum after an edit. */
static void ip4_fix(struct built *b)
{
	uint8_t *ip = b->f + b->l3;

	put16(ip + 10, 0);
	put16(ip + 10, ~csum_fold(csum_add(0, ip, (ip[0] & 0xf) * 4)));
}

/* ---- the program ------------------------------------------------------- */

/* One BPF_PROG_TEST_RUN; returns the verdict or -errno. */
static int run(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, t,
		    .data_in = in,
		    .data_size_in = len,
		    .data_out = out,
		    .data_size_out = FRAME_MAX,
		    .repeat = 1);
	int rc = bpf_prog_test_run_opts(prog_fd, &t);

	*out_len = 0;
	if (rc)
		return -errno;
	runs++;
	*out_len = t.data_size_out;
	return t.retval;
}

/* counters summed over CPUs */
static void stats_read(struct ps_decap_stats *sum)
{
	struct ps_decap_stats v[ncpus];
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(stats_fd, &zero, v)) {
		CHECK(0, "cannot read " PS_MAP_DECAP_STATS ": %s", strerror(errno));
		return;
	}
	for (int c = 0; c < ncpus; c++)
		for (size_t i = 0; i < NSTATS; i++)
			((__u64 *)sum)[i] += ((__u64 *)&v[c])[i];
}

static const char *const stat_names[] = PS_DECAP_STAT_NAMES;
_Static_assert(ARRAY_SIZE(stat_names) == NSTATS, "a counter without a name");

/* after - before == want, counter by counter */
static void stats_expect(const struct ps_decap_stats *before,
			 const struct ps_decap_stats *want, const char *what)
{
	struct ps_decap_stats after;

	stats_read(&after);
	for (size_t i = 0; i < NSTATS; i++) {
		__u64 d = ((__u64 *)&after)[i] - ((__u64 *)before)[i];

		CHECK(d == ((__u64 *)want)[i], "%s: counter %s went up by %llu, "
		      "expected %llu", what, stat_names[i], (unsigned long long)d,
		      (unsigned long long)((__u64 *)want)[i]);
	}
}

static int addr_key(const char *s, struct ps_decap_addr *k)
{
	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET6, s, k->addr) == 1)
		return 0;
	k->addr[10] = k->addr[11] = 0xff;
	return inet_pton(AF_INET, s, k->addr + 12) == 1 ? 0 : -1;
}

/* Forget on every CPU whether ps_decap_addrs was empty. */
static void cache_flush(void)
{
	struct ps_decap_cache v[ncpus];
	__u32 zero = 0;

	memset(v, 0, sizeof(v));
	CHECK(!bpf_map_update_elem(cache_fd, &zero, v, BPF_ANY),
	      "cannot reset " PS_MAP_DECAP_CACHE ": %s", strerror(errno));
}

/* ps_decap_addrs := list (NULL terminated; NULL: empty), in effect at
 * once (the program's memory of an empty map flushed) */
static void addrs_set(const char *const *list)
{
	struct ps_decap_addr k, next;
	__u32 one = 1;

	while (!bpf_map_get_next_key(addrs_fd, NULL, &next))
		if (bpf_map_delete_elem(addrs_fd, &next)) {
			CHECK(0, "cannot empty " PS_MAP_DECAP_ADDRS ": %s",
			      strerror(errno));
			return;
		}
	for (int i = 0; list && list[i]; i++) {
		CHECK(!addr_key(list[i], &k), "bad address %s", list[i]);
		CHECK(!bpf_map_update_elem(addrs_fd, &k, &one, BPF_ANY),
		      "cannot add %s: %s", list[i], strerror(errno));
	}
	cache_flush();
}

static const char *const tunnel_addrs[] = { TUN4, TUN6, NULL };

static void addrs_default(void)
{
	addrs_set(tunnel_addrs);
}

/* ---- expectations ------------------------------------------------------ */

static const char *hexdiff(const uint8_t *a, size_t alen, const uint8_t *b,
			   size_t blen)
{
	static char s[256];
	size_t i = 0;

	while (i < alen && i < blen && a[i] == b[i])
		i++;
	if (i == alen && i == blen)
		return "equal";
	snprintf(s, sizeof(s), "%zu vs %zu bytes, first difference at %zu "
		 "(%02x vs %02x)", alen, blen, i, i < alen ? a[i] : 0,
		 i < blen ? b[i] : 0);
	return s;
}

static const char *descr(const struct pkt_opts *o)
{
	static char s[160];

	snprintf(s, sizeof(s), "inner IPv%d (proto %d) in IPv%d, %d tags, "
		 "%d option bytes", o->inner, o->l4 ? o->l4 : IPPROTO_UDP,
		 o->outer, o->vlans, o->ip_opts);
	return s;
}

/* o decapsulated to the expected frame, XDP_PASS, counted decap4/6 */
static void expect_decap_built(const struct built *b, const struct pkt_opts *o)
{
	struct ps_decap_stats before, want = {};
	uint8_t out[FRAME_MAX];
	size_t out_len;
	int v;

	stats_read(&before);
	v = run(b->f, b->len, out, &out_len);
	CHECK(v == XDP_PASS, "%s: verdict %d, expected XDP_PASS", descr(o), v);
	CHECK(out_len == b->exp_len && !memcmp(out, b->exp, out_len),
	      "%s: not the expected frame: %s", descr(o),
	      hexdiff(out, out_len, b->exp, b->exp_len));
	if (o->inner == 6)
		want.decap6 = 1;
	else
		want.decap4 = 1;
	stats_expect(&before, &want, descr(o));
}

static void expect_decap(const struct pkt_opts *o)
{
	struct built b;

	build(&b, o);
	expect_decap_built(&b, o);
}

static const struct ps_decap_stats counted_pass = { .pass = 1 };
static const struct ps_decap_stats counted_not_ours = { .pass = 1, .pass_not_ours = 1 };
static const struct ps_decap_stats counted_frag = { .pass = 1, .pass_frag = 1 };
static const struct ps_decap_stats counted_malformed = { .drop_malformed = 1 };
static const struct ps_decap_stats counted_ecn = { .drop_ecn = 1 };

/* f left as it was, XDP_PASS, counted as want */
static void expect_untouched(const uint8_t *f, size_t len,
			     const struct ps_decap_stats *want, const char *what)
{
	struct ps_decap_stats before;
	uint8_t out[FRAME_MAX];
	size_t out_len;
	int v;

	stats_read(&before);
	v = run(f, len, out, &out_len);
	CHECK(v == XDP_PASS, "%s: verdict %d, expected XDP_PASS", what, v);
	CHECK(out_len == len && !memcmp(out, f, len), "%s: frame changed: %s",
	      what, hexdiff(out, out_len, f, len));
	stats_expect(&before, want, what);
}

static void expect_drop(const uint8_t *f, size_t len,
			const struct ps_decap_stats *want, const char *what)
{
	struct ps_decap_stats before;
	uint8_t out[FRAME_MAX];
	size_t out_len;
	int v;

	stats_read(&before);
	v = run(f, len, out, &out_len);
	CHECK(v == XDP_DROP, "%s: verdict %d, expected XDP_DROP", what, v);
	stats_expect(&before, want, what);
}

/* ---- cases --------------------------------------------------------------- */

/* the object declares what decap.h says, pinned by name */
static void t_map_abi(void)
{
	struct bpf_map *a = bpf_object__find_map_by_name(obj, PS_MAP_DECAP_ADDRS);
	struct bpf_map *s = bpf_object__find_map_by_name(obj, PS_MAP_DECAP_STATS);

	CHECK(a && s, "maps %s and %s not both in the object",
	      PS_MAP_DECAP_ADDRS, PS_MAP_DECAP_STATS);
	if (!a || !s)
		return;
	CHECK_EQ(bpf_map__type(a), BPF_MAP_TYPE_HASH);
	CHECK_EQ(bpf_map__key_size(a), sizeof(struct ps_decap_addr));
	CHECK_EQ(bpf_map__value_size(a), sizeof(__u32));
	CHECK_EQ(bpf_map__max_entries(a), PS_DECAP_ADDRS_MAX);
	CHECK_EQ(bpf_map__type(s), BPF_MAP_TYPE_PERCPU_ARRAY);
	CHECK_EQ(bpf_map__key_size(s), sizeof(__u32));
	CHECK_EQ(bpf_map__value_size(s), sizeof(struct ps_decap_stats));
	CHECK_EQ(bpf_map__max_entries(s), 1);
	CHECK(addrs_pinned && stats_pinned, "maps not pinned by name "
	      "(LIBBPF_PIN_BY_NAME): ip link set ... xdp obj could not share them");
	CHECK(bpf_object__find_program_by_name(obj, "xdp_decap"),
	      "no program xdp_decap");
}

static void t_v4_in_v4(void)
{
	addrs_default();
	expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 4 });
}

static void t_v6_in_v6(void)
{
	addrs_default();
	expect_decap(&(struct pkt_opts){ .outer = 6, .inner = 6 });
}

static void t_v6_in_v4(void)
{
	addrs_default();
	expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 6 });
}

static void t_v4_in_v6(void)
{
	addrs_default();
	expect_decap(&(struct pkt_opts){ .outer = 6, .inner = 4 });
}

static void vlan_case(int vlans)
{
	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
		for (int inner = 4; inner <= 6; inner += 2)
			expect_decap(&(struct pkt_opts){ .outer = outer,
				.inner = inner, .vlans = vlans });
}

static void t_vlan1(void)
{
	vlan_case(1);
}

/* 802.1ad then 802.1Q: the 802.1Q tag's type becomes the inner family's */
static void t_vlan2(void)
{
	vlan_case(2);
}

static void t_outer_ip_options(void)
{
	static const int opts[] = { 4, 8, 20, 40 };

	addrs_default();
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		for (int vlans = 0; vlans <= 2; vlans++) {
			expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 4,
				.ip_opts = opts[i], .vlans = vlans });
			expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 6,
				.ip_opts = opts[i], .vlans = vlans });
		}
}

/* every family pair, tag count, option length and inner protocol, and
 * payloads from none to 1400 bytes */
static void t_matrix(void)
{
	static const int opts[] = { 0, 4, 40 };
	static const int l4[] = { IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP };
	static const size_t payload[] = { 1, 2, 3, 64, 1400 };

	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
	for (int inner = 4; inner <= 6; inner += 2)
	for (int vlans = 0; vlans <= 2; vlans++)
	for (size_t o = 0; o < ARRAY_SIZE(opts); o++)
	for (size_t p = 0; p < ARRAY_SIZE(l4); p++)
	for (size_t n = 0; n < ARRAY_SIZE(payload); n++) {
		if (outer == 6 && opts[o])
			continue;
		expect_decap(&(struct pkt_opts){ .outer = outer, .inner = inner,
			.vlans = vlans, .ip_opts = opts[o], .l4 = l4[p],
			.payload = payload[n] });
		if (ps_chk.failed)
			return;
	}
}

/* Ethernet padding after the outer packet, and outer payload after the
 * inner packet: kept (the stack trims to the inner IP length) */
static void t_trailing_bytes_kept(void)
{
	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
		for (int inner = 4; inner <= 6; inner += 2) {
			expect_decap(&(struct pkt_opts){ .outer = outer,
				.inner = inner, .payload = 1, .pad = 12 });
			expect_decap(&(struct pkt_opts){ .outer = outer,
				.inner = inner, .inner_extra = 7 });
		}
}

/* IP-in-IP in IP-in-IP: one layer comes off */
static void t_nested(void)
{
	struct built in;

	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
		for (int mid = 4; mid <= 6; mid += 2) {
			build(&in, &(struct pkt_opts){ .outer = mid, .inner = 4 });
			expect_decap(&(struct pkt_opts){ .outer = outer,
				.inner = mid, .inner_pkt = in.f + in.l3,
				.inner_pkt_len = in.len - in.l3 });
		}
}

/* the map lists other addresses: untouched, counted as not ours */
static void t_not_in_map(void)
{
	struct built b;

	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
		for (int inner = 4; inner <= 6; inner += 2)
			for (int vlans = 0; vlans <= 2; vlans++) {
				build(&b, &(struct pkt_opts){ .outer = outer,
					.inner = inner, .vlans = vlans,
					.odst = outer == 6 ? "2001:2::99" : "198.18.0.99" });
				expect_untouched(b.f, b.len, &counted_not_ours,
						 "unlisted destination");
			}
}

/* IPv4 keys are ::ffff:a.b.c.d; families do not mix */
static void t_map_keys(void)
{
	static const char *const only4[] = { "198.18.0.7", NULL };
	static const char *const only6[] = { "2001:2::7", NULL };
	struct built b;

	addrs_set(only4);
	expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 4, .odst = "198.18.0.7" });
	build(&b, &(struct pkt_opts){ .outer = 4, .inner = 4 });
	expect_untouched(b.f, b.len, &counted_not_ours, "IPv4 to 198.18.0.1");
	build(&b, &(struct pkt_opts){ .outer = 6, .inner = 4 });
	expect_untouched(b.f, b.len, &counted_not_ours, "IPv6 with only IPv4 listed");

	addrs_set(only6);
	expect_decap(&(struct pkt_opts){ .outer = 6, .inner = 6, .odst = "2001:2::7" });
	build(&b, &(struct pkt_opts){ .outer = 4, .inner = 4, .odst = "198.18.0.7" });
	expect_untouched(b.f, b.len, &counted_not_ours, "IPv4 with only IPv6 listed");
	/* an IPv4-mapped IPv6 destination is no IPv6 tunnel address (it has
	 * no business on the wire), listed in IPv4 form or not */
	addrs_set(only4);
	build(&b, &(struct pkt_opts){ .outer = 6, .inner = 6, .odst = "::ffff:198.18.0.7" });
	expect_untouched(b.f, b.len, &counted_pass, "IPv4-mapped IPv6 destination");
	addrs_set(NULL);
	expect_untouched(b.f, b.len, &counted_pass, "IPv4-mapped, empty map");
	addrs_default();
}

/* empty map: every IP-in-IP packet is decapsulated, whatever its
 * destination; the rest still passes untouched */
static void t_empty_map_decaps_all(void)
{
	static const char *const dst4[] = { TUN4, "198.18.0.99", "203.0.113.5" };
	static const char *const dst6[] = { TUN6, "2001:2::99", "2001:db8::5" };
	struct built b;

	addrs_set(NULL);
	for (size_t i = 0; i < ARRAY_SIZE(dst4); i++)
		for (int inner = 4; inner <= 6; inner += 2) {
			expect_decap(&(struct pkt_opts){ .outer = 4, .inner = inner,
				.odst = dst4[i], .vlans = i });
			expect_decap(&(struct pkt_opts){ .outer = 6, .inner = inner,
				.odst = dst6[i], .vlans = i });
		}
	build(&b, &(struct pkt_opts){ .inner = 4 });
	expect_untouched(b.f, b.len, &counted_pass, "plain UDP, empty map");
	build(&b, &(struct pkt_opts){ .outer = 4, .inner = 4, .frag = 0x2000 });
	ip4_fix(&b);
	expect_untouched(b.f, b.len, &counted_frag, "fragment, empty map");
	/* and with one entry again, only that one */
	addrs_default();
	build(&b, &(struct pkt_opts){ .outer = 4, .inner = 4, .odst = "198.18.0.99" });
	expect_untouched(b.f, b.len, &counted_not_ours, "map refilled");
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Whether the map is empty is remembered per CPU for
 * PS_DECAP_EMPTY_TTL_MS after a lookup miss looked; a listed address
 * takes effect at once regardless.
 */
static void t_empty_map_remembered(void)
{
	struct ps_decap_cache v[ncpus];
	struct ps_decap_addr k;
	struct built b;
	uint64_t t0, t1;
	__u32 zero = 0, one = 1;
	int cpu = -1;

	addrs_set(NULL);
	t0 = coarse_ns();
	expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 4, .odst = "198.18.0.99" });
	t1 = coarse_ns();
	/* the CPU that ran it (main() keeps us on one) remembers "empty"
	 * until then + TTL */
	CHECK(!bpf_map_lookup_elem(cache_fd, &zero, v), "cannot read the cache");
	for (int c = 0; c < ncpus; c++)
		if (v[c].until_ns) {
			CHECK(cpu < 0, "two CPUs remember");
			cpu = c;
		}
	CHECK(cpu >= 0, "no CPU remembers the empty map");
	if (cpu < 0)
		return;
	CHECK(v[cpu].empty == 1, "remembered as not empty");
	CHECK(v[cpu].until_ns >= t0 + PS_DECAP_EMPTY_TTL_MS * 1000000ULL &&
	      v[cpu].until_ns <= t1 + PS_DECAP_EMPTY_TTL_MS * 1000000ULL,
	      "remembered until %llu, expected %llu ms after %llu..%llu",
	      (unsigned long long)v[cpu].until_ns, (unsigned long long)PS_DECAP_EMPTY_TTL_MS,
	      (unsigned long long)t0, (unsigned long long)t1);

	/* the first address, added behind the program's back: listed at
	 * once, the rest still decapsulated as long as remembered */
	addr_key(TUN4, &k);
	CHECK(!bpf_map_update_elem(addrs_fd, &k, &one, BPF_ANY), "cannot add");
	expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 4 });
	build(&b, &(struct pkt_opts){ .outer = 4, .inner = 6, .odst = "198.18.0.99" });
	if (coarse_ns() + 1000000 < v[cpu].until_ns)
		expect_decap_built(&b, &(struct pkt_opts){ .outer = 4, .inner = 6 });
	/* forgotten: looked at again */
	cache_flush();
	expect_untouched(b.f, b.len, &counted_not_ours, "after the cache expired");
	addrs_default();
}

/* Traffic that is not IP-in-IP, with the map filled and empty */
static void non_ipip(void)
{
	static const int l4[] = { IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP };
	struct built b;
	uint8_t arp[64];

	for (int fam = 4; fam <= 6; fam += 2)
		for (int vlans = 0; vlans <= 3; vlans++)
			for (size_t p = 0; p < ARRAY_SIZE(l4); p++) {
				build(&b, &(struct pkt_opts){ .inner = fam,
					.vlans = vlans, .l4 = l4[p] });
				expect_untouched(b.f, b.len, &counted_pass,
						 "plain IP");
			}
	/* ARP request, padded to 60 bytes */
	memset(arp, 0, sizeof(arp));
	memset(arp, 0xff, 6);
	memcpy(arp + 6, mac_src, 6);
	put16(arp + 12, ETHERTYPE_ARP);
	put16(arp + 14, 1);
	put16(arp + 16, ETHERTYPE_IP);
	arp[18] = 6;
	arp[19] = 4;
	put16(arp + 20, 1);
	memcpy(arp + 22, mac_src, 6);
	addr_parse(4, LB4, arp + 28);
	addr_parse(4, TUN4, arp + 38);
	expect_untouched(arp, 60, &counted_pass, "ARP");
	/* GRE (47) to the tunnel address: not ours to strip */
	build(&b, &(struct pkt_opts){ .outer = 4, .inner = 4 });
	b.f[b.l3 + 9] = 47;
	ip4_fix(&b);
	expect_untouched(b.f, b.len, &counted_pass, "GRE");
	build(&b, &(struct pkt_opts){ .outer = 6, .inner = 6 });
	b.f[b.l3 + 6] = 47;
	expect_untouched(b.f, b.len, &counted_pass, "GRE over IPv6");
	/* three VLAN tags: beyond the parser */
	for (int outer = 4; outer <= 6; outer += 2) {
		build(&b, &(struct pkt_opts){ .outer = outer, .inner = 4, .vlans = 3 });
		expect_untouched(b.f, b.len, &counted_pass, "three tags");
	}
}

static void t_non_ipip(void)
{
	addrs_default();
	non_ipip();
}

static void t_non_ipip_empty_map(void)
{
	addrs_set(NULL);
	non_ipip();
	addrs_default();
}

/* outer IPv4 fragments pass untouched (counted); DF alone is no fragment */
static void t_outer_fragments(void)
{
	static const uint16_t frag[] = { 0x2000, 0x0001, 0x2001, 0x1fff, 0x6000,
					 0x4001 };
	struct built b;

	addrs_default();
	for (size_t i = 0; i < ARRAY_SIZE(frag); i++)
		for (int inner = 4; inner <= 6; inner += 2) {
			build(&b, &(struct pkt_opts){ .outer = 4, .inner = inner,
				.frag = frag[i], .ip_opts = 8 * (int)i });
			expect_untouched(b.f, b.len, &counted_frag, "fragment");
		}
	expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 4, .frag = 0x4000 });
	expect_decap(&(struct pkt_opts){ .outer = 4, .inner = 6, .frag = 0x4000 });
}

/* outer IPv6 with an extension header before the inner packet */
static void t_ipv6_ext_headers(void)
{
	static const int ext[] = { 0, 60, 44, 43 };
	struct built b;

	for (int empty = 0; empty <= 1; empty++) {
		addrs_set(empty ? NULL : tunnel_addrs);
		for (size_t i = 0; i < ARRAY_SIZE(ext); i++)
			for (int inner = 4; inner <= 6; inner += 2) {
				build(&b, &(struct pkt_opts){ .outer = 6,
					.inner = inner, .v6_ext = 1,
					.v6_ext_type = ext[i] });
				expect_untouched(b.f, b.len, &counted_pass,
						 "IPv6 extension header");
			}
	}
	addrs_default();
}

/* an invalid outer header is left to the stack, untouched */
static void t_bad_outer(void)
{
	struct built b;

	addrs_default();
	for (int inner = 4; inner <= 6; inner += 2) {
		const struct pkt_opts o4 = { .outer = 4, .inner = inner, .ip_opts = 4 };
		const struct pkt_opts o6 = { .outer = 6, .inner = inner };

		build(&b, &o4);
		b.f[b.l3 + 10] ^= 0x01;
		expect_untouched(b.f, b.len, &counted_pass, "bad IPv4 checksum");
		build(&b, &o4);
		b.f[b.l3 + 21] ^= 0x80;		/* in the options */
		expect_untouched(b.f, b.len, &counted_pass, "bad checksum (options)");
		build(&b, &o4);
		put16(b.f + b.l3 + 2, b.len - b.l3 + 1);
		ip4_fix(&b);
		expect_untouched(b.f, b.len, &counted_pass, "outer length past the frame");
		build(&b, &o4);
		put16(b.f + b.l3 + 2, 23);
		ip4_fix(&b);
		expect_untouched(b.f, b.len, &counted_pass, "outer length < IHL");
		build(&b, &o4);
		b.f[b.l3] = 0x44;
		ip4_fix(&b);
		expect_untouched(b.f, b.len, &counted_pass, "IHL 4");
		build(&b, &o4);
		b.f[b.l3] = 0x66;
		ip4_fix(&b);
		expect_untouched(b.f, b.len, &counted_pass, "version 6 in IPv4 ethertype");

		build(&b, &o6);
		put16(b.f + b.l3 + 4, b.len - b.l3 - 40 + 1);
		expect_untouched(b.f, b.len, &counted_pass, "IPv6 length past the frame");
		build(&b, &o6);
		b.f[b.l3] = 0x40 | (b.f[b.l3] & 0xf);
		expect_untouched(b.f, b.len, &counted_pass, "version 4 in IPv6 ethertype");
	}
}

/* inner headers that are truncated or lie, in a valid outer packet */
static void t_lying_inner(void)
{
	struct built b;

	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
	for (int vlans = 0; vlans <= 2; vlans++) {
		const struct pkt_opts o4 = { .outer = outer, .inner = 4, .vlans = vlans };
		const struct pkt_opts o6 = { .outer = outer, .inner = 6, .vlans = vlans };
		uint8_t *in;

#define INNER_DROP(o, edit, what) do {					\
		build(&b, &(o));					\
		in = b.f + b.inner_off;					\
		edit;							\
		if (outer == 4)						\
			ip4_fix(&b);					\
		expect_drop(b.f, b.len, &counted_malformed, what);	\
	} while (0)

		INNER_DROP(o4, in[0] = 0x65, "inner version 6 under protocol 4");
		INNER_DROP(o4, in[0] = 0x55, "inner version 5");
		INNER_DROP(o4, in[0] = 0x44, "inner IHL 4");
		INNER_DROP(o4, in[0] = 0x40, "inner IHL 0");
		INNER_DROP(o4, put16(in + 2, b.inner_len + 1), "inner length + 1");
		INNER_DROP(o4, put16(in + 2, 0xffff), "inner length 65535");
		INNER_DROP(o4, put16(in + 2, 19), "inner length < IHL");
		INNER_DROP(o4, (in[0] = 0x4f, put16(in + 2, 56)),
			   "inner IHL 15, length 56");
		INNER_DROP(o6, in[0] = 0x40 | (in[0] & 0xf), "inner version 4 under 41");
		INNER_DROP(o6, in[0] = 0x00, "inner version 0");
		INNER_DROP(o6, put16(in + 4, b.inner_len - 40 + 1), "inner payload + 1");
		INNER_DROP(o6, put16(in + 4, 0xffff), "inner payload 65535");
#undef INNER_DROP
		/* the outer protocol says one family, the inner is the other */
		build(&b, &o4);
		if (outer == 4) {
			b.f[b.l3 + 9] = IPPROTO_IPV6;
			ip4_fix(&b);
		} else {
			b.f[b.l3 + 6] = IPPROTO_IPV6;
		}
		expect_drop(b.f, b.len, &counted_malformed, "IPv4 under protocol 41");
		build(&b, &o6);
		if (outer == 4) {
			b.f[b.l3 + 9] = IPPROTO_IPIP;
			ip4_fix(&b);
		} else {
			b.f[b.l3 + 6] = IPPROTO_IPIP;
		}
		expect_drop(b.f, b.len, &counted_malformed, "IPv6 under protocol 4");
	}
}

/*
 * Every truncation of every kind of frame: never anything but an
 * untouched XDP_PASS or an XDP_DROP, each counted once.  The kernel does
 * not run XDP on frames shorter than an Ethernet header (BPF_PROG_TEST_RUN
 * refuses them with EINVAL).  The outer length fields are the full
 * packet's: the outer header lies, so all pass untouched.
 */
static void t_truncated_frames(void)
{
	static const int opts[] = { 0, 4, 40 };
	struct built b;
	uint8_t out[FRAME_MAX];

	for (int empty = 0; empty <= 1; empty++) {
		addrs_set(empty ? NULL : tunnel_addrs);
		for (int outer = 4; outer <= 6; outer += 2)
		for (int inner = 4; inner <= 6; inner += 2)
		for (int vlans = 0; vlans <= 2; vlans++)
		for (size_t o = 0; o < ARRAY_SIZE(opts); o++) {
			const struct pkt_opts po = { .outer = outer, .inner = inner,
				.vlans = vlans, .ip_opts = outer == 4 ? opts[o] : 0,
				.payload = 3 };

			if (outer == 6 && o)
				continue;
			build(&b, &po);
			for (size_t len = 0; len < b.len; len++) {
				struct ps_decap_stats before;
				size_t out_len;
				int v;

				stats_read(&before);
				v = run(b.f, len, out, &out_len);
				if (len < 14) {
					CHECK(v == -EINVAL, "%zu bytes: %d", len, v);
					continue;
				}
				CHECK(v == XDP_PASS, "%s, %zu of %zu bytes: verdict %d",
				      descr(&po), len, b.len, v);
				CHECK(out_len == len && !memcmp(out, b.f, len),
				      "%s, %zu bytes: frame changed", descr(&po), len);
				stats_expect(&before, &counted_pass, "truncated");
				if (ps_chk.failed)
					return;
			}
			expect_decap_built(&b, &po);
		}
	}
	addrs_default();
}

/*
 * The same truncations, with the outer length fields (and checksum) made
 * to agree: the outer header is then valid as soon as it is complete and
 * the inner header is the one that is short: XDP_DROP, counted.
 */
static void t_truncated_inner(void)
{
	static const int opts[] = { 0, 4, 40 };
	struct built b, t;

	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
	for (int inner = 4; inner <= 6; inner += 2)
	for (int vlans = 0; vlans <= 2; vlans++)
	for (size_t o = 0; o < ARRAY_SIZE(opts); o++) {
		const struct pkt_opts po = { .outer = outer, .inner = inner,
			.vlans = vlans, .ip_opts = outer == 4 ? opts[o] : 0,
			.payload = 5 };

		if (outer == 6 && o)
			continue;
		build(&b, &po);
		for (size_t len = 14; len < b.len; len++) {
			int complete = len >= b.l3 + b.olen;

			t = b;
			if (outer == 4 && len >= b.l3 + 4) {
				put16(t.f + t.l3 + 2, len - t.l3);
				if (len >= t.l3 + t.olen)
					ip4_fix(&t);
			} else if (outer == 6 && complete) {
				put16(t.f + t.l3 + 4, len - t.l3 - 40);
			}
			if (!complete) {
				expect_untouched(t.f, len, &counted_pass,
						 "outer header incomplete");
			} else {
				char what[256];

				snprintf(what, sizeof(what), "%s, %zu of %zu bytes",
					 descr(&po), len, b.len);
				expect_drop(t.f, len, &counted_malformed, what);
			}
			if (ps_chk.failed)
				return;
		}
		expect_decap_built(&b, &po);
	}
}

/* RFC 6040 decapsulation: outer CE marks an ECT inner packet CE; over a
 * Not-ECT inner packet it is a drop; nothing else changes the inner */
static void t_ecn(void)
{
	struct built b, want;

	addrs_default();
	for (int outer = 4; outer <= 6; outer += 2)
	for (int inner = 4; inner <= 6; inner += 2)
	for (int ecn_out = 0; ecn_out < 4; ecn_out++)
	for (int ecn_in = 0; ecn_in < 4; ecn_in++) {
		struct pkt_opts o = { .outer = outer, .inner = inner,
			.vlans = 1, .ecn_out = ecn_out, .ecn_in = ecn_in };

		build(&b, &o);
		if (ecn_out == 3 && ecn_in == 0) {
			expect_drop(b.f, b.len, &counted_ecn, "CE over Not-ECT");
			continue;
		}
		/* the expected inner packet: built with CE, its checksum
		 * computed from scratch */
		if (ecn_out == 3)
			o.ecn_in = 3;
		build(&want, &o);
		memcpy(b.exp, want.exp, want.exp_len);
		b.exp_len = want.exp_len;
		expect_decap_built(&b, &o);
	}
}

/* each frame counts once: the counters add up to the runs made */
static void t_counters_add_up(void)
{
	struct ps_decap_stats s;

	stats_read(&s);
	CHECK(s.decap4 + s.decap6 + s.pass + s.drop_malformed + s.drop_ecn == runs,
	      "counters sum to %llu, %llu frames were run",
	      (unsigned long long)(s.decap4 + s.decap6 + s.pass +
				   s.drop_malformed + s.drop_ecn), runs);
	CHECK(s.pass_frag + s.pass_not_ours <= s.pass, "subsets exceed pass");
	CHECK(s.decap4 && s.decap6 && s.pass && s.pass_frag && s.pass_not_ours &&
	      s.drop_malformed && s.drop_ecn, "a counter never moved");
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "map_abi", t_map_abi },
	{ "v4_in_v4", t_v4_in_v4 },
	{ "v6_in_v6", t_v6_in_v6 },
	{ "v6_in_v4", t_v6_in_v4 },
	{ "v4_in_v6", t_v4_in_v6 },
	{ "vlan1", t_vlan1 },
	{ "vlan2", t_vlan2 },
	{ "outer_ip_options", t_outer_ip_options },
	{ "matrix", t_matrix },
	{ "trailing_bytes_kept", t_trailing_bytes_kept },
	{ "nested", t_nested },
	{ "not_in_map", t_not_in_map },
	{ "map_keys", t_map_keys },
	{ "empty_map_decaps_all", t_empty_map_decaps_all },
	{ "empty_map_remembered", t_empty_map_remembered },
	{ "non_ipip", t_non_ipip },
	{ "non_ipip_empty_map", t_non_ipip_empty_map },
	{ "outer_fragments", t_outer_fragments },
	{ "ipv6_ext_headers", t_ipv6_ext_headers },
	{ "bad_outer", t_bad_outer },
	{ "lying_inner", t_lying_inner },
	{ "truncated_frames", t_truncated_frames },
	{ "truncated_inner", t_truncated_inner },
	{ "ecn", t_ecn },
	{ "counters_add_up", t_counters_add_up },
};

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int setup(void)
{
	const char *env = getenv("DECAP_OBJ");
	struct bpf_program *prog;
	struct bpf_map *map;
	char exe[PATH_MAX];
	ssize_t n;
	int err;

	if (env) {
		snprintf(obj_path, sizeof(obj_path), "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			return -1;
		exe[n] = 0;
		*strrchr(exe, '/') = 0;		/* OUT/tests */
		snprintf(obj_path, sizeof(obj_path), "%s/../bpf/decap.bpf.o", exe);
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		fprintf(stderr, "%s: %s\n", obj_path, strerror(errno));
		return -1;
	}
	/* nothing pinned: tests never touch a running backend's maps */
	bpf_object__for_each_map(map, obj) {
		const char *pin = bpf_map__pin_path(map);
		int by_name = pin && strstr(pin, bpf_map__name(map));

		if (!strcmp(bpf_map__name(map), PS_MAP_DECAP_ADDRS))
			addrs_pinned = by_name;
		if (!strcmp(bpf_map__name(map), PS_MAP_DECAP_STATS))
			stats_pinned = by_name;
		bpf_map__set_pin_path(map, NULL);
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", obj_path, strerror(-err));
		return -1;
	}
	prog = bpf_object__find_program_by_name(obj, "xdp_decap");
	map = bpf_object__find_map_by_name(obj, PS_MAP_DECAP_ADDRS);
	addrs_fd = map ? bpf_map__fd(map) : -1;
	map = bpf_object__find_map_by_name(obj, PS_MAP_DECAP_STATS);
	stats_fd = map ? bpf_map__fd(map) : -1;
	map = bpf_object__find_map_by_name(obj, PS_MAP_DECAP_CACHE);
	cache_fd = map ? bpf_map__fd(map) : -1;
	prog_fd = prog ? bpf_program__fd(prog) : -1;
	ncpus = libbpf_num_possible_cpus();
	if (prog_fd < 0 || addrs_fd < 0 || stats_fd < 0 || cache_fd < 0 ||
	    ncpus <= 0) {
		fprintf(stderr, "%s: program or maps missing\n", obj_path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		check_skip("decap_packets", "needs root for BPF_PROG_TEST_RUN");
		return 0;
	}
	/* one CPU: what the program remembers per CPU stays where we look */
	if (sched_getcpu() >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(sched_getcpu(), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	if (setup()) {
		printf("FAIL decap_packets_setup: could not load the program\n");
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[128];

		/* the sum check needs every case to have run */
		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		if (argc > 1 && cases[i].fn == t_counters_add_up)
			continue;
		snprintf(name, sizeof(name), "decap_packet_%s", cases[i].name);
		check_begin(name);
		cases[i].fn();
		check_end();
	}
	bpf_object__close(obj);
	return ps_chk.nfail ? 1 : 0;
}
