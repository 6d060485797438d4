// SPDX-License-Identifier: GPL-2.0-only
/* Maglev tables: balance, weighted shares, little disruption on changes,
 * speed.  "# ..." lines report the measured figures. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"
#include "maglev.h"
#include "sel.h"

#define M PS_MAGLEV_SIZE_DEFAULT
#define NB 1000

static uint16_t ta[M], tb[M], tc[M];

static void ids(uint64_t *id, int n)
{
	for (int i = 0; i < n; i++)
		id[i] = ps_hash64(&i, sizeof(i), 1);
}

static void fill(double *w, int n, double v)
{
	for (int i = 0; i < n; i++)
		w[i] = v;
}

/* Entries per backend; every entry must name a backend. */
static void counts(const uint16_t *t, uint32_t size, int *c, int n)
{
	memset(c, 0, n * sizeof(*c));
	for (uint32_t s = 0; s < size; s++) {
		CHECK(t[s] < n, "entry %u is %u, n %d", s, t[s], n);
		if (t[s] < n)
			c[t[s]]++;
	}
}

/* The documented bound: the floor or the ceiling of the exact share */
static void check_shares(const uint16_t *t, uint32_t size, int n,
			 const double *w, double *worst)
{
	int c[NB];
	double total = 0;

	counts(t, size, c, n);
	for (int i = 0; i < n; i++)
		total += w[i] > 0 ? w[i] : 0;
	for (int i = 0; i < n; i++) {
		double ideal = w[i] > 0 ? size * w[i] / total : 0;
		double err = fabs(c[i] - ideal);

		CHECK(err < 1 + 1e-9, "n %d backend %d: %d entries, ideal %.3f",
		      n, i, c[i], ideal);
		if (worst && err > *worst)
			*worst = err;
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void t_size_ok(void)
{
	uint32_t good[] = { 251, 257, 8191, 65537, 1048573 };
	/* 257 * 257 = 66049: the divisor loop must reach the square root */
	uint32_t bad[] = { 0, 1, 2, 3, 241, 249, 250, 65536, 65535, 66049,
			   1048576, 1048583, 4294967291u };
	uint64_t id[2] = { 1, 2 };
	double w[2] = { 1, 1 };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(ps_maglev_size_ok(good[i]), "%u rejected", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!ps_maglev_size_ok(bad[i]), "%u accepted", bad[i]);

	/* a bad size or n leaves the table alone */
	memset(ta, 0x5a, 256 * sizeof(ta[0]));
	CHECK_EQ(ps_maglev_build(ta, 256, 2, id, w, 0), -EINVAL);
	CHECK_EQ(ps_maglev_build(ta, 241, 2, id, w, 0), -EINVAL);
	CHECK_EQ(ps_maglev_build(ta, 251, -1, id, w, 0), -EINVAL);
	CHECK_EQ(ps_maglev_build(ta, 251, 65536, id, w, 0), -EINVAL);
	CHECK_EQ(ps_maglev_build(ta, 251, 2, NULL, w, 0), -EINVAL);
	CHECK_EQ(ps_maglev_build(NULL, 251, 2, id, w, 0), -EINVAL);
	CHECK_EQ(ta[0], 0x5a5a);
	CHECK_EQ(ta[250], 0x5a5a);
}

static void t_balance(void)
{
	int ns[] = { 2, 3, 10, 64, 1000 }, c[NB];
	uint64_t id[NB];
	double w[NB];

	ids(id, NB);
	fill(w, NB, 1);
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		int n = ns[k], lo = M, hi = 0;

		CHECK_EQ(ps_maglev_build(ta, M, n, id, w, 42), n);
		counts(ta, M, c, n);
		for (int i = 0; i < n; i++) {
			lo = c[i] < lo ? c[i] : lo;
			hi = c[i] > hi ? c[i] : hi;
		}
		/* each turn claims one entry: round robin is exact, and
		 * within 1 % once there are 100 entries a backend */
		CHECK(hi - lo <= 1, "n %d: %d..%d entries", n, lo, hi);
		if (M / n >= 100)
			CHECK((double)hi / lo <= 1.01, "n %d: max/min %d/%d",
			      n, hi, lo);
		printf("# maglev balance n=%d size=%d: %d..%d entries, max/min %.5f\n",
		       n, M, lo, hi, (double)hi / lo);
	}
}

static void t_weights(void)
{
	double w[4] = { 1, 2, 3, 4 }, worst = 0;
	uint64_t id[4];
	int c[4];

	ids(id, 4);
	CHECK_EQ(ps_maglev_build(ta, M, 4, id, w, 7), 4);
	counts(ta, M, c, 4);
	check_shares(ta, M, 4, w, &worst);
	for (int i = 0; i < 4; i++)
		CHECK(fabs(c[i] - M * w[i] / 10) < 1, "weight %g: %d entries",
		      w[i], c[i]);
	printf("# maglev weights 1:2:3:4 size=%d: %d %d %d %d entries (ideal %.1f %.1f %.1f %.1f)\n",
	       M, c[0], c[1], c[2], c[3], M * 0.1, M * 0.2, M * 0.3, M * 0.4);
}

/* The bound over many random weight vectors, skewed ones among them */
static void t_weights_random(void)
{
	uint64_t id[NB], seq = 0;
	double w[NB], worst = 0;
	uint32_t size = 8191;
	int r;

	ids(id, NB);
	for (int round = 0; round < 300; round++) {
		int n = 1 + ps_hash64(&round, sizeof(round), 2) % 200, held = 0;
		int c[NB];

		for (int i = 0; i < n; i++) {
			uint64_t h = ps_hash64(&seq, sizeof(seq), 3);

			seq++;
			/* spans 1e-3..1e3, one in eight has no weight */
			w[i] = h % 8 ? pow(10, (double)(h >> 11) / (1ULL << 53) * 6 - 3) : 0;
		}
		r = ps_maglev_build(ta, size, n, id, w, round);
		check_shares(ta, size, n, w, &worst);
		counts(ta, size, c, n);
		for (int i = 0; i < n; i++)
			held += c[i] > 0;
		/* tiny weights may round to no entry at all */
		CHECK_EQ(r, held);
	}
	printf("# maglev weights, 300 random vectors (n 1..200, weights 1e-3..1e3) size=%u: worst |entries - ideal| %.3f\n",
	       size, worst);
}

static void t_edges(void)
{
	double w[4] = { 0, 3, -1, 2 }, bad[3] = { NAN, INFINITY, 1 };
	double z[3] = { 0, 0, 0 }, w3[4] = { 1, 0, 2, 3 };
	uint16_t *big;
	uint64_t id[NB];
	double one[NB];
	int c[NB];

	ids(id, NB);
	/* weight 0 and negative: no entries, the rest 3:2 */
	CHECK_EQ(ps_maglev_build(ta, M, 4, id, w, 1), 2);
	counts(ta, M, c, 4);
	CHECK_EQ(c[0], 0);
	CHECK_EQ(c[2], 0);
	CHECK(abs(c[1] - 3 * M / 5) <= 1, "weight 3 of 5: %d entries", c[1]);

	/* NaN and infinity are not weights */
	CHECK_EQ(ps_maglev_build(ta, 251, 3, id, bad, 1), 1);
	counts(ta, 251, c, 3);
	CHECK_EQ(c[2], 251);

	/* nothing with weight, or no backends: an empty table */
	memset(ta, 0, sizeof(ta));
	CHECK_EQ(ps_maglev_build(ta, M, 3, id, z, 1), 0);
	for (uint32_t s = 0; s < M; s++)
		CHECK(ta[s] == PS_MAGLEV_NONE, "entry %u is %u", s, ta[s]);
	memset(ta, 0, sizeof(ta));
	CHECK_EQ(ps_maglev_build(ta, 251, 0, NULL, NULL, 1), 0);
	CHECK_EQ(ta[0], PS_MAGLEV_NONE);
	CHECK_EQ(ta[250], PS_MAGLEV_NONE);

	/* one backend has everything */
	CHECK_EQ(ps_maglev_build(ta, M, 1, id + 5, w + 1, 1), 1);
	counts(ta, M, c, 1);
	CHECK_EQ(c[0], M);

	/* the largest size */
	big = malloc(PS_MAGLEV_SIZE_MAX * sizeof(*big));
	CHECK(big, "no memory");
	if (big) {
		CHECK_EQ(ps_maglev_build(big, PS_MAGLEV_SIZE_MAX, 4, id, w3, 1), 3);
		check_shares(big, PS_MAGLEV_SIZE_MAX, 4, w3, NULL);
		free(big);
	}

	/* more backends than entries: one entry each for 251 of them */
	fill(one, NB, 1);
	CHECK_EQ(ps_maglev_build(ta, 251, 300, id, one, 1), 251);
	counts(ta, 251, c, 300);
	for (int i = 0; i < 300; i++)
		CHECK(c[i] <= 1, "backend %d: %d entries", i, c[i]);
}

static void t_deterministic(void)
{
	uint64_t id[10], rid[10];
	double w[10] = { 1, 2, 1, 3, 1, 1, 5, 1, 1, 2 }, rw[10];
	int diff = 0;

	ids(id, 10);
	ps_maglev_build(ta, M, 10, id, w, 9);
	ps_maglev_build(tb, M, 10, id, w, 9);
	CHECK(!memcmp(ta, tb, sizeof(ta)), "same input, other table");

	/* another seed, other permutations: most entries change */
	ps_maglev_build(tb, M, 10, id, w, 10);
	for (uint32_t s = 0; s < M; s++)
		diff += ta[s] != tb[s];
	CHECK(diff > M / 2, "seeds 9 and 10 differ in %d entries", diff);

	/* the order of the arrays does not matter: reversed, the same
	 * entries name the same ids */
	for (int i = 0; i < 10; i++) {
		rid[i] = id[9 - i];
		rw[i] = w[9 - i];
	}
	ps_maglev_build(tb, M, 10, rid, rw, 9);
	diff = 0;
	for (uint32_t s = 0; s < M; s++)
		diff += ta[s] != 9 - tb[s];
	CHECK_EQ(diff, 0);
}

/*
 * Entries that changed hands between two tables although neither the old
 * nor the new holder is `who`: the disruption beyond what the change
 * itself requires.
 */
static int collateral(const uint16_t *a, const uint16_t *b, int who)
{
	int n = 0;

	for (uint32_t s = 0; s < M; s++)
		n += a[s] != b[s] && a[s] != who && b[s] != who;
	return n;
}

/*
 * Remove each of the first `tries` of n equal backends in turn: by weight
 * 0 or by leaving it out of the arrays (the same table), and back again
 * (the old table).  Returns the largest fraction of the other backends'
 * entries that moved, *mean the mean.
 */
static double remove_one(int n, int tries, double *mean)
{
	uint64_t id[NB], sid[NB];
	double w[NB], sw[NB], sum = 0, max = 0;
	int c[NB];

	ids(id, n);
	fill(w, n, 1);
	fill(sw, n, 1);
	ps_maglev_build(ta, M, n, id, w, 5);
	counts(ta, M, c, n);
	for (int r = 0; r < tries; r++) {
		int moved, mine = c[r], same = 0, back = 0;
		double f;

		w[r] = 0;
		CHECK_EQ(ps_maglev_build(tb, M, n, id, w, 5), n - 1);
		w[r] = 1;
		for (uint32_t s = 0; s < M; s++)
			CHECK(tb[s] != r, "entry %u still on removed backend %d", s, r);
		moved = collateral(ta, tb, r);
		f = (double)moved / (M - mine);
		sum += f;
		max = f > max ? f : max;

		for (int i = 0, k = 0; i < n; i++)
			if (i != r)
				sid[k++] = id[i];
		ps_maglev_build(tc, M, n - 1, sid, sw, 5);
		for (uint32_t s = 0; s < M; s++)
			same += tb[s] == tc[s] + (tc[s] >= r);
		CHECK_EQ(same, M);

		/* back again: the build keeps no history, so every flow
		 * returns to where it was (moving the same entries back) */
		ps_maglev_build(tc, M, n, id, w, 5);
		for (uint32_t s = 0; s < M; s++)
			back += tc[s] == ta[s];
		CHECK_EQ(back, M);
	}
	*mean = sum / tries;
	return max;
}

static void t_remove(void)
{
	double mean, max;

	/* Maglev's price for balance, beyond the 1/n that must move: a
	 * small fraction of the other entries, growing with n */
	max = remove_one(10, 10, &mean);
	CHECK(max < 0.01, "removing 1 of 10 moved %.2f %% of the others' entries",
	      100 * max);
	printf("# maglev disruption, remove 1 of 10 (size %d): %.2f %% of the other backends' entries move (mean over the 10, max %.2f %%; ideal 0); adding it back restores the table\n",
	       M, 100 * mean, 100 * max);
	max = remove_one(100, 10, &mean);
	CHECK(max < 0.03, "removing 1 of 100 moved %.2f %% of the others' entries",
	      100 * max);
	printf("# maglev disruption, remove 1 of 100 (size %d): %.2f %% of the other backends' entries move (mean over 10 removals, max %.2f %%)\n",
	       M, 100 * mean, 100 * max);
}

static void t_add(void)
{
	uint64_t id[11];
	double w[11];
	int c[11], moved;
	double f;

	ids(id, 11);
	fill(w, 11, 1);
	ps_maglev_build(ta, M, 10, id, w, 5);
	CHECK_EQ(ps_maglev_build(tb, M, 11, id, w, 5), 11);
	counts(tb, M, c, 11);
	CHECK(abs(c[10] - M / 11) <= 1, "new backend: %d entries", c[10]);
	moved = collateral(ta, tb, 10);
	f = (double)moved / M;
	CHECK(f < 0.01, "adding moved %.2f %% between the old backends", 100 * f);
	printf("# maglev disruption, add an 11th to 10 (size %d): %.2f %% of the table moves between old backends beyond the %.2f %% the new one takes (ideal 0)\n",
	       M, 100 * f, 100.0 * c[10] / M);
}

static void t_reweight(void)
{
	uint64_t id[10];
	double w[10], nw[] = { 2, 0.5, 1.1 };
	int c0[10], c1[10];

	ids(id, 10);
	fill(w, 10, 1);
	ps_maglev_build(ta, M, 10, id, w, 5);
	counts(ta, M, c0, 10);
	for (size_t k = 0; k < sizeof(nw) / sizeof(nw[0]); k++) {
		int changed = 0, moved;

		w[4] = nw[k];
		ps_maglev_build(tb, M, 10, id, w, 5);
		w[4] = 1;
		counts(tb, M, c1, 10);
		CHECK(abs(c1[4] - (int)lround(M * nw[k] / (9 + nw[k]))) <= 1,
		      "weight %g of %g: %d entries", nw[k], 9 + nw[k], c1[4]);
		for (uint32_t s = 0; s < M; s++)
			changed += ta[s] != tb[s];
		moved = collateral(ta, tb, 4);
		/* what backend 4 gains or loses is the least that must move */
		CHECK(changed >= abs(c1[4] - c0[4]), "changed %d", changed);
		CHECK(moved < 0.25 * changed, "weight %g: %d of %d changes between other backends",
		      nw[k], moved, changed);
		CHECK((double)moved / M < 0.03, "weight %g: %d entries between other backends",
		      nw[k], moved);
		printf("# maglev disruption, one of 10 reweighted 1 -> %g (size %d): %.2f %% of the table changes, %.2f %% of the table (%.1f %% of the changes) between other backends\n",
		       nw[k], M, 100.0 * changed / M, 100.0 * moved / M,
		       100.0 * moved / changed);
	}
}

/*
 * Unequal weights 1..10: removing or reweighting one disturbs the others
 * as little as with equal weights, because every backend walks its
 * permutation at the pace of its weight all through the fill (at one
 * pace for all, capped at the shares, these figures grow tenfold).
 */
static void t_weighted_changes(void)
{
	uint64_t id[10];
	double w[10], rm = 0, rw = 0;

	ids(id, 10);
	for (int i = 0; i < 10; i++)
		w[i] = 1 + i;
	ps_maglev_build(ta, M, 10, id, w, 5);
	for (int r = 0; r < 10; r++) {
		double old = w[r], f;
		int mine = 0;

		for (uint32_t s = 0; s < M; s++)
			mine += ta[s] == r;
		w[r] = 0;
		ps_maglev_build(tb, M, 10, id, w, 5);
		f = (double)collateral(ta, tb, r) / (M - mine);
		rm = f > rm ? f : rm;
		CHECK(f < 0.01, "removing %d moved %.2f %% of the others' entries",
		      r, 100 * f);

		w[r] = old * 1.5;
		ps_maglev_build(tb, M, 10, id, w, 5);
		check_shares(tb, M, 10, w, NULL);
		f = (double)collateral(ta, tb, r) / M;
		rw = f > rw ? f : rw;
		CHECK(f < 0.006, "reweighting %d moved %.2f %% of the table between others",
		      r, 100 * f);
		w[r] = old;
	}
	printf("# maglev disruption, weights 1..10 (size %d): removing one moves at most %.2f %% of the others' entries; one x1.5 moves at most %.2f %% of the table between the others\n",
	       M, 100 * rm, 100 * rw);
}

/* Best of several runs, in ms */
static double build_ms(int n, const uint64_t *id, const double *w)
{
	double best = 1e9;

	for (int k = 0; k < 7; k++) {
		double t0 = now();

		ps_maglev_build(ta, M, n, id, w, k);
		t0 = now() - t0;
		best = t0 < best ? t0 : best;
	}
	return 1e3 * best;
}

static void t_speed(void)
{
	uint64_t id[NB];
	double w[NB], eq, skew, big, wt[64];

	ids(id, NB);
	fill(w, NB, 1);
	eq = build_ms(64, id, w);
	big = build_ms(1000, id, w);
	/* one weight dwarfing the rest: a pass per round over every
	 * backend would cost size * n here */
	w[0] = 1000;
	skew = build_ms(64, id, w);
	for (int i = 0; i < 64; i++)
		wt[i] = 1 + i % 7;
	printf("# maglev build time size %d: %.2f ms n=64 equal, %.2f ms n=64 weights 1..7, %.2f ms n=64 one at 1000x, %.2f ms n=1000\n",
	       M, eq, build_ms(64, id, wt), skew, big);
	/* relative, so that it holds under valgrind as well */
	CHECK(skew < 4 * eq + 1, "skewed %.2f ms, equal %.2f ms", skew, eq);
	CHECK(eq < 500, "%.2f ms", eq);
}

UNIT_TABLE(maglev_cases) = {
	{ "maglev_size_ok", t_size_ok },
	{ "maglev_balance_equal", t_balance },
	{ "maglev_weights_1234", t_weights },
	{ "maglev_weights_random_bound", t_weights_random },
	{ "maglev_zero_weights_and_limits", t_edges },
	{ "maglev_deterministic_seeded_order_free", t_deterministic },
	{ "maglev_disruption_remove", t_remove },
	{ "maglev_disruption_add", t_add },
	{ "maglev_disruption_reweight", t_reweight },
	{ "maglev_disruption_weighted", t_weighted_changes },
	{ "maglev_build_time", t_speed },
	UNIT_END
};
