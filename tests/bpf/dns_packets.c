// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet tests of the DNS fast path: real frames through the real compiled
 * program (BPF_PROG_TEST_RUN), maps filled from the config below by the
 * code steerd uses.  Replies are checked at the IP/UDP level by our own
 * RFC 1071 code and decoded by ldns, an independent DNS library, field by
 * field.  One function per case, listed in cases[]; queries are built by
 * ldns, or by hand where they must be hostile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ldns/ldns.h>

#include "check.h"
#include "dnsmsg.h"
#include "pkt.h"
#include "maps.h"
#include "steer.skel.h"

CHECK_DEFINE;

#define XDP_PASS 2
#define XDP_TX 3

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* eight name servers of 51 wire bytes: an apex NS answer over 512 bytes */
#define LONG_NS(n) "\"ns" #n ".abcdefghijklmnopqrstuvwxyz01.provider.example\""

static const char *config =
	"interfaces = [ \"test0\" ];\n"
	"dns = { listen = [ \"198.18.0.1\", \"2001:2::1\" ]; };\n"
	"zones = (\n"
	"  { name = \"shop.example\"; ttl = 3600;\n"
	"    soa = { mname = \"ns1.shop.example\"; rname = \"hostmaster.shop.example\";\n"
	"            serial = 2026112501; refresh = 7200; retry = 900; expire = 1209600; minimum = 300; };\n"
	"    ns = [ \"ns1.shop.example\", \"ns2.dns.example\" ]; },\n"
	"  { name = \"sub.shop.example\"; ttl = 100;\n"
	"    soa = { mname = \"ns1.sub.shop.example\"; rname = \"h.sub.shop.example\"; minimum = 50; };\n"
	"    ns = [ \"ns1.sub.shop.example\" ]; },\n"
	"  { name = \"big.example\"; ttl = 60;\n"
	"    soa = { mname = \"ns1.big.example\"; rname = \"h.big.example\"; minimum = 600; };\n"
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
	"                { address = \"2001:2:5::3\"; }, { address = \"2001:2:5::4\"; } ); }\n"
	");\n"
	"names = (\n"
	"  { name = \"www.shop.example\"; pool = \"origins\"; ttl = 20; },\n"
	"  { name = \"shop.example\"; pool = \"origins\"; },\n"
	"  { name = \"multi.shop.example\"; pool = \"multi\"; },\n"
	"  { name = \"v4.shop.example\"; pool = \"v4only\"; },\n"
	"  { name = \"v6.shop.example\"; pool = \"v6only\"; },\n"
	"  { name = \"weighted.shop.example\"; pool = \"weighted\"; },\n"
	"  { name = \"sticky.shop.example\"; pool = \"sticky\"; },\n"
	"  { name = \"deep.a.b.shop.example\"; pool = \"origins\"; },\n"
	"  { name = \"www.sub.shop.example\"; pool = \"origins\"; },\n"
	/* 31 wire bytes: without EDNS the frame still holds 32 from it */
	"  { name = \"fastpath-no-edns.shop.example\"; pool = \"multi\"; }\n"
	");\n";

/* the addresses of each pool, per family */
static const char *const origins4[] = { "198.18.1.10", "198.18.1.11", NULL };
static const char *const origins6[] = { "2001:2:1::10", NULL };
static const char *const multi4[] = { "198.18.2.1", "198.18.2.2",
				       "198.18.2.3", "198.18.2.4", NULL };
static const char *const v4only4[] = { "198.18.3.1", NULL };
static const char *const v6only6[] = { "2001:2:3::1", NULL };
static const char *const weighted4[] = { "198.18.4.1", "198.18.4.2", NULL };
static const char *const sticky4[] = { "198.18.5.1", "198.18.5.2",
					"198.18.5.3", "198.18.5.4", NULL };
static const char *const sticky6[] = { "2001:2:5::1", "2001:2:5::2",
					"2001:2:5::3", "2001:2:5::4", NULL };

/* the SOA each zone answers with */
struct zone {
	const char *apex, *mname;
	uint32_t ttl;		/* SOA TTL in a positive answer */
	uint32_t neg_ttl;	/* min(SOA TTL, minimum) */
};

static const struct zone shop = { "shop.example.", "ns1.shop.example.", 3600, 300 };
static const struct zone sub = { "sub.shop.example.", "ns1.sub.shop.example.", 100, 50 };
static const struct zone big = { "big.example.", "ns1.big.example.", 60, 60 };

static struct ps_prog prog;

/* ---- building queries --------------------------------------------- */


/* ---- frames ------------------------------------------------------- */

static const struct frame_opts v4 = { .family = 4 };
static const struct frame_opts v6 = { .family = 6 };

static uint8_t *frame_ip(uint8_t *f, const struct frame_opts *o)
{
	return f + frame_l3(o);
}

static uint8_t *frame_udp(uint8_t *f, const struct frame_opts *o)
{
	return f + frame_payload(o) - 8;
}

/* Recompute the IPv4 header checksum after an edit. */
static void ip4_fix(uint8_t *f, const struct frame_opts *o)
{
	uint8_t *ip = frame_ip(f, o);
	size_t ihl = (ip[0] & 0xf) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, ~csum_fold16(csum_add(0, ip, ihl)));
}

/* Recompute the UDP checksum after an edit. */
static void udp_fix(uint8_t *f, const struct frame_opts *o)
{
	uint8_t *ip = frame_ip(f, o), *udp = frame_udp(f, o);
	uint16_t len = get16(udp + 4), sum;
	uint32_t acc = o->family == 6 ? csum_add(0, ip + 8, 32)
				      : csum_add(0, ip + 12, 8);

	put16(udp + 6, 0);
	sum = ~csum_fold16(csum_add(acc + len + IPPROTO_UDP, udp, len));
	put16(udp + 6, sum ? sum : 0xffff);
}

/* ---- running one case --------------------------------------------- */

struct result {
	int verdict;
	uint8_t msg[MSG_MAX];	/* the query message sent */
	uint8_t in[FRAME_MAX], out[FRAME_MAX];
	size_t in_len, out_len;
	const uint8_t *dns;	/* DNS message inside out */
	int dns_len;
	ldns_pkt *pkt;		/* decoded reply (XDP_TX only) */
};

/* Frame msg (a DNS message) by o into r->in, not sent yet. */
static void prep_msg(struct result *r, const struct frame_opts *o,
		     const uint8_t *msg, size_t len)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->msg, msg, len);
	r->in_len = frame_build(r->in, o, msg, len);
}

static void prep_query(struct result *r, const struct frame_opts *o,
		       const struct query *q)
{
	uint8_t msg[MSG_MAX];

	prep_msg(r, o, msg, query_wire(q, msg, sizeof(msg)));
}

/* Send r->in; on XDP_TX check the frame and decode the reply. */
static void run_frame(struct result *r, const struct frame_opts *o)
{
	char why[256];

	r->verdict = prog_run(&prog, r->in, r->in_len, r->out, &r->out_len);
	if (r->verdict != XDP_TX)
		return;
	r->dns_len = reply_check(r->in, r->in_len, o, r->out, r->out_len,
				 &r->dns, why, sizeof(why));
	CHECK(r->dns_len > 0, "reply frame: %s", why);
	if (r->dns_len <= 0)
		return;
	CHECK(ldns_wire2pkt(&r->pkt, r->dns, r->dns_len) == LDNS_STATUS_OK,
	      "ldns cannot parse the reply");
}

static void run_msg(struct result *r, const struct frame_opts *o,
		    const uint8_t *msg, size_t len)
{
	prep_msg(r, o, msg, len);
	run_frame(r, o);
}

static void run_query(struct result *r, const struct frame_opts *o,
		      const struct query *q)
{
	prep_query(r, o, q);
	run_frame(r, o);
}

static void result_free(struct result *r)
{
	if (r->pkt)
		ldns_pkt_free(r->pkt);
	r->pkt = NULL;
}

/* Insert n bytes into the frame at offset at. */
static void frame_insert(struct result *r, size_t at, const uint8_t *bytes,
			 size_t n)
{
	memmove(r->in + at + n, r->in + at, r->in_len - at);
	memcpy(r->in + at, bytes, n);
	r->in_len += n;
}

/* ---- checks on a decoded reply --------------------------------------- */

static int rr_count(ldns_rr_list *l)
{
	return l ? (int)ldns_rr_list_rr_count(l) : 0;
}

