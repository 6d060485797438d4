// SPDX-License-Identifier: GPL-2.0-only
/* Probes' numbers: hysteresis, smoothing, scores, policies, and the
 * selection tables built from them (threshold, fallback, backup). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "unit.h"
#include "build.h"
#include "score.h"

/* ---- hysteresis ------------------------------------------------------------ */

static void t_hyst(void)
{
	struct ps_hyst h = { .rise = 2, .fall = 3 };

	CHECK(!ps_hyst_result(&h, true) && h.state == PS_HEALTH_UNKNOWN,
	      "one success is not up yet");
	CHECK(ps_hyst_result(&h, true) && h.state == PS_HEALTH_UP,
	      "rise 2: up after two");
	CHECK(!ps_hyst_result(&h, false) && !ps_hyst_result(&h, false) &&
	      h.state == PS_HEALTH_UP, "two failures do not take it down");
	CHECK(!ps_hyst_result(&h, true) && h.bad == 0,
	      "a success resets the failures");
	for (int i = 0; i < 10; i++)	/* flapping never moves it */
		CHECK(!ps_hyst_result(&h, i & 1), "flap %d changed the state", i);
	h.bad = 0;
	ps_hyst_result(&h, false);
	ps_hyst_result(&h, false);
	CHECK(ps_hyst_result(&h, false) && h.state == PS_HEALTH_DOWN,
	      "fall 3: down after three in a row");
	CHECK(!ps_hyst_result(&h, true) && h.state == PS_HEALTH_DOWN,
	      "one success after down is not up");
	CHECK(ps_hyst_result(&h, true) && h.state == PS_HEALTH_UP,
	      "up again after rise");
}

static void t_hyst_from_unknown(void)
{
	struct ps_hyst h = { .rise = 1, .fall = 1 };

	CHECK(ps_hyst_result(&h, false) && h.state == PS_HEALTH_DOWN,
	      "fall 1: the first failure decides");
	h = (struct ps_hyst){ .rise = 2, .fall = 3 };
	ps_hyst_result(&h, false);
	ps_hyst_result(&h, false);
	CHECK_EQ(h.state, PS_HEALTH_UNKNOWN);
	ps_hyst_result(&h, false);
	CHECK_EQ(h.state, PS_HEALTH_DOWN);
}

/* ---- smoothing and scores ---------------------------------------------------- */

static void t_ewma(void)
{
	struct ps_ewma e = { 0 };

	ps_ewma_add(&e, 10, 0.3);
	CHECK(e.seen && e.smooth == 10 && e.last == 10, "first sample is the value");
	ps_ewma_add(&e, 20, 0.3);
	CHECK(fabs(e.smooth - 13) < 1e-9 && e.last == 20, "smooth %g", e.smooth);
	/* noise around 50 stays near 50; a step is followed */
	e = (struct ps_ewma){ 0 };
	for (int i = 0; i < 200; i++)
		ps_ewma_add(&e, 50 + (i & 1 ? 20 : -20), 0.3);
	CHECK(fabs(e.smooth - 50) < 5, "noise: smooth %g", e.smooth);
	for (int i = 0; i < 30; i++)
		ps_ewma_add(&e, 100, 0.3);
	CHECK(fabs(e.smooth - 100) < 0.1, "step: smooth %g", e.smooth);
}

static void t_score(void)
{
	struct ps_scoring sc;
	struct ps_srv_state s = { 0 };

	ps_scoring_default(&sc);
	CHECK(ps_score(&s, &sc) == 0, "no metrics: score 0");
	ps_ewma_add(&s.m[PS_M_CPU], 0.5, sc.alpha);
	CHECK(fabs(ps_score(&s, &sc) - 0.5) < 1e-9, "cpu 0.5 -> %g",
	      ps_score(&s, &sc));
	ps_ewma_add(&s.m[PS_M_RESPONSE], 250, sc.alpha);
	CHECK(fabs(ps_score(&s, &sc) - 1.0) < 1e-9, "cpu .5 + 250 ms of 500 -> %g",
	      ps_score(&s, &sc));
	ps_ewma_add(&s.m[PS_M_LATENCY], 100, sc.alpha);
	CHECK(fabs(ps_score(&s, &sc) - 1.0) < 1e-9, "latency weighs 0 by default");
	sc.weight[PS_M_LATENCY] = 2;
	sc.weight[PS_M_RESPONSE] = 0;
	CHECK(fabs(ps_score(&s, &sc) - 2.5) < 1e-9, "weights: %g", ps_score(&s, &sc));
}

