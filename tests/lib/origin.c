// SPDX-License-Identifier: GPL-2.0-only
/*
 * ps-origin: an HTTP origin for tests, that misbehaves on demand.
 *
 *   ps-origin -s STATEFILE [-l ADDR:PORT]... [-v]
 *
 * A test steers it through STATEFILE, "key=value" lines read again at every
 * accepted connection, so a change applies to the next connection:
 *
 *   status=200  body=ok       GET /health: its status and body
 *   delay_ms=0                wait before every response (other clients go on)
 *   cpu=0.10 load1=0.5 conns=10 [load5= load15= ncpu=1]
 *                             GET /load: steer-agent's JSON with these values
 *   load_body=TEXT            GET /load serves TEXT verbatim instead
 *   mode=normal|refuse|hang|garbage|slow|huge
 *                             refuse: reset right after accept; hang: never
 *                             answer; garbage: 200 random bytes; slow: one
 *                             byte a second; huge: 1 GiB at full speed
 *   huge_s=30                 how long mode=huge streams before closing
 *   keepalive=0               1: keep HTTP/1.1 connections open for more
 *                             requests (unless the client says close);
 *                             the file is read again before each one
 *   KEY@ADDR=VALUE            KEY only for connections to local address ADDR
 *                             (listening on 0.0.0.0 serves many addresses);
 *                             beats a plain KEY line wherever it is
 *
 * Unknown keys are ignored, a missing file means all defaults, an empty
 * one (0 bytes) the last content read: a shell's "printf ... >FILE"
 * truncates before it writes, and a connection in between must not see
 * the defaults.  To go back to the defaults, remove the file or write a
 * blank line.
 *
 * GET /static/ANYTHING is a static object for caches in front of it:
 * 200, "Cache-Control: max-age=60", body "LOCALADDR PATH\n" (the local
 * address the request came to, the path without its query), so a test
 * sees which origin filled a miss.  Anything but GET /health, /load,
 * /stats and /static/... is a 404.  delay_ms comes before every reply,
 * garbage, slow and huge ones too.  GET /stats,
 * {"requests": N, "connections": N, "by_addr": {"ADDR": N, ...},
 *  "static": N, "static_by_addr": {"ADDR": N, ...}}, is the test's side
 * channel: answered at once in every mode but refuse (which resets before
 * reading anything), and not counted.  "requests" counts the replies begun
 * (404s, garbage, slow and huge ones too; not refused or hung
 * connections), per local address in "by_addr"; "static" the /static/
 * objects among them (modes normal and slow), per local address in
 * "static_by_addr" (an address only once it served one); "connections"
 * counts every connection accepted, this one included.
 *
 * Single-threaded: one epoll loop, non-blocking sockets, every wait a
 * deadline checked by the loop, one response per connection
 * ("Connection: close").  Stops on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#define MAX_LISTEN	64
#define REQ_MAX		8192		/* request head; longer is a 431 */
#define TEXT_MAX	2048		/* body, load_body */
#define READ_MS		30000		/* to send the request head */
#define LINGER_MS	2000		/* to close after the response */
#define SLOW_MS		1000		/* mode=slow: one byte per this */
#define GARBAGE_LEN	200
#define HUGE_LEN	1073741824ULL
#define MAX_ADDRS	1024		/* local addresses counted in /stats */

enum mode { M_NORMAL, M_REFUSE, M_HANG, M_GARBAGE, M_SLOW, M_HUGE };
static const char *const mode_names[] = { "normal", "refuse", "hang", "garbage", "slow", "huge" };

struct conf {
	int status;
	unsigned delay_ms, huge_s;
	enum mode mode;
	double cpu, load1, load5, load15;
	bool load5_set, load15_set;
	long conns, ncpu;
	char body[TEXT_MAX];
	char load_body[TEXT_MAX];	/* "" = generated */
	bool load_body_set;
	bool keepalive;
};