/* Header, question echo and OPT of a reply to q (or to a hand-made
 * message that q describes). */
static void expect_reply(const struct result *r, const struct query *q,
			 int rcode, int aa, int tc, int an, int ns)
{
	size_t qend = question_end(r->msg);
	ldns_pkt *p = r->pkt;

	CHECK_EQ(r->verdict, XDP_TX);
	if (!p)
		return;
	CHECK(r->dns_len >= (int)qend &&
	      !memcmp(r->dns + 12, r->msg + 12, qend - 12),
	      "question not echoed as sent");
	CHECK_EQ(ldns_pkt_id(p), q->id ? q->id : 0x4242);
	CHECK(ldns_pkt_qr(p), "QR not set");
	CHECK_EQ(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	CHECK_EQ(ldns_pkt_aa(p), aa);
	CHECK_EQ(ldns_pkt_tc(p), tc);
	CHECK_EQ(ldns_pkt_rd(p), q->rd < 0 ? 0 : 1);
	CHECK_EQ(ldns_pkt_cd(p), q->cd);
	CHECK(!ldns_pkt_ra(p), "RA set");
	CHECK_EQ(ldns_pkt_get_rcode(p), rcode & 0xf);
	CHECK_EQ(ldns_pkt_qdcount(p), 1);
	CHECK_EQ(rr_count(ldns_pkt_answer(p)), an);
	CHECK_EQ(rr_count(ldns_pkt_authority(p)), ns);
	CHECK_EQ(rr_count(ldns_pkt_additional(p)), 0);
	CHECK_EQ(get16(r->dns + H_AR), q->edns);
	CHECK_EQ(ldns_pkt_edns(p), q->edns);
	if (q->edns && ldns_pkt_edns(p)) {
		CHECK_EQ(ldns_pkt_edns_udp_size(p), 1232);
		CHECK_EQ(ldns_pkt_edns_version(p), 0);
		CHECK(!ldns_pkt_edns_do(p), "DO set");
		CHECK_EQ(ldns_pkt_edns_z(p), 0);
		CHECK(!ldns_pkt_edns_data(p), "OPT has options");
		CHECK_EQ(ldns_pkt_edns_extended_rcode(p), rcode >> 4);
	}
}

static void expect_header(const struct result *r, const struct query *q,
			  int rcode, int aa, int an, int ns)
{
	expect_reply(r, q, rcode, aa, 0, an, ns);
}

/* TC=1 with only the question (and OPT). */
static void expect_truncated(const struct result *r, const struct query *q)
{
	expect_reply(r, q, LDNS_RCODE_NOERROR, 1, 1, 0, 0);
	CHECK_EQ(r->dns_len, (int)question_end(r->msg) + (q->edns ? 11 : 0));
}

static void expect_refused(const struct result *r, const struct query *q)
{
	expect_header(r, q, LDNS_RCODE_REFUSED, 0, 0, 0);
}

/* Record i of l, checked for type, class IN and TTL; NULL if missing. */
static ldns_rr *expect_rr(ldns_rr_list *l, int i, int type, uint32_t ttl)
{
	ldns_rr *rr;

	if (rr_count(l) <= i)
		return NULL;
	rr = ldns_rr_list_rr(l, i);
	CHECK_EQ(ldns_rr_get_type(rr), type);
	CHECK_EQ(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	CHECK_EQ(ldns_rr_ttl(rr), ttl);
	return rr;
}

/* rdf as text compared with want, case-insensitively */
static void expect_rdf(const ldns_rdf *rdf, const char *want, const char *what)
{
	char *s = rdf ? ldns_rdf2str(rdf) : NULL;

	CHECK(s && !strcasecmp(s, want), "%s is %s, expected %s", what,
	      s ? s : "(none)", want);
	free(s);
}

static int addr_index(const char *const *set, const char *addr)
{
	for (int i = 0; set[i]; i++)
		if (!strcmp(set[i], addr))
			return i;
	return -1;
}

/*
 * An A/AAAA answer (type of q) of n distinct addresses from set, each
 * with the given TTL and a pointer to the question as owner.  Returns the
 * set of servers answered as a bit mask of their index in set.
 */
static unsigned expect_pool(const struct result *r, const struct query *q,
			    uint32_t ttl, int n, const char *const *set)
{
	int type = q->type ? q->type : LDNS_RR_TYPE_A;
	size_t rrlen = type == LDNS_RR_TYPE_AAAA ? 28 : 16;
	size_t qend = question_end(r->msg);
	unsigned seen = 0;

	expect_header(r, q, LDNS_RCODE_NOERROR, 1, n, 0);
	if (!r->pkt || rr_count(ldns_pkt_answer(r->pkt)) != n)
		return 0;
	for (int i = 0; i < n; i++) {
		ldns_rr *rr = expect_rr(ldns_pkt_answer(r->pkt), i, type, ttl);
		const uint8_t *owner = r->dns + qend + i * rrlen;
		char *addr = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		int idx = addr_index(set, addr);

		CHECK(owner[0] == 0xc0 && owner[1] == 12,
		      "answer %d owner is not a pointer to offset 12", i);
		CHECK(idx >= 0, "%s not from the pool", addr);
		CHECK(idx < 0 || !(seen & 1U << idx), "%s answered twice", addr);
		if (idx >= 0)
			seen |= 1U << idx;
		free(addr);
	}
	return seen;
}

/* The zone's SOA as record 0 of l, owned by the apex. */
static void expect_soa(ldns_rr_list *l, const struct zone *z, uint32_t ttl)
{
	ldns_rr *rr = expect_rr(l, 0, LDNS_RR_TYPE_SOA, ttl);

	if (!rr)
		return;
	expect_rdf(ldns_rr_owner(rr), z->apex, "SOA owner");
	expect_rdf(ldns_rr_rdf(rr, 0), z->mname, "SOA mname");
}

/* NXDOMAIN or NODATA: AA, no answers, the zone SOA in authority with the
 * negative TTL (RFC 2308). */
static void expect_negative(const struct result *r, const struct query *q,
			    int rcode, const struct zone *z)
{
	expect_header(r, q, rcode, 1, 0, 1);
	if (r->pkt)
		expect_soa(ldns_pkt_authority(r->pkt), z, z->neg_ttl);
}

static void expect_nxdomain(const struct result *r, const struct query *q,
			    const struct zone *z)
{
	expect_negative(r, q, LDNS_RCODE_NXDOMAIN, z);
}

static void expect_nodata(const struct result *r, const struct query *q,
			  const struct zone *z)
{
	expect_negative(r, q, LDNS_RCODE_NOERROR, z);
}

/* The apex NS RRset, in configured order. */
static void expect_ns(const struct result *r, const struct query *q,
		      const struct zone *z, const char *const *names, int n)
{
	expect_header(r, q, LDNS_RCODE_NOERROR, 1, n, 0);
	if (!r->pkt || rr_count(ldns_pkt_answer(r->pkt)) != n)
		return;
	for (int i = 0; i < n; i++) {
		ldns_rr *rr = expect_rr(ldns_pkt_answer(r->pkt), i,
					LDNS_RR_TYPE_NS, z->ttl);

		expect_rdf(ldns_rr_owner(rr), z->apex, "NS owner");
		expect_rdf(ldns_rr_rdf(rr, 0), names[i], "NS name");
	}
}

/* XDP_PASS with the frame byte for byte as sent. */
static void expect_pass(const struct result *r)
{
	CHECK_EQ(r->verdict, XDP_PASS);
	CHECK(r->out_len == r->in_len && !memcmp(r->out, r->in, r->in_len),
	      "passed frame was modified");
}

static void query_passed(const struct frame_opts *o, const struct query *q)
{
	struct result r;

	run_query(&r, o, q);
	expect_pass(&r);
	result_free(&r);
}

static void msg_passed(const uint8_t *msg, size_t len)
{
	struct result r;

	run_msg(&r, &v4, msg, len);
	expect_pass(&r);
	result_free(&r);
}

/* A valid www.shop.example query with header field off set to v and
 * extra bytes appended must be passed. */
static void header_passed(size_t off, uint16_t v, const uint8_t *extra,
			  size_t n)
{
	uint8_t msg[MSG_MAX];
	size_t len = raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));

	put16(msg + off, v);
	msg_passed(msg, append(msg, len, extra, n));
}

