// SPDX-License-Identifier: GPL-2.0-only
/*
 * Words to JSON: prefix matching (like ip(8): any unique prefix of a
 * word stands for it; an exact word wins) and the keyword specs of cmds.c.  Everything
 * that can be checked without steerd -- numbers, addresses, DNS names,
 * choices, missing or repeated words -- is checked here, so a usage error
 * never sends anything.  Ranges are left to steerd, whose config parser
 * is the one authority on what is valid.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "steerctl.h"

#define KW_WORDS_MAX	64

static void join(char *buf, size_t len, const char *const *names, int n,
		 const char *prefix)
{
	size_t used = 0;

	buf[0] = 0;
	for (int i = 0; i < n && used < len; i++) {
		if (prefix && strncmp(names[i], prefix, strlen(prefix)))
			continue;
		used += snprintf(buf + used, len - used, "%s%s",
				 used ? ", " : "", names[i]);
	}
}

int match_word(const char *where, const char *kind, const char *word,
	       const char *const *names, int n)
{
	size_t len = strlen(word);
	int found = -1, hits = 0;
	char list[512];

	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], word))
			return i;
		if (len && !strncmp(names[i], word, len)) {
			found = i;
			hits++;
		}
	}
	if (hits == 1)
		return found;
	join(list, sizeof(list), names, n, hits ? word : NULL);
	if (hits)
		return usage_err("%s: ambiguous %s '%s' (matches: %s)", where,
				 kind, word, list);
	return usage_err("%s: unknown %s '%s' (expected one of: %s)", where,
			 kind, word, list);
}

/* ---- values --------------------------------------------------------------- */

static int check_name(const char *where, const struct kw *kw, const char *t)
{
	char buf[1024], why[PS_ERR_MAX], *at;
	struct ps_dname dn;

	snprintf(buf, sizeof(buf), "%s", t);
	at = strchr(buf, '@');
	if (kw->type == T_MAILBOX && at)
		*at = '.';
	if (ps_dname_from_text(&dn, buf, why, sizeof(why)))
		return usage_err("%s: %s", where, why);
	return 0;
}

static int to_number(const char *where, const struct kw *kw, const char *t,
		     json_t **v)
{
	unsigned long long n;
	char *end;

	/* digits only: no sign, no hex, no spaces that strtoull skips */
	errno = 0;
	n = strtoull(t, &end, 10);
	if (!t[0] || strspn(t, "0123456789") != strlen(t) || errno ||
	    n > UINT32_MAX)
		return usage_err("%s: %s '%s' is not a number (0..%u)", where,
				 kw->word ? kw->word : kw->meta, t, UINT32_MAX);
	*v = json_integer(n);
	return 0;
}

static int to_real(const char *where, const struct kw *kw, const char *t,
		   json_t **v)
{
	size_t digits = strspn(t, "0123456789");
	double d;
	char *end;

	/* plain decimals: no sign, exponent, hex, inf or nan */
	if (!digits || (t[digits] && (t[digits] != '.' || !t[digits + 1] ||
		       strspn(t + digits + 1, "0123456789") !=
		       strlen(t + digits + 1))))
		return usage_err("%s: %s '%s' is not a decimal number (like 0.25)",
				 where, kw->word, t);
	d = strtod(t, &end);
	*v = json_real(d);
	return 0;
}

/* The JSON value of one word, or a usage error. */
static int to_value(const char *where, const struct kw *kw, const char *t,
		    json_t **v)
{
	struct ps_addr a;
	char what[96];
	int i, n = 0;

	if (!t[0])
		return usage_err("%s: empty %s", where, kw->meta);
	switch (kw->type) {
	case T_NUM:
		return to_number(where, kw, t, v);
	case T_REAL:
		return to_real(where, kw, t, v);
	case T_BOOL: {
		static const char *const yn[] = { "yes", "no" };

		snprintf(what, sizeof(what), "%s %s", where, kw->word);
		i = match_word(what, "value", t, yn, 2);
		if (i < 0)
			return i;
		*v = json_boolean(i == 0);
		return 0;
	}
	case T_DNAME:
	case T_MAILBOX:
		if (check_name(where, kw, t))
			return -EINVAL;
		break;
	case T_ADDR:
		if (ps_addr_parse(&a, t))
			return usage_err("%s: '%s' is not an IPv4 or IPv6 address",
					 where, t);
		break;
	case T_CHOICE:
		while (kw->choices[n])
			n++;
		snprintf(what, sizeof(what), "%s %s", where, kw->word);
		i = match_word(what, "value", t, kw->choices, n);
		if (i < 0)
			return i;
		t = kw->choices[i];
		break;
	case T_STR:
		break;
	}
	*v = json_string(t);
	return 0;
}

/* ---- keys ------------------------------------------------------------------ */

/* The word of the keyword that opens array `arr` ("servers[+]..."). */
static const char *opener(const struct kw *kws, const char *arr, size_t len)
{
	for (; kws->key; kws++)
		if (!strncmp(kws->key, arr, len) &&
		    !strncmp(kws->key + len, "[+]", 3))
			return kws->word;
	return "?";
}

/* Step into segment seg[len] of a key path below *obj ("soa", "servers[+]",
 * "servers[-]"), creating what is missing. */
