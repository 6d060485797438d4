// SPDX-License-Identifier: GPL-2.0-only
/*
 * steerd: keeps popsteer's maps current and the XDP program attached.
 *
 *   steerd [-c FILE] [-t] [-v[v]] [-q] [--syslog] [--discard-state]
 *
 * Loads the config file, then the runtime state (changes made with
 * steerctl) on top, fills the pinned maps, then attaches the program to
 * the configured interfaces -- or adopts the one already attached, by
 * `ip link` or by an earlier steerd, with its pinned maps.  On exit the
 * program stays attached and keeps answering from the maps, so a restart
 * (stop, crash or upgrade) loses no UDP query.  Serves the control socket
 * and DNS over TCP (and UDP for what the program passes to the stack).
 * SIGHUP reloads the config file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "steer.skel.h"
#include "steerd.h"
#include "state.h"
#include "tree.h"
#include "log.h"

#define DEFAULT_CONFIG "/etc/popsteer/steerd.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: steerd [OPTIONS]\n"
		"  -c, --config FILE    config file (default " DEFAULT_CONFIG ")\n"
		"  -t, --check          validate the config and runtime state, then exit\n"
		"      --discard-state  start from the config file alone; a runtime\n"
		"                       state file is kept aside as FILE.discarded\n"
		"  -v, --verbose        more messages (-vv: libbpf debug too)\n"
		"  -q, --quiet          errors and warnings only\n"
		"      --syslog         also log to syslog\n"
		"  -h, --help           this text\n");
}

/* Config alone first (it names the state file), then the state on top. */
static int load(struct steerd *d, bool discard)
{
	char err[PS_ERR_MAX];
	struct ps_conf base;

	d->config_text = steerd_read_file(d->config_path, err, sizeof(err));
	if (!d->config_text) {
		pr_err("%s", err);
		return -1;
	}
	if (ps_conf_load_string(&base, d->config_text, d->config_path, err,
				sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	d->overlay = calloc(1, sizeof(*d->overlay));
	if (!d->overlay)
		goto fail;
	if (discard) {
		char aside[sizeof(base.state_file) + 16];

		snprintf(aside, sizeof(aside), "%s.discarded", base.state_file);
		if (!rename(base.state_file, aside))
			pr_warn("runtime state discarded: kept as %s", aside);
	}
	if (ps_state_load(base.state_file, d->overlay, err, sizeof(err))) {
		pr_err("runtime state: %s", err);
		pr_err("refusing to start with it; steerd --discard-state starts from the config file alone");
		goto fail;
	}
	/* what the store shared last time, until it answers */
	if (store_load_cache(d, &base.store))
		goto fail;
	ps_conf_free(&base);
	return 0;
fail:
	ps_conf_free(&base);
	return -1;
}

static int check(struct steerd *d)
{
	char err[PS_ERR_MAX];
	struct ps_conf conf;
	config_t tree;

	if (steerd_tree(d, &tree, err, sizeof(err)) ||
	    ps_conf_from_tree(&conf, &tree, d->config_path, err, sizeof(err))) {
		pr_err("%s", err);
		return 1;
	}
	config_destroy(&tree);
	printf("%s: OK (%d zones, %d pools, %d names)\n", d->config_path,
	       conf.nzones, conf.npools, conf.nnames);
	ps_conf_free(&conf);
	return 0;
}

/* The connection table's size: the config's, unless a running data
 * plane pinned one of another size (its flows are worth more). */
static void conn_table_size(struct steerd *d, uint32_t want)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, PS_MAP_CONN);
	fd = bpf_obj_get(path);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    info.max_entries != want) {
		pr_warn("%s holds %u flows, lb.flow_table_size says %u: keeping the pinned table (its flows); the new size applies once it is unpinned",
			path, info.max_entries, want);
		want = info.max_entries;
	}
	if (fd >= 0)
		close(fd);
	bpf_map__set_max_entries(d->skel->maps.ps_conn, want);
}