/* The frame of a valid query, edited by the caller, must be passed. */
static void frame_passed(struct result *r, const struct frame_opts *o)
{
	run_frame(r, o);
	expect_pass(r);
	result_free(r);
}

/* ---- counters ------------------------------------------------------ */

static const char *const stat_names[] = PS_STAT_NAMES;

static void counters(__u64 c[PS_ST_MAX])
{
	CHECK(!ps_stats_read(prog.maps, c), "ps_stats_read failed");
}

/* Send the prepared frame; exactly the counters listed in which (ended by
 * -1) must grow, by one each. */
static void run_counted(struct result *r, const struct frame_opts *o,
			const int *which)
{
	__u64 before[PS_ST_MAX], after[PS_ST_MAX];

	counters(before);
	run_frame(r, o);
	counters(after);
	for (int i = 0; i < PS_ST_MAX; i++) {
		__u64 want = 0;

		for (const int *w = which; *w >= 0; w++)
			want |= *w == i;
		CHECK(after[i] - before[i] == want,
		      "counter %s grew by %llu, expected %llu", stat_names[i],
		      (unsigned long long)(after[i] - before[i]),
		      (unsigned long long)want);
	}
}

static void query_counted(const struct query *q, const int *which)
{
	struct result r;

	prep_query(&r, &v4, q);
	run_counted(&r, &v4, which);
	result_free(&r);
}

/* ---- the cases: answers ------------------------------------------------ */

static void t_a_basic(void)
{
	struct query q = { .name = "www.shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 20, 1, origins4);
	result_free(&r);
}

static void t_aaaa_basic(void)
{
	struct query q = { .name = "www.shop.example", .type = LDNS_RR_TYPE_AAAA };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 20, 1, origins6);
	result_free(&r);
}

/* a name without a TTL of its own answers with its pool's */
static void t_pool_ttl(void)
{
	struct query q = { .name = "multi.shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 45, 3, multi4);
	result_free(&r);
	q.name = "v4.shop.example";
	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 30, 1, v4only4);
	result_free(&r);
}

/* matched case-insensitively, the question echoed in the client's case */
static void t_case_insensitive(void)
{
	struct query q = { .name = "WwW.sHoP.ExAmPlE" };
	struct result r;

	run_query(&r, &v4, &q);
	CHECK(r.msg[13] == 'W' && r.msg[18] == 'H', "ldns changed the case");
	expect_pool(&r, &q, 20, 1, origins4);
	result_free(&r);
}

/* the apex is a name too: A from its pool */
static void t_apex_a(void)
{
	struct query q = { .name = "shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 30, 1, origins4);
	result_free(&r);
}

static void t_subzone_name(void)
{
	struct query q = { .name = "www.sub.shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 30, 1, origins4);
	result_free(&r);
}

/* a pool without IPv6 servers: AAAA is NODATA */
static void t_nodata_no_ipv6(void)
{
	struct query q = { .name = "v4.shop.example", .type = LDNS_RR_TYPE_AAAA };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nodata(&r, &q, &shop);
	result_free(&r);
}

static void t_nodata_no_ipv4(void)
{
	struct query q = { .name = "v6.shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nodata(&r, &q, &shop);
	result_free(&r);
	q.type = LDNS_RR_TYPE_AAAA;
	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 30, 1, v6only6);
	result_free(&r);
}

/* answers = 3 of 4: three distinct servers each time, all four in use */
static void t_multi_answers(void)
{
	struct query q = { .name = "multi.shop.example" };
	unsigned all = 0;
	struct result r;

	for (int i = 0; i < 100; i++) {
		run_query(&r, &v4, &q);
		all |= expect_pool(&r, &q, 45, 3, multi4);
		result_free(&r);
	}
	CHECK_EQ(all, 0xf);
}

static void t_random_spread(void)
{
	struct query q = { .name = "www.shop.example" };
	unsigned all = 0;
	struct result r;

	for (int i = 0; i < 200; i++) {
		run_query(&r, &v4, &q);
		all |= expect_pool(&r, &q, 20, 1, origins4);
		result_free(&r);
	}
	CHECK_EQ(all, 0x3);
}

/* weights 1:3 give shares of 25/75 within 3 points over 4000 queries */
static void t_weights(void)
{
	struct query q = { .name = "weighted.shop.example" };
	int light = 0, heavy = 0;
	struct result r;

	for (int i = 0; i < 4000; i++) {
		unsigned got;

		run_query(&r, &v4, &q);
		got = expect_pool(&r, &q, 30, 1, weighted4);
		light += got == 1;
		heavy += got == 2;
		result_free(&r);
	}
	CHECK_EQ(light + heavy, 4000);
	CHECK(abs(light - 1000) <= 120,
	      "weight 1 got %d of 4000 answers, expected 1000 +- 120", light);
}

/* ---- selection by client hash ----------------------------------------- */

#define HASH_CLIENTS 32

static void client_addr(char *buf, size_t len, int family, int i)
{
	if (family == 4)	/* one per /24 */
		snprintf(buf, len, "10.%d.%d.7", 1 + i / 256, i % 256);
	else			/* one per /56 */
		snprintf(buf, len, "2001:db8:%x::7", i);
}

/* The server a hash-pool answer of type gives client i of family. */
static unsigned sticky_answer(int family, int type, int i)
{
	char src[64];
	struct frame_opts o = { .family = family, .src = src };
	struct query q = { .name = "sticky.shop.example", .type = type };
	struct result r;
	unsigned got;

	client_addr(src, sizeof(src), family, i);
	run_query(&r, &o, &q);
	got = expect_pool(&r, &q, 30, 1, type == LDNS_RR_TYPE_AAAA ? sticky6 : sticky4);
	result_free(&r);
	return got;
}

/*
 * select = "hash": each client keeps its server when asked again (after
 * traffic from other clients of the other family in between), and the
 * clients of many prefixes do not all share one server.
 */
static void expect_hashed(int family, int type)
{
	unsigned first[HASH_CLIENTS], all = 0;

	for (int i = 0; i < HASH_CLIENTS; i++) {
		first[i] = sticky_answer(family, type, i);
		all |= first[i];
	}
	for (int i = HASH_CLIENTS - 1; i >= 0; i--) {
		unsigned again;

		sticky_answer(family == 4 ? 6 : 4, type, 100 + i);
		again = sticky_answer(family, type, i);
		CHECK(again == first[i],
		      "client %d (IPv%d) got server mask 0x%x, then 0x%x", i,
		      family, first[i], again);
	}
	CHECK(__builtin_popcount(all) > 1, "all %d IPv%d clients got the same server",
	      HASH_CLIENTS, family);
}

static void t_hash_v4_a(void)
{
	expect_hashed(4, LDNS_RR_TYPE_A);
}

static void t_hash_v6_aaaa(void)
{
	expect_hashed(6, LDNS_RR_TYPE_AAAA);
}

static void t_hash_v4_aaaa(void)
{
	expect_hashed(4, LDNS_RR_TYPE_AAAA);
}

static void t_hash_v6_a(void)
{
	expect_hashed(6, LDNS_RR_TYPE_A);
}

/* ---- framing ------------------------------------------------------------ */

static void answered_over(const struct frame_opts *o, int type)
{
	struct query q = { .name = "www.shop.example", .type = type };
	struct result r;

	run_query(&r, o, &q);
	expect_pool(&r, &q, 20, 1, type == LDNS_RR_TYPE_AAAA ? origins6 : origins4);
	result_free(&r);
}

static void t_ipv6_a(void)
{
	answered_over(&v6, LDNS_RR_TYPE_A);
}

static void t_ipv6_aaaa(void)
{
	answered_over(&v6, LDNS_RR_TYPE_AAAA);
}

static void t_ipv6_nxdomain(void)
{
	struct query q = { .name = "nope.shop.example", .type = LDNS_RR_TYPE_AAAA };
	struct result r;

	run_query(&r, &v6, &q);
	expect_nxdomain(&r, &q, &shop);
	result_free(&r);
}

/* tags are kept in the reply (reply_check) */
static void t_vlan_one(void)
{
	const struct frame_opts o = { .family = 4, .vlans = 1 };

	answered_over(&o, LDNS_RR_TYPE_A);
}

static void t_vlan_two(void)
{
	const struct frame_opts o = { .family = 4, .vlans = 2 };

	answered_over(&o, LDNS_RR_TYPE_A);
}

static void t_vlan_two_ipv6(void)
{
	const struct frame_opts o = { .family = 6, .vlans = 2 };

	answered_over(&o, LDNS_RR_TYPE_AAAA);
}

/* the reply has a plain 20-byte IPv4 header (reply_check) */
static void t_ipv4_options(void)
{
	const struct frame_opts o = { .family = 4, .ip_opts = 40 };

	answered_over(&o, LDNS_RR_TYPE_A);
}

/* Ethernet padding after the IP packet is not part of the query */
static void t_eth_padding(void)
{
	const struct frame_opts o = { .family = 4, .pad = 20 };

	answered_over(&o, LDNS_RR_TYPE_A);
}

/* UDP checksum 0 means "none" over IPv4 */
static void t_ipv4_udp_csum_zero(void)
{
	const struct frame_opts o = { .family = 4, .no_udp_csum = true };

	answered_over(&o, LDNS_RR_TYPE_A);
}

/* ---- header flags, EDNS ---------------------------------------------- */

static void t_rd_clear(void)
{
	struct query q = { .name = "www.shop.example", .rd = -1 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 20, 1, origins4);
	result_free(&r);
}

static void t_cd_copied(void)
{
	struct query q = { .name = "www.shop.example", .cd = 1 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 20, 1, origins4);
	result_free(&r);
}

/* OPT answered with size 1232, version 0, DO clear, no options */
static void t_edns_reply(void)
{
	struct query q = { .name = "www.shop.example", .edns = 1,
			   .edns_size = 4096, .edns_do = 1 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 20, 1, origins4);
	result_free(&r);
}

/* a client cookie in the query is not echoed */
static void t_edns_option_dropped(void)
{
	struct query q = { .name = "www.shop.example", .edns = 1 };
	uint8_t msg[MSG_MAX];
	size_t len = raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));
	struct result r;

	len = add_opt(msg, len, 0, 12, BYTES("\x00\x0a\x00\x08" "cookie!!"));
	run_msg(&r, &v4, msg, len);
	expect_pool(&r, &q, 20, 1, origins4);
	result_free(&r);
}

