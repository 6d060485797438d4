// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cost per query of the real DNS fast path under BPF_PROG_TEST_RUN.
 *
 *   bench_testrun [-r REPEAT] [-n ROUNDS] [-c CASE]
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
 * Where the kernel puts a program (its JIT image above all) changes its
 * speed here by up to ~30 %: the same object loaded four times in one
 * process, sharing its maps, ran A queries at 124, 124, 112 and 106 ns
 * (minimums of 300 rounds each; 97-128 ns over three such runs), so it
 * is not the maps' placement but the code's.  So the DNS figures
 * come from -k instances of the program and of the wrapper, each loaded
 * on its own, and are the median of the instances' figures (each the
 * median of its rounds); stderr shows every instance's.  What else runs
 * on a shared machine only ever adds time, and here it comes in spells
 * of seconds that can double a round: dns_testrun_<case>_best_ns is the
 * same median over loads of each load's fastest round (program rounds
 * less wrapper rounds), the program's cost on a quiet machine.
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
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>

#include "pkt.h"
#include "bench.h"
#include "conf.h"
#include "lbmaps.h"
#include "steer.skel.h"
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
static int instances = 5;	/* -k: loads of the program and the wrapper */
#define INSTANCES_MAX 8
static const char *only;	/* -c: run only the cases of this name */

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

/* the ingress interface of the test frames (0: none); IP-in-IP asks the
 * FIB for the next hop from there */
static int ingress_ifindex;

