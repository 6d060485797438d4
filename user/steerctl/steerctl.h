/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * steerctl internals.  The command line is described by tables
 * (cmds.c): objects hold commands, commands hold keyword specs; parse.c
 * turns the words after a command into the JSON arguments of a steerd
 * request (client.c), or a local command reads the pinned maps (local.c).
 * output.c prints replies as tables and records, or as JSON.
 */
#ifndef PS_STEERCTL_H
#define PS_STEERCTL_H

#include <stdbool.h>
#include <jansson.h>
#include <popsteer/consts.h>

#define STEERCTL_VERSION	PS_VERSION
#define CTL_TIMEOUT_S		5

/* global options */
struct ctx {
	bool json, pretty;
	const char *sock;		/* steerd's control socket */
	const char *bpffs;		/* bpffs mount; maps in <bpffs>/tc/globals */
};

/* what a keyword's value must look like (checked before anything is sent) */
enum kw_type {
	T_STR,		/* pool or interface name: steerd checks it */
	T_DNAME,	/* a DNS name */
	T_MAILBOX,	/* a DNS name, '@' accepted for the first dot */
	T_ADDR,		/* an IPv4 or IPv6 address */
	T_NUM,		/* a decimal 0..4294967295; steerd checks the range */
	T_CHOICE,	/* one of choices[], prefix matched */
	T_REAL,		/* a decimal fraction: 0.25, 3 */
	T_BOOL,		/* yes|no */
};

#define KW_REQ		(1U << 0)	/* must be given */
#define KW_MULTI	(1U << 1)	/* may be repeated */

/*
 * One word of a command.  word is the keyword (NULL: a positional
 * argument, in table order, before any keyword).  key says where the value
 * goes in the request's args: "ttl", "soa.serial" (nested object), "ns[]"
 * (appended to an array), "servers[+].address" (a new object appended),
 * "servers[-].weight" (into the last object appended).
 */
struct kw {
	const char *word;
	const char *meta;		/* the value in messages: N, ADDR, POOL */
	const char *key;
	enum kw_type type;
	unsigned int flags;
	const char *const *choices;	/* T_CHOICE: NULL-terminated */
};

#define CMD_NEED_ONE	(1U << 0)	/* at least one keyword (set) */

struct cmd {
	const char *name;
	const char *rpc;		/* steerd command; NULL: local */
	int (*local)(const struct ctx *c, json_t **data);
	void (*print)(json_t *data);	/* plain output of a read command */
	const struct kw *kws;		/* ends with an entry without key */
	unsigned int flags;
	const char *syntax;		/* after "steerctl OBJECT " */
};

struct obj {
	const char *name;
	const struct cmd *cmds;		/* the first is the default */
	int ncmds;
};

extern const struct obj ctl_objs[];
extern const int ctl_nobjs;

/* parse.c */
/* Index of word among names[n] (exact, else unique prefix), or a usage
 * error: "WHERE: unknown KIND 'word' (expected one of: ...)". */
int match_word(const char *where, const char *kind, const char *word,
	       const char *const *names, int n);
/* The words after the command into args; -EAGAIN if one asked for help.
 * where ("pool add") prefixes messages. */
int parse_args(const char *where, const struct cmd *cmd, int argc,
	       char **argv, json_t *args);

/* client.c */
/* One request to steerd, one reply; data (may be NULL) is the caller's. */
int ctl_request(const struct ctx *c, const char *cmd, json_t *args,
		json_t **data);

/* local.c: views that read the pinned maps, with or without steerd */
int local_stats(const struct ctx *c, json_t **data);
int local_prog(const struct ctx *c, json_t **data);

/* output.c */
void out_init(const struct ctx *c);
/* Error: on stderr, and {"error": ...} on stdout with -j; returns rc */
int fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a usage error: exit status 2; returns -EINVAL */
int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool usage_failed(void);
bool error_reported(void);
void out_json(json_t *data);

void print_status(json_t *d);
void print_zones(json_t *d);
void print_zone(json_t *d);
void print_pools(json_t *d);
void print_pool(json_t *d);
void print_names(json_t *d);
void print_name(json_t *d);
void print_servers(json_t *d);
void print_server(json_t *d);
void print_vips(json_t *d);
void print_vip(json_t *d);
void print_stats(json_t *d);
void print_progs(json_t *d);

#endif
