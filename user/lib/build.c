// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "build.h"
#include "sel.h"

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
	return p + 4;
}

/* name in an NS answer, compressed against the apex at offset 12 */
static uint8_t *put_ns_name(uint8_t *p, const struct ps_dname *ns,
			    const struct ps_dname *apex)
{
	if (ps_dname_within(ns, apex)) {
		size_t keep = ns->len - apex->len;

		memcpy(p, ns->wire, keep);
		p += keep;
		return put16(p, 0xc000 | PS_DNS_HDR_LEN);
	}
	memcpy(p, ns->wire, ns->len);
	return p + ns->len;
}

void ps_build_zone(struct ps_zone *out, const struct ps_zone_conf *z)
{
	uint8_t *p, *rdlen;
	uint32_t neg = z->minimum < z->ttl ? z->minimum : z->ttl;

	memset(out, 0, sizeof(*out));
	/* SOA, owner left to the data plane */
	p = out->soa;
	p = put16(p, PS_T_SOA);
	p = put16(p, PS_C_IN);
	p = put32(p, z->ttl);
	rdlen = p;
	p += 2;
	memcpy(p, z->mname.wire, z->mname.len);
	p += z->mname.len;
	memcpy(p, z->rname.wire, z->rname.len);
	p += z->rname.len;
	p = put32(p, z->serial);
	p = put32(p, z->refresh);
	p = put32(p, z->retry);
	p = put32(p, z->expire);
	p = put32(p, z->minimum);
	put16(rdlen, p - rdlen - 2);
	out->soa_len = p - out->soa;
	out->soa_ttl = htonl(z->ttl);
	/* RFC 2308 section 3: negative answers carry the SOA with
	 * min(SOA TTL, SOA MINIMUM) */
	out->neg_ttl = htonl(neg);

	p = out->ns;
	for (int i = 0; i < z->nns; i++) {
		p = put16(p, 0xc000 | PS_DNS_HDR_LEN);
		p = put16(p, PS_T_NS);
		p = put16(p, PS_C_IN);
		p = put32(p, z->ttl);
		rdlen = p;
		p = put_ns_name(p + 2, &z->ns[i], &z->apex);
		put16(rdlen, p - rdlen - 2);
	}
	out->ns_len = p - out->ns;
	out->ns_count = z->nns;
}

/*
 * One address family of a pool's table, from the servers' states under
 * its policy.  The weights behind the installed table are kept in rt:
 * a change of every share under the pool's threshold (same servers
 * usable) keeps the table as it is.  Returns 1 if servers of the family
 * exist but none can be answered (the fallback's business).
 */
static int build_family(const struct ps_pool_conf *pool, struct ps_pool_rt *rt,
			int fam, int n, const int *idx,
			uint8_t slots[PS_SEL_SLOTS][PS_ANSWERS_MAX], __u8 *a,
			uint32_t seed, const uint64_t *id)
{
	const struct ps_srv_state *srv[PS_POOL_SERVERS_MAX] = { 0 };
	struct ps_srv_state conf_state[PS_POOL_SERVERS_MAX];
	double sw[PS_POOL_SERVERS_MAX] = { 0 }, w[PS_POOL_SERVERS_MAX];
	int order[PS_POOL_SERVERS_MAX], keep = rt ? rt->keep[fam] : -1;
	int usable, none;

	for (int i = 0; i < n; i++) {
		const struct ps_server_conf *s = &pool->servers[idx[i]];

		if (rt) {
			srv[i] = &rt->srv[idx[i]];
		} else {	/* no probes: the config alone */
			memset(&conf_state[i], 0, sizeof(conf_state[i]));
			conf_state[i].admin = s->admin;
			conf_state[i].initial = s->initial;
			srv[i] = &conf_state[i];
		}
		sw[i] = s->weight;
	}
	usable = ps_policy_weights(pool->policy, n, srv, sw, pool->margin,
				   &keep, w, order);
	if (rt)
		rt->keep[fam] = keep;
	none = usable == 0 && n > 0;
	if (none) {
		if (pool->fallback != PS_FB_ALL) {
			*a = 0;
			if (rt)
				rt->have_last[fam] = false;
			return 1;
		}
		/* answer them all anyway, but never the switched-off ones */
		for (int i = 0; i < n; i++)
			w[i] = srv[i]->admin == PS_ADMIN_UP ? sw[i] : 0;
	}
	if (rt && pool->policy != PS_POL_LOWEST && rt->have_last[fam] &&
	    ps_share_change(n, w, rt->last[fam]) < pool->threshold) {
		bool same = true;

		for (int i = 0; i < n; i++)
			same &= (w[i] > 0) == (rt->last[fam][i] > 0);
		if (same)
			memcpy(w, rt->last[fam], n * sizeof(*w));
	}
	if (pool->policy == PS_POL_LOWEST && usable > 0) {
		*a = ps_sel_fill_order(slots, order, usable, pool->answers);
	} else if (rt && rt->have_slots[fam] && rt->have_last[fam] &&
		   !memcmp(w, rt->last[fam], n * sizeof(*w))) {
		/* the same weights: the same table, without hashing it again */
		*a = rt->a[fam];
		memcpy(slots, rt->slots[fam], sizeof(rt->slots[fam]));
	} else {
		*a = ps_sel_fill(slots, n, w, id, pool->answers, pool->mode, seed);
		if (rt) {
			rt->a[fam] = *a;
			memcpy(rt->slots[fam], slots, sizeof(rt->slots[fam]));
			rt->have_slots[fam] = true;
		}
	}
	if (rt) {
		memcpy(rt->last[fam], w, n * sizeof(*w));
		rt->have_last[fam] = true;
	}
	return none;
}

