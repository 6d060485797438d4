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

int ps_image_build(struct ps_image *img, const struct ps_conf *conf);
void ps_image_free(struct ps_image *img);

/* Fill one pool's selection table (all servers up, static weights). */
void ps_build_sel(struct ps_sel *out, const struct ps_pool_conf *pool);
/* Encode a zone's SOA and NS records. */
void ps_build_zone(struct ps_zone *out, const struct ps_zone_conf *z);

#endif
