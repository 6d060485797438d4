/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The client hash of `hash` pools, shared by the data plane and steerd's
 * userspace DNS answers so both pick the same slot for the same client.
 */
#ifndef POPSTEER_HASH_H
#define POPSTEER_HASH_H

#include <linux/types.h>
#include "consts.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ps_be32(x)	__builtin_bswap32(x)
#else
#define ps_be32(x)	(x)
#endif

static inline __u32 ps_hash32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* Network-order mask of 32-bit word `word` of an address for a prefix. */
static inline __u32 ps_prefix_mask(__u32 prefix, __u32 word)
{
	__u32 lo = word * 32;

	if (prefix >= lo + 32)
		return 0xffffffff;
	if (prefix <= lo)
		return 0;
	return ps_be32(~0U << (32 - (prefix - lo)));
}

/* Slot of a client (address words in network order, as in the packet). */
static inline __u32 ps_client_slot(const __u32 *addr, int v6, __u32 prefix4,
				   __u32 prefix6, __u32 seed)
{
	__u32 h = 0;

	if (!v6) {
		h = addr[0] & ps_prefix_mask(prefix4, 0);
	} else {
#pragma unroll
		for (int w = 0; w < 4; w++)
			h = ps_hash32(h ^ (addr[w] & ps_prefix_mask(prefix6, w)));
	}
	return ps_hash32(h ^ seed) & (PS_SEL_SLOTS - 1);
}

#endif
