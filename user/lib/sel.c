// SPDX-License-Identifier: GPL-2.0-only
#include <math.h>
#include <string.h>

#include "sel.h"

/* splitmix64 finaliser */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t ps_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = mix64(seed ^ len);

	for (size_t i = 0; i < len; i++)
		h = mix64(h ^ p[i]) + i;
	return mix64(h);
}

/* Weighted rendezvous score of server id for a slot: -w / ln(u). */
static double score(uint64_t id, int slot, uint32_t seed, double w)
{
	uint64_t h = mix64(id ^ mix64(((uint64_t)seed << 32) | (unsigned)slot));
	double u = ((h >> 11) + 0.5) / 9007199254740992.0;	/* (0,1) */

	return -w / log(u);
}

/* The best `top` servers by score for one slot, best first (ties: the
 * lower index); servers of weight 0 never rank. Returns how many. */
static int rank(int *order, int top, int n, const double *weight,
		const uint64_t *id, int slot, uint32_t seed)
{
	double sc[PS_POOL_SERVERS_MAX];
	int k = 0;

	for (int i = 0; i < n; i++) {
		int j;

		if (weight[i] <= 0)
			continue;
		sc[i] = score(id[i], slot, seed, weight[i]);
		/* insertion into the best `top` so far: n <= 64, top <= 9 */
		if (k == top && sc[order[k - 1]] >= sc[i])
			continue;
		j = k < top ? k++ : k - 1;
		while (j > 0 && sc[order[j - 1]] < sc[i]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return k;
}

/* Largest remainder: integer slot counts proportional to the weights. */
static void apportion(int *count, int n, const double *weight)
{
	double total = 0, rem[PS_POOL_SERVERS_MAX];
	int used = 0;

	for (int i = 0; i < n; i++)
		total += weight[i] > 0 ? weight[i] : 0;
	for (int i = 0; i < n; i++) {
		double q = weight[i] > 0 ? PS_SEL_SLOTS * weight[i] / total : 0;

		count[i] = (int)q;
		rem[i] = q - count[i];
		used += count[i];
	}
	while (used < PS_SEL_SLOTS) {
		int best = -1;

		for (int i = 0; i < n; i++)
			if (weight[i] > 0 && (best < 0 || rem[i] > rem[best]))
				best = i;
		count[best]++;
		rem[best] = -1;
		used++;
	}
}

int ps_sel_fill(uint8_t slots[PS_SEL_SLOTS][PS_ANSWERS_MAX], int n,
		const double *weight, const uint64_t *id, int answers,
		int mode, uint32_t seed)
{
	int usable = 0, a, order[PS_POOL_SERVERS_MAX];
	int count[PS_POOL_SERVERS_MAX], cur[PS_POOL_SERVERS_MAX];

	memset(slots, 0, PS_SEL_SLOTS * PS_ANSWERS_MAX);
	if (n > PS_POOL_SERVERS_MAX)
		n = PS_POOL_SERVERS_MAX;
	for (int i = 0; i < n; i++)
		usable += weight[i] > 0;
	a = answers < usable ? answers : usable;
	if (a <= 0)
		return 0;
	if (a > PS_ANSWERS_MAX)
		a = PS_ANSWERS_MAX;

	if (mode == PS_SEL_RANDOM) {
		apportion(count, n, weight);
		memset(cur, 0, sizeof(cur));
	}
	for (int s = 0; s < PS_SEL_SLOTS; s++) {
		int first, k = 0, ranked = 0;

		/* the order after the first answer; random mode with one
		 * answer needs none (a log per server per slot saved) */
		if (mode != PS_SEL_RANDOM || a > 1)
			ranked = rank(order, a + 1, n, weight, id, s, seed);
		if (mode == PS_SEL_RANDOM) {
			/* smooth weighted round robin over the slot counts:
			 * exact shares, evenly interleaved */
			first = -1;
			for (int i = 0; i < n; i++) {
				cur[i] += count[i];
				if (count[i] && (first < 0 || cur[i] > cur[first]))
					first = i;
			}
			cur[first] -= PS_SEL_SLOTS;
		} else {
			first = order[0];
		}
		slots[s][k++] = first;
		for (int i = 0; i < ranked && k < a; i++)
			if (order[i] != first)
				slots[s][k++] = order[i];
	}
	return a;
}

int ps_sel_fill_order(uint8_t slots[PS_SEL_SLOTS][PS_ANSWERS_MAX],
		      const int *order, int n, int answers)
{
	int a = answers < n ? answers : n;

	memset(slots, 0, PS_SEL_SLOTS * PS_ANSWERS_MAX);
	if (a > PS_ANSWERS_MAX)
		a = PS_ANSWERS_MAX;
	for (int s = 0; s < PS_SEL_SLOTS; s++)
		for (int k = 0; k < a; k++)
			slots[s][k] = order[k];
	return a > 0 ? a : 0;
}