/* one local address: the key of KEY@ADDR and of /stats "by_addr" */
struct laddr {
	int family;
	unsigned char a[16];
};

enum kind { K_SIGNAL, K_LISTEN, K_CONN };

/* What the connection waits for; every state but WAIT and SLOW also has
 * an epoll interest, every state but HANG a deadline. */
enum cstate { C_READ, C_HANG, C_WAIT, C_SEND, C_SLOW, C_HUGE, C_LINGER };

struct conn {
	enum kind kind;		/* first: epoll's data.ptr points here */
	int fd;
	enum cstate st;
	struct conn *prev, *next;
	struct conf cf;		/* the state file as it was at accept */
	struct laddr local;
	char peer[INET6_ADDRSTRLEN + 8];
	int64_t deadline;	/* ms, monotonic; 0 = none */
	int64_t huge_end;
	uint64_t huge_left;
	char *out;
	size_t outlen, outoff;
	bool head;		/* HEAD: no body */
	bool keep;		/* keep-alive: read the next request after this */
	size_t inlen;
	char in[REQ_MAX];
};

struct listener {
	enum kind kind;
	int fd;
	const char *spec;
	bool optional;
};

static struct {
	const char *state_path;
	bool verbose;
	int ep;
	struct conn *conns;
	unsigned nconns;
	struct listener ls[MAX_LISTEN];
	unsigned nls;
	int64_t accept_resume;	/* out of fds: accepting again at this time */
	uint64_t requests, connections;
	struct laddr addrs[MAX_ADDRS];
	uint64_t addr_requests[MAX_ADDRS];
	uint64_t statics, addr_statics[MAX_ADDRS];
	unsigned naddrs;
	uint64_t warned_hash;	/* state file content last warned about */
	uint64_t rng;
} g;

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ps-origin: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- state file ---- */

static void conf_defaults(struct conf *cf)
{
	*cf = (struct conf){ .status = 200, .huge_s = 30, .cpu = 0.10,
			     .load1 = 0.5, .load5 = 0.5, .load15 = 0.5,
			     .conns = 10, .ncpu = 1 };
	strcpy(cf->body, "ok");
}

static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t\r\n");
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]))
		*--e = '\0';
	return s;
}

static bool parse_long(const char *v, long lo, long hi, long *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

static bool parse_double(const char *v, double *out)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(x))
		return false;
	*out = x;
	return true;
}

/* Applies one key; false if the value is bad (the key keeps its value). */
static bool conf_set(struct conf *cf, const char *k, const char *v)
{
	long l;

	if (!strcmp(k, "status")) {
		if (!parse_long(v, 100, 999, &l))
			return false;
		cf->status = l;
	} else if (!strcmp(k, "body")) {
		if (strlen(v) >= sizeof(cf->body))
			return false;
		strcpy(cf->body, v);
	} else if (!strcmp(k, "delay_ms")) {
		if (!parse_long(v, 0, 3600000, &l))
			return false;
		cf->delay_ms = l;
	} else if (!strcmp(k, "huge_s")) {
		if (!parse_long(v, 1, 3600, &l))
			return false;
		cf->huge_s = l;
	} else if (!strcmp(k, "cpu")) {
		return parse_double(v, &cf->cpu);
	} else if (!strcmp(k, "load1")) {
		return parse_double(v, &cf->load1);
	} else if (!strcmp(k, "load5")) {
		if (!parse_double(v, &cf->load5))
			return false;
		cf->load5_set = true;
	} else if (!strcmp(k, "load15")) {
		if (!parse_double(v, &cf->load15))
			return false;
		cf->load15_set = true;
	} else if (!strcmp(k, "conns")) {
		return parse_long(v, -1000000000L, 1000000000000L, &cf->conns);
	} else if (!strcmp(k, "ncpu")) {
		return parse_long(v, -1000000, 1000000, &cf->ncpu);
	} else if (!strcmp(k, "load_body")) {
		if (strlen(v) >= sizeof(cf->load_body))
			return false;
		strcpy(cf->load_body, v);
		cf->load_body_set = true;
	} else if (!strcmp(k, "keepalive")) {
		if (!parse_long(v, 0, 1, &l))
			return false;
		cf->keepalive = l;
	} else if (!strcmp(k, "mode")) {
		for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
			if (!strcmp(v, mode_names[i])) {
				cf->mode = i;
				return true;
			}
		}
		return false;
	}
	return true;	/* unknown keys are ignored */
}

