// SPDX-License-Identifier: GPL-2.0-only
/*
 * Config file parsing and validation (libconfig syntax; names through
 * ldns).  Every error names the file and line of the offending setting.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libconfig.h>
#include <ldns/ldns.h>

#include "conf.h"
#include "maglev.h"

#define TTL_MAX 2147483647LL	/* RFC 2181 */

struct parser {
	config_t *cfg;
	const char *file;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, const config_setting_t *s,
		const char *fmt, ...)
{
	char msg[PS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s && config_setting_source_line(s))
		snprintf(p->err, p->errlen, "%s:%d: %s", p->file,
			 config_setting_source_line(s), msg);
	else if (s)	/* made at runtime (control socket, state file) */
		snprintf(p->err, p->errlen, "%s", msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	return -1;
}

/* ---- names and addresses ------------------------------------------ */

int ps_dname_from_text(struct ps_dname *out, const char *text, char *err,
		       size_t errlen)
{
	ldns_rdf *rdf = NULL;
	ldns_status st;
	size_t len, i;
	uint8_t *w;

	memset(out, 0, sizeof(*out));
	if (!text[0]) {
		snprintf(err, errlen, "empty name");
		return -1;
	}
	st = ldns_str2rdf_dname(&rdf, text);
	if (st != LDNS_STATUS_OK) {
		snprintf(err, errlen, "bad name '%s': %s", text,
			 ldns_get_errorstr_by_id(st));
		return -1;
	}
	ldns_dname2canonical(rdf);
	len = ldns_rdf_size(rdf);
	w = ldns_rdf_data(rdf);
	/* hostname characters only: catches typos, and '*' would read as a
	 * wildcard, which we do not implement */
	for (i = 0; i < len && w[i]; i += w[i] + 1) {
		for (size_t j = 1; j <= w[i]; j++) {
			uint8_t c = w[i + j];

			if (!isalnum(c) && c != '-' && c != '_') {
				snprintf(err, errlen,
					 "bad name '%s': character '%c' (only letters, digits, '-' and '_' in labels)",
					 text, isprint(c) ? c : '?');
				ldns_rdf_deep_free(rdf);
				return -1;
			}
		}
		out->labels++;
	}
	out->len = len;
	memcpy(out->wire, w, len);
	ldns_rdf_deep_free(rdf);
	return 0;
}

void ps_dname_to_text(const struct ps_dname *n, char *buf, size_t len)
{
	size_t o = 0, i = 0;

	if (!len)
		return;
	buf[0] = 0;
	if (n->len <= 1) {
		snprintf(buf, len, ".");
		return;
	}
	while (i < n->len && n->wire[i] && o + 1 < len) {
		uint8_t l = n->wire[i];

		if (o && o + 1 < len)
			buf[o++] = '.';
		for (uint8_t j = 1; j <= l && o + 1 < len; j++)
			buf[o++] = n->wire[i + j];
		i += l + 1;
	}
	buf[o] = 0;
}

bool ps_dname_within(const struct ps_dname *child,
		     const struct ps_dname *parent)
{
	struct ps_dname s;

	if (child->labels < parent->labels)
		return false;
	ps_dname_parent(&s, child, child->labels - parent->labels);
	return s.len == parent->len && !memcmp(s.wire, parent->wire, s.len);
}

void ps_dname_parent(struct ps_dname *out, const struct ps_dname *in, int n)
{
	size_t off = 0;

	for (int i = 0; i < n && off < in->len && in->wire[off]; i++)
		off += in->wire[off] + 1;
	memset(out, 0, sizeof(*out));
	out->len = in->len - off;
	out->labels = in->labels >= n ? in->labels - n : 0;
	memcpy(out->wire, in->wire + off, out->len);
}

int ps_addr_parse(struct ps_addr *out, const char *text)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &out->v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &out->v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

const char *ps_addr_str(const struct ps_addr *a, char *buf, size_t len)
{
	return inet_ntop(a->family, a->family == AF_INET ?
			 (const void *)&a->v4 : (const void *)&a->v6,
			 buf, len);
}

/* ---- generic setting access ----------------------------------------- */

static int check_keys(struct parser *p, const config_setting_t *g,
		      const char *where, const char *const *allowed)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *c = config_setting_get_elem(g, i);
		const char *name = config_setting_name(c);
		int ok = 0;

		for (const char *const *a = allowed; *a; a++)
			ok |= name && !strcmp(name, *a);
		if (!ok)
			return fail(p, c, "unknown setting '%s' in %s",
				    name ? name : "?", where);
	}
	return 0;
}

static int get_int(struct parser *p, const config_setting_t *g,
		   const char *name, long long *out, long long min,
		   long long max, long long def, bool required,
		   const char *where)
{
	config_setting_t *s = config_setting_get_member(g, name);
	long long v;

	if (!s) {
		if (required)
			return fail(p, g, "%s: '%s' is required", where, name);
		*out = def;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(p, s, "%s: '%s' must be an integer", where, name);
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return fail(p, s, "%s: '%s' = %lld is out of range [%lld, %lld]",
			    where, name, v, min, max);
	*out = v;
	return 0;
}

static int get_str(struct parser *p, const config_setting_t *g,
		   const char *name, const char **out, bool required,
		   const char *where)
{
	config_setting_t *s = config_setting_get_member(g, name);

	*out = NULL;
	if (!s) {
		if (required)
			return fail(p, g, "%s: '%s' is required", where, name);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(p, s, "%s: '%s' must be a string", where, name);
	*out = config_setting_get_string(s);
	return 0;
}

static int get_name(struct parser *p, const config_setting_t *g,
		    const char *name, struct ps_dname *out, const char **text,
		    bool required, const char *where)
{
	config_setting_t *s = config_setting_get_member(g, name);
	char why[PS_ERR_MAX];
	const char *t;

	if (get_str(p, g, name, &t, required, where))
		return -1;
	if (text)
		*text = t;
	if (!t)
		return 0;
	if (ps_dname_from_text(out, t, why, sizeof(why)))
		return fail(p, s, "%s: %s", where, why);
	if (out->labels > PS_CONF_LABELS_MAX)
		return fail(p, s, "%s: '%s' has %d labels (at most %d)",
			    where, t, out->labels, PS_CONF_LABELS_MAX);
	return 0;
}

/* A list of groups (or an array, which libconfig may give for "()") */
static config_setting_t *get_list(struct parser *p, const config_setting_t *g,
				  const char *name, int *err)
{
	config_setting_t *s = config_setting_get_member(g, name);

	*err = 0;
	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    !(config_setting_type(s) == CONFIG_TYPE_ARRAY &&
	      config_setting_length(s) == 0)) {
		*err = fail(p, s, "'%s' must be a list of groups: ( { ... }, ... )",
			    name);
		return NULL;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			*err = fail(p, e, "'%s' entries must be groups { ... }",
				    name);
			return NULL;
		}
	}
	return s;
}

