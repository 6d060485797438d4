/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What probes say about a server, as numbers the policies use: health
 * with rise/fall hysteresis, metrics smoothed by EWMA, a load score, and
 * the weights a pool's selection table is built from.  Pure logic, no I/O:
 * steerd's probe engine feeds it, tests and the herd simulation drive it
 * directly.
 */
#ifndef PS_SCORE_H
#define PS_SCORE_H

#include <stdbool.h>
#include <stdint.h>

enum ps_metric {
	PS_M_CPU,		/* fraction of CPU busy, 0..1 (load probe) */
	PS_M_RESPONSE,		/* HTTP/FTP response time, ms */
	PS_M_LATENCY,		/* TCP connect time, ms */
	PS_M_TRAFFIC,		/* packets per second the data plane sent it */
	PS_M_MAX
};
extern const char *const ps_metric_name[PS_M_MAX];

enum ps_admin { PS_ADMIN_UP, PS_ADMIN_DOWN, PS_ADMIN_DRAIN };
enum ps_health { PS_HEALTH_UNKNOWN, PS_HEALTH_UP, PS_HEALTH_DOWN };
extern const char *const ps_admin_name[3];
extern const char *const ps_health_name[3];

/* How a pool turns metrics into a score (lower is better) */
struct ps_scoring {
	double weight[PS_M_MAX];	/* contribution of each metric */
	double ref[PS_M_MAX];		/* the value that counts as fully loaded */
	double alpha;			/* EWMA: weight of the newest sample */
};
void ps_scoring_default(struct ps_scoring *s);

/* Rise/fall of one health-checking probe */
struct ps_hyst {
	int rise, fall;			/* successes to go up, failures down */
	int ok, bad;			/* consecutive */
	enum ps_health state;		/* UNKNOWN until rise or fall is met */
};

/* Apply one result; returns true if the state changed. */
bool ps_hyst_result(struct ps_hyst *h, bool success);

struct ps_ewma {
	double last, smooth;
	bool seen;
};
void ps_ewma_add(struct ps_ewma *e, double sample, double alpha);

/* Everything known about one server */
struct ps_srv_state {
	enum ps_admin admin;
	enum ps_health initial;		/* until a probe completes */
	enum ps_health health;		/* combined over its probes */
	struct ps_ewma m[PS_M_MAX];
	/* What other PoPs measured and published (steerd store.c): the
	 * mean per metric, and how many of them see the server up or down.
	 * A metric this PoP measures itself uses its own value; one it does
	 * not, the peers'.  Health likewise: the peers' majority counts only
	 * while this PoP's own probes have no verdict. */
	double peer[PS_M_MAX];
	bool peer_seen[PS_M_MAX];
	int peers_up, peers_down;
	double score;			/* of the smoothed metrics */
	char error[128];		/* why a probe of it fails, "" if none */
};

double ps_score(const struct ps_srv_state *s, const struct ps_scoring *sc);
/* A metric as scoring sees it: own smoothed value, else the peers' mean.
 * Returns false if neither exists. */
bool ps_metric_value(const struct ps_srv_state *s, int m, double *v);
/* Health as selection sees it: own verdict, else the peers' majority,
 * else the configured initial state. */
enum ps_health ps_srv_health(const struct ps_srv_state *s);

/* Can the server be answered (administratively up, healthy or not yet
 * probed and configured up)? */
bool ps_srv_usable(const struct ps_srv_state *s);

enum ps_policy { PS_POL_WEIGHTED, PS_POL_LOWEST, PS_POL_HASH };
enum ps_fallback { PS_FB_ALL, PS_FB_SERVFAIL, PS_FB_POOL };
extern const char *const ps_policy_name[3];

/*
 * The weights a pool's table is built from, for servers 0..n-1 of one
 * address family:
 *   weighted: static weight x headroom (1 - score, at least 0.05);
 *   lowest:   1 for the lowest score (ties: the earlier server; the
 *             current best `*keep` stays while within `margin` of the
 *             best), 0 for the rest -- and `order` ranks them all;
 *   hash:     static weight (load does not move a client's subnet).
 * Unusable servers get 0.  Returns how many servers are usable.
 */
int ps_policy_weights(enum ps_policy pol, int n,
		      const struct ps_srv_state *const *srv,
		      const double *static_weight, double margin, int *keep,
		      double *out, int *order);

/* Largest change of any server's share between two weight vectors, as a
 * fraction of the table (0..1). */
double ps_share_change(int n, const double *a, const double *b);

#endif