static void t_usable(void)
{
	struct ps_srv_state s = { .initial = PS_HEALTH_UP };

	CHECK(ps_srv_usable(&s), "unprobed, initial up: usable");
	s.initial = PS_HEALTH_DOWN;
	CHECK(!ps_srv_usable(&s), "unprobed, initial down: not usable");
	s.health = PS_HEALTH_UP;
	CHECK(ps_srv_usable(&s), "probed up beats initial down");
	s.admin = PS_ADMIN_DRAIN;
	CHECK(!ps_srv_usable(&s), "draining: no new answers");
	s.admin = PS_ADMIN_DOWN;
	CHECK(!ps_srv_usable(&s), "admin down");
	s.admin = PS_ADMIN_UP;
	s.health = PS_HEALTH_DOWN;
	s.initial = PS_HEALTH_UP;
	CHECK(!ps_srv_usable(&s), "probed down beats initial up");
}

/* What peer PoPs published: used for what this PoP does not measure */
static void t_peers(void)
{
	struct ps_scoring sc;
	struct ps_srv_state s = { .initial = PS_HEALTH_UP };
	double v;

	ps_scoring_default(&sc);
	CHECK(!ps_metric_value(&s, PS_M_CPU, &v), "nothing known: no value");
	s.peer[PS_M_CPU] = 0.8;
	s.peer_seen[PS_M_CPU] = true;
	CHECK(ps_metric_value(&s, PS_M_CPU, &v) && v == 0.8, "peers' cpu used");
	CHECK(fabs(ps_score(&s, &sc) - 0.8) < 1e-9, "scored from the peers: %g",
	      ps_score(&s, &sc));
	ps_ewma_add(&s.m[PS_M_CPU], 0.2, sc.alpha);
	CHECK(fabs(ps_score(&s, &sc) - 0.2) < 1e-9, "own measurement wins: %g",
	      ps_score(&s, &sc));
	s.peer[PS_M_RESPONSE] = 250;
	s.peer_seen[PS_M_RESPONSE] = true;
	CHECK(fabs(ps_score(&s, &sc) - 0.7) < 1e-9,
	      "own cpu + peers' response time: %g", ps_score(&s, &sc));

	CHECK(ps_srv_health(&s) == PS_HEALTH_UP, "no verdict anywhere: initial");
	s.peers_down = 2;
	s.peers_up = 1;
	CHECK(ps_srv_health(&s) == PS_HEALTH_DOWN && !ps_srv_usable(&s),
	      "no own verdict: the peers' majority (down)");
	s.peers_up = 2;
	CHECK(ps_srv_health(&s) == PS_HEALTH_UP, "a tie counts as up");
	s.peers_up = 0;
	s.health = PS_HEALTH_UP;
	CHECK(ps_srv_health(&s) == PS_HEALTH_UP && ps_srv_usable(&s),
	      "own verdict up beats the peers' down");
	s.health = PS_HEALTH_DOWN;
	s.peers_up = 5;
	s.peers_down = 0;
	CHECK(!ps_srv_usable(&s), "own verdict down beats the peers' up");
}

/* ---- policies ----------------------------------------------------------------- */

#define N 4
static struct ps_srv_state st[N];
static const struct ps_srv_state *sp[N] = { &st[0], &st[1], &st[2], &st[3] };

static void states(const double *score)
{
	memset(st, 0, sizeof(st));
	for (int i = 0; i < N; i++) {
		st[i].initial = PS_HEALTH_UP;
		st[i].health = PS_HEALTH_UP;
		st[i].score = score[i];
	}
}

