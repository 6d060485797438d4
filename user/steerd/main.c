// SPDX-License-Identifier: GPL-2.0-only
/*
 * steerd: keeps popsteer's maps current and the XDP program attached.
 *
 *   steerd [-c FILE] [-t] [-v[v]] [-q] [--syslog]
 *
 * Loads the config, fills the pinned maps, then attaches the program to
 * the configured interfaces -- or adopts the one `ip link ... xdp obj`
 * attached, with its pinned maps.  On exit the program stays attached and
 * keeps answering from the maps (a restart is hitless); detach it with
 * `ip link set dev IF xdp off`.  SIGHUP reloads the config.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "steer.skel.h"
#include "conf.h"
#include "build.h"
#include "maps.h"
#include "log.h"

#define DEFAULT_CONFIG "/etc/popsteer/steerd.conf"

static volatile sig_atomic_t stop, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: steerd [OPTIONS]\n"
		"  -c, --config FILE  config file (default " DEFAULT_CONFIG ")\n"
		"  -t, --check        validate the config and exit\n"
		"  -v, --verbose      more messages (-vv: libbpf debug too)\n"
		"  -q, --quiet        errors and warnings only\n"
		"      --syslog       also log to syslog\n"
		"  -h, --help         this text\n");
}

static int load_config(struct ps_conf *conf, struct ps_image *img,
		       const char *path)
{
	char err[PS_ERR_MAX];

	if (ps_conf_load(conf, path, err, sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	if (ps_image_build(img, conf)) {
		pr_err("out of memory building the map image");
		ps_conf_free(conf);
		return -1;
	}
	return 0;
}

static int sync_maps(struct ps_maps *maps, const struct ps_image *img)
{
	struct ps_sync_report r;
	int rc = ps_maps_sync(maps, img, &r);

	if (rc) {
		pr_err("Couldn't update the maps: %s", strerror(-rc));
		return rc;
	}
	pr_info("maps: %d names (+%d ~%d -%d), %d pools written, %d zones written%s",
		img->nnames, r.names_added, r.names_changed, r.names_deleted,
		r.pools_written, r.zones_written,
		r.cfg_written ? ", config written" : "");
	return 0;
}

/* Is the program attached at ifindex ours, using our maps? */
static int attached_is_ours(__u32 prog_id, int cfg_map_fd, char *name,
			    size_t nlen)
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
	if (bpf_obj_get_info_by_fd(cfg_map_fd, &minfo, &mlen) == 0)
		for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++)
			ours |= ids[i] == minfo.id;
	close(fd);
	return ours;
}

