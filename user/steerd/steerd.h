/* SPDX-License-Identifier: GPL-2.0-only */
/* steerd internals: one thread, one epoll loop. */
#ifndef PS_STEERD_H
#define PS_STEERD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>
#include <libconfig.h>
#include <jansson.h>
#include <curl/curl.h>

#include "conf.h"
#include "build.h"
#include "maps.h"
#include "lbmaps.h"

#define STEERD_VERSION PS_VERSION

struct steerd;

/* A libcurl transfer on the probe engine's multi handle that is not a
 * probe (store.c): done() runs when it completes, after the handle was
 * removed from the multi handle. */
struct xfer {
	void (*done)(struct steerd *d, struct xfer *x, CURLcode res);
};
struct store;

/* a file descriptor in the epoll set and what to do when it is ready */
struct watch {
	int fd;
	void (*fn)(struct steerd *d, struct watch *w, uint32_t events);
};

/* a stream connection: control client or DNS over TCP */
struct conn {
	struct watch w;
	int ctl;			/* control (JSON lines) or DNS (TCP) */
	uint8_t *in, *out;
	size_t in_len, in_cap;
	size_t out_len, out_off, out_cap;
	time_t last;			/* last activity, for idle timeouts */
	bool eof;			/* the peer has shut down its side */
	bool closing;			/* close once the output is flushed */
	struct sockaddr_storage peer;
	struct conn *next;
};

#define DNS_SOCKS_MAX (2 * PS_LISTEN_MAX + 2)

struct steerd {
	/* what we serve */
	const char *config_path;
	char *config_text;		/* the config file as last loaded */
	config_t *overlay;		/* runtime changes (tree.h) */
	struct ps_conf conf;		/* config + overlay, validated */
	struct ps_image img;		/* conf compiled for the maps */
	struct ps_pool_rt *rt;		/* what probes found, per conf pool */
	struct prober *prober;		/* probe.c */
	struct store *store;		/* store.c: shared state, or NULL */
	config_t *shared;		/* config objects from the store */

	/* the data plane */
	struct steer *skel;
	struct ps_maps maps;
	struct ps_lb_maps lb;		/* flow steering */
	struct lb_neigh *neigh;		/* lb.c: the neighbour table */
	char pin_dir[512];

	/* the loop */
	int epfd;
	struct watch sig;
	struct watch ctl_listen;
	struct watch dns_udp[DNS_SOCKS_MAX];
	struct watch dns_tcp[DNS_SOCKS_MAX];
	int n_udp, n_tcp;
	struct conn *conns;
	int n_dns_conns;
	bool stop;
	time_t started;
};

/* loop.c */
int loop_add(struct steerd *d, struct watch *w, uint32_t events);
int loop_mod(struct steerd *d, struct watch *w, uint32_t events);
void loop_del(struct steerd *d, struct watch *w);
struct conn *conn_new(struct steerd *d, int fd, int ctl,
		      const struct sockaddr_storage *peer,
		      void (*fn)(struct steerd *, struct watch *, uint32_t));
void conn_close(struct steerd *d, struct conn *c);
/* Append bytes to the output queue and start writing. */
int conn_send(struct steerd *d, struct conn *c, const void *buf, size_t len);
/* Read what is available; 0 ok, -1 closed or error (conn freed). */
int conn_read(struct steerd *d, struct conn *c, size_t max);
/* Write what is queued (called on EPOLLOUT); -1 if the conn was freed. */
int conn_flush(struct steerd *d, struct conn *c);
/* After handling what was read: close a connection whose peer has
 * finished sending, once its replies are out. */
void conn_done(struct steerd *d, struct conn *c);
/* Close connections idle for longer than their timeout. */
void conn_sweep(struct steerd *d, time_t now);
int set_nonblock(int fd);

/* apply.c */
/* Build the model from config text + overlay, compile, write the maps,
 * persist the overlay if it changed.  On any failure maps, state and
 * files are as before, and err says why. */
int steerd_apply(struct steerd *d, const char *config_text,
		 config_t *overlay, bool overlay_changed, char *err,
		 size_t errlen);
/* The effective tree: config text with the overlay on top. */
int steerd_tree(struct steerd *d, config_t *tree, char *err, size_t errlen);
int steerd_reload(struct steerd *d, char *err, size_t errlen);
/* A whole file as a string (the config text). */
char *steerd_read_file(const char *path, char *err, size_t errlen);
/* Attach (or adopt) the program on an interface. */
int steerd_attach(struct steerd *d, const char *ifname, int mode,
		  char *err, size_t errlen);
int steerd_detach(struct steerd *d, const char *ifname, char *err,
		  size_t errlen);

void rt_free(struct ps_pool_rt *rt, int npools);
/* Rebuild the pools' tables from what probes found (only: the pools
 * whose servers changed, NULL for all), write the changed ones. */
int steerd_tables(struct steerd *d, const bool *only,
		  struct ps_sync_report *rep);

/* lb.c */
/* Bring the flow steering maps to conf under rt's states and scores;
 * pools_changed: rebuild only the tables of VIPs of these pools (NULL:
 * any that changed). */
int steerd_lb_sync(struct steerd *d, const struct ps_conf *conf,
		   struct ps_pool_rt *rt, const bool *pools_changed);
/* Once a second: MACs learned since, tables that follow. */
void steerd_lb_tick(struct steerd *d);
void steerd_lb_fini(struct steerd *d);

/* probe.c */
int probes_init(struct steerd *d);
void probes_fini(struct steerd *d);
/* After d->conf and d->rt changed: keep the probes still configured. */
void probes_reconfigure(struct steerd *d);
/* ms until the engine wants the loop back (-1: never) */
int probes_timeout(struct steerd *d);
/* Start what is due, rebuild tables that changed. */
void probes_run(struct steerd *d);
/* The probes of one server and their last results, for the control
 * socket. */
json_t *probes_json(struct steerd *d, int pool, int server);
/* Run another transfer on the engine (its private pointer is x). */
int probes_add_xfer(struct steerd *d, CURL *e, struct xfer *x);
void probes_remove_xfer(struct steerd *d, CURL *e);
/* A pool's inputs changed outside the probes: rebuild its table (now if
 * urgent, else within the usual delay). */
void probes_mark(struct steerd *d, int pool, bool urgent);

/* store.c: configuration and measurements shared between PoPs through
 * etcd (its v3 JSON gateway); nothing when the config has no store. */
/* Before the first apply: the last shared config saved on disk. */
int store_load_cache(struct steerd *d, const struct ps_store_conf *c);
int store_init(struct steerd *d);
void store_fini(struct steerd *d);
int store_timeout(struct steerd *d);
void store_run(struct steerd *d);
json_t *store_json(struct steerd *d);

/* ctl.c */
int ctl_open(struct steerd *d, char *err, size_t errlen);
void ctl_close(struct steerd *d);

/* dnssrv.c */
int dns_open(struct steerd *d, char *err, size_t errlen);
void dns_close(struct steerd *d);
void dns_conn_ready(struct steerd *d, struct watch *w, uint32_t events);

#endif