static void t_weighted(void)
{
	double score[N] = { 0.5, 0.0, 0.9, 2.0 }, sw[N] = { 100, 100, 200, 100 };
	double w[N];
	int order[N], keep = -1;

	states(score);
	CHECK_EQ(ps_policy_weights(PS_POL_WEIGHTED, N, sp, sw, 0.1, &keep, w, order), 4);
	CHECK(fabs(w[0] - 50) < 1e-9 && fabs(w[1] - 100) < 1e-9 &&
	      fabs(w[2] - 20) < 1e-9, "weight x headroom: %g %g %g", w[0], w[1], w[2]);
	CHECK(fabs(w[3] - 5) < 1e-9, "overloaded keeps a trickle: %g", w[3]);
	st[1].health = PS_HEALTH_DOWN;
	sw[0] = 0;
	CHECK_EQ(ps_policy_weights(PS_POL_WEIGHTED, N, sp, sw, 0.1, &keep, w, order), 2);
	CHECK(w[0] == 0 && w[1] == 0, "down and weight 0 get nothing");
}

static void t_lowest(void)
{
	double score[N] = { 0.5, 0.3, 0.3, 0.8 }, sw[N] = { 1, 1, 1, 1 };
	double w[N];
	int order[N], keep = -1;

	states(score);
	ps_policy_weights(PS_POL_LOWEST, N, sp, sw, 0.1, &keep, w, order);
	CHECK(keep == 1 && w[1] == 1 && w[0] == 0 && w[2] == 0 && w[3] == 0,
	      "lowest, tie to the earlier: keep %d", keep);
	CHECK(order[0] == 1 && order[1] == 2 && order[2] == 0 && order[3] == 3,
	      "ranking %d %d %d %d", order[0], order[1], order[2], order[3]);
	/* within the margin the current one stays */
	st[2].score = 0.28;
	ps_policy_weights(PS_POL_LOWEST, N, sp, sw, 0.1, &keep, w, order);
	CHECK(keep == 1 && order[0] == 1, "within margin: stays on 1, got %d", keep);
	/* beyond it, the answer moves */
	st[2].score = 0.2;
	ps_policy_weights(PS_POL_LOWEST, N, sp, sw, 0.1, &keep, w, order);
	CHECK(keep == 2 && w[2] == 1 && order[0] == 2, "beyond margin: 2, got %d", keep);
	/* the current best going down moves it at once */
	st[2].health = PS_HEALTH_DOWN;
	ps_policy_weights(PS_POL_LOWEST, N, sp, sw, 0.1, &keep, w, order);
	CHECK(keep == 1 && order[3] == 2, "down: to 1 (got %d), ranked last", keep);
	/* nobody usable */
	for (int i = 0; i < N; i++)
		st[i].admin = PS_ADMIN_DOWN;
	CHECK_EQ(ps_policy_weights(PS_POL_LOWEST, N, sp, sw, 0.1, &keep, w, order), 0);
	CHECK_EQ(keep, -1);
}

static void t_hash_policy(void)
{
	double score[N] = { 0.9, 0.1, 0.5, 0.2 }, sw[N] = { 1, 2, 3, 4 };
	double w[N];
	int order[N], keep = -1;

	states(score);
	ps_policy_weights(PS_POL_HASH, N, sp, sw, 0.1, &keep, w, order);
	for (int i = 0; i < N; i++)
		CHECK(w[i] == sw[i], "hash: static weights, load ignored (%d)", i);
}

static void t_share_change(void)
{
	double a[3] = { 1, 1, 2 }, b[3] = { 2, 2, 4 }, c[3] = { 1, 1, 0 };

	CHECK(ps_share_change(3, a, b) < 1e-12, "same shares");
	/* relative to each server's share: the third loses all of its */
	CHECK(fabs(ps_share_change(3, a, c) - 1.0) < 1e-12, "%g",
	      ps_share_change(3, a, c));
	c[0] = 1.1;	/* 1:1 -> 1.1:1, the second loses 1/21 of its share */
	CHECK(fabs(ps_share_change(2, a, c) - (0.5 - 1 / 2.1) / 0.5) < 1e-9, "%g",
	      ps_share_change(2, a, c));
}

/* ---- tables ----------------------------------------------------------------------- */

static struct ps_conf conf;