static int open_dataplane(struct steerd *d)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	char err[PS_ERR_MAX];
	struct ps_conf conf;
	config_t tree;
	int rc;

	/* the model is needed for bpffs before the maps exist */
	if (steerd_tree(d, &tree, err, sizeof(err)) ||
	    ps_conf_from_tree(&conf, &tree, d->config_path, err, sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	config_destroy(&tree);
	rc = ps_bpffs_prepare(conf.bpffs, err, sizeof(err));
	ps_pin_dir(d->pin_dir, sizeof(d->pin_dir), conf.bpffs);
	if (rc) {
		pr_err("%s", err);
		ps_conf_free(&conf);
		return -1;
	}
	oopts.pin_root_path = d->pin_dir;
	d->skel = steer__open_opts(&oopts);
	if (!d->skel) {
		pr_err("Couldn't open the BPF object: %s", strerror(errno));
		ps_conf_free(&conf);
		return -1;
	}
	conn_table_size(d, conf.flow_table_size);
	ps_conf_free(&conf);
	/* maps already pinned there (a running data plane) are reused */
	rc = steer__load(d->skel);
	if (rc) {
		pr_err("Couldn't load the BPF program (maps in %s): %s",
		       d->pin_dir, strerror(-rc));
		return -1;
	}
	if (ps_maps_from_object(&d->maps, d->skel->obj) ||
	    ps_lb_from_object(&d->lb, d->skel->obj)) {
		pr_err("BPF object lacks popsteer maps");
		return -1;
	}
	return 0;
}

static int attach_all(struct steerd *d)
{
	int attached[PS_IFACES_MAX] = { 0 };
	char err[PS_ERR_MAX];

	for (int i = 0; i < d->conf.nifaces; i++) {
		attached[i] = steerd_attach(d, d->conf.ifaces[i],
					    d->conf.xdp_mode, err, sizeof(err));
		if (attached[i] >= 0)
			continue;
		pr_err("%s", err);
		/* all or nothing: undo what this run attached */
		while (i-- > 0)
			if (attached[i] > 0)
				steerd_detach(d, d->conf.ifaces[i], err, sizeof(err));
		return -1;
	}
	return 0;
}

static void on_signal(struct steerd *d, struct watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	char err[PS_ERR_MAX];

	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGHUP) {
			d->stop = true;
			continue;
		}
		pr_info("SIGHUP: reloading %s", d->config_path);
		if (steerd_reload(d, err, sizeof(err))) {
			pr_err("%s", err);
			pr_err("reload failed; still serving the previous config");
		}
	}
}

static int run(struct steerd *d)
{
	struct epoll_event ev[32];
	char err[PS_ERR_MAX];
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->sig.fn = on_signal;
	if (d->sig.fd < 0 || loop_add(d, &d->sig, EPOLLIN)) {
		pr_err("signalfd: %s", strerror(errno));
		return -1;
	}
	if (ctl_open(d, err, sizeof(err)) || dns_open(d, err, sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	pr_info("serving %d zones, %d pools, %d names on %d interface(s); maps in %s; control %s",
		d->conf.nzones, d->conf.npools, d->conf.nnames,
		d->conf.nifaces, d->pin_dir, d->conf.control_socket);

	while (!d->stop) {
		int t = probes_timeout(d), ts = store_timeout(d), n;

		if (ts >= 0 && (t < 0 || ts < t))
			t = ts;
		n = epoll_wait(d->epfd, ev, 32, t < 0 || t > 1000 ? 1000 : t);
		for (int i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			w->fn(d, w, ev[i].events);
		}
		probes_run(d);
		store_run(d);
		steerd_lb_tick(d);
		conn_sweep(d, time(NULL));
	}
	return 0;
}

/* A kept connection per probe and DNS clients: the soft limit of open
 * files (often 1024) up to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			pr_warn("Couldn't raise the open files limit: %s",
				strerror(errno));
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "discard-state", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct steerd d = { .config_path = DEFAULT_CONFIG, .epfd = -1,
			    .sig.fd = -1, .ctl_listen.fd = -1,
			    .lb.vips = -1 };
	int checkonly = 0, discard = 0, verbose = 0, quiet = 0, opt, rc = 1;
	char err[PS_ERR_MAX];

	while ((opt = getopt_long(argc, argv, "c:tvqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': d.config_path = optarg; break;
		case 't': checkonly = 1; break;
		case 'D': discard = 1; break;
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

	if (load(&d, discard && !checkonly))
		goto out;
	if (checkonly) {
		rc = check(&d);
		goto out;
	}
	d.started = time(NULL);
	raise_fd_limit();
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0 || open_dataplane(&d))
		goto out;
	/* complete maps before any program can answer from them */
	if (steerd_apply(&d, d.config_text, d.overlay, false, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	if (probes_init(&d) || store_init(&d)) {
		pr_err("Couldn't start the probe engine");
		goto out;
	}
	if (attach_all(&d) || run(&d))
		goto out;
	pr_info("exiting; the XDP program stays attached and keeps answering");
	rc = 0;
out:
	while (d.conns)
		conn_close(&d, d.conns);
	dns_close(&d);
	ctl_close(&d);
	if (d.sig.fd >= 0)
		close(d.sig.fd);
	if (d.epfd >= 0)
		close(d.epfd);
	store_fini(&d);
	probes_fini(&d);
	steerd_lb_fini(&d);
	steer__destroy(d.skel);
	rt_free(d.rt, d.conf.npools);
	ps_image_free(&d.img);
	ps_conf_free(&d.conf);
	if (d.overlay) {
		config_destroy(d.overlay);
		free(d.overlay);
	}
	if (d.shared) {
		config_destroy(d.shared);
		free(d.shared);
	}
	free(d.config_text);
	return rc;
}