/* EDNS version 1: BADVERS (header rcode 0, OPT extended rcode 1), AA=0 */
static void t_badvers(void)
{
	struct query q = { .name = "www.shop.example", .edns = 1,
			   .edns_version = 1, .edns_do = 1 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_header(&r, &q, PS_RC_BADVERS, 0, 0, 0);
	result_free(&r);
}

static void t_badvers_outside_zones(void)
{
	struct query q = { .name = "www.other.test", .edns = 1,
			   .edns_version = 2 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_header(&r, &q, PS_RC_BADVERS, 0, 0, 0);
	result_free(&r);
}

/* ---- negative answers, apex records --------------------------------- */

static void t_nxdomain(void)
{
	struct query q = { .name = "nope.shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nxdomain(&r, &q, &shop);
	result_free(&r);
}

/* below a configured name there is nothing */
static void t_nxdomain_below_name(void)
{
	struct query q = { .name = "x.www.shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nxdomain(&r, &q, &shop);
	result_free(&r);
}

/* A zero byte inside a label: the in-place writer takes the name to end
 * at its first zero byte, which is not where the labels end; its key
 * must not be the one looked up (www\000 would be "www." plus nothing),
 * and the answer is the general path's NXDOMAIN for the whole name. */
static void t_zero_byte_label(void)
{
	static const char *names[] = { "www\\000x.shop.example",
				       "\\000.shop.example",
				       "w\\000.www.shop.example" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct query q = { .name = names[i], .edns = 1 };
		struct result r;

		run_query(&r, &v4, &q);
		CHECK(memchr(r.msg + 13, 0, 5) != NULL,
		      "%s: ldns left no zero byte in the name", names[i]);
		expect_nxdomain(&r, &q, &shop);
		result_free(&r);
	}
}

/* the delegated sub-zone answers with its own SOA */
static void t_nxdomain_subzone(void)
{
	struct query q = { .name = "nope.sub.shop.example", .edns = 1 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nxdomain(&r, &q, &sub);
	result_free(&r);
}

/* zone TTL 60 below SOA minimum 600: the negative TTL is 60 */
static void t_nxdomain_ttl_soa_lower(void)
{
	struct query q = { .name = "NoPe.Big.Example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nxdomain(&r, &q, &big);
	result_free(&r);
}

static void t_nodata_other_qtype(void)
{
	static const int types[] = { LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_MX,
				     LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_NS,
				     LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_HTTPS };
	struct query q = { .name = "www.shop.example" };
	struct result r;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		q.type = types[i];
		run_query(&r, &v4, &q);
		expect_nodata(&r, &q, &shop);
		result_free(&r);
	}
}

/* a.b.shop.example and b.shop.example exist above deep.a.b.shop.example */
static void t_nodata_empty_nonterminal(void)
{
	struct query q = { .name = "a.b.shop.example" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nodata(&r, &q, &shop);
	result_free(&r);
	q.name = "b.shop.example";
	q.type = LDNS_RR_TYPE_AAAA;
	run_query(&r, &v4, &q);
	expect_nodata(&r, &q, &shop);
	result_free(&r);
}

static void t_apex_nodata(void)
{
	struct query q = { .name = "shop.example", .type = LDNS_RR_TYPE_TXT };
	struct result r;

	run_query(&r, &v4, &q);
	expect_nodata(&r, &q, &shop);
	result_free(&r);
}

/* the apex SOA, every field as configured, TTL = zone ttl */
static void t_apex_soa(void)
{
	struct query q = { .name = "Shop.Example", .type = LDNS_RR_TYPE_SOA };
	static const uint32_t fields[] = { 2026112501, 7200, 900, 1209600, 300 };
	struct result r;
	ldns_rr *rr;

	run_query(&r, &v4, &q);
	expect_header(&r, &q, LDNS_RCODE_NOERROR, 1, 1, 0);
	if (r.pkt && rr_count(ldns_pkt_answer(r.pkt)) == 1) {
		expect_soa(ldns_pkt_answer(r.pkt), &shop, shop.ttl);
		rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
		expect_rdf(ldns_rr_rdf(rr, 1), "hostmaster.shop.example.", "SOA rname");
		for (int i = 0; i < 5; i++)
			CHECK_EQ(ldns_rdf2native_int32(ldns_rr_rdf(rr, 2 + i)),
				 fields[i]);
	}
	result_free(&r);
}

static void t_apex_ns(void)
{
	static const char *const ns[] = { "ns1.shop.example.", "ns2.dns.example." };
	struct query q = { .name = "shop.example", .type = LDNS_RR_TYPE_NS };
	struct result r;

	run_query(&r, &v4, &q);
	expect_ns(&r, &q, &shop, ns, 2);
	result_free(&r);
}

static void t_subzone_apex_soa(void)
{
	struct query q = { .name = "sub.shop.example", .type = LDNS_RR_TYPE_SOA };
	struct result r;

	run_query(&r, &v4, &q);
	expect_header(&r, &q, LDNS_RCODE_NOERROR, 1, 1, 0);
	if (r.pkt)
		expect_soa(ldns_pkt_answer(r.pkt), &sub, sub.ttl);
	result_free(&r);
}

static void t_subzone_apex_ns(void)
{
	static const char *const ns[] = { "ns1.sub.shop.example." };
	struct query q = { .name = "sub.shop.example", .type = LDNS_RR_TYPE_NS };
	struct result r;

	run_query(&r, &v4, &q);
	expect_ns(&r, &q, &sub, ns, 1);
	result_free(&r);
}

static void t_refused_outside(void)
{
	struct query q = { .name = "www.other.test" };
	struct result r;

	run_query(&r, &v4, &q);
	expect_refused(&r, &q);
	result_free(&r);
}

/* the parent of our zones is not ours */
static void t_refused_parent(void)
{
	struct query q = { .name = "example", .type = LDNS_RR_TYPE_NS };
	struct result r;

	run_query(&r, &v4, &q);
	expect_refused(&r, &q);
	result_free(&r);
}

static void t_refused_root(void)
{
	struct query q = { .name = ".", .type = LDNS_RR_TYPE_SOA, .edns = 1 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_refused(&r, &q);
	result_free(&r);
}

/* ---- long names ----------------------------------------------------- */

static void long_name_nxdomain(size_t wire, size_t lab)
{
	const struct query q = { 0 };
	uint8_t name[300], msg[MSG_MAX];
	size_t n = long_qname(name, wire, lab), len;
	struct result r;

	len = raw_msg(msg, name, n);
	len = append(msg, len, BYTES(QTAIL_A_IN));
	run_msg(&r, &v4, msg, len);
	expect_nxdomain(&r, &q, &shop);
	result_free(&r);
}

/* a name of exactly 255 wire bytes is still a name */
static void t_name_255(void)
{
	long_name_nxdomain(255, 63);
}

static void t_many_labels(void)
{
	long_name_nxdomain(254, 1);	/* 120 one-byte labels + 3 */
}

static void t_label_63(void)
{
	long_name_nxdomain(78, 63);	/* one label of 63 bytes */
}

/* ---- truncation --------------------------------------------------------- */

/* 8 NS of 51 bytes (533-byte reply) do not fit 512 bytes: TC=1 */
static void t_tc_ns_no_edns(void)
{
	struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS };
	struct result r;

	run_query(&r, &v4, &q);
	expect_truncated(&r, &q);
	result_free(&r);
}

static const char *const big_ns[] = {
	"ns1.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	"ns2.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	"ns3.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	"ns4.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	"ns5.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	"ns6.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	"ns7.abcdefghijklmnopqrstuvwxyz01.provider.example.",
	"ns8.abcdefghijklmnopqrstuvwxyz01.provider.example.",
};

static void t_ns_fits_edns(void)
{
	struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS,
			   .edns = 1 };
	struct result r;

	run_query(&r, &v4, &q);
	expect_ns(&r, &q, &big, big_ns, 8);
	CHECK(r.dns_len > 512, "NS reply of %d bytes", r.dns_len);
	result_free(&r);
}

/* a reply of exactly the EDNS size fits, one byte less truncates */
static void t_tc_edns_size(void)
{
	struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS,
			   .edns = 1 };
	struct result r;
	int full;

	run_query(&r, &v4, &q);
	full = r.dns_len;
	result_free(&r);
	q.edns_size = full;
	run_query(&r, &v4, &q);
	expect_ns(&r, &q, &big, big_ns, 8);
	result_free(&r);
	q.edns_size = full - 1;
	run_query(&r, &v4, &q);
	expect_truncated(&r, &q);
	result_free(&r);
}

/* ---- passed: not ours ------------------------------------------------ */

static void t_pass_other_addr(void)
{
	const struct frame_opts o = { .family = 4, .dst = "198.18.0.9" };
	const struct query q = { .name = "www.shop.example" };

	query_passed(&o, &q);
}

static void t_pass_other_addr_v6(void)
{
	const struct frame_opts o = { .family = 6, .dst = "2001:2::9" };
	const struct query q = { .name = "www.shop.example" };

	query_passed(&o, &q);
}

static void t_pass_other_port(void)
{
	const struct frame_opts o = { .family = 4, .dport = 5353 };
	const struct query q = { .name = "www.shop.example" };

	query_passed(&o, &q);
}

static void t_pass_tcp(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	frame_ip(r.in, &v4)[9] = IPPROTO_TCP;
	ip4_fix(r.in, &v4);
	frame_passed(&r, &v4);
}

/* ---- passed: header ------------------------------------------------- */

static void t_pass_response(void)
{
	header_passed(H_FLAGS, F_QR | F_RD, BYTES(""));
}

static void t_pass_opcode_notify(void)
{
	header_passed(H_FLAGS, F_OPCODE(LDNS_PACKET_NOTIFY), BYTES(""));
}

static void t_pass_opcode_update(void)
{
	header_passed(H_FLAGS, F_OPCODE(LDNS_PACKET_UPDATE), BYTES(""));
}

static void t_pass_tc_query(void)
{
	header_passed(H_FLAGS, F_TC | F_RD, BYTES(""));
}

static void t_pass_qdcount_0(void)
{
	header_passed(H_QD, 0, BYTES(""));
}

static void t_pass_qdcount_2(void)
{
	header_passed(H_QD, 2, BYTES(WWW_QNAME QTAIL_A_IN));
}

static void t_pass_ancount(void)
{
	header_passed(H_AN, 1, BYTES(RR_A));
}

static void t_pass_nscount(void)
{
	header_passed(H_NS, 1, BYTES(RR_A));
}

/* an OPT and one more additional record */
static void t_pass_arcount_2(void)
{
	header_passed(H_AR, 2, BYTES("\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
				     RR_A_ROOT));
}

/* an A record where the OPT would be */
static void t_pass_additional_not_opt(void)
{
	header_passed(H_AR, 1, BYTES(RR_A_ROOT));
}

static void t_pass_class_ch(void)
{
	const struct query q = { .name = "www.shop.example",
				 .class = LDNS_RR_CLASS_CH, .type = LDNS_RR_TYPE_TXT };

	query_passed(&v4, &q);
}

static void t_pass_class_any(void)
{
	const struct query q = { .name = "www.shop.example",
				 .class = LDNS_RR_CLASS_ANY };

	query_passed(&v4, &q);
}

static void t_pass_qtype_any(void)
{
	const struct query q = { .name = "www.shop.example", .type = LDNS_RR_TYPE_ANY };

	query_passed(&v4, &q);
}

static void t_pass_qtype_axfr(void)
{
	const struct query q = { .name = "shop.example", .type = LDNS_RR_TYPE_AXFR };

	query_passed(&v4, &q);
}

static void t_pass_qtype_ixfr(void)
{
	const struct query q = { .name = "shop.example", .type = LDNS_RR_TYPE_IXFR };

	query_passed(&v4, &q);
}

/* ---- passed: malformed DNS ------------------------------------------ */

static void t_pass_trunc_dns_header(void)
{
	uint8_t msg[MSG_MAX];

	raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));
	msg_passed(msg, 6);
}

/* a label longer than what is left of the message */
static void t_pass_name_past_end(void)
{
	uint8_t msg[MSG_MAX];

	msg_passed(msg, raw_msg(msg, BYTES("\x03www\x04shop\x07" "exam")));
}

/* an unterminated name, Ethernet padding (zeros) after the message */
static void t_pass_name_into_padding(void)
{
	const struct frame_opts o = { .family = 4, .pad = 20 };
	uint8_t msg[MSG_MAX];
	struct result r;

	prep_msg(&r, &o, msg, raw_msg(msg, BYTES("\x03www\x04shop")));
	frame_passed(&r, &o);
}

static void t_pass_question_truncated(void)
{
	uint8_t msg[MSG_MAX];

	msg_passed(msg, raw_msg(msg, BYTES(WWW_QNAME)));
	msg_passed(msg, raw_msg(msg, BYTES(WWW_QNAME "\x00\x01")));
	msg_passed(msg, raw_msg(msg, BYTES(WWW_QNAME "\x00\x01\x00")));
}

/* label lengths 64..191: extended and reserved label types */
static void t_pass_label_types(void)
{
	static const uint8_t types[] = { 0x40, 0x41, 0x7f, 0x80, 0xbf };
	uint8_t msg[MSG_MAX];

	for (size_t i = 0; i < sizeof(types); i++) {
		size_t len = raw_msg(msg, BYTES("?" "abc" SHOP_SUFFIX QTAIL_A_IN));

		msg[12] = types[i];
		msg_passed(msg, len);
	}
}

/* www + pointer to "shop.example" placed after the question */
static void t_pass_pointer_in_question(void)
{
	uint8_t msg[MSG_MAX];

	msg_passed(msg, raw_msg(msg, BYTES("\x03www\xc0\x16" QTAIL_A_IN SHOP_SUFFIX)));
}

static void t_pass_pointer_loop(void)
{
	uint8_t msg[MSG_MAX];

	msg_passed(msg, raw_msg(msg, BYTES("\xc0\x0c" QTAIL_A_IN)));
	msg_passed(msg, raw_msg(msg, BYTES("\x01" "a\xc0\x0c" QTAIL_A_IN)));
}

static void t_pass_name_256(void)
{
	uint8_t name[300], msg[MSG_MAX];
	size_t len = raw_msg(msg, name, long_qname(name, 256, 63));

	msg_passed(msg, append(msg, len, BYTES(QTAIL_A_IN)));
}

static void t_pass_trailing_bytes(void)
{
	uint8_t msg[MSG_MAX];

	msg_passed(msg, raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN "\x00")));
}

