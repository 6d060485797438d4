// SPDX-License-Identifier: GPL-2.0-only
/*
 * Weighted Maglev.  The classic algorithm gives each backend a
 * permutation of the entries (offset + j * skip) % size and lets the
 * backends take turns, round robin, each claiming its next preferred free
 * entry until the table is full; every turn claims exactly one entry, so
 * the entry counts are the turn counts.
 *
 * Weights therefore only need to shape the turns.  Each backend's count
 * is fixed first, by largest remainder: the floor or the ceiling of its
 * exact share.  Backend i takes its k-th turn (k = 0, 1, ...) at virtual
 * time (k + 1/2) / w_i, turns go in time order, ties by id, and a backend
 * leaves once it holds its count: a weighted fair queue, so each backend
 * walks its permutation at the pace of its weight all through the fill,
 * as in the classic algorithm (equal weights are exactly its round
 * robin).  The counts at the time order alone would stop at are already
 * within about an entry of the exact shares, so the caps only reorder the
 * last few turns.  A backend's turn times depend on its own weight only:
 * reweighting one leaves the others' order of turns alone and moves
 * mostly entries to or from it.  A heap finds the next turn in O(log n),
 * where one pass per round over every backend would cost O(size * n)
 * when one weight dwarfs the others.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "sel.h"

/* A backend with weight; kept in (id, index) order, so the position r in
 * that order breaks ties between turns. */
struct backend {
	uint64_t id;
	double w;		/* weight / the largest weight: in (0, 1] */
	uint32_t pos, skip;	/* next preferred entry, permutation step */
	uint32_t turns;		/* taken = entries held */
	uint32_t quota;		/* entries it is to hold */
	double rem;		/* of its exact share, over the quota */
	uint16_t idx;
};

/*
 * A turn in the heap is one integer: the bits of its virtual time (a
 * positive double, so they order as the times do) with the backend's
 * rank in place of the low 16 bits of the mantissa.  Times within 2^-36
 * of each other tie and go by rank; one comparison orders two turns.
 */
#define RANK_BITS	16
#define RANK_MASK	((1ULL << RANK_BITS) - 1)

static uint64_t turn(double t, uint32_t r)
{
	uint64_t u;

	memcpy(&u, &t, sizeof(u));
	return (u & ~RANK_MASK) | r;
}

bool ps_maglev_size_ok(uint32_t size)
{
	if (size < PS_MAGLEV_SIZE_MIN || size > PS_MAGLEV_SIZE_MAX ||
	    !(size & 1))
		return false;
	for (uint32_t d = 3; d * d <= size; d += 2)
		if (size % d == 0)
			return false;
	return true;
}

