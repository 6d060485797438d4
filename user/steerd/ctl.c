// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: JSON lines over a Unix stream socket (root only).
 * Each request {"cmd": "pool.add", "args": {...}} gets one reply line,
 * {"ok": true, "data": ...} or {"ok": false, "error": "..."}.  The
 * protocol is described in user/steerd/CONTROL.md.
 *
 * A change is made on a copy of the effective config tree, recorded in a
 * copy of the overlay, and goes through steerd_apply(): the same parser
 * as the config file validates it, so runtime changes and the file can
 * never disagree about what is valid.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <jansson.h>

#include "steerd.h"
#include "tree.h"
#include "log.h"

#define CTL_LINE_MAX (1 << 20)
#define ERRLEN 512

typedef int (*cmd_fn)(struct steerd *d, json_t *args, json_t **data,
		      char *err);

/* ---- JSON to libconfig ------------------------------------------------ */

static int valid_key(const char *k)
{
	if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z')))
		return 0;
	return strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
	       strlen(k);
}

static int to_setting(config_setting_t *parent, const char *name, json_t *v,
		      char *err);

static bool is_probe_none(json_t *v)
{
	json_t *p = json_array_get(v, 0);
	const char *kind = json_string_value(json_object_get(p, "kind"));

	return json_array_size(v) == 1 && json_object_size(p) == 1 && kind &&
	       !strcmp(kind, "none");
}

static int members_to_group(config_setting_t *g, json_t *obj, char *err,
			    const char *skip)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		config_setting_t *old;

		if (skip && !strcmp(k, skip))
			continue;
		if (!valid_key(k)) {
			snprintf(err, ERRLEN, "bad key '%s'", k);
			return -1;
		}
		old = config_setting_get_member(g, k);
		if (old)
			config_setting_remove(g, k);
		/* probes: [{"kind": "none"}] (steerctl's "probe none")
		 * clears the list */
		if (!strcmp(k, "probes") && is_probe_none(v)) {
			if (!config_setting_add(g, k, CONFIG_TYPE_LIST))
				return -1;
			continue;
		}
		if (to_setting(g, k, v, err))
			return -1;
	}
	return 0;
}

static int to_setting(config_setting_t *parent, const char *name, json_t *v,
		      char *err)
{
	config_setting_t *s = NULL;
	size_t i;
	json_t *e;

	switch (json_typeof(v)) {
	case JSON_INTEGER: {
		json_int_t n = json_integer_value(v);

		if (n >= INT32_MIN && n <= INT32_MAX) {
			s = config_setting_add(parent, name, CONFIG_TYPE_INT);
			return s && config_setting_set_int(s, n) ? 0 : -1;
		}
		s = config_setting_add(parent, name, CONFIG_TYPE_INT64);
		return s && config_setting_set_int64(s, n) ? 0 : -1;
	}
	case JSON_REAL:
		s = config_setting_add(parent, name, CONFIG_TYPE_FLOAT);
		return s && config_setting_set_float(s, json_real_value(v)) ? 0 : -1;
	case JSON_STRING:
		s = config_setting_add(parent, name, CONFIG_TYPE_STRING);
		return s && config_setting_set_string(s, json_string_value(v)) ? 0 : -1;
	case JSON_TRUE:
	case JSON_FALSE:
		s = config_setting_add(parent, name, CONFIG_TYPE_BOOL);
		return s && config_setting_set_bool(s, json_is_true(v)) ? 0 : -1;
	case JSON_OBJECT:
		s = config_setting_add(parent, name, CONFIG_TYPE_GROUP);
		return s ? members_to_group(s, v, err, NULL) : -1;
	case JSON_ARRAY: {
		json_t *first = json_array_get(v, 0);
		int same = first && (json_is_string(first) || json_is_integer(first));

		json_array_foreach(v, i, e)
			same &= json_typeof(e) == json_typeof(first);
		/* libconfig arrays for lists of strings or of integers (ns,
		 * expect), lists otherwise (servers, probes) */
		s = config_setting_add(parent, name, same ?
				       CONFIG_TYPE_ARRAY : CONFIG_TYPE_LIST);
		if (!s)
			return -1;
		json_array_foreach(v, i, e)
			if (to_setting(s, NULL, e, err))
				return -1;
		return 0;
	}
	case JSON_NULL:
		snprintf(err, ERRLEN, "'%s' must not be null", name ? name : "value");
		return -1;
	}
	return -1;
}

/* ---- arguments ---------------------------------------------------------- */

static const char *arg_str(json_t *args, const char *key, char *err)
{
	json_t *v = json_object_get(args, key);

	if (!v || !json_is_string(v)) {
		snprintf(err, ERRLEN, "'%s' (a string) is required", key);
		return NULL;
	}
	return json_string_value(v);
}

/* ---- model to JSON ------------------------------------------------------- */

static json_t *dname_json(const struct ps_dname *n)
{
	char buf[PS_NAME_WIRE_MAX * 4 + 2];

	ps_dname_to_text(n, buf, sizeof(buf));
	return json_string(buf);
}

