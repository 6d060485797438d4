// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probes: libcurl's multi interface on steerd's epoll loop, so hundreds of
 * servers are probed by the one thread without delaying the control socket
 * or DNS over TCP.  libcurl speaks HTTP, HTTPS and FTP and makes TCP
 * connects (CONNECT_ONLY); nothing here speaks a protocol itself.
 *
 * Each probe has its own interval, timeout and jitter, and its own rise/fall
 * hysteresis; a server is down when any of its health probes is.  Results
 * feed the server's smoothed metrics and score (score.h); a pool whose
 * states or scores changed gets its selection table rebuilt -- at once for
 * a health change, at most every TABLE_MIN_MS for metrics alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <curl/curl.h>
#include <jansson.h>

#include "steerd.h"
#include "log.h"

#define TABLE_MIN_MS	200
/* probes due within this many ms start together: one wakeup for many */
#define BATCH_MS	10

struct probe {
	struct xfer x;			/* first: libcurl's private pointer */
	struct prober *pr;
	int pool, server, idx;		/* indices in d->conf */
	int first, count;		/* the server's probes in all[] */
	char pool_name[PS_OBJ_NAME_MAX];	/* what it probes, across */
	struct ps_addr addr;			/* changes of the model */
	struct ps_probe_conf conf;
	char url[320];
	CURL *easy;
	CURLSH *share;			/* reuse: the probe's own connection cache */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	char *body;			/* what the probe reads */
	size_t body_len;
	bool running;
	bool too_big;
	uint64_t due;			/* ms, CLOCK_MONOTONIC */
	uint64_t grid;			/* this run's place without jitter */
	int heap;			/* position in the heap, -1 if none */
	struct ps_hyst hyst;
	/* the last result, for steerctl server show */
	bool done, last_ok;
	int last_metric;
	double last_value;
	double first_byte_ms;		/* http: time to the first byte */
	/* traffic: the counter at the last run */
	bool tr_seen;
	uint64_t tr_packets, tr_at;
	uint64_t last_at;
	char last_error[112];
};

/* a socket libcurl asked us to watch */
struct csock {
	struct watch w;
	struct prober *pr;
	struct csock *next_dead;
};

