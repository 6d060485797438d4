/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flow steering maps (include/popsteer/lb.h): VIPs, reals with stable
 * ids, a Maglev table per VIP built from its pool's servers and their
 * scores, and the counters XDP keeps.
 *
 * Real ids outlive configs and steerd: ps_conn remembers flows by id, so
 * an id keeps its address while it is in use, a freed one is given out
 * again only after every never-used id (oldest freed first), and a
 * restarted steerd reads ids back from the pinned ps_reals.  VIP ids are
 * found again the same way, by (address, port, protocol) in ps_vips.
 */
#ifndef PS_LBMAPS_H
#define PS_LBMAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <popsteer/lb.h>
#include "conf.h"
#include "build.h"

struct bpf_object;

/* What the model says of one backend of a VIP, for the table. */
struct ps_lb_backend {
	struct ps_addr addr;
	double weight;			/* > 0: gets new flows */
	uint8_t flags;			/* PS_REAL_* */
	uint8_t mac[6];
	bool has_mac;
};

struct ps_lb_maps {
	int vips, reals, maglev, conn, vip_stats, real_stats;
	struct ps_real real[PS_MAX_REALS];	/* what ps_reals holds */
	uint64_t real_freed[PS_MAX_REALS];	/* when it fell out of use */
	bool real_live[PS_MAX_REALS];		/* used by the model */
	struct ps_vip_key vip_key[PS_MAX_VIPS];
	bool vip_used[PS_MAX_VIPS];		/* holds a VIP in ps_vips */
	/* the inputs of each VIP's installed table: an identical rebuild
	 * is skipped, one within the pool's threshold too */
	struct {
		bool valid;
		uint32_t size, seed;
		int n;
		uint16_t rid[PS_POOL_SERVERS_MAX];
		double w[PS_POOL_SERVERS_MAX];
	} last[PS_MAX_VIPS];
	int ncpu;
};

struct ps_lb_report {
	int vips_written, vips_deleted, tables_built, reals_written;
};

/* Maps of a loaded object (fds stay the object's); reads ids back. */
int ps_lb_from_object(struct ps_lb_maps *lb, struct bpf_object *obj);
/* Pinned maps (steerctl); fds are ours: ps_lb_close(). */
int ps_lb_open(struct ps_lb_maps *lb, const char *pin_dir, char *err,
	       size_t errlen);
void ps_lb_close(struct ps_lb_maps *lb);

/*
 * Bring the maps to the model: every VIP of conf with its backends
 * (backends[v][0..nb[v]-1], the pool's servers of the VIP's family) and
 * their weights.  only: the VIPs whose tables to rebuild (NULL: all);
 * ps_vips and ps_reals are always brought up to date.  0 or -errno.
 */
int ps_lb_sync(struct ps_lb_maps *lb, const struct ps_conf *conf,
	       struct ps_lb_backend *const *backends, const int *nb,
	       const bool *only, struct ps_lb_report *rep);

/* The real id of an address, or -1. */
int ps_lb_real_id(const struct ps_lb_maps *lb, const struct ps_addr *a);
/* The VIP id of conf VIP v, or -1. */
int ps_lb_vip_id(const struct ps_lb_maps *lb, const struct ps_vip_conf *v);
/* Counters summed over CPUs. */
int ps_lb_vip_stats(const struct ps_lb_maps *lb, int id, struct ps_lb_stats *out);
int ps_lb_real_stats(const struct ps_lb_maps *lb, int id, struct ps_lb_stats *out);

/* The key of a VIP, as the data plane builds it. */
void ps_lb_vip_key(struct ps_vip_key *k, const struct ps_vip_conf *v);

#endif
