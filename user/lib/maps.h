/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Access to the pinned maps, and the writer that brings them to a
 * compiled image without readers ever seeing a half-written value.
 */
#ifndef PS_MAPS_H
#define PS_MAPS_H

#include <stddef.h>
#include <popsteer/maps.h>
#include "build.h"

struct bpf_object;

struct ps_maps {
	int cfg, gen, sel, zone, stats, ntab;
	int name[3];			/* ps_name64, 128, 256 */
	struct ps_nent *ntab_mem;	/* ps_ntab, mmapped: both buffers */
	int owned;			/* fds are ours to close */
	/* the ps_sel slot of each pool of the image last synced */
	int pool_slot[PS_MAX_POOLS];
	int npool_slots;
};

struct ps_sync_report {
	int names_added, names_changed, names_deleted;
	int ntab_written;		/* the short-name table was rewritten */
	int pools_written, zones_written, pools_cleared;
	int cfg_written;
};

/* Directory the maps are pinned in for a bpffs mount point. */
void ps_pin_dir(char *buf, size_t len, const char *bpffs);
/* Make sure bpffs is mounted at path (mounting it at /sys/fs/bpf, as
 * iproute2 does, when nothing is there), and the pin directory exists. */
int ps_bpffs_prepare(const char *bpffs, char *err, size_t errlen);

int ps_maps_open(struct ps_maps *m, const char *pin_dir, char *err,
		 size_t errlen);
int ps_maps_from_object(struct ps_maps *m, struct bpf_object *obj);
void ps_maps_close(struct ps_maps *m);

/* Bring the maps to img.  Returns 0 or -errno. */
int ps_maps_sync(struct ps_maps *m, const struct ps_image *img,
		 struct ps_sync_report *rep);

/* What a ps_maps_sync() error means for whoever wrote the config: the
 * limit for -E2BIG and -ENOSPC, strerror() otherwise. */
const char *ps_maps_sync_strerror(int rc);

/* Only the pools' selection tables of img, which must have the pools of
 * the image last given to ps_maps_sync() (-ESTALE otherwise). */
int ps_maps_write_pools(struct ps_maps *m, const struct ps_image *img,
			struct ps_sync_report *rep);

/* Counters summed over CPUs. */
int ps_stats_read(const struct ps_maps *m, __u64 out[PS_ST_MAX]);

/* Wait until no BPF program can still hold a pointer into a value we
 * replaced (an RCU grace period). */
void ps_rcu_wait(void);

/* Key bytes of a wire name in its size class; returns the key size. */
size_t ps_name_key(__u8 *key, const __u8 *wire, size_t len);
/* Size class: 0 for ps_ntab (<= 32 bytes), else 1 + index into name[]. */
int ps_name_class(size_t len);

/*
 * Find a name (lower-cased wire format) the way the data plane does:
 * in the active ps_ntab buffer or the hash map of its size class.
 * Returns 0 with *val, -ENOENT, or -errno.
 */
int ps_name_find(const struct ps_maps *m, const __u8 *wire, size_t len,
		 struct ps_name *val);

#endif
