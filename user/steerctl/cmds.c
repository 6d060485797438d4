// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command line, as tables: objects, their commands, and the words
 * each command takes.  Adding a command is adding a row here; parse.c
 * and the help text follow from it.
 */
#include <stddef.h>

#include "steerctl.h"

#define ARRAY_SIZE(a)	((int)(sizeof(a) / sizeof((a)[0])))
#define END		{ NULL, NULL, NULL, 0, 0, NULL }

static const char *const sel_modes[] = { "random", "hash", NULL };
static const char *const xdp_modes[] = { "auto", "native", "skb", NULL };
static const char *const policies[] = { "weighted", "lowest", "hash", NULL };
static const char *const fallbacks[] = { "all", "servfail", "backup", NULL };
static const char *const probe_kinds[] = { "http", "https", "tcp", "ftp",
	"load", "traffic", "none", NULL };
static const char *const methods[] = { "GET", "HEAD", NULL };
static const char *const admin_states[] = { "up", "down", "drain", NULL };
static const char *const initials[] = { "up", "down", NULL };

/* positional arguments */
#define P_ZONE		{ NULL, "ZONE", "name", T_DNAME, KW_REQ, NULL }
#define P_POOL		{ NULL, "POOL", "name", T_STR, KW_REQ, NULL }
#define P_NAME		{ NULL, "NAME", "name", T_DNAME, KW_REQ, NULL }
#define P_SRV_POOL	{ NULL, "POOL", "pool", T_STR, KW_REQ, NULL }
#define P_SRV_ADDR	{ NULL, "ADDR", "address", T_ADDR, KW_REQ, NULL }

/* keywords */
#define K_NUM(w, k)	{ w, "N", k, T_NUM, 0, NULL }
#define K_SOA_NUMS						\
	K_NUM("serial", "soa.serial"), K_NUM("refresh", "soa.refresh"),	\
	K_NUM("retry", "soa.retry"), K_NUM("expire", "soa.expire"),	\
	K_NUM("minimum", "soa.minimum")
#define K_REAL(w, k)	{ w, "X", k, T_REAL, 0, NULL }
#define K_POOL_SETTINGS						\
	K_NUM("answers", "answers"),					\
	{ "policy", "{weighted|lowest|hash}", "policy", T_CHOICE, 0, policies },\
	{ "select", "{random|hash}", "select", T_CHOICE, 0, sel_modes },\
	{ "fallback", "{all|servfail|backup}", "fallback", T_CHOICE, 0,	\
	  fallbacks },							\
	{ "backup", "POOL", "backup", T_STR, 0, NULL },			\
	K_REAL("threshold", "threshold"), K_REAL("margin", "margin"),	\
	K_REAL("cpu-weight", "scoring.cpu"),				\
	K_REAL("response-weight", "scoring.response"),			\
	K_REAL("latency-weight", "scoring.latency"),			\
	K_REAL("traffic-weight", "scoring.traffic"),			\
	K_REAL("traffic-ref", "scoring.traffic_ref"),			\
	K_REAL("ewma", "scoring.ewma"),					\
	K_NUM("ttl", "ttl"),						\
	K_NUM("prefix4", "hash_prefix4"), K_NUM("prefix6", "hash_prefix6")
#define POOL_SYNTAX							\
	"[answers N] [policy {weighted|lowest|hash}] [select {random|hash}]\n" \
	"[fallback {all|servfail|backup}] [backup POOL] [threshold X] [margin X]\n" \
	"[cpu-weight X] [response-weight X] [latency-weight X] [traffic-weight X]\n" \
	"[traffic-ref PPS] [ewma X]\n" \
	"[ttl N] [prefix4 N] [prefix6 N]"

