// SPDX-License-Identifier: GPL-2.0-only
/*
 * Changing what steerd serves: validate the whole new model first, then
 * write the maps, then persist the overlay; undo the maps if persisting
 * fails.  Also attaching the program to interfaces.
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

#include "steer.skel.h"
#include "steerd.h"
#include "state.h"
#include "tree.h"
#include "log.h"

/* The effective tree: config text, then the objects shared through the
 * store, then runtime changes (overlay).  Destroyed on error. */
static int build_tree(struct steerd *d, const char *text, config_t *overlay,
		      config_t *tree, char *err, size_t errlen)
{
	if (ps_tree_read(tree, d->config_path, text, err, errlen))
		return -1;
	if ((d->shared && ps_overlay_apply(tree, d->shared, err, errlen)) ||
	    ps_overlay_apply(tree, overlay, err, errlen)) {
		config_destroy(tree);
		return -1;
	}
	return 0;
}

int steerd_tree(struct steerd *d, config_t *tree, char *err, size_t errlen)
{
	return build_tree(d, d->config_text, d->overlay, tree, err, errlen);
}

static void log_sync(const struct ps_image *img, const struct ps_sync_report *r)
{
	pr_info("maps: %d names (+%d ~%d -%d), %d pools written, %d zones written%s",
		img->nnames, r->names_added, r->names_changed, r->names_deleted,
		r->pools_written, r->zones_written,
		r->cfg_written ? ", config written" : "");
}

void rt_free(struct ps_pool_rt *rt, int npools)
{
	for (int i = 0; rt && i < npools; i++)
		free(rt[i].srv);
	free(rt);
}

/*
 * What probes found, carried to a new model: a server keeps its state in
 * a pool of the same name; the memory of a pool's installed table only if
 * its servers are the same.  The administrative state and the scoring
 * come from the new model.
 */
static struct ps_pool_rt *rt_build(const struct ps_conf *nc,
				   const struct ps_conf *oc,
				   const struct ps_pool_rt *ort)
{
	struct ps_pool_rt *rt = calloc(nc->npools ? nc->npools : 1, sizeof(*rt));

	if (!rt)
		return NULL;
	for (int i = 0; i < nc->npools; i++) {
		const struct ps_pool_conf *np = &nc->pools[i];
		int oi = ort ? ps_conf_find_pool(oc, np->name) : -1;
		const struct ps_pool_conf *op = oi >= 0 ? &oc->pools[oi] : NULL;
		bool same = op && op->nservers == np->nservers;

		rt[i].srv = calloc(np->nservers ? np->nservers : 1,
				   sizeof(*rt[i].srv));
		if (!rt[i].srv) {
			rt_free(rt, i);
			return NULL;
		}
		rt[i].keep[0] = rt[i].keep[1] = -1;
		for (int j = 0; j < np->nservers; j++) {
			const struct ps_server_conf *s = &np->servers[j];
			struct ps_srv_state *st = &rt[i].srv[j];

			for (int k = 0; op && k < op->nservers; k++)
				if (!memcmp(&op->servers[k].addr, &s->addr,
					    sizeof(s->addr))) {
					*st = ort[oi].srv[k];
					same &= k == j;
					break;
				}
			st->admin = s->admin;
			st->initial = s->initial;
			st->score = ps_score(st, &np->scoring);
		}
		if (same) {
			memcpy(rt[i].keep, ort[oi].keep, sizeof(rt[i].keep));
			memcpy(rt[i].last, ort[oi].last, sizeof(rt[i].last));
			memcpy(rt[i].have_last, ort[oi].have_last,
			       sizeof(rt[i].have_last));
		}
	}
	return rt;
}

int steerd_tables(struct steerd *d, const bool *only,
		  struct ps_sync_report *rep)
{
	int rc;

	ps_image_pools(&d->img, &d->conf, d->rt, only);
	rc = ps_maps_write_pools(&d->maps, &d->img, rep);
	if (!rc)
		rc = steerd_lb_sync(d, &d->conf, d->rt, only);
	return rc;
}