static bool laddr_parse(const char *s, struct laddr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, a->a) == 1)
		a->family = AF_INET6;
	return a->family != 0;
}

static bool laddr_eq(const struct laddr *x, const struct laddr *y)
{
	return x->family == y->family &&
	       !memcmp(x->a, y->a, x->family == AF_INET ? 4 : 16);
}

static void laddr_str(const struct laddr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->a, buf, len))
		snprintf(buf, len, "?");
}

/* Calls fn for every "key[@addr]=value" line of text (which it edits). */
static void for_each_line(char *text, void (*fn)(void *arg, char *k, char *addr, char *v),
			  void *arg)
{
	char *line, *save, *eq, *at;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (!*line || *line == '#' || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		at = strchr(line, '@');
		if (at)
			*at++ = '\0';
		fn(arg, trim(line), at ? trim(at) : NULL, trim(eq + 1));
	}
}

static void check_line(void *arg, char *k, char *addr, char *v)
{
	struct conf scratch;
	struct laddr a;

	conf_defaults(&scratch);
	if (addr && !laddr_parse(addr, &a))
		msg("%s: bad address in '%s@%s'", g.state_path, k, addr);
	else if (!conf_set(&scratch, k, v))
		msg("%s: bad value '%s' for %s, ignored", g.state_path, v, k);
}

struct apply {
	struct conf *cf;
	const struct laddr *local;	/* NULL: the plain keys */
};

static void apply_line(void *arg, char *k, char *addr, char *v)
{
	struct apply *ap = arg;
	struct laddr a;

	if (!ap->local ? !addr : addr && laddr_parse(addr, &a) && laddr_eq(&a, ap->local))
		conf_set(ap->cf, k, v);
}

/* Reads the state file for a connection to 'local': plain keys first,
 * then KEY@ADDR lines for this address on top.  Bad values are reported
 * once per version of the file, not at every connection. */
static void conf_load(struct conf *cf, const struct laddr *local)
{
	static char *last;	/* the file's last non-empty content */
	uint64_t hash = 1469598103934665603ULL;	/* FNV-1a */
	struct apply ap = { cf, NULL };
	char *text = NULL, *copy;
	size_t cap = 0, len;
	FILE *f;

	conf_defaults(cf);
	f = fopen(g.state_path, "re");
	if (!f) {
		free(last);
		last = NULL;
		return;
	}
	/* An empty file keeps the last content: it is what a reader sees
	 * between the truncation and the write of "printf ... >FILE". */
	if (getdelim(&text, &cap, '\0', f) > 0) {
		free(last);
		last = text;
	} else {
		free(text);
	}
	fclose(f);
	if (!last)
		return;
	len = strlen(last);
	copy = malloc(len + 1);
	if (!copy)
		return;
	for (size_t i = 0; i < len; i++)
		hash = (hash ^ (unsigned char)last[i]) * 1099511628211ULL;
	if (hash != g.warned_hash) {
		g.warned_hash = hash;
		memcpy(copy, last, len + 1);
		for_each_line(copy, check_line, NULL);
	}
	memcpy(copy, last, len + 1);
	for_each_line(copy, apply_line, &ap);
	ap.local = local;
	memcpy(copy, last, len + 1);
	for_each_line(copy, apply_line, &ap);
	free(copy);
	if (!cf->load5_set)
		cf->load5 = cf->load1;
	if (!cf->load15_set)
		cf->load15 = cf->load1;
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	close(c->fd);	/* also leaves the epoll set */
	if (c->prev)
		c->prev->next = c->next;
	else
		g.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	g.nconns--;
	free(c->out);
	free(c);
}