/* OPT RDLENGTH longer, then shorter, than the RDATA present */
static void t_pass_opt_rdlen(void)
{
	uint8_t msg[MSG_MAX];
	size_t len = raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));

	msg_passed(msg, add_opt(msg, len, 0, 4, BYTES("")));
	len = raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));
	msg_passed(msg, add_opt(msg, len, 0, 0, BYTES("\x00\x0a\x00\x00")));
}

/* options that overrun the RDATA, or leave a piece of one */
static void t_pass_opt_tiling(void)
{
	uint8_t msg[MSG_MAX];
	size_t len = raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));

	msg_passed(msg, add_opt(msg, len, 0, 6, BYTES("\x00\x0a\x00\x08\xaa\xbb")));
	len = raw_msg(msg, BYTES(WWW_QNAME QTAIL_A_IN));
	msg_passed(msg, add_opt(msg, len, 0, 6, BYTES("\x00\x0a\x00\x00\x00\x0a")));
}

/* ---- passed: malformed frames ---------------------------------------- */

/* the kernel refuses frames under 14 bytes: the L2 header ends the frame */
static void t_pass_trunc_after_eth(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	r.in_len = 14;
	frame_passed(&r, &v4);
}

static void t_pass_trunc_vlan(void)
{
	const struct frame_opts o = { .family = 4, .vlans = 1 };
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &o, &q);
	r.in_len = 16;
	frame_passed(&r, &o);
}