static int load(const char *pools)
{
	char text[4096], err[PS_ERR_MAX];

	snprintf(text, sizeof(text),
		 "interfaces = [ \"eth0\" ];\n"
		 "dns = { listen = [ \"198.18.0.1\" ]; };\n"
		 "zones = ( { name = \"shop.example\";\n"
		 "  soa = { mname = \"ns1.shop.example\"; rname = \"h.shop.example\"; };\n"
		 "  ns = [ \"ns1.shop.example\" ]; } );\n"
		 "pools = ( %s );\n"
		 "names = ( { name = \"www.shop.example\"; pool = \"p\"; } );\n",
		 pools);
	ps_conf_free(&conf);
	if (ps_conf_load_string(&conf, text, "t.conf", err, sizeof(err))) {
		CHECK(0, "config: %s", err);
		return -1;
	}
	return 0;
}

static struct ps_pool_rt *rt_new(const struct ps_conf *c)
{
	struct ps_pool_rt *rt = calloc(c->npools, sizeof(*rt));

	for (int i = 0; i < c->npools; i++) {
		rt[i].srv = calloc(c->pools[i].nservers, sizeof(*rt[i].srv));
		rt[i].keep[0] = rt[i].keep[1] = -1;
		for (int j = 0; j < c->pools[i].nservers; j++) {
			rt[i].srv[j].admin = c->pools[i].servers[j].admin;
			rt[i].srv[j].initial = c->pools[i].servers[j].initial;
		}
	}
	return rt;
}

static void rt_del(struct ps_pool_rt *rt, int n)
{
	for (int i = 0; i < n; i++)
		free(rt[i].srv);
	free(rt);
}

/* slots whose first answer is IPv4 address a */
static int first4(const struct ps_sel *sel, const char *a)
{
	__be32 want;
	int n = 0;

	inet_pton(AF_INET, a, &want);
	for (int s = 0; s < PS_SEL_SLOTS; s++)
		n += sel->addr4[sel->slot4[s][0]] == want;
	return n;
}

static const char *four =
	"{ name = \"p\"; policy = \"%s\"; %s servers = (\n"
	"  { address = \"198.18.1.1\"; }, { address = \"198.18.1.2\"; },\n"
	"  { address = \"198.18.1.3\"; weight = 200; }, { address = \"198.18.1.4\"; } ); }";

static int load4(const char *policy, const char *extra, const char *more)
{
	char pools[2048];

	snprintf(pools, sizeof(pools), four, policy, extra);
	if (more) {
		size_t l = strlen(pools);

		snprintf(pools + l, sizeof(pools) - l, ", %s", more);
	}
	return load(pools);
}

static void t_table_lowest(void)
{
	struct ps_sel sel;
	struct ps_pool_rt *rt;

	if (load4("lowest", "answers = 2;", NULL))
		return;
	rt = rt_new(&conf);
	rt[0].srv[0].score = 0.4;
	rt[0].srv[1].score = 0.1;
	rt[0].srv[2].score = 0.3;
	rt[0].srv[3].score = 0.9;
	CHECK_EQ(ps_build_sel(&sel, &conf.pools[0], rt), 0);
	CHECK_EQ(sel.a4, 2);
	CHECK_EQ(first4(&sel, "198.18.1.2"), PS_SEL_SLOTS);
	for (int s = 0; s < PS_SEL_SLOTS; s++)
		CHECK(sel.slot4[s][1] == 2, "second answer is the second lowest");
	/* loads change: the answer moves */
	rt[0].srv[1].score = 0.8;
	ps_build_sel(&sel, &conf.pools[0], rt);
	CHECK_EQ(first4(&sel, "198.18.1.3"), PS_SEL_SLOTS);
	rt_del(rt, conf.npools);
}

