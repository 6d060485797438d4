/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Weighted Maglev lookup tables (Eisenbud et al., NSDI 2016): a flow
 * hash indexes table[hash % size] to pick a backend, every backend holds
 * a share of the entries proportional to its weight, and a change to one
 * backend moves few entries of the others, so established flows mostly
 * keep their backend.  Pure computation, no I/O.
 */
#ifndef PS_MAGLEV_H
#define PS_MAGLEV_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Table sizes are primes (the permutations need a prime size to visit
 * every entry).  Maglev wants size >> backends, ~100x: balance holds at
 * any size, but the disruption of a change grows as size/n shrinks.
 */
#define PS_MAGLEV_SIZE_DEFAULT	65537
#define PS_MAGLEV_SIZE_MIN	251
#define PS_MAGLEV_SIZE_MAX	1048573	/* a prime; steerd's config limit */

/* An entry no backend holds; backend indices are 0..PS_MAGLEV_NONE - 1 */
#define PS_MAGLEV_NONE		0xffffu
#define PS_MAGLEV_BACKENDS_MAX	65535

/* size is a prime within PS_MAGLEV_SIZE_MIN..PS_MAGLEV_SIZE_MAX */
bool ps_maglev_size_ok(uint32_t size);

/*
 * Fill table[0..size-1] with backend indices 0..n-1 (n <= 65535).
 *
 *   id      a stable identity per backend (e.g. a hash of its address).
 *           A backend's permutation of the entries depends only on its
 *           id, the size and the seed, and ties between backends are
 *           broken by id: the table, read as entry -> id, depends on the
 *           set of (id, weight) pairs and not on their order in the
 *           arrays.  Ids should be distinct (equal ids share a
 *           permutation: still correct, less even under changes).
 *   weight  backend i gets a share of the entries proportional to
 *           weight[i]; only the ratios matter.  <= 0, NaN or infinite:
 *           no entries.
 *   seed    varies the permutations per service.
 *
 * Shares: backend i holds the floor or the ceiling of size * w_i / W
 * entries (W the total weight; largest remainder decides which, ties by
 * id), i.e. less than one entry off its exact share; every entry is held.
 * Equal weights: the counts differ by at most one.
 *
 * Cost: O(n log n + size log n + size ln size) time, ~3 ms for the default
 * size and 64 backends; O(n + size) memory, about 56 bytes a backend and
 * a bit an entry, allocated and freed per call (so -ENOMEM is possible);
 * nothing is kept between calls, so concurrent calls on distinct tables
 * are safe.  Deterministic: the same inputs give the same table.
 *
 * Returns the number of backends holding entries (fewer than those with
 * weight only when some share is under one entry, e.g. more backends than
 * entries); 0 with every entry PS_MAGLEV_NONE when no backend has weight
 * (or n == 0).  -EINVAL (table untouched) for a size that is not
 * ps_maglev_size_ok(), n out of 0..65535 or NULL arrays; -ENOMEM with
 * every entry PS_MAGLEV_NONE.
 */
int ps_maglev_build(uint16_t *table, uint32_t size, int n,
		    const uint64_t *id, const double *weight, uint64_t seed);

#endif
