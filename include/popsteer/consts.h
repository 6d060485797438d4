/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * popsteer shared constants: limits, enums and map names used by both the
 * BPF data plane and userspace.  Only <linux/types.h> is included so the
 * header builds for the BPF target and for the host alike.
 */
#ifndef POPSTEER_CONSTS_H
#define POPSTEER_CONSTS_H

#include <linux/types.h>

#define PS_VERSION		"0.3"

/* ---- limits ------------------------------------------------------------ */
#define PS_NAME_WIRE_MAX	255	/* RFC 1035: wire name incl. root label */
#define PS_LABEL_MAX		63
#define PS_LABELS_MAX		128	/* 127 one-byte labels + root */
#define PS_CONF_LABELS_MAX	32	/* labels of a configured name or zone */
#define PS_MAX_POOLS		256
#define PS_MAX_ZONES		256
#define PS_MAX_NAMES		65536	/* per hash map of longer names */
#define PS_NTAB_SIZE		65536	/* slots of the short-name table */
/* names it takes: at a quarter full a table of random-looking names fits
 * the probe window for about 4 in 10 seeds (steerd tries 64); at a half,
 * for none */
#define PS_NTAB_NAMES		(PS_NTAB_SIZE / 4)
#define PS_NTAB_PROBES		8	/* linear probing bound */
#define PS_POOL_SERVERS_MAX	64	/* per address family, per pool */
#define PS_ANSWERS_MAX		8	/* records in one answer section */
#define PS_SEL_SLOTS		256	/* selection table slots per family */
#define PS_LISTEN_MAX		8	/* DNS listen addresses per family */
#define PS_SOA_MAX		280	/* SOA record after its owner: type..rdata */
#define PS_NS_MAX		512	/* apex NS RRset, owners included */
#define PS_OBJ_NAME_MAX		48	/* pool name bytes incl. NUL */
#define PS_EDNS_SIZE_DEFAULT	1232
#define PS_DNS_PORT_DEFAULT	53

/* Response bytes after the UDP header: header + question + the largest
 * section we build (NS RRset) + OPT.  Scratch space is sized from this. */
#define PS_MSG_MAX		1024

/* Name keys: lower-cased wire names, zero padded to one of four sizes.
 * Names of up to 32 bytes (nearly all) live in ps_ntab, an open-addressing
 * table the program probes inline; longer ones in three kernel hash maps,
 * which hash no more bytes than their size class needs. */
#define PS_KEY_S		32
#define PS_KEY_M		64
#define PS_KEY_L		128
#define PS_KEY_X		256

/* ---- map names (pinned by name; <= 15 chars) ---------------------------- */
#define PS_MAP_CFG		"ps_cfg"
#define PS_MAP_GEN		"ps_gen"
#define PS_MAP_NTAB		"ps_ntab"
#define PS_MAP_NAME_M		"ps_name64"
#define PS_MAP_NAME_L		"ps_name128"
#define PS_MAP_NAME_X		"ps_name256"
#define PS_MAP_SEL		"ps_sel"
#define PS_MAP_ZONE		"ps_zone"
#define PS_MAP_STATS		"ps_stats"

/* Default pin directory: the one `ip link set dev IF xdp obj ...` uses
 * (iproute2 pins LIBBPF_PIN_BY_NAME maps in <bpffs>/tc/globals). */
#define PS_BPFFS_DEFAULT	"/sys/fs/bpf"
#define PS_PIN_SUBDIR		"tc/globals"

/* ---- ps_gen: which of two buffers readers use -------------------------- */
/* Large values (config, selection tables, zones) are double buffered: the
 * writer fills the inactive copy, flips the u32 in ps_gen, then waits for an
 * RCU grace period before touching the old copy again. */
#define PS_GEN_CFG		0
#define PS_GEN_NTAB		1
#define PS_GEN_POOL(p)		(2 + (p))
#define PS_GEN_ZONE(z)		(2 + PS_MAX_POOLS + (z))
#define PS_GEN_ENTRIES		(2 + PS_MAX_POOLS + PS_MAX_ZONES)
#define PS_BUF(idx, gen)	((idx) * 2 + ((gen) & 1))

/* ---- ps_cfg.flags ------------------------------------------------------- */
#define PS_CFG_READY		(1U << 0)	/* maps complete: answer */
/* every query through the general path, none written in place by the
 * common-reply writer (tests compare the two; a diagnostic) */
#define PS_CFG_NO_FAST		(1U << 1)

/* ---- ps_name.flags ------------------------------------------------------ */
#define PS_NAME_POOL		(1U << 0)	/* A/AAAA answered from .pool */
#define PS_NAME_APEX		(1U << 1)	/* zone apex: SOA and NS */
#define PS_NAME_VALID		(1U << 7)	/* ps_ntab: the slot is used */
/* neither flag: the name exists (empty non-terminal): NODATA */

/* ---- ps_sel.flags ------------------------------------------------------- */
#define PS_SEL_SERVFAIL4	(1U << 0)	/* a4 == 0 means SERVFAIL, not NODATA */
#define PS_SEL_SERVFAIL6	(1U << 1)

/* ---- selection modes ---------------------------------------------------- */
enum ps_sel_mode {
	PS_SEL_RANDOM = 0,	/* slot from bpf_get_prandom_u32() */
	PS_SEL_HASH = 1,	/* slot from a hash of the client's prefix */
};

/* ---- per-CPU counters (ps_stats) ---------------------------------------- */
enum ps_stat {
	PS_ST_PACKETS,		/* every frame the entry program saw */
	PS_ST_QUERIES,		/* DNS queries to our address and port */
	PS_ST_NOERROR,		/* answers with records */
	PS_ST_NODATA,		/* NOERROR, empty answer, SOA */
	PS_ST_NXDOMAIN,
	PS_ST_REFUSED,
	PS_ST_SERVFAIL,
	PS_ST_BADVERS,
	PS_ST_TRUNCATED,	/* sent with TC=1 (also counted by rcode) */
	PS_ST_PASS,		/* DNS-port packets left to the stack */
	PS_ST_PASS_MALFORMED,	/*  ...of which malformed or truncated */
	PS_ST_PASS_NOTREADY,	/*  ...of which before steerd filled the maps */
	PS_ST_DROP,		/* could not be answered nor passed intact */
	PS_ST_MAX
};

#define PS_STAT_NAMES {						\
	"packets", "queries", "noerror", "nodata", "nxdomain",		\
	"refused", "servfail", "badvers", "truncated", "pass",		\
	"pass_malformed", "pass_notready", "drop" }

/* ---- DNS wire constants -------------------------------------------------- */
#define PS_DNS_HDR_LEN		12
#define PS_T_A			1
#define PS_T_NS			2
#define PS_T_SOA		6
#define PS_T_AAAA		28
#define PS_T_OPT		41
#define PS_T_IXFR		251
#define PS_T_AXFR		252
#define PS_T_MAILB		253
#define PS_T_MAILA		254
#define PS_T_ANY		255
#define PS_C_IN			1
#define PS_RC_NOERROR		0
#define PS_RC_FORMERR		1
#define PS_RC_SERVFAIL		2
#define PS_RC_NXDOMAIN		3
#define PS_RC_REFUSED		5
#define PS_RC_BADVERS		16	/* extended: 1 in OPT, 0 in header */

#endif /* POPSTEER_CONSTS_H */