static void t_table_weighted(void)
{
	struct ps_sel sel, before;
	struct ps_pool_rt *rt;

	if (load4("weighted", "threshold = 0.05;", NULL))
		return;
	rt = rt_new(&conf);
	/* capacity 100 x .5, 100 x 1, 200 x .75, 100 x .25: 50 100 150 25 */
	rt[0].srv[0].score = 0.5;
	rt[0].srv[1].score = 0.0;
	rt[0].srv[2].score = 0.25;
	rt[0].srv[3].score = 0.75;
	ps_build_sel(&sel, &conf.pools[0], rt);
	CHECK(abs(first4(&sel, "198.18.1.1") - 256 * 50 / 325) <= 1 &&
	      abs(first4(&sel, "198.18.1.2") - 256 * 100 / 325) <= 1 &&
	      abs(first4(&sel, "198.18.1.3") - 256 * 150 / 325) <= 1 &&
	      abs(first4(&sel, "198.18.1.4") - 256 * 25 / 325) <= 1,
	      "shares %d %d %d %d", first4(&sel, "198.18.1.1"),
	      first4(&sel, "198.18.1.2"), first4(&sel, "198.18.1.3"),
	      first4(&sel, "198.18.1.4"));
	/* a small change keeps the table as it is */
	before = sel;
	rt[0].srv[0].score = 0.52;
	ps_build_sel(&sel, &conf.pools[0], rt);
	CHECK(!memcmp(&sel, &before, sizeof(sel)), "under the threshold: same table");
	/* a big one rewrites it */
	rt[0].srv[0].score = 0.0;
	ps_build_sel(&sel, &conf.pools[0], rt);
	CHECK(first4(&sel, "198.18.1.1") > 256 * 50 / 325 + 20,
	      "over the threshold: rewritten (%d)", first4(&sel, "198.18.1.1"));
	/* a server going down always rewrites, whatever the threshold */
	before = sel;
	rt[0].srv[3].health = PS_HEALTH_DOWN;
	ps_build_sel(&sel, &conf.pools[0], rt);
	CHECK_EQ(first4(&sel, "198.18.1.4"), 0);
	rt_del(rt, conf.npools);
}

static void t_table_admin(void)
{
	struct ps_sel sel;
	struct ps_pool_rt *rt;

	/* the config alone: states from the config */
	if (load("{ name = \"p\"; servers = ( { address = \"198.18.1.1\"; state = \"drain\"; },\n"
		 "  { address = \"198.18.1.2\"; initial = \"down\"; },\n"
		 "  { address = \"198.18.1.3\"; } ); }"))
		return;
	ps_build_sel(&sel, &conf.pools[0], NULL);
	CHECK(first4(&sel, "198.18.1.1") == 0 && first4(&sel, "198.18.1.2") == 0 &&
	      first4(&sel, "198.18.1.3") == PS_SEL_SLOTS, "drain and initial down out");
	rt = rt_new(&conf);
	rt[0].srv[1].health = PS_HEALTH_UP;	/* its probes said up */
	ps_build_sel(&sel, &conf.pools[0], rt);
	CHECK_EQ(first4(&sel, "198.18.1.2"), PS_SEL_SLOTS / 2);
	rt_del(rt, conf.npools);
}

static void all_down(struct ps_pool_rt *rt)
{
	for (int j = 0; j < conf.pools[0].nservers; j++)
		rt[0].srv[j].health = PS_HEALTH_DOWN;
}