static void t_pass_trunc_ip(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	r.in_len = 14 + 12;
	frame_passed(&r, &v4);
	prep_query(&r, &v6, &q);
	r.in_len = 14 + 30;
	frame_passed(&r, &v6);
}

/* IPv4 header consistent, 4 bytes of UDP header */
static void t_pass_trunc_udp(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	put16(frame_ip(r.in, &v4) + 2, 24);
	ip4_fix(r.in, &v4);
	r.in_len = 14 + 24;
	frame_passed(&r, &v4);
}

/* IP total length 4 bytes short of the UDP length (frame has them) */
static void t_pass_ip_len_short(void)
{
	const struct frame_opts o = { .family = 4, .pad = 4 };
	const struct query q = { .name = "www.shop.example" };
	struct result r;
	uint8_t *ip;

	prep_query(&r, &o, &q);
	ip = frame_ip(r.in, &o);
	put16(ip + 2, get16(ip + 2) - 4);
	ip4_fix(r.in, &o);
	frame_passed(&r, &o);
}

static void t_pass_ip_len_past_frame(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;
	uint8_t *ip;

	prep_query(&r, &v4, &q);
	ip = frame_ip(r.in, &v4);
	put16(ip + 2, get16(ip + 2) + 4);
	ip4_fix(r.in, &v4);
	frame_passed(&r, &v4);
}

/* UDP length 4 bytes short of the IP payload */
static void t_pass_udp_len_short(void)
{
	const struct frame_opts o = { .family = 4, .pad = 4 };
	const struct query q = { .name = "www.shop.example" };
	struct result r;
	uint8_t *ip;

	prep_query(&r, &o, &q);
	ip = frame_ip(r.in, &o);
	put16(ip + 2, get16(ip + 2) + 4);
	ip4_fix(r.in, &o);
	frame_passed(&r, &o);
}

static void t_pass_ipv6_len_mismatch(void)
{
	const struct frame_opts o = { .family = 6, .pad = 4 };
	const struct query q = { .name = "www.shop.example" };
	struct result r;
	uint8_t *ip;

	prep_query(&r, &o, &q);
	ip = frame_ip(r.in, &o);
	put16(ip + 4, get16(ip + 4) + 4);
	frame_passed(&r, &o);
}

static void frag_passed(uint16_t frag_off)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	put16(frame_ip(r.in, &v4) + 6, frag_off);
	ip4_fix(r.in, &v4);
	frame_passed(&r, &v4);
}

static void t_pass_frag_mf(void)
{
	frag_passed(0x2000);
}

static void t_pass_frag_offset(void)
{
	frag_passed(0x0001);
}

static void t_pass_bad_ip_csum(void)
{
	const struct frame_opts o = { .family = 4, .bad_ip_csum = true };
	const struct query q = { .name = "www.shop.example" };

	query_passed(&o, &q);
}

/* RFC 8200: IPv6 UDP without a checksum must be discarded */
static void t_pass_ipv6_udp_csum_zero(void)
{
	const struct frame_opts o = { .family = 6, .no_udp_csum = true };
	const struct query q = { .name = "www.shop.example" };

	query_passed(&o, &q);
}

/* a hop-by-hop header before UDP */
static void t_pass_ipv6_ext_header(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;
	uint8_t *ip;

	prep_query(&r, &v6, &q);
	frame_insert(&r, 14 + 40, BYTES("\x11\x00\x01\x04\x00\x00\x00\x00"));
	ip = frame_ip(r.in, &v6);
	ip[6] = 0;
	put16(ip + 4, get16(ip + 4) + 8);
	frame_passed(&r, &v6);
}

/* a third 802.1Q tag inside the two supported */
static void t_pass_three_vlans(void)
{
	const struct frame_opts o = { .family = 4, .vlans = 2 };
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &o, &q);
	frame_insert(&r, 20, BYTES("\x81\x00\x00\x66"));
	frame_passed(&r, &o);
}

static void t_pass_mac_multicast(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	memcpy(r.in, "\x01\x00\x5e\x00\x00\x01", 6);
	frame_passed(&r, &v4);
}

static void t_pass_mac_broadcast(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	memset(r.in, 0xff, 6);
	frame_passed(&r, &v4);
}

static void t_pass_sport_zero(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct result r;

	prep_query(&r, &v4, &q);
	put16(frame_udp(r.in, &v4), 0);
	udp_fix(r.in, &v4);
	frame_passed(&r, &v4);
}

static void src_passed(int family, const char *src)
{
	const struct frame_opts o = { .family = family, .src = src };
	const struct query q = { .name = "www.shop.example" };

	query_passed(&o, &q);
}

static void t_pass_src_multicast(void)
{
	src_passed(4, "224.0.0.251");
	src_passed(4, "239.255.255.250");
	src_passed(6, "ff02::fb");
}

static void t_pass_src_broadcast(void)
{
	src_passed(4, "255.255.255.255");
}

static void t_pass_src_loopback(void)
{
	src_passed(4, "127.0.0.1");
	src_passed(4, "127.1.2.3");
}

/* ---- counters, readiness ------------------------------------------- */

#define COUNTED(...) ((const int[]){ PS_ST_PACKETS, PS_ST_QUERIES, __VA_ARGS__, -1 })

static void t_stats_noerror(void)
{
	const struct query q = { .name = "www.shop.example" };

	query_counted(&q, COUNTED(PS_ST_NOERROR));
}

static void t_stats_nodata(void)
{
	const struct query q = { .name = "www.shop.example", .type = LDNS_RR_TYPE_TXT };

	query_counted(&q, COUNTED(PS_ST_NODATA));
}

static void t_stats_nxdomain(void)
{
	const struct query q = { .name = "nope.shop.example" };

	query_counted(&q, COUNTED(PS_ST_NXDOMAIN));
}

static void t_stats_refused(void)
{
	const struct query q = { .name = "www.other.test" };

	query_counted(&q, COUNTED(PS_ST_REFUSED));
}

static void t_stats_badvers(void)
{
	const struct query q = { .name = "www.shop.example", .edns = 1,
				 .edns_version = 1 };

	query_counted(&q, COUNTED(PS_ST_BADVERS));
}

/* TC=1 counts as truncated (whatever rcode it counts as too) */
static void t_stats_truncated(void)
{
	const struct query q = { .name = "big.example", .type = LDNS_RR_TYPE_NS };
	__u64 before[PS_ST_MAX], after[PS_ST_MAX];
	struct result r;

	counters(before);
	run_query(&r, &v4, &q);
	counters(after);
	expect_truncated(&r, &q);
	CHECK_EQ(after[PS_ST_TRUNCATED] - before[PS_ST_TRUNCATED], 1);
	CHECK_EQ(after[PS_ST_QUERIES] - before[PS_ST_QUERIES], 1);
	CHECK_EQ(after[PS_ST_PASS] - before[PS_ST_PASS], 0);
	result_free(&r);
}

static void t_stats_pass(void)
{
	const struct query q = { .name = "www.shop.example", .type = LDNS_RR_TYPE_ANY };

	query_counted(&q, COUNTED(PS_ST_PASS));
}

