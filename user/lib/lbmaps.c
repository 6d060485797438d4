// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lbmaps.h"
#include "maglev.h"
#include "score.h"
#include "sel.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void addr16(uint8_t out[16], const struct ps_addr *a)
{
	memset(out, 0, 16);
	if (a->family == AF_INET)
		memcpy(out, &a->v4, 4);
	else
		memcpy(out, &a->v6, 16);
}

void ps_lb_vip_key(struct ps_vip_key *k, const struct ps_vip_conf *v)
{
	memset(k, 0, sizeof(*k));
	addr16(k->addr, &v->addr);
	k->port = htons(v->port);
	k->proto = v->proto;
	k->family = v->addr.family == AF_INET ? 4 : 6;
}

/* What the maps hold: ids in use before us (a restart) keep their place. */
static int read_back(struct ps_lb_maps *lb)
{
	struct ps_vip_key key, next, *prev = NULL;
	struct ps_vip vip;

	for (uint32_t i = 0; i < PS_MAX_REALS; i++)
		if (bpf_map_lookup_elem(lb->reals, &i, &lb->real[i]))
			return -errno;
	/* a real in the map but in no model yet: freed now */
	for (int i = 0; i < PS_MAX_REALS; i++)
		if (lb->real[i].family)
			lb->real_freed[i] = now_ms();
	while (!bpf_map_get_next_key(lb->vips, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(lb->vips, &key, &vip) || vip.id >= PS_MAX_VIPS)
			continue;
		lb->vip_key[vip.id] = key;
		lb->vip_used[vip.id] = true;
	}
	return 0;
}

static void reset(struct ps_lb_maps *lb)
{
	memset(lb, 0, sizeof(*lb));
	lb->vips = lb->reals = lb->maglev = lb->conn = -1;
	lb->vip_stats = lb->real_stats = -1;
	lb->ncpu = libbpf_num_possible_cpus();
}

int ps_lb_from_object(struct ps_lb_maps *lb, struct bpf_object *obj)
{
	struct { int *fd; const char *name; } all[] = {
		{ &lb->vips, PS_MAP_VIPS }, { &lb->reals, PS_MAP_REALS },
		{ &lb->maglev, PS_MAP_MAGLEV }, { &lb->conn, PS_MAP_CONN },
		{ &lb->vip_stats, PS_MAP_VIP_STATS },
		{ &lb->real_stats, PS_MAP_REAL_STATS },
	};

	reset(lb);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, all[i].name);

		*all[i].fd = m ? bpf_map__fd(m) : -1;
		if (*all[i].fd < 0)
			return -ENOENT;
	}
	return read_back(lb);
}

int ps_lb_open(struct ps_lb_maps *lb, const char *pin_dir, char *err,
	       size_t errlen)
{
	const char *names[] = { PS_MAP_VIPS, PS_MAP_REALS, PS_MAP_MAGLEV,
				PS_MAP_CONN, PS_MAP_VIP_STATS, PS_MAP_REAL_STATS };
	int *fds[] = { &lb->vips, &lb->reals, &lb->maglev, &lb->conn,
		       &lb->vip_stats, &lb->real_stats };

	reset(lb);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/%s", pin_dir, names[i]);
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			int e = errno;

			snprintf(err, errlen, "Couldn't open pinned map %s: %s",
				 path, strerror(e));
			ps_lb_close(lb);
			return -e;
		}
	}
	return read_back(lb);
}

void ps_lb_close(struct ps_lb_maps *lb)
{
	int fds[] = { lb->vips, lb->reals, lb->maglev, lb->conn,
		      lb->vip_stats, lb->real_stats };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	reset(lb);
}

int ps_lb_real_id(const struct ps_lb_maps *lb, const struct ps_addr *a)
{
	uint8_t want[16];
	int fam = a->family == AF_INET ? 4 : 6;

	addr16(want, a);
	for (int i = 0; i < PS_MAX_REALS; i++)
		if (lb->real[i].family == fam && !memcmp(lb->real[i].addr, want, 16))
			return i;
	return -1;
}

