// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <popsteer/hash.h>

#include "maps.h"
#include "log.h"

#define NTAB_BYTES (2 * PS_NTAB_SIZE * sizeof(struct ps_nent))

static const size_t key_sizes[4] = { PS_KEY_S, PS_KEY_M, PS_KEY_L, PS_KEY_X };
/* name[] holds the hash maps of classes 1..3 */
#define NAME_FD(m, c)	((m)->name[(c) - 1])

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
	m->cfg = m->gen = m->sel = m->zone = m->stats = m->ntab = -1;
	for (int i = 0; i < 3; i++)
		m->name[i] = -1;
	m->ntab_mem = NULL;
	m->owned = 0;
}

/* The short-name table is read and written through a shared mapping. */
static int map_ntab(struct ps_maps *m)
{
	void *p = mmap(NULL, NTAB_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		       m->ntab, 0);

	if (p == MAP_FAILED)
		return -errno;
	m->ntab_mem = p;
	return 0;
}

int ps_maps_open(struct ps_maps *m, const char *pin_dir, char *err,
		 size_t errlen)
{
	struct { int *fd; const char *name; } all[] = {
		{ &m->cfg, PS_MAP_CFG }, { &m->gen, PS_MAP_GEN },
		{ &m->sel, PS_MAP_SEL }, { &m->zone, PS_MAP_ZONE },
		{ &m->stats, PS_MAP_STATS }, { &m->ntab, PS_MAP_NTAB },
		{ &m->name[0], PS_MAP_NAME_M }, { &m->name[1], PS_MAP_NAME_L },
		{ &m->name[2], PS_MAP_NAME_X },
	};
	int rc;

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
	rc = map_ntab(m);
	if (rc) {
		snprintf(err, errlen, "Couldn't map %s/%s: %s", pin_dir,
			 PS_MAP_NTAB, strerror(-rc));
		ps_maps_close(m);
	}
	return rc;
}

int ps_maps_from_object(struct ps_maps *m, struct bpf_object *obj)
{
	struct { int *fd; const char *name; } all[] = {
		{ &m->cfg, PS_MAP_CFG }, { &m->gen, PS_MAP_GEN },
		{ &m->sel, PS_MAP_SEL }, { &m->zone, PS_MAP_ZONE },
		{ &m->stats, PS_MAP_STATS }, { &m->ntab, PS_MAP_NTAB },
		{ &m->name[0], PS_MAP_NAME_M }, { &m->name[1], PS_MAP_NAME_L },
		{ &m->name[2], PS_MAP_NAME_X },
	};

	reset(m);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj,
								   all[i].name);

		if (!map || bpf_map__fd(map) < 0)
			return -ENOENT;
		*all[i].fd = bpf_map__fd(map);
	}
	return map_ntab(m);
}

