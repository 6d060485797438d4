// SPDX-License-Identifier: GPL-2.0-only
/* Selection tables: exact shares, distinct answer sets, stable hashing. */
#include <string.h>

#include "unit.h"
#include "sel.h"

static uint8_t slots[PS_SEL_SLOTS][PS_ANSWERS_MAX];

static void ids(uint64_t *id, int n)
{
	for (int i = 0; i < n; i++)
		id[i] = ps_hash64(&i, sizeof(i), 1);
}

static void primaries(int *count, int n)
{
	memset(count, 0, n * sizeof(*count));
	for (int s = 0; s < PS_SEL_SLOTS; s++)
		count[slots[s][0]]++;
}

static void t_random_shares(void)
{
	double w[3] = { 1, 3, 0 };
	uint64_t id[3];
	int c[3], a;

	ids(id, 3);
	a = ps_sel_fill(slots, 3, w, id, 1, PS_SEL_RANDOM, 7);
	CHECK_EQ(a, 1);
	primaries(c, 3);
	CHECK_EQ(c[0], 64);
	CHECK_EQ(c[1], 192);
	CHECK_EQ(c[2], 0);	/* weight 0: never answered */
}

static void t_random_equal(void)
{
	double w[3] = { 5, 5, 5 };
	uint64_t id[3];
	int c[3];

	ids(id, 3);
	ps_sel_fill(slots, 3, w, id, 1, PS_SEL_RANDOM, 7);
	primaries(c, 3);
	for (int i = 0; i < 3; i++)
		CHECK(c[i] == 85 || c[i] == 86, "server %d has %d slots", i, c[i]);
	CHECK_EQ(c[0] + c[1] + c[2], 256);
	/* interleaved, not in runs: no two neighbouring slots share a
	 * primary when the shares are equal */
	for (int s = 1; s < PS_SEL_SLOTS; s++)
		CHECK(slots[s][0] != slots[s - 1][0], "run at slot %d", s);
}

static void t_answer_sets(void)
{
	double w[4] = { 1, 2, 3, 4 };
	uint64_t id[4];
	int a;

	ids(id, 4);
	for (int mode = 0; mode < 2; mode++) {
		a = ps_sel_fill(slots, 4, w, id, 3, mode, 9);
		CHECK_EQ(a, 3);
		for (int s = 0; s < PS_SEL_SLOTS; s++) {
			CHECK(slots[s][0] != slots[s][1] &&
			      slots[s][0] != slots[s][2] &&
			      slots[s][1] != slots[s][2],
			      "mode %d slot %d repeats a server", mode, s);
			for (int k = 0; k < 3; k++)
				CHECK(slots[s][k] < 4, "index out of range");
		}
	}
}

static void t_limits(void)
{
	double w[3] = { 0, 2, 0 }, z[2] = { 0, 0 };
	uint64_t id[3];

	ids(id, 3);
	/* fewer usable servers than answers wanted */
	CHECK_EQ(ps_sel_fill(slots, 3, w, id, 4, PS_SEL_RANDOM, 1), 1);
	for (int s = 0; s < PS_SEL_SLOTS; s++)
		CHECK_EQ(slots[s][0], 1);
	CHECK_EQ(ps_sel_fill(slots, 2, z, id, 1, PS_SEL_RANDOM, 1), 0);
	CHECK_EQ(ps_sel_fill(slots, 0, z, id, 1, PS_SEL_HASH, 1), 0);
}

static void t_hash_stable(void)
{
	double w[5] = { 1, 1, 1, 1, 1 };
	uint8_t before[PS_SEL_SLOTS];
	uint64_t id[5];
	int moved = 0, lost = 0;

	ids(id, 5);
	ps_sel_fill(slots, 5, w, id, 1, PS_SEL_HASH, 3);
	for (int s = 0; s < PS_SEL_SLOTS; s++)
		before[s] = slots[s][0];
	/* server 2 goes away: only its own slots move */
	w[2] = 0;
	ps_sel_fill(slots, 5, w, id, 1, PS_SEL_HASH, 3);
	for (int s = 0; s < PS_SEL_SLOTS; s++) {
		if (before[s] == 2)
			lost++;
		else if (slots[s][0] != before[s])
			moved++;
		CHECK(slots[s][0] != 2, "slot %d still on the removed server", s);
	}
	CHECK_EQ(moved, 0);
	CHECK(lost > 20 && lost < 90, "removed server had %d of 256 slots", lost);
}

static void t_hash_weights(void)
{
	double w[2] = { 1, 3 };
	uint64_t id[2];
	int c[2];

	ids(id, 2);
	ps_sel_fill(slots, 2, w, id, 1, PS_SEL_HASH, 11);
	primaries(c, 2);
	/* rendezvous shares follow the weights up to sampling noise */
	CHECK(c[0] > 40 && c[0] < 90, "weight 1 of 4 got %d of 256 slots", c[0]);
}

static void t_deterministic(void)
{
	double w[3] = { 1, 2, 3 };
	uint8_t first[PS_SEL_SLOTS][PS_ANSWERS_MAX];
	uint64_t id[3];

	ids(id, 3);
	ps_sel_fill(slots, 3, w, id, 2, PS_SEL_HASH, 5);
	memcpy(first, slots, sizeof(first));
	ps_sel_fill(slots, 3, w, id, 2, PS_SEL_HASH, 5);
	CHECK(!memcmp(first, slots, sizeof(first)), "same input, other table");
}

UNIT_TABLE(sel_cases) = {
	{ "sel_random_shares", t_random_shares },
	{ "sel_random_equal_interleaved", t_random_equal },
	{ "sel_answer_sets_distinct", t_answer_sets },
	{ "sel_limits", t_limits },
	{ "sel_hash_stable_on_removal", t_hash_stable },
	{ "sel_hash_follows_weights", t_hash_weights },
	{ "sel_deterministic", t_deterministic },
	UNIT_END
};
