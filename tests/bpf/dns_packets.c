// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet tests of the DNS fast path: real frames through the real compiled
 * program (BPF_PROG_TEST_RUN), maps filled from the config below by the
 * code steerd uses.  Replies are checked at the IP/UDP level by our own
 * RFC 1071 code and decoded by ldns, an independent DNS library, field by
 * field.  One table row per case; each row keeps the query it sends beside
 * what it expects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ldns/ldns.h>

#include "check.h"
#include "pkt.h"
#include "maps.h"

CHECK_DEFINE;

#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_TX 3

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
	"    ns = [ \"ns1.sub.shop.example\" ]; }\n"
	");\n"
	"pools = (\n"
	"  { name = \"origins\"; answers = 1; ttl = 30;\n"
	"    servers = ( { address = \"198.18.1.10\"; }, { address = \"198.18.1.11\"; },\n"
	"                { address = \"2001:2:1::10\"; } ); },\n"
	"  { name = \"multi\"; answers = 3; ttl = 45;\n"
	"    servers = ( { address = \"198.18.2.1\"; }, { address = \"198.18.2.2\"; },\n"
	"                { address = \"198.18.2.3\"; }, { address = \"198.18.2.4\"; } ); },\n"
	"  { name = \"v4only\"; servers = ( { address = \"198.18.3.1\"; } ); }\n"
	");\n"
	"names = (\n"
	"  { name = \"www.shop.example\"; pool = \"origins\"; ttl = 20; },\n"
	"  { name = \"shop.example\"; pool = \"origins\"; },\n"
	"  { name = \"multi.shop.example\"; pool = \"multi\"; },\n"
	"  { name = \"v4.shop.example\"; pool = \"v4only\"; },\n"
	"  { name = \"deep.a.b.shop.example\"; pool = \"origins\"; },\n"
	"  { name = \"www.sub.shop.example\"; pool = \"origins\"; }\n"
	");\n";

static struct ps_prog prog;

/* ---- building queries --------------------------------------------- */

struct query {
	const char *name;
	int type;		/* default A */
	int class;		/* default IN */
	int edns;		/* 1: add OPT */
	int edns_size;		/* default 1232 */
	int edns_version;
	int edns_do;
	uint16_t id;		/* default 0x4242 */
	int rd;			/* 1: set RD (default 1, -1: clear) */
};

/* DNS message for q, built by ldns; returns length. */
static size_t query_wire(const struct query *q, uint8_t *out, size_t cap)
{
	ldns_rdf *name = ldns_dname_new_frm_str(q->name);
	ldns_pkt *pkt;
	uint8_t *wire;
	size_t len;

	pkt = ldns_pkt_query_new(name, q->type ? q->type : LDNS_RR_TYPE_A,
				 q->class ? q->class : LDNS_RR_CLASS_IN,
				 q->rd < 0 ? 0 : LDNS_RD);
	ldns_pkt_set_id(pkt, q->id ? q->id : 0x4242);
	if (q->edns) {
		ldns_pkt_set_edns_udp_size(pkt, q->edns_size ? q->edns_size : 1232);
		ldns_pkt_set_edns_version(pkt, q->edns_version);
		ldns_pkt_set_edns_do(pkt, q->edns_do);
	}
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK || len > cap) {
		fprintf(stderr, "ldns_pkt2wire failed\n");
		exit(2);
	}
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(pkt);
	return len;
}

/* ---- running one case --------------------------------------------- */

struct result {
	int verdict;
	uint8_t in[FRAME_MAX], out[FRAME_MAX];
	size_t in_len, out_len;
	const uint8_t *dns;	/* DNS message inside out */
	int dns_len;
	ldns_pkt *pkt;		/* decoded reply (XDP_TX only) */
};

/* Send msg (a DNS message) framed by o; on XDP_TX check the frame and
 * decode the reply. */