static const char *source(struct steerd *d, enum ps_kind k, const char *name)
{
	if (ps_tree_find(config_root_setting(d->overlay), k, name) >= 0)
		return "runtime";
	if (d->shared && ps_tree_find(config_root_setting(d->shared), k, name) >= 0)
		return "store";
	return "config";
}

static json_t *zone_json(struct steerd *d, int zi)
{
	const struct ps_zone_conf *z = &d->conf.zones[zi];
	json_t *ns = json_array(), *names = json_array();
	json_t *j;

	for (int i = 0; i < z->nns; i++)
		json_array_append_new(ns, dname_json(&z->ns[i]));
	for (int i = 0; i < d->conf.nnames; i++)
		if (d->conf.names[i].zone == zi)
			json_array_append_new(names, dname_json(&d->conf.names[i].name));
	j = json_pack("{s:o, s:I, s:{s:o, s:o, s:I, s:I, s:I, s:I, s:I}, s:o, s:o}",
		      "name", dname_json(&z->apex), "ttl", (json_int_t)z->ttl,
		      "soa", "mname", dname_json(&z->mname),
		      "rname", dname_json(&z->rname),
		      "serial", (json_int_t)z->serial,
		      "refresh", (json_int_t)z->refresh,
		      "retry", (json_int_t)z->retry,
		      "expire", (json_int_t)z->expire,
		      "minimum", (json_int_t)z->minimum,
		      "ns", ns, "names", names);
	json_object_set_new(j, "source", json_string(source(d, PS_ZONES, z->text)));
	return j;
}

/* Share of server si in pool pi's installed table: the fraction of slots
 * that answer it first (what most clients use). */
static double server_share(struct steerd *d, int pi, int si)
{
	const struct ps_sel *sel = &d->img.sels[pi];
	const struct ps_addr *a = &d->conf.pools[pi].servers[si].addr;
	bool v4 = a->family == AF_INET;
	int n = 0;

	if (!(v4 ? sel->a4 : sel->a6) ||
	    sel->flags & (v4 ? PS_SEL_SERVFAIL4 : PS_SEL_SERVFAIL6))
		return 0;
	for (int i = 0; i < PS_SEL_SLOTS; i++) {
		int k = v4 ? sel->slot4[i][0] : sel->slot6[i][0];

		if (k >= PS_POOL_SERVERS_MAX)
			continue;
		n += v4 ? !memcmp(&sel->addr4[k], &a->v4, 4) :
			  !memcmp(sel->addr6[k], &a->v6, 16);
	}
	return (double)n / PS_SEL_SLOTS;
}

static json_t *metric_json(const struct ps_ewma *e)
{
	return e->seen ? json_pack("{s:f, s:f}", "last", e->last, "smooth",
				   e->smooth) : json_null();
}

static json_t *mac_json(const uint8_t *m)
{
	char buf[18];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return json_string(buf);
}

static json_t *server_json(struct steerd *d, int pi, int si)
{
	static const char *const units[PS_M_MAX] = { "cpu", "response_ms",
		"latency_ms", "traffic_pps" };
	const struct ps_pool_conf *p = &d->conf.pools[pi];
	const struct ps_server_conf *s = &p->servers[si];
	const struct ps_srv_state *st = &d->rt[pi].srv[si];
	json_t *m = json_object(), *j;
	char a[INET6_ADDRSTRLEN];

	for (int k = 0; k < PS_M_MAX; k++)
		json_object_set_new(m, units[k], metric_json(&st->m[k]));
	j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:f, s:f, s:o, s:s, s:o}",
		      "pool", p->name,
		      "address", ps_addr_str(&s->addr, a, sizeof(a)),
		      "weight", (json_int_t)s->weight,
		      "state", ps_admin_name[st->admin],
		      "health", ps_health_name[st->health],
		      "initial", ps_health_name[st->initial],
		      "usable", ps_srv_usable(st),
		      "score", st->score,
		      "share", server_share(d, pi, si),
		      "metrics", m,
		      "error", st->error,
		      "probes", probes_json(d, pi, si));
	if (j && s->has_mac)	/* configured (a learned one: vip show) */
		json_object_set_new(j, "mac", mac_json(s->mac));
	if (j && d->conf.store.enabled) {	/* what other PoPs published */
		json_t *pm = json_object();

		for (int k = 0; k < PS_M_MAX; k++)
			json_object_set_new(pm, units[k], st->peer_seen[k] ?
					    json_real(st->peer[k]) : json_null());
		json_object_set_new(j, "peers", json_pack("{s:i, s:i, s:o}",
			"up", st->peers_up, "down", st->peers_down,
			"metrics", pm));
		json_object_set_new(j, "health_used",
				    json_string(ps_health_name[ps_srv_health(st)]));
	}
	return j;
}

