// SPDX-License-Identifier: GPL-2.0-only
/*
 * Output: errors (bpftool style: "Error: ..." on stderr, and with -j also
 * {"error": "..."} on stdout), JSON, and plain tables and records described
 * by column tables.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "steerctl.h"

#define ARRAY_SIZE(a)	((int)(sizeof(a) / sizeof((a)[0])))
#define CELL_MAX	512

static const struct ctx *octx;
static bool was_usage, reported;

void out_init(const struct ctx *c)
{
	octx = c;
}

static void report(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "Error: %s\n", msg);
	if (octx && octx->json) {
		json_t *j = json_pack("{s:s}", "error", msg);

		out_json(j);
		json_decref(j);
	}
	reported = true;
}

int fail(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	return rc < 0 ? rc : -EIO;
}

int usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	was_usage = true;
	return -EINVAL;
}

bool usage_failed(void)
{
	return was_usage;
}

bool error_reported(void)
{
	return reported;
}

void out_json(json_t *data)
{
	size_t flags = JSON_ENCODE_ANY | (octx && octx->pretty ?
					  JSON_INDENT(2) : JSON_COMPACT);

	if (data)
		json_dumpf(data, stdout, flags);
	else
		fputs("null", stdout);
	putchar('\n');
}

/* ---- cells ------------------------------------------------------------------ */

enum col_kind {
	C_VAL,		/* a scalar */
	C_COUNT,	/* how many elements an array has */
	C_LIST,		/* an array: joined in tables, a line each in records */
	C_SERVERS,	/* servers: "ADDR weight N" */
	C_SECONDS,	/* a number of seconds: "N s" */
	C_PERCENT,	/* a fraction shown as "12.5%" */
	C_METRIC,	/* {"last": x, "smooth": y}: "y (last x)" */
};

struct col {
	const char *head;	/* table header, record label */
	const char *key;	/* path in the object: "soa.serial" */
	enum col_kind kind;
	bool opt;		/* records: no line when absent or null */
};

static json_t *get(json_t *obj, const char *path)
{
	char buf[64], *seg, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg && obj;
	     seg = strtok_r(NULL, ".", &save))
		obj = json_object_get(obj, seg);
	return obj;
}

static void scalar(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.4g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_object(v) && json_object_get(v, "address"))
		snprintf(buf, len, "%s weight %lld state %s health %s share %.1f%%",
			 json_string_value(json_object_get(v, "address")),
			 (long long)json_integer_value(json_object_get(v, "weight")),
			 json_string_value(json_object_get(v, "state")),
			 json_string_value(json_object_get(v, "health")),
			 100 * json_number_value(json_object_get(v, "share")));
	else
		snprintf(buf, len, "-");
}

/* One cell of a table row (arrays joined with ",") */
static void cell(json_t *row, const struct col *c, char *buf, size_t len)
{
	json_t *v = get(row, c->key), *e;
	size_t used = 0, i;

	if (c->kind == C_COUNT) {
		snprintf(buf, len, "%zu", json_array_size(v));
		return;
	}
	if (c->kind == C_SECONDS && json_is_integer(v)) {
		snprintf(buf, len, "%lld s", (long long)json_integer_value(v));
		return;
	}
	if (c->kind == C_PERCENT && json_is_number(v)) {
		snprintf(buf, len, "%.1f%%", 100 * json_number_value(v));
		return;
	}
	if (c->kind == C_METRIC && json_is_object(v)) {
		snprintf(buf, len, "%.4g (last %.4g)",
			 json_number_value(json_object_get(v, "smooth")),
			 json_number_value(json_object_get(v, "last")));
		return;
	}
	if (json_is_string(v) && !json_string_length(v)) {
		snprintf(buf, len, "-");
		return;
	}
	if (!json_is_array(v)) {
		scalar(v, buf, len);
		return;
	}
	snprintf(buf, len, "-");
	json_array_foreach(v, i, e) {
		char one[CELL_MAX];

		scalar(e, one, sizeof(one));
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s%s", i ? "," : "", one);
	}
}

/* ---- tables and records -------------------------------------------------------- */

static void table(json_t *rows, const struct col *cols, int ncols)
{
	int w[16] = { 0 };
	char buf[CELL_MAX];
	json_t *r;
	size_t i;

	if (!json_array_size(rows))
		return;
	for (int c = 0; c < ncols; c++)
		w[c] = strlen(cols[c].head);
	json_array_foreach(rows, i, r)
		for (int c = 0; c < ncols; c++) {
			cell(r, &cols[c], buf, sizeof(buf));
			if ((int)strlen(buf) > w[c])
				w[c] = strlen(buf);
		}
	for (int c = 0; c < ncols; c++)
		printf("%-*s%s", c + 1 < ncols ? w[c] : 0, cols[c].head,
		       c + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, r)
		for (int c = 0; c < ncols; c++) {
			cell(r, &cols[c], buf, sizeof(buf));
			printf("%-*s%s", c + 1 < ncols ? w[c] : 0, buf,
			       c + 1 < ncols ? "  " : "\n");
		}
}

