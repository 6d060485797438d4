// SPDX-License-Identifier: GPL-2.0-only
/*
 * ps_answer() (user/lib/answer.c) against the real XDP program: the same
 * maps, filled from the config below by the code steerd uses, answer the
 * same queries.  Whatever XDP answers (XDP_TX), the userspace UDP reply
 * must be the same DNS message byte for byte; over TCP it must be that
 * message again, or the complete one where UDP truncated.  What XDP
 * passes to the stack is answered in userspace and checked with ldns.
 * A fixed-seed fuzz loop ends the run.
 *
 *   answer_parity [FILTER]      only cases whose name has FILTER
 *   PS_FUZZ_ITERS=N             fuzz iterations (default 200000)
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <ldns/ldns.h>

#include "check.h"
#include "dnsmsg.h"
#include "pkt.h"
#include <popsteer/hash.h>

#include "maps.h"
#include "answer.h"

CHECK_DEFINE;

#define XDP_PASS 2
#define XDP_TX 3

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define LONG_NS(n) "\"ns" #n ".abcdefghijklmnopqrstuvwxyz01.provider.example\""
#define L40A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L40B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define L63A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L63B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define L50C "cccccccccccccccccccccccccccccccccccccccccccccccccc"
/* wire names of 96 (key class 128) and 193 (key class 256) bytes */
#define NAME_L	L40A "." L40B ".shop.example"
#define NAME_X	L63A "." L63B "." L50C ".shop.example"

#define ZONE_SOA(apex, min)					\
	"    soa = { mname = \"ns1." apex "\"; rname = \"h." apex "\";"	\
	" minimum = " #min "; };\n"

static const char *config_fmt =
	"interfaces = [ \"test0\" ];\n"
	"dns = { listen = [ \"198.18.0.1\", \"2001:2::1\" ]; %s };\n"
	"zones = (\n"
	"  { name = \"shop.example\"; ttl = 3600;\n"
	"    soa = { mname = \"ns1.shop.example\"; rname = \"hostmaster.shop.example\";\n"
	"            serial = 2026112501; refresh = 7200; retry = 900; expire = 1209600; minimum = 300; };\n"
	"    ns = [ \"ns1.shop.example\", \"ns2.dns.example\" ]; },\n"
	"  { name = \"sub.shop.example\"; ttl = 100;\n"
	ZONE_SOA("sub.shop.example", 50)
	"    ns = [ \"ns1.sub.shop.example\" ]; },\n"
	"  { name = \"x.y.shop.example\"; ttl = 200;\n"
	ZONE_SOA("x.y.shop.example", 20)
	"    ns = [ \"ns1.x.y.shop.example\", \"ns1.shop.example\" ]; },\n"
	"  { name = \"big.example\"; ttl = 60;\n"
	ZONE_SOA("big.example", 600)
	"    ns = [ " LONG_NS(1) ", " LONG_NS(2) ", " LONG_NS(3) ", " LONG_NS(4) ",\n"
	"           " LONG_NS(5) ", " LONG_NS(6) ", " LONG_NS(7) ", " LONG_NS(8) " ]; }\n"
	");\n"
	"pools = (\n"
	"  { name = \"origins\"; answers = 1; ttl = 30;\n"
	"    servers = ( { address = \"198.18.1.10\"; }, { address = \"198.18.1.11\"; },\n"
	"                { address = \"2001:2:1::10\"; } ); },\n"
	"  { name = \"multi\"; answers = 3; ttl = 45;\n"
	"    servers = ( { address = \"198.18.2.1\"; }, { address = \"198.18.2.2\"; },\n"
	"                { address = \"198.18.2.3\"; }, { address = \"198.18.2.4\"; } ); },\n"
	"  { name = \"v4only\"; servers = ( { address = \"198.18.3.1\"; } ); },\n"
	"  { name = \"v6only\"; servers = ( { address = \"2001:2:3::1\"; } ); },\n"
	"  { name = \"weighted\";\n"
	"    servers = ( { address = \"198.18.4.1\"; weight = 1; },\n"
	"                { address = \"198.18.4.2\"; weight = 3; } ); },\n"
	"  { name = \"sticky\"; select = \"hash\";\n"
	"    servers = ( { address = \"198.18.5.1\"; }, { address = \"198.18.5.2\"; },\n"
	"                { address = \"198.18.5.3\"; }, { address = \"198.18.5.4\"; },\n"
	"                { address = \"2001:2:5::1\"; }, { address = \"2001:2:5::2\"; },\n"
	"                { address = \"2001:2:5::3\"; }, { address = \"2001:2:5::4\"; } ); },\n"
	"  { name = \"sticky2\"; select = \"hash\"; answers = 2; hash_prefix4 = 32; hash_prefix6 = 64;\n"
	"    servers = ( { address = \"198.18.7.1\"; }, { address = \"198.18.7.2\"; },\n"
	"                { address = \"198.18.7.3\"; }, { address = \"2001:2:7::1\"; },\n"
	"                { address = \"2001:2:7::2\"; }, { address = \"2001:2:7::3\"; } ); },\n"
	"  { name = \"single\"; ttl = 1;\n"
	"    servers = ( { address = \"198.18.6.1\"; }, { address = \"2001:2:6::1\"; } ); },\n"
	"  { name = \"many\"; answers = 8;\n"
	"    servers = ( { address = \"198.18.8.1\"; }, { address = \"198.18.8.2\"; },\n"
	"                { address = \"198.18.8.3\"; }, { address = \"198.18.8.4\"; },\n"
	"                { address = \"198.18.8.5\"; }, { address = \"198.18.8.6\"; },\n"
	"                { address = \"198.18.8.7\"; }, { address = \"198.18.8.8\"; },\n"
	"                { address = \"198.18.8.9\"; },\n"
	"                { address = \"2001:2:8::1\"; }, { address = \"2001:2:8::2\"; },\n"
	"                { address = \"2001:2:8::3\"; }, { address = \"2001:2:8::4\"; },\n"
	"                { address = \"2001:2:8::5\"; }, { address = \"2001:2:8::6\"; },\n"
	"                { address = \"2001:2:8::7\"; }, { address = \"2001:2:8::8\"; } ); }\n"
	");\n"
	"names = (\n"
	"  { name = \"www.shop.example\"; pool = \"origins\"; ttl = 20; },\n"
	"  { name = \"shop.example\"; pool = \"origins\"; },\n"
	"  { name = \"multi.shop.example\"; pool = \"multi\"; },\n"
	"  { name = \"v4.shop.example\"; pool = \"v4only\"; },\n"
	"  { name = \"zz9.shop.example\"; pool = \"v4only\"; },\n"
	"  { name = \"v6.shop.example\"; pool = \"v6only\"; },\n"
	"  { name = \"weighted.shop.example\"; pool = \"weighted\"; },\n"
	"  { name = \"sticky.shop.example\"; pool = \"sticky\"; },\n"
	"  { name = \"sticky2.shop.example\"; pool = \"sticky2\"; },\n"
	"  { name = \"single.shop.example\"; pool = \"single\"; },\n"
	"  { name = \"many.shop.example\"; pool = \"many\"; ttl = 86400; },\n"
	"  { name = \"deep.a.b.shop.example\"; pool = \"origins\"; },\n"
	"  { name = \"a.b.c.d.e.f.g.h.shop.example\"; pool = \"v4only\"; },\n"
	"  { name = \"" NAME_L "\"; pool = \"single\"; },\n"
	"  { name = \"" NAME_X "\"; pool = \"single\"; ttl = 7; },\n"
	"  { name = \"www.sub.shop.example\"; pool = \"origins\"; },\n"
	"  { name = \"www.x.y.shop.example\"; pool = \"sticky\"; }\n"
	");\n";

static struct ps_prog prog;

/* ---- queries -------------------------------------------------------- */

/* OPT, size 1232, version 0, no options */
#define OPT_PLAIN	"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
/* TSIG owned by key.example (pointer-free), hmac-sha256, 32-byte MAC */
#define TSIG_RR		"\x03key\x07" "example\x00" "\x00\xfa\x00\xff\x00\x00\x00\x00" \
			"\x00\x3d" "\x0bhmac-sha256\x00" "\x00\x00\x65\x00\x00\x00\x01\x2c" \
			"\x00\x20" "0123456789abcdef0123456789abcdef" "\x42\x42\x00\x00\x00\x00"

/* ---- the two answerers ------------------------------------------------ */

static const struct frame_opts v4 = { .family = 4 };
static const struct frame_opts v6 = { .family = 6 };

static const char *src_of(const struct frame_opts *o)
{
	return o->src ? o->src : o->family == 6 ? "2001:2::2" : "198.18.0.2";
}