static int by_id(const void *a, const void *b)
{
	const struct backend *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int by_rem(const void *a, const void *b)
{
	const struct backend *x = a, *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return by_id(a, b);
}

/* Largest remainder: quotas summing to size, each the floor or the
 * ceiling of size * w / total; leaves be[] in (id, index) order. */
static void apportion(struct backend *be, int k, uint32_t size)
{
	double total = 0;
	uint32_t left = size;

	for (int i = 0; i < k; i++)
		total += be[i].w;
	for (int i = 0; i < k; i++) {
		double share = size * be[i].w / total;

		be[i].quota = share < size ? (uint32_t)share : size;
		be[i].rem = share - be[i].quota;
		left -= be[i].quota < left ? be[i].quota : left;
	}
	qsort(be, k, sizeof(*be), by_rem);
	/* left < k but for rounding; the loop keeps the sum exact anyway */
	for (int i = 0; left; i = (i + 1) % k, left--)
		be[i].quota++;
	qsort(be, k, sizeof(*be), by_id);
}

/*
 * Put x at i, in the 4-ary heap below i: the hole goes down the smallest
 * children to a leaf, then x climbs back (Floyd).  x is the turn just
 * taken, pushed later, so it belongs near the bottom and the climb is
 * short; the descent is branchless (ties are common and would be coin
 * tosses to a branch predictor).  h[n..n+2] are sentinels that never come
 * first, so a short family of children needs no test.
 */
static void sift(uint64_t *h, int n, int i, uint64_t x)
{
	int top = i, c;

	while ((c = 4 * i + 1) < n) {
		int a = c + (h[c + 1] < h[c]);
		int b = c + 2 + (h[c + 3] < h[c + 2]);

		c = h[b] < h[a] ? b : a;
		h[i] = h[c];
		i = c;
	}
	while (i > top && x < h[(i - 1) / 4]) {
		h[i] = h[(i - 1) / 4];
		i = (i - 1) / 4;
	}
	h[i] = x;
}

/* The permutation of one backend: hashed from the id's bytes in a fixed
 * order, so a table is the same on hosts of either endianness. */
static void permutation(struct backend *b, uint32_t size, uint64_t seed)
{
	uint8_t key[8];

	for (int k = 0; k < 8; k++)
		key[k] = b->id >> (8 * k);
	b->pos = ps_hash64(key, sizeof(key), seed) % size;
	b->skip = ps_hash64(key, sizeof(key),
			    seed ^ 0x9e3779b97f4a7c15ULL) % (size - 1) + 1;
}

int ps_maglev_build(uint16_t *table, uint32_t size, int n,
		    const uint64_t *id, const double *weight, uint64_t seed)
{
	struct backend *be = NULL;
	uint64_t *h = NULL;
	uint64_t *full = NULL;
	double wmax = 0;
	int k = 0, live = 0, used = 0;

	if (!table || !ps_maglev_size_ok(size) || n < 0 ||
	    n > PS_MAGLEV_BACKENDS_MAX || (n && (!id || !weight)))
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (weight[i] > 0 && isfinite(weight[i]) && weight[i] > wmax)
			wmax = weight[i];
	if (wmax > 0) {
		be = malloc(n * sizeof(*be));
		h = malloc((n + 3) * sizeof(*h));
		/* which entries are taken: a bit each, 8 KB at the default
		 * size, where the probes stay in L1 */
		full = calloc((size + 63) / 64, sizeof(*full));
	}
	if (wmax == 0 || !be || !h || !full) {
		for (uint32_t s = 0; s < size; s++)
			table[s] = PS_MAGLEV_NONE;
		free(be);
		free(h);
		free(full);
		return wmax == 0 ? 0 : -ENOMEM;
	}

	for (int i = 0; i < n; i++) {
		if (!(weight[i] > 0 && isfinite(weight[i])))
			continue;
		/* normalised so that a tiny weight does not overflow the
		 * times; the order of turns is the same */
		be[k].w = weight[i] / wmax;
		be[k].id = id[i];
		be[k].idx = i;
		be[k].turns = 0;
		permutation(&be[k], size, seed);
		k++;
	}
	apportion(be, k, size);
	/* in the heap: the backends with entries to take, by rank */
	for (int r = 0; r < k; r++)
		if (be[r].quota)
			h[live++] = turn(0.5 / be[r].w, r);
	h[live] = h[live + 1] = h[live + 2] = UINT64_MAX;
	for (int i = (live - 2) / 4; i >= 0; i--)
		sift(h, live, i, h[i]);

	for (uint32_t filled = 0; filled < size; filled++) {
		uint32_t r = h[0] & RANK_MASK;
		struct backend *b = &be[r];
		uint32_t p = b->pos;

		/* a free entry exists and the permutation visits every
		 * entry (size prime), so this ends */
		while (full[p / 64] & (1ULL << (p % 64)))
			if ((p += b->skip) >= size)
				p -= size;
		full[p / 64] |= 1ULL << (p % 64);
		table[p] = b->idx;
		if ((p += b->skip) >= size)
			p -= size;
		b->pos = p;
		used += !b->turns++;
		if (b->turns < b->quota) {
			/* from the count, not summed: no rounding drifts */
			sift(h, live, 0, turn((b->turns + 0.5) / b->w, r));
		} else {
			/* done: the last turn takes its place */
			uint64_t last = h[--live];

			h[live] = UINT64_MAX;
			if (live)
				sift(h, live, 0, last);
		}
	}
	free(be);
	free(h);
	free(full);
	return used;
}