int ps_lb_vip_id(const struct ps_lb_maps *lb, const struct ps_vip_conf *v)
{
	struct ps_vip_key k;

	ps_lb_vip_key(&k, v);
	for (int i = 0; i < PS_MAX_VIPS; i++)
		if (lb->vip_used[i] && !memcmp(&lb->vip_key[i], &k, sizeof(k)))
			return i;
	return -1;
}

/* An id for a new real: never used ones first, then the longest freed;
 * never one the old model (real_live) or the new one (live) uses. */
static int real_alloc(struct ps_lb_maps *lb, const bool *live)
{
	int best = -1;

	for (int i = 0; i < PS_MAX_REALS; i++) {
		if (lb->real_live[i] || live[i])
			continue;
		if (!lb->real[i].family)
			return i;
		if (best < 0 || lb->real_freed[i] < lb->real_freed[best])
			best = i;
	}
	return best;
}

static int vip_alloc(const struct ps_lb_maps *lb, const bool *taken)
{
	for (int i = 0; i < PS_MAX_VIPS; i++)
		if (!lb->vip_used[i] && !taken[i])
			return i;
	for (int i = 0; i < PS_MAX_VIPS; i++)	/* ids of VIPs going away */
		if (!taken[i])
			return i;
	return -1;
}

/* A new VIP or real starts with zero counters, whatever the id's last
 * holder counted. */
static int stats_zero(const struct ps_lb_maps *lb, int fd, int id)
{
	struct ps_lb_stats *z = calloc(lb->ncpu > 0 ? lb->ncpu : 1, sizeof(*z));
	__u32 key = id;
	int rc = 0;

	if (!z)
		return -ENOMEM;
	if (fd >= 0 && lb->ncpu > 0 && bpf_map_update_elem(fd, &key, z, BPF_ANY))
		rc = -errno;
	free(z);
	return rc;
}

static int write_real(struct ps_lb_maps *lb, int id, const struct ps_real *r,
		      struct ps_lb_report *rep)
{
	__u32 key = id;

	if (!memcmp(&lb->real[id], r, sizeof(*r)))
		return 0;
	if (bpf_map_update_elem(lb->reals, &key, r, BPF_ANY))
		return -errno;
	lb->real[id] = *r;
	rep->reals_written++;
	return 0;
}

/* A new table for VIP id from its backends' real ids and weights, swapped
 * in whole. */
static int build_table(struct ps_lb_maps *lb, int id, const struct ps_vip_conf *v,
		       int n, const uint16_t *rid, const double *w, uint32_t seed)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	uint32_t nent = (v->table_size + PS_MAGLEV_PER_ENT - 1) / PS_MAGLEV_PER_ENT;
	uint64_t ids[PS_POOL_SERVERS_MAX];
	struct ps_maglev_ent *ents;
	uint16_t *table;
	__u32 *keys, count = nent, key = id;
	int fd, rc;

	table = malloc(v->table_size * sizeof(*table));
	ents = calloc(nent, sizeof(*ents));
	keys = malloc(nent * sizeof(*keys));
	if (!table || !ents || !keys) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++)	/* a backend's place follows its address */
		ids[i] = ps_hash64(&lb->real[rid[i]].addr, 16, lb->real[rid[i]].family);
	rc = ps_maglev_build(table, v->table_size, n, ids, w, seed);
	if (rc < 0)
		goto out;
	for (uint32_t i = 0; i < nent * PS_MAGLEV_PER_ENT; i++) {
		uint16_t b = i < v->table_size ? table[i] : PS_MAGLEV_NONE;

		ents[i / PS_MAGLEV_PER_ENT].real[i % PS_MAGLEV_PER_ENT] =
			b == PS_MAGLEV_NONE ? PS_REAL_NONE : rid[b];
	}
	for (uint32_t i = 0; i < nent; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ps_maglev_t", sizeof(__u32),
			    sizeof(struct ps_maglev_ent), nent, &opts);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = bpf_map_update_batch(fd, keys, ents, &count, NULL);
	/* the outer map holds the table from now on; the old one goes when
	 * the last reader of it is done */
	if (!rc && bpf_map_update_elem(lb->maglev, &key, &fd, BPF_ANY))
		rc = -errno;
	else if (rc)
		rc = -errno;
	close(fd);
out:
	free(table);
	free(ents);
	free(keys);
	return rc;
}

