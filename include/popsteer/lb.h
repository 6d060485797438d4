/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * popsteer flow steering ABI: the maps that steer flows to a VIP (address,
 * port, protocol) to the VIP's backends ("reals"), shared by the BPF
 * program and steerd.  Same rules as maps.h: fixed-width types, explicit
 * padding, a layout change renames (versions) the map.
 *
 *   ps_vips       HASH  ps_vip_key -> ps_vip              (steerd writes)
 *   ps_reals      ARRAY real id -> ps_real               (steerd writes)
 *   ps_maglev     ARRAY_OF_MAPS vip id -> ARRAY of ps_maglev_ent
 *                 (one lookup table per VIP, replaced whole: atomic)
 *   ps_conn       LRU_HASH ps_conn_key -> ps_conn         (XDP writes)
 *   ps_vip_stats  PERCPU_ARRAY vip id -> ps_lb_stats      (XDP counts)
 *   ps_real_stats PERCPU_ARRAY real id -> ps_lb_stats
 *
 * A flow's backend is remembered by real id in ps_conn, so ids are
 * stable: steerd never gives a live id another address, and reads the
 * pinned ps_reals back when it restarts.
 */
#ifndef POPSTEER_LB_H
#define POPSTEER_LB_H

#include <linux/types.h>
#include "consts.h"

#define PS_MAX_VIPS		256
#define PS_MAX_REALS		4096
#define PS_CONN_DEFAULT		262144	/* connection table entries */
#define PS_MAGLEV_PER_ENT	4	/* real ids per ps_maglev_ent */
#define PS_REAL_NONE		0xffff	/* a Maglev entry without backend */

#define PS_MAP_VIPS		"ps_vips"
#define PS_MAP_REALS		"ps_reals"
#define PS_MAP_MAGLEV		"ps_maglev"
#define PS_MAP_CONN		"ps_conn"
#define PS_MAP_VIP_STATS	"ps_vip_stats"
#define PS_MAP_REAL_STATS	"ps_real_stats"

enum ps_fwd_mode {
	PS_FWD_DSR = 1,		/* L2 direct server return: new destination MAC */
	PS_FWD_IPIP = 2,	/* IPv4-in-IPv4 / IPv6-in-IPv6 to the backend */
};

/* Addresses are 16 bytes; IPv4 in the first 4 (the rest zero). */
struct ps_vip_key {
	__u8  addr[16];
	__be16 port;
	__u8  proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8  family;		/* 4 or 6 */
};
_Static_assert(sizeof(struct ps_vip_key) == 20, "ABI changed: version ps_vips");

struct ps_vip {
	__u32 id;		/* index in ps_maglev, ps_vip_stats (< PS_MAX_VIPS) */
	__u32 size;		/* entries of its Maglev table (a prime) */
	__u8  mode;		/* enum ps_fwd_mode */
	__u8  flags;
	__u16 pad;
	__u32 seed;		/* flow hash seed */
	/* ipip: the outer source is tun_src with the bits of tun_host
	 * taken from the flow hash, so the backends' receive hashing
	 * (RSS on the outer header) spreads the flows */
	__u8  tun_src[16];
	__u8  tun_host[16];
};
_Static_assert(sizeof(struct ps_vip) == 48, "ABI changed: version ps_vips");

#define PS_REAL_UP	0x01	/* new flows may go there, established stay */
#define PS_REAL_DRAIN	0x02	/* established flows stay, no new ones */

struct ps_real {
	__u8  addr[16];
	__u8  mac[6];		/* DSR: the backend's MAC */
	__u8  family;		/* 4 or 6; 0: unused id */
	__u8  flags;		/* PS_REAL_*; neither: flows are re-placed */
};
_Static_assert(sizeof(struct ps_real) == 24, "ABI changed: version ps_reals");

struct ps_maglev_ent {
	__u16 real[PS_MAGLEV_PER_ENT];
};

struct ps_conn_key {
	__u8  src[16];
	__u8  dst[16];
	__be16 sport;
	__be16 dport;
	__u8  proto;
	__u8  family;
	__u16 pad;
};
_Static_assert(sizeof(struct ps_conn_key) == 40, "ABI changed: version ps_conn");

struct ps_conn {
	__u32 real;		/* real id */
	__u32 vip;		/* vip id when placed */
};
_Static_assert(sizeof(struct ps_conn) == 8, "ABI changed: version ps_conn");

struct ps_lb_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;	/* placed by the Maglev table */
	__u64 replaced;		/* flows of a backend that left, placed again */
	__u64 icmp;		/* ICMP "too big" forwarded to a flow's backend */
	__u64 no_backend;	/* no usable backend: passed to the stack */
	__u64 fib_fail;		/* ipip: no route or neighbour: passed */
	__u64 pad;
};
_Static_assert(sizeof(struct ps_lb_stats) == 64, "ABI changed: version ps_*_stats");

/* The flow hash: which Maglev entry a new flow takes (userspace tests
 * compute the same).  Words in network order, as in the packet. */
static inline __u32 ps_flow_hash(const __u32 *src, const __u32 *dst,
				 __u32 ports, __u32 proto, __u32 seed)
{
	__u32 h = seed ^ proto;

#ifdef __clang__
#pragma unroll
#endif
	for (int w = 0; w < 4; w++) {
		h ^= src[w];
		h *= 0x9e3779b1;
		h ^= h >> 15;
		h ^= dst[w];
		h *= 0x85ebca6b;
		h ^= h >> 13;
	}
	/* then a full finalizer (murmur3's): every output bit depends on
	 * every port bit, whatever the table size */
	h ^= ports;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

#endif
