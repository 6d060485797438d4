// SPDX-License-Identifier: GPL-2.0-only
/*
 * The map writer against the real program: changes show up in answers,
 * stale names go, pools keep their slot, and a reader racing the writer
 * never sees a half-written table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <ldns/ldns.h>

#include "check.h"
#include "pkt.h"
#include "maps.h"
#include "conf.h"
#include "lbmaps.h"
#include "steer.skel.h"

CHECK_DEFINE;

#define XDP_PASS 2
#define XDP_TX 3

#define HEAD \
	"interfaces = [ \"t0\" ];\n" \
	"zones = ( { name = \"cdn.example\"; soa = { mname = \"ns.cdn.example\"; rname = \"h.cdn.example\"; };\n" \
	"            ns = [ \"ns.cdn.example\" ]; } );\n"

/* generation A and B: every answer set must come wholly from one */
static const char *conf_a = HEAD
	"pools = ( { name = \"p\"; answers = 4; servers = (\n"
	"  { address = \"198.18.10.1\"; }, { address = \"198.18.10.2\"; },\n"
	"  { address = \"198.18.10.3\"; }, { address = \"198.18.10.4\"; } ); } );\n"
	"names = ( { name = \"www.cdn.example\"; pool = \"p\"; } );\n";
static const char *conf_b = HEAD
	"pools = ( { name = \"p\"; answers = 4; servers = (\n"
	"  { address = \"198.18.20.1\"; }, { address = \"198.18.20.2\"; },\n"
	"  { address = \"198.18.20.3\"; }, { address = \"198.18.20.4\"; } ); } );\n"
	"names = ( { name = \"www.cdn.example\"; pool = \"p\"; } );\n";
/* two pools; then the first goes away and a name changes pool */
static const char *conf_two = HEAD
	"pools = ( { name = \"first\"; servers = ( { address = \"198.18.30.1\"; } ); },\n"
	"          { name = \"second\"; servers = ( { address = \"198.18.30.2\"; } ); } );\n"
	"names = ( { name = \"a.cdn.example\"; pool = \"first\"; },\n"
	"          { name = \"b.cdn.example\"; pool = \"second\"; },\n"
	"          { name = \"x.y.z.cdn.example\"; pool = \"second\"; } );\n";
static const char *conf_second_only = HEAD
	"pools = ( { name = \"second\"; servers = ( { address = \"198.18.30.2\"; } ); } );\n"
	"names = ( { name = \"b.cdn.example\"; pool = \"second\"; } );\n";

static struct ps_prog prog;

/* Query name/type; returns the rcode and the A records in addrs. */
static int ask(const char *name, int *naddr, uint32_t *addrs)
{
	uint8_t msg[512], in[FRAME_MAX], out[FRAME_MAX];
	struct frame_opts o = { .family = 4 };
	ldns_pkt *q, *r = NULL;
	const uint8_t *dns;
	size_t len, n, out_len;
	uint8_t *wire;
	char why[128];
	int rcode, dlen;

	q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A,
			       LDNS_RR_CLASS_IN, 0);
	ldns_pkt2wire(&wire, q, &len);
	memcpy(msg, wire, len);
	free(wire);
	ldns_pkt_free(q);
	n = frame_build(in, &o, msg, len);
	if (prog_run(&prog, in, n, out, &out_len) != XDP_TX)
		return -1;
	dlen = reply_check(in, n, &o, out, out_len, &dns, why, sizeof(why));
	if (dlen < 0 || ldns_wire2pkt(&r, dns, dlen) != LDNS_STATUS_OK)
		return -2;
	rcode = ldns_pkt_get_rcode(r);
	*naddr = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(r)); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r), i);

		memcpy(&addrs[(*naddr)++], ldns_rdf_data(ldns_rr_rdf(rr, 0)), 4);
	}
	ldns_pkt_free(r);
	return rcode;
}

static uint32_t ip(const char *s)
{
	return inet_addr(s);
}

