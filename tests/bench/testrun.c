// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cost per query of the real DNS fast path under BPF_PROG_TEST_RUN.
 *
 *   bench_testrun [-r REPEAT] [-n ROUNDS]
 *
 * Prints "name: value unit" lines on stdout, details on stderr.
 *
 * The kernel does not restore the packet between repeats in non-live mode,
 * so the program would answer its own answer from the second repeat on.
 * psb_restore (testrun.bpf.c) puts the query back and tail-calls xdp_steer;
 * the same wrapper tail-calling a bare XDP_TX program gives the overhead
 * that is subtracted.  Overhead and program rounds alternate so that a
 * disturbance (another process, frequency change) hits both alike; each
 * figure is the median of its rounds.
 *
 * Before timing, every case runs once through the program alone and through
 * the wrapper: the verdict must be XDP_TX, the reply frame valid (checksums,
 * addresses) and the DNS answer the right one (decoded by ldns).  Every
 * timed run's return code and final output are checked as well.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ldns/ldns.h>

#include "pkt.h"
#include "bench.h"
#include "testrun.skel.h"

/* A zone with one steered name; single-server pools make every answer
 * byte-for-byte predictable, so timed runs can be compared with the
 * reference reply. */
static const char *config =
	"interfaces = [ \"psb0\" ];\n"
	"dns = { listen = [ \"198.18.0.1\", \"2001:2::1\" ]; };\n"
	"zones = (\n"
	"  { name = \"bench.example\"; ttl = 3600;\n"
	"    soa = { mname = \"ns1.bench.example\"; rname = \"hostmaster.bench.example\";\n"
	"            serial = 2026112501; minimum = 300; };\n"
	"    ns = [ \"ns1.bench.example\", \"ns2.bench.example\" ]; }\n"
	");\n"
	"pools = (\n"
	"  { name = \"origins\"; answers = 1; ttl = 30;\n"
	"    servers = ( { address = \"198.18.1.10\"; }, { address = \"2001:2:1::10\"; } ); }\n"
	");\n"
	"names = (\n"
	"  { name = \"www.bench.example\"; pool = \"origins\"; }\n"
	");\n";

struct tcase {
	const char *name;	/* figure dns_testrun_<name>_ns */
	const char *what;	/* for stderr */
	const char *qname;
	int qtype;
	int rcode;		/* expected */
	int an, ns;		/* expected section counts */
	const char *addr;	/* expected answer address */
};

/* All queries carry EDNS (what resolvers send); each case differs from
 * a_edns in one respect. */
static const struct tcase cases[] = {
	{ "a_edns", "A www.bench.example, EDNS, IPv4: NOERROR, 1 A",
	  "www.bench.example", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, 0,
	  "198.18.1.10" },
	{ "aaaa", "AAAA www.bench.example, EDNS, IPv4: NOERROR, 1 AAAA",
	  "www.bench.example", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 1, 0,
	  "2001:2:1::10" },
	{ "nxdomain", "A nope.bench.example, EDNS, IPv4: NXDOMAIN + SOA",
	  "nope.bench.example", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, 1,
	  NULL },
	{ "refused", "A www.other.example, EDNS, IPv4: REFUSED",
	  "www.other.example", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 0, 0,
	  NULL },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const struct frame_opts fopts = { .family = 4 };

static int repeat = 1000000;
static int rounds = 5;

/* ---- queries and replies ----------------------------------------------- */

static size_t query_frame(const struct tcase *c, uint8_t *out)
{
	ldns_rdf *name = ldns_dname_new_frm_str(c->qname);
	ldns_pkt *pkt;
	uint8_t *wire;
	size_t len, flen;

	pkt = ldns_pkt_query_new(name, c->qtype, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_pkt_set_id(pkt, 0x4242);
	ldns_pkt_set_edns_udp_size(pkt, 1232);
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK || len > 256) {
		fprintf(stderr, "ldns_pkt2wire failed\n");
		exit(2);
	}
	flen = frame_build(out, &fopts, wire, len);
	free(wire);
	ldns_pkt_free(pkt);
	return flen;
}

/* Is out (the frame the program left) the right reply to case c?  Returns
 * 0, or -1 with the reason on stderr. */
static int check_reply(const struct tcase *c, const uint8_t *q, size_t qlen,
		       const uint8_t *out, size_t olen)
{
	const uint8_t *dns;
	ldns_pkt *p = NULL;
	char why[256] = "";
	int dlen, ok = 0;

	dlen = reply_check(q, qlen, &fopts, out, olen, &dns, why, sizeof(why));
	if (dlen < 0)
		goto out;
	if (ldns_wire2pkt(&p, dns, dlen) != LDNS_STATUS_OK) {
		snprintf(why, sizeof(why), "ldns cannot parse the reply");
		goto out;
	}
	if (ldns_pkt_id(p) != 0x4242 || !ldns_pkt_qr(p) || !ldns_pkt_edns(p)) {
		snprintf(why, sizeof(why), "ID, QR or OPT wrong");
		goto out;
	}
	if ((int)ldns_pkt_get_rcode(p) != c->rcode) {
		snprintf(why, sizeof(why), "rcode %d, expected %d",
			 ldns_pkt_get_rcode(p), c->rcode);
		goto out;
	}
	if (ldns_pkt_ancount(p) != c->an || ldns_pkt_nscount(p) != c->ns) {
		snprintf(why, sizeof(why), "%d answers/%d authority, expected %d/%d",
			 ldns_pkt_ancount(p), ldns_pkt_nscount(p), c->an, c->ns);
		goto out;
	}
	if (c->addr) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		char *a = ldns_rdf2str(ldns_rr_rdf(rr, 0));

		if ((int)ldns_rr_get_type(rr) != c->qtype || strcmp(a, c->addr))
			snprintf(why, sizeof(why), "answer %s, expected %s",
				 a, c->addr);
		else
			ok = 1;
		free(a);
		goto out;
	}
	if (c->ns && ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0))
		     != LDNS_RR_TYPE_SOA) {
		snprintf(why, sizeof(why), "authority is not the SOA");
		goto out;
	}
	ok = 1;