/* Attach (or adopt) on one interface; *attached says we attached it. */
static int attach_one(const char *ifname, int prog_fd, int cfg_map_fd,
		      int mode, int *attached)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ifindex = if_nametoindex(ifname);
	char name[BPF_OBJ_NAME_LEN];
	__u32 mode_flags;
	int rc;

	*attached = 0;
	if (!ifindex) {
		pr_err("No interface '%s'", ifname);
		return -ENODEV;
	}
	rc = bpf_xdp_query(ifindex, 0, &q);
	if (rc) {
		pr_err("Couldn't query XDP on '%s': %s", ifname, strerror(-rc));
		return rc;
	}
	if (q.prog_id) {
		int ours = attached_is_ours(q.prog_id, cfg_map_fd, name,
					    sizeof(name));

		if (ours <= 0) {
			pr_err("'%s' already runs XDP program '%s' (id %u) that does not use our maps; detach it first (ip link set dev %s xdp off)",
			       ifname, name, q.prog_id, ifname);
			return -EBUSY;
		}
		pr_info("%s: adopting XDP program %s (id %u, attached %s)",
			ifname, name, q.prog_id,
			q.attach_mode == XDP_ATTACHED_SKB ? "skb" : "native");
		return 0;
	}

	mode_flags = mode == PS_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	rc = bpf_xdp_attach(ifindex, prog_fd,
			    mode_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (rc == -EOPNOTSUPP && mode == PS_XDP_AUTO) {
		pr_warn("%s: no native XDP support, attaching in skb mode",
			ifname);
		mode_flags = XDP_FLAGS_SKB_MODE;
		rc = bpf_xdp_attach(ifindex, prog_fd,
				    mode_flags | XDP_FLAGS_UPDATE_IF_NOEXIST,
				    NULL);
	}
	if (rc) {
		pr_err("Couldn't attach XDP program to '%s': %s (%d)", ifname,
		       strerror(-rc), -rc);
		return rc;
	}
	pr_info("%s: XDP program attached (%s mode)", ifname,
		mode_flags == XDP_FLAGS_SKB_MODE ? "skb" : "native");
	*attached = mode_flags;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *path = DEFAULT_CONFIG;
	int check = 0, verbose = 0, quiet = 0, opt, rc = 1;
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	struct ps_conf conf;
	struct ps_image img;
	struct ps_maps maps;
	struct steer *skel = NULL;
	char err[PS_ERR_MAX], pin_dir[512];
	int attached[PS_IFACES_MAX];
	sigset_t mask, old;

	while ((opt = getopt_long(argc, argv, "c:tvqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': check = 1; break;
		case 'v': verbose++; break;
		case 'q': quiet = 1; break;
		case 'S': ps_log_syslog("steerd"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "Error: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	ps_log_set_level(quiet ? PS_LOG_WARN : PS_LOG_INFO + verbose);
	ps_log_route_libbpf();

	if (load_config(&conf, &img, path))
		return 1;
	if (check) {
		printf("%s: OK (%d zones, %d pools, %d names)\n", path,
		       conf.nzones, conf.npools, conf.nnames);
		rc = 0;
		goto out_conf;
	}

	if (ps_bpffs_prepare(conf.bpffs, err, sizeof(err))) {
		pr_err("%s", err);
		goto out_conf;
	}
	ps_pin_dir(pin_dir, sizeof(pin_dir), conf.bpffs);
	oopts.pin_root_path = pin_dir;
	skel = steer__open_opts(&oopts);
	if (!skel) {
		pr_err("Couldn't open the BPF object: %s", strerror(errno));
		goto out_conf;
	}
	/* maps already pinned there (a running data plane) are reused */
	rc = steer__load(skel);
	if (rc) {
		pr_err("Couldn't load the BPF program (maps in %s): %s",
		       pin_dir, strerror(-rc));
		rc = 1;
		goto out;
	}
	rc = 1;
	if (ps_maps_from_object(&maps, skel->obj)) {
		pr_err("BPF object lacks popsteer maps");
		goto out;
	}
	/* complete maps before any program can answer from them */
	if (sync_maps(&maps, &img))
		goto out;
	for (int i = 0; i < conf.nifaces; i++) {
		if (!attach_one(conf.ifaces[i],
				bpf_program__fd(skel->progs.xdp_steer),
				maps.cfg, conf.xdp_mode, &attached[i]))
			continue;
		/* all or nothing: undo what this run attached */
		while (i-- > 0)
			if (attached[i])
				bpf_xdp_detach(if_nametoindex(conf.ifaces[i]),
					       attached[i], NULL);
		goto out;
	}
	pr_info("serving %d zones, %d pools, %d names on %d interface(s); maps in %s",
		conf.nzones, conf.npools, conf.nnames, conf.nifaces, pin_dir);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* signals only wake us inside sigsuspend(): none is lost between
	 * the checks and the wait */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	while (!stop) {
		if (!reload)
			sigsuspend(&old);
		if (reload) {
			struct ps_conf nconf;
			struct ps_image nimg;

			reload = 0;
			pr_info("SIGHUP: reloading %s", path);
			if (load_config(&nconf, &nimg, path)) {
				pr_err("reload failed; still serving the previous config");
				continue;
			}
			if (sync_maps(&maps, &nimg)) {
				ps_image_free(&nimg);
				ps_conf_free(&nconf);
				continue;
			}
			ps_image_free(&img);
			ps_conf_free(&conf);
			img = nimg;
			conf = nconf;
		}
	}
	pr_info("exiting; the XDP program stays attached and keeps answering");
	rc = 0;
out:
	steer__destroy(skel);
out_conf:
	ps_image_free(&img);
	ps_conf_free(&conf);
	return rc;
}