static void t_stats_malformed(void)
{
	uint8_t msg[MSG_MAX];
	struct result r;

	prep_msg(&r, &v4, msg, raw_msg(msg, BYTES("\x03www\x04shop\x07" "exam")));
	run_counted(&r, &v4, COUNTED(PS_ST_PASS, PS_ST_PASS_MALFORMED));
	expect_pass(&r);
	result_free(&r);
}

/* without PS_CFG_READY in the active ps_cfg, queries go to the stack */
static void t_not_ready(void)
{
	const struct query q = { .name = "www.shop.example" };
	struct ps_cfg cfg, off;
	__u32 key = PS_GEN_CFG, gen;
	struct result r;

	CHECK(!bpf_map_lookup_elem(prog.maps->gen, &key, &gen), "ps_gen lookup");
	key = PS_BUF(0, gen);
	CHECK(!bpf_map_lookup_elem(prog.maps->cfg, &key, &cfg), "ps_cfg lookup");
	if (ps_chk.failed)
		return;
	CHECK(cfg.flags & PS_CFG_READY, "active config not ready");
	off = cfg;
	off.flags &= ~PS_CFG_READY;
	CHECK(!bpf_map_update_elem(prog.maps->cfg, &key, &off, BPF_ANY), "ps_cfg update");
	prep_query(&r, &v4, &q);
	run_counted(&r, &v4, COUNTED(PS_ST_PASS, PS_ST_PASS_NOTREADY));
	expect_pass(&r);
	result_free(&r);
	CHECK(!bpf_map_update_elem(prog.maps->cfg, &key, &cfg, BPF_ANY),
	      "ps_cfg restore");
	run_query(&r, &v4, &q);
	expect_pool(&r, &q, 20, 1, origins4);
	result_free(&r);
}

/* ---- the in-place writer against the general path ------------------ */

/* Offset of member m of struct s in the program's BTF, or -1. */
static int btf_member_off(const char *s, const char *m)
{
	const struct btf *btf = bpf_object__btf(prog.skel->obj);
	const struct btf_type *t;
	const struct btf_member *mb;
	int id;

	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, s, BTF_KIND_STRUCT);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	mb = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, mb++)
		if (!strcmp(btf__name_by_offset(btf, mb->name_off), m))
			return btf_member_bit_offset(t, i) / 8;
	return -1;
}

#define SCRATCH_MAGIC 0x5eed5eedU

/* Every CPU's scratch: the random state set to rng and st.copied to the
 * magic value, which only the general path overwrites (the in-place
 * writer never copies the question).  With rng == 0 nothing is written
 * and 1 is returned if every CPU still has the magic value. */
static int scratch(__u32 rng)
{
	int fd = bpf_map__fd(prog.skel->maps.ps_scratch);
	int ncpu = libbpf_num_possible_cpus();
	size_t vs = bpf_map__value_size(prog.skel->maps.ps_scratch);
	int st = btf_member_off("ps_scratch", "st");
	int copied = btf_member_off("ps_dstate", "copied");
	int r = btf_member_off("ps_dstate", "rng");
	__u32 zero = 0, v;
	uint8_t *all;
	int ok = 1;

	if (ncpu <= 0 || st < 0 || copied < 0 || r < 0) {
		CHECK(0, "scratch layout not found in BTF");
		return 0;
	}
	vs = (vs + 7) & ~(size_t)7;
	all = calloc(ncpu, vs);
	if (!all || bpf_map_lookup_elem(fd, &zero, all)) {
		CHECK(0, "ps_scratch lookup");
		free(all);
		return 0;
	}
	for (int c = 0; c < ncpu; c++) {
		uint8_t *sc = all + c * vs + st;

		if (rng) {
			v = SCRATCH_MAGIC;
			memcpy(sc + copied, &v, 4);
			memcpy(sc + r, &rng, 4);
		} else {
			memcpy(&v, sc + copied, 4);
			ok &= v == SCRATCH_MAGIC;
		}
	}
	if (rng)
		CHECK(!bpf_map_update_elem(fd, &zero, all, BPF_ANY),
		      "ps_scratch update");
	free(all);
	return ok;
}

static void cfg_no_fast(int on)
{
	__u32 key = PS_GEN_CFG, gen;
	struct ps_cfg cfg;

	CHECK(!bpf_map_lookup_elem(prog.maps->gen, &key, &gen), "ps_gen lookup");
	key = PS_BUF(0, gen);
	CHECK(!bpf_map_lookup_elem(prog.maps->cfg, &key, &cfg), "ps_cfg lookup");
	if (on)
		cfg.flags |= PS_CFG_NO_FAST;
	else
		cfg.flags &= ~PS_CFG_NO_FAST;
	CHECK(!bpf_map_update_elem(prog.maps->cfg, &key, &cfg, BPF_ANY),
	      "ps_cfg update");
}

/*
 * Queries of the common shape: answered in place (the general path never
 * ran), and the reply is byte for byte the general path's for the same
 * query with the same random state, and a valid answer.
 */
static void t_fast_equals_general(void)
{
	static const struct frame_opts vlan1 = { .family = 4, .vlans = 1 };
	static const struct frame_opts vlan2v6 = { .family = 6, .vlans = 2 };
	static const struct frame_opts padded = { .family = 4, .pad = 10 };
	static const struct frame_opts other4 = { .family = 4, .src = "198.18.77.9" };
	static const struct frame_opts other6 = { .family = 6, .src = "2001:2:77::9" };
	static const struct {
		const struct frame_opts *o;
		struct query q;
		int an;
	} cases[] = {
		{ &v4, { .name = "www.shop.example", .edns = 1 }, 1 },
		{ &v4, { .name = "www.shop.example", .type = LDNS_RR_TYPE_AAAA, .edns = 1 }, 1 },
		{ &v6, { .name = "www.shop.example", .edns = 1 }, 1 },
		{ &v6, { .name = "www.shop.example", .type = LDNS_RR_TYPE_AAAA, .edns = 1 }, 1 },
		{ &vlan1, { .name = "WwW.sHoP.eXaMpLe", .edns = 1, .id = 0x1234 }, 1 },
		{ &vlan2v6, { .name = "multi.shop.example", .edns = 1, .rd = -1, .cd = 1 }, 3 },
		{ &padded, { .name = "multi.shop.example", .edns = 1, .edns_size = 512 }, 3 },
		{ &other4, { .name = "sticky.shop.example", .edns = 1 }, 1 },
		{ &other6, { .name = "sticky.shop.example", .type = LDNS_RR_TYPE_AAAA, .edns = 1 }, 1 },
		{ &v4, { .name = "fastpath-no-edns.shop.example" }, 3 },
		{ &v6, { .name = "fastpath-no-edns.shop.example", .cd = 1 }, 3 },
	};
	uint8_t out[FRAME_MAX];
	size_t out_len;
	int verdict;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct result r;
		__u32 rng = 0x9e3779b9 + i * 7919;

		prep_query(&r, cases[i].o, &cases[i].q);
		scratch(rng);
		run_frame(&r, cases[i].o);
		CHECK(r.verdict == XDP_TX, "case %zu: verdict %d", i, r.verdict);
		CHECK(scratch(0), "case %zu (%s): not answered in place", i,
		      cases[i].q.name);
		if (r.pkt)
			CHECK(ldns_pkt_ancount(r.pkt) == cases[i].an,
			      "case %zu: %d answers", i, ldns_pkt_ancount(r.pkt));

		cfg_no_fast(1);
		scratch(rng);
		verdict = prog_run(&prog, r.in, r.in_len, out, &out_len);
		CHECK(!scratch(0), "case %zu: NO_FAST still answered in place", i);
		cfg_no_fast(0);
		CHECK(verdict == XDP_TX && out_len == r.out_len &&
		      !memcmp(out, r.out, out_len),
		      "case %zu (%s): in-place reply differs from the general path's",
		      i, cases[i].q.name);
		result_free(&r);
	}
}

/* Queries just outside the common shape go through the general path
 * (and are answered by it, as other tests check in detail). */