static void conn_watch(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The response is out: half-close and wait for the client's FIN, so that
 * a request byte still in flight does not turn our close into a reset
 * that could destroy the response before the client read it. */
static void conn_linger(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->st = C_LINGER;
	c->deadline = now_ms() + LINGER_MS;
	conn_watch(c, EPOLLIN);
}

/* The response is out: the next request on a kept connection (with the
 * state file as it is now), else close. */
static void conn_next(struct conn *c)
{
	if (!c->keep) {
		conn_linger(c);
		return;
	}
	conf_load(&c->cf, &c->local);
	if (c->cf.mode == M_REFUSE) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		conn_close(c);
		return;
	}
	c->inlen = 0;
	c->in[0] = '\0';
	c->st = C_READ;
	c->deadline = c->cf.mode == M_HANG ? 0 : now_ms() + READ_MS;
	conn_watch(c, EPOLLIN);
}

/* Reads and drops what the client sends; false when it has gone. */
static bool conn_drain(struct conn *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0)
		;
	return n < 0 && (errno == EAGAIN || errno == EINTR);
}

/* Writes what is left of c->out; false on an error (client gone). */
static bool conn_flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->outoff += n;
	}
	return true;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Status";
	}
}

/* Sets c->out to a complete response (head only for HEAD); extra: more
 * header lines, each ending in CRLF. */
static bool set_response_x(struct conn *c, int status, const char *type,
			   const char *extra, const char *body)
{
	size_t blen = strlen(body);
	int n;

	free(c->out);
	n = asprintf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s"
		     "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
		     status, reason(status), type, extra, blen,
		     c->keep ? "keep-alive" : "close", c->head ? "" : body);
	if (n < 0) {
		c->out = NULL;
		return false;
	}
	c->outlen = n;
	c->outoff = 0;
	return true;
}

static bool set_response(struct conn *c, int status, const char *type,
			 const char *body)
{
	return set_response_x(c, status, type, "", body);
}

static unsigned addr_index(const struct laddr *a)
{
	for (unsigned i = 0; i < g.naddrs; i++)
		if (laddr_eq(&g.addrs[i], a))
			return i;
	if (g.naddrs == MAX_ADDRS)
		return MAX_ADDRS;
	g.addrs[g.naddrs] = *a;
	return g.naddrs++;
}

static bool stats_response(struct conn *c)
{
	char *body = NULL, *p;
	size_t cap = 0;
	FILE *f = open_memstream(&body, &cap);
	bool ok;

	if (!f)
		return false;
	fprintf(f, "{\"requests\": %llu, \"connections\": %llu, \"by_addr\": {",
		(unsigned long long)g.requests, (unsigned long long)g.connections);
	for (unsigned i = 0; i < g.naddrs; i++) {
		char a[INET6_ADDRSTRLEN];

		laddr_str(&g.addrs[i], a, sizeof(a));
		fprintf(f, "%s\"%s\": %llu", i ? ", " : "", a,
			(unsigned long long)g.addr_requests[i]);
	}
	fprintf(f, "}, \"static\": %llu, \"static_by_addr\": {",
		(unsigned long long)g.statics);
	for (unsigned i = 0, n = 0; i < g.naddrs; i++) {
		char a[INET6_ADDRSTRLEN];

		if (!g.addr_statics[i])
			continue;
		laddr_str(&g.addrs[i], a, sizeof(a));
		fprintf(f, "%s\"%s\": %llu", n++ ? ", " : "", a,
			(unsigned long long)g.addr_statics[i]);
	}
	fputs("}}", f);
	fclose(f);
	p = body ? body : "{}";
	ok = set_response(c, 200, "application/json", p);
	free(body);
	return ok;
}