static json_t *lb_stats_json(const struct ps_lb_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "packets", (json_int_t)st->packets,
			 "bytes", (json_int_t)st->bytes,
			 "new_flows", (json_int_t)st->new_flows,
			 "replaced", (json_int_t)st->replaced,
			 "icmp", (json_int_t)st->icmp,
			 "no_backend", (json_int_t)st->no_backend,
			 "fib_fail", (json_int_t)st->fib_fail);
}

/* A VIP with its backends as the maps have them, and the counters. */
static json_t *vip_json(struct steerd *d, int vi)
{
	static const char *const protos[] = { [IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp" };
	const struct ps_vip_conf *v = &d->conf.vips[vi];
	const struct ps_pool_conf *pool = &d->conf.pools[v->pool];
	int id = ps_lb_vip_id(&d->lb, v);
	json_t *backends = json_array(), *j;
	struct ps_lb_stats st;
	char a[INET6_ADDRSTRLEN];

	for (int i = 0; i < pool->nservers; i++) {
		const struct ps_server_conf *s = &pool->servers[i];
		int rid = ps_lb_real_id(&d->lb, &s->addr);
		json_t *b;

		if (s->addr.family != v->addr.family)
			continue;
		b = json_pack("{s:s, s:i}", "address",
			      ps_addr_str(&s->addr, a, sizeof(a)), "real", rid);
		if (rid >= 0) {
			const struct ps_real *r = &d->lb.real[rid];

			json_object_set_new(b, "state", json_string(
				r->flags & PS_REAL_UP ? "up" :
				r->flags & PS_REAL_DRAIN ? "drain" : "out"));
			if (v->mode == PS_FWD_DSR)
				json_object_set_new(b, "mac", memcmp(r->mac, "\0\0\0\0\0", 6) ?
						    mac_json(r->mac) : json_null());
			/* a backend's, over every VIP it serves */
			if (!ps_lb_real_stats(&d->lb, rid, &st))
				json_object_set_new(b, "stats", lb_stats_json(&st));
		}
		json_array_append_new(backends, b);
	}
	j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:i, s:s}",
		      "name", v->name, "address", ps_addr_str(&v->addr, a, sizeof(a)),
		      "port", v->port, "protocol", protos[v->proto],
		      "mode", v->mode == PS_FWD_DSR ? "dsr" : "ipip",
		      "pool", pool->name, "table_size", (json_int_t)v->table_size,
		      "id", id, "source", source(d, PS_VIPS, v->name));
	if (id >= 0 && !ps_lb_vip_stats(&d->lb, id, &st))
		json_object_set_new(j, "stats", lb_stats_json(&st));
	json_object_set_new(j, "backends", backends);
	return j;
}

static int find_vip(struct steerd *d, json_t *a, char *e)
{
	const char *n = arg_str(a, "name", e);
	int i = n ? ps_conf_find_vip(&d->conf, n) : -1;

	if (n && i < 0)
		snprintf(e, ERRLEN, "no vip '%s'", n);
	return i;
}

static const char *const fallback_name[3] = { "all", "servfail", "backup" };

static json_t *scoring_json(const struct ps_scoring *sc)
{
	static const char *const refs[PS_M_MAX] = { "cpu_ref",
		"response_ref_ms", "latency_ref_ms", "traffic_ref" };
	json_t *j = json_pack("{s:f}", "ewma", sc->alpha);

	for (int m = 0; m < PS_M_MAX; m++) {
		json_object_set_new(j, ps_metric_name[m], json_real(sc->weight[m]));
		json_object_set_new(j, refs[m], json_real(sc->ref[m]));
	}
	return j;
}

/* What the installed table does per family: "servers" (answers from this
 * pool), "backup" (the backup pool's), "servfail", "nodata" (no server
 * of that family). */
static json_t *serving_json(struct steerd *d, int pi)
{
	const struct ps_pool_conf *p = &d->conf.pools[pi];
	const struct ps_sel *sel = &d->img.sels[pi];
	const char *what[2];

	for (int f = 0; f < 2; f++) {
		int fam = f ? AF_INET6 : AF_INET, n = 0, up = 0;

		for (int i = 0; i < p->nservers; i++)
			if (p->servers[i].addr.family == fam) {
				n++;
				up += ps_srv_usable(&d->rt[pi].srv[i]) &&
				      p->servers[i].weight > 0;
			}
		if (sel->flags & (f ? PS_SEL_SERVFAIL6 : PS_SEL_SERVFAIL4))
			what[f] = "servfail";
		else if (!(f ? sel->a6 : sel->a4))
			what[f] = "nodata";
		else if (n && !up && p->fallback == PS_FB_POOL)
			what[f] = "backup";
		else if (n && !up)
			what[f] = "all (none usable)";
		else
			what[f] = "servers";
	}
	return json_pack("{s:s, s:s}", "ipv4", what[0], "ipv6", what[1]);
}