/* the client as steerd's socket would report it */
static void client_of(const struct frame_opts *o, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (o->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(40000);
		inet_pton(AF_INET6, src_of(o), &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(40000);
		inet_pton(AF_INET, src_of(o), &s4->sin_addr);
	}
}

struct xdp_reply {
	int verdict;
	uint8_t in[FRAME_MAX], out[FRAME_MAX];
	size_t in_len, out_len;
	const uint8_t *dns;
	int dns_len;
};

/* XDP's verdict on msg; on XDP_TX the reply frame is checked and
 * x->dns points at the DNS message. */
static void xdp_answer(struct xdp_reply *x, const struct frame_opts *o,
		       const uint8_t *msg, size_t len)
{
	char why[256];

	x->in_len = frame_build(x->in, o, msg, len);
	x->verdict = prog_run(&prog, x->in, x->in_len, x->out, &x->out_len);
	x->dns = NULL;
	x->dns_len = -1;
	if (x->verdict != XDP_TX)
		return;
	x->dns_len = reply_check(x->in, x->in_len, o, x->out, x->out_len,
				 &x->dns, why, sizeof(why));
	CHECK(x->dns_len > 0, "XDP reply frame: %s", why);
}

/* The random source handed to ps_answer: one fixed slot, calls counted. */
struct pick {
	uint32_t slot;
	int calls;
};

static uint32_t pick_rand(void *arg)
{
	struct pick *p = arg;

	p->calls++;
	return p->slot;
}

/* ps_answer on a heap copy of exactly len bytes, so that valgrind sees a
 * read past the message. */
static int user_answer(const struct frame_opts *o, const uint8_t *msg,
		       size_t len, int tcp, struct pick *p, uint8_t *out,
		       size_t cap)
{
	struct ps_answer_opts opts = { .rand32 = pick_rand, .rand_arg = p };
	struct sockaddr_storage ss;
	uint8_t *q = malloc(len ? len : 1);
	int rc;

	memcpy(q, msg, len);
	client_of(o, &ss);
	p->calls = 0;
	rc = ps_answer_ex(prog.maps, &opts, q, len, (struct sockaddr *)&ss,
			  tcp, out, cap);
	free(q);
	return rc;
}

/* ---- the slot an XDP reply reveals -------------------------------------- */

static struct ps_sel *sels;	/* active table of each pool slot */

static void load_sels(void)
{
	for (__u32 i = 0; i < PS_MAX_POOLS; i++) {
		__u32 idx = PS_GEN_POOL(i), gen, key;

		if (bpf_map_lookup_elem(prog.maps->gen, &idx, &gen))
			exit(2);
		key = PS_BUF(i, gen);
		if (bpf_map_lookup_elem(prog.maps->sel, &key, &sels[i]))
			exit(2);
	}
}

/*
 * A slot of a random pool whose answer set is the A/AAAA records of the
 * reply, in order; -1 if none.  Pool addresses are distinct in the config,
 * so the pool is the one the name uses.
 */
static int reveal_slot(const uint8_t *dns, int len)
{
	size_t qend, rrlen, alen;
	int an, v6;

	if (len < 12)
		return -1;
	an = get16(dns + H_AN);
	qend = question_end(dns);
	if (an == 0 || (size_t)len < qend + 16)
		return -1;
	v6 = get16(dns + qend + 2) == LDNS_RR_TYPE_AAAA;
	if (!v6 && get16(dns + qend + 2) != LDNS_RR_TYPE_A)
		return -1;
	rrlen = v6 ? 28 : 16;
	alen = v6 ? 16 : 4;
	if ((size_t)len < qend + an * rrlen)
		return -1;
	for (int p = 0; p < PS_MAX_POOLS; p++) {
		const struct ps_sel *s = &sels[p];

		if (s->mode != PS_SEL_RANDOM || (v6 ? s->a6 : s->a4) != an)
			continue;
		for (int slot = 0; slot < PS_SEL_SLOTS; slot++) {
			int i;

			for (i = 0; i < an; i++) {
				const uint8_t *want = dns + qend + i * rrlen + 12;
				int idx = (v6 ? s->slot6 : s->slot4)[slot][i] &
					  (PS_POOL_SERVERS_MAX - 1);
				const void *have = v6 ? (const void *)s->addr6[idx]
						      : (const void *)&s->addr4[idx];

				if (memcmp(want, have, alen))
					break;
			}
			if (i == an)
				return slot;
		}
	}
	return -1;
}

/* ---- parity ----------------------------------------------------------- */

/* run mode of the parity cases: UDP against XDP, or TCP against UDP */
static int tcp_mode;
static int parity_count;

static void first_diff(const uint8_t *a, int alen, const uint8_t *b, int blen,
		       char *buf, size_t len)
{
	int n = alen < blen ? alen : blen, i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	if (i < n)
		snprintf(buf, len, "first difference at byte %d: 0x%02x vs 0x%02x",
			 i, a[i], b[i]);
	else
		snprintf(buf, len, "lengths %d vs %d", alen, blen);
}

static int ldns_ok(const uint8_t *dns, int len, ldns_pkt **out)
{
	ldns_pkt *p = NULL;
	int ok = len > 0 && ldns_wire2pkt(&p, dns, len) == LDNS_STATUS_OK;

	if (out && ok)
		*out = p;
	else if (p)
		ldns_pkt_free(p);
	return ok;
}

/*
 * The core of every parity case.  tc_an: 0 the reply fits UDP; N > 0 XDP
 * truncates it over UDP and TCP carries all N answer records.
 * UDP mode: XDP answers, and ps_answer over UDP with the slot the XDP
 * reply reveals gives the same bytes.  TCP mode: ps_answer over TCP gives
 * the UDP bytes again, or the complete answer where UDP truncated.
 */
static void compare(const struct frame_opts *o, const uint8_t *msg, size_t len,
		    int tc_an)
{
	static struct xdp_reply x;
	uint8_t udp[PS_ANSWER_MAX], tcp[PS_ANSWER_MAX];
	struct pick p = { 0 };
	char diff[128];
	int slot, urc, trc;

	xdp_answer(&x, o, msg, len);
	CHECK_EQ(x.verdict, XDP_TX);
	if (x.dns_len <= 0)
		return;
	slot = reveal_slot(x.dns, x.dns_len);
	p.slot = slot < 0 ? 0 : slot;
	urc = user_answer(o, msg, len, 0, &p, udp, sizeof(udp));
	CHECK(p.calls == 0 || slot >= 0,
	      "a random pool answered, but no slot gives XDP's records");
	if (!tcp_mode) {
		parity_count++;
		first_diff(x.dns, x.dns_len, udp, urc, diff, sizeof(diff));
		CHECK(urc == x.dns_len && !memcmp(udp, x.dns, urc),
		      "UDP reply (%d bytes) differs from XDP's (%d bytes): %s",
		      urc, x.dns_len, diff);
		CHECK(!!(x.dns[2] & 0x02) == !!tc_an,
		      "XDP TC=%d, expected %d", !!(x.dns[2] & 0x02), !!tc_an);
		CHECK(ldns_ok(udp, urc, NULL), "ldns cannot parse the reply");
		return;
	}
	trc = user_answer(o, msg, len, 1, &p, tcp, sizeof(tcp));
	if (!tc_an) {
		first_diff(udp, urc, tcp, trc, diff, sizeof(diff));
		CHECK(trc == urc && !memcmp(tcp, udp, urc),
		      "TCP reply (%d bytes) differs from UDP (%d bytes): %s",
		      trc, urc, diff);
	} else {
		ldns_pkt *pkt = NULL;

		CHECK(urc > 0 && (udp[2] & 0x02), "UDP reply not truncated");
		CHECK(ldns_ok(tcp, trc, &pkt), "ldns cannot parse the TCP reply");
		if (pkt) {
			CHECK(!ldns_pkt_tc(pkt), "TC set over TCP");
			CHECK(ldns_pkt_aa(pkt), "AA clear over TCP");
			CHECK_EQ(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), tc_an);
			CHECK(trc > 512, "complete reply of only %d bytes", trc);
			ldns_pkt_free(pkt);
		}
		CHECK(trc > urc && !memcmp(tcp + 12, udp + 12, question_end(msg) - 12),
		      "TCP reply does not start with the question");
	}
}

static void compare_query(const struct frame_opts *o, const struct query *q,
			  int tc_an)
{
	uint8_t msg[MSG_MAX];

	compare(o, msg, query_wire(q, msg, sizeof(msg)), tc_an);
}