struct prober {
	struct steerd *d;
	CURLM *multi;
	struct probe **all;
	int n;
	struct slot *heap;		/* due times, earliest first */
	int nheap;
	int64_t curl_due;		/* ms; -1: no libcurl timeout */
	/* sockets libcurl is done with: an event for one may still be in
	 * the loop's current batch, so they are freed after it */
	struct csock *dead;
	bool dirty[PS_MAX_POOLS];	/* tables to rebuild */
	bool urgent;			/* a health change: rebuild now */
	uint64_t last_tables;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the heap of due probes --------------------------------------------- */

/* due times live in the heap itself: sifting compares them without
 * touching the (large) probes */
struct slot {
	uint64_t due;
	struct probe *p;
};

static void heap_set(struct prober *pr, int i, struct slot s)
{
	pr->heap[i] = s;
	s.p->heap = i;
}

static void heap_up(struct prober *pr, int i)
{
	struct slot s = pr->heap[i];

	while (i > 0 && pr->heap[(i - 1) / 2].due > s.due) {
		heap_set(pr, i, pr->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(pr, i, s);
}

static void heap_down(struct prober *pr, int i)
{
	struct slot s = pr->heap[i];

	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = l;

		if (l >= pr->nheap)
			break;
		if (r < pr->nheap && pr->heap[r].due < pr->heap[l].due)
			m = r;
		if (pr->heap[m].due >= s.due)
			break;
		heap_set(pr, i, pr->heap[m]);
		i = m;
	}
	heap_set(pr, i, s);
}

static void heap_push(struct prober *pr, struct probe *p)
{
	pr->heap[pr->nheap] = (struct slot){ p->due, p };
	heap_up(pr, pr->nheap++);
}

static void heap_remove(struct prober *pr, struct probe *p)
{
	int i = p->heap;

	if (i < 0)
		return;
	pr->nheap--;
	if (i != pr->nheap) {
		heap_set(pr, i, pr->heap[pr->nheap]);
		heap_down(pr, i);
		heap_up(pr, i);
	}
	p->heap = -1;
}

/*
 * Next run: on a grid of one interval from the probe's first run, each
 * run shifted by up to +/- jitter off the grid -- so jitter and slow
 * replies never add up, and a dead server has failed `fall` probes
 * within fall x interval + jitter + timeout of dying.
 */
static void schedule(struct prober *pr, struct probe *p, uint64_t now)
{
	int j = p->conf.jitter_ms;

	p->grid += p->conf.interval_ms;
	if (p->grid + p->conf.interval_ms < now)	/* fell behind: restart */
		p->grid = now;
	p->due = p->grid + (j ? rand() % (2 * j + 1) - j : 0);
	if (p->due < now)
		p->due = now;
	heap_push(pr, p);
}

/* ---- libcurl on the epoll loop ---------------------------------------- */

static void check_done(struct prober *pr);

static void csock_gone(struct steerd *d, struct watch *w, uint32_t events)
{
}

static void csock_ready(struct steerd *d, struct watch *w, uint32_t events)
{
	struct csock *cs = (struct csock *)w;
	struct prober *pr = cs->pr;	/* cs may be gone after the action */
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(pr->multi, w->fd, flags, &running);
	check_done(pr);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp,
		     void *socketp)
{
	struct prober *pr = userp;
	struct csock *cs = socketp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		      (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	if (what == CURL_POLL_REMOVE) {
		if (cs) {
			/* libcurl closes the socket itself */
			epoll_ctl(pr->d->epfd, EPOLL_CTL_DEL, s, NULL);
			curl_multi_assign(pr->multi, s, NULL);
			cs->w.fn = csock_gone;
			cs->next_dead = pr->dead;
			pr->dead = cs;
		}
		return 0;
	}
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs)
			return -1;
		cs->w.fd = s;
		cs->w.fn = csock_ready;
		cs->pr = pr;
		curl_multi_assign(pr->multi, s, cs);
		return loop_add(pr->d, &cs->w, ev) ? -1 : 0;
	}
	return loop_mod(pr->d, &cs->w, ev) ? -1 : 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct prober *pr = userp;

	pr->curl_due = timeout_ms < 0 ? -1 : (int64_t)(now_ms() + timeout_ms);
	return 0;
}

static size_t body_cb(char *data, size_t size, size_t n, void *userp)
{
	struct probe *p = userp;
	size_t len = size * n;
	char *b;

	/* a huge body must not cost us memory or time: stop reading */
	if (p->body_len + len > p->conf.max_body) {
		p->too_big = true;
		return 0;
	}
	b = realloc(p->body, p->body_len + len + 1);
	if (!b)
		return 0;
	p->body = b;
	memcpy(p->body + p->body_len, data, len);
	p->body_len += len;
	p->body[p->body_len] = 0;
	return len;
}

/* ---- one probe ------------------------------------------------------------ */

static bool url_host_is_address(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, buf[INET6_ADDRSTRLEN + 2];
	struct in6_addr a;
	bool is = false;

	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) && strlen(host) < sizeof(buf)) {
		/* IPv6 comes in brackets */
		size_t l = strlen(host);

		if (host[0] == '[' && l > 2) {
			memcpy(buf, host + 1, l - 2);
			buf[l - 2] = 0;
			is = inet_pton(AF_INET6, buf, &a) == 1;
		} else {
			is = inet_pton(AF_INET, host, &a) == 1;
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return is;
}

static int probe_setup(struct probe *p)
{
	const struct ps_probe_conf *c = &p->conf;
	const struct ps_server_conf *s =
		&p->pr->d->conf.pools[p->pool].servers[p->server];
	CURL *e;

	if (c->kind == PS_PROBE_TRAFFIC)	/* reads counters: no libcurl */
		return 0;
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	p->easy = e;
	if (c->kind == PS_PROBE_TCP) {
		char a[INET6_ADDRSTRLEN];

		ps_addr_str(&s->addr, a, sizeof(a));
		snprintf(p->url, sizeof(p->url),
			 s->addr.family == AF_INET6 ? "http://[%s]:%d/" : "http://%s:%d/",
			 a, c->port);
		curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	} else {
		snprintf(p->url, sizeof(p->url), "%s", c->url);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
	}
	curl_easy_setopt(e, CURLOPT_URL, p->url);
	/* an address needs no name lookup: cached for good, which also
	 * spares every transfer a walk of libcurl's whole DNS cache (its
	 * pruning, one entry per server) */
	if (url_host_is_address(p->url))
		curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, p);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	/* tcp and ftp measure a fresh connection, as a new client would;
	 * http keeps it (reuse), as a browser or a cache would */
	if (!c->reuse) {
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	} else {
		/* an idle connection older than two intervals is not trusted */
		curl_easy_setopt(e, CURLOPT_MAXAGE_CONN,
				 (long)(2 * c->interval_ms / 1000 + 2));
		/* Its own connection cache: libcurl walks the whole cache of
		 * a handle at every curl_multi_remove_handle() once it kept
		 * a connection -- with one cache for all, a probe would cost
		 * O(servers). */
		p->share = curl_share_init();
		if (p->share) {
			curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
			curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
			curl_easy_setopt(e, CURLOPT_SHARE, p->share);
		}
	}
	curl_easy_setopt(e, CURLOPT_USERAGENT, "popsteer-steerd/" PS_VERSION);
	/* straight to the server: never a proxy from the environment (nor
	 * the getenv() calls of looking for one at every transfer) */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	/* replies are small (max_body bounds what is kept anyway) */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
	/* a health probe does not send secrets: an address in the URL
	 * could not match a certificate anyway */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	if (c->kind == PS_PROBE_HTTP || c->kind == PS_PROBE_HTTPS ||
	    c->kind == PS_PROBE_LOAD) {
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		if (c->head)
			curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		if (c->host[0]) {
			char h[160];

			snprintf(h, sizeof(h), "Host: %s", c->host);
			p->headers = curl_slist_append(NULL, h);
			curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
		}
	} else if (c->kind == PS_PROBE_FTP) {
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "ftp");
		/* log in, no transfer; QUIT when the connection closes */
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		if (c->user[0]) {
			curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
			curl_easy_setopt(e, CURLOPT_PASSWORD, c->password);
		}
	}
	return 0;
}

