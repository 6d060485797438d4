/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Compile a validated configuration into the contents of the data plane's
 * maps (an "image"), independent of which map slots things end up in.
 */
#ifndef PS_BUILD_H
#define PS_BUILD_H

#include <popsteer/maps.h>
#include "conf.h"

struct ps_image_name {
	struct ps_dname key;		/* lower-cased wire name */
	struct ps_name val;		/* pool/zone fields: conf indices */
};

struct ps_image {
	struct ps_cfg cfg;		/* flags and gens left to the writer */
	int npools, nzones, nnames;
	struct ps_sel *sels;		/* per conf pool */
	struct ps_zone *zones;		/* per conf zone */
	struct ps_image_name *names;	/* names, zone apexes, empty
					 * non-terminals */
};

/*
 * What probes found, for one pool: a state per server (in the config's
 * order) and the memory of its installed table, for the threshold and
 * the `lowest` policy's hysteresis (per family: 0 IPv4, 1 IPv6).
 */
struct ps_pool_rt {
	struct ps_srv_state *srv;
	int keep[2];
	double last[2][PS_POOL_SERVERS_MAX];
	bool have_last[2];
	/* the slots built from last[]: reused while the weights stay the
	 * same (a new model starts without them) */
	bool have_slots[2];
	uint8_t a[2];
	uint8_t slots[2][PS_SEL_SLOTS][PS_ANSWERS_MAX];
};

/* rt: one per conf pool, or NULL for the config alone (static weights,
 * configured states) */
int ps_image_build_rt(struct ps_image *img, const struct ps_conf *conf,
		      struct ps_pool_rt *rt);
#define ps_image_build(img, conf) ps_image_build_rt(img, conf, NULL)
void ps_image_free(struct ps_image *img);

/* Rebuild the pools' tables of img, rt may be NULL.  only: the pools to
 * rebuild (and those falling back on them), NULL for all. */
void ps_image_pools(struct ps_image *img, const struct ps_conf *conf,
		    struct ps_pool_rt *rt, const bool *only);

/* Fill one pool's selection table under its policy (rt may be NULL).
 * Returns the families (1 IPv4, 2 IPv6) whose servers are all unusable. */
int ps_build_sel(struct ps_sel *out, const struct ps_pool_conf *pool,
		 struct ps_pool_rt *rt);
/* Encode a zone's SOA and NS records. */
void ps_build_zone(struct ps_zone *out, const struct ps_zone_conf *z);

#endif