/* parity cases given by one query each */
static const struct qcase {
	const char *name;
	struct query q;
	int family;		/* default 4 */
	int tc_an;
} qcases[] = {
	{ "a_random", { .name = "www.shop.example" } },
	{ "aaaa_random", { .name = "www.shop.example", .type = LDNS_RR_TYPE_AAAA } },
	{ "a_over_ipv6", { .name = "www.shop.example" }, 6 },
	{ "aaaa_over_ipv6", { .name = "www.shop.example", .type = LDNS_RR_TYPE_AAAA }, 6 },
	{ "a_multi_pool_ttl", { .name = "multi.shop.example" } },
	{ "a_multi_edns", { .name = "multi.shop.example", .edns = 1 } },
	{ "a_v4only", { .name = "v4.shop.example" } },
	{ "aaaa_v4only_nodata", { .name = "v4.shop.example", .type = LDNS_RR_TYPE_AAAA } },
	{ "a_v6only_nodata", { .name = "v6.shop.example" } },
	{ "aaaa_v6only", { .name = "v6.shop.example", .type = LDNS_RR_TYPE_AAAA } },
	{ "a_weighted", { .name = "weighted.shop.example" } },
	{ "a_single_ttl1", { .name = "single.shop.example" } },
	{ "aaaa_single", { .name = "single.shop.example", .type = LDNS_RR_TYPE_AAAA, .edns = 1 } },
	{ "a_eight_answers", { .name = "many.shop.example" } },
	{ "aaaa_eight_answers", { .name = "many.shop.example", .type = LDNS_RR_TYPE_AAAA, .edns = 1 }, 6 },
	{ "case_mixed", { .name = "WwW.sHoP.ExAmPlE" } },
	{ "case_upper_z", { .name = "ZZ9.SHOP.EXAMPLE" } },
	{ "apex_a", { .name = "shop.example" } },
	{ "apex_soa", { .name = "Shop.Example", .type = LDNS_RR_TYPE_SOA } },
	{ "apex_ns", { .name = "shop.example", .type = LDNS_RR_TYPE_NS, .edns = 1 } },
	{ "apex_txt_nodata", { .name = "shop.example", .type = LDNS_RR_TYPE_TXT } },
	{ "subzone_apex_soa", { .name = "sub.shop.example", .type = LDNS_RR_TYPE_SOA } },
	{ "subzone_apex_ns", { .name = "SUB.shop.example", .type = LDNS_RR_TYPE_NS } },
	{ "subzone_name", { .name = "www.sub.shop.example" } },
	{ "subzone_under_ent", { .name = "www.x.y.shop.example", .edns = 1 } },
	{ "subzone_ent_nodata", { .name = "y.shop.example", .type = LDNS_RR_TYPE_MX } },
	{ "subzone_nxdomain_deep", { .name = "q.r.x.y.shop.example" } },
	{ "subzone_apex_mx_nodata", { .name = "x.y.shop.example", .type = LDNS_RR_TYPE_MX } },
	{ "nxdomain", { .name = "nope.shop.example" } },
	{ "nxdomain_ipv6", { .name = "nope.shop.example", .type = LDNS_RR_TYPE_AAAA }, 6 },
	{ "nxdomain_below_name", { .name = "x.www.shop.example" } },
	{ "nxdomain_subzone", { .name = "nope.sub.shop.example", .edns = 1 } },
	{ "nxdomain_neg_ttl_zone_ttl", { .name = "NoPe.Big.Example" } },
	{ "nxdomain_below_ent", { .name = "zz.b.shop.example" } },
	{ "nodata_txt", { .name = "www.shop.example", .type = LDNS_RR_TYPE_TXT } },
	{ "nodata_mx", { .name = "www.shop.example", .type = LDNS_RR_TYPE_MX } },
	{ "nodata_soa_not_apex", { .name = "www.shop.example", .type = LDNS_RR_TYPE_SOA } },
	{ "nodata_ns_not_apex", { .name = "www.shop.example", .type = LDNS_RR_TYPE_NS } },
	{ "nodata_https", { .name = "www.shop.example", .type = LDNS_RR_TYPE_HTTPS } },
	{ "nodata_cname", { .name = "www.shop.example", .type = LDNS_RR_TYPE_CNAME } },
	{ "nodata_type65280", { .name = "www.shop.example", .type = 65280 } },
	{ "nodata_type127", { .name = "www.shop.example", .type = 127 } },
	{ "nodata_type256", { .name = "www.shop.example", .type = 256 } },
	{ "nodata_ent", { .name = "a.b.shop.example" } },
	{ "nodata_ent_aaaa", { .name = "b.shop.example", .type = LDNS_RR_TYPE_AAAA } },
	{ "deep_name", { .name = "deep.a.b.shop.example" } },
	{ "eight_labels_name", { .name = "A.b.C.d.E.f.G.h.shop.example" } },
	{ "eight_labels_ent", { .name = "c.d.e.f.g.h.shop.example" } },
	{ "name_class_128", { .name = NAME_L } },
	{ "name_class_256", { .name = NAME_X, .type = LDNS_RR_TYPE_AAAA } },
	{ "name_class_256_below", { .name = "x." NAME_X } },
	{ "refused_outside", { .name = "www.other.test" } },
	{ "refused_parent", { .name = "example", .type = LDNS_RR_TYPE_NS } },
	{ "refused_root", { .name = ".", .type = LDNS_RR_TYPE_SOA, .edns = 1 } },
	{ "refused_deep_outside", { .name = "a.b.c.d.e.f.g.nothere.test" } },
	{ "refused_sibling_of_zone", { .name = "www.shop.example2" } },
	{ "badvers", { .name = "www.shop.example", .edns = 1, .edns_version = 1, .edns_do = 1 } },
	{ "badvers_outside", { .name = "www.other.test", .edns = 1, .edns_version = 255 } },
	{ "edns_do_4096", { .name = "www.shop.example", .edns = 1, .edns_size = 4096, .edns_do = 1 } },
	{ "edns_size_100", { .name = "shop.example", .type = LDNS_RR_TYPE_NS, .edns = 1, .edns_size = 100 } },
	{ "rd_clear", { .name = "www.shop.example", .rd = -1 } },
	{ "cd_set", { .name = "www.shop.example", .cd = 1, .edns = 1 } },
	{ "id_ffff", { .name = "nope.shop.example", .id = 0xffff } },
	{ "big_ns_tc", { .name = "big.example", .type = LDNS_RR_TYPE_NS }, 4, 8 },
	{ "big_ns_tc_ipv6", { .name = "BIG.example", .type = LDNS_RR_TYPE_NS }, 6, 8 },
	{ "big_ns_tc_edns_512", { .name = "big.example", .type = LDNS_RR_TYPE_NS, .edns = 1, .edns_size = 512 }, 4, 8 },
	{ "big_ns_fits_edns", { .name = "big.example", .type = LDNS_RR_TYPE_NS, .edns = 1 } },
	{ "big_soa", { .name = "big.example", .type = LDNS_RR_TYPE_SOA } },
};

/* hash pools: each of many clients gets its own slot, as in XDP */
static void hash_clients(int family, const char *name, int type)
{
	struct query q = { .name = name, .type = type };

	for (int i = 0; i < 24; i++) {
		char src[64];
		struct frame_opts o = { .family = family, .src = src };

		if (family == 4)
			snprintf(src, sizeof(src), "10.%d.%d.%d", 1 + i / 7, i * 37 % 256, i);
		else
			snprintf(src, sizeof(src), "2001:db8:%x:%x::%x", i * 977, i, i);
		compare_query(&o, &q, 0);
	}
}

static void p_hash_v4_a(void)
{
	hash_clients(4, "sticky.shop.example", LDNS_RR_TYPE_A);
}

static void p_hash_v4_aaaa(void)
{
	hash_clients(4, "sticky.shop.example", LDNS_RR_TYPE_AAAA);
}

static void p_hash_v6_a(void)
{
	hash_clients(6, "sticky.shop.example", LDNS_RR_TYPE_A);
}

static void p_hash_v6_aaaa(void)
{
	hash_clients(6, "sticky.shop.example", LDNS_RR_TYPE_AAAA);
}

static void p_hash2_v4(void)
{
	hash_clients(4, "sticky2.shop.example", LDNS_RR_TYPE_A);
}

static void p_hash2_v6(void)
{
	hash_clients(6, "sticky2.shop.example", LDNS_RR_TYPE_AAAA);
}

/* a random pool: many queries, each with the slot XDP revealed */
static void p_random_many(void)
{
	struct query q = { .name = "multi.shop.example" };

	for (int i = 0; i < 50; i++)
		compare_query(i & 1 ? &v6 : &v4, &q, 0);
}

static void long_name(size_t wire, size_t lab, int edns)
{
	uint8_t name[300], msg[MSG_MAX];
	size_t len = raw_msg(msg, name, long_qname(name, wire, lab));

	len = append(msg, len, BYTES(QTAIL_A_IN));
	if (edns)
		len = add_opt(msg, len, 0, 0, BYTES(""));
	compare(&v4, msg, len, 0);
}

static void p_name_255(void)
{
	long_name(255, 63, 0);
}

static void p_name_255_edns(void)
{
	long_name(255, 63, 1);
}

static void p_many_labels(void)
{
	long_name(254, 1, 1);
}

static void p_label_63(void)
{
	long_name(78, 63, 0);
}

/* an option in the query is not echoed */
static void p_edns_option(void)
{
	uint8_t msg[MSG_MAX];
	size_t len = raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));

	compare(&v4, msg, add_opt(msg, len, 0, 12,
				  BYTES("\x00\x0a\x00\x08" "cookie!!")), 0);
}

/* a reply of exactly the EDNS size fits, one byte less truncates */
static void p_tc_edns_exact(void)
{
	struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS,
			   .edns = 1 };
	struct pick p = { 0 };
	uint8_t msg[MSG_MAX], out[PS_ANSWER_MAX];
	int full = user_answer(&v4, msg, query_wire(&q, msg, sizeof(msg)), 1,
			       &p, out, sizeof(out));

	CHECK(full > 512, "NS answer of %d bytes", full);
	q.edns_size = full;
	compare_query(&v4, &q, 0);
	q.edns_size = full - 1;
	compare_query(&v4, &q, 8);
}

/* the OPT of the reply, and the limit, follow ps_cfg.edns_size */
static const char *small_edns = "edns_udp_size = 540;";

static int reconfig(const char *dns_extra)
{
	char *text;
	int rc;

	if (asprintf(&text, config_fmt, dns_extra) < 0)
		exit(2);
	rc = prog_reconfig(&prog, text);
	free(text);
	if (!rc)
		load_sels();
	return rc;
}

static void p_server_edns_size(void)
{
	struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS,
			   .edns = 1, .edns_size = 4096 };
	struct query a = { .name = "multi.shop.example", .edns = 1,
			   .edns_size = 4096 };

	CHECK(!reconfig(small_edns), "reconfig");
	compare_query(&v4, &q, 8);
	compare_query(&v6, &a, 0);
	q.edns_size = 0;
	CHECK(!reconfig(""), "reconfig back");
	compare_query(&v4, &q, 0);
}


