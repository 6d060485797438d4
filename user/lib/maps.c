// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "log.h"

static const size_t key_sizes[4] = { PS_KEY_S, PS_KEY_M, PS_KEY_L, PS_KEY_X };

void ps_pin_dir(char *buf, size_t len, const char *bpffs)
{
	snprintf(buf, len, "%s/%s", bpffs, PS_PIN_SUBDIR);
}

static int mkdir_p(const char *path)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int ps_bpffs_prepare(const char *bpffs, char *err, size_t errlen)
{
	struct statfs sfs;
	char dir[512];
	int rc;

	if (statfs(bpffs, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		if (strcmp(bpffs, PS_BPFFS_DEFAULT)) {
			snprintf(err, errlen,
				 "no bpf filesystem at %s (mount -t bpf bpf %s)",
				 bpffs, bpffs);
			return -ENOENT;
		}
		if (mount("bpf", bpffs, "bpf", 0, "mode=0700")) {
			snprintf(err, errlen, "Couldn't mount bpffs at %s: %s",
				 bpffs, strerror(errno));
			return -errno;
		}
	}
	ps_pin_dir(dir, sizeof(dir), bpffs);
	rc = mkdir_p(dir);
	if (rc)
		snprintf(err, errlen, "Couldn't create %s: %s", dir,
			 strerror(-rc));
	return rc;
}

static void reset(struct ps_maps *m)
{
	m->cfg = m->gen = m->sel = m->zone = m->stats = -1;
	for (int i = 0; i < 4; i++)
		m->name[i] = -1;
	m->owned = 0;
}

int ps_maps_open(struct ps_maps *m, const char *pin_dir, char *err,
		 size_t errlen)
{
	struct { int *fd; const char *name; } all[] = {
		{ &m->cfg, PS_MAP_CFG }, { &m->gen, PS_MAP_GEN },
		{ &m->sel, PS_MAP_SEL }, { &m->zone, PS_MAP_ZONE },
		{ &m->stats, PS_MAP_STATS },
		{ &m->name[0], PS_MAP_NAME_S }, { &m->name[1], PS_MAP_NAME_M },
		{ &m->name[2], PS_MAP_NAME_L }, { &m->name[3], PS_MAP_NAME_X },
	};

	reset(m);
	m->owned = 1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/%s", pin_dir, all[i].name);
		*all[i].fd = bpf_obj_get(path);
		if (*all[i].fd < 0) {
			int e = errno;

			snprintf(err, errlen, "Couldn't open pinned map %s: %s",
				 path, strerror(e));
			ps_maps_close(m);
			return -e;
		}
	}
	return 0;
}

int ps_maps_from_object(struct ps_maps *m, struct bpf_object *obj)
{
	struct { int *fd; const char *name; } all[] = {
		{ &m->cfg, PS_MAP_CFG }, { &m->gen, PS_MAP_GEN },
		{ &m->sel, PS_MAP_SEL }, { &m->zone, PS_MAP_ZONE },
		{ &m->stats, PS_MAP_STATS },
		{ &m->name[0], PS_MAP_NAME_S }, { &m->name[1], PS_MAP_NAME_M },
		{ &m->name[2], PS_MAP_NAME_L }, { &m->name[3], PS_MAP_NAME_X },
	};

	reset(m);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj,
								   all[i].name);

		if (!map || bpf_map__fd(map) < 0)
			return -ENOENT;
		*all[i].fd = bpf_map__fd(map);
	}
	return 0;
}

void ps_maps_close(struct ps_maps *m)
{
	if (m->owned) {
		int *fds[] = { &m->cfg, &m->gen, &m->sel, &m->zone, &m->stats,
			       &m->name[0], &m->name[1], &m->name[2],
			       &m->name[3] };

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (*fds[i] >= 0)
				close(*fds[i]);
	}
	reset(m);
}

