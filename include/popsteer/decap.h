/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * popsteer backend decapsulation (bpf/decap.bpf.c): map names and the
 * keys and values of its pinned maps, shared by the BPF program and
 * userspace.  Fixed-width types only; a layout change must rename
 * (version) the map.  Kept apart from consts.h/maps.h: the decap program
 * runs on backends and shares nothing else with the PoP's steer program.
 */
#ifndef POPSTEER_DECAP_H
#define POPSTEER_DECAP_H

#include <linux/types.h>

/* ---- map names (pinned by name; <= 15 chars) ---------------------------- */
#define PS_MAP_DECAP_ADDRS	"ps_decap_addrs"
#define PS_MAP_DECAP_STATS	"ps_decap_stats"
#define PS_MAP_DECAP_CACHE	"ps_decap_cache"

/* Tunnel addresses a backend may list (a host has one or two). */
#define PS_DECAP_ADDRS_MAX	64

/*
 * ps_decap_addrs: HASH[PS_DECAP_ADDRS_MAX], key = an outer destination
 * address this host decapsulates for, value = __u32 (any value, write 1:
 * the key's presence is what counts).  IPv6 as is, IPv4 as the mapped
 * address ::ffff:a.b.c.d, both in network byte order.
 *
 * An EMPTY map decapsulates every IP-in-IP packet (zero configuration);
 * once it holds an address, only packets to listed addresses are.  A
 * listed address takes effect at once; whether the map is empty, which
 * takes a walk of the map to tell, each CPU looks at again at most every
 * PS_DECAP_EMPTY_TTL_MS (see ps_decap_cache): adding the first address
 * stops the decapsulation of unlisted ones, and removing the last one
 * starts it, within that time.
 */
struct ps_decap_addr {
	__u8 addr[16];
};
_Static_assert(sizeof(struct ps_decap_addr) == 16,
	       "ABI changed: version ps_decap_addrs");

/*
 * ps_decap_cache: PERCPU_ARRAY[1], not pinned: the program's own memory of
 * whether ps_decap_addrs was empty, used on a lookup miss until
 * until_ns (bpf_ktime_get_coarse_ns(), i.e. CLOCK_MONOTONIC_COARSE).
 * Walking the map (a pass over all its buckets when empty) costs about a
 * microsecond, too much for every packet of a zero-configuration backend.
 * Zeroing the element makes the next miss look again.
 */
#define PS_DECAP_EMPTY_TTL_MS	100

struct ps_decap_cache {
	__u64 until_ns;
	__u32 empty;		/* 1: ps_decap_addrs was empty */
	__u32 pad;
};

/*
 * ps_decap_stats: PERCPU_ARRAY[1].  Every frame counts exactly once in
 * decap4, decap6, pass, drop_malformed or drop_ecn; pass_frag and
 * pass_not_ours are subsets of pass.
 */
struct ps_decap_stats {
	__u64 decap4;		/* IPv4 inner packets handed to the stack */
	__u64 decap6;		/* IPv6 inner packets handed to the stack */
	__u64 pass;		/* frames left untouched (not IP-in-IP for us) */
	__u64 pass_frag;	/*  ...of which IP-in-IP outer IPv4 fragments */
	__u64 pass_not_ours;	/*  ...of which IP-in-IP to an address not in
				 *     ps_decap_addrs */
	__u64 drop_malformed;	/* IP-in-IP for us, inner header truncated or
				 * lying about its version or length */
	__u64 drop_ecn;		/* outer CE over a Not-ECT inner (RFC 6040) */
};
_Static_assert(sizeof(struct ps_decap_stats) == 7 * 8,
	       "ABI changed: version ps_decap_stats");

#define PS_DECAP_STAT_NAMES {						\
	"decap4", "decap6", "pass", "pass_frag", "pass_not_ours",	\
	"drop_malformed", "drop_ecn" }

#endif /* POPSTEER_DECAP_H */