int ps_build_sel(struct ps_sel *out, const struct ps_pool_conf *pool,
		 struct ps_pool_rt *rt)
{
	int idx4[PS_POOL_SERVERS_MAX], idx6[PS_POOL_SERVERS_MAX];
	uint64_t id4[PS_POOL_SERVERS_MAX], id6[PS_POOL_SERVERS_MAX];
	int n4 = 0, n6 = 0, none = 0;
	uint32_t seed = (uint32_t)ps_hash64(pool->name, strlen(pool->name), 0);

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", pool->name);
	for (int i = 0; i < pool->nservers; i++) {
		const struct ps_server_conf *s = &pool->servers[i];

		if (s->addr.family == AF_INET) {
			memcpy(&out->addr4[n4], &s->addr.v4, 4);
			id4[n4] = ps_hash64(&s->addr.v4, 4, 4);
			idx4[n4++] = i;
		} else {
			memcpy(out->addr6[n6], &s->addr.v6, 16);
			id6[n6] = ps_hash64(&s->addr.v6, 16, 6);
			idx6[n6++] = i;
		}
	}
	out->mode = pool->mode;
	out->prefix4 = pool->prefix4;
	out->prefix6 = pool->prefix6;
	out->seed = seed;
	if (build_family(pool, rt, 0, n4, idx4, out->slot4, &out->a4, seed, id4))
		none |= 1;
	if (build_family(pool, rt, 1, n6, idx6, out->slot6, &out->a6,
			 seed ^ 0x9e3779b9, id6))
		none |= 2;
	if (pool->fallback == PS_FB_SERVFAIL)
		out->flags = (none & 1 ? PS_SEL_SERVFAIL4 : 0) |
			     (none & 2 ? PS_SEL_SERVFAIL6 : 0);
	return none;
}

/* Fallback to a backup pool: its table for the families that have no
 * server to answer here. */
static void use_backup(struct ps_sel *sel, const struct ps_sel *backup,
		       int none)
{
	if (none & 1) {
		sel->flags |= backup->flags & PS_SEL_SERVFAIL4;
		sel->a4 = backup->a4;
		memcpy(sel->slot4, backup->slot4, sizeof(sel->slot4));
		memcpy(sel->addr4, backup->addr4, sizeof(sel->addr4));
	}
	if (none & 2) {
		sel->flags |= backup->flags & PS_SEL_SERVFAIL6;
		sel->a6 = backup->a6;
		memcpy(sel->slot6, backup->slot6, sizeof(sel->slot6));
		memcpy(sel->addr6, backup->addr6, sizeof(sel->addr6));
	}
}

void ps_image_pools(struct ps_image *img, const struct ps_conf *conf,
		    struct ps_pool_rt *rt, const bool *only)
{
	int none[PS_MAX_POOLS], backup[PS_MAX_POOLS];
	bool redo[PS_MAX_POOLS];

	for (int i = 0; i < conf->npools; i++) {
		backup[i] = conf->pools[i].fallback == PS_FB_POOL ?
			    ps_conf_find_pool(conf, conf->pools[i].backup) : -1;
		redo[i] = !only || only[i];
	}
	/* a pool may be answering its backup's table */
	for (int i = 0; i < conf->npools; i++)
		redo[i] |= backup[i] >= 0 && (!only || only[backup[i]]);
	for (int i = 0; i < conf->npools; i++)
		if (redo[i])
			none[i] = ps_build_sel(&img->sels[i], &conf->pools[i],
					       rt ? &rt[i] : NULL);
	for (int i = 0; i < conf->npools; i++)
		if (redo[i] && none[i] && backup[i] >= 0)
			use_backup(&img->sels[i], &img->sels[backup[i]], none[i]);
}

static struct ps_image_name *add_name(struct ps_image *img,
				      const struct ps_dname *n, int *cap)
{
	if (img->nnames == *cap) {
		int ncap = *cap ? *cap * 2 : 64;
		void *p = realloc(img->names, ncap * sizeof(*img->names));

		if (!p)
			return NULL;
		img->names = p;
		*cap = ncap;
	}
	memset(&img->names[img->nnames], 0, sizeof(img->names[0]));
	img->names[img->nnames].key = *n;
	return &img->names[img->nnames++];
}