void ps_rcu_wait(void)
{
	static int warned;

	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return;
	/* nohz_full kernels refuse MEMBARRIER_CMD_GLOBAL: XDP programs run
	 * for microseconds, so a generous sleep stands in for the grace
	 * period there */
	if (!warned++)
		pr_warn("membarrier(MEMBARRIER_CMD_GLOBAL) failed (%s): waiting 100 ms instead of an RCU grace period",
			strerror(errno));
	usleep(100000);
}

int ps_name_class(size_t len)
{
	for (int i = 0; i < 4; i++)
		if (len <= key_sizes[i])
			return i;
	return -1;
}

size_t ps_name_key(__u8 *key, const __u8 *wire, size_t len)
{
	int c = ps_name_class(len);

	memset(key, 0, PS_KEY_X);
	memcpy(key, wire, len);
	return key_sizes[c];
}

static int get_gen(const struct ps_maps *m, __u32 idx, __u32 *gen)
{
	if (bpf_map_lookup_elem(m->gen, &idx, gen))
		return -errno;
	*gen &= 1;
	return 0;
}

/* Write obj's inactive buffer and make it the active one.  Skips the
 * write when the active buffer already holds val. */
static int write_buffered(const struct ps_maps *m, int fd, __u32 obj,
			  __u32 gen_idx, const void *val, size_t size,
			  void *scratch, int *written)
{
	__u32 gen, key, ngen;
	int rc;

	rc = get_gen(m, gen_idx, &gen);
	if (rc)
		return rc;
	key = PS_BUF(obj, gen);
	if (bpf_map_lookup_elem(fd, &key, scratch))
		return -errno;
	if (!memcmp(scratch, val, size))
		return 0;
	ngen = gen ^ 1;
	key = PS_BUF(obj, ngen);
	if (bpf_map_update_elem(fd, &key, val, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(m->gen, &gen_idx, &ngen, BPF_ANY))
		return -errno;
	(*written)++;
	return 0;
}

/* wire length of a key: walk its labels */
static size_t wire_len(const __u8 *key, size_t size)
{
	size_t len = 0;

	while (len < size && key[len])
		len += key[len] + 1;
	return len + 1;
}

static int cmp_wire(const struct ps_image_name *e, const __u8 *wire,
		    size_t len)
{
	if (e->key.len != len)
		return (int)e->key.len - (int)len;
	return memcmp(e->key.wire, wire, len);
}

/* img->names is sorted by (length, bytes): see build.c */
static int img_has_name(const struct ps_image *img, const __u8 *wire,
			size_t len)
{
	int lo = 0, hi = img->nnames - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = cmp_wire(&img->names[mid], wire, len);

		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

struct existing {
	char pool_name[PS_MAX_POOLS][PS_OBJ_NAME_MAX];
	int zone_used[PS_MAX_ZONES];
	struct { __u8 wire[PS_NAME_WIRE_MAX]; int len; } zone_apex[PS_MAX_ZONES];
	int zone_has_apex[PS_MAX_ZONES];
};

static int read_existing(const struct ps_maps *m, struct existing *ex)
{
	struct ps_sel *sel = malloc(sizeof(*sel));
	__u8 key[PS_KEY_X], next[PS_KEY_X];
	int rc = 0;

	if (!sel)
		return -ENOMEM;
	memset(ex, 0, sizeof(*ex));
	for (__u32 i = 0; i < PS_MAX_POOLS; i++) {
		__u32 gen, k;

		rc = get_gen(m, PS_GEN_POOL(i), &gen);
		if (rc)
			goto out;
		k = PS_BUF(i, gen);
		if (bpf_map_lookup_elem(m->sel, &k, sel)) {
			rc = -errno;
			goto out;
		}
		memcpy(ex->pool_name[i], sel->name, PS_OBJ_NAME_MAX);
		ex->pool_name[i][PS_OBJ_NAME_MAX - 1] = 0;
	}
	for (int c = 0; c < 4; c++) {
		void *prev = NULL;

		while (!bpf_map_get_next_key(m->name[c], prev, next)) {
			struct ps_name v;

			memcpy(key, next, key_sizes[c]);
			prev = key;
			if (bpf_map_lookup_elem(m->name[c], key, &v))
				continue;
			if (v.zone >= PS_MAX_ZONES)
				continue;
			ex->zone_used[v.zone] = 1;
			if (v.flags & PS_NAME_APEX) {
				size_t len = wire_len(key, key_sizes[c]);

				if (len <= PS_NAME_WIRE_MAX) {
					memcpy(ex->zone_apex[v.zone].wire, key, len);
					ex->zone_apex[v.zone].len = len;
					ex->zone_has_apex[v.zone] = 1;
				}
			}
		}
	}
out:
	free(sel);
	return rc;
}

/* Give each unplaced object (idx[i] < 0) a slot neither taken by this
 * sync nor still busy in the maps. */
static int assign_free(int *idx, int n, int *taken, const int *busy, int max)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; idx[i] < 0 && j < max; j++)
			if (!taken[j] && !busy[j]) {
				idx[i] = j;
				taken[j] = 1;
			}
		if (idx[i] < 0)
			return -ENOSPC;
	}
	return 0;
}