out:
	if (p)
		ldns_pkt_free(p);
	if (!ok)
		fprintf(stderr, "  %s: wrong reply: %s\n", c->name, why);
	return ok ? 0 : -1;
}

/* ---- running --------------------------------------------------------- */

struct run {
	__u32 retval, ns;
	uint8_t out[FRAME_MAX];
	size_t out_len;
};

static int run(int fd, const uint8_t *in, size_t len, int rep, struct run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, t,
		    .data_in = in,
		    .data_size_in = len,
		    .data_out = r->out,
		    .data_size_out = sizeof(r->out),
		    .repeat = rep);

	if (bpf_prog_test_run_opts(fd, &t)) {
		fprintf(stderr, "  BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		return -1;
	}
	r->retval = t.retval;
	r->ns = t.duration;
	r->out_len = t.data_size_out;
	return 0;
}

static int set_next(struct testrun *tr, int prog_fd)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(tr->maps.psb_next), &zero,
				&prog_fd, BPF_ANY)) {
		fprintf(stderr, "psb_next: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int set_orig(struct testrun *tr, const uint8_t *frame, size_t len)
{
	struct psb_frame f = { .len = len };
	__u32 zero = 0;

	memcpy(f.data, frame, len);
	if (bpf_map_update_elem(bpf_map__fd(tr->maps.psb_orig), &zero, &f,
				BPF_ANY)) {
		fprintf(stderr, "psb_orig: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static __u32 median(__u32 *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2] + 1) / 2;
}

/* A timed run that must end in XDP_TX with the expected frame. */
static int timed(int fd, const uint8_t *in, size_t len, const uint8_t *want,
		 size_t want_len, __u32 *ns, const char *what)
{
	static struct run r;

	if (run(fd, in, len, repeat, &r))
		return -1;
	if (r.retval != XDP_TX) {
		fprintf(stderr, "  %s: timed run returned %u, not XDP_TX\n",
			what, r.retval);
		return -1;
	}
	if (r.out_len != want_len || memcmp(r.out, want, want_len)) {
		fprintf(stderr, "  %s: timed run left another frame than expected\n",
			what);
		return -1;
	}
	*ns = r.ns;
	return 0;
}

/* One case: checks, then alternating overhead/program rounds.  Sets *ns to
 * the program's ns per query; returns 0 or -1. */
static int bench_case(struct ps_prog *prog, struct testrun *tr,
		      const struct tcase *c, double *ns, __u32 *ovh_all,
		      int *novh)
{
	int wrap = bpf_program__fd(tr->progs.psb_restore);
	int tx = bpf_program__fd(tr->progs.psb_tx);
	uint8_t q[FRAME_MAX];
	static struct run ref, r;
	__u32 ovh[64], cost[64], mo, mc;
	size_t qlen = query_frame(c, q);
	char what[64];

	fprintf(stderr, "  %s: %s (%zu-byte frame)\n", c->name, c->what, qlen);
	/* the program alone, once */
	if (run(prog->prog_fd, q, qlen, 1, &ref))
		return -1;
	if (ref.retval != XDP_TX) {
		fprintf(stderr, "  %s: verdict %u, expected XDP_TX\n", c->name,
			ref.retval);
		return -1;
	}
	if (check_reply(c, q, qlen, ref.out, ref.out_len))
		return -1;
	/* through the wrapper, once: same reply */
	if (set_orig(tr, q, qlen) || set_next(tr, prog->prog_fd) ||
	    run(wrap, q, qlen, 1, &r))
		return -1;
	if (r.retval != XDP_TX || r.out_len != ref.out_len ||
	    memcmp(r.out, ref.out, ref.out_len)) {
		fprintf(stderr, "  %s: the wrapper changes the result\n", c->name);
		return -1;
	}

	/* one untimed round first: caches, branch predictors, CPU clock */
	if (set_next(tr, prog->prog_fd) ||
	    timed(wrap, q, qlen, ref.out, ref.out_len, &cost[0], c->name))
		return -1;
	for (int i = 0; i < rounds; i++) {
		snprintf(what, sizeof(what), "%s wrapper", c->name);
		if (set_next(tr, tx) ||
		    timed(wrap, q, qlen, q, qlen, &ovh[i], what))
			return -1;
		if (set_next(tr, prog->prog_fd) ||
		    timed(wrap, q, qlen, ref.out, ref.out_len, &cost[i], c->name))
			return -1;
		ovh_all[(*novh)++] = ovh[i];
	}
	mo = median(ovh, rounds);	/* sorts: [0] min, [rounds - 1] max */
	mc = median(cost, rounds);
	fprintf(stderr, "  %s: wrapper+program %u ns (%u..%u), wrapper %u ns (%u..%u); medians (ranges) of %d x %d\n",
		c->name, mc, cost[0], cost[rounds - 1], mo, ovh[0],
		ovh[rounds - 1], rounds, repeat);
	*ns = (double)mc - mo;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "Usage: bench_testrun [-r REPEAT] [-n ROUNDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	__u32 ovh_all[NCASES * 64], empty[64];
	struct testrun *tr = NULL;
	struct ps_prog prog;
	int opt, rc = 0, novh = 0;
	uint8_t q[FRAME_MAX];
	size_t qlen;

	while ((opt = getopt(argc, argv, "r:n:h")) != -1) {
		switch (opt) {
		case 'r': repeat = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		default: return usage();
		}
	}
	if (repeat < 1 || rounds < 1 || rounds > 64)
		return usage();
	if (geteuid() != 0) {
		fprintf(stderr, "bench_testrun: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}

	if (prog_setup(&prog, config)) {
		fprintf(stderr, "bench_testrun: cannot load the steer program\n");
		return 1;
	}
	tr = testrun__open_and_load();
	if (!tr) {
		fprintf(stderr, "bench_testrun: cannot load the wrapper: %s\n",
			strerror(errno));
		prog_teardown(&prog);
		return 1;
	}

	fprintf(stderr, "BPF_PROG_TEST_RUN, xdp_steer behind the restoring wrapper:\n");
	for (size_t i = 0; i < NCASES; i++) {
		double ns;

		if (bench_case(&prog, tr, &cases[i], &ns, ovh_all, &novh)) {
			rc = 1;
			continue;
		}
		printf("dns_testrun_%s_ns: %.0f ns\n", cases[i].name, ns);
		fflush(stdout);
	}
	if (novh) {
		printf("dns_testrun_wrapper_ns: %u ns\n", median(ovh_all, novh));
		fflush(stdout);
	}

	/* the floor: an XDP_PASS program, no wrapper */
	qlen = query_frame(&cases[0], q);
	for (int i = 0; i < rounds; i++) {
		static struct run r;

		if (run(bpf_program__fd(tr->progs.psb_pass), q, qlen, repeat, &r) ||
		    r.retval != XDP_PASS) {
			fprintf(stderr, "  empty program: run failed\n");
			rc = 1;
			goto out;
		}
		empty[i] = r.ns;
	}
	printf("testrun_empty_ns: %u ns\n", median(empty, rounds));
out:
	testrun__destroy(tr);
	prog_teardown(&prog);
	return rc;
}