static void t_fallback(void)
{
	struct ps_image img;
	struct ps_pool_rt *rt;
	struct ps_sel sel;

	/* all (default): answer them all anyway -- but not the drained */
	if (load("{ name = \"p\"; servers = ( { address = \"198.18.1.1\"; },\n"
		 "  { address = \"198.18.1.2\"; state = \"drain\"; },\n"
		 "  { address = \"2001:db8::1\"; } ); }"))
		return;
	rt = rt_new(&conf);
	all_down(rt);
	CHECK_EQ(ps_build_sel(&sel, &conf.pools[0], rt), 3);
	CHECK(sel.a4 == 1 && sel.a6 == 1 && !sel.flags, "all: still answered");
	CHECK_EQ(first4(&sel, "198.18.1.1"), PS_SEL_SLOTS);
	rt_del(rt, conf.npools);

	/* servfail, per family: v6 still up */
	if (load("{ name = \"p\"; fallback = \"servfail\"; servers = (\n"
		 "  { address = \"198.18.1.1\"; }, { address = \"2001:db8::1\"; } ); }"))
		return;
	rt = rt_new(&conf);
	rt[0].srv[0].health = PS_HEALTH_DOWN;
	CHECK_EQ(ps_build_sel(&sel, &conf.pools[0], rt), 1);
	CHECK(sel.flags == PS_SEL_SERVFAIL4 && sel.a6 == 1, "servfail for A only");
	rt[0].srv[0].health = PS_HEALTH_UP;
	ps_build_sel(&sel, &conf.pools[0], rt);
	CHECK(sel.flags == 0 && sel.a4 == 1, "back up: answered");
	rt_del(rt, conf.npools);

	/* backup pool */
	if (load("{ name = \"p\"; fallback = \"backup\"; backup = \"b\"; servers = (\n"
		 "  { address = \"198.18.1.1\"; } ); },\n"
		 "{ name = \"b\"; servers = ( { address = \"198.18.9.9\"; } ); }"))
		return;
	rt = rt_new(&conf);
	all_down(rt);
	CHECK(!ps_image_build_rt(&img, &conf, rt), "image");
	CHECK_EQ(first4(&img.sels[0], "198.18.9.9"), PS_SEL_SLOTS);
	CHECK(!img.sels[0].flags && img.sels[0].a4 == 1, "backup answers");
	rt[0].srv[0].health = PS_HEALTH_UP;
	ps_image_pools(&img, &conf, rt, NULL);
	CHECK_EQ(first4(&img.sels[0], "198.18.1.1"), PS_SEL_SLOTS);
	ps_image_free(&img);
	rt_del(rt, conf.npools);
}

static void t_table_hash(void)
{
	struct ps_sel a, b;
	struct ps_pool_rt *rt;
	int moved = 0;

	if (load4("hash", "", NULL))
		return;
	rt = rt_new(&conf);
	ps_build_sel(&a, &conf.pools[0], rt);
	CHECK_EQ(a.mode, PS_SEL_HASH);
	rt[0].srv[0].score = 0.9;	/* load does not move anyone */
	ps_build_sel(&b, &conf.pools[0], rt);
	CHECK(!memcmp(&a, &b, sizeof(a)), "hash ignores load");
	rt[0].srv[2].health = PS_HEALTH_DOWN;
	ps_build_sel(&b, &conf.pools[0], rt);
	for (int s = 0; s < PS_SEL_SLOTS; s++)
		if (a.slot4[s][0] != b.slot4[s][0]) {
			moved++;
			CHECK(a.slot4[s][0] == 2, "slot %d moved off a live server", s);
		}
	CHECK(moved == first4(&a, "198.18.1.3") && moved > 0,
	      "only the down server's slots move (%d)", moved);
	rt_del(rt, conf.npools);
}

/* ---- probe config ------------------------------------------------------------------- */

static void t_probe_conf(void)
{
	const struct ps_probe_conf *p;

	if (load("{ name = \"p\"; probes = ( { kind = \"http\"; url = \"http://{address}:8080/health\";\n"
		 "    host = \"www.shop.example\"; expect = [ 200, 204 ]; body = \"ok\"; interval = 500; },\n"
		 "  { kind = \"load\"; } );\n"
		 "  servers = ( { address = \"198.18.1.1\"; }, { address = \"2001:db8::1\"; },\n"
		 "    { address = \"198.18.1.3\"; probes = ( { kind = \"tcp\"; port = 22; rise = 1; fall = 1; } ); } ); }"))
		return;
	CHECK_EQ(conf.pools[0].servers[0].nprobes, 2);
	p = &conf.pools[0].servers[0].probes[0];
	CHECK(!strcmp(p->url, "http://198.18.1.1:8080/health"), "url %s", p->url);
	CHECK(p->interval_ms == 500 && p->timeout_ms == 250 && p->jitter_ms == 50 &&
	      p->rise == 2 && p->fall == 3 && p->health && p->nexpect == 2,
	      "defaults: timeout %d jitter %d", p->timeout_ms, p->jitter_ms);
	p = &conf.pools[0].servers[1].probes[0];
	CHECK(!strcmp(p->url, "http://[2001:db8::1]:8080/health"), "v6 url %s", p->url);
	p = &conf.pools[0].servers[1].probes[1];
	CHECK(p->kind == PS_PROBE_LOAD && !p->health &&
	      !strcmp(p->url, "http://[2001:db8::1]:9100/load"),
	      "load probe: %s, health %d", p->url, p->health);
	CHECK_EQ(conf.pools[0].servers[2].nprobes, 1);
	p = &conf.pools[0].servers[2].probes[0];
	CHECK(p->kind == PS_PROBE_TCP && p->port == 22 && p->rise == 1 && !p->reuse,
	      "own probe");
	CHECK(conf.pools[0].servers[0].probes[0].reuse &&
	      conf.pools[0].servers[0].probes[1].reuse, "http and load reuse");
}