/* Starts the reply to the request in c->in (its path after the delay). */
static void respond(struct conn *c)
{
	char path[REQ_MAX] = "", method[16] = "", load[TEXT_MAX];
	const struct conf *cf = &c->cf;
	bool get;
	unsigned ai;

	sscanf(c->in, "%15s %8191s", method, path);
	path[strcspn(path, "?#")] = '\0';
	get = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	g.requests++;
	ai = addr_index(&c->local);
	if (ai < MAX_ADDRS)
		g.addr_requests[ai]++;

	switch (cf->mode) {
	case M_GARBAGE:
		/* random bytes, the first one not ASCII so nothing can take
		 * it for a status line, not even an HTTP/0.9 one */
		free(c->out);
		c->out = malloc(GARBAGE_LEN);
		if (!c->out) {
			conn_close(c);
			return;
		}
		for (int i = 0; i < GARBAGE_LEN; i++) {
			g.rng ^= g.rng << 13;
			g.rng ^= g.rng >> 7;
			g.rng ^= g.rng << 17;
			c->out[i] = g.rng >> 32;
		}
		c->out[0] |= 0x80;
		c->outlen = GARBAGE_LEN;
		c->outoff = 0;
		goto send;
	case M_HUGE:
		free(c->out);
		if (asprintf(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			     "Content-Length: %llu\r\nConnection: close\r\n\r\n", HUGE_LEN) < 0) {
			c->out = NULL;
			conn_close(c);
			return;
		}
		c->outlen = strlen(c->out);
		c->outoff = 0;
		c->huge_left = c->head ? 0 : HUGE_LEN;
		c->huge_end = now_ms() + cf->huge_s * 1000LL;
		c->deadline = c->huge_end;
		c->st = C_HUGE;
		conn_watch(c, EPOLLOUT);
		return;
	default:
		break;
	}

	if (get && !strcmp(path, "/health")) {
		set_response(c, cf->status, "text/plain", cf->body);
	} else if (get && !strcmp(path, "/load")) {
		if (cf->load_body_set)
			snprintf(load, sizeof(load), "%s", cf->load_body);
		else	/* byte for byte steer-agent's format */
			snprintf(load, sizeof(load),
				 "{\"cpu\": %.3f, \"load1\": %.2f, \"load5\": %.2f, "
				 "\"load15\": %.2f, \"conns\": %ld, \"ncpu\": %ld, "
				 "\"interval_ms\": 1000}",
				 cf->cpu, cf->load1, cf->load5, cf->load15,
				 cf->conns, cf->ncpu);
		set_response(c, 200, "application/json", load);
	} else if (get && !strncmp(path, "/static/", 8)) {
		char a[INET6_ADDRSTRLEN], *body = NULL;

		laddr_str(&c->local, a, sizeof(a));
		if (asprintf(&body, "%s %s\n", a, path) >= 0) {
			set_response_x(c, 200, "text/plain",
				       "Cache-Control: max-age=60\r\n", body);
			free(body);
		}
		g.statics++;
		if (ai < MAX_ADDRS)
			g.addr_statics[ai]++;
	} else {
		set_response(c, 404, "text/plain", "not found\n");
	}
	if (!c->out) {
		conn_close(c);
		return;
	}
	if (cf->mode == M_SLOW) {
		c->st = C_SLOW;
		c->deadline = now_ms();	/* the first byte right away */
		conn_watch(c, 0);
		return;
	}
send:
	c->st = C_SEND;
	c->deadline = now_ms() + READ_MS;	/* a client that stops reading */
	conn_watch(c, EPOLLOUT);
}