/* ---- the suffix walk, on map contents steerd never writes ------------- */

/* lower-cased wire form of a dotted name */
static size_t wire_of(const char *text, uint8_t *wire)
{
	size_t len = 0;

	while (*text) {
		const char *dot = strchr(text, '.');
		size_t n = dot ? (size_t)(dot - text) : strlen(text);

		wire[len++] = n;
		for (size_t i = 0; i < n; i++)
			wire[len++] = tolower((unsigned char)text[i]);
		text += n + (dot ? 1 : 0);
	}
	wire[len++] = 0;
	return len;
}

/* The active half of the short-name table, and the seed it uses. */
static struct ps_nent *ntab_active(__u32 *seed)
{
	__u32 idx = PS_GEN_NTAB, word = 0;

	bpf_map_lookup_elem(prog.maps->gen, &idx, &word);
	*seed = word >> 1;
	return prog.maps->ntab_mem + (word & 1) * PS_NTAB_SIZE;
}

/* A short name's slot in the active table, or its probe window's first
 * free slot (*found 0), or -1 if the window is full. */
static int ntab_slot(const __u8 *key, int *found)
{
	__u32 seed, h;
	struct ps_nent *t = ntab_active(&seed);

	h = ps_name_hash((const __u64 *)key, seed);
	for (__u32 i = 0; i < PS_NTAB_PROBES; i++) {
		__u32 s = (h + i) & (PS_NTAB_SIZE - 1);

		*found = (t[s].val.flags & PS_NAME_VALID) &&
			 !memcmp(t[s].key, key, PS_KEY_S);
		if (*found || !(t[s].val.flags & PS_NAME_VALID))
			return s;
	}
	return -1;
}

/*
 * Read (op 0), write (1) or delete (2) a name's map entry directly,
 * bypassing steerd's writer: for map contents steerd never writes.  Short
 * names are edited in the active table in place (tests only: a reader
 * could see the edit half done); a deleted slot's successors in its probe
 * window are put back so none is cut off.
 */
static int name_op(const char *text, struct ps_name *v, int op)
{
	uint8_t wire[PS_NAME_WIRE_MAX + 64];
	__u8 key[PS_KEY_X];
	size_t len = wire_of(text, wire);
	int c = ps_name_class(len), found, s;
	struct ps_nent *t, moved[PS_NTAB_PROBES];
	__u32 seed;

	ps_name_key(key, wire, len);
	if (c > 0) {
		int fd = prog.maps->name[c - 1];

		if (op == 0)
			return bpf_map_lookup_elem(fd, key, v);
		if (op == 1)
			return bpf_map_update_elem(fd, key, v, BPF_ANY);
		return bpf_map_delete_elem(fd, key);
	}
	t = ntab_active(&seed);
	s = ntab_slot(key, &found);
	if (op == 0) {
		if (!found)
			return -1;
		*v = t[s].val;
		v->flags &= ~PS_NAME_VALID;
		return 0;
	}
	if (op == 1) {
		if (s < 0)
			return -1;
		memcpy(t[s].key, key, PS_KEY_S);
		t[s].val = *v;
		t[s].val.flags |= PS_NAME_VALID;
		return 0;
	}
	if (!found)
		return -1;
	memset(&t[s], 0, sizeof(t[s]));
	/* re-place what follows in the cluster */
	for (int i = 1, n = 0; i <= PS_NTAB_PROBES; i++) {
		struct ps_nent *e = &t[(s + i) & (PS_NTAB_SIZE - 1)];

		if (!(e->val.flags & PS_NAME_VALID) || i == PS_NTAB_PROBES) {
			for (int k = 0; k < n; k++) {
				int f, at = ntab_slot((const __u8 *)moved[k].key, &f);

				if (at >= 0)
					t[at] = moved[k];
			}
			break;
		}
		moved[n++] = *e;
		memset(e, 0, sizeof(*e));
	}
	return 0;
}

static int pool_index(const char *name)
{
	for (int i = 0; i < PS_MAX_POOLS; i++)
		if (!strcmp(sels[i].name, name))
			return i;
	return -1;
}

/* 40 one-letter labels under shop.example */
static void a_labels(char *buf, int n)
{
	buf[0] = 0;
	for (int i = 0; i < n; i++)
		strcat(buf, "a.");
	strcat(buf, "shop.example");
}

/*
 * Keys only a walk that stops where XDP's stops will not see: a name
 * below a missing suffix, a name above every zone deeper than the deepest
 * apex, and a chain of names deeper than the walk's 33 steps.  They point
 * at another zone, so a walk that goes on answers with another SOA.
 */
static const char *const not_lowered[] = {
	"\x02@x\x04shop\x07" "example",
	"\x02[x\x04shop\x07" "example",
	"\x02\xc1x\x04shop\x07" "example",
	"\x02`X\x04SHOP\x07" "EXAMPLE",	/* this one is found */
};

static void p_raw_keys(void)
{
	struct ps_name shop, sub, v = { 0 };
	char name[256];

	CHECK(!name_op("shop.example", &shop, 0), "no shop.example");
	CHECK(!name_op("sub.shop.example", &sub, 0), "no sub.shop.example");
	if (ps_chk.failed)
		return;
	v.flags = PS_NAME_POOL;
	v.pool = pool_index("single");
	v.ttl = 5;
	v.zone = sub.zone;
	v.zone_labels = 2;
	CHECK(!name_op("deep.nowhere.shop.example", &v, 1), "insert");
	CHECK(!name_op("a.b.c.d.e.test", &v, 1), "insert");
	/* ASCII neighbours of the letters, and a letter with bit 7 set,
	 * are not lower-cased: "@x" must not find "`x" */
	CHECK(!name_op("`x.shop.example", &v, 1), "insert");
	CHECK(!name_op("{x.shop.example", &v, 1), "insert");
	CHECK(!name_op("\xe1x.shop.example", &v, 1), "insert");
	v.flags = 0;
	/* only the deepest suffix XDP's walk reaches (33 labels) is in
	 * another zone */
	for (int k = 1; k < 40; k++) {
		a_labels(name, k);
		v.zone = k + 2 == PS_CONF_LABELS_MAX + 1 ? sub.zone : shop.zone;
		CHECK(!name_op(name, &v, 1), "insert");
	}

	compare_query(&v4, &(struct query){ .name = "x.deep.nowhere.shop.example" }, 0);
	compare_query(&v4, &(struct query){ .name = "deep.nowhere.shop.example" }, 0);
	compare_query(&v4, &(struct query){ .name = "x.a.b.c.d.e.test" }, 0);
	compare_query(&v4, &(struct query){ .name = "a.b.c.d.e.test" }, 0);
	a_labels(name, 40);
	compare_query(&v6, &(struct query){ .name = name, .edns = 1 }, 0);
	for (size_t i = 0; i < ARRAY_SIZE(not_lowered); i++) {
		uint8_t msg[MSG_MAX];
		size_t len = raw_msg(msg, (const uint8_t *)not_lowered[i],
				     strlen(not_lowered[i]) + 1);

		compare(&v4, msg, append(msg, len, BYTES(QTAIL_A_IN)), 0);
	}

	name_op("deep.nowhere.shop.example", NULL, 2);
	name_op("a.b.c.d.e.test", NULL, 2);
	name_op("`x.shop.example", NULL, 2);
	name_op("{x.shop.example", NULL, 2);
	name_op("\xe1x.shop.example", NULL, 2);
	for (int k = 1; k < 40; k++) {
		a_labels(name, k);
		name_op(name, NULL, 2);
	}
}

static const struct {
	const char *name;
	void (*fn)(void);
} pcases[] = {
	{ "raw_keys", p_raw_keys },
	{ "hash_v4_a", p_hash_v4_a },
	{ "hash_v4_aaaa", p_hash_v4_aaaa },
	{ "hash_v6_a", p_hash_v6_a },
	{ "hash_v6_aaaa", p_hash_v6_aaaa },
	{ "hash2_v4", p_hash2_v4 },
	{ "hash2_v6", p_hash2_v6 },
	{ "random_many", p_random_many },
	{ "name_255", p_name_255 },
	{ "name_255_edns", p_name_255_edns },
	{ "many_labels", p_many_labels },
	{ "label_63", p_label_63 },
	{ "edns_option", p_edns_option },
	{ "tc_edns_exact", p_tc_edns_exact },
	{ "server_edns_size", p_server_edns_size },
};

/* ---- slow path: what XDP leaves to the stack ----------------------------- */

struct ans {
	int rc;
	uint8_t out[PS_ANSWER_MAX];
	ldns_pkt *pkt;
};

static void ans_free(struct ans *a)
{
	if (a->pkt)
		ldns_pkt_free(a->pkt);
	a->pkt = NULL;
}

static void xdp_passes(const uint8_t *msg, size_t len)
{
	static struct xdp_reply x;

	xdp_answer(&x, &v4, msg, len);
	CHECK_EQ(x.verdict, XDP_PASS);
}

static void answer(struct ans *a, const uint8_t *msg, size_t len, int tcp)
{
	struct pick p = { 0 };

	memset(a, 0, sizeof(*a));
	a->rc = user_answer(&v4, msg, len, tcp, &p, a->out, sizeof(a->out));
	if (a->rc > 0)
		CHECK(ldns_ok(a->out, a->rc, &a->pkt), "ldns cannot parse the reply");
}

