/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The configuration model: what steerd was told to serve.  Parsed from a
 * libconfig file (conf.c), compiled into map contents (build.c).
 */
#ifndef PS_CONF_H
#define PS_CONF_H

#include <stdint.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <popsteer/consts.h>
#include <popsteer/lb.h>
#include "score.h"

#define PS_IFACES_MAX	16
#define PS_CONTROL_SOCKET_DEFAULT "/run/popsteer/steerd.sock"
#define PS_STATE_FILE_DEFAULT	"/var/lib/popsteer/state.conf"
#define PS_ERR_MAX	512

enum ps_xdp_mode { PS_XDP_AUTO, PS_XDP_NATIVE, PS_XDP_SKB };

/* a wire-format DNS name, lower-cased */
struct ps_dname {
	uint8_t len;			/* bytes in wire[] incl. root */
	uint8_t labels;			/* labels, root excluded */
	uint8_t wire[PS_NAME_WIRE_MAX];
};

struct ps_addr {
	int family;			/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

enum ps_probe_kind { PS_PROBE_HTTP, PS_PROBE_HTTPS, PS_PROBE_TCP,
		     PS_PROBE_FTP, PS_PROBE_LOAD, PS_PROBE_TRAFFIC,
		     PS_PROBE_KINDS };
extern const char *const ps_probe_kind_name[PS_PROBE_KINDS];

#define PS_PROBES_MAX	4		/* per server */
#define PS_EXPECT_MAX	8

/* One probe of a server; in a pool's template, {address} in url stands
 * for each server's address. */
struct ps_probe_conf {
	int kind;			/* enum ps_probe_kind */
	char url[256];			/* http/https/ftp/load */
	char host[128];			/* Host header, http/https/load */
	bool head;			/* HEAD instead of GET */
	int expect[PS_EXPECT_MAX];	/* status codes that mean up */
	int nexpect;
	char body[128];			/* substring the body must hold */
	char user[64], password[64];	/* ftp login (anonymous) */
	int port;			/* tcp */
	int interval_ms, timeout_ms, jitter_ms;
	int rise, fall;
	bool health;			/* results decide up/down */
	bool reuse;			/* http/https/load: keep the connection */
	uint32_t max_body;		/* bytes read at most */
};

struct ps_server_conf {
	struct ps_addr addr;
	uint32_t weight;		/* 0: never selected */
	int admin;			/* enum ps_admin */
	int initial;			/* enum ps_health before any probe */
	uint8_t mac[6];			/* DSR backend: its MAC (else learned) */
	bool has_mac;
	struct ps_probe_conf probes[PS_PROBES_MAX];	/* own or the pool's */
	int nprobes;
	int line;
};

struct ps_pool_conf {
	char name[PS_OBJ_NAME_MAX];
	int answers;			/* records per response */
	int mode;			/* enum ps_sel_mode */
	int policy;			/* enum ps_policy */
	int fallback;			/* enum ps_fallback */
	char backup[PS_OBJ_NAME_MAX];	/* PS_FB_POOL: its name */
	double threshold;		/* share change that rewrites a table */
	double margin;			/* lowest: how much better to switch */
	struct ps_scoring scoring;
	int prefix4, prefix6;		/* hash mode: client prefix hashed */
	uint32_t ttl;			/* default TTL of names using the pool */
	struct ps_server_conf *servers;
	int nservers;
	int line;
};

struct ps_zone_conf {
	struct ps_dname apex;
	char text[PS_NAME_WIRE_MAX * 4 + 1];	/* as written, for messages */
	uint32_t ttl;			/* of the SOA and NS records */
	struct ps_dname mname, rname;
	uint32_t serial, refresh, retry, expire, minimum;
	struct ps_dname ns[8];
	int nns;
	int line;
};

struct ps_name_conf {
	struct ps_dname name;
	char text[PS_NAME_WIRE_MAX * 4 + 1];
	int pool;			/* index into conf->pools */
	int zone;			/* index into conf->zones */
	uint32_t ttl;
	int line;
};

/* A flow steering service: (address, port, protocol) -> a pool's servers
 * of the same family */
struct ps_vip_conf {
	char name[PS_OBJ_NAME_MAX];
	struct ps_addr addr;
	uint16_t port;			/* host order */
	int proto;			/* IPPROTO_TCP / IPPROTO_UDP */
	int mode;			/* enum ps_fwd_mode */
	int pool;			/* index in pools */
	uint32_t table_size;		/* Maglev entries, a prime */
	int line;
};

/* Shared state between PoPs through etcd's JSON gateway (steerd store.c) */
#define PS_STORE_ENDPOINTS_MAX	4
struct ps_store_conf {
	bool enabled;
	char endpoints[PS_STORE_ENDPOINTS_MAX][128];	/* http://HOST:PORT */
	int nendpoints;
	char prefix[64];		/* keys under it: /popsteer */
	char name[64];			/* this PoP in the store */
	int interval_ms;		/* publish and read every ... */
	int ttl_s;			/* lease on what we publish */
	bool config;			/* zones, pools, names from <prefix>/config */
	char cache_file[256];		/* the last shared config, for restarts */
};

struct ps_conf {
	char path[4096];
	char ifaces[PS_IFACES_MAX][16];
	int nifaces;
	int xdp_mode;
	char bpffs[256];		/* bpffs mount; pins in <bpffs>/tc/globals */
	char control_socket[108];	/* steerd's Unix control socket */
	char state_file[256];		/* runtime changes, persisted */
	uint16_t dns_port;
	uint16_t edns_size;
	struct in_addr listen4[PS_LISTEN_MAX];
	int nlisten4;
	struct in6_addr listen6[PS_LISTEN_MAX];
	int nlisten6;

