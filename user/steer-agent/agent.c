// SPDX-License-Identifier: GPL-2.0-only
/*
 * steer-agent: serves this host's load to steerd's probes, as JSON over HTTP.
 *
 *   steer-agent [-l ADDR:PORT]... [-i INTERVAL_MS] [-o FILE] [-h]
 *
 *   GET /load (or /) -> {"cpu": 0.423, "load1": 1.50, "load5": 1.20,
 *                        "load15": 0.90, "conns": 1234, "ncpu": 2,
 *                        "interval_ms": 1000}
 *
 * -o FILE: while FILE exists, its "key=value" lines (cpu 0..1, load1,
 * load5, load15, conns) replace the measured figures and the reply says
 * "override": true -- an operator reports a load by hand (cpu=1 steers
 * new clients away during maintenance), and test networks give hosts
 * that share one CPU different loads.  Read at every sample.
 *
 * The main thread samples /proc every interval and formats the body once;
 * requests (libmicrohttpd, one internal epoll thread per listen address)
 * only copy it.  So a flood of probes costs no /proc reads, and every
 * client sees the same figures for a whole interval.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <microhttpd.h>

#define DEFAULT_PORT		9100
#define DEFAULT_INTERVAL_MS	1000
#define MIN_INTERVAL_MS		100	/* /proc/stat counts 10 ms ticks */
#define MAX_INTERVAL_MS		600000
#define MAX_LISTEN		16
#define MAX_CONNS		1024	/* per listen address: bounds memory */
#define CONN_MEMORY		(16 * 1024)	/* per connection; requests are tiny */
#define CONN_TIMEOUT_S		10	/* idle or slow clients are dropped */
#define BODY_MAX		256

static struct {
	pthread_mutex_t lock;
	char body[BODY_MAX];
	size_t len;
} snap = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned interval_ms = DEFAULT_INTERVAL_MS;
static const char *override_path;

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("steer-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- sampling ---- */

struct cpu_ticks {
	unsigned long long busy, total;
};

/* Aggregate "cpu" line of /proc/stat.  Idle time is idle + iowait: a CPU
 * waiting for I/O could run something else.  guest and guest_nice are left
 * out because user and nice already include them. */
static int read_cpu(struct cpu_ticks *t)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return -1;
	t->total = 0;
	for (int i = 0; i < 8; i++)
		t->total += v[i];
	t->busy = t->total - v[3] - v[4];
	return 0;
}

/* Established TCP sockets ("st" field 01) in one /proc/net/tcp* table of
 * our network namespace.  A missing table (no IPv6) counts none. */
static long count_established(const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	if (!f)
		return 0;
	/* the first line is the header */
	if (getline(&line, &cap, f) > 0) {
		while (getline(&line, &cap, f) > 0) {
			/* "sl local_address rem_address st ...": skip three fields */
			char *p = line;

			for (int field = 0; field < 4; field++) {
				p += strspn(p, " ");
				if (field < 3)
					p += strcspn(p, " ");
			}
			if (p[0] == '0' && p[1] == '1' && p[2] == ' ')
				n++;
		}
	}
	free(line);
	fclose(f);
	return n;
}

/* The override file's figures over the measured ones; true if it exists.
 * A line that is not KEY=NUMBER in range is ignored (and said once). */
static bool override(double *cpu, double *l1, double *l5, double *l15,
		     long *conns)
{
	static bool warned;
	char line[128];
	FILE *f;

	if (!override_path || !(f = fopen(override_path, "re")))
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *end;
		double v;

		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (eq) {
			*eq = 0;
			errno = 0;
			v = strtod(eq + 1, &end);
			if (eq[1] && !*end && !errno && v >= 0 && v < 1e9) {
				if (!strcmp(line, "cpu") && v <= 1) {
					*cpu = v;
					continue;
				}
				if (!strcmp(line, "load1")) { *l1 = v; continue; }
				if (!strcmp(line, "load5")) { *l5 = v; continue; }
				if (!strcmp(line, "load15")) { *l15 = v; continue; }
				if (!strcmp(line, "conns") && v == (long)v) {
					*conns = v;
					continue;
				}
			}
			*eq = '=';
		}
		if (!warned)
			msg("%s: ignoring '%s' (cpu=0..1, load1=, load5=, load15=, conns=)",
			    override_path, line);
		warned = true;
	}
	fclose(f);
	return true;
}

/* Takes the figures that need no delta, formats the body with the CPU
 * fraction over [prev, now] and publishes it. */