static int run(int fd, const uint8_t *in, size_t len, int rep, struct run *r)
{
	struct xdp_md md = { .data_end = len, .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, t,
		    .data_in = in,
		    .data_size_in = len,
		    .data_out = r->out,
		    .data_size_out = sizeof(r->out),
		    .ctx_in = ingress_ifindex ? &md : NULL,
		    .ctx_size_in = ingress_ifindex ? sizeof(md) : 0,
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
 * the program's ns per query (medians of the rounds) and *best to the
 * same from the fastest rounds; returns 0 or -1. */
static int bench_case(int prog_fd, struct testrun *tr,
		      const struct tcase *c, double *ns, double *best,
		      __u32 *ovh_all, int *novh)
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
	if (run(prog_fd, q, qlen, 1, &ref))
		return -1;
	if (ref.retval != XDP_TX) {
		fprintf(stderr, "  %s: verdict %u, expected XDP_TX\n", c->name,
			ref.retval);
		return -1;
	}
	if (check_reply(c, q, qlen, ref.out, ref.out_len))
		return -1;
	/* through the wrapper, once: same reply */
	if (set_orig(tr, q, qlen) || set_next(tr, prog_fd) ||
	    run(wrap, q, qlen, 1, &r))
		return -1;
	if (r.retval != XDP_TX || r.out_len != ref.out_len ||
	    memcmp(r.out, ref.out, ref.out_len)) {
		fprintf(stderr, "  %s: the wrapper changes the result\n", c->name);
		return -1;
	}

	/* one untimed round first: caches, branch predictors, CPU clock */
	if (set_next(tr, prog_fd) ||
	    timed(wrap, q, qlen, ref.out, ref.out_len, &cost[0], c->name))
		return -1;
	for (int i = 0; i < rounds; i++) {
		snprintf(what, sizeof(what), "%s wrapper", c->name);
		if (set_next(tr, tx) ||
		    timed(wrap, q, qlen, q, qlen, &ovh[i], what))
			return -1;
		if (set_next(tr, prog_fd) ||
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
	*best = (double)cost[0] - ovh[0];
	return 0;
}

/* ---- flow steering ------------------------------------------------------ */

/*
 * A TCP VIP steered by DSR and one by IP-in-IP, three backends, the maps
 * filled by steerd's own code (ps_lb_sync: Maglev tables of 65 537
 * entries).  The program runs in a network namespace of its own where
 * the frames come in on psb-lb0 and the backends are permanent neighbours
 * there, so IP-in-IP's FIB lookup finds them.  Established: the same flow
 * every repeat (in ps_conn from the check run on).  New: psb_restore_lb
 * gives every repeat a flow never seen before (source port and address
 * from a counter), so each one is placed by the Maglev table and inserted
 * into the LRU connection table, as a SYN flood of distinct clients would.
 */
#define LB_IF		"psb-lb0"
#define LB_IF_PEER	"psb-lb1"

static const char *lb_config =
	"interfaces = [ \"" LB_IF "\" ];\n"
	"lb = { ipip_source4 = \"198.18.250.0/24\"; };\n"
	"zones = ( { name = \"bench.example\";\n"
	"            soa = { mname = \"ns1.bench.example\"; rname = \"hostmaster.bench.example\"; };\n"
	"            ns = [ \"ns1.bench.example\" ]; } );\n"
	"names = ( { name = \"www.bench.example\"; pool = \"web\"; } );\n"
	"pools = (\n"
	"  { name = \"web\"; servers = (\n"
	"      { address = \"198.18.5.10\"; mac = \"02:00:00:00:d5:0a\"; },\n"
	"      { address = \"198.18.5.11\"; mac = \"02:00:00:00:d5:0b\"; },\n"
	"      { address = \"198.18.5.12\"; mac = \"02:00:00:00:d5:0c\"; } ); }\n"
	");\n"
	"vips = (\n"
	"  { name = \"dsr\"; address = \"198.18.10.1\"; port = 80; protocol = \"tcp\";\n"
	"    mode = \"dsr\"; pool = \"web\"; },\n"
	"  { name = \"ipip\"; address = \"198.18.10.5\"; port = 80; protocol = \"tcp\";\n"
	"    mode = \"ipip\"; pool = \"web\"; }\n"
	");\n";

/* the neighbour MAC of backend i (IP-in-IP's next hop): 02:00:00:00:ee:0a+i */
#define LB_NEIGH_MAC	"02:00:00:00:ee:0"
#define LB_IF_MAC	"02:00:00:00:aa:01"

struct lbcase {
	const char *name;	/* lb_testrun_<name>_ns */
	const char *what;
	const char *vip;	/* VIP address */
	int ipip;
	int new_flows;
	int floor;		/* psb_lb_floor instead of xdp_steer */
	int same;		/* a SYN of the same flow every repeat */
};

static const struct lbcase lbcases[] = {
	{ "established_dsr", "TCP to a DSR VIP, a flow in ps_conn: new destination MAC, XDP_TX",
	  "198.18.10.1", 0, 0 },
	{ "new_dsr", "TCP to a DSR VIP, a new flow each time: Maglev, ps_conn insert, XDP_TX",
	  "198.18.10.1", 0, 1 },
	{ "established_ipip", "TCP to an IP-in-IP VIP, a flow in ps_conn: encapsulation, FIB lookup, XDP_TX",
	  "198.18.10.5", 1, 0 },
	{ "new_ipip", "TCP to an IP-in-IP VIP, a new flow each time: Maglev, ps_conn insert, encapsulation, FIB, XDP_TX",
	  "198.18.10.5", 1, 1 },
	{ "floor_established", "the floor (psb_lb_floor): a flow in its LRU table, new MAC, XDP_TX",
	  "198.18.10.1", 0, 0, 1 },
	{ "floor_new", "the floor (psb_lb_floor): a new flow each time, LRU insert, new MAC, XDP_TX",
	  "198.18.10.1", 0, 1, 1 },
	/* how Katran's new-flow figure is usually taken: the new-flow path
	 * (table, connection written) for one flow again and again, its
	 * entry replaced in warm memory */
	{ "new_dsr_same", "a SYN of the same flow each time: Maglev, ps_conn entry replaced, XDP_TX",
	  "198.18.10.1", 0, 0, 0, 1 },
};
#define NLBCASES (sizeof(lbcases) / sizeof(lbcases[0]))

static struct ps_lb_maps lbm;

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "  '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static int lb_net_setup(void)
{
	int rc = 0;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "  unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	rc |= sh("ip link add " LB_IF " address " LB_IF_MAC " type veth peer name " LB_IF_PEER);
	rc |= sh("ip link set " LB_IF " up && ip link set " LB_IF_PEER " up");
	rc |= sh("ip addr add 198.18.5.1/24 dev " LB_IF);
	for (int i = 0; i < 3; i++) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd),
			 "ip neigh add 198.18.5.1%d lladdr " LB_NEIGH_MAC "%c dev " LB_IF " nud permanent",
			 i, 'a' + i);
		rc |= sh(cmd);
	}
	/* the FIB helper answers only for interfaces that forward */
	rc |= sh("sysctl -qw net.ipv4.conf.all.forwarding=1");
	ingress_ifindex = if_nametoindex(LB_IF);
	return rc || !ingress_ifindex ? -1 : 0;
}