static void t_change_shows(void)
{
	uint32_t a[8];
	int n;

	CHECK(!prog_reconfig(&prog, conf_a), "config a");
	CHECK_EQ(ask("www.cdn.example", &n, a), LDNS_RCODE_NOERROR);
	CHECK_EQ(n, 4);
	CHECK((ntohl(a[0]) >> 8) == ((198u << 16) | (18 << 8) | 10), "answer from a");
	CHECK(!prog_reconfig(&prog, conf_b), "config b");
	CHECK_EQ(ask("www.cdn.example", &n, a), LDNS_RCODE_NOERROR);
	CHECK((ntohl(a[0]) >> 8) == ((198u << 16) | (18 << 8) | 20), "answer from b");
}

static void t_stale_names(void)
{
	uint32_t a[8];
	int n;

	CHECK(!prog_reconfig(&prog, conf_two), "config two");
	CHECK_EQ(ask("a.cdn.example", &n, a), LDNS_RCODE_NOERROR);
	CHECK_EQ(a[0], ip("198.18.30.1"));
	CHECK_EQ(ask("y.z.cdn.example", &n, a), LDNS_RCODE_NOERROR);	/* ENT */
	CHECK_EQ(n, 0);
	CHECK(!prog_reconfig(&prog, conf_second_only), "config second only");
	CHECK_EQ(ask("a.cdn.example", &n, a), LDNS_RCODE_NXDOMAIN);
	CHECK_EQ(ask("y.z.cdn.example", &n, a), LDNS_RCODE_NXDOMAIN);
	CHECK_EQ(ask("x.y.z.cdn.example", &n, a), LDNS_RCODE_NXDOMAIN);
	CHECK_EQ(ask("b.cdn.example", &n, a), LDNS_RCODE_NOERROR);
	CHECK_EQ(a[0], ip("198.18.30.2"));
}

/* Slot holding the pool called name in its active table, or -1. */
static int pool_slot(const char *name)
{
	struct ps_sel *sel = malloc(sizeof(*sel));
	int slot = -1;

	for (__u32 i = 0; i < PS_MAX_POOLS && sel && slot < 0; i++) {
		__u32 gen, k, g = PS_GEN_POOL(i);

		if (bpf_map_lookup_elem(prog.maps->gen, &g, &gen))
			break;
		k = PS_BUF(i, gen);
		if (bpf_map_lookup_elem(prog.maps->sel, &k, sel))
			break;
		if (!strcmp(sel->name, name))
			slot = i;
	}
	free(sel);
	return slot;
}

/* The slot of pool "second" survives the removal of "first"; the freed
 * slot is cleared. */
static void t_slots_kept(void)
{
	int second;

	CHECK(!prog_reconfig(&prog, conf_two), "config two");
	second = pool_slot("second");
	CHECK(second >= 0, "pool 'second' not in the maps");
	CHECK(pool_slot("first") >= 0, "pool 'first' not in the maps");
	CHECK(!prog_reconfig(&prog, conf_second_only), "config second only");
	CHECK_EQ(pool_slot("second"), second);
	CHECK_EQ(pool_slot("first"), -1);
}

/* ---- a reader racing the writer ---- */

static atomic_int stop_writer;
static atomic_long writes;

static void *writer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_writer)) {
		if (prog_reconfig(&prog, atomic_load(&writes) & 1 ? conf_a : conf_b))
			break;
		atomic_fetch_add(&writes, 1);
	}
	return NULL;
}