int steerd_apply(struct steerd *d, const char *config_text,
		 config_t *overlay, bool overlay_changed, char *err,
		 size_t errlen)
{
	struct ps_sync_report rep;
	struct ps_pool_rt *rt;
	struct ps_conf conf;
	struct ps_image img;
	config_t tree;
	int rc;

	/* 1. validate: the whole model, as the config file parser sees it */
	if (build_tree(d, config_text, overlay, &tree, err, errlen))
		return -1;
	if (ps_conf_from_tree(&conf, &tree, d->config_path, err, errlen)) {
		config_destroy(&tree);
		return -1;
	}
	config_destroy(&tree);
	rt = rt_build(&conf, &d->conf, d->rt);
	if (!rt || ps_image_build_rt(&img, &conf, rt)) {
		snprintf(err, errlen, "out of memory");
		rt_free(rt, conf.npools);
		ps_conf_free(&conf);
		return -1;
	}

	/* 2. the maps */
	rc = ps_maps_sync(&d->maps, &img, &rep);
	if (rc) {
		snprintf(err, errlen, "Couldn't update the maps: %s",
			 ps_maps_sync_strerror(rc));
		goto undo;
	}
	log_sync(&img, &rep);
	rc = steerd_lb_sync(d, &conf, rt, NULL);
	if (rc) {
		snprintf(err, errlen, "Couldn't update the flow steering maps: %s",
			 strerror(-rc));
		goto undo;
	}

	/* 3. the state file */
	if (overlay_changed &&
	    ps_state_save(conf.state_file, overlay, err, errlen)) {
		rc = -1;
		goto undo;
	}

	ps_image_free(&d->img);
	rt_free(d->rt, d->conf.npools);
	ps_conf_free(&d->conf);
	d->img = img;
	d->conf = conf;
	d->rt = rt;
	probes_reconfigure(d);
	return 0;
undo:
	if (d->img.nzones && (ps_maps_sync(&d->maps, &d->img, &rep) ||
			      steerd_lb_sync(d, &d->conf, d->rt, NULL)))
		pr_err("Couldn't restore the maps after a failed change");
	ps_image_free(&img);
	rt_free(rt, conf.npools);
	ps_conf_free(&conf);
	return -1;
}

char *steerd_read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

int steerd_reload(struct steerd *d, char *err, size_t errlen)
{
	char *text = steerd_read_file(d->config_path, err, errlen);
	char old_ifaces[PS_IFACES_MAX][16];
	int n = d->conf.nifaces;

	if (!text)
		return -1;
	memcpy(old_ifaces, d->conf.ifaces, sizeof(old_ifaces));
	if (steerd_apply(d, text, d->overlay, false, err, errlen)) {
		free(text);
		return -1;
	}
	free(d->config_text);
	d->config_text = text;
	if (n != d->conf.nifaces ||
	    memcmp(old_ifaces, d->conf.ifaces, sizeof(old_ifaces)))
		pr_warn("interface changes take effect at restart, or now with steerctl prog attach/detach");
	return 0;
}

/* Is the program with prog_id ours, i.e. using our ps_cfg map? */
static int prog_is_ours(__u32 prog_id, int cfg_map_fd, char *name,
			size_t nlen, char *tag)
{
	struct bpf_prog_info info = {};
	struct bpf_map_info minfo = {};
	__u32 ids[64], len = sizeof(info), mlen = sizeof(minfo);
	int fd, ours = 0;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return -errno;
	info.nr_map_ids = 64;
	info.map_ids = (unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -errno;
	}
	snprintf(name, nlen, "%s", info.name);
	memcpy(tag, info.tag, BPF_TAG_SIZE);
	if (bpf_obj_get_info_by_fd(cfg_map_fd, &minfo, &mlen) == 0)
		for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++)
			ours |= ids[i] == minfo.id;
	close(fd);
	return ours;
}

static void prog_tag(int fd, char *tag)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	memset(tag, 0, BPF_TAG_SIZE);
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		memcpy(tag, info.tag, BPF_TAG_SIZE);
}