/* "label value" lines; arrays take a line per element */
static void record(json_t *obj, const struct col *cols, int ncols)
{
	char buf[CELL_MAX];

	for (int c = 0; c < ncols; c++) {
		json_t *v = get(obj, cols[c].key), *e;
		size_t i;

		if (cols[c].opt && (!v || json_is_null(v)))
			continue;

		if (cols[c].kind != C_LIST && cols[c].kind != C_SERVERS) {
			cell(obj, &cols[c], buf, sizeof(buf));
			printf("%-12s %s\n", cols[c].head, buf);
			continue;
		}
		if (!json_array_size(v))
			printf("%-12s -\n", cols[c].head);
		json_array_foreach(v, i, e) {
			scalar(e, buf, sizeof(buf));
			printf("%-12s %s\n", i ? "" : cols[c].head, buf);
		}
	}
}

/* ---- per object ----------------------------------------------------------------- */

#define TABLE(fn, ...)							\
void fn(json_t *d)							\
{									\
	static const struct col cols[] = { __VA_ARGS__ };		\
	table(d, cols, ARRAY_SIZE(cols));				\
}
#define RECORD(fn, ...)							\
void fn(json_t *d)							\
{									\
	static const struct col cols[] = { __VA_ARGS__ };		\
	record(d, cols, ARRAY_SIZE(cols));				\
}

RECORD(print_status,
	{ "version", "version" }, { "pid", "pid" },
	{ "uptime", "uptime_s", C_SECONDS }, { "config", "config" },
	{ "state_file", "state_file" }, { "pin_dir", "pin_dir" },
	{ "zones", "zones" }, { "pools", "pools" }, { "names", "names" },
	{ "vips", "vips" }, { "interfaces", "interfaces", C_LIST },
	{ "store", "store.endpoint", C_VAL, true }, { "store name", "store.name", C_VAL, true },
	{ "store reachable", "store.reachable", C_VAL, true },
	{ "store peers", "store.peers", C_LIST, true },
	{ "store config revision", "store.config_revision", C_VAL, true },
	{ "store error", "store.error", C_VAL, true },
	{ "store config error", "store.config_error", C_VAL, true })

TABLE(print_zones,
	{ "ZONE", "name" }, { "TTL", "ttl" }, { "SERIAL", "soa.serial" },
	{ "NS", "ns", C_LIST }, { "NAMES", "names", C_COUNT },
	{ "SOURCE", "source" })

RECORD(print_zone,
	{ "zone", "name" }, { "source", "source" }, { "ttl", "ttl" },
	{ "mname", "soa.mname" }, { "rname", "soa.rname" },
	{ "serial", "soa.serial" }, { "refresh", "soa.refresh" },
	{ "retry", "soa.retry" }, { "expire", "soa.expire" },
	{ "minimum", "soa.minimum" }, { "ns", "ns", C_LIST },
	{ "names", "names", C_LIST })

TABLE(print_pools,
	{ "POOL", "name" }, { "ANSWERS", "answers" }, { "POLICY", "policy" },
	{ "FALLBACK", "fallback" }, { "TTL", "ttl" },
	{ "SERVERS", "servers", C_COUNT }, { "NAMES", "names", C_COUNT },
	{ "SOURCE", "source" })

RECORD(print_pool,
	{ "pool", "name" }, { "source", "source" },
	{ "answers", "answers" }, { "policy", "policy" },
	{ "select", "select" }, { "fallback", "fallback" },
	{ "backup", "backup" }, { "threshold", "threshold" },
	{ "margin", "margin" }, { "serving v4", "serving.ipv4" },
	{ "serving v6", "serving.ipv6" },
	{ "prefix4", "hash_prefix4" }, { "prefix6", "hash_prefix6" },
	{ "ttl", "ttl" }, { "servers", "servers", C_SERVERS },
	{ "names", "names", C_LIST })

TABLE(print_names,
	{ "NAME", "name" }, { "ZONE", "zone" }, { "POOL", "pool" },
	{ "TTL", "ttl" }, { "SOURCE", "source" })

RECORD(print_name,
	{ "name", "name" }, { "zone", "zone" }, { "pool", "pool" },
	{ "ttl", "ttl" }, { "source", "source" })