/* Fill the steering maps from lb_config as steerd does. */
static int lb_maps_setup(struct ps_prog *prog)
{
	struct ps_lb_backend *be[PS_MAX_VIPS] = { 0 };
	int nb[PS_MAX_VIPS] = { 0 }, rc;
	struct ps_lb_report rep;
	char err[PS_ERR_MAX];
	struct ps_conf conf;

	if (ps_conf_load_string(&conf, lb_config, "lb.conf", err, sizeof(err))) {
		fprintf(stderr, "  config: %s\n", err);
		return -1;
	}
	rc = ps_lb_from_object(&lbm, prog->skel->obj);
	for (int v = 0; !rc && v < conf.nvips; v++) {
		const struct ps_pool_conf *pool = &conf.pools[conf.vips[v].pool];

		be[v] = calloc(pool->nservers, sizeof(*be[v]));
		if (!be[v]) {
			rc = -ENOMEM;
			break;
		}
		for (int i = 0; i < pool->nservers; i++) {
			be[v][i].addr = pool->servers[i].addr;
			be[v][i].weight = 1;
			be[v][i].flags = PS_REAL_UP;
			memcpy(be[v][i].mac, pool->servers[i].mac, 6);
			be[v][i].has_mac = pool->servers[i].has_mac;
		}
		nb[v] = pool->nservers;
	}
	if (!rc)
		rc = ps_lb_sync(&lbm, &conf, be, nb, NULL, &rep);
	if (!rc && rep.tables_built != conf.nvips)
		rc = -EINVAL;
	for (int v = 0; v < conf.nvips; v++)
		free(be[v]);
	ps_conf_free(&conf);
	if (rc)
		fprintf(stderr, "  steering maps: %s\n", strerror(-rc));
	return rc;
}

/* A TCP segment (SYN for new flows, ACK for established ones) from
 * 198.18.0.2:40000 to VIP:80, as it arrives at the PoP. */