static void probe_result(struct prober *pr, struct probe *p, bool ok,
			 int metric, double value, const char *err);

/* Packets XDP steered to the VIPs of this PoP at address a (any port and
 * protocol); false if none is here. */
static bool vip_packets(struct steerd *d, const struct ps_addr *a,
			struct ps_lb_stats *out)
{
	bool found = false;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < d->conf.nvips; i++) {
		const struct ps_vip_conf *v = &d->conf.vips[i];
		int id = ps_lb_vip_id(&d->lb, v);
		struct ps_lb_stats st;

		if (memcmp(&v->addr, a, sizeof(*a)) || id < 0 ||
		    ps_lb_vip_stats(&d->lb, id, &st))
			continue;
		out->packets += st.packets;
		found = true;
	}
	return found;
}

/* A traffic probe: packets per second XDP flow steering sent the server
 * since the last run, from the per-backend counters -- or, for a server
 * that is a VIP of this PoP (a PoP in a pool of PoPs), what its VIPs
 * received; no network.  Only the PoP that steers a VIP counts it: the
 * others learn it from that PoP's published measurements (store). */
static void traffic_run(struct prober *pr, struct probe *p)
{
	struct steerd *d = pr->d;
	int rid = ps_lb_real_id(&d->lb, &p->addr);
	struct ps_lb_stats st;
	uint64_t now = now_ms();
	double pps = 0;

	/* a freed id keeps its address until given out again */
	if ((rid < 0 || !d->lb.real_live[rid] ||
	     ps_lb_real_stats(&d->lb, rid, &st)) &&
	    !vip_packets(d, &p->addr, &st)) {
		p->tr_seen = false;
		/* counted by the PoP that steers it, if any: with a store,
		 * not our failure to report */
		if (d->conf.store.enabled) {
			p->done = false;
			schedule(pr, p, now);
			return;
		}
		probe_result(pr, p, false, -1, 0, "not a backend of any vip, nor a vip here");
		return;
	}
	/* counters only go back when the id was given to another backend
	 * (zeroed): start again from here */
	if (st.packets < p->tr_packets)
		p->tr_seen = false;
	if (p->tr_seen && now > p->tr_at)
		pps = (st.packets - p->tr_packets) * 1000.0 / (now - p->tr_at);
	p->tr_packets = st.packets;
	p->tr_at = now;
	if (!p->tr_seen) {	/* the first reading only sets the origin */
		p->tr_seen = true;
		schedule(pr, p, now);
		return;
	}
	probe_result(pr, p, true, PS_M_TRAFFIC, pps, "");
}