static json_t *pool_json(struct steerd *d, int pi)
{
	const struct ps_pool_conf *p = &d->conf.pools[pi];
	json_t *servers = json_array(), *names = json_array();
	json_t *j;

	for (int i = 0; i < p->nservers; i++) {
		json_t *s = server_json(d, pi, i);

		json_object_del(s, "pool");
		json_array_append_new(servers, s);
	}
	for (int i = 0; i < d->conf.nnames; i++)
		if (d->conf.names[i].pool == pi)
			json_array_append_new(names, dname_json(&d->conf.names[i].name));
	j = json_pack("{s:s, s:i, s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:I, s:o, s:o, s:s}",
		      "name", p->name, "answers", p->answers,
		      "policy", ps_policy_name[p->policy],
		      "select", p->mode == PS_SEL_HASH ? "hash" : "random",
		      "fallback", fallback_name[p->fallback],
		      "threshold", p->threshold, "margin", p->margin,
		      "hash_prefix4", p->prefix4, "hash_prefix6", p->prefix6,
		      "ttl", (json_int_t)p->ttl, "servers", servers,
		      "names", names, "source", source(d, PS_POOLS, p->name));
	if (p->fallback == PS_FB_POOL)
		json_object_set_new(j, "backup", json_string(p->backup));
	json_object_set_new(j, "scoring", scoring_json(&p->scoring));
	json_object_set_new(j, "serving", serving_json(d, pi));
	return j;
}

static json_t *name_json(struct steerd *d, int ni)
{
	const struct ps_name_conf *n = &d->conf.names[ni];

	return json_pack("{s:o, s:o, s:s, s:I, s:s}",
			 "name", dname_json(&n->name),
			 "zone", dname_json(&d->conf.zones[n->zone].apex),
			 "pool", d->conf.pools[n->pool].name,
			 "ttl", (json_int_t)n->ttl,
			 "source", source(d, PS_NAMES, n->text));
}

static int find_zone(struct steerd *d, const char *name)
{
	for (int i = 0; i < d->conf.nzones; i++)
		if (ps_tree_same_name(PS_ZONES, d->conf.zones[i].text, name))
			return i;
	return -1;
}

static int find_name(struct steerd *d, const char *name)
{
	for (int i = 0; i < d->conf.nnames; i++)
		if (ps_tree_same_name(PS_NAMES, d->conf.names[i].text, name))
			return i;
	return -1;
}

/* ---- changes ------------------------------------------------------------ */

typedef int (*edit_fn)(struct steerd *d, config_setting_t *root, json_t *args,
		       char *err);

/* Edit a copy of the effective tree, record object `name` of kind k in a
 * copy of the overlay, and apply that. */
static int change(struct steerd *d, enum ps_kind k, const char *name,
		  edit_fn edit, json_t *args, char *err)
{
	config_t tree, *ovl = calloc(1, sizeof(*ovl));
	int rc = -1;

	if (!ovl || steerd_tree(d, &tree, err, ERRLEN)) {
		free(ovl);
		return -1;
	}
	if (edit(d, config_root_setting(&tree), args, err))
		goto out;
	if (ps_tree_clone(ovl, d->overlay) ||
	    ps_overlay_record(ovl, &tree, k, name)) {
		snprintf(err, ERRLEN, "out of memory");
		goto out;
	}
	rc = steerd_apply(d, d->config_text, ovl, true, err, ERRLEN);
	if (!rc) {
		config_destroy(d->overlay);
		free(d->overlay);
		d->overlay = ovl;
		ovl = NULL;
	}
out:
	config_destroy(&tree);
	if (ovl) {
		config_destroy(ovl);
		free(ovl);
	}
	return rc;
}

static config_setting_t *tree_obj(config_setting_t *root, enum ps_kind k,
				  const char *name)
{
	int at = ps_tree_find(root, k, name);

	return at < 0 ? NULL :
	       config_setting_get_elem(ps_tree_list(root, k, false), at);
}

static const char *const kind_word[PS_KINDS] = { "zone", "pool", "name", "vip" };

static int edit_add(struct steerd *d, config_setting_t *root, json_t *args,
		    char *err, enum ps_kind k)
{
	const char *name = arg_str(args, "name", err);
	config_setting_t *g;

	if (!name)
		return -1;
	if (tree_obj(root, k, name)) {
		snprintf(err, ERRLEN, "%s '%s' already exists", kind_word[k], name);
		return -1;
	}
	g = config_setting_add(ps_tree_list(root, k, true), NULL, CONFIG_TYPE_GROUP);
	return g ? members_to_group(g, args, err, NULL) : -1;
}