static void t_no_torn_tables(void)
{
	struct timespec t0, t;
	long reads = 0, torn = 0, bad = 0;
	pthread_t th;

	CHECK(!prog_reconfig(&prog, conf_a), "config a");
	pthread_create(&th, NULL, writer, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {	/* bounded: 3 s or 200 000 queries */
		uint32_t a[8], net;
		int n;

		if (ask("www.cdn.example", &n, a) != LDNS_RCODE_NOERROR || n != 4) {
			bad++;
			continue;
		}
		net = ntohl(a[0]) & 0xffffff00;
		for (int i = 1; i < 4; i++)
			torn += (ntohl(a[i]) & 0xffffff00) != net;
		for (int i = 0; i < 4; i++)
			for (int j = i + 1; j < 4; j++)
				torn += a[i] == a[j];
		reads++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (reads < 200000 && (t.tv_sec - t0.tv_sec) < 3);
	atomic_store(&stop_writer, 1);
	pthread_join(th, NULL);
	CHECK(atomic_load(&writes) >= 20, "only %ld table rewrites", atomic_load(&writes));
	CHECK_EQ(bad, 0);
	CHECK_EQ(torn, 0);
	printf("# %ld answers read during %ld table rewrites\n", reads,
	       atomic_load(&writes));
}

/* ---- flow steering maps (user/lib/lbmaps.c) ---------------------------- */

static struct ps_lb_maps lbm;

/* A config with PS_MAX_VIPS VIPs v0.. on port 80; VIP `swap` (if >= 0)
 * is w<swap> at 198.18.200.1 instead. */
static char *vips_conf(int swap)
{
	size_t cap = 64 * 1024, n;
	char *t = malloc(cap);

	if (!t)
		abort();
	n = snprintf(t, cap, HEAD
		     "pools = ( { name = \"p\"; servers = ( { address = \"198.18.10.1\"; mac = \"02:00:00:00:00:01\"; } ); } );\n"
		     "names = ( { name = \"www.cdn.example\"; pool = \"p\"; } );\n"
		     "vips = (\n");
	for (int i = 0; i < PS_MAX_VIPS; i++) {
		char addr[32];

		/* v5 is 198.18.100.6 */
		snprintf(addr, sizeof(addr), "198.18.%d.%d", 100 + i / 250, i % 250 + 1);
		n += snprintf(t + n, cap - n,
			      "  { name = \"%c%d\"; address = \"%s\"; port = 80; pool = \"p\"; table_size = 251; }%s\n",
			      i == swap ? 'w' : 'v', i, i == swap ? "198.18.200.1" : addr,
			      i + 1 < PS_MAX_VIPS ? "," : "");
	}
	snprintf(t + n, cap - n, ");\n");
	return t;
}

static int lb_sync_text(const char *text, struct ps_lb_report *rep)
{
	struct ps_lb_backend *be[PS_MAX_VIPS] = { 0 };
	int nb[PS_MAX_VIPS] = { 0 }, rc;
	char err[PS_ERR_MAX];
	struct ps_conf conf;

	if (ps_conf_load_string(&conf, text, "lb.conf", err, sizeof(err))) {
		CHECK(0, "config: %s", err);
		return -1;
	}
	for (int v = 0; v < conf.nvips; v++) {
		be[v] = calloc(1, sizeof(*be[v]));
		if (!be[v])
			abort();
		be[v]->addr = conf.pools[0].servers[0].addr;
		be[v]->weight = 1;
		be[v]->flags = PS_REAL_UP;
		memcpy(be[v]->mac, conf.pools[0].servers[0].mac, 6);
		be[v]->has_mac = true;
		nb[v] = 1;
	}
	rc = ps_lb_sync(&lbm, &conf, be, nb, NULL, rep);
	for (int v = 0; v < conf.nvips; v++)
		free(be[v]);
	ps_conf_free(&conf);
	return rc;
}

static int vips_count(void)
{
	struct ps_vip_key k, next;
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(lbm.vips, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

/* With every VIP id in use, a new VIP takes the id of the one it
 * replaces: the old VIP is out of ps_vips, and the id's counters start
 * at zero. */
static void t_lb_vip_id_reuse(void)
{
	struct ps_lb_report rep;
	struct ps_vip_key old = {}, neu = {};
	struct ps_vip val;
	struct ps_lb_stats st, *per;
	char *a = vips_conf(-1), *b = vips_conf(5);
	int ncpu = libbpf_num_possible_cpus(), id;
	__u32 key;

	if (ps_lb_from_object(&lbm, prog.skel->obj)) {
		CHECK(0, "flow steering maps missing");
		goto out;
	}
	CHECK(lb_sync_text(a, &rep) == 0, "sync of %d VIPs failed", PS_MAX_VIPS);
	CHECK_EQ(vips_count(), PS_MAX_VIPS);
	old.family = neu.family = 4;
	old.port = neu.port = htons(80);
	old.proto = neu.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "198.18.100.6", old.addr);
	inet_pton(AF_INET, "198.18.200.1", neu.addr);
	CHECK(!bpf_map_lookup_elem(lbm.vips, &old, &val), "v5 not in ps_vips");
	id = val.id;
	/* v5 counted something */
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		abort();
	per[0].packets = 7;
	key = id;
	CHECK(!bpf_map_update_elem(lbm.vip_stats, &key, per, BPF_ANY), "stats write");
	CHECK(lb_sync_text(b, &rep) == 0, "sync with v5 replaced failed");
	CHECK_EQ(vips_count(), PS_MAX_VIPS);
	CHECK(bpf_map_lookup_elem(lbm.vips, &old, &val) && errno == ENOENT,
	      "the replaced VIP is still in ps_vips");
	CHECK(!bpf_map_lookup_elem(lbm.vips, &neu, &val) && (int)val.id == id,
	      "the new VIP has id %u, expected the freed %d", val.id, id);
	CHECK(!ps_lb_vip_stats(&lbm, id, &st) && st.packets == 0,
	      "the new VIP starts with %llu packets", (unsigned long long)st.packets);
	free(per);
	/* back to nothing: ps_vips empty again */
	CHECK(lb_sync_text(HEAD "pools = ( { name = \"p\"; servers = ( { address = \"198.18.10.1\"; } ); } );\n"
			   "names = ( { name = \"www.cdn.example\"; pool = \"p\"; } );\n", &rep) == 0,
	      "sync without VIPs failed");
	CHECK_EQ(vips_count(), 0);
out:
	free(a);
	free(b);
}

/* A config of n names of up to 32 bytes in one pool. */
static char *many_names(int n)
{
	size_t cap = 512 + (size_t)n * 64, len;
	char *c = malloc(cap);

	if (!c)
		return NULL;
	len = snprintf(c, cap, HEAD "pools = ( { name = \"p\"; servers = ( { address = \"198.18.40.1\"; } ); } );\n"
		       "names = (\n");
	for (int i = 0; i < n; i++)
		len += snprintf(c + len, cap - len, "%s{ name = \"n%d.cdn.example\"; pool = \"p\"; }\n",
				i ? "," : "", i);
	snprintf(c + len, cap - len, ");\n");
	return c;
}

/* The short-name table takes PS_NTAB_NAMES names (here the zone apex and
 * PS_NTAB_NAMES - 1 configured ones: a seed that fits them all is found),
 * and one more is refused with E2BIG, the names before still answered. */
static void t_ntab_capacity(void)
{
	char *full = many_names(PS_NTAB_NAMES - 1), *over = many_names(PS_NTAB_NAMES);
	char name[64];
	uint32_t a[8];
	int n;

	if (!full || !over) {
		CHECK(0, "out of memory");
		goto out;
	}
	CHECK(!prog_reconfig(&prog, full), "%d short names refused", PS_NTAB_NAMES);
	for (int i = 0; i < PS_NTAB_NAMES - 1; i += PS_NTAB_NAMES / 8 - 1) {
		snprintf(name, sizeof(name), "n%d.cdn.example", i);
		CHECK(ask(name, &n, a) == LDNS_RCODE_NOERROR && n == 1 &&
		      a[0] == ip("198.18.40.1"), "%s not answered", name);
	}
	CHECK_EQ(prog_reconfig(&prog, over), -E2BIG);
	/* and what steerd says of it names the limit */
	snprintf(name, sizeof(name), "at most %d names", PS_NTAB_NAMES);
	CHECK(strstr(ps_maps_sync_strerror(-E2BIG), name),
	      "E2BIG explained as \"%s\"", ps_maps_sync_strerror(-E2BIG));
	snprintf(name, sizeof(name), "n%d.cdn.example", PS_NTAB_NAMES - 2);
	CHECK(ask(name, &n, a) == LDNS_RCODE_NOERROR && n == 1,
	      "%s lost after the refused config", name);
out:
	free(full);
	free(over);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "maps_ntab_capacity", t_ntab_capacity },
	{ "maps_change_shows_in_answers", t_change_shows },
	{ "maps_stale_names_deleted", t_stale_names },
	{ "maps_pool_slots_kept", t_slots_kept },
	{ "maps_no_torn_tables", t_no_torn_tables },
	{ "maps_lb_vip_id_reuse", t_lb_vip_id_reuse },
};

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		check_skip("maps_sync", "needs root for BPF_PROG_TEST_RUN");
		return 0;
	}
	if (prog_setup(&prog, conf_a)) {
		printf("FAIL maps_sync_setup: could not load the program\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		check_begin(cases[i].name);
		cases[i].fn();
		check_end();
	}
	prog_teardown(&prog);
	return ps_chk.nfail ? 1 : 0;
}
