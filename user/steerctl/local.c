// SPDX-License-Identifier: GPL-2.0-only
/*
 * Views read from the kernel, not from steerd, so they work while steerd
 * is stopped (the data plane keeps answering then): the counters in the
 * pinned ps_stats map, and the interfaces whose XDP program uses our
 * pinned maps.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "maps.h"
#include "steerctl.h"

int local_stats(const struct ctx *c, json_t **data)
{
	static const char *const names[] = PS_STAT_NAMES;
	char dir[512], err[600];
	__u64 v[PS_ST_MAX];
	struct ps_maps m;
	int rc;

	ps_pin_dir(dir, sizeof(dir), c->bpffs);
	rc = ps_maps_open(&m, dir, err, sizeof(err));
	if (rc)
		return fail(rc, "%s", err);
	rc = ps_stats_read(&m, v);
	ps_maps_close(&m);
	if (rc)
		return fail(rc, "Couldn't read %s/%s: %s", dir, PS_MAP_STATS,
			    strerror(-rc));
	*data = json_object();
	for (int i = 0; i < PS_ST_MAX; i++)
		json_object_set_new(*data, names[i], json_integer(v[i]));
	return 0;
}

/* The id of the pinned ps_cfg map: a program using it is ours. */
static int cfg_map_id(const struct ctx *c, __u32 *id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[600];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s/%s", c->bpffs, PS_PIN_SUBDIR,
		 PS_MAP_CFG);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fail(-errno, "Couldn't open pinned map %s: %s", path,
			    strerror(errno));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		rc = fail(-errno, "Couldn't read map %s: %s", path,
			  strerror(errno));
	*id = info.id;
	close(fd);
	return rc;
}

/* Does program prog_id use map map_id?  Its name in name[]. */
static bool uses_map(__u32 prog_id, __u32 map_id, char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), n, *ids;
	bool found = false;
	int fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	n = info.nr_map_ids;
	ids = calloc(n ? n : 1, sizeof(*ids));
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (unsigned long)ids;
	if (ids && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
		snprintf(name, BPF_OBJ_NAME_LEN, "%s", info.name);
		for (__u32 i = 0; i < n && i < info.nr_map_ids; i++)
			found |= ids[i] == map_id;
	}
	free(ids);
out:
	if (fd >= 0)
		close(fd);
	return found;
}

static void add_prog(json_t *list, const struct if_nameindex *ifn,
		     __u32 prog_id, const char *mode, __u32 map_id)
{
	char name[BPF_OBJ_NAME_LEN] = "";

	if (!prog_id || !uses_map(prog_id, map_id, name))
		return;
	json_array_append_new(list, json_pack("{s:s, s:i, s:s, s:I, s:s}",
		"dev", ifn->if_name, "ifindex", (int)ifn->if_index,
		"mode", mode, "id", (json_int_t)prog_id, "name", name));
}

static void query_iface(json_t *list, const struct if_nameindex *ifn,
			__u32 map_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifn->if_index, 0, &q) || !q.prog_id)
		return;
	switch (q.attach_mode) {
	case XDP_ATTACHED_MULTI:
		add_prog(list, ifn, q.drv_prog_id, "native", map_id);
		add_prog(list, ifn, q.skb_prog_id, "skb", map_id);
		add_prog(list, ifn, q.hw_prog_id, "hw", map_id);
		break;
	case XDP_ATTACHED_DRV:
		add_prog(list, ifn, q.prog_id, "native", map_id);
		break;
	case XDP_ATTACHED_SKB:
		add_prog(list, ifn, q.prog_id, "skb", map_id);
		break;
	case XDP_ATTACHED_HW:
		add_prog(list, ifn, q.prog_id, "hw", map_id);
		break;
	}
}

int local_prog(const struct ctx *c, json_t **data)
{
	struct if_nameindex *ifs;
	__u32 map_id;
	int rc = cfg_map_id(c, &map_id);

	if (rc)
		return rc;
	ifs = if_nameindex();
	if (!ifs)
		return fail(-errno, "Couldn't list interfaces: %s",
			    strerror(errno));
	*data = json_array();
	for (struct if_nameindex *i = ifs; i->if_index; i++)
		query_iface(*data, i, map_id);
	if_freenameindex(ifs);
	return 0;
}