static void publish(const struct cpu_ticks *prev, const struct cpu_ticks *now)
{
	static double cpu;	/* kept when no tick elapsed */
	double l1 = 0, l5 = 0, l15 = 0;
	char body[BODY_MAX];
	long conns, ncpu;
	FILE *f;
	int len;

	/* counters only grow, but iowait is known to step back: clamp */
	if (now->total > prev->total) {
		unsigned long long dt = now->total - prev->total;
		unsigned long long db = now->busy > prev->busy ? now->busy - prev->busy : 0;

		cpu = db >= dt ? 1.0 : (double)db / (double)dt;
	}
	f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
			l1 = l5 = l15 = 0;
		fclose(f);
	}
	conns = count_established("/proc/net/tcp") +
		count_established("/proc/net/tcp6");
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);	/* CPUs can be hot-plugged */
	if (ncpu < 1)
		ncpu = 1;
	double ocpu = cpu;
	bool over = override(&ocpu, &l1, &l5, &l15, &conns);

	len = snprintf(body, sizeof(body),
		       "{\"cpu\": %.3f, \"load1\": %.2f, \"load5\": %.2f, "
		       "\"load15\": %.2f, \"conns\": %ld, \"ncpu\": %ld, "
		       "\"interval_ms\": %u%s}",
		       ocpu, l1, l5, l15, conns, ncpu, interval_ms,
		       over ? ", \"override\": true" : "");
	pthread_mutex_lock(&snap.lock);
	memcpy(snap.body, body, len + 1);
	snap.len = len;
	pthread_mutex_unlock(&snap.lock);
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	/* a cached figure would steer on stale load */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* MHD calls this once with the headers, then for each piece of request
 * body, then once more at the end.  A wrong method is answered at once, so
 * its body is never read (MHD closes the connection after the reply).  A
 * GET is answered at the end, which lets MHD keep the connection alive for
 * the probe's next request. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	static const char not_found[] = "{\"error\": \"not found\"}";
	static const char not_allowed[] = "{\"error\": \"method not allowed\"}";
	char body[BODY_MAX];
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed,
			     sizeof(not_allowed) - 1);
	if (!*req_cls) {
		*req_cls = c;	/* any non-NULL mark: headers seen */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;	/* a GET body means nothing: drop it */
		return MHD_YES;
	}
	if (strcmp(url, "/load") && strcmp(url, "/"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1);
	pthread_mutex_lock(&snap.lock);
	len = snap.len;
	memcpy(body, snap.body, len);
	pthread_mutex_unlock(&snap.lock);
	return reply(c, MHD_HTTP_OK, body, len);
}

/* MHD reports every malformed request; a scanner must not flood the log,
 * so at most LOG_BURST lines a minute, then a count of those dropped. */
#define LOG_BURST 20
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t window;
	static unsigned printed, dropped;
	time_t now = time(NULL);
	char line[512];
	size_t n;

	pthread_mutex_lock(&lock);
	if (now - window >= 60) {
		if (dropped)
			msg("%u more HTTP server messages dropped", dropped);
		window = now;
		printed = dropped = 0;
	}
	if (printed < LOG_BURST) {
		printed++;
		vsnprintf(line, sizeof(line), fmt, ap);
		n = strlen(line);
		while (n && line[n - 1] == '\n')
			line[--n] = '\0';
		msg("%s", line);
	} else {
		dropped++;
	}
	pthread_mutex_unlock(&lock);
}

/* ---- listening ---- */

struct listener {
	const char *spec;
	bool optional;		/* a default: skipped if the family is missing */
	int fd;
	struct MHD_Daemon *d;
};

/* "A.B.C.D:PORT" or "[V6]:PORT" -> address; numeric only. */
static int parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	unsigned long p;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return -1;
		hl = close - spec - 1;
		port = close + 2;
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		*sl = sizeof(*s6);
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -1;
		hl = colon - spec;
		port = colon + 1;
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		*sl = sizeof(*s4);
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535 || *port == '-' || *port == '+')
		return -1;
	if (ss->ss_family == AF_INET6)
		s6->sin6_port = htons(p);
	else
		s4->sin_port = htons(p);
	return 0;
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

/* We bind the sockets ourselves, not MHD: the IPv6 one must be v6-only so
 * that 0.0.0.0 and [::] can share the port, and a failure should name the
 * address.  Returns 1 for a skipped optional listener. */
static int open_listener(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char name[INET6_ADDRSTRLEN + 8];
	int one = 1;

	if (parse_addr(l->spec, &ss, &sl) < 0) {
		msg("bad listen address '%s' (ADDR:PORT or [ADDR]:PORT)", l->spec);
		return -1;
	}
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		if (l->optional && errno == EAFNOSUPPORT)
			return 1;
		msg("socket for %s: %s", l->spec, strerror(errno));
		return -1;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, sl) < 0 || listen(l->fd, 511) < 0) {
		int err = errno;

		close(l->fd);
		l->fd = -1;
		/* default [::] on a host without IPv6 addresses */
		if (l->optional && err == EADDRNOTAVAIL)
			return 1;
		msg("cannot listen on %s: %s", l->spec, strerror(err));
		return -1;
	}
	sl = sizeof(ss);
	getsockname(l->fd, (struct sockaddr *)&ss, &sl);
	addr_str(&ss, name, sizeof(name));
	msg("listening on %s", name);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: steer-agent [-l ADDR:PORT]... [-i INTERVAL_MS] [-o FILE] [-h]\n"
		"  -l, --listen ADDR:PORT    listen address, IPv6 as [ADDR]:PORT; repeat\n"
		"                            for more (default 0.0.0.0:9100 and [::]:9100)\n"
		"  -i, --interval MS         sampling interval, %u..%u (default %u)\n"
		"  -o, --override FILE       while FILE exists, its cpu=, load1=, load5=,\n"
		"                            load15=, conns= lines replace what is measured\n"
		"  -h, --help                this text\n"
		"Serves GET /load (and /): this host's load as JSON.\n",
		MIN_INTERVAL_MS, MAX_INTERVAL_MS, DEFAULT_INTERVAL_MS);
}