int steerd_attach(struct steerd *d, const char *ifname, int mode, char *err,
		  size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	int prog_fd = bpf_program__fd(d->skel->progs.xdp_steer);
	int ifindex = if_nametoindex(ifname);
	char name[BPF_OBJ_NAME_LEN], tag[BPF_TAG_SIZE], mytag[BPF_TAG_SIZE];
	__u32 flags;
	int rc, ours;

	if (!ifindex) {
		snprintf(err, errlen, "No interface '%s'", ifname);
		return -ENODEV;
	}
	rc = bpf_xdp_query(ifindex, 0, &q);
	if (rc) {
		snprintf(err, errlen, "Couldn't query XDP on '%s': %s", ifname,
			 strerror(-rc));
		return rc;
	}
	if (q.prog_id) {
		ours = prog_is_ours(q.prog_id, d->maps.cfg, name, sizeof(name), tag);
		if (ours <= 0) {
			snprintf(err, errlen,
				 "'%s' already runs XDP program '%s' (id %u) that does not use our maps; detach it first (ip link set dev %s xdp off)",
				 ifname, name, q.prog_id, ifname);
			return -EBUSY;
		}
		if ((mode == PS_XDP_SKB && q.attach_mode != XDP_ATTACHED_SKB) ||
		    (mode == PS_XDP_NATIVE && q.attach_mode != XDP_ATTACHED_DRV)) {
			snprintf(err, errlen,
				 "'%s' runs our program in %s mode; detach it first to change the mode",
				 ifname, q.attach_mode == XDP_ATTACHED_SKB ? "skb" : "native");
			return -EBUSY;
		}
		prog_tag(prog_fd, mytag);
		if (!memcmp(tag, mytag, BPF_TAG_SIZE)) {
			pr_info("%s: adopting XDP program %s (id %u, attached %s)",
				ifname, name, q.prog_id,
				q.attach_mode == XDP_ATTACHED_SKB ? "skb" : "native");
			return 0;
		}
		/* another build of ours (an upgrade): swap it atomically, in
		 * the mode it runs in, keeping the pinned maps */
		a.old_prog_fd = bpf_prog_get_fd_by_id(q.prog_id);
		flags = XDP_FLAGS_REPLACE | (q.attach_mode == XDP_ATTACHED_SKB ?
					     XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
		rc = a.old_prog_fd < 0 ? -errno :
		     bpf_xdp_attach(ifindex, prog_fd, flags, &a);
		if (a.old_prog_fd >= 0)
			close(a.old_prog_fd);
		if (rc) {
			snprintf(err, errlen, "Couldn't replace XDP program on '%s': %s",
				 ifname, strerror(-rc));
			return rc;
		}
		pr_info("%s: replaced XDP program %s (id %u) with this build",
			ifname, name, q.prog_id);
		return 0;
	}

	flags = mode == PS_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	rc = bpf_xdp_attach(ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST,
			    NULL);
	if (rc == -EOPNOTSUPP && mode == PS_XDP_AUTO) {
		pr_warn("%s: no native XDP support, attaching in skb mode", ifname);
		flags = XDP_FLAGS_SKB_MODE;
		rc = bpf_xdp_attach(ifindex, prog_fd,
				    flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	}
	if (rc) {
		snprintf(err, errlen, "Couldn't attach XDP program to '%s': %s (%d)",
			 ifname, strerror(-rc), -rc);
		return rc;
	}
	pr_info("%s: XDP program attached (%s mode)", ifname,
		flags == XDP_FLAGS_SKB_MODE ? "skb" : "native");
	return 1;
}

int steerd_detach(struct steerd *d, const char *ifname, char *err,
		  size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN], tag[BPF_TAG_SIZE];
	int ifindex = if_nametoindex(ifname);
	int rc;

	if (!ifindex) {
		snprintf(err, errlen, "No interface '%s'", ifname);
		return -ENODEV;
	}
	rc = bpf_xdp_query(ifindex, 0, &q);
	if (!rc && !q.prog_id) {
		snprintf(err, errlen, "'%s' runs no XDP program", ifname);
		return -ENOENT;
	}
	if (!rc && prog_is_ours(q.prog_id, d->maps.cfg, name, sizeof(name), tag) <= 0) {
		snprintf(err, errlen, "'%s' runs XDP program '%s', not ours; not touching it",
			 ifname, name);
		return -EBUSY;
	}
	rc = rc ? rc : bpf_xdp_detach(ifindex, q.attach_mode == XDP_ATTACHED_SKB ?
				      XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, NULL);
	if (rc) {
		snprintf(err, errlen, "Couldn't detach XDP from '%s': %s", ifname,
			 strerror(-rc));
		return rc;
	}
	pr_info("%s: XDP program detached", ifname);
	return 0;
}