int ps_maps_sync(struct ps_maps *m, const struct ps_image *img,
		 struct ps_sync_report *rep)
{
	int pool_idx[PS_MAX_POOLS], zone_idx[PS_MAX_ZONES];
	int pool_taken[PS_MAX_POOLS] = { 0 }, zone_taken[PS_MAX_ZONES] = { 0 };
	int pool_busy[PS_MAX_POOLS];
	struct existing *ex = malloc(sizeof(*ex));
	struct ps_sel *scratch_sel = malloc(sizeof(struct ps_sel));
	struct ps_sel *empty_sel = calloc(1, sizeof(struct ps_sel));
	struct ps_zone *scratch_zone = malloc(sizeof(struct ps_zone));
	struct ps_cfg cfg, scratch_cfg;
	int flipped, rc;

	memset(rep, 0, sizeof(*rep));
	if (!ex || !scratch_sel || !empty_sel || !scratch_zone) {
		rc = -ENOMEM;
		goto out;
	}
	if (img->npools > PS_MAX_POOLS || img->nzones > PS_MAX_ZONES) {
		rc = -E2BIG;
		goto out;
	}
	rc = read_existing(m, ex);
	if (rc)
		goto out;

	/* 1. map slots: keep the slot a pool or zone already has, so names
	 * never point at another pool's table while we work */
	for (int i = 0; i < img->npools; i++) {
		pool_idx[i] = -1;
		for (int j = 0; j < PS_MAX_POOLS; j++)
			if (!strcmp(ex->pool_name[j], img->sels[i].name)) {
				pool_idx[i] = j;
				pool_taken[j] = 1;
			}
	}
	for (int i = 0; i < img->nzones; i++)
		zone_idx[i] = -1;
	for (int n = 0; n < img->nnames; n++) {
		const struct ps_image_name *e = &img->names[n];

		if (!(e->val.flags & PS_NAME_APEX))
			continue;
		for (int j = 0; j < PS_MAX_ZONES; j++)
			if (ex->zone_has_apex[j] &&
			    ex->zone_apex[j].len == e->key.len &&
			    !memcmp(ex->zone_apex[j].wire, e->key.wire, e->key.len)) {
				zone_idx[e->val.zone] = j;
				zone_taken[j] = 1;
			}
	}
	for (int j = 0; j < PS_MAX_POOLS; j++)
		pool_busy[j] = ex->pool_name[j][0] != 0;
	rc = assign_free(pool_idx, img->npools, pool_taken, pool_busy,
			 PS_MAX_POOLS);
	if (!rc)
		rc = assign_free(zone_idx, img->nzones, zone_taken,
				 ex->zone_used, PS_MAX_ZONES);
	if (rc)
		goto out;

