/* SPDX-License-Identifier: GPL-2.0-only */
/* BPF-only: map definitions of the steer program (ABI in include/popsteer). */
#ifndef PS_BPF_MAPS_H
#define PS_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <popsteer/maps.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct ps_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PS_GEN_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_gen SEC(".maps");

#define PS_NAME_MAP(var, keytype)				\
struct {							\
	__uint(type, BPF_MAP_TYPE_HASH);			\
	__uint(max_entries, PS_MAX_NAMES);			\
	__type(key, struct keytype);				\
	__type(value, struct ps_name);				\
	__uint(pinning, LIBBPF_PIN_BY_NAME);			\
} var SEC(".maps")

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PS_NTAB_SIZE);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ps_nent);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_ntab SEC(".maps");

PS_NAME_MAP(ps_name64, ps_name_key64);
PS_NAME_MAP(ps_name128, ps_name_key128);
PS_NAME_MAP(ps_name256, ps_name_key256);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PS_MAX_POOLS);
	__type(key, __u32);
	__type(value, struct ps_sel);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_sel SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PS_MAX_ZONES);
	__type(key, __u32);
	__type(value, struct ps_zone);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_zone SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ps_stats SEC(".maps");

/*
 * Per-CPU scratch, not pinned: the lower-cased name (padded with zeros far
 * enough that every suffix can be used as a key in place) and the reply
 * under construction, laid out so that one checksum call covers the UDP
 * pseudo header, the UDP header and the DNS message:
 *
 *   buf[0..40)   pseudo header (IPv6 uses all 40 bytes, IPv4 the last 12)
 *   buf[40..48)  UDP header
 *   buf[48..)    DNS message
 */
#define PS_BUF_UDP	40
#define PS_BUF_MSG	48
/* room for a 512-byte checksum window starting anywhere in the message */
#define PS_BUF_SIZE	(PS_BUF_MSG + PS_MSG_MAX + 512)
#define PS_KEYBUF_SIZE	512

/*
 * State of the query being answered, passed from phase to phase through
 * memory on purpose: a phase reads its inputs back with PS_GET(), which the
 * verifier cannot see through, so the paths by which the previous phase
 * left its loops converge on one state instead of multiplying the work of
 * everything after them.
 */
struct ps_dstate {
	__u32 dns;		/* frame offset of the DNS header */
	__u32 msg_len;		/* DNS message bytes in the query */
	__u32 name_len;		/* QNAME wire bytes incl. root */
	__u32 nlabels;		/* labels incl. root */
	__u32 qend;		/* message offset after the question */
	__u32 pos;		/* bytes of the reply message built */
	__u32 limit;		/* largest reply the client accepts */
	__u32 ttl;		/* name TTL (host order) */
	__u32 copied;		/* question bytes copied so far */
	__u32 ntab;		/* ps_gen[PS_GEN_NTAB]: buffer bit, seed */
	__u32 rng;		/* xorshift32 state of random selection */
	__u16 id;
	__u16 qflags;
	__u16 qtype;
	__u16 an, ns;
	__u16 rcode;		/* 0..15, or PS_RC_BADVERS */
	__u16 pool;
	__u16 zone;
	__u8  nflags;		/* PS_NAME_* of the matched name */
	__u8  zone_labels;
	__u8  edns;
	__u8  aa;
	__u8  tc;
	__u8  found;		/* 1: exact name, 2: zone by suffix */
	__u8  ip_tos;		/* IPv4 TOS to echo */
	__u8  stat;		/* PS_ST_* the reply counts as */
	__u8  ip6;		/* the query came over IPv6 */
	__u8  l3;		/* frame offset of the IP header */
	__u32 ip6_flow;		/* IPv6 version/class/flow word to echo */
	__u16 ip_id;
	/* 1: the in-place writer built key[] for a name of kname_len
	 * bytes and looked it up (found: 1 with the entry in ttl, pool,
	 * ...; 0 not there) before it let the general path have the query */
	__u8  keyed;
	__u8  kname_len;
	__u8  slot;		/* in place: selection slot of the answer */
	__u64 nsum;		/* in place: the name's UDP checksum sum */
	/* in place, IPv4: the query's addresses, and its version/IHL/TOS
	 * and ID fields summed, read before the head move (the writer's
	 * loads of them would straddle two of its stores with no VLAN) */
	__u32 ip4_s, ip4_d, ip4_hsum;
	__u8  l2[24] __attribute__((aligned(8)));	/* frame head */
};

/* 8-byte aligned so clang knows 8-byte loads and stores of key[] and buf[]
 * are aligned; otherwise it splits them into single bytes. */
struct ps_scratch {
	struct ps_dstate st;
	__u8 key[PS_KEYBUF_SIZE] __attribute__((aligned(8)));
	__u8 buf[PS_BUF_SIZE] __attribute__((aligned(8)));
	__u8 labels[PS_LABELS_MAX];	/* offsets of each label in the name */
} __attribute__((aligned(8)));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_scratch);
} ps_scratch SEC(".maps");

/* A scalar from memory, as an unknown to the verifier (see above). */
#define PS_GET(x)	(*(volatile typeof(x) *)&(x))

static __always_inline void *ps_lookup_gen(void *map, __u32 obj, __u32 gen_idx)
{
	__u32 *gen = bpf_map_lookup_elem(&ps_gen, &gen_idx);
	__u32 key;

	if (!gen)
		return 0;
	key = PS_BUF(obj, *gen);
	return bpf_map_lookup_elem(map, &key);
}

#endif