/* a probe: "probe KIND" opens one, the words after it apply to it */
#define K_PROBE								\
	{ "probe", "{http|https|tcp|ftp|load|traffic|none}", "probes[+].kind",\
	  T_CHOICE, KW_MULTI, probe_kinds },				\
	{ "url", "URL", "probes[-].url", T_STR, KW_MULTI, NULL },	\
	{ "host", "HOST", "probes[-].host", T_STR, KW_MULTI, NULL },	\
	{ "method", "{GET|HEAD}", "probes[-].method", T_CHOICE, KW_MULTI,\
	  methods },							\
	{ "expect", "CODE", "probes[-].expect[]", T_NUM, KW_MULTI, NULL },\
	{ "body", "TEXT", "probes[-].body", T_STR, KW_MULTI, NULL },	\
	{ "user", "USER", "probes[-].user", T_STR, KW_MULTI, NULL },	\
	{ "password", "PASS", "probes[-].password", T_STR, KW_MULTI, NULL },\
	{ "port", "N", "probes[-].port", T_NUM, KW_MULTI, NULL },	\
	{ "interval", "MS", "probes[-].interval", T_NUM, KW_MULTI, NULL },\
	{ "timeout", "MS", "probes[-].timeout", T_NUM, KW_MULTI, NULL },	\
	{ "jitter", "MS", "probes[-].jitter", T_NUM, KW_MULTI, NULL },	\
	{ "rise", "N", "probes[-].rise", T_NUM, KW_MULTI, NULL },	\
	{ "fall", "N", "probes[-].fall", T_NUM, KW_MULTI, NULL },	\
	{ "health", "{yes|no}", "probes[-].health", T_BOOL, KW_MULTI, NULL },\
	{ "max-body", "BYTES", "probes[-].max_body", T_NUM, KW_MULTI, NULL },\
	{ "reuse", "{yes|no}", "probes[-].reuse", T_BOOL, KW_MULTI, NULL }
#define PROBE_SYNTAX							\
	"[probe {http|https|tcp|ftp|load|traffic|none} [url URL] [host HOST]\n"\
	" [method {GET|HEAD}] [expect CODE]... [body TEXT] [user USER]\n"	\
	" [password PASS] [port N] [interval MS] [timeout MS] [jitter MS]\n" \
	" [rise N] [fall N] [health {yes|no}] [max-body BYTES] [reuse {yes|no}]]..."

/* ---- zone --------------------------------------------------------------- */

static const struct kw zone_one[] = { P_ZONE, END };
static const struct kw zone_add[] = {
	P_ZONE,
	{ "mname", "NAME", "soa.mname", T_DNAME, KW_REQ, NULL },
	{ "rname", "MAILBOX", "soa.rname", T_MAILBOX, KW_REQ, NULL },
	{ "ns", "NAME", "ns[]", T_DNAME, KW_REQ | KW_MULTI, NULL },
	K_NUM("ttl", "ttl"), K_SOA_NUMS, END
};
static const struct kw zone_set[] = {
	P_ZONE, K_NUM("ttl", "ttl"),
	{ "mname", "NAME", "soa.mname", T_DNAME, 0, NULL },
	{ "rname", "MAILBOX", "soa.rname", T_MAILBOX, 0, NULL },
	{ "ns", "NAME", "ns[]", T_DNAME, KW_MULTI, NULL },
	K_SOA_NUMS, END
};

static const struct cmd zone_cmds[] = {
	{ "list", "zone.list", NULL, print_zones, NULL, 0, "zone list" },
	{ "show", "zone.show", NULL, print_zone, zone_one, 0, "zone show ZONE" },
	{ "add", "zone.add", NULL, NULL, zone_add, 0,
	  "zone add ZONE mname NAME rname MAILBOX ns NAME [ns NAME]... [ttl N]\n"
	  "[serial N] [refresh N] [retry N] [expire N] [minimum N]" },
	{ "set", "zone.set", NULL, NULL, zone_set, CMD_NEED_ONE,
	  "zone set ZONE [ttl N] [mname NAME] [rname MAILBOX] [ns NAME]...\n"
	  "[serial N] [refresh N] [retry N] [expire N] [minimum N]" },
	{ "del", "zone.del", NULL, NULL, zone_one, 0, "zone del ZONE" },
};