static void probe_start(struct prober *pr, struct probe *p)
{
	if (p->conf.kind == PS_PROBE_TRAFFIC) {
		traffic_run(pr, p);
		if (p->heap < 0)
			schedule(pr, p, now_ms());
		return;
	}
	p->body_len = 0;
	p->too_big = false;
	p->errbuf[0] = 0;
	if (curl_multi_add_handle(pr->multi, p->easy) != CURLM_OK) {
		schedule(pr, p, now_ms());
		return;
	}
	p->running = true;
}

static bool expected(const struct ps_probe_conf *c, long code)
{
	for (int i = 0; i < c->nexpect; i++)
		if (c->expect[i] == code)
			return true;
	return false;
}

/* Was the probe a success?  Fills the metric it measures, or err. */
static bool judge(struct probe *p, CURLcode res, int *metric, double *value,
		  char *err, size_t errlen)
{
	const struct ps_probe_conf *c = &p->conf;
	curl_off_t t = 0;
	long code = 0;

	if (res != CURLE_OK) {
		if (p->too_big)
			snprintf(err, errlen, "body over %u bytes", c->max_body);
		else
			snprintf(err, errlen, "%.100s", p->errbuf[0] ? p->errbuf :
				 curl_easy_strerror(res));
		return false;
	}
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
	switch (c->kind) {
	case PS_PROBE_TCP:
		curl_easy_getinfo(p->easy, CURLINFO_CONNECT_TIME_T, &t);
		*metric = PS_M_LATENCY;
		*value = t / 1000.0;
		return true;
	case PS_PROBE_FTP:
		curl_easy_getinfo(p->easy, CURLINFO_TOTAL_TIME_T, &t);
		*metric = PS_M_RESPONSE;
		*value = t / 1000.0;
		return true;
	case PS_PROBE_LOAD: {
		json_t *j = code == 200 && p->body ? json_loadb(p->body, p->body_len, 0, NULL) : NULL;
		json_t *cpu = json_object_get(j, "cpu");
		bool ok = json_is_number(cpu) && json_number_value(cpu) >= 0 &&
			  json_number_value(cpu) <= 1;

		if (ok) {
			*metric = PS_M_CPU;
			*value = json_number_value(cpu);
		} else if (code != 200) {
			snprintf(err, errlen, "HTTP status %ld", code);
		} else {
			snprintf(err, errlen, "no \"cpu\" between 0 and 1 in the reply");
		}
		json_decref(j);
		return ok;
	}
	default: {	/* http, https */
		curl_off_t conn = 0, first = 0;

		if (!expected(c, code)) {
			snprintf(err, errlen, "HTTP status %ld", code);
			return false;
		}
		if (c->body[0] && (!p->body || !strstr(p->body, c->body))) {
			snprintf(err, errlen, "body lacks \"%.64s\"", c->body);
			return false;
		}
		/* the request's own time: without connecting (which a
		 * reused connection does not do), first byte and total */
		curl_easy_getinfo(p->easy, CURLINFO_TOTAL_TIME_T, &t);
		curl_easy_getinfo(p->easy, CURLINFO_APPCONNECT_TIME_T, &conn);
		if (!conn)
			curl_easy_getinfo(p->easy, CURLINFO_CONNECT_TIME_T, &conn);
		curl_easy_getinfo(p->easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
		p->first_byte_ms = (first - conn) / 1000.0;
		*metric = PS_M_RESPONSE;
		*value = (t - conn) / 1000.0;
		return true;
	}
	}
}

/* A server's health: down if any health probe is, up once all that
 * decided are up, unknown before. */
static enum ps_health server_health(struct prober *pr, const struct probe *p)
{
	enum ps_health h = PS_HEALTH_UNKNOWN;

	/* a server's probes are next to each other in all[] */
	for (int i = p->first; i < p->first + p->count; i++) {
		struct probe *q = pr->all[i];

		if (!q->conf.health)
			continue;
		if (q->hyst.state == PS_HEALTH_DOWN)
			return PS_HEALTH_DOWN;
		if (q->hyst.state == PS_HEALTH_UP)
			h = PS_HEALTH_UP;
	}
	return h;
}

/* The server's error: why its failing probe (the health one first)
 * failed last, "" while none fails. */
static void server_error(struct prober *pr, const struct probe *p,
			 struct ps_srv_state *st)
{
	const struct probe *bad = NULL;

	for (int i = p->first; i < p->first + p->count; i++) {
		const struct probe *q = pr->all[i];

		if (q->done && !q->last_ok && (!bad || (q->conf.health && !bad->conf.health)))
			bad = q;
	}
	st->error[0] = 0;
	if (bad)
		snprintf(st->error, sizeof(st->error), "%s: %.100s",
			 ps_probe_kind_name[bad->conf.kind], bad->last_error);
}

static void probe_done(struct prober *pr, struct probe *p, CURLcode res)
{
	char err[128] = "";
	int metric = -1;
	double value = 0;
	bool ok;

	ok = judge(p, res, &metric, &value, err, sizeof(err));
	probe_result(pr, p, ok, metric, value, err);
}

static void probe_result(struct prober *pr, struct probe *p, bool ok,
			 int metric, double value, const char *err)
{
	struct steerd *d = pr->d;
	const struct ps_pool_conf *pool = &d->conf.pools[p->pool];
	struct ps_srv_state *st = &d->rt[p->pool].srv[p->server];
	char addr[INET6_ADDRSTRLEN];
	enum ps_health old = st->health;

	p->done = true;
	p->last_ok = ok;
	p->last_metric = ok ? metric : -1;
	p->last_value = value;
	p->last_at = now_ms();
	snprintf(p->last_error, sizeof(p->last_error), "%s", ok ? "" : err);
	server_error(pr, p, st);
	if (ok && metric >= 0) {
		ps_ewma_add(&st->m[metric], value, pool->scoring.alpha);
		st->score = ps_score(st, &pool->scoring);
		pr->dirty[p->pool] = true;
	}
	if (p->conf.health) {
		ps_hyst_result(&p->hyst, ok);
		st->health = server_health(pr, p);
	}
	if (st->health != old && st->health != PS_HEALTH_UNKNOWN) {
		ps_addr_str(&pool->servers[p->server].addr, addr, sizeof(addr));
		if (st->health == PS_HEALTH_DOWN)
			pr_warn("pool %s: server %s down: %d failed %s probes (%s)",
				pool->name, addr, p->hyst.bad,
				ps_probe_kind_name[p->conf.kind], err);
		else if (old == PS_HEALTH_DOWN)
			pr_info("pool %s: server %s up again: %d successful probes",
				pool->name, addr, p->hyst.ok);
		else
			pr_info("pool %s: server %s up", pool->name, addr);
		pr->dirty[p->pool] = true;
		pr->urgent = true;
	}
}

static void check_done(struct prober *pr)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(pr->multi, &left))) {
		struct probe *p;
		struct xfer *x;
		CURLcode res;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x->done) {		/* not a probe */
			CURL *e = m->easy_handle;

			res = m->data.result;
			curl_multi_remove_handle(pr->multi, e);
			x->done(pr->d, x, res);
			continue;
		}
		p = (struct probe *)x;
		curl_multi_remove_handle(pr->multi, p->easy);
		p->running = false;
		probe_done(pr, p, m->data.result);
		schedule(pr, p, now_ms());
	}
}

