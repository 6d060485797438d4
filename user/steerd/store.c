// SPDX-License-Identifier: GPL-2.0-only
/*
 * State shared between PoPs through etcd, over its v3 JSON gateway
 * (POST /v3/kv/range, /v3/kv/put, /v3/lease/grant, /v3/lease/keepalive;
 * keys and values base64), as libcurl transfers on the probe engine's
 * multi handle: one thread, nothing blocks.  Keys under store.prefix:
 *
 *   <prefix>/config     libconfig text of zones, pools and names that every
 *                       PoP serves (read when store.config = true): applied
 *                       on top of the local file, under the runtime changes
 *                       made with steerctl; each accepted revision is saved
 *                       to store.cache_file, so a PoP restarted while the
 *                       store is unreachable serves the last one it had.
 *   <prefix>/m/<name>   what PoP <name> measured itself (JSON: per pool,
 *                       per server address, health and smoothed metrics),
 *                       under a lease of store.ttl seconds that the PoP
 *                       keeps alive: a PoP that stops publishing vanishes.
 *
 * Every store.interval: keep the lease alive (or get one), publish, read
 * the other PoPs' measurements, read the config.  What the peers measured
 * enters scoring for the metrics this PoP does not measure itself, and
 * health while its own probes have no verdict (score.h).  When the store
 * is unreachable steerd goes on with its own probes and the config it
 * has; peers' measurements are dropped once older than store.ttl, as
 * etcd would drop them.  Endpoints are tried in turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <openssl/evp.h>

#include "steerd.h"
#include "state.h"
#include "tree.h"
#include "log.h"

enum { OP_LEASE, OP_PUT, OP_PEERS, OP_CONFIG, OPS };
static const char *const op_name[OPS] = { "lease", "put", "range", "range" };

struct op {
	struct xfer x;			/* first: libcurl's private pointer */
	struct store *s;
	int kind;
	CURL *e;
	struct curl_slist *hdr;
	char *body;			/* the reply */
	size_t len;
	bool busy;
	bool grant;			/* OP_LEASE: a grant, not a keepalive */
	char errbuf[CURL_ERROR_SIZE];
};

struct store {
	struct steerd *d;
	struct op op[OPS];
	uint64_t due;			/* next round, ms */
	int ep;				/* endpoint in use */
	char lease[24];			/* etcd lease ID, "" if none */
	bool reachable, ever;
	uint64_t last_ok;		/* ms of the last good reply */
	char error[200];		/* the last failure, "" if none */
	int64_t config_rev;		/* mod revision applied; 0: absent, -1: none read */
	int64_t bad_rev;		/* a revision refused */
	char config_error[PS_ERR_MAX];
	json_t *peer_names;		/* array: PoPs seen publishing */
	char *published;		/* what the last put sent, under lease */
	bool have_peers;		/* peer data is in the servers' state */
};

#define MAX_REPLY	(4u << 20)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- base64 (OpenSSL) ------------------------------------------------ */

static char *b64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, len);
	return out;
}

/* Decoded bytes, NUL-terminated, or NULL if not base64. */
static char *unb64(const char *in, size_t *outlen)
{
	size_t n = strlen(in);
	char *out;
	int len;

	if (n % 4)
		return NULL;
	out = malloc(3 * (n / 4) + 1);
	if (!out)
		return NULL;
	len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	while (n && in[n - 1] == '=') {
		len--;
		n--;
	}
	out[len] = 0;
	*outlen = len;
	return out;
}

static char *b64_str(const char *s)
{
	return b64(s, strlen(s));
}

/* ---- transfers -------------------------------------------------------- */

static size_t body_cb(char *data, size_t size, size_t n, void *userp)
{
	struct op *o = userp;
	size_t len = size * n;
	char *b;

	if (o->len + len > MAX_REPLY)
		return 0;
	b = realloc(o->body, o->len + len + 1);
	if (!b)
		return 0;
	o->body = b;
	memcpy(b + o->len, data, len);
	o->len += len;
	b[o->len] = 0;
	return len;
}

