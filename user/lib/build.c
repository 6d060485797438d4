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

void ps_build_sel(struct ps_sel *out, const struct ps_pool_conf *pool)
{
	double w4[PS_POOL_SERVERS_MAX], w6[PS_POOL_SERVERS_MAX];
	uint64_t id4[PS_POOL_SERVERS_MAX], id6[PS_POOL_SERVERS_MAX];
	int n4 = 0, n6 = 0;
	uint32_t seed = (uint32_t)ps_hash64(pool->name, strlen(pool->name), 0);

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", pool->name);
	for (int i = 0; i < pool->nservers; i++) {
		const struct ps_server_conf *s = &pool->servers[i];

		if (s->addr.family == AF_INET) {
			memcpy(&out->addr4[n4], &s->addr.v4, 4);
			id4[n4] = ps_hash64(&s->addr.v4, 4, 4);
			w4[n4++] = s->weight;
		} else {
			memcpy(out->addr6[n6], &s->addr.v6, 16);
			id6[n6] = ps_hash64(&s->addr.v6, 16, 6);
			w6[n6++] = s->weight;
		}
	}
	out->mode = pool->mode;
	out->prefix4 = pool->prefix4;
	out->prefix6 = pool->prefix6;
	out->seed = seed;
	out->a4 = ps_sel_fill(out->slot4, n4, w4, id4, pool->answers,
			      pool->mode, seed);
	out->a6 = ps_sel_fill(out->slot6, n6, w6, id6, pool->answers,
			      pool->mode, seed ^ 0x9e3779b9);
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

int ps_image_build(struct ps_image *img, const struct ps_conf *conf)
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
	for (int i = 0; i < conf->npools; i++)
		ps_build_sel(&img->sels[i], &conf->pools[i]);

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