	/* 2. tables and zone records, double buffered */
	for (int i = 0; i < img->npools; i++) {
		rc = write_buffered(m, m->sel, pool_idx[i], PS_GEN_POOL(pool_idx[i]),
				    &img->sels[i], sizeof(img->sels[i]),
				    scratch_sel, &rep->pools_written);
		if (rc)
			goto out;
	}
	for (int i = 0; i < img->nzones; i++) {
		rc = write_buffered(m, m->zone, zone_idx[i], PS_GEN_ZONE(zone_idx[i]),
				    &img->zones[i], sizeof(img->zones[i]),
				    scratch_zone, &rep->zones_written);
		if (rc)
			goto out;
	}
	if (rep->pools_written || rep->zones_written)
		ps_rcu_wait();

	/* 3. names: add and change first, then delete what is gone */
	for (int n = 0; n < img->nnames; n++) {
		const struct ps_image_name *e = &img->names[n];
		struct ps_name val = e->val, old;
		__u8 key[PS_KEY_X];
		int c = ps_name_class(e->key.len);

		val.pool = (val.flags & PS_NAME_POOL) ? pool_idx[e->val.pool] : 0;
		val.zone = zone_idx[e->val.zone];
		ps_name_key(key, e->key.wire, e->key.len);
		if (!bpf_map_lookup_elem(m->name[c], key, &old)) {
			if (!memcmp(&old, &val, sizeof(val)))
				continue;
			rep->names_changed++;
		} else {
			rep->names_added++;
		}
		if (bpf_map_update_elem(m->name[c], key, &val, BPF_ANY)) {
			rc = -errno;
			goto out;
		}
	}
	for (int c = 0; c < 4; c++) {
		__u8 key[PS_KEY_X], next[PS_KEY_X], *stale = NULL;
		size_t nstale = 0, cap = 0;
		void *prev = NULL;

		while (!bpf_map_get_next_key(m->name[c], prev, next)) {
			memcpy(key, next, key_sizes[c]);
			prev = key;
			if (img_has_name(img, key, wire_len(key, key_sizes[c])))
				continue;
			if (nstale == cap) {
				void *p;

				cap = cap ? cap * 2 : 64;
				p = realloc(stale, cap * key_sizes[c]);
				if (!p) {
					free(stale);
					rc = -ENOMEM;
					goto out;
				}
				stale = p;
			}
			memcpy(stale + nstale++ * key_sizes[c], key, key_sizes[c]);
		}
		for (size_t i = 0; i < nstale; i++)
			if (!bpf_map_delete_elem(m->name[c],
						 stale + i * key_sizes[c]))
				rep->names_deleted++;
		free(stale);
	}

	/* 4. pools nobody uses any more give up their slot */
	flipped = 0;
	for (__u32 j = 0; j < PS_MAX_POOLS; j++) {
		if (!ex->pool_name[j][0] || pool_taken[j])
			continue;
		if (!flipped++)
			ps_rcu_wait();	/* names pointing here are gone */
		rc = write_buffered(m, m->sel, j, PS_GEN_POOL(j), empty_sel,
				    sizeof(*empty_sel), scratch_sel,
				    &rep->pools_cleared);
		if (rc)
			goto out;
	}

	/* 5. config last: READY means every map above is complete */
	cfg = img->cfg;
	cfg.flags |= PS_CFG_READY;
	rc = write_buffered(m, m->cfg, 0, PS_GEN_CFG, &cfg, sizeof(cfg),
			    &scratch_cfg, &rep->cfg_written);
	if (rc)
		goto out;
	if (rep->cfg_written || rep->pools_cleared)
		ps_rcu_wait();
out:
	free(ex);
	free(empty_sel);
	free(scratch_sel);
	free(scratch_zone);
	return rc;
}

int ps_stats_read(const struct ps_maps *m, __u64 out[PS_ST_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct ps_stats *per;
	__u32 key = 0;

	if (ncpu < 0)
		return ncpu;
	per = calloc(ncpu, sizeof(*per));	/* 8-byte multiple already */
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->stats, &key, per)) {
		int e = -errno;

		free(per);
		return e;
	}
	memset(out, 0, sizeof(__u64) * PS_ST_MAX);
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < PS_ST_MAX; i++)
			out[i] += per[c].c[i];
	free(per);
	return 0;
}