static int rr_count(ldns_rr_list *l)
{
	return l ? (int)ldns_rr_list_rr_count(l) : 0;
}

/*
 * ps_answer's reply to msg, over UDP and TCP alike: rcode (extended),
 * AA, the question echoed (qd 1) or not (0), counts, OPT (edns), TC
 * clear, id, opcode, RD and CD copied, RA clear.
 */
static void expect_slow(const uint8_t *msg, size_t len, int rcode, int aa,
			int qd, int an, int ns, int edns)
{
	for (int tcp = 0; tcp < 2; tcp++) {
		struct ans a;
		ldns_pkt *p;

		answer(&a, msg, len, tcp);
		CHECK(a.rc >= 12, "ps_answer returned %d (tcp %d)", a.rc, tcp);
		p = a.pkt;
		if (!p) {
			ans_free(&a);
			return;
		}
		CHECK_EQ(ldns_pkt_id(p), get16(msg));
		CHECK(ldns_pkt_qr(p), "QR clear");
		CHECK_EQ(ldns_pkt_get_opcode(p), (msg[2] >> 3) & 0xf);
		CHECK_EQ(ldns_pkt_aa(p), aa);
		CHECK(!ldns_pkt_tc(p), "TC set");
		CHECK_EQ(ldns_pkt_rd(p), !!(msg[2] & 1));
		CHECK_EQ(ldns_pkt_cd(p), !!(msg[3] & 0x10));
		CHECK(!ldns_pkt_ra(p), "RA set");
		CHECK_EQ(ldns_pkt_get_rcode(p), rcode & 0xf);
		CHECK_EQ(ldns_pkt_qdcount(p), qd);
		CHECK_EQ(rr_count(ldns_pkt_answer(p)), an);
		CHECK_EQ(rr_count(ldns_pkt_authority(p)), ns);
		CHECK_EQ(rr_count(ldns_pkt_additional(p)), 0);
		CHECK_EQ(get16(a.out + H_AR), edns);
		CHECK_EQ(ldns_pkt_edns(p), edns);
		if (edns && ldns_pkt_edns(p)) {
			CHECK_EQ(ldns_pkt_edns_udp_size(p), 1232);
			CHECK_EQ(ldns_pkt_edns_version(p), 0);
			CHECK(!ldns_pkt_edns_do(p), "DO set");
			CHECK(!ldns_pkt_edns_data(p), "OPT has options");
			CHECK_EQ(ldns_pkt_edns_extended_rcode(p), rcode >> 4);
		}
		if (qd) {
			size_t qend = question_end(msg);

			CHECK(a.rc >= (int)qend &&
			      !memcmp(a.out + 12, msg + 12, qend - 12),
			      "question not echoed as sent");
		}
		ans_free(&a);
	}
}

static void expect_no_reply(const uint8_t *msg, size_t len)
{
	struct ans a;

	for (int tcp = 0; tcp < 2; tcp++) {
		answer(&a, msg, len, tcp);
		CHECK_EQ(a.rc, 0);
		ans_free(&a);
	}
}

static size_t www_msg(uint8_t *msg)
{
	return raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));
}

static void s_response(void)
{
	uint8_t msg[MSG_MAX];
	size_t len = www_msg(msg);

	put16(msg + H_FLAGS, F_QR | F_RD);
	xdp_passes(msg, len);
	expect_no_reply(msg, len);
	put16(msg + H_FLAGS, F_QR | F_AA | 3);
	expect_no_reply(msg, len);
}

static void s_short(void)
{
	uint8_t msg[MSG_MAX];

	www_msg(msg);
	for (size_t n = 0; n < 12; n++)
		expect_no_reply(msg, n);
}

static void s_opcodes(void)
{
	static const int ops[] = { LDNS_PACKET_IQUERY, LDNS_PACKET_STATUS, 3,
				   LDNS_PACKET_NOTIFY, LDNS_PACKET_UPDATE, 15 };
	uint8_t msg[MSG_MAX];
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		len = www_msg(msg);

		put16(msg + H_FLAGS, F_OPCODE(ops[i]) | F_RD);
		xdp_passes(msg, len);
		expect_slow(msg, len, 4, 0, 1, 0, 0, 0);
		/* the rest of the message is not read as a query's */
		len = add_opt(msg, len, 0, 0, BYTES(""));
		put16(msg + H_AN, 3);
		expect_slow(msg, len, 4, 0, 1, 0, 0, 0);
	}
	/* a good OPT is not answered either: no records at all */
	len = add_opt(msg, www_msg(msg), 0, 0, BYTES(""));
	put16(msg + H_FLAGS, F_OPCODE(LDNS_PACKET_NOTIFY) | F_RD);
	expect_slow(msg, len, 4, 0, 1, 0, 0, 0);
	/* no parseable question: no question */
	put16(msg + H_QD, 0);
	expect_slow(msg, 12, 4, 0, 0, 0, 0, 0);
	raw_msg(msg, BYTES("\xc0\x0c" QTAIL_A_IN));
	put16(msg + H_FLAGS, F_OPCODE(LDNS_PACKET_NOTIFY));
	expect_slow(msg, 18, 4, 0, 0, 0, 0, 0);
}

static void s_qdcount(void)
{
	uint8_t msg[MSG_MAX];
	size_t len = www_msg(msg);

	put16(msg + H_QD, 0);
	xdp_passes(msg, 12);
	expect_slow(msg, 12, LDNS_RCODE_FORMERR, 0, 0, 0, 0, 0);
	/* QDCOUNT 2 with one question */
	len = www_msg(msg);
	put16(msg + H_QD, 2);
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* two questions: the first is echoed */
	len = www_msg(msg);
	len = append(msg, len, BYTES(WWW_QNAME QTAIL_A_IN));
	put16(msg + H_QD, 2);
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
}

static void s_an_ns_count(void)
{
	uint8_t msg[MSG_MAX];
	size_t len;

	for (int f = H_AN; f <= H_NS; f += 2) {
		len = append(msg, www_msg(msg), BYTES(RR_A));
		put16(msg + f, 1);
		xdp_passes(msg, len);
		expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
		/* the OPT behind the record is still seen */
		len = add_opt(msg, len, 0, 0, BYTES(""));
		expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 1);
		/* a count with no record */
		len = www_msg(msg);
		put16(msg + f, 1);
		expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	}
}

/* malformed questions: FORMERR without a question */
static void s_bad_question(void)
{
	static const struct { const char *b; size_t n; } bodies[] = {
#define B(s) { s, sizeof(s) - 1 }
		B("\x03www\x04shop\x07" "exam"),		/* name past the end */
		B(WWW_QNAME),					/* no type, class */
		B(WWW_QNAME "\x00\x01"),
		B(WWW_QNAME "\x00\x01\x00"),
		B("\x40" "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
		  SHOP_SUFFIX QTAIL_A_IN),			/* label of 64 */
		B("\x41" "abc" SHOP_SUFFIX QTAIL_A_IN),		/* label types */
		B("\x80" "abc" SHOP_SUFFIX QTAIL_A_IN),
		B("\xbf" "abc" SHOP_SUFFIX QTAIL_A_IN),
		B("\x03www\xc0\x16" QTAIL_A_IN SHOP_SUFFIX),	/* pointer */
		B("\xc0\x0c" QTAIL_A_IN),			/* pointer loop */
		B("\x01" "a\xc0\x0c" QTAIL_A_IN),
		B(""),						/* nothing */
#undef B
	};
	uint8_t msg[MSG_MAX], name[300];
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		len = raw_msg(msg, (const uint8_t *)bodies[i].b, bodies[i].n);
		xdp_passes(msg, len);
		expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 0, 0, 0, 0);
	}
	/* a name of 256 wire bytes */
	len = raw_msg(msg, name, long_qname(name, 256, 63));
	len = append(msg, len, BYTES(QTAIL_A_IN));
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 0, 0, 0, 0);
	/* ...and 256 bytes of one-byte labels */
	len = raw_msg(msg, name, long_qname(name, 256, 1));
	len = append(msg, len, BYTES(QTAIL_A_IN));
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 0, 0, 0, 0);
}

static void s_trailing(void)
{
	uint8_t msg[MSG_MAX];
	size_t len = append(msg, www_msg(msg), BYTES("\x00"));

	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* after a good OPT: FORMERR with OPT */
	len = add_opt(msg, www_msg(msg), 0, 0, BYTES("\x00\x00\x00"));
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 1);
}

static void s_bad_opt(void)
{
	uint8_t msg[MSG_MAX];
	size_t len;

	/* RDLENGTH past the end */
	len = add_opt(msg, www_msg(msg), 0, 4, BYTES(""));
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* options that overrun the RDATA, or leave a piece of one */
	len = add_opt(msg, www_msg(msg), 0, 6, BYTES("\x00\x0a\x00\x08\xaa\xbb"));
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	len = add_opt(msg, www_msg(msg), 0, 6, BYTES("\x00\x0a\x00\x00\x00\x0a"));
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* two OPTs */
	len = add_opt(msg, www_msg(msg), 0, 0, BYTES(""));
	len = add_opt(msg, len, 0, 0, BYTES(""));
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* OPT not owned by the root */
	len = append(msg, www_msg(msg), BYTES("\x01" "a" OPT_PLAIN));
	put16(msg + H_AR, 1);
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* an OPT cut short */
	len = append(msg, www_msg(msg), BYTES("\x00\x00\x29\x04\xd0"));
	put16(msg + H_AR, 1);
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
}

