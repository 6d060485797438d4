/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Hashes shared by the data plane and userspace: the client hash of `hash`
 * pools (steerd's userspace answers pick the slot XDP picks) and the slot
 * of a short name in ps_ntab (steerd writes the table XDP probes).
 */
#ifndef POPSTEER_HASH_H
#define POPSTEER_HASH_H

#include <linux/types.h>
#include "consts.h"

/* the BPF verifier wants these loops unrolled; gcc builds userspace */
#ifdef __clang__
#define PS_UNROLL _Pragma("unroll")
#else
#define PS_UNROLL
#endif

/* In BPF a call costs more than the hash (10-40 ns with return thunks):
 * inline it there. */
#ifdef __bpf__
#define PS_HASH_INLINE	static inline __attribute__((always_inline))
#else
#define PS_HASH_INLINE	static inline
#endif

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
PS_HASH_INLINE __u32 ps_client_slot(const __u32 *addr, int v6, __u32 prefix4,
				   __u32 prefix6, __u32 seed)
{
	__u32 h = 0;

	if (!v6) {
		h = addr[0] & ps_prefix_mask(prefix4, 0);
	} else {
PS_UNROLL
		for (int w = 0; w < 4; w++)
			h = ps_hash32(h ^ (addr[w] & ps_prefix_mask(prefix6, w)));
	}
	return ps_hash32(h ^ seed) & (PS_SEL_SLOTS - 1);
}

/*
 * Slot of a short name in ps_ntab (key: the 4 words of the padded name,
 * as loaded from memory).  Each word, mixed with the seed, times its own
 * odd constant, the products summed, then one more mix and multiply, the
 * top 16 bits taken.  The four products are independent, so the data
 * plane waits for two multiplies, not four in a chain; tables built with
 * it fill like those of a random hash (the same share of seeds fits
 * 8000-16000 sequential, structured or random names in 8 probes).  A new
 * seed changes which names collide (steerd draws one when a name does not
 * fit its probe window).
 */
static inline __u32 ps_name_hash4(__u64 k0, __u64 k1, __u64 k2, __u64 k3,
				  __u32 seed)
{
	__u64 s = (__u64)seed * 0x9e3779b97f4a7c15ULL;
	__u64 h = (k0 ^ s) * 0xff51afd7ed558ccdULL +
		  (k1 ^ s) * 0xc4ceb9fe1a85ec53ULL +
		  (k2 ^ s) * 0x87c37b91114253d5ULL +
		  (k3 ^ s) * 0x4cf5ad432745937fULL;

	_Static_assert(PS_NTAB_SIZE == 1 << 16, "ps_name_hash4 takes 16 bits");
	h ^= h >> 32;
	h *= 0x9fb21c651e98df25ULL;
	return (__u32)(h >> 48);
}

static inline __u32 ps_name_hash(const __u64 *key, __u32 seed)
{
	_Static_assert(PS_KEY_S == 32, "ps_name_hash4 takes 4 words");
	return ps_name_hash4(key[0], key[1], key[2], key[3], seed);
}

#endif