static void op_done(struct steerd *d, struct xfer *x, CURLcode res);

/* POST json to the current endpoint's path; the request is copied. */
static void op_start(struct store *s, int kind, const char *path,
		     json_t *req)
{
	const struct ps_store_conf *c = &s->d->conf.store;
	struct op *o = &s->op[kind];
	char url[256], *text;
	long timeout = c->interval_ms < 2000 ? c->interval_ms : 2000;

	if (o->busy || !req)
		goto out;
	if (!o->e) {
		o->e = curl_easy_init();
		o->hdr = curl_slist_append(NULL, "Content-Type: application/json");
		if (!o->e || !o->hdr)
			goto out;
		o->x.done = op_done;
		o->s = s;
		o->kind = kind;
		curl_easy_setopt(o->e, CURLOPT_HTTPHEADER, o->hdr);
		curl_easy_setopt(o->e, CURLOPT_WRITEFUNCTION, body_cb);
		curl_easy_setopt(o->e, CURLOPT_WRITEDATA, o);
		curl_easy_setopt(o->e, CURLOPT_ERRORBUFFER, o->errbuf);
		curl_easy_setopt(o->e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(o->e, CURLOPT_PROXY, "");
		curl_easy_setopt(o->e, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(o->e, CURLOPT_USERAGENT,
				 "popsteer-steerd/" PS_VERSION);
	}
	text = json_dumps(req, JSON_COMPACT);
	if (!text)
		goto out;
	snprintf(url, sizeof(url), "%s%s", c->endpoints[s->ep % c->nendpoints],
		 path);
	curl_easy_setopt(o->e, CURLOPT_URL, url);
	curl_easy_setopt(o->e, CURLOPT_COPYPOSTFIELDS, text);
	curl_easy_setopt(o->e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(o->e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	free(text);
	o->len = 0;
	o->errbuf[0] = 0;
	if (probes_add_xfer(s->d, o->e, &o->x) == 0)
		o->busy = true;
out:
	json_decref(req);
}

static void store_failed(struct store *s, const char *what, const char *why)
{
	const struct ps_store_conf *c = &s->d->conf.store;

	if (s->reachable || !s->error[0])
		pr_warn("store: %s %s: %s; going on with the state we have",
			c->endpoints[s->ep % c->nendpoints], what, why);
	snprintf(s->error, sizeof(s->error), "%s: %s", what, why);
	s->reachable = false;
	/* the next round tries the next endpoint */
	s->ep = (s->ep + 1) % (c->nendpoints ? c->nendpoints : 1);
}

static void store_ok(struct store *s)
{
	const struct ps_store_conf *c = &s->d->conf.store;

	if (!s->reachable)
		pr_info("store: %s %s", c->endpoints[s->ep % c->nendpoints],
			s->ever ? "reachable again" : "reached");
	s->reachable = s->ever = true;
	s->error[0] = 0;
	s->last_ok = now_ms();
}

/* ---- what we publish -------------------------------------------------- */

static json_t *measurements(struct steerd *d)
{
	json_t *pools = json_object();

	for (int i = 0; i < d->conf.npools; i++) {
		const struct ps_pool_conf *p = &d->conf.pools[i];
		json_t *srvs = json_object();

		for (int j = 0; j < p->nservers; j++) {
			const struct ps_srv_state *st = &d->rt[i].srv[j];
			json_t *m = json_object();
			char a[INET6_ADDRSTRLEN];

			/* only our own findings: never echo the peers' */
			if (st->health != PS_HEALTH_UNKNOWN)
				json_object_set_new(m, "health", json_string(
					ps_health_name[st->health]));
			for (int k = 0; k < PS_M_MAX; k++)
				if (st->m[k].seen)
					json_object_set_new(m, ps_metric_name[k],
						json_real(st->m[k].smooth));
			if (json_object_size(m))
				json_object_set_new(srvs, ps_addr_str(&p->servers[j].addr,
							a, sizeof(a)), m);
			else
				json_decref(m);
		}
		if (json_object_size(srvs))
			json_object_set_new(pools, p->name, srvs);
		else
			json_decref(srvs);
	}
	return json_pack("{s:i, s:o}", "v", 1, "pools", pools);
}

static void publish(struct store *s)
{
	const struct ps_store_conf *c = &s->d->conf.store;
	json_t *m = measurements(s->d);
	char key[256], *text = json_dumps(m, JSON_COMPACT);
	char *k, *v;

	json_decref(m);
	/* unchanged since the last put under this lease: nothing to write
	 * (each put is a revision etcd keeps until compaction) */
	if (text && s->published && !strcmp(text, s->published)) {
		free(text);
		return;
	}
	snprintf(key, sizeof(key), "%s/m/%s", c->prefix, c->name);
	k = b64_str(key);
	v = text ? b64_str(text) : NULL;
	if (k && v && !s->op[OP_PUT].busy) {
		op_start(s, OP_PUT, "/v3/kv/put",
			 json_pack("{s:s, s:s, s:s}", "key", k, "value", v,
				   "lease", s->lease));
		if (s->op[OP_PUT].busy) {
			free(s->published);
			s->published = text;
			text = NULL;
		}
	}
	free(k);
	free(v);
	free(text);
}

/* What was published is gone (a failed put, a new lease): put again. */
static void forget_published(struct store *s)
{
	free(s->published);
	s->published = NULL;
}

/* ---- what the peers published ----------------------------------------- */

/* Fold the peers' measurements into the servers' state; pools whose
 * view changed get their tables rebuilt.  peers: name -> measurements. */
static void apply_peers(struct store *s, json_t *peers)
{
	struct steerd *d = s->d;

	for (int i = 0; i < d->conf.npools; i++) {
		const struct ps_pool_conf *p = &d->conf.pools[i];
		bool changed = false, health = false;

		for (int j = 0; j < p->nservers; j++) {
			struct ps_srv_state *st = &d->rt[i].srv[j];
			double sum[PS_M_MAX] = { 0 };
			int cnt[PS_M_MAX] = { 0 }, up = 0, down = 0;
			enum ps_health before = ps_srv_health(st);
			char a[INET6_ADDRSTRLEN];
			const char *name;
			json_t *pm;

			ps_addr_str(&p->servers[j].addr, a, sizeof(a));
			json_object_foreach(peers, name, pm) {
				json_t *m = json_object_get(json_object_get(
					json_object_get(pm, "pools"), p->name), a);
				const char *h = json_string_value(json_object_get(m, "health"));

				if (!json_is_object(m))
					continue;
				up += h && !strcmp(h, "up");
				down += h && !strcmp(h, "down");
				for (int k = 0; k < PS_M_MAX; k++) {
					json_t *v = json_object_get(m, ps_metric_name[k]);
					double x = json_number_value(v);

					/* a sane number only */
					if (json_is_number(v) && x >= 0 && x < 1e12) {
						sum[k] += x;
						cnt[k]++;
					}
				}
			}
			for (int k = 0; k < PS_M_MAX; k++) {
				double mean = cnt[k] ? sum[k] / cnt[k] : 0;

				changed |= st->peer_seen[k] != (cnt[k] > 0) ||
					   st->peer[k] != mean;
				st->peer_seen[k] = cnt[k] > 0;
				st->peer[k] = mean;
			}
			changed |= st->peers_up != up || st->peers_down != down;
			st->peers_up = up;
			st->peers_down = down;
			st->score = ps_score(st, &p->scoring);
			health |= ps_srv_health(st) != before;
		}
		if (changed)
			probes_mark(d, i, health);
	}
	s->have_peers = json_object_size(peers) > 0;
}

static void read_peers(struct store *s, json_t *reply)
{
	const struct ps_store_conf *c = &s->d->conf.store;
	json_t *kvs = json_object_get(reply, "kvs"), *kv;
	json_t *peers = json_object(), *names = json_array();
	char own[256];
	size_t plen, i;

	snprintf(own, sizeof(own), "%s/m/", c->prefix);
	plen = strlen(own);
	json_array_foreach(kvs, i, kv) {
		const char *k64 = json_string_value(json_object_get(kv, "key"));
		const char *v64 = json_string_value(json_object_get(kv, "value"));
		size_t klen, vlen;
		char *key = k64 ? unb64(k64, &klen) : NULL;
		char *val = v64 ? unb64(v64, &vlen) : NULL;
		json_t *m = val ? json_loadb(val, vlen, 0, NULL) : NULL;

		if (key && klen > plen && !strncmp(key, own, plen) &&
		    strcmp(key + plen, c->name) && json_is_object(m)) {
			json_array_append_new(names, json_string(key + plen));
			json_object_set(peers, key + plen, m);
		}
		json_decref(m);
		free(key);
		free(val);
	}
	apply_peers(s, peers);
	json_decref(peers);
	json_decref(s->peer_names);
	s->peer_names = names;
}

static void drop_peers(struct store *s)
{
	json_t *none = json_object();

	apply_peers(s, none);
	json_decref(none);
	json_decref(s->peer_names);
	s->peer_names = json_array();
}

/* ---- the shared config -------------------------------------------------- */

/* Parse shared config text into a tree of zones, pools and names only. */
static int shared_tree(config_t *t, const char *text, const char *name,
		       char *err, size_t errlen)
{
	config_setting_t *root;

	if (ps_tree_read(t, name, text, err, errlen))
		return -1;
	root = config_root_setting(t);
	for (int i = 0; i < config_setting_length(root); i++) {
		const char *k = config_setting_name(config_setting_get_elem(root, i));

		if (strcmp(k, "zones") && strcmp(k, "pools") && strcmp(k, "names")) {
			snprintf(err, errlen, "%s: '%s' cannot be shared: only zones, pools and names",
				 name, k);
			config_destroy(t);
			return -1;
		}
	}
	return 0;
}

/* Serve tree (NULL: nothing shared) instead of the current shared
 * objects; on failure the old ones stay. */
static int use_shared(struct steerd *d, config_t *tree, char *err,
		      size_t errlen)
{
	config_t *old = d->shared;

	d->shared = tree;
	if (steerd_apply(d, d->config_text, d->overlay, false, err, errlen)) {
		d->shared = old;
		return -1;
	}
	if (old) {
		config_destroy(old);
		free(old);
	}
	return 0;
}

static void read_config(struct store *s, json_t *reply)
{
	struct steerd *d = s->d;
	const struct ps_store_conf *c = &d->conf.store;
	json_t *kv = json_array_get(json_object_get(reply, "kvs"), 0);
	const char *v64 = json_string_value(json_object_get(kv, "value"));
	const char *rs = json_string_value(json_object_get(kv, "mod_revision"));
	int64_t rev = rs ? strtoll(rs, NULL, 10) : 0;
	char name[128], err[PS_ERR_MAX], *text = NULL;
	config_t *t = NULL;
	size_t len;

	if (rev == s->config_rev || rev == s->bad_rev)
		return;
	snprintf(name, sizeof(name), "store %s/config@%lld", c->prefix,
		 (long long)rev);
	if (kv) {
		text = v64 ? unb64(v64, &len) : NULL;
		t = calloc(1, sizeof(*t));
		if (!text || !t) {
			snprintf(err, sizeof(err), "%s: not base64", name);
			goto bad;
		}
		if (shared_tree(t, text, name, err, sizeof(err))) {
			free(t);
			t = NULL;
			goto bad;
		}
	}
	if (use_shared(d, t, err, sizeof(err))) {
		if (t)
			config_destroy(t);
		goto bad;
	}
	pr_info("store: %s applied (%d zones, %d pools, %d names served)",
		kv ? name : "no shared config:", d->conf.nzones, d->conf.npools,
		d->conf.nnames);
	s->config_rev = rev;
	s->config_error[0] = 0;
	s->bad_rev = -1;
	/* the last good revision survives a restart without the store */
	{
		config_t empty;

		ps_overlay_init(&empty);
		if (ps_state_save(c->cache_file, t ? t : &empty, err, sizeof(err)))
			pr_warn("store: Couldn't save the shared config: %s", err);
		config_destroy(&empty);
	}
	free(text);
	return;
bad:
	free(t);
	free(text);
	s->bad_rev = rev;
	snprintf(s->config_error, sizeof(s->config_error), "%s", err);
	pr_err("store: shared config refused, still serving the previous one: %s", err);
}

int store_load_cache(struct steerd *d, const struct ps_store_conf *c)
{
	char err[PS_ERR_MAX];
	config_t *t;

	if (!c->enabled || !c->config)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	if (ps_state_load(c->cache_file, t, err, sizeof(err))) {
		pr_warn("store: ignoring the saved shared config: %s", err);
		free(t);
		return 0;
	}
	d->shared = t;
	return 0;
}

/* ---- replies ------------------------------------------------------------ */

static void op_done(struct steerd *d, struct xfer *x, CURLcode res)
{
	struct op *o = (struct op *)x;
	struct store *s = o->s;
	json_t *reply = NULL, *err;
	long code = 0;

	o->busy = false;
	if (!d->conf.store.enabled)
		return;
	if (o->kind == OP_PUT) {
		curl_easy_getinfo(o->e, CURLINFO_RESPONSE_CODE, &code);
		if (res != CURLE_OK || code != 200)
			forget_published(s);
	}
	if (res != CURLE_OK) {
		store_failed(s, op_name[o->kind], o->errbuf[0] ? o->errbuf :
			     curl_easy_strerror(res));
		return;
	}
	curl_easy_getinfo(o->e, CURLINFO_RESPONSE_CODE, &code);
	reply = o->len ? json_loadb(o->body, o->len, 0, NULL) : NULL;
	err = json_object_get(reply, "error");
	if (o->kind == OP_PUT && code != 200 && json_is_string(err) &&
	    strstr(json_string_value(err), "lease not found")) {
		s->lease[0] = 0;	/* expired while we were away */
		json_decref(reply);
		return;
	}
	if (code != 200 || !json_is_object(reply)) {
		char why[96];

		snprintf(why, sizeof(why), "HTTP %ld%s%.60s", code,
			 json_is_string(err) ? ": " : "",
			 json_is_string(err) ? json_string_value(err) : "");
		store_failed(s, op_name[o->kind], why);
		json_decref(reply);
		return;
	}
	store_ok(s);
	switch (o->kind) {
	case OP_LEASE:
		if (o->grant) {
			const char *id = json_string_value(json_object_get(reply, "ID"));

			if (id && strlen(id) < sizeof(s->lease)) {
				snprintf(s->lease, sizeof(s->lease), "%s", id);
				forget_published(s);	/* a new key */
				publish(s);
			}
		} else if (!json_object_get(json_object_get(reply, "result"), "TTL")) {
			s->lease[0] = 0;	/* gone: a new one next round */
			forget_published(s);
		}
		break;
	case OP_PEERS:
		read_peers(s, reply);
		break;
	case OP_CONFIG:
		read_config(s, reply);
		break;
	}
	json_decref(reply);
}

/* ---- rounds -------------------------------------------------------------- */

static json_t *range_req(const char *key, const char *end)
{
	char *k = b64_str(key), *e = end ? b64_str(end) : NULL;
	json_t *r = NULL;

	if (k && (!end || e))
		r = end ? json_pack("{s:s, s:s}", "key", k, "range_end", e) :
			  json_pack("{s:s}", "key", k);
	free(k);
	free(e);
	return r;
}

static void round_start(struct store *s)
{
	const struct ps_store_conf *c = &s->d->conf.store;
	char key[256], end[256];

	if (!s->lease[0]) {
		s->op[OP_LEASE].grant = true;
		op_start(s, OP_LEASE, "/v3/lease/grant",
			 json_pack("{s:i}", "TTL", c->ttl_s));
	} else {
		s->op[OP_LEASE].grant = false;
		op_start(s, OP_LEASE, "/v3/lease/keepalive",
			 json_pack("{s:s}", "ID", s->lease));
		publish(s);
	}
	snprintf(key, sizeof(key), "%s/m/", c->prefix);
	snprintf(end, sizeof(end), "%s/m0", c->prefix);	/* '/' + 1 */
	op_start(s, OP_PEERS, "/v3/kv/range", range_req(key, end));
	if (c->config) {
		snprintf(key, sizeof(key), "%s/config", c->prefix);
		op_start(s, OP_CONFIG, "/v3/kv/range", range_req(key, NULL));
	}
}

int store_init(struct steerd *d)
{
	struct store *s;

	if (!d->conf.store.enabled)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->d = d;
	s->config_rev = -1;
	s->bad_rev = -1;
	s->reachable = true;	/* so the first failure is logged */
	s->peer_names = json_array();
	s->due = now_ms();
	d->store = s;
	pr_info("store: PoP '%s' sharing under %s at %s%s", d->conf.store.name,
		d->conf.store.prefix, d->conf.store.endpoints[0],
		d->conf.store.config ? " (config too)" : "");
	return 0;
}

void store_fini(struct steerd *d)
{
	struct store *s = d->store;

	if (!s)
		return;
	for (int i = 0; i < OPS; i++) {
		if (s->op[i].busy)
			probes_remove_xfer(d, s->op[i].e);
		curl_easy_cleanup(s->op[i].e);
		curl_slist_free_all(s->op[i].hdr);
		free(s->op[i].body);
	}
	json_decref(s->peer_names);
	free(s->published);
	free(s);
	d->store = NULL;
}

int store_timeout(struct steerd *d)
{
	struct store *s = d->store;
	uint64_t now = now_ms();

	if (!s || !d->conf.store.enabled)
		return -1;
	return s->due <= now ? 0 : (int)(s->due - now);
}

void store_run(struct steerd *d)
{
	struct store *s = d->store;
	uint64_t now = now_ms();

	if (!s || !d->conf.store.enabled || now < s->due)
		return;
	s->due = now + d->conf.store.interval_ms;
	/* the peers' findings expire as their leases would */
	if (s->have_peers && !s->reachable &&
	    now - s->last_ok > (uint64_t)d->conf.store.ttl_s * 1000) {
		pr_warn("store: unreachable for %d s: peers' measurements dropped",
			d->conf.store.ttl_s);
		drop_peers(s);
	}
	round_start(s);
}

json_t *store_json(struct steerd *d)
{
	const struct ps_store_conf *c = &d->conf.store;
	struct store *s = d->store;
	json_t *j;

	if (!c->enabled || !s)
		return json_null();
	j = json_pack("{s:s, s:s, s:s, s:b, s:O, s:b}",
		      "name", c->name, "prefix", c->prefix,
		      "endpoint", c->endpoints[s->ep % c->nendpoints],
		      "reachable", s->reachable && s->ever,
		      "peers", s->peer_names, "config_shared", c->config);
	if (s->ever)
		json_object_set_new(j, "last_ok_ms_ago",
				    json_integer(now_ms() - s->last_ok));
	if (s->error[0])
		json_object_set_new(j, "error", json_string(s->error));
	if (c->config) {
		json_object_set_new(j, "config_revision",
				    json_integer(s->config_rev));
		if (s->config_error[0])
			json_object_set_new(j, "config_error",
					    json_string(s->config_error));
	}
	return j;
}