/* XDP passes more than 16 options; they are fine: the answer is XDP's
 * answer to the query without them */
static void s_many_options(void)
{
	static struct xdp_reply x;
	uint8_t msg[MSG_MAX], opts[17 * 4] = { 0 }, out[PS_ANSWER_MAX];
	struct pick p = { 0 };
	size_t len;
	int rc;

	for (int i = 0; i < 17; i++)
		put16(opts + i * 4, 65001);	/* local use, empty */
	len = raw_msg(msg, BYTES("\x06single" SHOP_SUFFIX QTAIL_A_IN));
	len = add_opt(msg, len, 0, sizeof(opts), opts, sizeof(opts));
	xdp_passes(msg, len);
	rc = user_answer(&v4, msg, len, 0, &p, out, sizeof(out));
	len = raw_msg(msg, BYTES("\x06single" SHOP_SUFFIX QTAIL_A_IN));
	len = add_opt(msg, len, 0, 0, BYTES(""));
	xdp_answer(&x, &v4, msg, len);
	CHECK_EQ(x.verdict, XDP_TX);
	CHECK(rc == x.dns_len && !memcmp(out, x.dns, rc),
	      "answer with 17 options differs from XDP's without");
}

/* TC=1 in a query is only XDP's reason to pass it: answered as without */
static void s_tc_query(void)
{
	static struct xdp_reply x;
	uint8_t msg[MSG_MAX], out[PS_ANSWER_MAX];
	struct pick p = { 0 };
	size_t len = www_msg(msg);
	int rc;

	xdp_answer(&x, &v4, msg, len);
	CHECK_EQ(x.verdict, XDP_TX);
	if (x.dns_len <= 0)
		return;
	p.slot = reveal_slot(x.dns, x.dns_len);
	CHECK((int)p.slot >= 0, "no slot");
	put16(msg + H_FLAGS, F_TC | F_RD);
	xdp_passes(msg, len);
	rc = user_answer(&v4, msg, len, 0, &p, out, sizeof(out));
	CHECK(rc == x.dns_len && !memcmp(out, x.dns, rc),
	      "answer to a TC=1 query differs from XDP's to TC=0");
	expect_slow(msg, len, 0, 1, 1, 1, 0, 0);
}

static void s_qclass(void)
{
	static const int classes[] = { LDNS_RR_CLASS_CH, LDNS_RR_CLASS_HS,
				       LDNS_RR_CLASS_NONE, LDNS_RR_CLASS_ANY, 0, 2 };
	uint8_t msg[MSG_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(classes); i++) {
		struct query q = { .name = "www.shop.example",
				   .type = LDNS_RR_TYPE_TXT, .edns = i & 1 };
		size_t len = query_wire(&q, msg, sizeof(msg));

		put16(msg + question_end(msg) - 2, classes[i]);
		xdp_passes(msg, len);
		expect_slow(msg, len, LDNS_RCODE_REFUSED, 0, 1, 0, 0, i & 1);
	}
}

static void s_xfr(void)
{
	static const int types[] = { LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR };
	uint8_t msg[MSG_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct query q = { .name = "shop.example", .type = types[i] };
		size_t len = query_wire(&q, msg, sizeof(msg));

		xdp_passes(msg, len);
		expect_slow(msg, len, LDNS_RCODE_REFUSED, 0, 1, 0, 0, 0);
	}
}

static void s_meta_types(void)
{
	static const int types[] = { LDNS_RR_TYPE_MAILA, LDNS_RR_TYPE_MAILB,
				     LDNS_RR_TYPE_TSIG, LDNS_RR_TYPE_TKEY, 128,
				     200, LDNS_RR_TYPE_OPT };
	uint8_t msg[MSG_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct query q = { .name = "www.shop.example", .type = types[i],
				   .edns = i & 1 };
		size_t len = query_wire(&q, msg, sizeof(msg));

		xdp_passes(msg, len);
		expect_slow(msg, len, 4, 0, 1, 0, 0, i & 1);
	}
}

static void s_foreign_additional(void)
{
	uint8_t msg[MSG_MAX];
	size_t len;

	len = append(msg, www_msg(msg), BYTES(TSIG_RR));
	put16(msg + H_AR, 1);
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_REFUSED, 0, 1, 0, 0, 0);
	/* OPT then TSIG, as signed queries are: the OPT is answered */
	len = append(msg, www_msg(msg), BYTES(OPT_PLAIN TSIG_RR));
	put16(msg + H_AR, 2);
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_REFUSED, 0, 1, 0, 0, 1);
	/* an A record where the OPT would be, owner a pointer */
	len = append(msg, www_msg(msg), BYTES(RR_A));
	put16(msg + H_AR, 1);
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_REFUSED, 0, 1, 0, 0, 0);
	/* a pointer that leads forward is not a name: FORMERR */
	len = append(msg, www_msg(msg), BYTES("\xc0\x30" A_RDATA));
	put16(msg + H_AR, 1);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* nor one to itself (offset 34), nor a loop of two */
	len = append(msg, www_msg(msg), BYTES("\xc0\x22" A_RDATA));
	put16(msg + H_AR, 1);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	len = append(msg, www_msg(msg), BYTES("\x01" "a\xc0\x22" A_RDATA));
	put16(msg + H_AR, 1);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	len = append(msg, www_msg(msg), BYTES("\xc0\x24" A_RDATA "\xc0\x22" A_RDATA));
	put16(msg + H_AR, 2);
	expect_slow(msg, len, LDNS_RCODE_FORMERR, 0, 1, 0, 0, 0);
	/* a pointer to the question name is fine */
	len = append(msg, www_msg(msg), BYTES("\x03key\xc0\x10" A_RDATA));
	put16(msg + H_AR, 1);
	expect_slow(msg, len, LDNS_RCODE_REFUSED, 0, 1, 0, 0, 0);
}

/*
 * The reply to an ANY query: its records must be those XDP gives for
 * type `as` (same slot), byte for byte but for the question's type.
 */
static void any_like(const char *name, int as, int family)
{
	static struct xdp_reply x;
	const struct frame_opts *o = family == 6 ? &v6 : &v4;
	struct query q = { .name = name, .type = as, .edns = 1 };
	uint8_t msg[MSG_MAX], out[PS_ANSWER_MAX];
	struct pick p = { 0 };
	size_t len = query_wire(&q, msg, sizeof(msg)), qend = question_end(msg);
	int rc, slot;

	xdp_answer(&x, o, msg, len);
	CHECK_EQ(x.verdict, XDP_TX);
	if (x.dns_len <= 0)
		return;
	slot = reveal_slot(x.dns, x.dns_len);
	p.slot = slot < 0 ? 0 : slot;
	put16(msg + qend - 4, LDNS_RR_TYPE_ANY);
	xdp_passes(msg, len);
	rc = user_answer(o, msg, len, family == 6, &p, out, sizeof(out));
	CHECK(rc == x.dns_len, "ANY reply of %d bytes, XDP's %s reply %d",
	      rc, ldns_rr_type2str(as), x.dns_len);
	if (rc == x.dns_len) {
		put16(out + qend - 4, as);
		CHECK(!memcmp(out, x.dns, rc), "ANY reply differs from %s",
		      ldns_rr_type2str(as));
	}
	CHECK(x.dns[7] >= 1, "no records to compare");
}

static void s_any(void)
{
	uint8_t msg[MSG_MAX];
	struct query q = { .name = "www.shop.example", .type = LDNS_RR_TYPE_ANY };
	size_t len;

	any_like("www.shop.example", LDNS_RR_TYPE_A, 4);
	any_like("multi.shop.example", LDNS_RR_TYPE_A, 6);
	any_like("v6.shop.example", LDNS_RR_TYPE_AAAA, 4);	/* no IPv4 */
	any_like("sticky.shop.example", LDNS_RR_TYPE_A, 6);
	any_like("shop.example", LDNS_RR_TYPE_A, 4);	/* apex and pool */
	any_like("big.example", LDNS_RR_TYPE_SOA, 4);
	any_like("X.Y.shop.example", LDNS_RR_TYPE_SOA, 6);
	/* the rest: what the rules give */
	len = query_wire(&q, msg, sizeof(msg));
	expect_slow(msg, len, 0, 1, 1, 1, 0, 0);
	q.name = "a.b.shop.example";
	len = query_wire(&q, msg, sizeof(msg));
	expect_slow(msg, len, 0, 1, 1, 0, 1, 0);
	q.name = "nope.shop.example";
	q.edns = 1;
	len = query_wire(&q, msg, sizeof(msg));
	expect_slow(msg, len, LDNS_RCODE_NXDOMAIN, 1, 1, 0, 1, 1);
	q.name = "www.other.test";
	len = query_wire(&q, msg, sizeof(msg));
	expect_slow(msg, len, LDNS_RCODE_REFUSED, 0, 1, 0, 0, 1);
	q.name = "www.shop.example";
	q.edns_version = 1;
	len = query_wire(&q, msg, sizeof(msg));
	expect_slow(msg, len, PS_RC_BADVERS, 0, 1, 0, 0, 1);
}

