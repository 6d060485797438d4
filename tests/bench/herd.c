// SPDX-License-Identifier: GPL-2.0-only
/*
 * The thundering herd: how evenly do the selection policies spread load
 * when resolvers cache an answer for the TTL?
 *
 *   bench_herd [-s SEED] [-c] [-p SHAPE] [-t THRESHOLD] [-v]
 *
 * Prints "name: value unit" lines on stdout, details on stderr:
 *
 *   herd_imbalance_lowest                  policy "lowest"
 *   herd_imbalance_weighted                policy "weighted", static weight
 *                                          = capacity
 *   herd_imbalance_weighted_equal_weights  policy "weighted", every static
 *                                          weight the default 100
 *   herd_peak_lowest                       policy "lowest", worst step
 *
 * The imbalance is, at every time step, (highest server utilisation) /
 * (mean server utilisation, the plain mean over the ten servers) -- 1.0 is
 * perfect -- averaged over the steady state (after a warm-up).  The peak is
 * the largest such step.
 *
 * Nothing of the policies is re-implemented: the pools come from a config
 * text (ps_conf_load_string), probe samples go through ps_ewma_add and
 * ps_score into a struct ps_pool_rt, and every table is built by
 * ps_build_sel, with the pool's threshold and margin as shipped.  The
 * simulated data plane answers a query the way xdp_steer does in random
 * mode: a uniformly random slot of the 256, first answer addr4[slot4[s][0]].
 *
 * The model (deterministic: every random number comes from SEED):
 *  - 10 servers, capacities 100 100 200 200 300 300 400 400 500 500
 *    requests/s (3000 in all);
 *  - 1000 resolvers, request rates drawn from an exponential distribution
 *    (or Pareto with -p SHAPE), scaled so that they add up to 65 % of the
 *    total capacity; load is a fluid: a resolver puts its whole rate on the
 *    server it has cached;
 *  - a resolver asks first at a uniformly random time in [0, TTL), then
 *    caches its answer for the TTL (the pool's ttl, 20 s).  When the cache
 *    expires it asks again at its clients' next query, an exponential wait
 *    of mean 1/rate (its load stays where it was meanwhile), and the TTL
 *    counts from that answer;
 *  - time steps of 100 ms, 600 s simulated, the first 60 s (3 TTLs) are
 *    warm-up and not counted;
 *  - utilisation u = offered load / capacity (may exceed 1);
 *  - every server is probed once a second, server i at phase i x 100 ms:
 *    the load probe reports the CPU busy over the last second (steer-agent's
 *    default interval), min(u, 1) + uniform noise of +-0.02, clamped to
 *    0..1; an HTTP probe reports a response time of an M/M/1 queue,
 *    20 ms / (1 - min(u, 0.95)) at the moment of the probe, +-10 %, at most
 *    400 ms (below the probe timeout: no server ever goes down here).  With
 *    -c only the CPU is fed.  Both go through ps_ewma_add with the pool's
 *    alpha, then ps_score with the pool's (default) scoring;
 *  - tables are rebuilt as steerd does: after a probe result, at most every
 *    200 ms.
 *
 * -s sets the seed, -c, -p and -t change the model or the weighted pools'
 * threshold, -v prints a trace every 10 s: they are for exploring, the
 * figures are meant to be taken without options.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "build.h"
#include "conf.h"
#include "score.h"

#define NSRV		10
#define NRES		1000
#define LOAD		0.65		/* offered load / total capacity */
#define STEP_MS		100
#define DURATION_MS	600000
#define WARMUP_MS	60000
#define PROBE_MS	1000		/* per server */
#define TABLE_MIN_MS	200		/* steerd's TABLE_MIN_MS */
#define CPU_WIN		(PROBE_MS / STEP_MS)	/* steps the CPU figure spans */
#define CPU_NOISE	0.02
#define RESP_BASE_MS	20.0
#define RESP_RHO_MAX	0.95
#define RESP_MAX_MS	400.0
#define RESP_NOISE	0.10

static const int capacity[NSRV] = { 100, 100, 200, 200, 300, 300,
				    400, 400, 500, 500 };