static config_setting_t *get_str_array(struct parser *p,
				       const config_setting_t *g,
				       const char *name, int *err)
{
	config_setting_t *s = config_setting_get_member(g, name);

	*err = 0;
	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		*err = fail(p, s, "'%s' must be an array of strings: [ \"...\" ]",
			    name);
		return NULL;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			*err = fail(p, e, "'%s' entries must be strings", name);
			return NULL;
		}
	}
	return s;
}

/* ---- sections -------------------------------------------------------- */

static int parse_top(struct parser *p, struct ps_conf *c,
		     const config_setting_t *root)
{
	static const char *const keys[] = { "interfaces", "xdp_mode", "bpffs",
		"control_socket", "state_file", "dns", "zones", "pools", "names",
		"vips", "lb", "store", NULL };
	static const char *const dkeys[] = { "port", "listen", "edns_udp_size",
		NULL };
	config_setting_t *s, *d;
	const char *str;
	long long v;
	int err;

	if (check_keys(p, root, "the top level", keys))
		return -1;

	s = get_str_array(p, root, "interfaces", &err);
	if (err)
		return -1;
	if (!s || config_setting_length(s) == 0)
		return fail(p, s, "'interfaces' is required: the NICs to attach to, e.g. interfaces = [ \"eth0\" ];");
	if (config_setting_length(s) > PS_IFACES_MAX)
		return fail(p, s, "at most %d interfaces", PS_IFACES_MAX);
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *n = config_setting_get_string_elem(s, i);
		config_setting_t *e = config_setting_get_elem(s, i);

		if (!n[0] || strlen(n) >= sizeof(c->ifaces[0]))
			return fail(p, e, "bad interface name '%s'", n);
		for (int j = 0; j < c->nifaces; j++)
			if (!strcmp(c->ifaces[j], n))
				return fail(p, e, "interface '%s' listed twice", n);
		snprintf(c->ifaces[c->nifaces++], sizeof(c->ifaces[0]), "%s", n);
	}

	if (get_str(p, root, "xdp_mode", &str, false, "the top level"))
		return -1;
	if (!str || !strcmp(str, "auto"))
		c->xdp_mode = PS_XDP_AUTO;
	else if (!strcmp(str, "native"))
		c->xdp_mode = PS_XDP_NATIVE;
	else if (!strcmp(str, "skb"))
		c->xdp_mode = PS_XDP_SKB;
	else
		return fail(p, config_setting_get_member(root, "xdp_mode"),
			    "xdp_mode must be \"auto\", \"native\" or \"skb\", not \"%s\"",
			    str);

	if (get_str(p, root, "bpffs", &str, false, "the top level"))
		return -1;
	if (str && (str[0] != '/' || strlen(str) >= sizeof(c->bpffs) - 16))
		return fail(p, config_setting_get_member(root, "bpffs"),
			    "bpffs must be an absolute path");
	snprintf(c->bpffs, sizeof(c->bpffs), "%s", str ? str : PS_BPFFS_DEFAULT);

	if (get_str(p, root, "control_socket", &str, false, "the top level"))
		return -1;
	if (str && (str[0] != '/' || strlen(str) >= sizeof(c->control_socket)))
		return fail(p, config_setting_get_member(root, "control_socket"),
			    "control_socket must be an absolute path of at most %zu bytes",
			    sizeof(c->control_socket) - 1);
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
		 str ? str : PS_CONTROL_SOCKET_DEFAULT);
	if (get_str(p, root, "state_file", &str, false, "the top level"))
		return -1;
	if (str && (str[0] != '/' || strlen(str) >= sizeof(c->state_file)))
		return fail(p, config_setting_get_member(root, "state_file"),
			    "state_file must be an absolute path");
	snprintf(c->state_file, sizeof(c->state_file), "%s",
		 str ? str : PS_STATE_FILE_DEFAULT);

	c->dns_port = PS_DNS_PORT_DEFAULT;
	c->edns_size = PS_EDNS_SIZE_DEFAULT;
	d = config_setting_get_member(root, "dns");
	if (!d)
		return 0;
	if (config_setting_type(d) != CONFIG_TYPE_GROUP)
		return fail(p, d, "'dns' must be a group: dns = { ... };");
	if (check_keys(p, d, "dns", dkeys))
		return -1;
	if (get_int(p, d, "port", &v, 1, 65535, PS_DNS_PORT_DEFAULT, false, "dns"))
		return -1;
	c->dns_port = v;
	if (get_int(p, d, "edns_udp_size", &v, 512, 4096, PS_EDNS_SIZE_DEFAULT,
		    false, "dns"))
		return -1;
	c->edns_size = v;
	s = get_str_array(p, d, "listen", &err);
	if (err)
		return -1;
	for (int i = 0; s && i < config_setting_length(s); i++) {
		const char *t = config_setting_get_string_elem(s, i);
		config_setting_t *e = config_setting_get_elem(s, i);
		struct ps_addr a;

		if (ps_addr_parse(&a, t))
			return fail(p, e, "dns.listen: '%s' is not an IPv4 or IPv6 address", t);
		if (a.family == AF_INET) {
			if (c->nlisten4 == PS_LISTEN_MAX)
				return fail(p, e, "dns.listen: at most %d IPv4 addresses", PS_LISTEN_MAX);
			c->listen4[c->nlisten4++] = a.v4;
		} else {
			if (c->nlisten6 == PS_LISTEN_MAX)
				return fail(p, e, "dns.listen: at most %d IPv6 addresses", PS_LISTEN_MAX);
			c->listen6[c->nlisten6++] = a.v6;
		}
	}
	return 0;
}