/* ---- tables --------------------------------------------------------------- */

static void update_tables(struct prober *pr)
{
	struct steerd *d = pr->d;
	struct ps_sync_report rep;
	uint64_t now = now_ms();
	bool any = false;
	int rc;

	for (int i = 0; i < d->conf.npools; i++)
		any |= pr->dirty[i];
	if (!any || (!pr->urgent && now - pr->last_tables < TABLE_MIN_MS))
		return;
	rc = steerd_tables(d, pr->dirty, &rep);
	if (rc)
		pr_err("Couldn't update the selection tables: %s", strerror(-rc));
	else if (rep.pools_written)
		pr_debug("tables: %d pools rewritten", rep.pools_written);
	memset(pr->dirty, 0, sizeof(pr->dirty));
	pr->urgent = false;
	pr->last_tables = now;
}

/* ---- the engine ------------------------------------------------------------ */

static void free_dead(struct prober *pr)
{
	while (pr->dead) {
		struct csock *cs = pr->dead;

		pr->dead = cs->next_dead;
		free(cs);
	}
}

static void probe_free(struct prober *pr, struct probe *p)
{
	heap_remove(pr, p);
	if (p->running)
		curl_multi_remove_handle(pr->multi, p->easy);
	curl_easy_cleanup(p->easy);
	if (p->share)
		curl_share_cleanup(p->share);
	curl_slist_free_all(p->headers);
	free(p->body);
	free(p);
}