/* The request head is in c->in: /stats now, the rest after the delay. */
static void got_request(struct conn *c)
{
	char method[16] = "", path[32] = "";

	if (g.verbose)
		msg("%s: %.*s mode=%s", c->peer, (int)strcspn(c->in, "\r\n"), c->in,
		    mode_names[c->cf.mode]);
	c->head = !strncmp(c->in, "HEAD ", 5);
	/* keep-alive for HTTP/1.1 normal replies the client did not close */
	c->keep = c->cf.keepalive && (c->cf.mode == M_NORMAL || c->cf.mode == M_SLOW) &&
		  strstr(c->in, " HTTP/1.1\r\n") && !strcasestr(c->in, "\nconnection: close");
	if (sscanf(c->in, "%15s %31s", method, path) == 2 &&
	    (!strcmp(method, "GET") || !strcmp(method, "HEAD")) &&
	    (!strcmp(path, "/stats") || !strncmp(path, "/stats?", 7))) {
		if (!stats_response(c)) {
			conn_close(c);
			return;
		}
		c->st = C_SEND;
		c->deadline = now_ms() + READ_MS;
		conn_watch(c, EPOLLOUT);
		return;
	}
	if (c->cf.mode == M_HANG) {
		c->st = C_HANG;
		c->deadline = 0;
		conn_watch(c, EPOLLIN);
		return;
	}
	if (c->cf.delay_ms) {
		c->st = C_WAIT;
		c->deadline = now_ms() + c->cf.delay_ms;
		/* Not even EPOLLRDHUP: a client may half-close after its
		 * request and still wait for the reply.  One that left is
		 * found when we write. */
		conn_watch(c, 0);
		return;
	}
	respond(c);
}