int ps_lb_sync(struct ps_lb_maps *lb, const struct ps_conf *conf,
	       struct ps_lb_backend *const *backends, const int *nb,
	       const bool *only, struct ps_lb_report *rep)
{
	bool live[PS_MAX_REALS] = { 0 }, taken[PS_MAX_VIPS] = { 0 };
	uint8_t flags[PS_MAX_REALS] = { 0 };
	int vid[PS_MAX_VIPS];
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	/* 1. ids: every backend of every VIP has one, addresses kept */
	for (int v = 0; v < conf->nvips; v++) {
		vid[v] = ps_lb_vip_id(lb, &conf->vips[v]);
		if (vid[v] >= 0)
			taken[vid[v]] = true;
	}
	for (int v = 0; v < conf->nvips; v++) {
		if (vid[v] < 0) {
			if ((vid[v] = vip_alloc(lb, taken)) < 0)
				return -ENOSPC;
			/* the id of a VIP going away (all ids in use): that
			 * VIP leaves ps_vips first, or its packets would take
			 * the new one's table, and its key would stay */
			if (lb->vip_used[vid[v]]) {
				bpf_map_delete_elem(lb->vips, &lb->vip_key[vid[v]]);
				lb->vip_used[vid[v]] = false;
				lb->last[vid[v]].valid = false;
				rep->vips_deleted++;
			}
			if ((rc = stats_zero(lb, lb->vip_stats, vid[v])))
				return rc;
		}
		taken[vid[v]] = true;
		for (int b = 0; b < nb[v]; b++) {
			const struct ps_lb_backend *be = &backends[v][b];
			int id = ps_lb_real_id(lb, &be->addr);
			struct ps_real r;

			if (id < 0) {
				id = real_alloc(lb, live);
				if (id < 0)
					return -ENOSPC;
				if ((rc = stats_zero(lb, lb->real_stats, id)))
					return rc;
				memset(&r, 0, sizeof(r));
				addr16(r.addr, &be->addr);
				r.family = be->addr.family == AF_INET ? 4 : 6;
				/* written before any table names it */
				rc = write_real(lb, id, &r, rep);
				if (rc)
					return rc;
			}
			live[id] = true;
			/* a server in several VIPs: the most usable state */
			if ((be->flags & PS_REAL_UP) ||
			    (be->flags & PS_REAL_DRAIN && !(flags[id] & PS_REAL_UP)))
				flags[id] = be->flags;
			if (be->has_mac) {
				r = lb->real[id];
				memcpy(r.mac, be->mac, 6);
				r.flags = lb->real[id].flags;
				rc = write_real(lb, id, &r, rep);
				if (rc)
					return rc;
			}
		}
	}
	/* 2. states that let flows in: before the tables name them */
	for (int i = 0; i < PS_MAX_REALS; i++) {
		struct ps_real r = lb->real[i];

		if (!r.family || !(flags[i] & ~r.flags))
			continue;
		r.flags |= flags[i];
		if ((rc = write_real(lb, i, &r, rep)))
			return rc;
	}

	/* 3. VIPs and their tables */
	for (int v = 0; v < conf->nvips; v++) {
		const struct ps_vip_conf *vc = &conf->vips[v];
		const struct ps_pool_conf *pool = &conf->pools[vc->pool];
		uint16_t rid[PS_POOL_SERVERS_MAX];
		double w[PS_POOL_SERVERS_MAX];
		struct ps_vip val = { 0 };
		struct ps_vip_key key;
		int id = vid[v], n = nb[v] < PS_POOL_SERVERS_MAX ? nb[v] : PS_POOL_SERVERS_MAX;
		bool same = false;

		ps_lb_vip_key(&key, vc);
		val.seed = (uint32_t)ps_hash64(vc->name, strlen(vc->name), 7);
		for (int b = 0; b < n; b++) {
			rid[b] = ps_lb_real_id(lb, &backends[v][b].addr);
			w[b] = backends[v][b].weight;
		}
		if (lb->last[id].valid && lb->last[id].n == n &&
		    lb->last[id].size == vc->table_size &&
		    lb->last[id].seed == val.seed &&
		    !memcmp(lb->last[id].rid, rid, n * sizeof(*rid))) {
			bool in = true;

			/* same backends in and out: within the threshold
			 * the table stays */
			for (int b = 0; b < n; b++)
				in &= (w[b] > 0) == (lb->last[id].w[b] > 0);
			same = !memcmp(lb->last[id].w, w, n * sizeof(*w)) ||
			       (in && ps_share_change(n, w, lb->last[id].w) <
				      pool->threshold);
		}
		if (!same && (!only || only[v] || !lb->last[id].valid)) {
			rc = build_table(lb, id, vc, n, rid, w, val.seed);
			if (rc)
				return rc;
			lb->last[id].valid = true;
			lb->last[id].n = n;
			lb->last[id].size = vc->table_size;
			lb->last[id].seed = val.seed;
			memcpy(lb->last[id].rid, rid, n * sizeof(*rid));
			memcpy(lb->last[id].w, w, n * sizeof(*w));
			rep->tables_built++;
		}
		val.id = id;
		val.size = vc->table_size;
		val.mode = vc->mode;
		if (vc->mode == PS_FWD_IPIP) {
			const struct ps_addr *src = vc->addr.family == AF_INET ?
						    &conf->tun4 : &conf->tun6;
			int len = vc->addr.family == AF_INET ? conf->tun4_len : conf->tun6_len;
			int bits = vc->addr.family == AF_INET ? 32 : 128;

			addr16(val.tun_src, src);
			for (int bit = len; bit < bits; bit++)
				val.tun_host[bit / 8] |= 0x80 >> (bit % 8);
		}
		{
			struct ps_vip cur;

			if (bpf_map_lookup_elem(lb->vips, &key, &cur) ||
			    memcmp(&cur, &val, sizeof(val))) {
				if (bpf_map_update_elem(lb->vips, &key, &val, BPF_ANY))
					return -errno;
				rep->vips_written++;
			}
		}
		lb->vip_key[id] = key;
		lb->vip_used[id] = true;
	}

	/* 4. VIPs gone: out of ps_vips, then their tables */
	for (int i = 0; i < PS_MAX_VIPS; i++) {
		__u32 k = i;

		if (!lb->vip_used[i] || taken[i])
			continue;
		bpf_map_delete_elem(lb->vips, &lb->vip_key[i]);
		bpf_map_delete_elem(lb->maglev, &k);
		lb->vip_used[i] = false;
		lb->last[i].valid = false;
		rep->vips_deleted++;
	}

	/* 5. states that keep flows out: after the tables stopped naming
	 * them; reals no VIP uses are freed (their flows are placed again) */
	for (int i = 0; i < PS_MAX_REALS; i++) {
		struct ps_real r = lb->real[i];

		if (!r.family || r.flags == flags[i])
			continue;
		r.flags = flags[i];
		if ((rc = write_real(lb, i, &r, rep)))
			return rc;
	}
	for (int i = 0; i < PS_MAX_REALS; i++)
		if (lb->real_live[i] && !live[i])
			lb->real_freed[i] = now_ms();
	memcpy(lb->real_live, live, sizeof(live));
	return 0;
}

static int stats_sum(int fd, int ncpu, int id, struct ps_lb_stats *out)
{
	struct ps_lb_stats *per;
	__u32 key = id;

	memset(out, 0, sizeof(*out));
	if (fd < 0 || ncpu <= 0)
		return -EINVAL;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, per)) {
		int e = -errno;

		free(per);
		return e;
	}
	for (int c = 0; c < ncpu; c++) {
		out->packets += per[c].packets;
		out->bytes += per[c].bytes;
		out->new_flows += per[c].new_flows;
		out->replaced += per[c].replaced;
		out->icmp += per[c].icmp;
		out->no_backend += per[c].no_backend;
		out->fib_fail += per[c].fib_fail;
	}
	free(per);
	return 0;
}

int ps_lb_vip_stats(const struct ps_lb_maps *lb, int id, struct ps_lb_stats *out)
{
	return stats_sum(lb->vip_stats, lb->ncpu, id, out);
}

int ps_lb_real_stats(const struct ps_lb_maps *lb, int id, struct ps_lb_stats *out)
{
	return stats_sum(lb->real_stats, lb->ncpu, id, out);
}