static int edit_set(struct steerd *d, config_setting_t *root, json_t *args,
		    char *err, enum ps_kind k)
{
	const char *name = arg_str(args, "name", err);
	config_setting_t *g, *grp;
	const char *sub;
	json_t *s;

	if (!name)
		return -1;
	g = tree_obj(root, k, name);
	if (!g) {
		snprintf(err, ERRLEN, "no %s '%s'", kind_word[k], name);
		return -1;
	}
	if (k == PS_POOLS && json_object_get(args, "servers")) {
		snprintf(err, ERRLEN, "change servers with server add/set/del");
		return -1;
	}
	/* policy and its older name select: the one given wins */
	if (k == PS_POOLS && json_object_get(args, "policy") &&
	    config_setting_get_member(g, "select"))
		config_setting_remove(g, "select");
	if (k == PS_POOLS && json_object_get(args, "select") &&
	    config_setting_get_member(g, "policy"))
		config_setting_remove(g, "policy");
	/* a zone's soa and a pool's scoring are merged, not replaced as a
	 * group */
	sub = k == PS_ZONES ? "soa" : k == PS_POOLS ? "scoring" : NULL;
	s = sub ? json_object_get(args, sub) : NULL;
	if (json_is_object(s) && (grp = config_setting_get_member(g, sub)) &&
	    config_setting_type(grp) == CONFIG_TYPE_GROUP) {
		if (members_to_group(grp, s, err, NULL))
			return -1;
		json_object_del(args, sub);
	}
	return members_to_group(g, args, err, "name");
}

/* Names in zone idx (by_zone) or pool idx, as "a, b, ..." in buf[256];
 * returns how many. */
static int names_of(struct steerd *d, int idx, bool by_zone, char *buf)
{
	size_t used = 0;
	int n = 0;

	buf[0] = 0;
	for (int i = 0; idx >= 0 && i < d->conf.nnames; i++) {
		const struct ps_name_conf *nm = &d->conf.names[i];
		size_t tl = strlen(nm->text);

		if ((by_zone ? nm->zone : nm->pool) != idx)
			continue;
		if (n++ && used + tl + 8 < 256) {
			memcpy(buf + used, ", ", 3);
			used += 2;
		}
		if (used + tl + 6 >= 256) {
			memcpy(buf + used, "...", 4);
			break;
		}
		memcpy(buf + used, nm->text, tl + 1);
		used += tl;
	}
	return n;
}

static int edit_del(struct steerd *d, config_setting_t *root, json_t *args,
		    char *err, enum ps_kind k)
{
	const char *name = arg_str(args, "name", err);
	char list[256];
	int at;

	if (!name)
		return -1;
	at = ps_tree_find(root, k, name);
	if (at < 0) {
		snprintf(err, ERRLEN, "no %s '%s'", kind_word[k], name);
		return -1;
	}
	/* say who still depends on it, rather than let the parser say
	 * what is missing */
	if (k == PS_ZONES && names_of(d, find_zone(d, name), true, list)) {
		snprintf(err, ERRLEN, "zone '%.100s' still has names: %s (delete them first)",
			 name, list);
		return -1;
	}
	if (k == PS_POOLS &&
	    names_of(d, ps_conf_find_pool(&d->conf, name), false, list)) {
		snprintf(err, ERRLEN, "pool '%.100s' is used by names: %s", name, list);
		return -1;
	}
	for (int v = 0; k == PS_POOLS && v < d->conf.nvips; v++)
		if (!strcmp(d->conf.pools[d->conf.vips[v].pool].name, name)) {
			snprintf(err, ERRLEN, "pool '%.100s' is used by vip '%s'",
				 name, d->conf.vips[v].name);
			return -1;
		}
	config_setting_remove_elem(ps_tree_list(root, k, false), at);
	return 0;
}

