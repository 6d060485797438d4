// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flow steering in steerd: each VIP's backends (its pool's servers of the
 * VIP's family) with the weights their pool's policy gives them from the
 * probes' scores, their states (up, draining, out) and, for DSR, their
 * MACs -- from the config or learned from the kernel's neighbour table
 * (libnl) -- written to the maps by user/lib/lbmaps.c.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>

#include "steerd.h"
#include "log.h"

#define NEIGH_REFRESH_MS	1000

struct lb_neigh {
	struct nl_sock *sk;
	struct nl_cache *cache;
	uint64_t refreshed;
	uint64_t poked[PS_MAX_REALS];	/* last resolution we asked for */
	uint64_t fib_fail[PS_MAX_VIPS];	/* a VIP's fib_fail counter, last seen */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The neighbour cache of this network namespace, at most a second old. */
static struct nl_cache *neigh_cache(struct steerd *d)
{
	struct lb_neigh *n = d->neigh;
	uint64_t now = now_ms();

	if (!n) {
		n = d->neigh = calloc(1, sizeof(*n));
		if (!n)
			return NULL;
	}
	if (!n->sk) {
		n->sk = nl_socket_alloc();
		if (!n->sk || nl_connect(n->sk, NETLINK_ROUTE) ||
		    rtnl_neigh_alloc_cache(n->sk, &n->cache)) {
			if (n->sk)
				nl_socket_free(n->sk);
			n->sk = NULL;
			return NULL;
		}
		n->refreshed = now;
	} else if (now - n->refreshed >= NEIGH_REFRESH_MS) {
		nl_cache_refill(n->sk, n->cache);
		n->refreshed = now;
	}
	return n->cache;
}

/* Ask the kernel to resolve a backend's MAC: one datagram to the discard
 * port makes it send an ARP request / neighbour solicitation. */
static void neigh_poke(const struct ps_addr *a)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return;
	if (a->family == AF_INET) {
		struct sockaddr_in *s = (void *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(9);
		s->sin_addr = a->v4;
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(9);
		s->sin6_addr = a->v6;
		len = sizeof(*s);
	}
	sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len);
	close(fd);
}

/* A backend's MAC from the neighbour table of one of our interfaces. */
static bool learn_mac(struct steerd *d, const struct ps_addr *a, uint8_t mac[6])
{
	struct nl_cache *cache = neigh_cache(d);
	int id = ps_lb_real_id(&d->lb, a);

	for (int i = 0; cache && i < d->conf.nifaces; i++) {
		int ifindex = if_nametoindex(d->conf.ifaces[i]);
		struct nl_addr *dst = nl_addr_build(a->family, &a->v4,
						    a->family == AF_INET ? 4 : 16);
		struct rtnl_neigh *ne;
		struct nl_addr *ll;

		if (!dst)
			continue;
		ne = ifindex ? rtnl_neigh_get(cache, ifindex, dst) : NULL;
		nl_addr_put(dst);
		if (!ne)
			continue;
		ll = rtnl_neigh_get_lladdr(ne);
		if (ll && nl_addr_get_len(ll) == 6 &&
		    !(rtnl_neigh_get_state(ne) & (NUD_FAILED | NUD_INCOMPLETE))) {
			memcpy(mac, nl_addr_get_binary_addr(ll), 6);
			rtnl_neigh_put(ne);
			return true;
		}
		rtnl_neigh_put(ne);
	}
	/* not known (yet): ask, at most once a second per backend */
	if (d->neigh && (id < 0 || now_ms() - d->neigh->poked[id] >= NEIGH_REFRESH_MS)) {
		neigh_poke(a);
		if (id >= 0)
			d->neigh->poked[id] = now_ms();
	}
	return false;
}

/*
 * IP-in-IP: the data plane's FIB lookups fail (and its packets go to the
 * stack) while the next hop towards a backend is unresolved, and nothing
 * of its own makes the kernel resolve it.  When a VIP's fib_fail counter
 * moved, ask for its backends, at most once a second each.
 */
