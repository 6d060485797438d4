// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "tree.h"

const char *const ps_kind_key[PS_KINDS] = { "zones", "pools", "names", "vips" };
static const char *const deleted_key[PS_KINDS] = {
	"deleted_zones", "deleted_pools", "deleted_names", "deleted_vips" };

bool ps_tree_same_name(enum ps_kind k, const char *a, const char *b)
{
	struct ps_dname x, y;
	char err[PS_ERR_MAX];

	if (k == PS_POOLS || k == PS_VIPS)
		return !strcmp(a, b);
	if (ps_dname_from_text(&x, a, err, sizeof(err)) ||
	    ps_dname_from_text(&y, b, err, sizeof(err)))
		return !strcmp(a, b);
	return x.len == y.len && !memcmp(x.wire, y.wire, x.len);
}

config_setting_t *ps_tree_list(config_setting_t *root, enum ps_kind k,
			       bool create)
{
	config_setting_t *l = config_setting_get_member(root, ps_kind_key[k]);

	if (!l && create)
		l = config_setting_add(root, ps_kind_key[k], CONFIG_TYPE_LIST);
	return l;
}

static const char *group_name(const config_setting_t *g)
{
	const char *n = NULL;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP ||
	    !config_setting_lookup_string(g, "name", &n))
		return NULL;
	return n;
}

int ps_tree_find(config_setting_t *root, enum ps_kind k, const char *name)
{
	config_setting_t *l = ps_tree_list(root, k, false);

	for (int i = 0; l && i < config_setting_length(l); i++) {
		const char *n = group_name(config_setting_get_elem(l, i));

		if (n && ps_tree_same_name(k, n, name))
			return i;
	}
	return -1;
}

config_setting_t *ps_tree_copy(config_setting_t *parent, const char *name,
			       const config_setting_t *src)
{
	int type = config_setting_type(src);
	config_setting_t *dst = config_setting_add(parent, name, type);

	if (!dst)
		return NULL;
	switch (type) {
	case CONFIG_TYPE_INT:
		config_setting_set_int(dst, config_setting_get_int(src));
		break;
	case CONFIG_TYPE_INT64:
		config_setting_set_int64(dst, config_setting_get_int64(src));
		break;
	case CONFIG_TYPE_FLOAT:
		config_setting_set_float(dst, config_setting_get_float(src));
		break;
	case CONFIG_TYPE_BOOL:
		config_setting_set_bool(dst, config_setting_get_bool(src));
		break;
	case CONFIG_TYPE_STRING:
		config_setting_set_string(dst, config_setting_get_string(src));
		break;
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_LIST:
	case CONFIG_TYPE_ARRAY:
		for (int i = 0; i < config_setting_length(src); i++) {
			const config_setting_t *e = config_setting_get_elem(src, i);

			if (!ps_tree_copy(dst, type == CONFIG_TYPE_GROUP ?
					  config_setting_name(e) : NULL, e))
				return NULL;
		}
		break;
	}
	return dst;
}

int ps_tree_clone(config_t *dst, const config_t *src)
{
	config_setting_t *from = config_root_setting(src);

	config_init(dst);
	config_set_options(dst, 0);
	for (int i = 0; i < config_setting_length(from); i++) {
		const config_setting_t *e = config_setting_get_elem(from, i);

		if (!ps_tree_copy(config_root_setting(dst),
				  config_setting_name(e), e)) {
			config_destroy(dst);
			return -1;
		}
	}
	return 0;
}

void ps_overlay_init(config_t *overlay)
{
	config_init(overlay);
	config_set_options(overlay, 0);
}

int ps_overlay_apply(config_t *tree, const config_t *overlay, char *err,
		     size_t errlen)
{
	config_setting_t *root = config_root_setting(tree);
	config_setting_t *oroot = config_root_setting(overlay);

	for (int k = 0; k < PS_KINDS; k++) {
		config_setting_t *del = config_setting_get_member(oroot, deleted_key[k]);
		config_setting_t *upd = config_setting_get_member(oroot, ps_kind_key[k]);
		config_setting_t *list;

		for (int i = 0; del && i < config_setting_length(del); i++) {
			const char *n = config_setting_get_string_elem(del, i);
			int at = n ? ps_tree_find(root, k, n) : -1;

			if (at >= 0)
				config_setting_remove_elem(ps_tree_list(root, k, false), at);
		}
		for (int i = 0; upd && i < config_setting_length(upd); i++) {
			const config_setting_t *g = config_setting_get_elem(upd, i);
			const char *n = group_name(g);
			int at;

			if (!n) {
				snprintf(err, errlen, "runtime state: a %s entry has no name",
					 ps_kind_key[k]);
				return -1;
			}
			list = ps_tree_list(root, k, true);
			at = ps_tree_find(root, k, n);
			if (at >= 0)
				config_setting_remove_elem(list, at);
			if (!list || !ps_tree_copy(list, NULL, g)) {
				snprintf(err, errlen, "runtime state: cannot apply %s '%s'",
					 ps_kind_key[k], n);
				return -1;
			}
		}
	}
	return 0;
}

/* remove name from the overlay's list of kind k and its deletions */
static void overlay_forget(config_setting_t *oroot, enum ps_kind k,
			   const char *name)
{
	config_setting_t *del = config_setting_get_member(oroot, deleted_key[k]);
	int at = ps_tree_find(oroot, k, name);

	if (at >= 0)
		config_setting_remove_elem(ps_tree_list(oroot, k, false), at);
	for (int i = 0; del && i < config_setting_length(del); i++) {
		const char *n = config_setting_get_string_elem(del, i);

		if (n && ps_tree_same_name(k, n, name)) {
			config_setting_remove_elem(del, i);
			i--;
		}
	}
}

int ps_overlay_record(config_t *overlay, config_t *tree, enum ps_kind k,
		      const char *name)
{
	config_setting_t *oroot = config_root_setting(overlay);
	config_setting_t *root = config_root_setting(tree);
	int at = ps_tree_find(root, k, name);

	overlay_forget(oroot, k, name);
	if (at >= 0) {
		config_setting_t *l = ps_tree_list(oroot, k, true);
		const config_setting_t *g =
			config_setting_get_elem(ps_tree_list(root, k, false), at);

		return l && ps_tree_copy(l, NULL, g) ? 0 : -1;
	} else {
		config_setting_t *del = config_setting_get_member(oroot, deleted_key[k]);
		config_setting_t *e;

		if (!del)
			del = config_setting_add(oroot, deleted_key[k],
						 CONFIG_TYPE_ARRAY);
		e = del ? config_setting_add(del, NULL, CONFIG_TYPE_STRING) : NULL;
		return e && config_setting_set_string(e, name) ? 0 : -1;
	}
}