#define EDITS(kind, k)							\
static int kind##_add_edit(struct steerd *d, config_setting_t *r,	\
			   json_t *a, char *e)				\
{ return edit_add(d, r, a, e, k); }					\
static int kind##_set_edit(struct steerd *d, config_setting_t *r,	\
			   json_t *a, char *e)				\
{ return edit_set(d, r, a, e, k); }					\
static int kind##_del_edit(struct steerd *d, config_setting_t *r,	\
			   json_t *a, char *e)				\
{ return edit_del(d, r, a, e, k); }					\
static int kind##_add(struct steerd *d, json_t *a, json_t **o, char *e)	\
{ const char *n = arg_str(a, "name", e);				\
  return n ? change(d, k, n, kind##_add_edit, a, e) : -1; }		\
static int kind##_set(struct steerd *d, json_t *a, json_t **o, char *e)	\
{ const char *n = arg_str(a, "name", e);				\
  return n ? change(d, k, n, kind##_set_edit, a, e) : -1; }		\
static int kind##_del(struct steerd *d, json_t *a, json_t **o, char *e)	\
{ const char *n = arg_str(a, "name", e);				\
  return n ? change(d, k, n, kind##_del_edit, a, e) : -1; }

EDITS(zone, PS_ZONES)
EDITS(pool, PS_POOLS)
EDITS(name, PS_NAMES)
EDITS(vip, PS_VIPS)

/* servers live inside their pool's group */
static config_setting_t *pool_servers(config_setting_t *root, json_t *args,
				      char *err, bool create)
{
	const char *pool = arg_str(args, "pool", err);
	config_setting_t *g, *l;

	if (!pool)
		return NULL;
	g = tree_obj(root, PS_POOLS, pool);
	if (!g) {
		snprintf(err, ERRLEN, "no pool '%s'", pool);
		return NULL;
	}
	l = config_setting_get_member(g, "servers");
	if (!l && create)
		l = config_setting_add(g, "servers", CONFIG_TYPE_LIST);
	if (!l)
		snprintf(err, ERRLEN, "pool '%s' has no servers", pool);
	return l;
}

static int find_server(config_setting_t *l, const char *addr)
{
	struct ps_addr want, a;

	if (ps_addr_parse(&want, addr))
		return -1;
	for (int i = 0; i < config_setting_length(l); i++) {
		const char *t;

		if (config_setting_lookup_string(config_setting_get_elem(l, i),
						 "address", &t) &&
		    !ps_addr_parse(&a, t) && a.family == want.family &&
		    !memcmp(&a, &want, sizeof(a)))
			return i;
	}
	return -1;
}

static int server_edit(struct steerd *d, config_setting_t *root, json_t *args,
		       char *err, int op)
{
	const char *addr = arg_str(args, "address", err);
	config_setting_t *l = addr ? pool_servers(root, args, err, op == 0) : NULL;
	struct ps_addr a;
	int at;

	if (!l)
		return -1;
	if (ps_addr_parse(&a, addr)) {
		snprintf(err, ERRLEN, "'%s' is not an IPv4 or IPv6 address", addr);
		return -1;
	}
	at = find_server(l, addr);
	if (op == 0) {		/* add */
		config_setting_t *g;

		if (at >= 0) {
			snprintf(err, ERRLEN, "server %s is already in pool '%s'",
				 addr, json_string_value(json_object_get(args, "pool")));
			return -1;
		}
		g = config_setting_add(l, NULL, CONFIG_TYPE_GROUP);
		return g ? members_to_group(g, args, err, "pool") : -1;
	}
	if (at < 0) {
		snprintf(err, ERRLEN, "no server %s in pool '%s'", addr,
			 json_string_value(json_object_get(args, "pool")));
		return -1;
	}
	if (op == 1) {		/* set */
		json_object_del(args, "address");
		return members_to_group(config_setting_get_elem(l, at), args,
					err, "pool");
	}
	config_setting_remove_elem(l, at);
	return 0;
}

static int server_add_edit(struct steerd *d, config_setting_t *r, json_t *a,
			   char *e)
{
	return server_edit(d, r, a, e, 0);
}

static int server_set_edit(struct steerd *d, config_setting_t *r, json_t *a,
			   char *e)
{
	return server_edit(d, r, a, e, 1);
}

static int server_del_edit(struct steerd *d, config_setting_t *r, json_t *a,
			   char *e)
{
	return server_edit(d, r, a, e, 2);
}

static int server_change(struct steerd *d, json_t *a, char *e, edit_fn fn)
{
	const char *pool = arg_str(a, "pool", e);

	return pool ? change(d, PS_POOLS, pool, fn, a, e) : -1;
}

static int server_add(struct steerd *d, json_t *a, json_t **o, char *e)
{
	return server_change(d, a, e, server_add_edit);
}

static int server_set(struct steerd *d, json_t *a, json_t **o, char *e)
{
	if (json_object_size(a) <= 2) {
		snprintf(e, ERRLEN, "nothing to set: give weight, state, initial or probes");
		return -1;
	}
	return server_change(d, a, e, server_set_edit);
}

static int server_del(struct steerd *d, json_t *a, json_t **o, char *e)
{
	return server_change(d, a, e, server_del_edit);
}

/* ---- reads --------------------------------------------------------------- */

static int zone_list(struct steerd *d, json_t *a, json_t **o, char *e)
{
	*o = json_array();
	for (int i = 0; i < d->conf.nzones; i++)
		json_array_append_new(*o, zone_json(d, i));
	return 0;
}

static int zone_show(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *n = arg_str(a, "name", e);
	int i = n ? find_zone(d, n) : -1;

	if (n && i < 0)
		snprintf(e, ERRLEN, "no zone '%s'", n);
	if (i < 0)
		return -1;
	*o = zone_json(d, i);
	return 0;
}

static int pool_list(struct steerd *d, json_t *a, json_t **o, char *e)
{
	*o = json_array();
	for (int i = 0; i < d->conf.npools; i++)
		json_array_append_new(*o, pool_json(d, i));
	return 0;
}

static int pool_show(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *n = arg_str(a, "name", e);
	int i = n ? ps_conf_find_pool(&d->conf, n) : -1;

	if (n && i < 0)
		snprintf(e, ERRLEN, "no pool '%s'", n);
	if (i < 0)
		return -1;
	*o = pool_json(d, i);
	return 0;
}

static int name_list(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *zone = json_string_value(json_object_get(a, "zone"));
	const char *pool = json_string_value(json_object_get(a, "pool"));
	int zi = zone ? find_zone(d, zone) : -1;
	int pi = pool ? ps_conf_find_pool(&d->conf, pool) : -1;

	if (zone && zi < 0) {
		snprintf(e, ERRLEN, "no zone '%s'", zone);
		return -1;
	}
	if (pool && pi < 0) {
		snprintf(e, ERRLEN, "no pool '%s'", pool);
		return -1;
	}
	*o = json_array();
	for (int i = 0; i < d->conf.nnames; i++)
		if ((!zone || d->conf.names[i].zone == zi) &&
		    (!pool || d->conf.names[i].pool == pi))
			json_array_append_new(*o, name_json(d, i));
	return 0;
}

static int name_show(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *n = arg_str(a, "name", e);
	int i = n ? find_name(d, n) : -1;

	if (n && i < 0)
		snprintf(e, ERRLEN, "no name '%s'", n);
	if (i < 0)
		return -1;
	*o = name_json(d, i);
	return 0;
}

static int server_list(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *pool = json_string_value(json_object_get(a, "pool"));
	int pi = pool ? ps_conf_find_pool(&d->conf, pool) : -1;

	if (pool && pi < 0) {
		snprintf(e, ERRLEN, "no pool '%s'", pool);
		return -1;
	}
	*o = json_array();
	for (int i = 0; i < d->conf.npools; i++) {
		const struct ps_pool_conf *p = &d->conf.pools[i];

		if (pool && i != pi)
			continue;
		for (int j = 0; j < p->nservers; j++)
			json_array_append_new(*o, server_json(d, i, j));
	}
	return 0;
}

static int server_show(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *pool = arg_str(a, "pool", e);
	const char *addr = pool ? arg_str(a, "address", e) : NULL;
	int pi = pool ? ps_conf_find_pool(&d->conf, pool) : -1;
	struct ps_addr want;

	if (!addr)
		return -1;
	if (pi < 0) {
		snprintf(e, ERRLEN, "no pool '%s'", pool);
		return -1;
	}
	if (ps_addr_parse(&want, addr)) {
		snprintf(e, ERRLEN, "'%s' is not an IPv4 or IPv6 address", addr);
		return -1;
	}
	for (int j = 0; j < d->conf.pools[pi].nservers; j++)
		if (!memcmp(&d->conf.pools[pi].servers[j].addr, &want,
			    sizeof(want))) {
			*o = server_json(d, pi, j);
			return 0;
		}
	snprintf(e, ERRLEN, "no server %s in pool '%s'", addr, pool);
	return -1;
}

static int vip_list(struct steerd *d, json_t *a, json_t **o, char *e)
{
	*o = json_array();
	for (int i = 0; i < d->conf.nvips; i++)
		json_array_append_new(*o, vip_json(d, i));
	return 0;
}

static int vip_show(struct steerd *d, json_t *a, json_t **o, char *e)
{
	int i = find_vip(d, a, e);

	if (i < 0)
		return -1;
	*o = vip_json(d, i);
	return 0;
}

static int stats_show(struct steerd *d, json_t *a, json_t **o, char *e)
{
	static const char *const names[] = PS_STAT_NAMES;
	__u64 c[PS_ST_MAX];
	int rc = ps_stats_read(&d->maps, c);

	if (rc) {
		snprintf(e, ERRLEN, "Couldn't read counters: %s", strerror(-rc));
		return -1;
	}
	*o = json_object();
	for (int i = 0; i < PS_ST_MAX; i++)
		json_object_set_new(*o, names[i], json_integer(c[i]));
	return 0;
}

static int prog_attach(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *dev = arg_str(a, "dev", e);
	const char *mode = json_string_value(json_object_get(a, "mode"));
	int m = PS_XDP_AUTO;

	if (!dev)
		return -1;
	if (mode && !strcmp(mode, "native"))
		m = PS_XDP_NATIVE;
	else if (mode && !strcmp(mode, "skb"))
		m = PS_XDP_SKB;
	else if (mode && strcmp(mode, "auto")) {
		snprintf(e, ERRLEN, "mode must be auto, native or skb");
		return -1;
	}
	return steerd_attach(d, dev, m, e, ERRLEN) < 0 ? -1 : 0;
}

static int prog_detach(struct steerd *d, json_t *a, json_t **o, char *e)
{
	const char *dev = arg_str(a, "dev", e);

	return dev && !steerd_detach(d, dev, e, ERRLEN) ? 0 : -1;
}

static int config_reload(struct steerd *d, json_t *a, json_t **o, char *e)
{
	return steerd_reload(d, e, ERRLEN);
}

static int status(struct steerd *d, json_t *a, json_t **o, char *e)
{
	json_t *ifs = json_array();

	for (int i = 0; i < d->conf.nifaces; i++)
		json_array_append_new(ifs, json_string(d->conf.ifaces[i]));
	*o = json_pack("{s:s, s:i, s:I, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:o}",
		       "version", STEERD_VERSION, "pid", (int)getpid(),
		       "uptime_s", (json_int_t)(time(NULL) - d->started),
		       "config", d->config_path, "state_file", d->conf.state_file,
		       "pin_dir", d->pin_dir, "zones", d->conf.nzones,
		       "pools", d->conf.npools, "names", d->conf.nnames,
		       "vips", d->conf.nvips, "interfaces", ifs);
	if (*o)
		json_object_set_new(*o, "store", store_json(d));
	return 0;
}

static const struct {
	const char *name;
	cmd_fn fn;
	bool changes;		/* logged when it succeeds */
} cmds[] = {
	{ "status", status },
	{ "zone.list", zone_list }, { "zone.show", zone_show },
	{ "zone.add", zone_add, 1 }, { "zone.set", zone_set, 1 },
	{ "zone.del", zone_del, 1 },
	{ "pool.list", pool_list }, { "pool.show", pool_show },
	{ "pool.add", pool_add, 1 }, { "pool.set", pool_set, 1 },
	{ "pool.del", pool_del, 1 },
	{ "name.list", name_list }, { "name.show", name_show },
	{ "name.add", name_add, 1 }, { "name.set", name_set, 1 },
	{ "name.del", name_del, 1 },
	{ "server.list", server_list }, { "server.show", server_show },
	{ "server.add", server_add, 1 },
	{ "server.set", server_set, 1 }, { "server.del", server_del, 1 },
	{ "vip.list", vip_list }, { "vip.show", vip_show },
	{ "vip.add", vip_add, 1 }, { "vip.set", vip_set, 1 },
	{ "vip.del", vip_del, 1 },
	{ "stats.show", stats_show },
	{ "prog.attach", prog_attach, 1 }, { "prog.detach", prog_detach, 1 },
	{ "config.reload", config_reload, 1 },
};

/* ---- the socket ----------------------------------------------------------- */

static json_t *handle(struct steerd *d, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr), *args, *data = NULL;
	char err[ERRLEN] = "";
	const char *cmd;
	size_t i;
	int rc = -1;

	if (!req || !json_is_object(req)) {
		snprintf(err, sizeof(err), "request is not a JSON object%s%s",
			 req ? "" : ": ", req ? "" : jerr.text);
		goto out;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	args = json_object_get(req, "args");
	if (!cmd) {
		snprintf(err, sizeof(err), "'cmd' (a string) is required");
		goto out;
	}
	if (args && !json_is_object(args)) {
		snprintf(err, sizeof(err), "'args' must be an object");
		goto out;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, cmd))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		snprintf(err, sizeof(err), "unknown command '%s'", cmd);
		goto out;
	}
	if (!args) {
		args = json_object();
		json_object_set_new(req, "args", args);
	}
	rc = cmds[i].fn(d, args, &data, err);
	if (!rc && cmds[i].changes)
		pr_info("control: %s", line);
	else if (rc)
		pr_info("control: %s refused: %s", cmd, err);
out:
	json_decref(req);
	if (rc) {
		json_decref(data);
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 err[0] ? err : "failed");
	}
	return json_pack("{s:b, s:o*}", "ok", 1, "data", data);
}

static void ctl_ready(struct steerd *d, struct watch *w, uint32_t events)
{
	struct conn *c = (struct conn *)w;
	char *nl;

	if (events & EPOLLOUT && conn_flush(d, c))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (conn_read(d, c, CTL_LINE_MAX))
		return;
	while ((nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = nl - (char *)c->in + 1;
		json_t *rep;
		char *out;

		*nl = 0;
		rep = handle(d, (char *)c->in);
		out = json_dumps(rep, JSON_COMPACT);
		json_decref(rep);
		memmove(c->in, c->in + len, c->in_len - len);
		c->in_len -= len;
		if (!out || conn_send(d, c, out, strlen(out)) ||
		    conn_send(d, c, "\n", 1)) {
			free(out);
			return;
		}
		free(out);
	}
	conn_done(d, c);
}

static void ctl_accept(struct steerd *d, struct watch *w, uint32_t events)
{
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd >= 0)
		conn_new(d, fd, 1, NULL, ctl_ready);
}

int ctl_open(struct steerd *d, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->conf.control_socket;
	char dir[sizeof(sa.sun_path)], *slash;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0700);
	}
	/* a socket left by a steerd that died is replaced; a live one
	 * answers connect() and is left alone */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		snprintf(err, errlen, "another steerd is listening on %s", path);
		close(fd);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* root only: the socket is created 0600 */
	umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		snprintf(err, errlen, "Couldn't listen on %s: %s", path,
			 strerror(errno));
		umask(0022);
		close(fd);
		return -1;
	}
	umask(0022);
	d->ctl_listen.fd = fd;
	d->ctl_listen.fn = ctl_accept;
	return loop_add(d, &d->ctl_listen, EPOLLIN);
}

void ctl_close(struct steerd *d)
{
	if (d->ctl_listen.fd >= 0) {
		loop_del(d, &d->ctl_listen);
		unlink(d->conf.control_socket);
	}
}