static void t_probe_conf_errors(void)
{
	static const struct { const char *pool, *msg; } bad[] = {
		{ "probes = ( { kind = \"traffic\"; url = \"x\"; } );", "no url" },
		{ "probes = ( { kind = \"traffic\"; reuse = true; } );", "traffic probes make no connection" },
		{ "probes = ( { kind = \"smtp\"; } );", "kind must be" },
		{ "probes = ( { kind = \"tcp\"; url = \"x\"; } );", "takes a port" },
		{ "probes = ( { kind = \"http\"; interval = 1000; timeout = 2000; } );", "timeout" },
		{ "probes = ( { kind = \"http\"; expect = 99; } );", "not an HTTP status" },
		{ "probes = ( { kind = \"http\"; colour = 1; } );", "colour" },
		{ "policy = \"lowest\"; select = \"hash\";", "disagree" },
		{ "policy = \"cheapest\";", "policy must be" },
		{ "backup = \"p\";", "fallback" },
		{ "fallback = \"backup\"; backup = \"nope\";", "no pool named 'nope'" },
		{ "fallback = \"backup\"; backup = \"p\";", "its own backup" },
		{ "threshold = 2.0;", "out of range" },
		{ "scoring = { cpu = -1.0; };", "out of range" },
		{ "scoring = { disk = 1.0; };", "disk" },
		{ "probes = ( { kind = \"tcp\"; reuse = true; } );", "reuse is for http" },
		{ "probes = ( { kind = \"http\"; reuse = 1; } );", "reuse must be true or false" },
	};
	char text[2048], err[PS_ERR_MAX];
	struct ps_conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "interfaces = [ \"eth0\" ];\n"
			 "dns = { listen = [ \"198.18.0.1\" ]; };\n"
			 "zones = ( { name = \"shop.example\";\n"
			 "  soa = { mname = \"ns1.shop.example\"; rname = \"h.shop.example\"; };\n"
			 "  ns = [ \"ns1.shop.example\" ]; } );\n"
			 "pools = ( { name = \"p\"; %s servers = ( { address = \"198.18.1.1\"; } ); } );\n"
			 "names = ( { name = \"www.shop.example\"; pool = \"p\"; } );\n",
			 bad[i].pool);
		memset(&c, 0, sizeof(c));
		err[0] = 0;
		if (!ps_conf_load_string(&c, text, "t.conf", err, sizeof(err))) {
			CHECK(0, "accepted: %s", bad[i].pool);
			ps_conf_free(&c);
			continue;
		}
		CHECK(strstr(err, bad[i].msg) && strstr(err, "t.conf:6"),
		      "%s: got '%s', want '%s' at line 6", bad[i].pool, err, bad[i].msg);
	}
}

UNIT_TABLE(score_cases) = {
	{ "score_hysteresis", t_hyst },
	{ "score_hysteresis_first_decision", t_hyst_from_unknown },
	{ "score_ewma", t_ewma },
	{ "score_weights", t_score },
	{ "score_usable", t_usable },
	{ "score_peers", t_peers },
	{ "policy_weighted_headroom", t_weighted },
	{ "policy_lowest_margin", t_lowest },
	{ "policy_hash_static", t_hash_policy },
	{ "policy_share_change", t_share_change },
	{ "table_lowest_follows_load", t_table_lowest },
	{ "table_weighted_shares_threshold", t_table_weighted },
	{ "table_admin_and_initial", t_table_admin },
	{ "table_fallback_all_servfail_backup", t_fallback },
	{ "table_hash_stable", t_table_hash },
	{ "conf_probe_templates", t_probe_conf },
	{ "conf_probe_errors", t_probe_conf_errors },
	UNIT_END
};
