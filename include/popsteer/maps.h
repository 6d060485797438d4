/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * popsteer map ABI: the keys and values of every pinned map, shared by the
 * BPF program and userspace.  Fixed-width types and explicit padding only;
 * a layout change must rename (version) the map.
 */
#ifndef POPSTEER_MAPS_H
#define POPSTEER_MAPS_H

#include <linux/types.h>
#include "consts.h"

/* ps_cfg: ARRAY[2] (double buffered, active copy in ps_gen[PS_GEN_CFG]) */
struct ps_cfg {
	__u32 flags;		/* PS_CFG_* */
	__u16 dns_port;		/* network byte order */
	__u16 edns_size;	/* UDP payload size we advertise (host order) */
	__u8  n_listen4;	/* 0 and 0: answer on any destination address */
	__u8  n_listen6;
	__u8  max_apex_labels;	/* deepest zone apex, bounds the zone search */
	__u8  pad[5];
	__be32 listen4[PS_LISTEN_MAX];
	__u8  listen6[PS_LISTEN_MAX][16];
};
_Static_assert(sizeof(struct ps_cfg) == 176, "ABI changed: version ps_cfg");

/* ps_name64/128/256: HASH, key = lower-cased wire name zero padded to
 * the map's key size (names of 33 up to that many wire bytes). */
struct ps_name_key64  { __u8 name[PS_KEY_M]; };
struct ps_name_key128 { __u8 name[PS_KEY_L]; };
struct ps_name_key256 { __u8 name[PS_KEY_X]; };

struct ps_name {
	__u32 ttl;		/* TTL of A/AAAA answers for this name */
	__u16 pool;		/* ps_sel index if PS_NAME_POOL */
	__u16 zone;		/* ps_zone index of the enclosing zone */
	__u8  flags;		/* PS_NAME_* */
	__u8  zone_labels;	/* labels in the zone apex (root excluded) */
	__u8  pad[2];
};
_Static_assert(sizeof(struct ps_name) == 12, "ABI changed: version ps_name*");

/* ps_ntab: ARRAY (mmapable) of 2 * PS_NTAB_SIZE slots in two buffers.
 * ps_gen[PS_GEN_NTAB] = (seed << 1) | buffer: the active buffer is slots
 * [buffer * PS_NTAB_SIZE, +PS_NTAB_SIZE), and one read gives a table and
 * the seed it was built with.  A name of up to 32 wire bytes lives at slot
 * ps_name_hash(key, seed) + i, i < PS_NTAB_PROBES (linear probing); an
 * unused slot (flags without PS_NAME_VALID) ends the probe. */
struct ps_nent {
	__u64 key[PS_KEY_S / 8];	/* lower-cased wire name, zero padded,
					 * as loaded from memory */
	struct ps_name val;
	__u32 pad;
};
_Static_assert(sizeof(struct ps_nent) == 48, "ABI changed: version ps_ntab");

/* ps_sel: ARRAY[2 * PS_MAX_POOLS], element PS_BUF(pool, ps_gen[PS_GEN_POOL])
 *
 * The selection table of one pool.  A query picks slot s (random or hashed
 * client prefix) and answers with addr[slotN[s][0..aN-1]]: steerd
 * precomputes every slot's ordered answer set, so the data plane does O(1)
 * work whatever the policy. */
struct ps_sel {
	__u8  a4;		/* A records per answer; 0: NODATA for A */
	__u8  a6;		/* AAAA records per answer; 0: NODATA for AAAA */
	__u8  mode;		/* enum ps_sel_mode */
	__u8  prefix4;		/* hash mode: client prefix lengths hashed */
	__u8  prefix6;
	__u8  flags;		/* PS_SEL_SERVFAIL4/6: no server, say so */
	__u8  pad[2];
	__u32 seed;		/* hash mode: per-pool hash seed */
	__u32 pad2;
	char  name[PS_OBJ_NAME_MAX];	/* pool name: userspace bookkeeping */
	__u8  slot4[PS_SEL_SLOTS][PS_ANSWERS_MAX];
	__u8  slot6[PS_SEL_SLOTS][PS_ANSWERS_MAX];
	__be32 addr4[PS_POOL_SERVERS_MAX];
	__u8  addr6[PS_POOL_SERVERS_MAX][16];
};
_Static_assert(sizeof(struct ps_sel) == 16 + PS_OBJ_NAME_MAX +
	       2 * PS_SEL_SLOTS * PS_ANSWERS_MAX + 20 * PS_POOL_SERVERS_MAX,
	       "ABI changed: version ps_sel");

/* ps_zone: ARRAY[2 * PS_MAX_ZONES], element PS_BUF(zone, ps_gen[...ZONE])
 *
 * Pre-encoded records of a zone apex.  soa[] is the SOA record without its
 * owner name (type, class, TTL, rdlength, rdata); the data plane writes the
 * owner as a compression pointer to the apex inside the question.  ns[] is
 * the complete apex NS RRset as answered to a query for the apex itself
 * (owners are pointers to the question, offset 12). */
struct ps_zone {
	__u16 soa_len;		/* bytes used in soa[] */
	__u16 ns_len;		/* bytes used in ns[] */
	__u16 ns_count;		/* records in ns[] */
	__u16 pad;
	__u32 soa_ttl;		/* TTL of the SOA in an answer (network order) */
	__u32 neg_ttl;		/* TTL of the SOA in negative answers (n.o.) */
	__u8  soa[PS_SOA_MAX];
	__u8  ns[PS_NS_MAX];
};
_Static_assert(sizeof(struct ps_zone) == 16 + PS_SOA_MAX + PS_NS_MAX,
	       "ABI changed: version ps_zone");

/* ps_stats: PERCPU_ARRAY[1] */
struct ps_stats {
	__u64 c[PS_ST_MAX];
};

#endif /* POPSTEER_MAPS_H */