static void on_read(struct conn *c)
{
	ssize_t n;

	for (;;) {
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
		if (n <= 0)
			break;
		c->inlen += n;
		c->in[c->inlen] = '\0';
		if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
			got_request(c);
			return;
		}
		if (c->inlen == sizeof(c->in) - 1) {
			if (c->cf.mode == M_HANG) {
				c->st = C_HANG;	/* no answer, even to this */
				c->deadline = 0;
				return;
			}
			if (!set_response(c, 431, "text/plain", "request head too long\n")) {
				conn_close(c);
				return;
			}
			c->st = C_SEND;
			c->deadline = now_ms() + READ_MS;
			conn_watch(c, EPOLLOUT);
			return;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

/* mode=huge: the head, then the body as fast as the client takes it. */
static void huge_write(struct conn *c)
{
	static char chunk[65536];

	if (!conn_flush(c)) {
		conn_close(c);
		return;
	}
	if (c->outoff < c->outlen)
		return;
	if (!chunk[0])
		memset(chunk, 'x', sizeof(chunk));
	while (c->huge_left) {
		size_t len = c->huge_left < sizeof(chunk) ? c->huge_left : sizeof(chunk);
		ssize_t n = send(c->fd, chunk, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_close(c);
			return;
		}
		c->huge_left -= n;
	}
	conn_linger(c);
}

static void on_event(struct conn *c, uint32_t ev)
{
	switch (c->st) {
	case C_READ:
		if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
			on_read(c);
		break;
	case C_HANG:
	case C_LINGER:
		if (!conn_drain(c))
			conn_close(c);
		break;
	case C_WAIT:
	case C_SLOW:
		/* only EPOLLERR or EPOLLHUP come here */
		conn_close(c);
		break;
	case C_SEND:
		if (!conn_flush(c))
			conn_close(c);
		else if (c->outoff == c->outlen)
			conn_next(c);
		break;
	case C_HUGE:
		huge_write(c);
		break;
	}
}

static void on_deadline(struct conn *c, int64_t now)
{
	switch (c->st) {
	case C_WAIT:
		respond(c);
		break;
	case C_SLOW:
		if (send(c->fd, c->out + c->outoff, 1, MSG_NOSIGNAL) != 1) {
			conn_close(c);
			break;
		}
		if (++c->outoff == c->outlen)
			conn_next(c);
		else
			c->deadline = now + SLOW_MS;
		break;
	default:
		/* READ, SEND, HUGE, LINGER: out of time */
		if (g.verbose)
			msg("%s: closed after %s", c->peer,
			    c->st == C_HUGE ? "huge_s" : "a timeout");
		if (c->st == C_HUGE) {
			/* cut the transfer short (a reset), rather than
			 * let the megabytes still queued trickle out */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		conn_close(c);
		break;
	}
}

/* ---- listening ---- */

static void accepting(bool on)
{
	for (unsigned i = 0; i < g.nls; i++) {
		struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &g.ls[i] };

		if (g.ls[i].fd >= 0)
			epoll_ctl(g.ep, EPOLL_CTL_MOD, g.ls[i].fd, &ev);
	}
}

static void on_accept(struct listener *l)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev;
		struct conn *c;
		int fd, one = 1;
		char a[INET6_ADDRSTRLEN];

		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* the pending connection stays readable:
				 * stop polling for it a moment, not spin */
				msg("accept: %s, pausing 100 ms", strerror(errno));
				accepting(false);
				g.accept_resume = now_ms() + 100;
			}
			return;
		}
		g.connections++;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->kind = K_CONN;
		c->fd = fd;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (void *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			snprintf(c->peer, sizeof(c->peer), "[%s]:%u", a, ntohs(s6->sin6_port));
		} else {
			struct sockaddr_in *s4 = (void *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
			snprintf(c->peer, sizeof(c->peer), "%s:%u", a, ntohs(s4->sin_port));
		}
		sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		c->local.family = ss.ss_family;
		if (ss.ss_family == AF_INET6)
			memcpy(c->local.a, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		else
			memcpy(c->local.a, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		conf_load(&c->cf, &c->local);
		if (c->cf.mode == M_REFUSE) {
			/* always a reset: a plain close would be a FIN, or a
			 * reset if the request was already in, by chance */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			if (g.verbose)
				msg("%s: refused", c->peer);
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			free(c);
			continue;
		}
		/* mode=slow's single bytes must leave at once */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->st = C_READ;
		c->deadline = c->cf.mode == M_HANG ? 0 : now_ms() + READ_MS;
		ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = g.conns;
		if (g.conns)
			g.conns->prev = c;
		g.conns = c;
		g.nconns++;
	}
}

/* "A.B.C.D:PORT" or "[V6]:PORT" */
static int parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port, *sep;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	bool v6 = spec[0] == '[';
	size_t hl;
	long p;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		sep = strchr(spec, ']');
		if (!sep || sep[1] != ':')
			return -1;
		hl = sep - spec - 1;
		port = sep + 2;
		spec++;
	} else {
		sep = strrchr(spec, ':');
		if (!sep)
			return -1;
		hl = sep - spec;
		port = sep + 1;
	}
	if (hl >= sizeof(host) || !parse_long(port, 0, 65535, &p) || *port == '+')
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (v6 && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*sl = sizeof(*s6);
	} else if (!v6 && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*sl = sizeof(*s4);
	} else {
		return -1;
	}
	return 0;
}