static void t_fast_declines(void)
{
	static const struct frame_opts ipopt = { .family = 4, .ip_opts = 8 };
	static const struct {
		const struct frame_opts *o;
		struct query q;
		int verdict;
	} cases[] = {
		{ &ipopt, { .name = "www.shop.example", .edns = 1 }, XDP_TX },
		{ &v4, { .name = "deep.a.b.shop.example" }, XDP_TX },	/* no EDNS, short frame */
		{ &v4, { .name = "shop.example", .edns = 1 }, XDP_TX },	/* 29 bytes from the name */
		{ &v4, { .name = "nope.shop.example", .edns = 1 }, XDP_TX },
		{ &v4, { .name = "www.shop.example", .type = LDNS_RR_TYPE_MX, .edns = 1 }, XDP_TX },
		{ &v4, { .name = "v6.shop.example", .edns = 1 }, XDP_TX },	/* NODATA */
		{ &v4, { .name = "www.shop.example", .edns = 1, .edns_version = 1 }, XDP_TX },
		{ &v4, { .name = "www.other.example", .edns = 1 }, XDP_TX },	/* REFUSED */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct result r;

		prep_query(&r, cases[i].o, &cases[i].q);
		scratch(12345);
		run_frame(&r, cases[i].o);
		CHECK(r.verdict == cases[i].verdict, "case %zu: verdict %d", i,
		      r.verdict);
		CHECK(!scratch(0), "case %zu (%s): answered in place", i,
		      cases[i].q.name);
		result_free(&r);
	}
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "a_basic", t_a_basic },
	{ "aaaa_basic", t_aaaa_basic },
	{ "pool_ttl", t_pool_ttl },
	{ "case_insensitive", t_case_insensitive },
	{ "apex_a", t_apex_a },
	{ "subzone_name", t_subzone_name },
	{ "nodata_no_ipv6", t_nodata_no_ipv6 },
	{ "nodata_no_ipv4", t_nodata_no_ipv4 },
	{ "multi_answers", t_multi_answers },
	{ "random_spread", t_random_spread },
	{ "weights", t_weights },
	{ "hash_v4_a", t_hash_v4_a },
	{ "hash_v6_aaaa", t_hash_v6_aaaa },
	{ "hash_v4_aaaa", t_hash_v4_aaaa },
	{ "hash_v6_a", t_hash_v6_a },
	{ "ipv6_a", t_ipv6_a },
	{ "ipv6_aaaa", t_ipv6_aaaa },
	{ "ipv6_nxdomain", t_ipv6_nxdomain },
	{ "vlan_one", t_vlan_one },
	{ "vlan_two", t_vlan_two },
	{ "vlan_two_ipv6", t_vlan_two_ipv6 },
	{ "ipv4_options", t_ipv4_options },
	{ "eth_padding", t_eth_padding },
	{ "ipv4_udp_csum_zero", t_ipv4_udp_csum_zero },
	{ "rd_clear", t_rd_clear },
	{ "cd_copied", t_cd_copied },
	{ "zero_byte_label", t_zero_byte_label },
	{ "edns_reply", t_edns_reply },
	{ "edns_option_dropped", t_edns_option_dropped },
	{ "badvers", t_badvers },
	{ "badvers_outside_zones", t_badvers_outside_zones },
	{ "nxdomain", t_nxdomain },
	{ "nxdomain_below_name", t_nxdomain_below_name },
	{ "nxdomain_subzone", t_nxdomain_subzone },
	{ "nxdomain_ttl_soa_lower", t_nxdomain_ttl_soa_lower },
	{ "nodata_other_qtype", t_nodata_other_qtype },
	{ "nodata_empty_nonterminal", t_nodata_empty_nonterminal },
	{ "apex_nodata", t_apex_nodata },
	{ "apex_soa", t_apex_soa },
	{ "apex_ns", t_apex_ns },
	{ "subzone_apex_soa", t_subzone_apex_soa },
	{ "subzone_apex_ns", t_subzone_apex_ns },
	{ "refused_outside", t_refused_outside },
	{ "refused_parent", t_refused_parent },
	{ "refused_root", t_refused_root },
	{ "name_255", t_name_255 },
	{ "many_labels", t_many_labels },
	{ "label_63", t_label_63 },
	{ "tc_ns_no_edns", t_tc_ns_no_edns },
	{ "ns_fits_edns", t_ns_fits_edns },
	{ "tc_edns_size", t_tc_edns_size },
	{ "pass_other_addr", t_pass_other_addr },
	{ "pass_other_addr_v6", t_pass_other_addr_v6 },
	{ "pass_other_port", t_pass_other_port },
	{ "pass_tcp", t_pass_tcp },
	{ "pass_response", t_pass_response },
	{ "pass_opcode_notify", t_pass_opcode_notify },
	{ "pass_opcode_update", t_pass_opcode_update },
	{ "pass_tc_query", t_pass_tc_query },
	{ "pass_qdcount_0", t_pass_qdcount_0 },
	{ "pass_qdcount_2", t_pass_qdcount_2 },
	{ "pass_ancount", t_pass_ancount },
	{ "pass_nscount", t_pass_nscount },
	{ "pass_arcount_2", t_pass_arcount_2 },
	{ "pass_additional_not_opt", t_pass_additional_not_opt },
	{ "pass_class_ch", t_pass_class_ch },
	{ "pass_class_any", t_pass_class_any },
	{ "pass_qtype_any", t_pass_qtype_any },
	{ "pass_qtype_axfr", t_pass_qtype_axfr },
	{ "pass_qtype_ixfr", t_pass_qtype_ixfr },
	{ "pass_trunc_dns_header", t_pass_trunc_dns_header },
	{ "pass_name_past_end", t_pass_name_past_end },
	{ "pass_name_into_padding", t_pass_name_into_padding },
	{ "pass_question_truncated", t_pass_question_truncated },
	{ "pass_label_types", t_pass_label_types },
	{ "pass_pointer_in_question", t_pass_pointer_in_question },
	{ "pass_pointer_loop", t_pass_pointer_loop },
	{ "pass_name_256", t_pass_name_256 },
	{ "pass_trailing_bytes", t_pass_trailing_bytes },
	{ "pass_opt_rdlen", t_pass_opt_rdlen },
	{ "pass_opt_tiling", t_pass_opt_tiling },
	{ "pass_trunc_after_eth", t_pass_trunc_after_eth },
	{ "pass_trunc_vlan", t_pass_trunc_vlan },
	{ "pass_trunc_ip", t_pass_trunc_ip },
	{ "pass_trunc_udp", t_pass_trunc_udp },
	{ "pass_ip_len_short", t_pass_ip_len_short },
	{ "pass_ip_len_past_frame", t_pass_ip_len_past_frame },
	{ "pass_udp_len_short", t_pass_udp_len_short },
	{ "pass_ipv6_len_mismatch", t_pass_ipv6_len_mismatch },
	{ "pass_frag_mf", t_pass_frag_mf },
	{ "pass_frag_offset", t_pass_frag_offset },
	{ "pass_bad_ip_csum", t_pass_bad_ip_csum },
	{ "pass_ipv6_udp_csum_zero", t_pass_ipv6_udp_csum_zero },
	{ "pass_ipv6_ext_header", t_pass_ipv6_ext_header },
	{ "pass_three_vlans", t_pass_three_vlans },
	{ "pass_mac_multicast", t_pass_mac_multicast },
	{ "pass_mac_broadcast", t_pass_mac_broadcast },
	{ "pass_sport_zero", t_pass_sport_zero },
	{ "pass_src_multicast", t_pass_src_multicast },
	{ "pass_src_broadcast", t_pass_src_broadcast },
	{ "pass_src_loopback", t_pass_src_loopback },
	{ "stats_noerror", t_stats_noerror },
	{ "stats_nodata", t_stats_nodata },
	{ "stats_nxdomain", t_stats_nxdomain },
	{ "stats_refused", t_stats_refused },
	{ "stats_badvers", t_stats_badvers },
	{ "stats_truncated", t_stats_truncated },
	{ "stats_pass", t_stats_pass },
	{ "stats_malformed", t_stats_malformed },
	{ "not_ready", t_not_ready },
	{ "fast_equals_general", t_fast_equals_general },
	{ "fast_declines", t_fast_declines },
};

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		check_skip("dns_packets", "needs root for BPF_PROG_TEST_RUN");
		return 0;
	}
	if (prog_setup(&prog, config)) {
		printf("FAIL dns_packets_setup: could not load the program\n");
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[128];

		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		snprintf(name, sizeof(name), "dns_packet_%s", cases[i].name);
		check_begin(name);
		cases[i].fn();
		check_end();
	}
	prog_teardown(&prog);
	return ps_chk.nfail ? 1 : 0;
}