static int parse_zones(struct parser *p, struct ps_conf *c,
		       const config_setting_t *root)
{
	static const char *const keys[] = { "name", "ttl", "soa", "ns", NULL };
	static const char *const skeys[] = { "mname", "rname", "serial",
		"refresh", "retry", "expire", "minimum", NULL };
	config_setting_t *list;
	int err, n;

	list = get_list(p, root, "zones", &err);
	if (err)
		return -1;
	if ((!list || !config_setting_length(list)) && !c->store.config)
		return fail(p, list, "'zones' is required: at least one zone to answer for (or store.config = true)");
	if (!list || !config_setting_length(list))
		return 0;
	n = config_setting_length(list);
	if (n > PS_MAX_ZONES)
		return fail(p, list, "at most %d zones", PS_MAX_ZONES);
	c->zones = calloc(n, sizeof(*c->zones));
	if (!c->zones)
		return fail(p, NULL, "out of memory");

	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		struct ps_zone_conf *z = &c->zones[c->nzones];
		config_setting_t *soa, *ns;
		char where[PS_NAME_WIRE_MAX * 4 + 16];
		const char *t;
		long long v;
		size_t nslen = 0;

		z->line = config_setting_source_line(g);
		if (check_keys(p, g, "zone", keys))
			return -1;
		if (get_name(p, g, "name", &z->apex, &t, true, "zone"))
			return -1;
		snprintf(z->text, sizeof(z->text), "%s", t);
		snprintf(where, sizeof(where), "zone '%s'", t);
		if (z->apex.labels == 0)
			return fail(p, config_setting_get_member(g, "name"),
				    "the root zone cannot be served");
		if (ps_conf_find_zone(c, &z->apex) >= 0)
			return fail(p, g, "zone '%s' is defined twice", t);
		if (get_int(p, g, "ttl", &v, 0, TTL_MAX, 3600, false, where))
			return -1;
		z->ttl = v;

		soa = config_setting_get_member(g, "soa");
		if (!soa || config_setting_type(soa) != CONFIG_TYPE_GROUP)
			return fail(p, soa ? soa : g, "%s: 'soa' group is required: soa = { mname = ...; rname = ...; };", where);
		if (check_keys(p, soa, "soa", skeys))
			return -1;
		if (get_name(p, soa, "mname", &z->mname, NULL, true, where))
			return -1;
		if (get_str(p, soa, "rname", &t, true, where))
			return -1;
		{
			/* accept hostmaster@example.org for the mailbox */
			char buf[1024], why[PS_ERR_MAX];
			char *at;

			snprintf(buf, sizeof(buf), "%s", t);
			at = strchr(buf, '@');
			if (at)
				*at = '.';
			if (ps_dname_from_text(&z->rname, buf, why, sizeof(why)))
				return fail(p, config_setting_get_member(soa, "rname"),
					    "%s: rname: %s", where, why);
		}
		if (get_int(p, soa, "serial", &v, 0, UINT32_MAX, 1, false, where))
			return -1;
		z->serial = v;
		if (get_int(p, soa, "refresh", &v, 0, TTL_MAX, 3600, false, where))
			return -1;
		z->refresh = v;
		if (get_int(p, soa, "retry", &v, 0, TTL_MAX, 600, false, where))
			return -1;
		z->retry = v;
		if (get_int(p, soa, "expire", &v, 0, TTL_MAX, 604800, false, where))
			return -1;
		z->expire = v;
		if (get_int(p, soa, "minimum", &v, 0, TTL_MAX, 60, false, where))
			return -1;
		z->minimum = v;
		if (10 + z->mname.len + z->rname.len + 20 > PS_SOA_MAX)
			return fail(p, soa, "%s: SOA names too long (mname + rname at most %d bytes)",
				    where, PS_SOA_MAX - 30);

		ns = get_str_array(p, g, "ns", &err);
		if (err)
			return -1;
		if (!ns || !config_setting_length(ns))
			return fail(p, g, "%s: 'ns' is required: the zone's name servers, ns = [ \"ns1.example\" ];",
				    where);
		if (config_setting_length(ns) > 8)
			return fail(p, ns, "%s: at most 8 name servers", where);
		for (int j = 0; j < config_setting_length(ns); j++) {
			config_setting_t *e = config_setting_get_elem(ns, j);
			char why[PS_ERR_MAX];

			if (ps_dname_from_text(&z->ns[j],
					       config_setting_get_string(e),
					       why, sizeof(why)))
				return fail(p, e, "%s: ns: %s", where, why);
			for (int k = 0; k < j; k++)
				if (z->ns[k].len == z->ns[j].len &&
				    !memcmp(z->ns[k].wire, z->ns[j].wire,
					    z->ns[j].len))
					return fail(p, e, "%s: name server '%s' listed twice",
						    where, config_setting_get_string(e));
			nslen += 12 + z->ns[j].len;
			z->nns++;
		}
		if (nslen > PS_NS_MAX)
			return fail(p, ns, "%s: NS names too long (%zu of %d bytes)",
				    where, nslen, PS_NS_MAX);
		c->nzones++;
	}
	return 0;
}

const char *const ps_probe_kind_name[PS_PROBE_KINDS] = { "http", "https",
	"tcp", "ftp", "load", "traffic" };

static int get_double(struct parser *p, const config_setting_t *g,
		      const char *name, double *out, double min, double max,
		      double def, const char *where)
{
	config_setting_t *s = config_setting_get_member(g, name);
	double v;

	if (!s) {
		*out = def;
		return 0;
	}
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	default:
		return fail(p, s, "%s: '%s' must be a number", where, name);
	}
	if (!(v >= min && v <= max))
		return fail(p, s, "%s: '%s' = %g is out of range [%g, %g]",
			    where, name, v, min, max);
	*out = v;
	return 0;
}

/* name among choices[], or def when absent; -1 (reported) if neither */
static int get_choice(struct parser *p, const config_setting_t *g,
		      const char *name, const char *const *choices, int n,
		      int def, const char *where)
{
	char list[128] = "";
	const char *t;

	if (get_str(p, g, name, &t, false, where))
		return -1;
	if (!t)
		return def;
	for (int i = 0; i < n; i++) {
		if (!strcmp(t, choices[i]))
			return i;
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s\"%s\"", i ? (i == n - 1 ? " or " : ", ") : "",
			 choices[i]);
	}
	fail(p, config_setting_get_member(g, name), "%s: %s must be %s, not \"%s\"",
	     where, name, list, t);
	return -1;
}

static int parse_probe(struct parser *p, const config_setting_t *g,
		       struct ps_probe_conf *pr, const char *where)
{
	static const char *const keys[] = { "kind", "url", "host", "method",
		"expect", "body", "user", "password", "port", "interval",
		"timeout", "jitter", "rise", "fall", "health", "max_body", "reuse",
		NULL };
	static const char *const methods[] = { "GET", "HEAD" };
	static const char *const defaults[PS_PROBE_KINDS] = {
		"http://{address}/", "https://{address}/", "",
		"ftp://{address}/", "http://{address}:9100/load", "" };
	config_setting_t *s;
	const char *t;
	long long v;
	int k;

