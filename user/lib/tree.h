/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Editing libconfig trees of popsteer configs, and the runtime overlay:
 * the zones, pools, names and vips changed while steerd runs, kept apart from the
 * config file and applied on top of it.
 *
 * An overlay is itself a libconfig tree:
 *   zones = ( {...} ); pools = ( {...} ); names = ( {...} ); vips = ( {...} );
 *   deleted_zones = [ "..." ]; deleted_pools = [ ... ]; deleted_names = [ ... ];
 *   deleted_vips = [ ... ];
 * A group there replaces (or adds) the object of the same name in the
 * config; a deleted_* entry removes it.
 */
#ifndef PS_TREE_H
#define PS_TREE_H

#include <stdbool.h>
#include <libconfig.h>

/* the kinds of object an overlay holds */
enum ps_kind { PS_ZONES, PS_POOLS, PS_NAMES, PS_VIPS, PS_KINDS };
extern const char *const ps_kind_key[PS_KINDS];	/* "zones", ... */

/* Do two object names denote the same object?  DNS names compare in
 * canonical form, pool names exactly. */
bool ps_tree_same_name(enum ps_kind k, const char *a, const char *b);

/* The list of kind k under root, created if create and missing. */
config_setting_t *ps_tree_list(config_setting_t *root, enum ps_kind k,
			       bool create);
/* Index in that list of the object called name, or -1. */
int ps_tree_find(config_setting_t *root, enum ps_kind k, const char *name);
/* Deep copy of src as a new member `name` of group parent (or element of
 * a list/array parent when name is NULL).  Returns the copy or NULL. */
config_setting_t *ps_tree_copy(config_setting_t *parent, const char *name,
			       const config_setting_t *src);

/* Apply an overlay to a config tree. */
int ps_overlay_apply(config_t *tree, const config_t *overlay, char *err,
		     size_t errlen);
/* Record in the overlay the object `name` of kind k as it is in tree now:
 * its group if present, a deletion if not. */
int ps_overlay_record(config_t *overlay, config_t *tree, enum ps_kind k,
		      const char *name);
/* Empty overlay tree. */
void ps_overlay_init(config_t *overlay);
/* Copy of a whole tree. */
int ps_tree_clone(config_t *dst, const config_t *src);

#endif