/* ---- pool --------------------------------------------------------------- */

static const struct kw pool_one[] = { P_POOL, END };
static const struct kw pool_add[] = {
	P_POOL, K_POOL_SETTINGS,
	{ "server", "ADDR", "servers[+].address", T_ADDR, KW_MULTI, NULL },
	{ "weight", "N", "servers[-].weight", T_NUM, KW_MULTI, NULL },
	K_PROBE, END
};
static const struct kw pool_set[] = { P_POOL, K_POOL_SETTINGS, K_PROBE, END };

static const struct cmd pool_cmds[] = {
	{ "list", "pool.list", NULL, print_pools, NULL, 0, "pool list" },
	{ "show", "pool.show", NULL, print_pool, pool_one, 0, "pool show POOL" },
	{ "add", "pool.add", NULL, NULL, pool_add, 0,
	  "pool add POOL " POOL_SYNTAX "\n[server ADDR [weight N]]...\n"
	  PROBE_SYNTAX "\n(probes given to a pool are templates for every "
	  "server: {address} in a url stands for each server's)" },
	{ "set", "pool.set", NULL, NULL, pool_set, CMD_NEED_ONE,
	  "pool set POOL " POOL_SYNTAX "\n" PROBE_SYNTAX },
	{ "del", "pool.del", NULL, NULL, pool_one, 0, "pool del POOL" },
};

/* ---- server ------------------------------------------------------------- */

static const struct kw server_list[] = {
	{ "pool", "POOL", "pool", T_STR, 0, NULL }, END
};
#define K_SERVER							\
	K_NUM("weight", "weight"),					\
	{ "mac", "MAC", "mac", T_STR, 0, NULL },			\
	{ "state", "{up|down|drain}", "state", T_CHOICE, 0, admin_states },\
	{ "initial", "{up|down}", "initial", T_CHOICE, 0, initials },	\
	K_PROBE
#define SERVER_SYNTAX							\
	"[weight N] [mac MAC] [state {up|down|drain}] [initial {up|down}]\n" PROBE_SYNTAX
static const struct kw server_add[] = { P_SRV_POOL, P_SRV_ADDR, K_SERVER, END };
static const struct kw server_set[] = { P_SRV_POOL, P_SRV_ADDR, K_SERVER, END };
static const struct kw server_one[] = { P_SRV_POOL, P_SRV_ADDR, END };

static const struct cmd server_cmds[] = {
	{ "list", "server.list", NULL, print_servers, server_list, 0,
	  "server list [pool POOL]" },
	{ "show", "server.show", NULL, print_server, server_one, 0,
	  "server show POOL ADDR" },
	{ "add", "server.add", NULL, NULL, server_add, 0,
	  "server add POOL ADDR " SERVER_SYNTAX },
	{ "set", "server.set", NULL, NULL, server_set, CMD_NEED_ONE,
	  "server set POOL ADDR " SERVER_SYNTAX "\n"
	  "(state drain: no new answers; probes given replace the server's)" },
	{ "del", "server.del", NULL, NULL, server_one, 0,
	  "server del POOL ADDR" },
};

/* ---- name --------------------------------------------------------------- */

static const struct kw name_list[] = {
	{ "zone", "ZONE", "zone", T_DNAME, 0, NULL },
	{ "pool", "POOL", "pool", T_STR, 0, NULL }, END
};
static const struct kw name_one[] = { P_NAME, END };
static const struct kw name_add[] = {
	P_NAME, { "pool", "POOL", "pool", T_STR, KW_REQ, NULL },
	K_NUM("ttl", "ttl"), END
};
static const struct kw name_set[] = {
	P_NAME, { "pool", "POOL", "pool", T_STR, 0, NULL },
	K_NUM("ttl", "ttl"), END
};