static void ipip_resolve(struct steerd *d, const struct ps_vip_conf *vc,
			 const struct ps_lb_backend *be, int n)
{
	int vid = ps_lb_vip_id(&d->lb, vc);
	struct ps_lb_stats st;
	uint64_t now = now_ms();

	if (vid < 0 || !neigh_cache(d) || ps_lb_vip_stats(&d->lb, vid, &st) ||
	    st.fib_fail == d->neigh->fib_fail[vid])
		return;
	d->neigh->fib_fail[vid] = st.fib_fail;
	for (int b = 0; b < n; b++) {
		int id = ps_lb_real_id(&d->lb, &be[b].addr);

		if (id >= 0 && now - d->neigh->poked[id] < NEIGH_REFRESH_MS)
			continue;
		neigh_poke(&be[b].addr);
		if (id >= 0)
			d->neigh->poked[id] = now;
	}
}

/* The MAC the data plane has for a backend, if any. */
static bool last_mac(struct steerd *d, const struct ps_addr *a, uint8_t mac[6])
{
	static const uint8_t zero[6];
	int id = ps_lb_real_id(&d->lb, a);

	if (id < 0 || !memcmp(d->lb.real[id].mac, zero, 6))
		return false;
	memcpy(mac, d->lb.real[id].mac, 6);
	return true;
}

/* The backends of every VIP of conf under the states and scores of rt. */
static int backends_of(struct steerd *d, const struct ps_conf *conf,
		       struct ps_pool_rt *rt, struct ps_lb_backend **be, int *nb)
{
	static bool warned_empty[PS_MAX_VIPS];

	for (int v = 0; v < conf->nvips; v++) {
		const struct ps_vip_conf *vc = &conf->vips[v];
		const struct ps_pool_conf *pool = &conf->pools[vc->pool];
		const struct ps_srv_state *srv[PS_POOL_SERVERS_MAX];
		double sw[PS_POOL_SERVERS_MAX], w[PS_POOL_SERVERS_MAX];
		bool stale[PS_POOL_SERVERS_MAX];
		int order[PS_POOL_SERVERS_MAX];
		int n = 0, keep, usable;

		be[v] = calloc(PS_POOL_SERVERS_MAX, sizeof(**be));
		if (!be[v])
			return -ENOMEM;
		for (int j = 0; j < pool->nservers && n < PS_POOL_SERVERS_MAX; j++) {
			const struct ps_server_conf *s = &pool->servers[j];
			struct ps_lb_backend *b = &be[v][n];

			if (s->addr.family != vc->addr.family)
				continue;
			b->addr = s->addr;
			stale[n] = false;
			if (s->has_mac) {
				memcpy(b->mac, s->mac, 6);
				b->has_mac = true;
			} else if (vc->mode == PS_FWD_DSR) {
				b->has_mac = learn_mac(d, &s->addr, b->mac);
				/* the neighbour entry went (FAILED, flushed):
				 * its flows keep the last MAC, no new ones */
				if (!b->has_mac && last_mac(d, &s->addr, b->mac))
					b->has_mac = stale[n] = true;
			}
			srv[n] = &rt[vc->pool].srv[j];
			/* DSR without a (current) MAC gets no new flows */
			sw[n] = vc->mode == PS_FWD_DSR && (!b->has_mac || stale[n]) ?
				0 : s->weight;
			n++;
		}
		/* the pool's policy, as for its DNS answers */
		keep = rt[vc->pool].keep[vc->addr.family == AF_INET ? 0 : 1];
		usable = ps_policy_weights(pool->policy, n, srv, sw, pool->margin,
					   &keep, w, order);
		for (int b = 0; b < n; b++) {
			be[v][b].weight = w[b];
			if (ps_srv_usable(srv[b]) && sw[b] > 0)
				be[v][b].flags = PS_REAL_UP;
			/* drained, weight 0 or a stale MAC: established
			 * flows stay, as long as they can be sent */
			else if (srv[b]->admin == PS_ADMIN_DRAIN ||
				 (ps_srv_usable(srv[b]) &&
				  (vc->mode != PS_FWD_DSR || be[v][b].has_mac)))
				be[v][b].flags = PS_REAL_DRAIN;
		}
		if (!usable && pool->fallback == PS_FB_ALL)
			/* nobody is healthy: better the ones not switched
			 * off than nothing */
			for (int b = 0; b < n; b++)
				if (srv[b]->admin == PS_ADMIN_UP && sw[b] > 0) {
					be[v][b].weight = sw[b];
					be[v][b].flags = PS_REAL_UP;
				}
		nb[v] = n;
		if (vc->mode == PS_FWD_IPIP)
			ipip_resolve(d, vc, be[v], n);
		/* said once, until the pool has one again */
		if (!n && !warned_empty[v])
			pr_warn("vip '%s': pool '%s' has no IPv%c server: its packets go to the stack",
				vc->name, pool->name, vc->addr.family == AF_INET ? '4' : '6');
		warned_empty[v] = !n;
	}
	return 0;
}