/* Empty non-terminals between name and the apex of zone z. */
static int add_ents(struct ps_image *img, const struct ps_conf *conf,
		    const struct ps_dname *name, int z, int *cap)
{
	const struct ps_zone_conf *zc = &conf->zones[z];

	for (int up = 1; name->labels - up > zc->apex.labels; up++) {
		struct ps_dname anc;
		struct ps_image_name *e;

		ps_dname_parent(&anc, name, up);
		e = add_name(img, &anc, cap);
		if (!e)
			return -1;
		e->val.zone = z;
		e->val.zone_labels = zc->apex.labels;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct ps_image_name *x = a, *y = b;

	if (x->key.len != y->key.len)
		return x->key.len - y->key.len;
	return memcmp(x->key.wire, y->key.wire, x->key.len);
}

/* Merge entries with the same key: an apex that is also a steered name
 * has both flags; an empty non-terminal gives way to a real entry. */
static void merge_names(struct ps_image *img)
{
	int out = 0;

	qsort(img->names, img->nnames, sizeof(*img->names), cmp_name);
	for (int i = 0; i < img->nnames; i++) {
		struct ps_image_name *e = &img->names[i];
		struct ps_image_name *prev = out ? &img->names[out - 1] : NULL;

		if (prev && !cmp_name(prev, e)) {
			if (e->val.flags & PS_NAME_POOL) {
				prev->val.pool = e->val.pool;
				prev->val.ttl = e->val.ttl;
			}
			if (e->val.flags) {
				prev->val.zone = e->val.zone;
				prev->val.zone_labels = e->val.zone_labels;
			}
			prev->val.flags |= e->val.flags;
			continue;
		}
		img->names[out++] = *e;
	}
	img->nnames = out;
}

int ps_image_build_rt(struct ps_image *img, const struct ps_conf *conf,
		      struct ps_pool_rt *rt)
{
	int cap = 0;

	memset(img, 0, sizeof(*img));
	img->cfg.dns_port = htons(conf->dns_port);
	img->cfg.edns_size = conf->edns_size;
	img->cfg.n_listen4 = conf->nlisten4;
	img->cfg.n_listen6 = conf->nlisten6;
	for (int i = 0; i < conf->nlisten4; i++)
		img->cfg.listen4[i] = conf->listen4[i].s_addr;
	for (int i = 0; i < conf->nlisten6; i++)
		memcpy(img->cfg.listen6[i], &conf->listen6[i], 16);

	img->npools = conf->npools;
	img->nzones = conf->nzones;
	img->sels = calloc(conf->npools ? conf->npools : 1, sizeof(*img->sels));
	img->zones = calloc(conf->nzones ? conf->nzones : 1, sizeof(*img->zones));
	if (!img->sels || !img->zones)
		goto nomem;
	ps_image_pools(img, conf, rt, NULL);

	for (int i = 0; i < conf->nzones; i++) {
		const struct ps_zone_conf *z = &conf->zones[i];
		struct ps_image_name *e;

		ps_build_zone(&img->zones[i], z);
		if (z->apex.labels > img->cfg.max_apex_labels)
			img->cfg.max_apex_labels = z->apex.labels;
		e = add_name(img, &z->apex, &cap);
		if (!e)
			goto nomem;
		e->val.flags |= PS_NAME_APEX;
		e->val.zone = i;
		e->val.zone_labels = z->apex.labels;
	}
	for (int i = 0; i < conf->nnames; i++) {
		const struct ps_name_conf *n = &conf->names[i];
		const struct ps_zone_conf *z = &conf->zones[n->zone];
		struct ps_image_name *e = add_name(img, &n->name, &cap);

		if (!e)
			goto nomem;
		e->val.flags |= PS_NAME_POOL;
		e->val.pool = n->pool;
		e->val.ttl = n->ttl;
		e->val.zone = n->zone;
		e->val.zone_labels = z->apex.labels;
	}
	/* empty non-terminals last, so they never shadow a real entry */
	for (int i = 0; i < conf->nnames; i++)
		if (add_ents(img, conf, &conf->names[i].name,
			     conf->names[i].zone, &cap))
			goto nomem;
	for (int i = 0; i < conf->nzones; i++) {
		struct ps_dname parent;
		int pz;

		if (conf->zones[i].apex.labels < 2)
			continue;
		ps_dname_parent(&parent, &conf->zones[i].apex, 1);
		pz = ps_conf_zone_of(conf, &parent);
		if (pz >= 0 && add_ents(img, conf, &conf->zones[i].apex, pz, &cap))
			goto nomem;
	}
	merge_names(img);
	return 0;
nomem:
	ps_image_free(img);
	return -1;
}

void ps_image_free(struct ps_image *img)
{
	free(img->sels);
	free(img->zones);
	free(img->names);
	memset(img, 0, sizeof(*img));
}