int probes_init(struct steerd *d)
{
	struct prober *pr = calloc(1, sizeof(*pr));

	if (!pr || curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(pr);
		return -ENOMEM;
	}
	pr->d = d;
	pr->curl_due = -1;
	pr->multi = curl_multi_init();
	if (!pr->multi) {
		free(pr);
		return -ENOMEM;
	}
	curl_multi_setopt(pr->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(pr->multi, CURLMOPT_SOCKETDATA, pr);
	curl_multi_setopt(pr->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(pr->multi, CURLMOPT_TIMERDATA, pr);
	d->prober = pr;
	srand(now_ms());
	probes_reconfigure(d);
	return 0;
}

void probes_fini(struct steerd *d)
{
	struct prober *pr = d->prober;

	if (!pr)
		return;
	for (int i = 0; i < pr->n; i++)
		probe_free(pr, pr->all[i]);
	free(pr->all);
	free(pr->heap);
	curl_multi_cleanup(pr->multi);
	free_dead(pr);
	curl_global_cleanup();
	free(pr);
	d->prober = NULL;
}

static bool same_probe(const struct ps_probe_conf *a,
		       const struct ps_probe_conf *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/*
 * The model changed: keep the probes that are still configured the same
 * (their schedule and hysteresis go on), drop the others, start the new
 * ones spread over their first interval.
 */
void probes_reconfigure(struct steerd *d)
{
	struct prober *pr = d->prober;
	struct probe **old, **all;
	uint64_t now = now_ms();
	int nold, n = 0, total = 0;

	if (!pr)
		return;
	old = pr->all;
	nold = pr->n;
	for (int i = 0; i < d->conf.npools; i++)
		for (int j = 0; j < d->conf.pools[i].nservers; j++)
			total += d->conf.pools[i].servers[j].nprobes;
	all = calloc(total ? total : 1, sizeof(*all));
	free(pr->heap);
	pr->heap = calloc(total ? total : 1, sizeof(*pr->heap));
	pr->nheap = 0;
	if (!all || !pr->heap) {
		pr_err("out of memory: probes stopped");
		return;
	}
	for (int i = 0; i < nold; i++)
		old[i]->heap = -1;
	for (int i = 0; i < d->conf.npools; i++) {
		const struct ps_pool_conf *pool = &d->conf.pools[i];

		for (int j = 0; j < pool->nservers; j++) {
			const struct ps_server_conf *s = &pool->servers[j];
			int first = n;

			for (int k = 0; k < s->nprobes; k++) {
				struct probe *p = NULL;

				for (int o = 0; o < nold && !p; o++) {
					struct probe *q = old[o];

					if (q && q->idx == k &&
					    same_probe(&q->conf, &s->probes[k]) &&
					    !strcmp(q->pool_name, pool->name) &&
					    !memcmp(&q->addr, &s->addr, sizeof(s->addr))) {
						p = q;
						old[o] = NULL;
					}
				}
				if (!p) {
					p = calloc(1, sizeof(*p));
					if (!p)
						continue;
					p->pr = pr;
					p->conf = s->probes[k];
					p->hyst.rise = p->conf.rise;
					p->hyst.fall = p->conf.fall;
					p->pool = i;
					p->server = j;
					p->idx = k;
					p->heap = -1;
					snprintf(p->pool_name, sizeof(p->pool_name),
						 "%s", pool->name);
					p->addr = s->addr;
					if (probe_setup(p)) {
						free(p);
						continue;
					}
					/* spread over the first interval */
					p->grid = p->due = now +
						rand() % (p->conf.interval_ms + 1);
				}
				p->pool = i;
				p->server = j;
				all[n++] = p;
				if (!p->running)
					heap_push(pr, p);
			}
			for (int q = first; q < n; q++) {
				all[q]->first = first;
				all[q]->count = n - first;
			}
		}
	}
	for (int i = 0; i < nold; i++)
		if (old[i])
			probe_free(pr, old[i]);
	free(old);
	pr->all = all;
	pr->n = n;
	/* room for a kept connection per probe */
	curl_multi_setopt(pr->multi, CURLMOPT_MAXCONNECTS, (long)n + 16);
}

json_t *probes_json(struct steerd *d, int pool, int server)
{
	struct prober *pr = d->prober;
	json_t *arr = json_array();
	uint64_t now = now_ms();

	for (int i = 0; pr && i < pr->n; i++) {
		const struct probe *p = pr->all[i];
		json_t *j;

		if (p->pool != pool || p->server != server)
			continue;
		char target[sizeof(p->url)];

		if (p->conf.kind == PS_PROBE_TRAFFIC)
			snprintf(target, sizeof(target), "xdp counters");
		else if (p->conf.kind == PS_PROBE_TCP)	/* "http://A:P/" -> "A:P" */
			snprintf(target, sizeof(target), "%.*s",
				 (int)strlen(p->url) - 8, p->url + 7);
		else
			snprintf(target, sizeof(target), "%s", p->url);
		j = json_pack("{s:s, s:s, s:i, s:i, s:b, s:s, s:i, s:i}",
			      "kind", ps_probe_kind_name[p->conf.kind],
			      "target", target,
			      "interval_ms", p->conf.interval_ms,
			      "timeout_ms", p->conf.timeout_ms,
			      "health", p->conf.health,
			      "state", ps_health_name[p->hyst.state],
			      "ok_in_row", p->hyst.ok, "failed_in_row", p->hyst.bad);
		if (p->done) {
			json_object_set_new(j, "last_ok", json_boolean(p->last_ok));
			json_object_set_new(j, "last_age_ms",
					    json_integer(now - p->last_at));
			if (p->last_metric >= 0)
				json_object_set_new(j, "last_value",
						    json_real(p->last_value));
			if (p->last_ok && (p->conf.kind == PS_PROBE_HTTP ||
					   p->conf.kind == PS_PROBE_HTTPS))
				json_object_set_new(j, "last_first_byte_ms",
						    json_real(p->first_byte_ms));
			if (!p->last_ok)
				json_object_set_new(j, "last_error",
						    json_string(p->last_error));
		}
		json_array_append_new(arr, j);
	}
	return arr;
}

int probes_add_xfer(struct steerd *d, CURL *e, struct xfer *x)
{
	struct prober *pr = d->prober;

	if (!pr)
		return -1;
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	return curl_multi_add_handle(pr->multi, e) == CURLM_OK ? 0 : -1;
}

void probes_remove_xfer(struct steerd *d, CURL *e)
{
	if (d->prober)
		curl_multi_remove_handle(d->prober->multi, e);
}

void probes_mark(struct steerd *d, int pool, bool urgent)
{
	struct prober *pr = d->prober;

	if (!pr || pool < 0 || pool >= PS_MAX_POOLS)
		return;
	pr->dirty[pool] = true;
	pr->urgent |= urgent;
}

int probes_timeout(struct steerd *d)
{
	struct prober *pr = d->prober;
	uint64_t now = now_ms();
	int64_t due = -1;

	if (!pr)
		return -1;
	if (pr->nheap)
		due = pr->heap[0].due - BATCH_MS;
	if (pr->curl_due >= 0 && (due < 0 || pr->curl_due < due))
		due = pr->curl_due;
	for (int i = 0; i < d->conf.npools; i++)
		if (pr->dirty[i]) {
			int64_t t = pr->urgent ? (int64_t)now : (int64_t)(pr->last_tables + TABLE_MIN_MS);

			if (due < 0 || t < due)
				due = t;
			break;
		}
	if (due < 0)
		return -1;
	return due <= (int64_t)now ? 0 : (int)(due - now);
}

void probes_run(struct steerd *d)
{
	struct prober *pr = d->prober;
	uint64_t now = now_ms();
	int running;

	if (!pr)
		return;
	free_dead(pr);
	if (pr->curl_due >= 0 && (uint64_t)pr->curl_due <= now) {
		pr->curl_due = -1;
		curl_multi_socket_action(pr->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		check_done(pr);
	}
	while (pr->nheap && pr->heap[0].due <= now + BATCH_MS) {
		struct probe *p = pr->heap[0].p;

		heap_remove(pr, p);
		probe_start(pr, p);
	}
	update_tables(pr);
}