/* bpf_fib_lookup() (ipip's next hop) answers only on interfaces that
 * forward: say so once, it is not a config error */
static void check_forwarding(const struct ps_conf *conf)
{
	static bool warned[2];

	for (int v = 0; v < conf->nvips; v++) {
		int six = conf->vips[v].addr.family == AF_INET6;

		if (conf->vips[v].mode != PS_FWD_IPIP || warned[six])
			continue;
		for (int i = 0; i < conf->nifaces; i++) {
			char path[128], c = '1';
			FILE *f;

			snprintf(path, sizeof(path), "/proc/sys/net/ipv%c/conf/%s/forwarding",
				 six ? '6' : '4', conf->ifaces[i]);
			f = fopen(path, "r");
			if (!f || fread(&c, 1, 1, f) != 1 || c != '0') {
				if (f)
					fclose(f);
				continue;
			}
			fclose(f);
			pr_warn("vip '%s' (ipip): %s does not forward IPv%c: the data plane's route lookups fail and its packets go to the stack (sysctl net.ipv%c.conf.%s.forwarding=1)",
				conf->vips[v].name, conf->ifaces[i], six ? '6' : '4',
				six ? '6' : '4', conf->ifaces[i]);
			warned[six] = true;
		}
	}
}

int steerd_lb_sync(struct steerd *d, const struct ps_conf *conf,
		   struct ps_pool_rt *rt, const bool *pools_changed)
{
	struct ps_lb_backend *be[PS_MAX_VIPS] = { 0 };
	int nb[PS_MAX_VIPS] = { 0 }, rc;
	bool only[PS_MAX_VIPS];
	struct ps_lb_report rep;

	if (d->lb.vips < 0)
		return 0;
	check_forwarding(conf);
	for (int v = 0; v < conf->nvips; v++)
		only[v] = !pools_changed || pools_changed[conf->vips[v].pool];
	rc = backends_of(d, conf, rt, be, nb);
	if (!rc)
		rc = ps_lb_sync(&d->lb, conf, be, nb, pools_changed ? only : NULL, &rep);
	for (int v = 0; v < conf->nvips; v++)
		free(be[v]);
	if (!rc && (rep.vips_written || rep.vips_deleted || rep.tables_built))
		pr_info("flow steering: %d vips, %d written, %d deleted, %d tables built",
			conf->nvips, rep.vips_written, rep.vips_deleted,
			rep.tables_built);
	return rc;
}

void steerd_lb_tick(struct steerd *d)
{
	static uint64_t last;
	uint64_t now = now_ms();

	/* DSR backends whose MAC was not known yet, or changed */
	if (!d->conf.nvips || now - last < NEIGH_REFRESH_MS)
		return;
	last = now;
	steerd_lb_sync(d, &d->conf, d->rt, NULL);
}

void steerd_lb_fini(struct steerd *d)
{
	if (d->neigh) {
		if (d->neigh->cache)
			nl_cache_free(d->neigh->cache);
		if (d->neigh->sk)
			nl_socket_free(d->neigh->sk);
		free(d->neigh);
		d->neigh = NULL;
	}
}
