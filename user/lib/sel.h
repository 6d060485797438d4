/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Selection tables: which servers each of a pool's PS_SEL_SLOTS slots
 * answers with.  The data plane picks a slot (random or by client prefix)
 * and copies that slot's precomputed answer set, so every policy costs the
 * packet the same O(1).
 */
#ifndef PS_SEL_H
#define PS_SEL_H

#include <stdint.h>
#include <popsteer/maps.h>

/*
 * Fill slots[][] for one address family.
 *   n        servers (indices 0..n-1 into the pool's address list)
 *   weight   share of each server (<= 0: never answered)
 *   id       a stable identity per server (hash of its address)
 *   answers  records wanted per response
 *   mode     PS_SEL_RANDOM: the first answer of exactly round(256 * w/W)
 *            slots is each server; PS_SEL_HASH: weighted rendezvous
 *            hashing per slot, so a server that leaves moves only its own
 *            slots and a client prefix keeps its server while it is up.
 * Returns the records per response (0 if no server has weight).
 */
int ps_sel_fill(uint8_t slots[PS_SEL_SLOTS][PS_ANSWERS_MAX], int n,
		const double *weight, const uint64_t *id, int answers,
		int mode, uint32_t seed);

/* Every slot answers the same ordered list: the first `answers` of
 * order[0..n-1] (the `lowest` policy).  Returns the records per answer. */
int ps_sel_fill_order(uint8_t slots[PS_SEL_SLOTS][PS_ANSWERS_MAX],
		      const int *order, int n, int answers);

uint64_t ps_hash64(const void *data, size_t len, uint64_t seed);

#endif
