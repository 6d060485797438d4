// SPDX-License-Identifier: GPL-2.0-only
#include <math.h>
#include <string.h>

#include "score.h"

const char *const ps_metric_name[PS_M_MAX] = { "cpu", "response", "latency",
					       "traffic" };
const char *const ps_admin_name[3] = { "up", "down", "drain" };
const char *const ps_health_name[3] = { "unknown", "up", "down" };
const char *const ps_policy_name[3] = { "weighted", "lowest", "hash" };

#define HEADROOM_MIN 0.05

void ps_scoring_default(struct ps_scoring *s)
{
	memset(s, 0, sizeof(*s));
	/* CPU and response time count, a server at 100 % CPU or answering
	 * in 500 ms is "fully loaded"; latency and traffic only when asked */
	s->weight[PS_M_CPU] = 1.0;
	s->weight[PS_M_RESPONSE] = 1.0;
	s->ref[PS_M_CPU] = 1.0;
	s->ref[PS_M_RESPONSE] = 500;
	s->ref[PS_M_LATENCY] = 100;
	s->ref[PS_M_TRAFFIC] = 100000;
	s->alpha = 0.7;
}

bool ps_hyst_result(struct ps_hyst *h, bool success)
{
	enum ps_health old = h->state;

	if (success) {
		h->ok++;
		h->bad = 0;
		if (h->ok >= h->rise)
			h->state = PS_HEALTH_UP;
	} else {
		h->bad++;
		h->ok = 0;
		if (h->bad >= h->fall)
			h->state = PS_HEALTH_DOWN;
	}
	return h->state != old;
}

void ps_ewma_add(struct ps_ewma *e, double sample, double alpha)
{
	e->last = sample;
	e->smooth = e->seen ? alpha * sample + (1 - alpha) * e->smooth : sample;
	e->seen = true;
}

bool ps_metric_value(const struct ps_srv_state *s, int m, double *v)
{
	if (s->m[m].seen) {
		*v = s->m[m].smooth;
		return true;
	}
	if (s->peer_seen[m]) {
		*v = s->peer[m];
		return true;
	}
	return false;
}

double ps_score(const struct ps_srv_state *s, const struct ps_scoring *sc)
{
	double score = 0, v;

	for (int m = 0; m < PS_M_MAX; m++)
		if (sc->weight[m] > 0 && sc->ref[m] > 0 &&
		    ps_metric_value(s, m, &v))
			score += sc->weight[m] * v / sc->ref[m];
	return score;
}

enum ps_health ps_srv_health(const struct ps_srv_state *s)
{
	if (s->health != PS_HEALTH_UNKNOWN)
		return s->health;
	if (s->peers_up + s->peers_down)
		return s->peers_down > s->peers_up ? PS_HEALTH_DOWN : PS_HEALTH_UP;
	return s->initial;
}

bool ps_srv_usable(const struct ps_srv_state *s)
{
	return s->admin == PS_ADMIN_UP && ps_srv_health(s) != PS_HEALTH_DOWN;
}

int ps_policy_weights(enum ps_policy pol, int n,
		      const struct ps_srv_state *const *srv,
		      const double *static_weight, double margin, int *keep,
		      double *out, int *order)
{
	int usable = 0, best = -1;

	for (int i = 0; i < n; i++) {
		out[i] = 0;
		order[i] = i;
		if (!ps_srv_usable(srv[i]) || static_weight[i] <= 0)
			continue;
		usable++;
		switch (pol) {
		case PS_POL_WEIGHTED: {
			double head = 1 - srv[i]->score;

			out[i] = static_weight[i] *
				 (head < HEADROOM_MIN ? HEADROOM_MIN : head);
			break;
		}
		case PS_POL_HASH:
			out[i] = static_weight[i];
			break;
		case PS_POL_LOWEST:
			if (best < 0 || srv[i]->score < srv[best]->score)
				best = i;
			break;
		}
	}
	if (pol != PS_POL_LOWEST)
		return usable;

	/* all usable servers ranked by score, unusable last; stable */
	for (int i = 1; i < n; i++) {
		int o = order[i], j = i;

		while (j > 0) {
			int p = order[j - 1];
			bool pu = ps_srv_usable(srv[p]) && static_weight[p] > 0;
			bool ou = ps_srv_usable(srv[o]) && static_weight[o] > 0;

			if (pu && !ou)
				break;
			if (pu == ou && srv[p]->score <= srv[o]->score)
				break;
			order[j] = p;
			j--;
		}
		order[j] = o;
	}
	if (best < 0) {
		*keep = -1;
		return 0;
	}
	/* hysteresis: the current best stays while it is usable and not
	 * worse than the best by more than margin */
	if (*keep >= 0 && *keep < n && *keep != best &&
	    ps_srv_usable(srv[*keep]) && static_weight[*keep] > 0 &&
	    srv[*keep]->score <= srv[best]->score * (1 + margin) + 1e-12) {
		best = *keep;
		/* and leads the ranking */
		for (int i = 0; i < n; i++)
			if (order[i] == best) {
				memmove(order + 1, order, i * sizeof(*order));
				order[0] = best;
				break;
			}
	}
	*keep = best;
	out[best] = 1;
	return usable;
}

double ps_share_change(int n, const double *a, const double *b)
{
	double ta = 0, tb = 0, worst = 0;

	for (int i = 0; i < n; i++) {
		ta += a[i];
		tb += b[i];
	}
	/* relative to the server's own share: a small server's correction
	 * counts as much as a big one's */
	for (int i = 0; i < n; i++) {
		double sa = ta > 0 ? a[i] / ta : 0, sb = tb > 0 ? b[i] / tb : 0;
		double big = sa > sb ? sa : sb;

		if (big > 0 && fabs(sa - sb) / big > worst)
			worst = fabs(sa - sb) / big;
	}
	return worst;
}