	struct ps_zone_conf *zones;
	int nzones;
	struct ps_pool_conf *pools;
	int npools;
	int pools_cap;			/* allocated (a failed parse frees all) */
	struct ps_name_conf *names;
	int nnames;

	struct ps_vip_conf *vips;
	int nvips;
	uint32_t flow_table_size;	/* ps_conn entries */
	struct ps_addr tun4, tun6;	/* ipip outer sources (prefixes) */
	int tun4_len, tun6_len;		/* prefix lengths; -1: none */
	struct ps_store_conf store;
};

/* Index of the VIP called name, or -1. */
int ps_conf_find_vip(const struct ps_conf *conf, const char *name);

/*
 * Parse and validate a config file.  On error returns -1 with a message of
 * the form "FILE:LINE: what is wrong" in err.
 */
int ps_conf_load(struct ps_conf *conf, const char *path, char *err,
		 size_t errlen);
/* The same from a string (tests); name is used in messages. */
int ps_conf_load_string(struct ps_conf *conf, const char *text,
			const char *name, char *err, size_t errlen);
void ps_conf_free(struct ps_conf *conf);

/* The same in two steps, for callers that edit the tree in between:
 * read a libconfig tree (from text, or from the file `name` if text is
 * NULL; destroyed on error), then parse and validate it. */
struct config_t;
int ps_tree_read(struct config_t *cfg, const char *name, const char *text,
		 char *err, size_t errlen);
int ps_conf_from_tree(struct ps_conf *conf, struct config_t *cfg,
		      const char *name, char *err, size_t errlen);

/* Text to lower-cased wire name, hostname characters only.  Returns 0 or
 * -1 with a reason in err. */
int ps_dname_from_text(struct ps_dname *out, const char *text, char *err,
		       size_t errlen);
/* Wire name to text without the final dot (root: "."). */
void ps_dname_to_text(const struct ps_dname *n, char *buf, size_t len);
/* Is child equal to or below parent? */
bool ps_dname_within(const struct ps_dname *child,
		     const struct ps_dname *parent);
/* The name with its first n labels removed. */
void ps_dname_parent(struct ps_dname *out, const struct ps_dname *in, int n);

int ps_addr_parse(struct ps_addr *out, const char *text);
const char *ps_addr_str(const struct ps_addr *a, char *buf, size_t len);

int ps_conf_find_pool(const struct ps_conf *conf, const char *name);
int ps_conf_find_zone(const struct ps_conf *conf, const struct ps_dname *apex);
/* Index of the deepest zone holding name, or -1. */
int ps_conf_zone_of(const struct ps_conf *conf, const struct ps_dname *name);

#endif