static const struct cmd name_cmds[] = {
	{ "list", "name.list", NULL, print_names, name_list, 0,
	  "name list [zone ZONE] [pool POOL]" },
	{ "show", "name.show", NULL, print_name, name_one, 0, "name show NAME" },
	{ "add", "name.add", NULL, NULL, name_add, 0,
	  "name add NAME pool POOL [ttl N]" },
	{ "set", "name.set", NULL, NULL, name_set, CMD_NEED_ONE,
	  "name set NAME [pool POOL] [ttl N]" },
	{ "del", "name.del", NULL, NULL, name_one, 0, "name del NAME" },
};

/* ---- vip ----------------------------------------------------------------- */

static const char *const protos[] = { "tcp", "udp", NULL };
static const char *const fwd_modes[] = { "dsr", "ipip", NULL };

#define P_VIP		{ NULL, "VIP", "name", T_STR, KW_REQ, NULL }
#define K_VIP(req)							\
	{ "address", "ADDR", "address", T_ADDR, req, NULL },		\
	{ "port", "N", "port", T_NUM, req, NULL },			\
	{ "protocol", "{tcp|udp}", "protocol", T_CHOICE, 0, protos },	\
	{ "mode", "{dsr|ipip}", "mode", T_CHOICE, 0, fwd_modes },	\
	{ "pool", "POOL", "pool", T_STR, req, NULL },			\
	K_NUM("table-size", "table_size")
#define VIP_SYNTAX							\
	"[protocol {tcp|udp}] [mode {dsr|ipip}] [table-size N]"

static const struct kw vip_one[] = { P_VIP, END };
static const struct kw vip_add[] = { P_VIP, K_VIP(KW_REQ), END };
static const struct kw vip_set[] = { P_VIP, K_VIP(0), END };

static const struct cmd vip_cmds[] = {
	{ "list", "vip.list", NULL, print_vips, NULL, 0, "vip list" },
	{ "show", "vip.show", NULL, print_vip, vip_one, 0, "vip show VIP" },
	{ "add", "vip.add", NULL, NULL, vip_add, 0,
	  "vip add VIP address ADDR port N pool POOL " VIP_SYNTAX "\n"
	  "(the pool's servers of the address's family are the backends)" },
	{ "set", "vip.set", NULL, NULL, vip_set, CMD_NEED_ONE,
	  "vip set VIP [address ADDR] [port N] [pool POOL] " VIP_SYNTAX },
	{ "del", "vip.del", NULL, NULL, vip_one, 0, "vip del VIP" },
};

/* ---- status, stats, prog -------------------------------------------------- */

static const struct cmd status_cmds[] = {
	{ "show", "status", NULL, print_status, NULL, 0, "status [show]" },
};

static const struct cmd stats_cmds[] = {
	{ "show", NULL, local_stats, print_stats, NULL, 0,
	  "stats show          (the pinned maps: works without steerd)" },
};

static const struct kw prog_attach[] = {
	{ "dev", "IF", "dev", T_STR, KW_REQ, NULL },
	{ "mode", "{auto|native|skb}", "mode", T_CHOICE, 0, xdp_modes }, END
};
static const struct kw prog_detach[] = {
	{ "dev", "IF", "dev", T_STR, KW_REQ, NULL }, END
};

static const struct cmd prog_cmds[] = {
	{ "show", NULL, local_prog, print_progs, NULL, 0,
	  "prog show           (the kernel's view: works without steerd)" },
	{ "attach", "prog.attach", NULL, NULL, prog_attach, 0,
	  "prog attach dev IF [mode {auto|native|skb}]" },
	{ "detach", "prog.detach", NULL, NULL, prog_detach, 0,
	  "prog detach dev IF" },
};

#define OBJ(n, c)	{ n, c, ARRAY_SIZE(c) }

const struct obj ctl_objs[] = {
	OBJ("status", status_cmds),
	OBJ("zone", zone_cmds),
	OBJ("pool", pool_cmds),
	OBJ("server", server_cmds),
	OBJ("name", name_cmds),
	OBJ("vip", vip_cmds),
	OBJ("stats", stats_cmds),
	OBJ("prog", prog_cmds),
};
const int ctl_nobjs = ARRAY_SIZE(ctl_objs);