static size_t tcp_frame(const char *vip, int syn, uint8_t *f)
{
	static const uint8_t mac_pop[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t mac_cli[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t sum;

	memset(f, 0, 54);
	memcpy(f, mac_pop, 6);
	memcpy(f + 6, mac_cli, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 40;		/* total length */
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	inet_pton(AF_INET, "198.18.0.2", ip + 12);
	inet_pton(AF_INET, vip, ip + 16);
	sum = csum_add(0, ip, 20);
	sum = (uint16_t)~csum_fold16(sum);
	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;
	tcp[0] = 40000 >> 8;
	tcp[1] = 40000 & 0xff;
	tcp[3] = 80;
	tcp[12] = 5 << 4;
	tcp[13] = syn ? 0x02 : 0x10;
	tcp[14] = 0xff;
	return 54;
}

/*
 * Is out what the program makes of in?  DSR: the frame unchanged but for
 * its MACs (destination: a backend's, source: the PoP's).  IP-in-IP: an
 * outer IPv4 header (protocol 4, destination a backend, source in
 * 198.18.250.0/24, valid checksum) before the unchanged packet, MACs of
 * the FIB's next hop.  The flow fields of a new flow differ from in's.
 */
static int lb_check(const struct lbcase *c, const uint8_t *in, size_t len,
		    const struct run *r)
{
	const uint8_t *o = r->out, *ip;
	char why[128] = "";

	if (r->retval != XDP_TX) {
		snprintf(why, sizeof(why), "verdict %u, not XDP_TX", r->retval);
		goto bad;
	}
	if (!c->ipip) {
		if (r->out_len != len || o[0] != 0x02 || memcmp(o + 1, "\0\0\0\xd5", 4) ||
		    o[5] < 0x0a || o[5] > 0x0c) {
			snprintf(why, sizeof(why), "not sent to a backend's MAC");
			goto bad;
		}
		/* new flows: source address bytes 28-29, port 34-35 vary */
		if (memcmp(o + 6, in, 6) || memcmp(o + 12, in + 12, 16) ||
		    memcmp(o + 30, in + 30, 4) ||
		    (!c->new_flows && memcmp(o + 34, in + 34, len - 34)) ||
		    (c->new_flows && memcmp(o + 36, in + 36, len - 36))) {
			snprintf(why, sizeof(why), "the packet changed");
			goto bad;
		}
		return 0;
	}
	ip = o + 14;
	if (r->out_len != len + 20 || memcmp(o + 1, "\0\0\0\xee\x0", 4) ||
	    o[5] < 0x0a || o[5] > 0x0c || o[6] != 0x02 || o[11] != 0x01) {
		snprintf(why, sizeof(why), "not sent to a backend's next hop");
		goto bad;
	}
	if (o[12] != 0x08 || o[13] || ip[0] != 0x45 || ip[9] != 4 ||
	    ((ip[2] << 8) | ip[3]) != (int)len - 14 + 20 ||
	    csum_fold16(csum_add(0, ip, 20)) != 0xffff) {
		snprintf(why, sizeof(why), "bad outer header");
		goto bad;
	}
	if (memcmp(ip + 12, "\xc6\x12\xfa", 3) || memcmp(ip + 16, "\xc6\x12\x05", 3) ||
	    ip[19] < 10 || ip[19] > 12 || ip[19] != o[5]) {
		snprintf(why, sizeof(why), "outer addresses wrong");
		goto bad;
	}
	if ((!c->new_flows && memcmp(ip + 20, in + 14, len - 14)) ||
	    (c->new_flows && (memcmp(ip + 20, in + 14, 14) ||
			      memcmp(ip + 20 + 16, in + 14 + 16, 4) ||
			      memcmp(ip + 20 + 22, in + 14 + 22, len - 14 - 22)))) {
		snprintf(why, sizeof(why), "the inner packet changed");
		goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "  %s: wrong output: %s\n", c->name, why);
	return -1;
}

static int set_vary(struct testrun *tr, int on, int restore, const uint8_t *frame)
{
	struct psb_vary v = { .on = on, .port_off = 34, .addr_off = 28,
			      .restore = restore };
	__u32 zero = 0;

	memcpy(&v.port0, frame + 34, 2);
	memcpy(&v.addr0, frame + 28, 2);
	if (bpf_map_update_elem(bpf_map__fd(tr->maps.psb_vary), &zero, &v, BPF_ANY)) {
		fprintf(stderr, "psb_vary: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int lb_timed(int fd, const struct lbcase *c, const uint8_t *in,
		    size_t len, const struct run *want, __u32 *ns, int ovh)
{
	static struct run r;

	if (run(fd, in, len, repeat, &r))
		return -1;
	*ns = r.ns;
	if (ovh) {
		if (r.retval == XDP_TX && r.out_len == len && !memcmp(r.out, in, 28) &&
		    (c->new_flows || !memcmp(r.out, in, len)))
			return 0;
		fprintf(stderr, "  %s wrapper: timed run left another frame\n", c->name);
		return -1;
	}
	/* DSR runs without restore (psb_vary): from the second repeat on the
	 * program sees its own output, whose source MAC (the previous
	 * destination, a backend's) it moves over again; that one field
	 * differs from a single run's, every other byte must not */
	if (!c->ipip && r.out_len >= 12)
		memcpy(r.out + 6, in, 6);
	if (c->new_flows)
		return lb_check(c, in, len, &r);
	if (r.retval != want->retval || r.out_len != want->out_len ||
	    memcmp(r.out, want->out, want->out_len)) {
		fprintf(stderr, "  %s: timed run left another frame than expected\n",
			c->name);
		return -1;
	}
	return 0;
}

static uint64_t new_flows_of(const char *vip)
{
	struct ps_vip_conf v = { .port = 80, .proto = IPPROTO_TCP };
	struct ps_lb_stats st;
	int id;

	v.addr.family = AF_INET;
	inet_pton(AF_INET, vip, &v.addr.v4);
	id = ps_lb_vip_id(&lbm, &v);
	if (id < 0 || ps_lb_vip_stats(&lbm, id, &st))
		return 0;
	return st.new_flows;
}

static int lb_case(struct ps_prog *prog, struct testrun *tr,
		   const struct lbcase *c, double *ns)
{
	int wrap = bpf_program__fd(tr->progs.psb_restore_lb);
	int tx = bpf_program__fd(tr->progs.psb_tx);
	int fd = c->floor ? bpf_program__fd(tr->progs.psb_lb_floor) : prog->prog_fd;
	uint8_t in[64];
	static struct run ref;
	__u32 ovh[64], cost[64], mo, mc;
	uint64_t nf0, nf;
	size_t len = tcp_frame(c->vip, c->new_flows || c->same, in);

	fprintf(stderr, "  %s: %s\n", c->name, c->what);
	/* the program alone, once (an established flow is now in ps_conn) */
	if (run(fd, in, len, 1, &ref))
		return -1;
	if (lb_check(c, in, len, &ref))
		return -1;
	if (set_orig(tr, in, len) || set_vary(tr, c->new_flows, c->ipip, in))
		return -1;
	/* untimed round */
	if (set_next(tr, fd) || lb_timed(wrap, c, in, len, &ref, &cost[0], 0))
		return -1;
	nf0 = new_flows_of(c->vip);
	for (int i = 0; i < rounds; i++) {
		if (set_next(tr, tx) || lb_timed(wrap, c, in, len, &ref, &ovh[i], 1))
			return -1;
		if (set_next(tr, fd) ||
		    lb_timed(wrap, c, in, len, &ref, &cost[i], 0))
			return -1;
	}
	/* were the flows new (or not) as the case says? */
	nf = new_flows_of(c->vip) - nf0;
	if (!c->floor && nf != (c->new_flows || c->same ? (uint64_t)rounds * repeat : 0)) {
		fprintf(stderr, "  %s: %llu new flows in %d x %d packets\n", c->name,
			(unsigned long long)nf, rounds, repeat);
		return -1;
	}
	mo = median(ovh, rounds);
	mc = median(cost, rounds);
	fprintf(stderr, "  %s: wrapper+program %u ns (%u..%u), wrapper %u ns (%u..%u); %llu new flows\n",
		c->name, mc, cost[0], cost[rounds - 1], mo, ovh[0],
		ovh[rounds - 1], (unsigned long long)nf);
	*ns = (double)mc - mo;
	return 0;
}

static int lb_bench(struct ps_prog *prog, struct testrun *tr)
{
	double figs[NLBCASES] = { 0 };
	int rc = 0;

	fprintf(stderr, "BPF_PROG_TEST_RUN, flow steering (xdp_steer behind psb_restore_lb):\n");
	if (lb_net_setup() || lb_maps_setup(prog)) {
		fprintf(stderr, "  cannot set up flow steering\n");
		return -1;
	}
	{
		struct ps_real fr = { .mac = { 0x02, 0, 0, 0, 0xd5, 0x0a }, .family = 4 };
		__u32 zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(tr->maps.psb_floor_reals),
					&zero, &fr, BPF_ANY))
			return -1;
	}
	for (size_t i = 0; i < NLBCASES; i++) {
		double ns;

		if (only && strcmp(only, lbcases[i].name))
			continue;
		if (lb_case(prog, tr, &lbcases[i], &ns)) {
			rc = -1;
			continue;
		}
		figs[i] = ns;
		printf("lb_testrun_%s_ns: %.0f ns\n", lbcases[i].name, ns);
		fflush(stdout);
	}
	/* popsteer against the floor, DSR: what the rest of its work costs */
	if (figs[0] > 0 && figs[4] > 0)
		printf("lb_established_dsr_vs_floor_ratio: %.2f x\n", figs[0] / figs[4]);
	if (figs[1] > 0 && figs[5] > 0)
		printf("lb_new_dsr_vs_floor_ratio: %.2f x\n", figs[1] / figs[5]);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "Usage: bench_testrun [-r REPEAT] [-n ROUNDS] [-k INSTANCES] [-c CASE]\n");
	return 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_d(const double *v, int n)
{
	double s[INSTANCES_MAX];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(double), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* One DNS case on every instance: *ns is the median of their figures,
 * *best the median of their figures from their fastest rounds (the
 * machine's quiet moments: what else runs on it only ever adds time). */
static int bench_instances(struct ps_prog *prog, struct testrun **tr,
			   const struct tcase *c, int floor, double *ns,
			   double *best, __u32 *ovh_all, int *novh)
{
	double v[INSTANCES_MAX], b[INSTANCES_MAX];

	for (int k = 0; k < instances; k++) {
		int fd = floor ? bpf_program__fd(tr[k]->progs.psb_dns_floor) :
				 prog[k].prog_fd;

		if (bench_case(fd, tr[k], c, &v[k], &b[k], ovh_all, novh))
			return -1;
	}
	*ns = median_d(v, instances);
	*best = median_d(b, instances);
	fprintf(stderr, "  %s: %.0f ns, the median of %d loads:", c->name,
		*ns, instances);
	for (int k = 0; k < instances; k++)
		fprintf(stderr, " %.0f", v[k]);
	fprintf(stderr, "; from their fastest rounds %.0f ns:", *best);
	for (int k = 0; k < instances; k++)
		fprintf(stderr, " %.0f", b[k]);
	fprintf(stderr, "\n");
	return 0;
}

int main(int argc, char **argv)
{
	static __u32 ovh_all[(NCASES + 1) * 64 * INSTANCES_MAX];
	struct testrun *trs[INSTANCES_MAX] = { 0 }, *tr;
	struct ps_prog progs[INSTANCES_MAX];
	double figs[NCASES] = { 0 };
	__u32 empty[64];
	int opt, rc = 0, novh = 0, loaded = 0;
	uint8_t q[FRAME_MAX];
	size_t qlen;

	while ((opt = getopt(argc, argv, "r:n:k:c:h")) != -1) {
		switch (opt) {
		case 'r': repeat = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 'k': instances = atoi(optarg); break;
		case 'c': only = optarg; break;
		default: return usage();
		}
	}
	if (repeat < 1 || rounds < 1 || rounds > 64 || instances < 1 ||
	    instances > INSTANCES_MAX)
		return usage();
	if (geteuid() != 0) {
		fprintf(stderr, "bench_testrun: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}

	for (; loaded < instances; loaded++) {
		if (prog_setup(&progs[loaded], config)) {
			fprintf(stderr, "bench_testrun: cannot load the steer program\n");
			rc = 1;
			goto out;
		}
		trs[loaded] = testrun__open_and_load();
		if (!trs[loaded]) {
			fprintf(stderr, "bench_testrun: cannot load the wrapper: %s\n",
				strerror(errno));
			prog_teardown(&progs[loaded++]);
			rc = 1;
			goto out;
		}
	}
	tr = trs[0];

	fprintf(stderr, "BPF_PROG_TEST_RUN, xdp_steer behind the restoring wrapper:\n");
	for (size_t i = 0; i < NCASES; i++) {
		double ns, best;

		if (only && strcmp(only, cases[i].name))
			continue;
		if (bench_instances(progs, trs, &cases[i], 0, &ns, &best,
				    ovh_all, &novh)) {
			rc = 1;
			continue;
		}
		figs[i] = ns;
		printf("dns_testrun_%s_ns: %.0f ns\n", cases[i].name, ns);
		printf("dns_testrun_%s_best_ns: %.0f ns\n", cases[i].name, best);
		fflush(stdout);
	}
	/* the floor: the least an in-place answerer does, same query as
	 * a_edns, same wrapper, same reply checks */
	if (!only || !strcmp(only, "floor")) {
		static const struct tcase fc = {
			"floor", "the floor (psb_dns_floor): A www.bench.example, EDNS, IPv4, fixed offsets",
			"www.bench.example", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, 0,
			"198.18.1.10" };
		struct psb_floor_dns fd = { 0 };
		__u32 zero = 0;
		double ns, best, a_edns = figs[0];
		int bad = 0;

		qlen = query_frame(&fc, q);
		memcpy(fd.name, q + 54, 19);
		inet_pton(AF_INET, fc.addr, &fd.addr4);
		for (int k = 0; k < instances; k++)
			if (bpf_map_update_elem(bpf_map__fd(trs[k]->maps.psb_floor_dns),
						&zero, &fd, BPF_ANY))
				bad = 1;
		if (bad || bench_instances(progs, trs, &fc, 1, &ns, &best,
					   ovh_all, &novh)) {
			rc = 1;
		} else {
			printf("dns_testrun_floor_ns: %.0f ns\n", ns);
			printf("dns_testrun_floor_best_ns: %.0f ns\n", best);
			if (a_edns > 0)
				printf("dns_a_edns_vs_floor_ratio: %.2f x\n",
				       a_edns / ns);
			fflush(stdout);
		}
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
	fflush(stdout);

	/* last: it moves the process into a network namespace of its own
	 * (the first instance only) */
	if (lb_bench(&progs[0], tr))
		rc = 1;
out:
	for (int k = 0; k < loaded; k++) {
		testrun__destroy(trs[k]);
		prog_teardown(&progs[k]);
	}
	return rc;
}