static int step(const char *where, const struct kw *kws, const struct kw *kw,
		json_t **obj, const char *seg, size_t len)
{
	size_t base = len > 3 && seg[len - 3] == '[' ? len - 3 : len;
	char name[64];
	json_t *next;

	snprintf(name, sizeof(name), "%.*s", (int)base, seg);
	next = json_object_get(*obj, name);
	if (base == len) {		/* nested object */
		if (!next)
			json_object_set_new(*obj, name, next = json_object());
		*obj = next;
		return 0;
	}
	if (!next)
		json_object_set_new(*obj, name, next = json_array());
	if (seg[base + 1] == '+') {
		json_array_append_new(next, json_object());
	} else if (!json_array_size(next)) {
		return usage_err("%s: '%s' must follow the '%s' it applies to",
				 where, kw->word, opener(kws, seg, base));
	}
	*obj = json_array_get(next, json_array_size(next) - 1);
	return 0;
}

/* Put v at kw->key in args (takes v). */
static int put(const char *where, const struct kw *kws, const struct kw *kw,
	       json_t *args, json_t *v)
{
	const char *seg = kw->key, *dot;
	json_t *obj = args;
	size_t len;

	while ((dot = strchr(seg, '.'))) {
		if (step(where, kws, kw, &obj, seg, dot - seg)) {
			json_decref(v);
			return -EINVAL;
		}
		seg = dot + 1;
	}
	len = strlen(seg);
	if (len > 2 && !strcmp(seg + len - 2, "[]")) {
		char name[64];
		json_t *arr;

		snprintf(name, sizeof(name), "%.*s", (int)len - 2, seg);
		arr = json_object_get(obj, name);
		if (!arr)
			json_object_set_new(obj, name, arr = json_array());
		return json_array_append_new(arr, v) ? -ENOMEM : 0;
	}
	if (json_object_get(obj, seg)) {
		json_decref(v);
		return usage_err("%s: '%s' given twice", where,
				 kw->word ? kw->word : kw->meta);
	}
	return json_object_set_new(obj, seg, v) ? -ENOMEM : 0;
}

/* Is something at path key (as put() would place it) in args? */
static bool has_key(json_t *args, const char *key)
{
	char buf[64], *seg, *save = NULL, *br;
	json_t *obj = args;

	snprintf(buf, sizeof(buf), "%s", key);
	for (seg = strtok_r(buf, ".", &save); seg && obj;
	     seg = strtok_r(NULL, ".", &save)) {
		br = strchr(seg, '[');
		if (br)
			*br = 0;
		obj = json_object_get(obj, seg);
		if (br && obj)
			obj = json_array_get(obj, json_array_size(obj) - 1);
	}
	return obj != NULL;
}

/* ---- words ------------------------------------------------------------------ */

static int set_word(const char *where, const struct kw *kws,
		    const struct kw *kw, const char *text, json_t *args)
{
	json_t *v;
	int rc = to_value(where, kw, text, &v);

	return rc ? rc : put(where, kws, kw, args, v);
}

static int keyword(const char *where, const struct kw *kws, int *i,
		   int argc, char **argv, json_t *args)
{
	const struct kw *map[KW_WORDS_MAX];
	const char *names[KW_WORDS_MAX];
	int n = 0, k;

	for (const struct kw *kw = kws; kw->key && n < KW_WORDS_MAX - 1; kw++)
		if (kw->word) {
			map[n] = kw;
			names[n++] = kw->word;
		}
	if (!n && strncmp("help", argv[*i], strlen(argv[*i])))
		return usage_err("%s: unexpected argument '%s'", where, argv[*i]);
	names[n++] = "help";
	k = match_word(where, "keyword", argv[*i], names, n);
	if (k < 0)
		return k;
	if (k == n - 1)
		return -EAGAIN;
	if (*i + 1 >= argc)
		return usage_err("%s: '%s' needs a value: %s %s", where,
				 map[k]->word, map[k]->word, map[k]->meta);
	*i += 2;
	return set_word(where, kws, map[k], argv[*i - 1], args);
}

static int complete(const char *where, const struct cmd *cmd,
		    const struct kw *kws, json_t *args, int nkw)
{
	for (const struct kw *kw = kws; kw->key; kw++)
		if (kw->word && kw->flags & KW_REQ && !has_key(args, kw->key))
			return usage_err("%s: missing '%s %s'", where, kw->word,
					 kw->meta);
	if (cmd->flags & CMD_NEED_ONE && !nkw)
		return usage_err("%s: nothing to change (steerctl %s help)",
				 where, where);
	return 0;
}

int parse_args(const char *where, const struct cmd *cmd, int argc,
	       char **argv, json_t *args)
{
	static const struct kw none[] = { { NULL } };
	const struct kw *kws = cmd->kws ? cmd->kws : none, *kw;
	int i = 0, nkw = 0, rc;

	/* positional arguments first; "help" in their place asks for help */
	for (kw = kws; kw->key && !kw->word; kw++) {
		if (i < argc && !strcmp(argv[i], "help"))
			return -EAGAIN;
		if (i >= argc)
			return usage_err("%s: missing %s", where, kw->meta);
		rc = set_word(where, kws, kw, argv[i++], args);
		if (rc)
			return rc;
	}
	for (; i < argc; nkw++) {
		rc = keyword(where, kws, &i, argc, argv, args);
		if (rc)
			return rc;
	}
	return complete(where, cmd, kws, args, nkw);
}