/* ---- deterministic random numbers (splitmix64) ------------------------------ */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in (0, 1): never 0, so no resolver gets a rate of 0 */
static double rng_unit(struct rng *r)
{
	return ((rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* exponential of mean 1 */
static double rng_exp(struct rng *r)
{
	return -log(1.0 - rng_unit(r));
}

/* ---- the simulation ------------------------------------------------------------- */

struct resolver {
	double rate;		/* requests/s */
	double next_ms;		/* when it asks the authoritative again */
	int srv;		/* cached server, -1 before the first answer */
};

struct result {
	double imbalance;	/* mean of max/mean utilisation, steady state */
	double peak;		/* largest max/mean of a step, steady state */
	double util;		/* mean utilisation, steady state */
	double worst_util;	/* highest utilisation of any server */
	double share_util[NSRV];	/* mean utilisation per server */
	int builds, rewrites;	/* tables built, tables that changed */
};

static struct {
	double rates[NRES];
	uint64_t seed;
	bool cpu_only;
	bool verbose;
} opt;

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void simulate(const struct ps_pool_conf *pool, struct result *res)
{
	struct resolver r[NRES];
	struct ps_pool_rt rt = { .keep = { -1, -1 } };
	struct ps_sel sel, prev;
	struct rng rng = { opt.seed ^ 0x5eed };
	double load[NSRV] = { 0 }, hist[NSRV][CPU_WIN] = { { 0 } };
	double sum_ratio = 0, sum_util = 0, sum_u[NSRV] = { 0 };
	double ttl_ms = pool->ttl * 1000.0;
	long last_build = 0, counted = 0;
	bool dirty = false;

	memset(res, 0, sizeof(*res));
	rt.srv = calloc(pool->nservers, sizeof(*rt.srv));
	if (!rt.srv) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (int i = 0; i < pool->nservers; i++) {
		rt.srv[i].admin = pool->servers[i].admin;
		rt.srv[i].initial = pool->servers[i].initial;
	}
	for (int i = 0; i < NRES; i++) {
		r[i].rate = opt.rates[i];
		r[i].next_ms = rng_unit(&rng) * ttl_ms;
		r[i].srv = -1;
	}
	/* steerd's first table: the config and no probe result yet */
	ps_build_sel(&sel, pool, &rt);
	res->builds++;

	for (long k = 0; k * STEP_MS < DURATION_MS; k++) {
		double t = (double)k * STEP_MS, u[NSRV], umax = 0, umean = 0;

		/* resolvers whose cache expired ask, and get a random slot */
		for (int i = 0; i < NRES; i++) {
			int s, to;

			if (r[i].next_ms > t)
				continue;
			if (!sel.a4) {
				fprintf(stderr, "pool %s: table without answers\n",
					pool->name);
				exit(1);
			}
			s = (int)(rng_next(&rng) % PS_SEL_SLOTS);
			to = sel.slot4[s][0];
			if (r[i].srv >= 0)
				load[r[i].srv] -= r[i].rate;
			load[to] += r[i].rate;
			r[i].srv = to;
			/* expiry, then the next query of its clients */
			r[i].next_ms = t + ttl_ms + rng_exp(&rng) * 1000.0 / r[i].rate;
		}

		for (int j = 0; j < NSRV; j++) {
			u[j] = load[j] / capacity[j];
			hist[j][k % CPU_WIN] = u[j] < 1 ? u[j] : 1;
			umean += u[j] / NSRV;
			if (u[j] > umax)
				umax = u[j];
		}
		if (t >= WARMUP_MS && umean > 0) {
			double ratio = umax / umean;

			sum_ratio += ratio;
			sum_util += umean;
			for (int j = 0; j < NSRV; j++)
				sum_u[j] += u[j];
			if (ratio > res->peak)
				res->peak = ratio;
			if (umax > res->worst_util)
				res->worst_util = umax;
			counted++;
		}

		/* one server's probes come back every step (phase j x 100 ms) */
		for (int j = 0; j < NSRV; j++) {
			struct ps_srv_state *st = &rt.srv[j];
			double cpu = 0, resp, rho;

			if (k < CPU_WIN || k % CPU_WIN != j)
				continue;
			for (int h = 0; h < CPU_WIN; h++)
				cpu += hist[j][h] / CPU_WIN;
			cpu = clamp(cpu + (2 * rng_unit(&rng) - 1) * CPU_NOISE, 0, 1);
			ps_ewma_add(&st->m[PS_M_CPU], cpu, pool->scoring.alpha);
			if (!opt.cpu_only) {
				rho = u[j] < RESP_RHO_MAX ? u[j] : RESP_RHO_MAX;
				resp = RESP_BASE_MS / (1 - rho) *
				       (1 + (2 * rng_unit(&rng) - 1) * RESP_NOISE);
				resp = resp < RESP_MAX_MS ? resp : RESP_MAX_MS;
				ps_ewma_add(&st->m[PS_M_RESPONSE], resp,
					    pool->scoring.alpha);
			}
			st->score = ps_score(st, &pool->scoring);
			dirty = true;
		}
		if (dirty && (k - last_build) * STEP_MS >= TABLE_MIN_MS) {
			prev = sel;
			ps_build_sel(&sel, pool, &rt);
			res->builds++;
			res->rewrites += !!memcmp(prev.slot4, sel.slot4,
						  sizeof(sel.slot4));
			last_build = k;
			dirty = false;
		}

		if (opt.verbose && k % (10000 / STEP_MS) == 0) {
			fprintf(stderr, "  %-22s t=%3.0fs max/mean %5.2f  u:",
				pool->name, t / 1000, umean > 0 ? umax / umean : 0);
			for (int j = 0; j < NSRV; j++)
				fprintf(stderr, " %4.2f", u[j]);
			fprintf(stderr, "\n");
		}
	}
	res->imbalance = counted ? sum_ratio / counted : 0;
	res->util = counted ? sum_util / counted : 0;
	for (int j = 0; j < NSRV; j++)
		res->share_util[j] = counted ? sum_u[j] / counted : 0;
	free(rt.srv);
}

/* ---- setup ------------------------------------------------------------------------ */

/* the resolvers' request rates, adding up to LOAD of the capacity */
static void draw_rates(double pareto)
{
	struct rng rng = { opt.seed };
	double total = 0, cap = 0, max = 0;

	for (int j = 0; j < NSRV; j++)
		cap += capacity[j];
	for (int i = 0; i < NRES; i++) {
		opt.rates[i] = pareto > 0 ? pow(1.0 - rng_unit(&rng), -1.0 / pareto)
					  : rng_exp(&rng);
		total += opt.rates[i];
	}
	for (int i = 0; i < NRES; i++) {
		opt.rates[i] *= LOAD * cap / total;
		if (opt.rates[i] > max)
			max = opt.rates[i];
	}
	fprintf(stderr, "resolvers: %d, %s rates, total %.0f req/s (%.0f %% of %.0f), "
		"mean %.2f, largest %.1f req/s\n", NRES,
		pareto > 0 ? "Pareto" : "exponential", LOAD * cap, LOAD * 100,
		cap, LOAD * cap / NRES, max);
}

/* one pool of the ten servers; weights: their capacities, or the default */
static int pool_text(char *buf, size_t len, const char *name,
		     const char *policy, bool weights, double threshold)
{
	int n = snprintf(buf, len, "{ name = \"%s\"; policy = \"%s\"; ttl = 20;",
			 name, policy);

	if (threshold >= 0)
		n += snprintf(buf + n, len - n, " threshold = %g;", threshold);
	n += snprintf(buf + n, len - n, "\n  servers = (");
	for (int j = 0; j < NSRV; j++) {
		n += snprintf(buf + n, len - n, " { address = \"198.18.1.%d\";", j + 1);
		if (weights)
			n += snprintf(buf + n, len - n, " weight = %d;", capacity[j]);
		n += snprintf(buf + n, len - n, " }%s", j + 1 < NSRV ? "," : "");
	}
	return n + snprintf(buf + n, len - n, " ); }");
}

static int usage(void)
{
	fprintf(stderr,
		"usage: bench_herd [-s SEED] [-c] [-p SHAPE] [-t THRESHOLD] [-v]\n"
		"  -s SEED       random seed (default 1)\n"
		"  -c            feed only the CPU metric (no response time)\n"
		"  -p SHAPE      Pareto request rates of this shape (default exponential)\n"
		"  -t THRESHOLD  threshold of the weighted pools (default: as shipped)\n"
		"  -v            a trace every 10 s on stderr\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *pool, *policy, *figure;
		bool weights;
	} runs[] = {
		{ "lowest", "lowest", "herd_imbalance_lowest", true },
		{ "weighted", "weighted", "herd_imbalance_weighted", true },
		{ "weighted_eq", "weighted", "herd_imbalance_weighted_equal_weights",
		  false },
	};
	enum { NRUNS = sizeof(runs) / sizeof(runs[0]) };
	struct result res[NRUNS];
	char text[16384], pools[NRUNS][2048], err[PS_ERR_MAX];
	struct ps_conf conf = { 0 };
	double pareto = 0, threshold = -1;
	struct timespec t0, t1;
	int c;

	opt.seed = 1;
	while ((c = getopt(argc, argv, "s:cp:t:vh")) != -1) {
		switch (c) {
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'c': opt.cpu_only = true; break;
		case 'p': pareto = atof(optarg); break;
		case 't': threshold = atof(optarg); break;
		case 'v': opt.verbose = true; break;
		default: return usage();
		}
	}
	if (optind != argc || (pareto != 0 && pareto <= 1))
		return usage();
	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (int i = 0; i < NRUNS; i++)
		pool_text(pools[i], sizeof(pools[i]), runs[i].pool, runs[i].policy,
			  runs[i].weights,
			  strcmp(runs[i].policy, "weighted") ? -1 : threshold);
	snprintf(text, sizeof(text),
		 "interfaces = [ \"eth0\" ];\n"
		 "dns = { listen = [ \"198.18.0.1\" ]; };\n"
		 "zones = ( { name = \"herd.example\";\n"
		 "  soa = { mname = \"ns1.herd.example\"; rname = \"h.herd.example\"; };\n"
		 "  ns = [ \"ns1.herd.example\" ]; } );\n"
		 "pools = ( %s,\n %s,\n %s );\n"
		 "names = ( { name = \"lowest.herd.example\"; pool = \"lowest\"; },\n"
		 "  { name = \"weighted.herd.example\"; pool = \"weighted\"; },\n"
		 "  { name = \"eq.herd.example\"; pool = \"weighted_eq\"; } );\n",
		 pools[0], pools[1], pools[2]);
	if (ps_conf_load_string(&conf, text, "herd.conf", err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	draw_rates(pareto);
	fprintf(stderr, "servers: capacities");
	for (int j = 0; j < NSRV; j++)
		fprintf(stderr, " %d", capacity[j]);
	fprintf(stderr, " req/s; %d s simulated in %d ms steps, %d s warm-up; "
		"metrics: %s\n", DURATION_MS / 1000, STEP_MS, WARMUP_MS / 1000,
		opt.cpu_only ? "cpu" : "cpu + response time");

	for (int i = 0; i < NRUNS; i++) {
		const struct ps_pool_conf *pool = &conf.pools[i];

		if (pool->nservers != NSRV || strcmp(pool->name, runs[i].pool)) {
			fprintf(stderr, "pool %d is not %s\n", i, runs[i].pool);
			return 1;
		}
		for (int j = 0; j < NSRV; j++)
			if (pool->servers[j].addr.family != AF_INET) {
				fprintf(stderr, "server %d is not IPv4\n", j);
				return 1;
			}
		simulate(pool, &res[i]);
		fprintf(stderr, "%s: policy %s, threshold %g, margin %g, ttl %u s: "
			"max/mean %.3f (peak %.2f), mean utilisation %.2f, "
			"highest %.2f, %d tables built, %d changed\n  mean u per server:",
			pool->name, ps_policy_name[pool->policy], pool->threshold,
			pool->margin, pool->ttl, res[i].imbalance, res[i].peak,
			res[i].util, res[i].worst_util, res[i].builds,
			res[i].rewrites);
		for (int j = 0; j < NSRV; j++)
			fprintf(stderr, " %.2f", res[i].share_util[j]);
		fprintf(stderr, "\n");
	}
	ps_conf_free(&conf);

	for (int i = 0; i < NRUNS; i++)
		printf("%s: %.3f ratio\n", runs[i].figure, res[i].imbalance);
	printf("herd_peak_lowest: %.3f ratio\n", res[0].peak);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%.2f s\n", (t1.tv_sec - t0.tv_sec) +
		(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