void ps_maps_close(struct ps_maps *m)
{
	if (m->ntab_mem)
		munmap(m->ntab_mem, NTAB_BYTES);
	if (m->owned) {
		int *fds[] = { &m->cfg, &m->gen, &m->sel, &m->zone, &m->stats,
			       &m->ntab, &m->name[0], &m->name[1], &m->name[2] };

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

static int get_word(const struct ps_maps *m, __u32 idx, __u32 *word)
{
	return bpf_map_lookup_elem(m->gen, &idx, word) ? -errno : 0;
}

static int get_gen(const struct ps_maps *m, __u32 idx, __u32 *gen)
{
	int rc = get_word(m, idx, gen);

	*gen &= 1;
	return rc;
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

/* what a name entry in the maps says about zone slots */
static void note_name(struct existing *ex, const __u8 *key, size_t size,
		      const struct ps_name *v)
{
	size_t len;

	if (v->zone >= PS_MAX_ZONES)
		return;
	ex->zone_used[v->zone] = 1;
	if (!(v->flags & PS_NAME_APEX))
		return;
	len = wire_len(key, size);
	if (len <= PS_NAME_WIRE_MAX) {
		memcpy(ex->zone_apex[v->zone].wire, key, len);
		ex->zone_apex[v->zone].len = len;
		ex->zone_has_apex[v->zone] = 1;
	}
}

static int read_existing(const struct ps_maps *m, struct existing *ex)
{
	struct ps_sel *sel = malloc(sizeof(*sel));
	__u8 key[PS_KEY_X], next[PS_KEY_X];
	__u32 gen_word;
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
	rc = get_gen(m, PS_GEN_NTAB, &gen_word);
	if (rc)
		goto out;
	for (__u32 i = 0; i < PS_NTAB_SIZE; i++) {
		const struct ps_nent *e = &m->ntab_mem[gen_word * PS_NTAB_SIZE + i];

		if (e->val.flags & PS_NAME_VALID)
			note_name(ex, (const __u8 *)e->key, PS_KEY_S, &e->val);
	}
	for (int c = 1; c < 4; c++) {
		void *prev = NULL;

		while (!bpf_map_get_next_key(NAME_FD(m, c), prev, next)) {
			struct ps_name v;

			memcpy(key, next, key_sizes[c]);
			prev = key;
			if (!bpf_map_lookup_elem(NAME_FD(m, c), key, &v))
				note_name(ex, key, key_sizes[c], &v);
		}
	}
out:
	free(sel);
	return rc;
}

/* Place the short names of img in tab with seed; -1 if a name finds no
 * free slot within PS_NTAB_PROBES. */
static int ntab_build(struct ps_nent *tab, const struct ps_image *img,
		      const int *pool_idx, const int *zone_idx, __u32 seed)
{
	memset(tab, 0, PS_NTAB_SIZE * sizeof(*tab));
	for (int n = 0; n < img->nnames; n++) {
		const struct ps_image_name *e = &img->names[n];
		struct ps_nent ent = { 0 };
		__u32 h, i;

		if (e->key.len > PS_KEY_S)
			continue;
		memcpy(ent.key, e->key.wire, e->key.len);
		ent.val = e->val;
		ent.val.pool = (e->val.flags & PS_NAME_POOL) ? pool_idx[e->val.pool] : 0;
		ent.val.zone = zone_idx[e->val.zone];
		ent.val.flags |= PS_NAME_VALID;
		h = ps_name_hash(ent.key, seed);
		for (i = 0; i < PS_NTAB_PROBES; i++) {
			struct ps_nent *slot = &tab[(h + i) & (PS_NTAB_SIZE - 1)];

			if (!(slot->val.flags & PS_NAME_VALID)) {
				*slot = ent;
				break;
			}
		}
		if (i == PS_NTAB_PROBES)
			return -1;
	}
	return 0;
}

const char *ps_maps_sync_strerror(int rc)
{
	static char buf[256];

	switch (rc) {
	case -E2BIG:
		snprintf(buf, sizeof(buf),
			 "more than the maps hold: at most %d names of up to %d wire bytes (%d of each longer size), %d pools, %d zones",
			 PS_NTAB_NAMES, PS_KEY_S, PS_MAX_NAMES, PS_MAX_POOLS,
			 PS_MAX_ZONES);
		return buf;
	case -ENOSPC:
		snprintf(buf, sizeof(buf),
			 "no hash seed places every short name within %d slots of its own; fewer names of up to %d wire bytes would fit",
			 PS_NTAB_PROBES, PS_KEY_S);
		return buf;
	default:
		return strerror(-rc);
	}
}

/*
 * The short-name table: built whole with the seed in use (or new seeds
 * until every name fits its probe window), written to the inactive
 * buffer if it differs from the active one, then made active together
 * with its seed in one ps_gen word: (seed << 1) | buffer.
 */
static int sync_ntab(struct ps_maps *m, const struct ps_image *img,
		     const int *pool_idx, const int *zone_idx,
		     struct ps_sync_report *rep)
{
	struct ps_nent *tab = malloc(PS_NTAB_SIZE * sizeof(*tab));
	__u32 word, seed, idx = PS_GEN_NTAB, nshort = 0;
	int rc, tries;

	if (!tab)
		return -ENOMEM;
	for (int n = 0; n < img->nnames; n++)
		nshort += img->names[n].key.len <= PS_KEY_S;
	rc = -E2BIG;
	if (nshort > PS_NTAB_NAMES)
		goto out;
	rc = get_word(m, PS_GEN_NTAB, &word);
	if (rc)
		goto out;
	seed = word >> 1;
	for (tries = 0; tries < 64; tries++) {
		if (!ntab_build(tab, img, pool_idx, zone_idx, seed))
			break;
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = rand();
		seed &= 0x7fffffff;
	}
	rc = -ENOSPC;
	if (tries == 64)
		goto out;
	rc = 0;
	if ((word >> 1) == seed &&
	    !memcmp(&m->ntab_mem[(word & 1) * PS_NTAB_SIZE], tab,
		    PS_NTAB_SIZE * sizeof(*tab)))
		goto out;
	memcpy(&m->ntab_mem[((word & 1) ^ 1) * PS_NTAB_SIZE], tab,
	       PS_NTAB_SIZE * sizeof(*tab));
	word = (seed << 1) | ((word & 1) ^ 1);
	if (bpf_map_update_elem(m->gen, &idx, &word, BPF_ANY))
		rc = -errno;
	else
		rep->ntab_written = 1;
out:
	free(tab);
	return rc;
}

int ps_name_find(const struct ps_maps *m, const __u8 *wire, size_t len,
		 struct ps_name *val)
{
	__u8 key[PS_KEY_X];
	int c = ps_name_class(len);
	__u32 word;

	if (c < 0)
		return -EINVAL;
	ps_name_key(key, wire, len);
	if (c > 0)
		return bpf_map_lookup_elem(NAME_FD(m, c), key, val) ? -errno : 0;
	if (get_word(m, PS_GEN_NTAB, &word))
		return -errno;
	{
		__u64 kw[4];
		__u32 h;

		memcpy(kw, key, sizeof(kw));
		h = ps_name_hash(kw, word >> 1);
		for (__u32 i = 0; i < PS_NTAB_PROBES; i++) {
			const struct ps_nent *e = &m->ntab_mem[(word & 1) * PS_NTAB_SIZE +
				((h + i) & (PS_NTAB_SIZE - 1))];

			if (!(e->val.flags & PS_NAME_VALID))
				break;
			if (!memcmp(e->key, kw, sizeof(kw))) {
				*val = e->val;
				return 0;
			}
		}
	}
	return -ENOENT;
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

	memcpy(m->pool_slot, pool_idx, img->npools * sizeof(*pool_idx));
	m->npool_slots = img->npools;

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

	/* 3. names: the short-name table (rewritten whole, double buffered),
	 * then the long names, added and changed first, deleted last */
	rc = sync_ntab(m, img, pool_idx, zone_idx, rep);
	if (rc)
		goto out;
	for (int n = 0; n < img->nnames; n++) {
		const struct ps_image_name *e = &img->names[n];
		struct ps_name val = e->val, old;
		__u8 key[PS_KEY_X];
		int c = ps_name_class(e->key.len);

		if (c == 0)
			continue;
		val.pool = (val.flags & PS_NAME_POOL) ? pool_idx[e->val.pool] : 0;
		val.zone = zone_idx[e->val.zone];
		ps_name_key(key, e->key.wire, e->key.len);
		if (!bpf_map_lookup_elem(NAME_FD(m, c), key, &old)) {
			if (!memcmp(&old, &val, sizeof(val)))
				continue;
			rep->names_changed++;
		} else {
			rep->names_added++;
		}
		if (bpf_map_update_elem(NAME_FD(m, c), key, &val, BPF_ANY)) {
			rc = -errno;
			goto out;
		}
	}
	for (int c = 1; c < 4; c++) {
		__u8 key[PS_KEY_X], next[PS_KEY_X], *stale = NULL;
		size_t nstale = 0, cap = 0;
		void *prev = NULL;

		while (!bpf_map_get_next_key(NAME_FD(m, c), prev, next)) {
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
			if (!bpf_map_delete_elem(NAME_FD(m, c),
						 stale + i * key_sizes[c]))
				rep->names_deleted++;
		free(stale);
	}

	/* 4. pools nobody uses any more give up their slot */
	flipped = 0;
	if (rep->ntab_written) {
		ps_rcu_wait();	/* before the old table can be written again */
		flipped = 1;
	}
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

int ps_maps_write_pools(struct ps_maps *m, const struct ps_image *img,
			struct ps_sync_report *rep)
{
	struct ps_sel *scratch = malloc(sizeof(*scratch));
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	if (!scratch)
		return -ENOMEM;
	if (img->npools != m->npool_slots)
		rc = -ESTALE;
	for (int i = 0; !rc && i < img->npools; i++)
		rc = write_buffered(m, m->sel, m->pool_slot[i],
				    PS_GEN_POOL(m->pool_slot[i]), &img->sels[i],
				    sizeof(img->sels[i]), scratch,
				    &rep->pools_written);
	if (rep->pools_written)
		ps_rcu_wait();
	free(scratch);
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