TABLE(print_servers,
	{ "POOL", "pool" }, { "ADDRESS", "address" }, { "WEIGHT", "weight" },
	{ "STATE", "state" }, { "HEALTH", "health" }, { "SCORE", "score" },
	{ "SHARE", "share", C_PERCENT }, { "LAST ERROR", "error" })

static void print_probe(json_t *p)
{
	json_t *v;

	printf("%-12s %s %s every %lld ms: %s", "probe",
	       json_string_value(json_object_get(p, "kind")),
	       json_string_value(json_object_get(p, "target")),
	       (long long)json_integer_value(json_object_get(p, "interval_ms")),
	       json_is_true(json_object_get(p, "health")) ?
	       json_string_value(json_object_get(p, "state")) : "metrics only");
	if (!json_object_get(p, "last_ok")) {
		printf(", no result yet\n");
		return;
	}
	printf(", last %s %lld ms ago", json_is_true(json_object_get(p, "last_ok")) ?
	       "ok" : "failed",
	       (long long)json_integer_value(json_object_get(p, "last_age_ms")));
	if ((v = json_object_get(p, "last_value")))
		printf(" (%.4g)", json_number_value(v));
	if ((v = json_object_get(p, "last_error")))
		printf(": %s", json_string_value(v));
	putchar('\n');
}

void print_server(json_t *d)
{
	static const struct col cols[] = {
		{ "pool", "pool" }, { "address", "address" },
		{ "weight", "weight" }, { "state", "state" },
		{ "health", "health" }, { "initial", "initial" },
		{ "usable", "usable" }, { "score", "score" },
		{ "share", "share", C_PERCENT },
		{ "cpu", "metrics.cpu", C_METRIC },
		{ "response ms", "metrics.response_ms", C_METRIC },
		{ "latency ms", "metrics.latency_ms", C_METRIC },
		{ "traffic pps", "metrics.traffic_pps", C_METRIC },
		{ "peers up", "peers.up", C_VAL, true }, { "peers down", "peers.down", C_VAL, true },
		{ "peers' cpu", "peers.metrics.cpu", C_VAL, true },
		{ "peers' response ms", "peers.metrics.response_ms", C_VAL, true },
		{ "peers' latency ms", "peers.metrics.latency_ms", C_VAL, true },
		{ "peers' traffic pps", "peers.metrics.traffic_pps", C_VAL, true },
		{ "health used", "health_used", C_VAL, true },
		{ "last error", "error" },
	};
	json_t *p;
	size_t i;

	record(d, cols, ARRAY_SIZE(cols));
	json_array_foreach(json_object_get(d, "probes"), i, p)
		print_probe(p);
}

TABLE(print_vips,
	{ "VIP", "name" }, { "ADDRESS", "address" }, { "PORT", "port" },
	{ "PROTO", "protocol" }, { "MODE", "mode" }, { "POOL", "pool" },
	{ "BACKENDS", "backends", C_COUNT }, { "PACKETS", "stats.packets" },
	{ "FLOWS", "stats.new_flows" }, { "SOURCE", "source" })

void print_vip(json_t *d)
{
	static const struct col cols[] = {
		{ "vip", "name" }, { "source", "source" },
		{ "address", "address" }, { "port", "port" },
		{ "protocol", "protocol" }, { "mode", "mode" },
		{ "pool", "pool" }, { "table size", "table_size" },
		{ "packets", "stats.packets" }, { "bytes", "stats.bytes" },
		{ "new flows", "stats.new_flows" },
		{ "re-placed", "stats.replaced" }, { "icmp", "stats.icmp" },
		{ "no backend", "stats.no_backend" },
		{ "fib failed", "stats.fib_fail" },
	};
	static const struct col bcols[] = {
		{ "BACKEND", "address" }, { "REAL", "real" }, { "STATE", "state" },
		{ "MAC", "mac" }, { "PACKETS", "stats.packets" },
		{ "BYTES", "stats.bytes" }, { "FLOWS", "stats.new_flows" },
	};

	record(d, cols, ARRAY_SIZE(cols));
	printf("\n(a backend's counters cover every VIP it serves)\n");
	table(json_object_get(d, "backends"), bcols, ARRAY_SIZE(bcols));
}

TABLE(print_progs,
	{ "DEV", "dev" }, { "IFINDEX", "ifindex" }, { "MODE", "mode" },
	{ "ID", "id" }, { "NAME", "name" })

/* every counter, in the order steerd and the data plane define them */
void print_stats(json_t *d)
{
	const char *k;
	json_t *v;

	json_object_foreach(d, k, v)
		printf("%-15s %lld\n", k, (long long)json_integer_value(v));
}