static struct timespec ts_add_ms(struct timespec t, unsigned ms)
{
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/* Waits until the monotonic time 'until' or a blocked signal in 'set';
 * returns the signal, or 0 when the time came. */
static int wait_until(const sigset_t *set, struct timespec until)
{
	for (;;) {
		struct timespec now, left;
		int sig;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = until.tv_sec - now.tv_sec;
		left.tv_nsec = until.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000;
		}
		if (left.tv_sec < 0)
			return 0;
		sig = sigtimedwait(set, NULL, &left);
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			return 0;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "override", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct listener ls[MAX_LISTEN];
	unsigned nls = 0, nopen = 0, limit;
	struct cpu_ticks prev, now;
	struct timespec next;
	struct rlimit rl;
	sigset_t set;
	int opt, sig, rc = 1;

	while ((opt = getopt_long(argc, argv, "l:i:o:h", longopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (opt) {
		case 'l':
			if (nls == MAX_LISTEN) {
				msg("at most %d listen addresses", MAX_LISTEN);
				return 2;
			}
			ls[nls++] = (struct listener){ .spec = optarg, .fd = -1 };
			break;
		case 'i':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || *optarg == '-' ||
			    v < MIN_INTERVAL_MS || v > MAX_INTERVAL_MS) {
				msg("bad interval '%s'", optarg);
				usage(stderr);
				return 2;
			}
			interval_ms = v;
			break;
		case 'o':
			override_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		msg("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!nls) {
		ls[nls++] = (struct listener){ .spec = "0.0.0.0:9100", .optional = true, .fd = -1 };
		ls[nls++] = (struct listener){ .spec = "[::]:9100", .optional = true, .fd = -1 };
	}
	/* a bad address is a usage error, found before anything is opened */
	for (unsigned i = 0; i < nls; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (parse_addr(ls[i].spec, &ss, &sl) < 0) {
			msg("bad listen address '%s' (ADDR:PORT or [ADDR]:PORT)", ls[i].spec);
			usage(stderr);
			return 2;
		}
	}

	/* Blocked in every thread (MHD's inherit the mask): only the main
	 * thread takes them, in sigtimedwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* room for MAX_CONNS per address */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);

	for (unsigned i = 0; i < nls; i++) {
		int r = open_listener(&ls[i]);

		if (r < 0)
			goto out;
		nopen += r == 0;
	}
	if (!nopen) {
		msg("no address to listen on");
		goto out;
	}
	/* MHD refuses connections beyond the limit instead of failing in
	 * accept() with EMFILE; a few fds stay for /proc and MHD itself */
	limit = rl.rlim_cur > 64 + nopen ? (rl.rlim_cur - 32) / nopen : 16;
	if (limit > MAX_CONNS)
		limit = MAX_CONNS;

	/* A first figure over a short window, so that /load is never served
	 * before there is a CPU delta to report. */
	if (read_cpu(&prev) < 0) {
		msg("cannot read /proc/stat");
		goto out;
	}
	now = prev;	/* read_cpu() leaves it alone on failure */
	clock_gettime(CLOCK_MONOTONIC, &next);
	sig = wait_until(&set, ts_add_ms(next, interval_ms < 200 ? interval_ms : 200));
	if (sig)
		goto out_sig;
	read_cpu(&now);
	publish(&prev, &now);
	prev = now;

	for (unsigned i = 0; i < nls; i++) {
		if (ls[i].fd < 0)
			continue;
		ls[i].d = MHD_start_daemon(
			MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0,
			NULL, NULL, handle, NULL,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			MHD_OPTION_LISTEN_SOCKET, ls[i].fd,
			MHD_OPTION_CONNECTION_LIMIT, limit,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
			MHD_OPTION_END);
		if (!ls[i].d) {
			msg("cannot start the HTTP server on %s", ls[i].spec);
			goto out;
		}
		ls[i].fd = -1;	/* MHD's now: closed by MHD_stop_daemon */
	}
	msg("serving, interval %u ms", interval_ms);

	/* Each wait starts after the previous sample: the cadence drifts by
	 * the sampling time, which matters less than never sampling back to
	 * back to catch up after a stall (a stopped process, a suspend). */
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &next);
		sig = wait_until(&set, ts_add_ms(next, interval_ms));
		if (sig)
			break;
		read_cpu(&now);
		publish(&prev, &now);
		prev = now;
	}
out_sig:
	msg("%s, exiting", strsignal(sig));
	rc = 0;
out:
	for (unsigned i = 0; i < nls; i++) {
		if (ls[i].d)
			MHD_stop_daemon(ls[i].d);
		if (ls[i].fd >= 0)
			close(ls[i].fd);
	}
	return rc;
}