/* the large apex NS RRset: TC=1 over UDP, complete over TCP */
static void s_tcp_big_ns(void)
{
	static const char *const ns[] = {
		"ns1.abcdefghijklmnopqrstuvwxyz01.provider.example.",
		"ns2.abcdefghijklmnopqrstuvwxyz01.provider.example.",
		"ns3.abcdefghijklmnopqrstuvwxyz01.provider.example.",
		"ns4.abcdefghijklmnopqrstuvwxyz01.provider.example.",
		"ns5.abcdefghijklmnopqrstuvwxyz01.provider.example.",
		"ns6.abcdefghijklmnopqrstuvwxyz01.provider.example.",
		"ns7.abcdefghijklmnopqrstuvwxyz01.provider.example.",
		"ns8.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	};
	struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS };
	uint8_t msg[MSG_MAX];
	size_t len = query_wire(&q, msg, sizeof(msg));
	struct ans u, t;

	answer(&u, msg, len, 0);
	answer(&t, msg, len, 1);
	CHECK(u.pkt && ldns_pkt_tc(u.pkt), "UDP reply not truncated");
	CHECK(u.pkt && rr_count(ldns_pkt_answer(u.pkt)) == 0, "UDP has records");
	CHECK(t.pkt && !ldns_pkt_tc(t.pkt), "TCP reply truncated");
	CHECK(t.rc > 512, "TCP reply of %d bytes", t.rc);
	if (t.pkt) {
		ldns_rr_list *l = ldns_pkt_answer(t.pkt);

		CHECK(ldns_pkt_aa(t.pkt), "AA clear");
		CHECK_EQ(rr_count(l), 8);
		for (int i = 0; i < rr_count(l) && i < 8; i++) {
			ldns_rr *rr = ldns_rr_list_rr(l, i);
			char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
			char *own = ldns_rdf2str(ldns_rr_owner(rr));

			CHECK(ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS, "not NS");
			CHECK_EQ(ldns_rr_ttl(rr), 60);
			CHECK(!strcmp(s, ns[i]), "NS %d is %s", i, s);
			CHECK(!strcmp(own, "big.example."), "owner %s", own);
			free(s);
			free(own);
		}
	}
	ans_free(&u);
	ans_free(&t);
}

/* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: hashed as
 * the IPv4 packet XDP saw */
static void s_v4_mapped_client(void)
{
	struct query q = { .name = "sticky.shop.example" };
	uint8_t msg[MSG_MAX];
	size_t len = query_wire(&q, msg, sizeof(msg));

	for (int i = 0; i < 16; i++) {
		static struct xdp_reply x;
		char s4[32], s6[48];
		struct frame_opts o4 = { .family = 4, .src = s4 };
		struct frame_opts o6 = { .family = 6, .src = s6 };
		uint8_t out[PS_ANSWER_MAX];
		struct pick p = { 0 };
		int rc;

		snprintf(s4, sizeof(s4), "192.0.%d.%d", i * 13, i);
		snprintf(s6, sizeof(s6), "::ffff:%s", s4);
		xdp_answer(&x, &o4, msg, len);
		rc = user_answer(&o6, msg, len, 0, &p, out, sizeof(out));
		CHECK(rc == x.dns_len && !memcmp(out, x.dns, rc),
		      "v4-mapped client %s answered unlike IPv4", s6);
	}
}

/* before steerd marks the maps ready: SERVFAIL */
static void s_not_ready(void)
{
	struct query q = { .name = "www.shop.example", .edns = 1 };
	uint8_t msg[MSG_MAX];
	size_t len = query_wire(&q, msg, sizeof(msg));
	__u32 key = PS_GEN_CFG, gen;
	struct ps_cfg cfg, off;

	CHECK(!bpf_map_lookup_elem(prog.maps->gen, &key, &gen), "ps_gen lookup");
	key = PS_BUF(0, gen);
	CHECK(!bpf_map_lookup_elem(prog.maps->cfg, &key, &cfg), "ps_cfg lookup");
	if (ps_chk.failed)
		return;
	off = cfg;
	off.flags &= ~PS_CFG_READY;
	CHECK(!bpf_map_update_elem(prog.maps->cfg, &key, &off, BPF_ANY), "update");
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_SERVFAIL, 0, 1, 0, 0, 1);
	/* a config never written (edns_size 0) still advertises 512+ */
	memset(&off, 0, sizeof(off));
	CHECK(!bpf_map_update_elem(prog.maps->cfg, &key, &off, BPF_ANY), "update");
	{
		struct ans a;

		answer(&a, msg, len, 0);
		CHECK(a.pkt && ldns_pkt_get_rcode(a.pkt) == LDNS_RCODE_SERVFAIL,
		      "not SERVFAIL");
		CHECK(a.pkt && ldns_pkt_edns_udp_size(a.pkt) == 512,
		      "advertised %d", a.pkt ? ldns_pkt_edns_udp_size(a.pkt) : -1);
		ans_free(&a);
	}
	CHECK(!bpf_map_update_elem(prog.maps->cfg, &key, &cfg, BPF_ANY), "restore");
	expect_slow(msg, len, 0, 1, 1, 1, 0, 1);
}

/* map contents XDP cannot answer from (it passes): SERVFAIL */
static void s_broken_maps(void)
{
	struct ps_name v = { .flags = PS_NAME_POOL, .pool = PS_MAX_POOLS,
			     .zone_labels = 2 };
	struct query q = { .name = "broken.shop.example", .edns = 1 };
	uint8_t msg[MSG_MAX];
	size_t len = query_wire(&q, msg, sizeof(msg));

	CHECK(!name_op("broken.shop.example", &v, 1), "insert");
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_SERVFAIL, 0, 1, 0, 0, 1);
	/* NODATA from a zone that cannot exist */
	v.pool = 0;
	v.zone = PS_MAX_ZONES;
	CHECK(!name_op("broken.shop.example", &v, 1), "update");
	q.type = LDNS_RR_TYPE_TXT;
	len = query_wire(&q, msg, sizeof(msg));
	xdp_passes(msg, len);
	expect_slow(msg, len, LDNS_RCODE_SERVFAIL, 0, 1, 0, 0, 1);
	/* an apex deeper than the name: no pointer to make */
	v.flags = 0;
	v.zone = 0;
	v.zone_labels = 9;
	CHECK(!name_op("broken.shop.example", &v, 1), "update");
	expect_slow(msg, len, LDNS_RCODE_SERVFAIL, 0, 1, 0, 0, 1);
	name_op("broken.shop.example", NULL, 2);
}

/* what the API refuses: other families, small buffers */
static void s_api(void)
{
	struct sockaddr_storage ss = { .ss_family = AF_UNIX };
	struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS,
			   .edns = 1 };
	uint8_t msg[MSG_MAX], out[PS_ANSWER_MAX];
	size_t len = query_wire(&q, msg, sizeof(msg));
	struct pick p = { 0 };
	int full;

	CHECK_EQ(ps_answer(prog.maps, msg, len, (struct sockaddr *)&ss, 0, out,
			   sizeof(out)), -EAFNOSUPPORT);
	full = user_answer(&v4, msg, len, 0, &p, out, sizeof(out));
	CHECK(full > 512, "reply of %d", full);
	for (int cap = 0; cap < full; cap += 7) {
		uint8_t *b = malloc(cap ? cap : 1);

		CHECK_EQ(user_answer(&v4, msg, len, 0, &p, b, cap), -ENOSPC);
		free(b);
	}
	CHECK_EQ(user_answer(&v4, msg, len, 0, &p, out, full), full);
	/* production randomness: answers from the pool */
	for (int i = 0; i < 64; i++) {
		struct query w = { .name = "multi.shop.example" };
		struct sockaddr_in sin = { .sin_family = AF_INET };
		ldns_pkt *pkt = NULL;
		int rc;

		len = query_wire(&w, msg, sizeof(msg));
		rc = ps_answer(prog.maps, msg, len, (struct sockaddr *)&sin, 0,
			       out, sizeof(out));
		CHECK(ldns_ok(out, rc, &pkt), "no answer");
		if (pkt) {
			CHECK_EQ(rr_count(ldns_pkt_answer(pkt)), 3);
			ldns_pkt_free(pkt);
		}
	}
}

static const struct {
	const char *name;
	void (*fn)(void);
} scases[] = {
	{ "response", s_response },
	{ "short", s_short },
	{ "opcodes", s_opcodes },
	{ "qdcount", s_qdcount },
	{ "an_ns_count", s_an_ns_count },
	{ "bad_question", s_bad_question },
	{ "trailing", s_trailing },
	{ "bad_opt", s_bad_opt },
	{ "many_options", s_many_options },
	{ "tc_query", s_tc_query },
	{ "qclass", s_qclass },
	{ "xfr", s_xfr },
	{ "meta_types", s_meta_types },
	{ "foreign_additional", s_foreign_additional },
	{ "any", s_any },
	{ "tcp_big_ns", s_tcp_big_ns },
	{ "v4_mapped_client", s_v4_mapped_client },
	{ "not_ready", s_not_ready },
	{ "broken_maps", s_broken_maps },
	{ "api", s_api },
};

/* ---- fuzz ------------------------------------------------------------ */

static uint64_t rng = 0x5eed5eed12345678ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

#define CORPUS_MAX 128

static struct { uint8_t m[MSG_MAX]; size_t len; } corpus[CORPUS_MAX];
static int ncorpus;