static void run_msg(struct result *r, const struct frame_opts *o,
		    const uint8_t *msg, size_t len)
{
	char why[256];

	memset(r, 0, sizeof(*r));
	r->in_len = frame_build(r->in, o, msg, len);
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

static __attribute__((unused)) void run_query(struct result *r, const struct frame_opts *o,
		      const struct query *q)
{
	uint8_t msg[1024];

	run_msg(r, o, msg, query_wire(q, msg, sizeof(msg)));
}

static void result_free(struct result *r)
{
	if (r->pkt)
		ldns_pkt_free(r->pkt);
	r->pkt = NULL;
}

/* ---- checks on a decoded reply --------------------------------------- */

static int rr_count(ldns_rr_list *l)
{
	return l ? (int)ldns_rr_list_rr_count(l) : 0;
}

/* Common header checks of an answer to q. */
static void expect_header(const struct result *r, const struct query *q,
			  int rcode, int aa, int an, int ns)
{
	ldns_pkt *p = r->pkt;

	CHECK_EQ(r->verdict, XDP_TX);
	if (!p)
		return;
	CHECK_EQ(ldns_pkt_id(p), q->id ? q->id : 0x4242);
	CHECK(ldns_pkt_qr(p), "QR not set");
	CHECK_EQ(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	CHECK_EQ(ldns_pkt_aa(p), aa);
	CHECK(!ldns_pkt_tc(p), "TC set");
	CHECK_EQ(ldns_pkt_rd(p), q->rd < 0 ? 0 : 1);
	CHECK(!ldns_pkt_ra(p), "RA set");
	CHECK_EQ(ldns_pkt_get_rcode(p), rcode & 0xf);
	CHECK_EQ(ldns_pkt_qdcount(p), 1);
	CHECK_EQ(rr_count(ldns_pkt_answer(p)), an);
	CHECK_EQ(rr_count(ldns_pkt_authority(p)), ns);
	CHECK_EQ(rr_count(ldns_pkt_additional(p)), 0);
	CHECK_EQ(ldns_pkt_edns(p), q->edns);
	if (q->edns && ldns_pkt_edns(p)) {
		CHECK_EQ(ldns_pkt_edns_udp_size(p), 1232);
		CHECK_EQ(ldns_pkt_edns_version(p), 0);
		CHECK(!ldns_pkt_edns_do(p), "DO set");
		CHECK_EQ(ldns_pkt_edns_extended_rcode(p), rcode >> 4);
	}
}

/* The question is echoed byte for byte (case included). */
static void expect_question(const struct result *r, const uint8_t *msg,
			    size_t qlen)
{
	CHECK(r->dns_len >= (int)(12 + qlen) &&
	      !memcmp(r->dns + 12, msg + 12, qlen),
	      "question not echoed as sent");
}

/* ---- the cases --------------------------------------------------------- */

static const struct frame_opts v4 = { .family = 4 };

static void t_a_basic(void)
{
	struct query q = { .name = "www.shop.example" };
	uint8_t msg[512];
	size_t len = query_wire(&q, msg, sizeof(msg));
	struct result r;
	ldns_rr *rr;
	char *addr;

	run_msg(&r, &v4, msg, len);
	expect_question(&r, msg, 18 + 4);
	expect_header(&r, &q, LDNS_RCODE_NOERROR, 1, 1, 0);
	if (r.pkt && rr_count(ldns_pkt_answer(r.pkt)) == 1) {
		rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
		CHECK_EQ(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
		CHECK_EQ(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
		CHECK_EQ(ldns_rr_ttl(rr), 20);
		addr = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		CHECK(!strcmp(addr, "198.18.1.10") || !strcmp(addr, "198.18.1.11"),
		      "A %s not from the pool", addr);
		free(addr);
		/* owner: a compression pointer to the question */
		CHECK(r.dns[12 + 18 + 4] == 0xc0 && r.dns[12 + 18 + 5] == 12,
		      "answer owner is not a pointer to offset 12");
	}
	result_free(&r);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "a_basic", t_a_basic },
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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
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