static int open_listener(struct listener *l)
{
	struct sockaddr_storage ss;
	struct epoll_event ev;
	socklen_t sl;
	char a[INET6_ADDRSTRLEN];
	int one = 1;

	l->kind = K_LISTEN;
	if (parse_addr(l->spec, &ss, &sl) < 0) {
		msg("bad listen address '%s' (ADDR:PORT or [ADDR]:PORT)", l->spec);
		return -1;
	}
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		if (l->optional && errno == EAFNOSUPPORT)
			return 0;
		msg("socket for %s: %s", l->spec, strerror(errno));
		return -1;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] and 0.0.0.0 on the same port are two listeners */
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, sl) < 0 || listen(l->fd, 1024) < 0) {
		int err = errno;

		close(l->fd);
		l->fd = -1;
		if (l->optional && err == EADDRNOTAVAIL)
			return 0;
		msg("cannot listen on %s: %s", l->spec, strerror(err));
		return -1;
	}
	sl = sizeof(ss);
	getsockname(l->fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
		msg("listening on [%s]:%u", a, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
		msg("listening on %s:%u", a, ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = l };
	return epoll_ctl(g.ep, EPOLL_CTL_ADD, l->fd, &ev);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ps-origin -s STATEFILE [-l ADDR:PORT]... [-v]\n"
		"  -s, --state FILE        behaviour, read at every connection (see source)\n"
		"  -l, --listen ADDR:PORT  IPv6 as [ADDR]:PORT; repeat for more\n"
		"                          (default 0.0.0.0:80 and [::]:80)\n"
		"  -v, --verbose           log every request\n"
		"  -h, --help              this text\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct { enum kind kind; int fd; } sig = { K_SIGNAL, -1 };
	struct epoll_event evs[64], ev;
	struct rlimit rl;
	sigset_t set;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:l:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			g.state_path = optarg;
			break;
		case 'l':
			if (g.nls == MAX_LISTEN) {
				msg("at most %d listen addresses", MAX_LISTEN);
				return 2;
			}
			g.ls[g.nls++] = (struct listener){ .spec = optarg, .fd = -1 };
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!g.state_path || optind < argc) {
		msg(!g.state_path ? "-s STATEFILE is required" : "unexpected argument");
		usage(stderr);
		return 2;
	}
	for (unsigned i = 0; i < g.nls; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (parse_addr(g.ls[i].spec, &ss, &sl) < 0) {
			msg("bad listen address '%s' (ADDR:PORT or [ADDR]:PORT)", g.ls[i].spec);
			usage(stderr);
			return 2;
		}
	}
	if (!g.nls) {
		g.ls[g.nls++] = (struct listener){ .spec = "0.0.0.0:80", .optional = true, .fd = -1 };
		g.ls[g.nls++] = (struct listener){ .spec = "[::]:80", .optional = true, .fd = -1 };
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* hundreds of hanging clients are the point: take all the fds we may */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	g.rng = (uint64_t)now_ms() * 6364136223846793005ULL ^ getpid() ^ 0x9e3779b97f4a7c15ULL;

	g.ep = epoll_create1(EPOLL_CLOEXEC);
	sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &sig };
	if (g.ep < 0 || sig.fd < 0 || epoll_ctl(g.ep, EPOLL_CTL_ADD, sig.fd, &ev) < 0) {
		msg("epoll/signalfd: %s", strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < g.nls; i++)
		if (open_listener(&g.ls[i]) < 0)
			return 1;

	for (;;) {
		int64_t now = now_ms(), next = -1;
		int n, timeout = -1;

		for (struct conn *c = g.conns; c; c = c->next)
			if (c->deadline && (next < 0 || c->deadline < next))
				next = c->deadline;
		if (g.accept_resume && (next < 0 || g.accept_resume < next))
			next = g.accept_resume;
		if (next >= 0)
			timeout = next > now ? (int)(next - now) : 0;

		n = epoll_wait(g.ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			msg("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			enum kind *k = evs[i].data.ptr;

			if (*k == K_SIGNAL) {
				struct signalfd_siginfo si;

				if (read(sig.fd, &si, sizeof(si)) == sizeof(si)) {
					msg("%s, exiting", strsignal(si.ssi_signo));
					while (g.conns)
						conn_close(g.conns);
					return 0;
				}
			} else if (*k == K_LISTEN) {
				on_accept((struct listener *)k);
			} else {
				/* never a connection freed earlier in this
				 * batch: a batch has one event per fd, and a
				 * handler only ever closes its own */
				on_event((struct conn *)k, evs[i].events);
			}
		}
		now = now_ms();
		if (g.accept_resume && now >= g.accept_resume) {
			g.accept_resume = 0;
			accepting(true);
		}
		for (struct conn *c = g.conns, *nx; c; c = nx) {
			nx = c->next;
			if (c->deadline && c->deadline <= now)
				on_deadline(c, now);
		}
	}
}