static void corpus_add(const uint8_t *m, size_t len)
{
	if (ncorpus < CORPUS_MAX && len <= MSG_MAX) {
		memcpy(corpus[ncorpus].m, m, len);
		corpus[ncorpus++].len = len;
	}
}

static void corpus_build(void)
{
	uint8_t msg[MSG_MAX], name[300];
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(qcases); i++) {
		len = query_wire(&qcases[i].q, msg, sizeof(msg));
		corpus_add(msg, len);
	}
	len = raw_msg(msg, name, long_qname(name, 255, 63));
	corpus_add(msg, append(msg, len, BYTES(QTAIL_A_IN)));
	len = append(msg, www_msg(msg), BYTES(OPT_PLAIN TSIG_RR));
	put16(msg + H_AR, 2);
	corpus_add(msg, len);
	corpus_add(msg, add_opt(msg, www_msg(msg), 0, 12,
				BYTES("\x00\x0a\x00\x08" "cookie!!")));
	len = append(msg, www_msg(msg), BYTES(RR_A OPT_PLAIN));
	put16(msg + H_AN, 1);
	put16(msg + H_AR, 1);
	corpus_add(msg, len);
}

/* one hostile message into m; returns its length */
static size_t mutate(uint8_t *m, size_t cap)
{
	size_t len;
	int k = rnd() % 10, n;

	if (k == 0) {			/* noise */
		len = rnd() % 300;
		for (size_t i = 0; i < len; i++)
			m[i] = rnd();
		if (rnd() & 1 && len >= 6) {	/* a query of one question */
			m[2] &= 0x7f;
			put16(m + H_QD, 1);
		}
		return len;
	}
	n = rnd() % ncorpus;
	len = corpus[n].len;
	memcpy(m, corpus[n].m, len);
	switch (k) {
	case 1:				/* a few bytes changed */
	case 2:
		for (int i = 1 + rnd() % 4; i > 0; i--)
			m[rnd() % len] = rnd();
		break;
	case 3:				/* cut */
		len = rnd() % (len + 1);
		break;
	case 4:				/* grown */
		for (int i = 1 + rnd() % 40; i > 0 && len < cap; i--)
			m[len++] = rnd();
		break;
	case 5:				/* header counts and flags */
		m[2 + rnd() % 10] = rnd() % 4 ? rnd() % 3 : rnd();
		break;
	case 6: {			/* a pointer somewhere */
		size_t at = 12 + rnd() % (len - 12);

		m[at] = 0xc0 | (rnd() % 2);
		if (at + 1 < len)
			m[at + 1] = rnd() % len;
		break;
	}
	case 7: {			/* a label length changed */
		size_t at = 12;

		for (int i = rnd() % 4; i > 0 && at < len && m[at] && m[at] < 64; i--)
			at += m[at] + 1;
		if (at < len)
			m[at] = rnd() % 4 ? rnd() % 70 : rnd();
		break;
	}
	case 8: {			/* another message's tail appended */
		int o = rnd() % ncorpus;
		size_t from = rnd() % corpus[o].len;

		for (size_t i = from; i < corpus[o].len && len < cap; i++)
			m[len++] = corpus[o].m[i];
		put16(m + H_AR, 1 + rnd() % 2);
		break;
	}
	default:			/* an OPT or other record appended */
		if (len + 12 + 8 <= cap) {
			uint8_t rr[11] = { 0, 0, rnd() % 4 ? 41 : rnd(), rnd(), rnd(),
					   0, rnd() % 8 ? 0 : rnd(), rnd(), 0 };
			int opt = rnd() % 9;

			put16(rr + 9, rnd() % 4 ? (uint32_t)opt : rnd() % 16);
			if (rnd() % 4 == 0) {	/* owner: a pointer, maybe to itself */
				size_t to = rnd() % 2 ? len : rnd() % (len + 4);

				m[len++] = 0xc0 | (rnd() % 8 ? 0 : rnd() % 64);
				m[len++] = to;
				memcpy(m + len, rr + 1, 10);
				len += 10;
			} else {
				memcpy(m + len, rr, 11);
				len += 11;
			}
			for (int i = 0; i < opt; i++)
				m[len++] = rnd() % 3 ? 0 : rnd();
			put16(m + H_AR, get16(m + H_AR) + 1);
		}
		break;
	}
	return len;
}

static unsigned long fuzz_iters(void)
{
	const char *s = getenv("PS_FUZZ_ITERS");

	return s ? strtoul(s, NULL, 0) : 200000;
}

/* no crash, no write past cap, ldns parses every reply; and where XDP
 * answers a fuzzed message, the same bytes */
static void t_fuzz(void)
{
	static struct xdp_reply x;
	unsigned long iters = fuzz_iters(), i, replies = 0, xdp_tx = 0;
	uint8_t m[MSG_MAX + 64];
	time_t start = time(NULL);

	for (i = 0; i < iters && !ps_chk.failed; i++) {
		size_t len = mutate(m, sizeof(m));
		size_t cap = rnd() % 16 ? PS_ANSWER_MAX : rnd() % 400;
		struct frame_opts o = { .family = i & 1 ? 6 : 4 };
		uint8_t *out = malloc(cap ? cap : 1);
		int rc[2];

		if (time(NULL) - start > 300) {
			printf("# fuzz stopped after %lu messages (time bound)\n", i);
			free(out);
			break;
		}
		for (int tcp = 0; tcp < 2; tcp++) {
			struct pick p = { .slot = rnd() };

			rc[tcp] = user_answer(&o, m, len, tcp, &p, out, cap);
			CHECK(rc[tcp] >= 0 || (rc[tcp] == -ENOSPC && cap < PS_ANSWER_MAX),
			      "message %lu: ps_answer returned %d", i, rc[tcp]);
			CHECK(rc[tcp] <= (int)cap, "message %lu: %d bytes in %zu",
			      i, rc[tcp], cap);
			if (rc[tcp] > 0) {
				replies++;
				CHECK(rc[tcp] >= 12 && get16(out) == get16(m) &&
				      (out[2] & 0x80), "message %lu: bad header", i);
				CHECK(ldns_ok(out, rc[tcp], NULL),
				      "message %lu: ldns cannot parse the reply", i);
			}
		}
		/* a sample against XDP; messages it answers must match */
		if (i % 4 == 0 && len >= 12 && cap == PS_ANSWER_MAX) {
			xdp_answer(&x, &o, m, len);
			if (x.verdict == XDP_TX && x.dns_len > 0) {
				struct pick p = { 0 };
				int s = reveal_slot(x.dns, x.dns_len), u;

				p.slot = s < 0 ? 0 : s;
				u = user_answer(&o, m, len, 0, &p, out, cap);
				xdp_tx++;
				CHECK(u == x.dns_len && !memcmp(out, x.dns, u),
				      "message %lu: XDP answered, userspace differs", i);
			}
		}
		free(out);
	}
	printf("# fuzz: %lu messages, %lu replies, %lu XDP answers compared, %ld s\n",
	       i, replies, xdp_tx, (long)(time(NULL) - start));
}

/* ---- main ------------------------------------------------------------ */

/* a parser that loops must fail the run, not hang it */
static void on_alarm(int sig)
{
	printf("FAIL %s: timed out\n", ps_chk.test ? ps_chk.test : "answer_parity");
	fflush(stdout);
	_exit(1);
}

static int wanted(int argc, char **argv, const char *name)
{
	return argc < 2 || strstr(name, argv[1]);
}

int main(int argc, char **argv)
{
	char name[160];
	char *text;

	if (geteuid() != 0) {
		check_skip("answer_parity", "needs root for BPF_PROG_TEST_RUN");
		return 0;
	}
	signal(SIGALRM, on_alarm);
	sels = calloc(PS_MAX_POOLS, sizeof(*sels));
	if (!sels || asprintf(&text, config_fmt, "") < 0)
		return 2;
	if (prog_setup(&prog, text)) {
		printf("FAIL answer_parity_setup: could not load the program\n");
		return 1;
	}
	free(text);
	load_sels();

	for (tcp_mode = 0; tcp_mode < 2; tcp_mode++) {
		const char *pre = tcp_mode ? "answer_tcp" : "answer_parity";

		for (size_t i = 0; i < ARRAY_SIZE(qcases); i++) {
			const struct frame_opts *o = qcases[i].family == 6 ? &v6 : &v4;

			snprintf(name, sizeof(name), "%s_%s", pre, qcases[i].name);
			if (!wanted(argc, argv, name))
				continue;
			alarm(300);
			check_begin(name);
			compare_query(o, &qcases[i].q, qcases[i].tc_an);
			check_end();
		}
		for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
			snprintf(name, sizeof(name), "%s_%s", pre, pcases[i].name);
			if (!wanted(argc, argv, name))
				continue;
			alarm(300);
			check_begin(name);
			pcases[i].fn();
			check_end();
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(scases); i++) {
		snprintf(name, sizeof(name), "answer_slow_%s", scases[i].name);
		if (!wanted(argc, argv, name))
			continue;
		alarm(300);
		check_begin(name);
		scases[i].fn();
		check_end();
	}
	if (wanted(argc, argv, "answer_fuzz")) {
		corpus_build();
		alarm(1200);
		check_begin("answer_fuzz");
		t_fuzz();
		check_end();
	}
	printf("# %d queries compared with XDP\n", parity_count);
	prog_teardown(&prog);
	free(sels);
	return ps_chk.nfail ? 1 : 0;
}