	memset(pr, 0, sizeof(*pr));
	if (check_keys(p, g, "probe", keys))
		return -1;
	if (get_str(p, g, "kind", &t, true, where))
		return -1;
	k = get_choice(p, g, "kind", ps_probe_kind_name, PS_PROBE_KINDS, -1, where);
	if (k < 0)
		return -1;
	pr->kind = k;
	if (get_str(p, g, "url", &t, false, where))
		return -1;
	if (t && k == PS_PROBE_TCP)
		return fail(p, config_setting_get_member(g, "url"),
			    "%s: a tcp probe takes a port, not a url", where);
	if (t && k == PS_PROBE_TRAFFIC)
		return fail(p, config_setting_get_member(g, "url"),
			    "%s: a traffic probe reads what XDP flow steering counted for the server: no url", where);
	snprintf(pr->url, sizeof(pr->url), "%s", t ? t : defaults[k]);
	if (strlen(t ? t : "") >= sizeof(pr->url))
		return fail(p, config_setting_get_member(g, "url"), "%s: url too long", where);
	if (get_str(p, g, "host", &t, false, where))
		return -1;
	snprintf(pr->host, sizeof(pr->host), "%s", t ? t : "");
	k = get_choice(p, g, "method", methods, 2, 0, where);
	if (k < 0)
		return -1;
	pr->head = k == 1;
	s = config_setting_get_member(g, "expect");
	if (!s) {
		pr->expect[pr->nexpect++] = 200;
	} else if (config_setting_type(s) == CONFIG_TYPE_INT) {
		pr->expect[pr->nexpect++] = config_setting_get_int(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_ARRAY &&
		   config_setting_length(s) > 0 &&
		   config_setting_length(s) <= PS_EXPECT_MAX) {
		for (int i = 0; i < config_setting_length(s); i++) {
			config_setting_t *e = config_setting_get_elem(s, i);

			if (config_setting_type(e) != CONFIG_TYPE_INT)
				return fail(p, s, "%s: expect: status codes are integers", where);
			pr->expect[pr->nexpect++] = config_setting_get_int(e);
		}
	} else {
		return fail(p, s, "%s: expect must be a status code or 1 to %d of them: [ 200, 204 ]",
			    where, PS_EXPECT_MAX);
	}
	for (int i = 0; i < pr->nexpect; i++)
		if (pr->expect[i] < 100 || pr->expect[i] > 599)
			return fail(p, s, "%s: expect: %d is not an HTTP status code",
				    where, pr->expect[i]);
	if (get_str(p, g, "body", &t, false, where))
		return -1;
	snprintf(pr->body, sizeof(pr->body), "%s", t ? t : "");
	if (get_str(p, g, "user", &t, false, where))
		return -1;
	snprintf(pr->user, sizeof(pr->user), "%s", t ? t : "");
	if (get_str(p, g, "password", &t, false, where))
		return -1;
	snprintf(pr->password, sizeof(pr->password), "%s", t ? t : "");
	if (get_int(p, g, "port", &v, 1, 65535, 80, false, where))
		return -1;
	pr->port = v;
	if (get_int(p, g, "interval", &v, 100, 3600000, 1000, false, where))
		return -1;
	pr->interval_ms = v;
	/* half an interval by default: a dead server's failures then come
	 * in within fall x interval + one interval, even when it times out */
	if (get_int(p, g, "timeout", &v, 10, pr->interval_ms,
		    pr->interval_ms / 2 < 2000 ? pr->interval_ms / 2 : 2000, false, where))
		return -1;
	pr->timeout_ms = v;
	if (get_int(p, g, "jitter", &v, 0, pr->interval_ms / 2,
		    pr->interval_ms / 10, false, where))
		return -1;
	pr->jitter_ms = v;
	if (get_int(p, g, "rise", &v, 1, 100, 2, false, where))
		return -1;
	pr->rise = v;
	if (get_int(p, g, "fall", &v, 1, 100, 3, false, where))
		return -1;
	pr->fall = v;
	s = config_setting_get_member(g, "health");
	if (s && config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(p, s, "%s: health must be true or false", where);
	/* the load agent being down says nothing of the service, nor do
	 * the counters */
	pr->health = s ? config_setting_get_bool(s) :
		     pr->kind != PS_PROBE_LOAD && pr->kind != PS_PROBE_TRAFFIC;
	if (get_int(p, g, "max_body", &v, 0, 16 << 20, 65536, false, where))
		return -1;
	pr->max_body = v;
	/* HTTP keep-alive: a probe costs a request, not a connection (the
	 * response time is the request's either way) */
	s = config_setting_get_member(g, "reuse");
	if (s && config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(p, s, "%s: reuse must be true or false", where);
	if (s && config_setting_get_bool(s) && pr->kind == PS_PROBE_TRAFFIC)
		return fail(p, s, "%s: traffic probes make no connection: reuse is for http, https and load",
			    where);
	if (s && config_setting_get_bool(s) &&
	    (pr->kind == PS_PROBE_TCP || pr->kind == PS_PROBE_FTP))
		return fail(p, s, "%s: %s probes measure a new connection each time: reuse is for http, https and load",
			    where, ps_probe_kind_name[pr->kind]);
	pr->reuse = s ? config_setting_get_bool(s) :
		    pr->kind != PS_PROBE_TCP && pr->kind != PS_PROBE_FTP &&
		    pr->kind != PS_PROBE_TRAFFIC;
	return 0;
}

static int parse_probes(struct parser *p, const config_setting_t *g,
			struct ps_probe_conf *out, int *n, const char *where)
{
	config_setting_t *list;
	int err;

	*n = 0;
	list = get_list(p, g, "probes", &err);
	if (err)
		return -1;
	if (!list)
		return 0;
	if (config_setting_length(list) > PS_PROBES_MAX)
		return fail(p, list, "%s: at most %d probes", where, PS_PROBES_MAX);
	for (int i = 0; i < config_setting_length(list); i++)
		if (parse_probe(p, config_setting_get_elem(list, i), &out[(*n)++],
				where))
			return -1;
	return 0;
}

/* A pool's probe template for one server: {address} in the url becomes
 * the address, in brackets for IPv6. */
static void probe_for(struct ps_probe_conf *out, const struct ps_probe_conf *tpl,
		      const struct ps_addr *a)
{
	char addr[INET6_ADDRSTRLEN + 2], txt[INET6_ADDRSTRLEN];
	const char *at = strstr(tpl->url, "{address}");

	*out = *tpl;
	if (!at)
		return;
	ps_addr_str(a, txt, sizeof(txt));
	snprintf(addr, sizeof(addr), a->family == AF_INET6 ? "[%s]" : "%s", txt);
	snprintf(out->url, sizeof(out->url), "%.*s%s%s", (int)(at - tpl->url),
		 tpl->url, addr, at + strlen("{address}"));
}

static int parse_scoring(struct parser *p, const config_setting_t *g,
			 struct ps_scoring *sc, const char *where)
{
	static const char *const keys[] = { "cpu", "response", "latency",
		"traffic", "ewma", "cpu_ref", "response_ref_ms",
		"latency_ref_ms", "traffic_ref", NULL };
	static const char *const refs[PS_M_MAX] = { "cpu_ref",
		"response_ref_ms", "latency_ref_ms", "traffic_ref" };
	config_setting_t *s = config_setting_get_member(g, "scoring");

	ps_scoring_default(sc);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail(p, s, "%s: 'scoring' must be a group: scoring = { cpu = 1.0; ... };",
			    where);
	if (check_keys(p, s, "scoring", keys))
		return -1;
	for (int m = 0; m < PS_M_MAX; m++)
		if (get_double(p, s, ps_metric_name[m], &sc->weight[m], 0, 1000,
			       sc->weight[m], where) ||
		    get_double(p, s, refs[m], &sc->ref[m], 1e-9, 1e12,
			       sc->ref[m], where))
			return -1;
	return get_double(p, s, "ewma", &sc->alpha, 0.01, 1, sc->alpha, where);
}

static int parse_mac(const char *t, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(t, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6 || strlen(t) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

/* Would the DNS path take a UDP packet to this address? */
static bool is_dns_listen(const struct ps_conf *c, const struct ps_addr *a)
{
	if (!c->nlisten4 && !c->nlisten6)
		return true;	/* any address */
	for (int i = 0; a->family == AF_INET && i < c->nlisten4; i++)
		if (c->listen4[i].s_addr == a->v4.s_addr)
			return true;
	for (int i = 0; a->family == AF_INET6 && i < c->nlisten6; i++)
		if (!memcmp(&c->listen6[i], &a->v6, 16))
			return true;
	return false;
}

static int parse_pools(struct parser *p, struct ps_conf *c,
		       const config_setting_t *root)
{
	static const char *const keys[] = { "name", "answers", "select",
		"policy", "fallback", "backup", "threshold", "margin", "scoring",
		"probes", "hash_prefix4", "hash_prefix6", "ttl", "servers", NULL };
	static const char *const skeys[] = { "address", "weight", "state",
		"initial", "probes", "mac", NULL };
	static const char *const selects[] = { "random", "hash" };
	static const char *const fallbacks[] = { "all", "servfail", "backup" };
	static const char *const initials[] = { "unknown", "up", "down" };
	config_setting_t *list;
	int err, n;

	list = get_list(p, root, "pools", &err);
	if (err)
		return -1;
	n = list ? config_setting_length(list) : 0;
	if (n > PS_MAX_POOLS)
		return fail(p, list, "at most %d pools", PS_MAX_POOLS);
	c->pools = calloc(n ? n : 1, sizeof(*c->pools));
	if (!c->pools)
		return fail(p, NULL, "out of memory");
	c->pools_cap = n;

	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		struct ps_pool_conf *pl = &c->pools[c->npools];
		struct ps_probe_conf tpl[PS_PROBES_MAX];
		char where[PS_OBJ_NAME_MAX + 16];
		config_setting_t *srv;
		int n4 = 0, n6 = 0, ntpl, k, sel;
		const char *t;
		long long v;

		pl->line = config_setting_source_line(g);
		if (check_keys(p, g, "pool", keys))
			return -1;
		if (get_str(p, g, "name", &t, true, "pool"))
			return -1;
		if (!t[0] || strlen(t) >= PS_OBJ_NAME_MAX ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(t))
			return fail(p, config_setting_get_member(g, "name"),
				    "pool name '%s': 1 to %d of letters, digits, '_', '.', '-'",
				    t, PS_OBJ_NAME_MAX - 1);
		if (ps_conf_find_pool(c, t) >= 0)
			return fail(p, g, "pool '%s' is defined twice", t);
		snprintf(pl->name, sizeof(pl->name), "%s", t);
		snprintf(where, sizeof(where), "pool '%s'", t);

		if (get_int(p, g, "answers", &v, 1, PS_ANSWERS_MAX, 1, false, where))
			return -1;
		pl->answers = v;
		/* policy; select is its older spelling: random = weighted */
		sel = get_choice(p, g, "select", selects, 2, -1, where);
		if (sel < 0 && config_setting_get_member(g, "select"))
			return -1;
		k = get_choice(p, g, "policy", ps_policy_name, 3,
			       sel == 1 ? PS_POL_HASH : PS_POL_WEIGHTED, where);
		if (k < 0)
			return -1;
		if (config_setting_get_member(g, "select") && sel >= 0 &&
		    (sel == 1) != (k == PS_POL_HASH))
			return fail(p, config_setting_get_member(g, "select"),
				    "%s: select and policy disagree (select is the older name of policy: random = weighted)",
				    where);
		pl->policy = k;
		pl->mode = k == PS_POL_HASH ? PS_SEL_HASH : PS_SEL_RANDOM;
		k = get_choice(p, g, "fallback", fallbacks, 3, PS_FB_ALL, where);
		if (k < 0)
			return -1;
		pl->fallback = k;
		if (get_str(p, g, "backup", &t, k == PS_FB_POOL, where))
			return -1;
		if (t && k != PS_FB_POOL)
			return fail(p, config_setting_get_member(g, "backup"),
				    "%s: backup needs fallback = \"backup\"", where);
		snprintf(pl->backup, sizeof(pl->backup), "%s", t ? t : "");
		if (get_double(p, g, "threshold", &pl->threshold, 0, 1, 0.05, where) ||
		    get_double(p, g, "margin", &pl->margin, 0, 10, 0.1, where) ||
		    parse_scoring(p, g, &pl->scoring, where) ||
		    parse_probes(p, g, tpl, &ntpl, where))
			return -1;
		if (get_int(p, g, "hash_prefix4", &v, 0, 32, 24, false, where))
			return -1;
		pl->prefix4 = v;
		if (get_int(p, g, "hash_prefix6", &v, 0, 128, 56, false, where))
			return -1;
		pl->prefix6 = v;
		if (get_int(p, g, "ttl", &v, 0, TTL_MAX, 30, false, where))
			return -1;
		pl->ttl = v;

		srv = get_list(p, g, "servers", &err);
		if (err)
			return -1;
		if (srv && config_setting_length(srv)) {
			pl->servers = calloc(config_setting_length(srv),
					     sizeof(*pl->servers));
			if (!pl->servers)
				return fail(p, NULL, "out of memory");
		}
		for (int j = 0; srv && j < config_setting_length(srv); j++) {
			config_setting_t *sg = config_setting_get_elem(srv, j);
			struct ps_server_conf *sv = &pl->servers[pl->nservers];

			sv->line = config_setting_source_line(sg);
			if (check_keys(p, sg, "server", skeys))
				return -1;
			if (get_str(p, sg, "address", &t, true, where))
				return -1;
			if (ps_addr_parse(&sv->addr, t))
				return fail(p, config_setting_get_member(sg, "address"),
					    "%s: '%s' is not an IPv4 or IPv6 address",
					    where, t);
			for (int k2 = 0; k2 < pl->nservers; k2++)
				if (pl->servers[k2].addr.family == sv->addr.family &&
				    !memcmp(&pl->servers[k2].addr, &sv->addr, sizeof(sv->addr)))
					return fail(p, sg, "%s: server %s listed twice",
						    where, t);
			if (sv->addr.family == AF_INET ? ++n4 > PS_POOL_SERVERS_MAX
						       : ++n6 > PS_POOL_SERVERS_MAX)
				return fail(p, sg, "%s: at most %d servers per address family",
					    where, PS_POOL_SERVERS_MAX);
			if (get_int(p, sg, "weight", &v, 0, 1000000, 100, false, where))
				return -1;
			sv->weight = v;
			k = get_choice(p, sg, "state", ps_admin_name, 3, PS_ADMIN_UP, where);
			if (k < 0)
				return -1;
			sv->admin = k;
			if (get_str(p, sg, "mac", &t, false, where))
				return -1;
			if (t && parse_mac(t, sv->mac))
				return fail(p, config_setting_get_member(sg, "mac"),
					    "%s: mac '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)",
					    where, t);
			sv->has_mac = t != NULL;
			k = get_choice(p, sg, "initial", initials, 3, PS_HEALTH_UP, where);
			if (k < 0)
				return -1;
			if (k == PS_HEALTH_UNKNOWN)
				return fail(p, config_setting_get_member(sg, "initial"),
					    "%s: initial must be \"up\" or \"down\"", where);
			sv->initial = k;
			if (parse_probes(p, sg, sv->probes, &sv->nprobes, where))
				return -1;
			if (!config_setting_get_member(sg, "probes")) {
				for (int q = 0; q < ntpl; q++)
					probe_for(&sv->probes[q], &tpl[q], &sv->addr);
				sv->nprobes = ntpl;
			} else {
				for (int q = 0; q < sv->nprobes; q++)
					probe_for(&sv->probes[q], &sv->probes[q], &sv->addr);
			}
			pl->nservers++;
		}
		c->npools++;
	}
	/* backups exist and are not the pool itself */
	for (int i = 0; i < c->npools; i++) {
		struct ps_pool_conf *pl = &c->pools[i];
		config_setting_t *g = config_setting_get_elem(list, i);
		int b;

		if (pl->fallback != PS_FB_POOL)
			continue;
		b = ps_conf_find_pool(c, pl->backup);
		if (b < 0 || b == i)
			return fail(p, config_setting_get_member(g, "backup"),
				    b < 0 ? "pool '%s': no pool named '%s' for backup"
					  : "pool '%s': a pool cannot be its own backup ('%s')",
				    pl->name, pl->backup);
	}
	return 0;
}

static int parse_names(struct parser *p, struct ps_conf *c,
		       const config_setting_t *root)
{
	static const char *const keys[] = { "name", "pool", "ttl", NULL };
	config_setting_t *list;
	int err, n;

	list = get_list(p, root, "names", &err);
	if (err)
		return -1;
	n = list ? config_setting_length(list) : 0;
	if (n > PS_MAX_NAMES)
		return fail(p, list, "at most %d names", PS_MAX_NAMES);
	c->names = calloc(n ? n : 1, sizeof(*c->names));
	if (!c->names)
		return fail(p, NULL, "out of memory");

	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		struct ps_name_conf *nm = &c->names[c->nnames];
		char where[PS_NAME_WIRE_MAX * 4 + 16];
		const char *t;
		long long v;

		nm->line = config_setting_source_line(g);
		if (check_keys(p, g, "name", keys))
			return -1;
		if (get_name(p, g, "name", &nm->name, &t, true, "name"))
			return -1;
		snprintf(nm->text, sizeof(nm->text), "%s", t);
		snprintf(where, sizeof(where), "name '%s'", t);
		nm->zone = ps_conf_zone_of(c, &nm->name);
		if (nm->zone < 0)
			return fail(p, config_setting_get_member(g, "name"),
				    "%s is not inside any configured zone", where);
		for (int k = 0; k < c->nnames; k++)
			if (c->names[k].name.len == nm->name.len &&
			    !memcmp(c->names[k].name.wire, nm->name.wire, nm->name.len))
				return fail(p, g, "%s is defined twice (first at line %d)",
					    where, c->names[k].line);
		if (get_str(p, g, "pool", &t, true, where))
			return -1;
		nm->pool = ps_conf_find_pool(c, t);
		if (nm->pool < 0)
			return fail(p, config_setting_get_member(g, "pool"),
				    "%s: no pool named '%s'", where, t);
		if (get_int(p, g, "ttl", &v, 0, TTL_MAX, c->pools[nm->pool].ttl,
			    false, where))
			return -1;
		nm->ttl = v;
		c->nnames++;
	}
	return 0;
}

int ps_conf_find_vip(const struct ps_conf *conf, const char *name)
{
	for (int i = 0; i < conf->nvips; i++)
		if (!strcmp(conf->vips[i].name, name))
			return i;
	return -1;
}

/* "ADDR/LEN" of family fam, or -1 */
static int parse_prefix(const char *t, int fam, struct ps_addr *a, int *len)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	char *end;
	long l;

	snprintf(buf, sizeof(buf), "%s", t);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	errno = 0;
	l = strtol(slash + 1, &end, 10);
	if (ps_addr_parse(a, buf) || a->family != fam || *end || errno ||
	    slash[1] == 0 || l < 0 || l > (fam == AF_INET ? 32 : 128))
		return -1;
	*len = l;
	return 0;
}

static int parse_lb(struct parser *p, struct ps_conf *c,
		    const config_setting_t *root)
{
	static const char *const keys[] = { "flow_table_size", "ipip_source4",
		"ipip_source6", NULL };
	config_setting_t *g = config_setting_get_member(root, "lb");
	const char *t;
	long long v;

	c->tun4_len = c->tun6_len = -1;
	c->flow_table_size = PS_CONN_DEFAULT;
	if (!g)
		return 0;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(p, g, "'lb' must be a group: lb = { flow_table_size = ...; };");
	if (check_keys(p, g, "lb", keys))
		return -1;
	if (get_int(p, g, "flow_table_size", &v, 1024, 1 << 26, PS_CONN_DEFAULT,
		    false, "lb"))
		return -1;
	c->flow_table_size = v;
	if (get_str(p, g, "ipip_source4", &t, false, "lb"))
		return -1;
	if (t && parse_prefix(t, AF_INET, &c->tun4, &c->tun4_len))
		return fail(p, config_setting_get_member(g, "ipip_source4"),
			    "lb: ipip_source4 '%s' is not an IPv4 prefix (198.18.250.0/24)", t);
	if (get_str(p, g, "ipip_source6", &t, false, "lb"))
		return -1;
	if (t && parse_prefix(t, AF_INET6, &c->tun6, &c->tun6_len))
		return fail(p, config_setting_get_member(g, "ipip_source6"),
			    "lb: ipip_source6 '%s' is not an IPv6 prefix (2001:db8:250::/64)", t);
	return 0;
}

static int parse_vips(struct parser *p, struct ps_conf *c,
		      const config_setting_t *root)
{
	static const char *const keys[] = { "name", "address", "port",
		"protocol", "mode", "pool", "table_size", NULL };
	static const char *const protos[] = { "tcp", "udp" };
	static const char *const modes[] = { "dsr", "ipip" };
	config_setting_t *list;
	int err, n;

	list = get_list(p, root, "vips", &err);
	if (err)
		return -1;
	n = list ? config_setting_length(list) : 0;
	if (n > PS_MAX_VIPS)
		return fail(p, list, "at most %d vips", PS_MAX_VIPS);
	c->vips = calloc(n ? n : 1, sizeof(*c->vips));
	if (!c->vips)
		return fail(p, NULL, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		struct ps_vip_conf *v = &c->vips[c->nvips];
		char where[PS_OBJ_NAME_MAX + 16];
		const char *t;
		long long x;
		int k;

		v->line = config_setting_source_line(g);
		if (check_keys(p, g, "vip", keys) ||
		    get_str(p, g, "name", &t, true, "vip"))
			return -1;
		if (!t[0] || strlen(t) >= PS_OBJ_NAME_MAX ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(t))
			return fail(p, config_setting_get_member(g, "name"),
				    "vip name '%s': 1 to %d of letters, digits, '_', '.', '-'",
				    t, PS_OBJ_NAME_MAX - 1);
		if (ps_conf_find_vip(c, t) >= 0)
			return fail(p, g, "vip '%s' is defined twice", t);
		snprintf(v->name, sizeof(v->name), "%s", t);
		snprintf(where, sizeof(where), "vip '%s'", t);
		if (get_str(p, g, "address", &t, true, where))
			return -1;
		if (ps_addr_parse(&v->addr, t))
			return fail(p, config_setting_get_member(g, "address"),
				    "%s: '%s' is not an IPv4 or IPv6 address", where, t);
		if (get_int(p, g, "port", &x, 1, 65535, 0, true, where))
			return -1;
		v->port = x;
		k = get_choice(p, g, "protocol", protos, 2, 0, where);
		if (k < 0)
			return -1;
		v->proto = k ? IPPROTO_UDP : IPPROTO_TCP;
		k = get_choice(p, g, "mode", modes, 2, 0, where);
		if (k < 0)
			return -1;
		v->mode = k ? PS_FWD_IPIP : PS_FWD_DSR;
		if (get_str(p, g, "pool", &t, true, where))
			return -1;
		v->pool = ps_conf_find_pool(c, t);
		if (v->pool < 0)
			return fail(p, config_setting_get_member(g, "pool"),
				    "%s: no pool named '%s'", where, t);
		if (get_int(p, g, "table_size", &x, PS_MAGLEV_SIZE_MIN,
			    PS_MAGLEV_SIZE_MAX, PS_MAGLEV_SIZE_DEFAULT, false, where))
			return -1;
		if (!ps_maglev_size_ok(x))
			return fail(p, config_setting_get_member(g, "table_size"),
				    "%s: table_size %lld is not a prime (65537, 131071, 262139 are)",
				    where, x);
		v->table_size = x;
		if (v->mode == PS_FWD_IPIP &&
		    (v->addr.family == AF_INET ? c->tun4_len : c->tun6_len) < 0)
			return fail(p, g, "%s: ipip needs lb.ipip_source%s, the prefix the outer sources come from",
				    where, v->addr.family == AF_INET ? "4" : "6");
		for (int j = 0; j < c->nvips; j++)
			if (c->vips[j].port == v->port && c->vips[j].proto == v->proto &&
			    !memcmp(&c->vips[j].addr, &v->addr, sizeof(v->addr)))
				return fail(p, g, "%s: the same address, port and protocol as vip '%s'",
					    where, c->vips[j].name);
		/* DNS queries to a listen address are the DNS path's */
		if (v->proto == IPPROTO_UDP && v->port == c->dns_port &&
		    is_dns_listen(c, &v->addr))
			return fail(p, g, "%s: UDP port %u of a DNS listen address is answered as DNS",
				    where, v->port);
		c->nvips++;
	}
	return 0;
}

/* store = { endpoints = [ "http://198.18.0.2:2379" ]; prefix = "/popsteer";
 *           name = "pop1"; interval = 1000; ttl = 5; config = true;
 *           cache_file = "..."; }; */
static int parse_store(struct parser *p, struct ps_conf *c,
		       const config_setting_t *root)
{
	static const char *const keys[] = { "endpoints", "prefix", "name",
		"interval", "ttl", "config", "cache_file", NULL };
	config_setting_t *g = config_setting_get_member(root, "store"), *s;
	struct ps_store_conf *st = &c->store;
	const char *t;
	long long v;
	int err;

	if (!g)
		return 0;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(p, g, "'store' must be a group: store = { endpoints = [ \"http://HOST:2379\" ]; };");
	if (check_keys(p, g, "store", keys))
		return -1;
	st->enabled = true;
	s = get_str_array(p, g, "endpoints", &err);
	if (err)
		return -1;
	if (!s || !config_setting_length(s))
		return fail(p, s ? s : g, "store: 'endpoints' is required: etcd's client URLs, e.g. [ \"http://198.18.0.2:2379\" ]");
	if (config_setting_length(s) > PS_STORE_ENDPOINTS_MAX)
		return fail(p, s, "store: at most %d endpoints", PS_STORE_ENDPOINTS_MAX);
	for (int i = 0; i < config_setting_length(s); i++) {
		t = config_setting_get_string_elem(s, i);
		if ((strncmp(t, "http://", 7) && strncmp(t, "https://", 8)) ||
		    strlen(t) >= sizeof(st->endpoints[0]) || strchr(t + 8, '/'))
			return fail(p, config_setting_get_elem(s, i),
				    "store: endpoint '%s' must be http://HOST:PORT or https://HOST:PORT (no path)", t);
		snprintf(st->endpoints[st->nendpoints++], sizeof(st->endpoints[0]), "%s", t);
	}
	if (get_str(p, g, "prefix", &t, false, "store"))
		return -1;
	t = t ? t : "/popsteer";
	if (t[0] != '/' || strlen(t) < 2 || strlen(t) >= sizeof(st->prefix) ||
	    t[strlen(t) - 1] == '/')
		return fail(p, config_setting_get_member(g, "prefix"),
			    "store: prefix '%s' must start with '/', not end with one, at most %zu bytes",
			    t, sizeof(st->prefix) - 1);
	snprintf(st->prefix, sizeof(st->prefix), "%s", t);
	if (get_str(p, g, "name", &t, false, "store"))
		return -1;
	if (!t) {
		char host[256] = "";

		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = 0;
		snprintf(st->name, sizeof(st->name), "%s", host);
	} else {
		snprintf(st->name, sizeof(st->name), "%s", t);
	}
	if (!st->name[0] || strlen(t ? t : st->name) >= sizeof(st->name) ||
	    strspn(st->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(st->name))
		return fail(p, config_setting_get_member(g, "name") ? config_setting_get_member(g, "name") : g,
			    "store: name '%s' must be 1..%zu letters, digits, '-', '_' or '.'",
			    st->name, sizeof(st->name) - 1);
	if (get_int(p, g, "interval", &v, 100, 60000, 1000, false, "store"))
		return -1;
	st->interval_ms = v;
	if (get_int(p, g, "ttl", &v, 2, 3600, 5, false, "store"))
		return -1;
	st->ttl_s = v;
	if (st->ttl_s * 1000 < 2 * st->interval_ms)
		return fail(p, config_setting_get_member(g, "ttl"),
			    "store: ttl (%d s) must cover at least two intervals (%d ms)",
			    st->ttl_s, st->interval_ms);
	s = config_setting_get_member(g, "config");
	if (s && config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(p, s, "store: 'config' must be true or false");
	st->config = s && config_setting_get_bool(s);
	if (get_str(p, g, "cache_file", &t, false, "store"))
		return -1;
	if (t && (t[0] != '/' || strlen(t) >= sizeof(st->cache_file)))
		return fail(p, config_setting_get_member(g, "cache_file"),
			    "store: cache_file must be an absolute path");
	if (t)
		snprintf(st->cache_file, sizeof(st->cache_file), "%s", t);
	else
		snprintf(st->cache_file, sizeof(st->cache_file), "%.*s.shared",
			 (int)sizeof(st->cache_file) - 8, c->state_file);
	return 0;
}

static int parse(struct parser *p, struct ps_conf *c)
{
	config_setting_t *root = config_root_setting(p->cfg);

	if (parse_top(p, c, root) || parse_store(p, c, root) ||
	    parse_zones(p, c, root) ||
	    parse_pools(p, c, root) || parse_names(p, c, root) ||
	    parse_lb(p, c, root) || parse_vips(p, c, root))
		return -1;
	return 0;
}

int ps_tree_read(config_t *cfg, const char *name, const char *text,
		 char *err, size_t errlen)
{
	int ok;

	config_init(cfg);
	/* no silent int/float conversions: a typo should be an error */
	config_set_options(cfg, 0);
	if (text) {
		ok = config_read_string(cfg, text);
	} else {
		FILE *f = fopen(name, "r");

		if (!f) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			config_destroy(cfg);
			return -1;
		}
		ok = config_read(cfg, f);
		fclose(f);
	}
	if (!ok) {
		snprintf(err, errlen, "%s:%d: %s", name, config_error_line(cfg),
			 config_error_text(cfg));
		config_destroy(cfg);
		return -1;
	}
	return 0;
}

int ps_conf_from_tree(struct ps_conf *c, config_t *cfg, const char *name,
		      char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .file = name, .err = err,
			    .errlen = errlen };

	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", name);
	if (parse(&p, c)) {
		ps_conf_free(c);
		return -1;
	}
	return 0;
}

static int load(struct ps_conf *c, const char *name, const char *text,
		char *err, size_t errlen)
{
	config_t cfg;
	int rc;

	memset(c, 0, sizeof(*c));
	if (ps_tree_read(&cfg, name, text, err, errlen))
		return -1;
	rc = ps_conf_from_tree(c, &cfg, name, err, errlen);
	config_destroy(&cfg);
	return rc;
}

int ps_conf_load(struct ps_conf *conf, const char *path, char *err,
		 size_t errlen)
{
	return load(conf, path, NULL, err, errlen);
}

int ps_conf_load_string(struct ps_conf *conf, const char *text,
			const char *name, char *err, size_t errlen)
{
	return load(conf, name, text, err, errlen);
}

void ps_conf_free(struct ps_conf *c)
{
	/* the pool a parse failed in has servers too */
	for (int i = 0; i < c->pools_cap; i++)
		free(c->pools[i].servers);
	free(c->pools);
	free(c->zones);
	free(c->names);
	free(c->vips);
	c->pools = NULL;
	c->zones = NULL;
	c->names = NULL;
	c->vips = NULL;
	c->npools = c->nzones = c->nnames = c->nvips = c->pools_cap = 0;
}

int ps_conf_find_pool(const struct ps_conf *c, const char *name)
{
	for (int i = 0; i < c->npools; i++)
		if (!strcmp(c->pools[i].name, name))
			return i;
	return -1;
}

int ps_conf_find_zone(const struct ps_conf *c, const struct ps_dname *apex)
{
	for (int i = 0; i < c->nzones; i++)
		if (c->zones[i].apex.len == apex->len &&
		    !memcmp(c->zones[i].apex.wire, apex->wire, apex->len))
			return i;
	return -1;
}

int ps_conf_zone_of(const struct ps_conf *c, const struct ps_dname *name)
{
	int best = -1;

	for (int i = 0; i < c->nzones; i++)
		if (ps_dname_within(name, &c->zones[i].apex) &&
		    (best < 0 || c->zones[i].apex.labels >
				 c->zones[best].apex.labels))
			best = i;
	return best;
}
