// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet tests of the flow steering path (bpf/lib/lb.h): real frames
 * through the real compiled program (BPF_PROG_TEST_RUN), the steering maps
 * (ps_vips, ps_reals, ps_maglev and its per-VIP inner tables, ps_conn)
 * filled here directly.  Every expected frame is built here, byte by byte,
 * and compared whole with what the program returned; the backend of a new
 * flow is predicted with the shared ps_flow_hash.
 *
 * IP-in-IP asks the kernel's FIB for the next hop of ctx->ingress_ifindex,
 * so the program runs in a network namespace of its own with two veth
 * pairs: ps-lb0 (198.18.5.1/24, 2001:2:5::1/64) where the test frames come
 * in and the backends live, permanent neighbours for them, and ps-lb2
 * (198.18.6.1/24) for a backend behind another interface (redirect).
 *
 *   lb_packets [FILTER]     only the cases whose name has FILTER
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <popsteer/lb.h>

#include "steer.skel.h"
#include "check.h"
#include "dnsmsg.h"
#include "pkt.h"

CHECK_DEFINE;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the namespace ------------------------------------------------- */

#define IF_IN		"ps-lb0"	/* frames come in here; backends */
#define IF_IN_PEER	"ps-lb1"
#define IF_OUT		"ps-lb2"	/* another next hop: redirect */
#define IF_OUT_PEER	"ps-lb3"

static const uint8_t mac_pop[6] = { 0x02, 0, 0, 0, 0, 0x01 };	 /* frames' dst */
static const uint8_t mac_router[6] = { 0x02, 0, 0, 0, 0, 0x02 }; /* frames' src */
static const uint8_t mac_if_in[6] = { 0x02, 0, 0, 0, 0xaa, 0x01 };
static const uint8_t mac_if_out[6] = { 0x02, 0, 0, 0, 0xaa, 0x03 };
static int ifindex_in, ifindex_out;

/* ---- backends ------------------------------------------------------ */

struct realdef {
	uint32_t id;
	const char *addr;
	int neigh;		/* a permanent neighbour entry */
	const char *dev;
};

/* DSR MAC 02:00:00:00:d5:<id>; neighbour MAC 02:00:00:00:ee:<id>: the
 * two differ so a frame tells which one the program used */
static const struct realdef reals[] = {
	{ 1, "198.18.5.10", 1, IF_IN },
	{ 2, "198.18.5.11", 1, IF_IN },
	{ 3, "198.18.5.12", 1, IF_IN },
	{ 4, "198.18.5.13", 1, IF_IN },
	{ 5, "198.18.6.10", 1, IF_OUT },	/* behind the other interface */
	{ 11, "2001:2:5::10", 1, IF_IN },
	{ 12, "2001:2:5::11", 1, IF_IN },
	{ 20, "198.18.5.99", 0, NULL },		/* on link, no neighbour */
	{ 21, "198.18.9.1", 0, NULL },		/* no route */
	{ 22, "2001:2:5::99", 0, NULL },
	{ 23, "2001:2:9::1", 0, NULL },
};

static void mac_dsr(uint32_t id, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x02, 0, 0, 0, 0xd5, (uint8_t)id };

	memcpy(mac, m, 6);
}

static void mac_neigh(uint32_t id, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x02, 0, 0, 0, 0xee, (uint8_t)id };

	memcpy(mac, m, 6);
}

/* ---- VIPs ------------------------------------------------------------ */

enum { V_TCP4 = 1, V_TCP6, V_UDP4, V_UDP6, V_IPIP4, V_IPIP6, V_NOTABLE,
       V_BIG, NV };

struct vipdef {
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint32_t size;
	uint8_t mode;
	uint32_t seed;
	const char *tun_src, *tun_host;
	uint16_t deflt;		/* the real of the default table */
};

static const struct vipdef vips[NV] = {
	[V_TCP4] = { "198.18.10.1", 80, IPPROTO_TCP, 251, PS_FWD_DSR, 0x5eed0001,
		     NULL, NULL, 1 },
	[V_TCP6] = { "2001:2:10::1", 443, IPPROTO_TCP, 251, PS_FWD_DSR, 0x5eed0002,
		     NULL, NULL, 11 },
	[V_UDP4] = { "198.18.10.2", 443, IPPROTO_UDP, 251, PS_FWD_DSR, 0x5eed0003,
		     NULL, NULL, 2 },
	[V_UDP6] = { "2001:2:10::2", 443, IPPROTO_UDP, 251, PS_FWD_DSR, 0x5eed0004,
		     NULL, NULL, 12 },
	[V_IPIP4] = { "198.18.10.5", 80, IPPROTO_TCP, 65537, PS_FWD_IPIP, 0x5eed0005,
		      "198.18.100.0", "0.0.0.255", 1 },
	[V_IPIP6] = { "2001:2:10::5", 80, IPPROTO_TCP, 251, PS_FWD_IPIP, 0x5eed0006,
		      "2001:2:100::", "::ffff:ffff", 11 },
	[V_NOTABLE] = { "198.18.10.7", 80, IPPROTO_TCP, 251, PS_FWD_DSR, 0x5eed0007,
			NULL, NULL, 0 },
	[V_BIG] = { "198.18.10.8", 80, IPPROTO_TCP, 65537, PS_FWD_DSR, 0x5eed0008,
		    NULL, NULL, 1 },
};

/* ---- program and maps ---------------------------------------------- */

static const char *config =
	"interfaces = [ \"test0\" ];\n"
	"dns = { listen = [ \"198.18.0.1\", \"2001:2::1\" ]; };\n"
	"zones = (\n"
	"  { name = \"shop.example\"; ttl = 3600;\n"
	"    soa = { mname = \"ns1.shop.example\"; rname = \"hostmaster.shop.example\";\n"
	"            serial = 2026112501; refresh = 7200; retry = 900; expire = 1209600; minimum = 300; };\n"
	"    ns = [ \"ns1.shop.example\", \"ns2.dns.example\" ]; }\n"
	");\n"
	"pools = (\n"
	"  { name = \"origins\"; answers = 1; ttl = 30;\n"
	"    servers = ( { address = \"198.18.1.10\"; } ); }\n"
	");\n"
	"names = (\n"
	"  { name = \"www.shop.example\"; pool = \"origins\"; ttl = 20; }\n"
	");\n";

static struct ps_prog prog;
static int fd_vips, fd_reals, fd_maglev, fd_conn, fd_vstats, fd_rstats;
static int ncpus;

/* each VIP's table as last written (NULL: no table) */
static uint16_t *tab[NV];

static int addr16(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, out) != 1)
			abort();
		return 6;
	}
	if (inet_pton(AF_INET, s, out) != 1)
		abort();
	return 4;
}

static const struct realdef *real_def(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(reals); i++)
		if (reals[i].id == id)
			return &reals[i];
	abort();
}

static void real_set(uint32_t id, uint8_t flags)
{
	const struct realdef *d = real_def(id);
	struct ps_real r = {};

	r.family = addr16(d->addr, r.addr);
	mac_dsr(id, r.mac);
	r.flags = flags;
	if (bpf_map_update_elem(fd_reals, &id, &r, BPF_ANY))
		CHECK(0, "ps_reals update %u: %s", id, strerror(errno));
}

static void vip_set(uint32_t vid)
{
	const struct vipdef *v = &vips[vid];
	struct ps_vip_key k = {};
	struct ps_vip val = {};

	k.family = addr16(v->addr, k.addr);
	k.port = htons(v->port);
	k.proto = v->proto;
	val.id = vid;
	val.size = v->size;
	val.mode = v->mode;
	val.seed = v->seed;
	if (v->tun_src) {
		addr16(v->tun_src, val.tun_src);
		addr16(v->tun_host, val.tun_host);
	}
	if (bpf_map_update_elem(fd_vips, &k, &val, BPF_ANY))
		CHECK(0, "ps_vips update %u: %s", vid, strerror(errno));
}

/* Write tab[vid] as a new inner map and swap it in, as steerd does. */
static void table_write(uint32_t vid)
{
	uint32_t size = vips[vid].size, n = (size + 3) / 4, count = n;
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_INNER_MAP);
	struct ps_maglev_ent *ents = calloc(n, sizeof(*ents));
	uint32_t *keys = calloc(n, sizeof(*keys));
	int fd;

	if (!ents || !keys)
		abort();
	for (uint32_t i = 0; i < n * 4; i++)
		ents[i / 4].real[i % 4] = i < size ? tab[vid][i] : PS_REAL_NONE;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4,
			    sizeof(struct ps_maglev_ent), n, &mo);
	if (fd < 0) {
		CHECK(0, "inner map: %s", strerror(errno));
	} else {
		if (bpf_map_update_batch(fd, keys, ents, &count, NULL) || count != n)
			CHECK(0, "inner map fill: %s", strerror(errno));
		if (bpf_map_update_elem(fd_maglev, &vid, &fd, BPF_ANY))
			CHECK(0, "ps_maglev update %u: %s", vid, strerror(errno));
		close(fd);
	}
	free(ents);
	free(keys);
}

/* 1 if the VIP had no table */
static int table_alloc(uint32_t vid)
{
	if (tab[vid])
		return 0;
	tab[vid] = calloc(vips[vid].size, sizeof(uint16_t));
	if (!tab[vid])
		abort();
	return 1;
}

/* Every entry of the VIP's table names one real. */
static void table_uniform(uint32_t vid, uint16_t rid)
{
	uint32_t size = vips[vid].size, i = 0;

	if (!table_alloc(vid))
		for (i = 0; i < size && tab[vid][i] == rid; i++)
			;
	if (i == size)
		return;		/* already so */
	for (i = 0; i < size; i++)
		tab[vid][i] = rid;
	table_write(vid);
}

static void table_drop(uint32_t vid)
{
	free(tab[vid]);
	tab[vid] = NULL;
	bpf_map_delete_elem(fd_maglev, &vid);
}

static void conn_clear(void)
{
	struct ps_conn_key k;

	while (!bpf_map_get_next_key(fd_conn, NULL, &k))
		if (bpf_map_delete_elem(fd_conn, &k))
			break;
}

static int conn_count(void)
{
	struct ps_conn_key k, next;
	int n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd_conn, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static struct ps_lb_stats stats_get(int fd, uint32_t id)
{
	struct ps_lb_stats *v = calloc(ncpus, sizeof(*v)), sum = {};

	if (!v)
		abort();
	if (bpf_map_lookup_elem(fd, &id, v))
		CHECK(0, "stats lookup %u: %s", id, strerror(errno));
	for (int c = 0; c < ncpus; c++) {
		sum.packets += v[c].packets;
		sum.bytes += v[c].bytes;
		sum.new_flows += v[c].new_flows;
		sum.replaced += v[c].replaced;
		sum.icmp += v[c].icmp;
		sum.no_backend += v[c].no_backend;
		sum.fib_fail += v[c].fib_fail;
	}
	free(v);
	return sum;
}

static struct ps_lb_stats vstat(uint32_t vid)
{
	return stats_get(fd_vstats, vid);
}

static struct ps_lb_stats rstat(uint32_t rid)
{
	return stats_get(fd_rstats, rid);
}

/* The counters moved from b to a by exactly d. */
static void stats_delta(const char *what, const struct ps_lb_stats *b,
			const struct ps_lb_stats *a, const struct ps_lb_stats *d)
{
#define F(x)	CHECK(a->x - b->x == d->x, "%s " #x " moved by %lld, expected %lld", \
		      what, (long long)(a->x - b->x), (long long)d->x)
	F(packets); F(bytes); F(new_flows); F(replaced); F(icmp);
	F(no_backend); F(fib_fail);
#undef F
}

/* ---- frames ------------------------------------------------------ */

#define CLIENT4 "198.18.200.1"
#define CLIENT6 "2001:2:200::1"
#define ROUTER4 "198.18.9.9"
#define ROUTER6 "2001:2:9::9"

struct fopt {
	int family;		/* 4 or 6 */
	int vlans;		/* 0..2 (802.1ad outer, 802.1Q inner) */
	int proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t tos;		/* IPv4 TOS / IPv6 traffic class */
	uint32_t flowlbl;	/* IPv6 */
	int df;			/* IPv4 DF */
	uint16_t frag;		/* IPv4 MF | fragment offset bits */
	int fragext;		/* IPv6: a fragment header before L4 */
	int paylen;		/* L4 payload bytes */
	int ipopts;		/* IPv4 option bytes (NOPs, a multiple of 4) */
	int syn;		/* TCP: a SYN (else an ACK segment) */
};

/* A flow of a VIP from client:sport. */
static struct fopt fo_vip(uint32_t vid, const char *client, uint16_t sport)
{
	const struct vipdef *v = &vips[vid];
	struct fopt o = {};
	uint8_t a[16];

	o.family = addr16(v->addr, a);
	o.proto = v->proto;
	o.src = client ? client : o.family == 6 ? CLIENT6 : CLIENT4;
	o.dst = v->addr;
	o.sport = sport ? sport : 40000;
	o.dport = v->port;
	o.df = 1;
	return o;
}

static size_t l3_of(int vlans)
{
	return 14 + 4 * vlans;
}

static void ip4_csum(uint8_t *ip)
{
	size_t ihl = (ip[0] & 0xf) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, ~csum_fold16(csum_add(0, ip, ihl)));
}

/*
 * An IP packet around l4 (l4len bytes); csum_off >= 0: the L4 checksum
 * at that offset of l4, pseudo header included.  Returns its length.
 */
static size_t ip_pkt(uint8_t *out, const struct fopt *o, int proto,
		     const uint8_t *l4, size_t l4len, int csum_off)
{
	uint8_t src[16], dst[16], *p;
	size_t hl;

	addr16(o->src, src);
	addr16(o->dst, dst);
	if (o->family == 6) {
		size_t ext = o->fragext ? 8 : 0;

		hl = 40 + ext;
		memset(out, 0, hl);
		out[0] = 0x60 | (o->tos >> 4);
		out[1] = (o->tos << 4) | ((o->flowlbl >> 16) & 0xf);
		out[2] = o->flowlbl >> 8;
		out[3] = o->flowlbl;
		put16(out + 4, ext + l4len);
		out[6] = o->fragext ? 44 : proto;
		out[7] = 64;
		memcpy(out + 8, src, 16);
		memcpy(out + 24, dst, 16);
		if (o->fragext) {
			out[40] = proto;
			put16(out + 42, 0x0001);	/* offset 0, M */
			put16(out + 44, 0xabcd);
			put16(out + 46, 0x1234);
		}
	} else {
		hl = 20 + o->ipopts;
		memset(out, 1, hl);			/* NOP options */
		memset(out, 0, 20);
		out[0] = 0x40 | (hl / 4);
		out[1] = o->tos;
		put16(out + 2, hl + l4len);
		put16(out + 4, 0x1234);
		put16(out + 6, (o->df ? 0x4000 : 0) | o->frag);
		out[8] = 64;
		out[9] = proto;
		memcpy(out + 12, src, 4);
		memcpy(out + 16, dst, 4);
		ip4_csum(out);
	}
	p = out + hl;
	memcpy(p, l4, l4len);
	if (csum_off >= 0) {
		uint32_t sum;

		put16(p + csum_off, 0);
		if (o->family == 6)
			sum = csum_add(0, out + 8, 32);
		else
			sum = csum_add(0, out + 12, 8);
		sum += proto + l4len;
		sum = (uint16_t)~csum_fold16(csum_add(sum, p, l4len));
		if (proto == IPPROTO_UDP && !sum)
			sum = 0xffff;
		put16(p + csum_off, sum);
	}
	return hl + l4len;
}

/* The TCP (SYN or ACK) or UDP packet of o. */
static size_t l4_ip(uint8_t *out, const struct fopt *o)
{
	uint8_t l4[2048];
	size_t n;

	memset(l4, 0, sizeof(l4));
	put16(l4, o->sport);
	put16(l4 + 2, o->dport);
	if (o->proto == IPPROTO_TCP) {
		put16(l4 + 4, 0x0102);
		put16(l4 + 6, 0x0304);		/* seq */
		l4[12] = 5 << 4;
		l4[13] = o->syn ? 0x02 : 0x10;	/* SYN or ACK */
		put16(l4 + 14, 65535);
		n = 20;
	} else {
		put16(l4 + 4, 8 + o->paylen);
		n = 8;
	}
	for (int i = 0; i < o->paylen; i++)
		l4[n + i] = (uint8_t)(i * 7 + 3);
	n += o->paylen;
	return ip_pkt(out, o, o->proto, l4, n, o->proto == IPPROTO_TCP ? 16 : 6);
}

/* Ethernet (and tags) around an IP packet. */
static size_t frame_wrap(uint8_t *out, int vlans, int family,
			 const uint8_t *ip, size_t iplen)
{
	size_t off = 12;

	memcpy(out, mac_pop, 6);
	memcpy(out + 6, mac_router, 6);
	for (int i = 0; i < vlans; i++) {
		put16(out + off, i == 0 && vlans > 1 ? 0x88a8 : 0x8100);
		put16(out + off + 2, 100 + i);
		off += 4;
	}
	put16(out + off, family == 6 ? 0x86dd : 0x0800);
	memcpy(out + off + 2, ip, iplen);
	return off + 2 + iplen;
}

static size_t frame(uint8_t *out, const struct fopt *o)
{
	uint8_t ip[FRAME_MAX];
	size_t n = l4_ip(ip, o);

	return frame_wrap(out, o->vlans, o->family, ip, n);
}

/*
 * An ICMP error from a router to the VIP of flow fl (client -> VIP),
 * quoting the flow's reply packet (VIP -> client), quote bytes of it.
 * v4: type 3 code 4 by default; v6: type 2.
 */
struct iopt {
	int type, code;		/* -1: the "too big" of the family */
	int quote;		/* bytes of the quoted packet; 0: IP header + 8 */
	int vlans;
};

static size_t icmp_frame(uint8_t *out, const struct fopt *fl,
			 const struct iopt *io)
{
	struct fopt q = *fl, outer = {};
	uint8_t qip[FRAME_MAX], l4[FRAME_MAX], ip[FRAME_MAX];
	size_t qlen, quote, n;

	/* the packet the VIP sent back */
	q.src = fl->dst;
	q.dst = fl->src;
	q.sport = fl->dport;
	q.dport = fl->sport;
	q.vlans = 0;
	qlen = l4_ip(qip, &q);
	quote = io->quote ? (size_t)io->quote : (fl->family == 6 ? 40 : 20) + 8;
	if (quote > qlen)
		quote = qlen;
	outer.family = fl->family;
	outer.src = fl->family == 6 ? ROUTER6 : ROUTER4;
	outer.dst = fl->dst;
	outer.tos = 0xc0;
	memset(l4, 0, 8);
	if (fl->family == 6) {
		l4[0] = io->type >= 0 ? io->type : 2;
		l4[1] = io->code >= 0 ? io->code : 0;
		put16(l4 + 6, 1400);			/* MTU */
		memcpy(l4 + 8, qip, quote);
		n = ip_pkt(ip, &outer, IPPROTO_ICMPV6, l4, 8 + quote, 2);
	} else {
		l4[0] = io->type >= 0 ? io->type : 3;
		l4[1] = io->code >= 0 ? io->code : 4;
		put16(l4 + 6, 1400);			/* next-hop MTU */
		memcpy(l4 + 8, qip, quote);
		put16(l4 + 2, ~csum_fold16(csum_add(0, l4, 8 + quote)));
		n = ip_pkt(ip, &outer, IPPROTO_ICMP, l4, 8 + quote, -1);
	}
	return frame_wrap(out, io->vlans, fl->family, ip, n);
}

/* ---- the flow hash and tables ---------------------------------------- */

static struct ps_conn_key flow_key(const struct fopt *o)
{
	struct ps_conn_key k = {};

	k.family = addr16(o->src, k.src);
	addr16(o->dst, k.dst);
	k.sport = htons(o->sport);
	k.dport = htons(o->dport);
	k.proto = o->proto;
	return k;
}

static uint32_t flow_hash(const struct fopt *o, uint32_t vid)
{
	struct ps_conn_key k = flow_key(o);
	uint32_t src[4], dst[4];

	memcpy(src, k.src, 16);
	memcpy(dst, k.dst, 16);
	/* the ports as the BPF code reads them: network-order __be16 */
	return ps_flow_hash(src, dst, ((uint32_t)k.sport << 16) | k.dport,
			    k.proto, vips[vid].seed);
}

static uint32_t flow_idx(const struct fopt *o, uint32_t vid)
{
	return flow_hash(o, vid) % vips[vid].size;
}

static void conn_put(const struct fopt *o, uint32_t rid, uint32_t vid)
{
	struct ps_conn_key k = flow_key(o);
	struct ps_conn c = { .real = rid, .vip = vid };

	if (bpf_map_update_elem(fd_conn, &k, &c, BPF_ANY))
		CHECK(0, "ps_conn update: %s", strerror(errno));
}

/* The flow's ps_conn entry: its real id, or -1. */
static long conn_real(const struct fopt *o)
{
	struct ps_conn_key k = flow_key(o);
	struct ps_conn c;

	if (bpf_map_lookup_elem(fd_conn, &k, &c))
		return -1;
	return c.real;
}

/* ---- running ------------------------------------------------------- */

static int xdp_run(const uint8_t *in, size_t len, uint8_t *out, size_t *olen)
{
	struct xdp_md md = { .data_end = len, .ingress_ifindex = ifindex_in };
	LIBBPF_OPTS(bpf_test_run_opts, t,
		    .data_in = in,
		    .data_size_in = len,
		    .data_out = out,
		    .data_size_out = FRAME_MAX,
		    .ctx_in = &md,
		    .ctx_size_in = sizeof(md),
		    .repeat = 1);
	int rc = bpf_prog_test_run_opts(prog.prog_fd, &t);

	*olen = 0;
	if (rc)
		return -errno;
	*olen = t.data_size_out;
	return t.retval;
}

static const char *verdict_name(int v)
{
	static char buf[32];

	switch (v) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	}
	snprintf(buf, sizeof(buf), "%d", v);
	return buf;
}

/* Where two buffers first differ, -1 if they do not. */
static long diff_at(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

/* Run in; the verdict must be `verdict` and the frame exactly exp. */
static void expect(const char *what, int verdict, const uint8_t *in,
		   size_t len, const uint8_t *exp, size_t elen)
{
	uint8_t out[FRAME_MAX];
	size_t olen;
	int rc = xdp_run(in, len, out, &olen);
	long d;

	CHECK(rc == verdict, "%s: verdict %s, expected %s", what,
	      verdict_name(rc), verdict_name(verdict));
	if (rc != verdict)
		return;
	CHECK(olen == elen, "%s: output frame of %zu bytes, expected %zu",
	      what, olen, elen);
	if (olen != elen)
		return;
	d = diff_at(out, exp, elen);
	CHECK(d < 0, "%s: output byte %ld is 0x%02x, expected 0x%02x", what,
	      d, d < 0 ? 0 : out[d], d < 0 ? 0 : exp[d]);
}

static void expect_pass(const char *what, const uint8_t *in, size_t len)
{
	expect(what, XDP_PASS, in, len, in, len);
}

/* The DSR output: the real's MAC, the frame's old destination as source. */
static size_t exp_dsr(uint8_t *exp, const uint8_t *in, size_t len, uint32_t rid)
{
	memcpy(exp, in, len);
	mac_dsr(rid, exp);
	memcpy(exp + 6, in, 6);
	return len;
}

static void expect_dsr(const char *what, const uint8_t *in, size_t len,
		       uint32_t rid)
{
	uint8_t exp[FRAME_MAX];

	expect(what, XDP_TX, in, len, exp, exp_dsr(exp, in, len, rid));
}

/* The outer source: tun_src with the bits of tun_host from the hash
 * (word by word over the address bytes, as the data plane masks them). */
static void tun_src(uint32_t vid, uint32_t hash, uint8_t out[16])
{
	uint8_t s[16], m[16];

	addr16(vips[vid].tun_src, s);
	addr16(vips[vid].tun_host, m);
	for (int w = 0; w < 4; w++) {
		uint32_t sw, mw, r;

		memcpy(&sw, s + 4 * w, 4);
		memcpy(&mw, m + 4 * w, 4);
		r = (sw & ~mw) | (hash & mw);
		memcpy(out + 4 * w, &r, 4);
	}
}

/*
 * The IP-in-IP output for the frame in (inner IP packet at l3, ip_len
 * bytes by its header, whatever follows kept): Ethernet from the
 * neighbour table, the outer header, the rest byte for byte.
 */
static size_t exp_ipip(uint8_t *exp, const uint8_t *in, size_t len, size_t l3,
		       uint32_t vid, uint32_t rid, uint32_t hash,
		       const uint8_t *smac)
{
	const uint8_t *inner = in + l3;
	int ifam = (inner[0] >> 4) == 6 ? 6 : 4;
	size_t ilen = ifam == 6 ? 40 + get16(inner + 4) : get16(inner + 2);
	uint8_t tc = ifam == 6 ? (uint8_t)((inner[0] << 4) | (inner[1] >> 4)) : inner[1];
	int df = ifam == 4 && (inner[6] & 0x40);
	uint8_t raddr[16], src[16], *ip = exp + 14;
	int rfam = addr16(real_def(rid)->addr, raddr);
	size_t outer = rfam == 6 ? 40 : 20;

	mac_neigh(rid, exp);
	memcpy(exp + 6, smac, 6);
	put16(exp + 12, rfam == 6 ? 0x86dd : 0x0800);
	tun_src(vid, hash, src);
	if (rfam == 4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[1] = tc;
		put16(ip + 2, ilen + 20);
		put16(ip + 4, 0);
		put16(ip + 6, df ? 0x4000 : 0);
		ip[8] = 64;
		ip[9] = ifam == 4 ? 4 : 41;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, raddr, 4);
		ip4_csum(ip);
	} else {
		uint32_t fl = hash & 0xfffff;

		ip[0] = 0x60 | (tc >> 4);
		ip[1] = (tc << 4) | (fl >> 16);
		ip[2] = fl >> 8;
		ip[3] = fl;
		put16(ip + 4, ilen);
		ip[6] = ifam == 6 ? 41 : 4;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, raddr, 16);
	}
	memcpy(exp + 14 + outer, inner, len - l3);
	return 14 + outer + len - l3;
}

static void expect_ipip(const char *what, const uint8_t *in, size_t len,
			size_t l3, uint32_t vid, uint32_t rid, uint32_t hash)
{
	uint8_t exp[FRAME_MAX];

	expect(what, XDP_TX, in, len, exp,
	       exp_ipip(exp, in, len, l3, vid, rid, hash, mac_if_in));
}

/* Restore the fixture: every real up, the default tables, no flows. */
static void reset(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(reals); i++)
		real_set(reals[i].id, PS_REAL_UP);
	for (uint32_t v = 1; v < NV; v++) {
		vip_set(v);
		if (vips[v].deflt)
			table_uniform(v, vips[v].deflt);
		else if (tab[v])
			table_drop(v);
	}
	conn_clear();
}

static const struct iopt too_big = { .type = -1, .code = -1 };

/* ---- 1: not ours -------------------------------------------------- */

static void t_pass_non_vip(void)
{
	const int fams[] = { 4, 6 };
	uint8_t in[FRAME_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(fams); i++) {
		struct fopt o = fo_vip(fams[i] == 6 ? V_TCP6 : V_TCP4, NULL, 0);
		struct ps_lb_stats b = vstat(fams[i] == 6 ? V_TCP6 : V_TCP4), a;

		o.dst = fams[i] == 6 ? "2001:2:10::99" : "198.18.10.99";
		expect_pass("TCP to a non-VIP address", in, frame(in, &o));
		a = vstat(fams[i] == 6 ? V_TCP6 : V_TCP4);
		stats_delta("vip", &b, &a, &(struct ps_lb_stats){});
	}
	CHECK_EQ(conn_count(), 0);
}

static void t_dns_still_answered(void)
{
	const struct frame_opts v4 = { .family = 4 };
	const struct query q = { .name = "www.shop.example" };
	uint8_t msg[MSG_MAX], in[FRAME_MAX], out[FRAME_MAX];
	const uint8_t *dns;
	size_t len, olen;
	char why[256];
	int rc, n;

	len = frame_build(in, &v4, msg, query_wire(&q, msg, sizeof(msg)));
	rc = xdp_run(in, len, out, &olen);
	CHECK(rc == XDP_TX, "DNS query: verdict %s, expected XDP_TX",
	      verdict_name(rc));
	if (rc != XDP_TX)
		return;
	n = reply_check(in, len, &v4, out, olen, &dns, why, sizeof(why));
	CHECK(n > 0, "DNS reply: %s", why);
	if (n > 12)
		CHECK(get16(dns + H_AN) == 1 && (get16(dns + H_FLAGS) & 0xf) == 0,
		      "DNS reply: ancount %u, rcode %u, expected 1 answer, NOERROR",
		      get16(dns + H_AN), get16(dns + H_FLAGS) & 0xf);
	CHECK_EQ(conn_count(), 0);
}

/* ---- 2: a new flow, DSR ------------------------------------------- */

static void t_dsr_syn_v4(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.7", 40007);
	struct ps_lb_stats vb = vstat(V_TCP4), rb = rstat(1), ob = rstat(2), va, ra, oa;
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);

	expect_dsr("SYN to the VIP", in, len, 1);
	CHECK(conn_real(&o) == 1, "ps_conn for the flow: real %ld, expected 1",
	      conn_real(&o));
	CHECK_EQ(conn_count(), 1);
	va = vstat(V_TCP4);
	ra = rstat(1);
	oa = rstat(2);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .new_flows = 1 });
	stats_delta("real 1", &rb, &ra, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .new_flows = 1 });
	stats_delta("real 2", &ob, &oa, &(struct ps_lb_stats){});
	/* and the ps_conn value says which VIP placed it */
	{
		struct ps_conn_key k = flow_key(&o);
		struct ps_conn c = {};

		bpf_map_lookup_elem(fd_conn, &k, &c);
		CHECK_EQ(c.vip, V_TCP4);
	}
	/* the next packet: the same backend, no new flow */
	vb = va;
	expect_dsr("second packet", in, len, 1);
	va = vstat(V_TCP4);
	stats_delta("vip, second packet", &vb, &va,
		    &(struct ps_lb_stats){ .packets = 1, .bytes = len });
}

/* DSR keeps VLAN tags: only the MAC addresses change. */
static void t_dsr_vlan(void)
{
	for (int vl = 1; vl <= 2; vl++) {
		struct fopt o = fo_vip(V_TCP4, NULL, 41000 + vl);
		uint8_t in[FRAME_MAX];

		o.vlans = vl;
		expect_dsr(vl == 1 ? "one tag" : "two tags", in, frame(in, &o), 1);
		o = fo_vip(V_TCP6, NULL, 41000 + vl);
		o.vlans = vl;
		expect_dsr(vl == 1 ? "IPv6, one tag" : "IPv6, two tags", in,
			   frame(in, &o), 11);
	}
}

/* Which table entry a flow takes, entries of several reals: the index
 * is hash % size, entry i is ent[i / 4].real[i % 4]. */
static void maglev_index(uint32_t vid)
{
	uint32_t size = vips[vid].size;
	uint8_t in[FRAME_MAX];
	struct fopt last = {};
	int found = 0;

	table_alloc(vid);
	for (uint32_t i = 0; i < size; i++)
		tab[vid][i] = 1 + (uint16_t)((i * 2654435761u) >> 30);
	/*
	 * A flow on the last entry (of a partly used ps_maglev_ent).  The
	 * client varies too: with 65537 entries one client's source ports
	 * reach few entries (see flow_hash_spread), the last one only for
	 * few clients; a client's ports can reach it if the port-independent
	 * low half L of the hash has (L + 1) / 2 among its bits.
	 */
	static char client[32];
	for (uint32_t c = 0; c < 65536 && !found; c++) {
		uint32_t h, L;

		snprintf(client, sizeof(client), "198.19.%u.%u", c >> 8, c & 0xff);
		last = fo_vip(vid, client, 1);
		if (size == 65537) {
			h = flow_hash(&last, vid);
			L = (h & 0xffff) ^ (h >> 16);
			if (!(L & 1) || (((L + 1) / 2) & ~L))
				continue;
		}
		for (uint32_t p = 1; p < 65536 && !found; p++) {
			last.sport = p;
			found = flow_idx(&last, vid) == size - 1;
		}
	}
	CHECK(found, "no flow found for entry %u", size - 1);
	tab[vid][size - 1] = 4;
	tab[vid][size - 2] = 3;
	table_write(vid);
	for (int i = 0; i < 64; i++) {
		char cl[32], what[64];
		struct fopt o;
		uint32_t idx;

		snprintf(cl, sizeof(cl), "198.18.%d.%d", 200 + i % 3, 1 + i * 3);
		o = fo_vip(vid, cl, 1024 + i * 997);
		idx = flow_idx(&o, vid);
		snprintf(what, sizeof(what), "flow %d (entry %u)", i, idx);
		expect_dsr(what, in, frame(in, &o), tab[vid][idx]);
		CHECK(conn_real(&o) == tab[vid][idx], "flow %d: ps_conn real %ld, expected %u",
		      i, conn_real(&o), tab[vid][idx]);
	}
	if (found)
		expect_dsr("flow on the last entry", in, frame(in, &last), 4);
}

static void t_maglev_index_251(void)
{
	maglev_index(V_TCP4);
}

static void t_maglev_index_65537(void)
{
	maglev_index(V_BIG);
}

/*
 * New flows of one client (one address, many source ports) to a VIP with
 * the default table size, 65537 entries: where does the data plane put
 * them?  A flow hash spreads 4096 flows over about 3970 entries (random
 * placement); the check asks for half of that.
 */
static void t_flow_hash_spread(void)
{
	static const char *const clients[] = { "198.18.200.1", "198.18.200.2",
					       "198.18.201.3" };
	uint32_t size = vips[V_BIG].size;
	uint8_t *seen = calloc(size, 1), in[FRAME_MAX];
	int worst = 1 << 30;
	const char *worst_cl = NULL;

	if (!seen)
		abort();
	/* the data plane uses the hash computed here */
	table_alloc(V_BIG);
	for (uint32_t i = 0; i < size; i++)
		tab[V_BIG][i] = 1 + i % 4;
	table_write(V_BIG);
	for (int i = 0; i < 16; i++) {
		struct fopt o = fo_vip(V_BIG, clients[0], 30000 + i);

		expect_dsr("flow placed as predicted", in, frame(in, &o),
			   tab[V_BIG][flow_idx(&o, V_BIG)]);
	}
	for (size_t c = 0; c < ARRAY_SIZE(clients); c++) {
		int n = 0;

		memset(seen, 0, size);
		for (uint32_t p = 0; p < 4096; p++) {
			struct fopt o = fo_vip(V_BIG, clients[c], 1024 + p);
			uint32_t idx = flow_idx(&o, V_BIG);

			n += !seen[idx];
			seen[idx] = 1;
		}
		if (n < worst) {
			worst = n;
			worst_cl = clients[c];
		}
	}
	free(seen);
	CHECK(worst >= 2048, "4096 flows from %s (source ports 1024..5119) to "
	      "a VIP with a %u-entry table take only %d entries (random: ~3970)",
	      worst_cl, size, worst);
}

/* ---- 3: established flows ------------------------------------------ */

static void t_established_sticks(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.8", 40008);
	struct fopt n = fo_vip(V_TCP4, "198.18.200.9", 40009);
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);
	struct ps_lb_stats vb = vstat(V_TCP4), va;

	table_uniform(V_TCP4, 1);
	conn_put(&o, 2, V_TCP4);
	expect_dsr("established flow on real 2, table says 1", in, len, 2);
	va = vstat(V_TCP4);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len });
	table_uniform(V_TCP4, 3);
	expect_dsr("table rebuilt to real 3: still 2", in, len, 2);
	CHECK(conn_real(&o) == 2, "ps_conn real %ld, expected 2", conn_real(&o));
	/* the new table is in use for new flows */
	expect_dsr("a new flow after the rebuild", in, frame(in, &n), 3);
}

/* IPv4 options: the ports are after them; forwarded whole. */
static void t_ipv4_options(void)
{
	struct fopt o = fo_vip(V_TCP4, NULL, 40025);
	uint8_t in[FRAME_MAX];
	size_t len;

	o.ipopts = 12;
	len = frame(in, &o);
	expect_dsr("DSR, 12 option bytes", in, len, 1);
	CHECK(conn_real(&o) == 1, "ps_conn real %ld, expected 1", conn_real(&o));
	o = fo_vip(V_IPIP4, NULL, 40025);
	o.ipopts = 40;
	o.vlans = 1;
	len = frame(in, &o);
	expect_ipip("IP-in-IP, 40 option bytes, a tag", in, len, 18, V_IPIP4, 1,
		    flow_hash(&o, V_IPIP4));
}

/* DSR cannot send an IPv4 packet to an IPv6 backend (or the reverse). */
static void t_dsr_family_mismatch(void)
{
	struct fopt o = fo_vip(V_TCP4, NULL, 40026);
	uint8_t in[FRAME_MAX];

	table_uniform(V_TCP4, 11);
	expect_pass("IPv4 flow, IPv6 real", in, frame(in, &o));
	o = fo_vip(V_TCP6, NULL, 40026);
	table_uniform(V_TCP6, 1);
	expect_pass("IPv6 flow, IPv4 real", in, frame(in, &o));
}

/* Established flows do not need the table. */
static void t_established_no_table(void)
{
	struct fopt o = fo_vip(V_NOTABLE, NULL, 40010);
	uint8_t in[FRAME_MAX];

	conn_put(&o, 2, V_NOTABLE);
	expect_dsr("established flow of a VIP without table", in,
		   frame(in, &o), 2);
}

/* ---- 4: backends leaving, draining ------------------------------------ */

static void t_backend_down_replaced(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.11", 40011);
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);
	struct ps_lb_stats vb, va, rb, ra;

	table_uniform(V_TCP4, 1);
	conn_put(&o, 2, V_TCP4);
	real_set(2, 0);
	vb = vstat(V_TCP4);
	rb = rstat(1);
	expect_dsr("flow of a removed real: placed again", in, len, 1);
	va = vstat(V_TCP4);
	ra = rstat(1);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .new_flows = 1, .replaced = 1 });
	stats_delta("real 1", &rb, &ra, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .new_flows = 1 });
	CHECK(conn_real(&o) == 1, "ps_conn real %ld, expected 1", conn_real(&o));
	vb = va;
	expect_dsr("next packet", in, len, 1);
	va = vstat(V_TCP4);
	stats_delta("vip, next packet", &vb, &va,
		    &(struct ps_lb_stats){ .packets = 1, .bytes = len });

	/* an id that was never a real (family 0) counts as gone too */
	conn_put(&o, 7, V_TCP4);
	vb = va;
	expect_dsr("flow of an unused real id", in, len, 1);
	va = vstat(V_TCP4);
	CHECK(va.replaced - vb.replaced == 1, "replaced moved by %lld",
	      (long long)(va.replaced - vb.replaced));
	CHECK(conn_real(&o) == 1, "ps_conn real %ld, expected 1", conn_real(&o));
}

/* A removed real, and the table has nobody for the flow: passed. */
static void t_backend_down_no_other(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.12", 40012);
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);
	struct ps_lb_stats vb, va;

	table_uniform(V_TCP4, 2);
	conn_put(&o, 2, V_TCP4);
	real_set(2, 0);
	vb = vstat(V_TCP4);
	expect_pass("flow of a removed real, table only names it", in, len);
	va = vstat(V_TCP4);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .replaced = 1, .no_backend = 1 });
}

static void t_drain_keeps_established(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.13", 40013);
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);
	struct ps_lb_stats vb, va, rb, ra;

	table_uniform(V_TCP4, 1);
	conn_put(&o, 2, V_TCP4);
	real_set(2, PS_REAL_DRAIN);
	vb = vstat(V_TCP4);
	rb = rstat(2);
	expect_dsr("established flow of a draining real", in, len, 2);
	va = vstat(V_TCP4);
	ra = rstat(2);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len });
	stats_delta("real 2", &rb, &ra, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len });
	CHECK(conn_real(&o) == 2, "ps_conn real %ld, expected 2", conn_real(&o));
}

/* A SYN opens a connection: the table places it, whatever ps_conn
 * remembers of an earlier one with the same addresses and ports (the
 * lookup is skipped); the ACKs after it stay with it. */
static void t_syn_placed_by_table(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.16", 40016);
	uint8_t in[FRAME_MAX];
	size_t len;
	struct ps_lb_stats vb, va;

	table_uniform(V_TCP4, 1);
	conn_put(&o, 2, V_TCP4);
	o.syn = 1;
	len = frame(in, &o);
	vb = vstat(V_TCP4);
	expect_dsr("SYN of a 5-tuple in ps_conn (real 2), table says 1", in, len, 1);
	va = vstat(V_TCP4);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .new_flows = 1 });
	CHECK(conn_real(&o) == 1, "ps_conn real %ld, expected 1", conn_real(&o));
	o.syn = 0;
	len = frame(in, &o);
	table_uniform(V_TCP4, 3);
	expect_dsr("ACK after the SYN, table now says 3", in, len, 1);
}

/* A SYN never goes to a draining backend, even one ps_conn names. */
static void t_syn_not_to_draining(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.17", 40017);
	uint8_t in[FRAME_MAX];
	size_t len;

	table_uniform(V_TCP4, 1);
	conn_put(&o, 2, V_TCP4);
	real_set(2, PS_REAL_DRAIN);
	o.syn = 1;
	len = frame(in, &o);
	expect_dsr("SYN, ps_conn names draining real 2", in, len, 1);
	CHECK(conn_real(&o) == 1, "ps_conn real %ld, expected 1", conn_real(&o));
}

static void t_drain_no_new_flows(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.14", 40014);
	struct fopt p = fo_vip(V_TCP4, "198.18.200.15", 40015);
	uint32_t io = flow_idx(&o, V_TCP4);
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);
	struct ps_lb_stats vb, va;

	while (flow_idx(&p, V_TCP4) == io)
		p.sport++;
	table_uniform(V_TCP4, 1);
	tab[V_TCP4][io] = 2;
	table_write(V_TCP4);
	real_set(2, PS_REAL_DRAIN);
	vb = vstat(V_TCP4);
	expect_pass("new flow, its entry names a draining real", in, len);
	va = vstat(V_TCP4);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .no_backend = 1 });
	CHECK(conn_real(&o) == -1, "ps_conn entry made (real %ld)", conn_real(&o));
	/* the same for a removed real */
	real_set(2, 0);
	expect_pass("new flow, its entry names a removed real", in, len);
	/* another flow of the table: real 1 */
	expect_dsr("new flow on another entry", in, frame(in, &p), 1);
	CHECK_EQ(conn_count(), 1);
}

/* ---- 5: no backend ---------------------------------------------------- */

static void t_entry_none(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.16", 40016);
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);
	struct ps_lb_stats vb, va;

	table_uniform(V_TCP4, 1);
	tab[V_TCP4][flow_idx(&o, V_TCP4)] = PS_REAL_NONE;
	table_write(V_TCP4);
	vb = vstat(V_TCP4);
	expect_pass("table entry PS_REAL_NONE", in, len);
	va = vstat(V_TCP4);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .no_backend = 1 });
	CHECK_EQ(conn_count(), 0);
}

static void t_no_table(void)
{
	struct fopt o = fo_vip(V_NOTABLE, NULL, 40017);
	uint8_t in[FRAME_MAX];
	size_t len = frame(in, &o);
	struct ps_lb_stats vb = vstat(V_NOTABLE), va;

	expect_pass("VIP without table", in, len);
	va = vstat(V_NOTABLE);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .no_backend = 1 });
	CHECK_EQ(conn_count(), 0);
	/* a table dropped after use */
	table_drop(V_TCP4);
	o = fo_vip(V_TCP4, NULL, 40018);
	expect_pass("VIP whose table was deleted", in, frame(in, &o));
	CHECK_EQ(conn_count(), 0);
}

/* ---- 6: IPv6, UDP, what a VIP is ------------------------------------ */

static void vip_flow(uint32_t vid, uint16_t sport, const char *what)
{
	struct fopt o = fo_vip(vid, NULL, sport);
	uint8_t in[FRAME_MAX];
	size_t len;
	struct ps_lb_stats vb = vstat(vid), va;

	o.paylen = 33;
	len = frame(in, &o);
	expect_dsr(what, in, len, vips[vid].deflt);
	CHECK(conn_real(&o) == vips[vid].deflt, "ps_conn real %ld, expected %u",
	      conn_real(&o), vips[vid].deflt);
	va = vstat(vid);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .new_flows = 1 });
}

static void t_dsr_v6(void)
{
	vip_flow(V_TCP6, 40020, "IPv6 TCP VIP");
}

static void t_udp_v4(void)
{
	vip_flow(V_UDP4, 40021, "IPv4 UDP VIP");
}

static void t_udp_v6(void)
{
	vip_flow(V_UDP6, 40022, "IPv6 UDP VIP");
}

static void t_vip_other_port_proto(void)
{
	static const uint32_t vl[] = { V_TCP4, V_TCP6, V_UDP4, V_UDP6 };
	uint8_t in[FRAME_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(vl); i++) {
		struct fopt o = fo_vip(vl[i], NULL, 40023);
		struct ps_lb_stats vb = vstat(vl[i]), va;
		char what[64];

		o.dport = vips[vl[i]].port + 1;
		snprintf(what, sizeof(what), "VIP %u, other port", vl[i]);
		expect_pass(what, in, frame(in, &o));
		o.dport = vips[vl[i]].port;
		o.proto = o.proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP;
		snprintf(what, sizeof(what), "VIP %u, other protocol", vl[i]);
		expect_pass(what, in, frame(in, &o));
		va = vstat(vl[i]);
		stats_delta("vip", &vb, &va, &(struct ps_lb_stats){});
	}
	/* IPv4 VIP address in an IPv6 packet's first bytes: not the VIP */
	{
		struct fopt o = fo_vip(V_TCP6, NULL, 40024);

		o.dst = "c612:a01::";	/* 198.18.10.1 then zeros */
		o.dport = 80;
		expect_pass("IPv6 to the IPv4 VIP's bytes", in, frame(in, &o));
	}
	CHECK_EQ(conn_count(), 0);
}

/* ---- 7, 8, 9: IP-in-IP -------------------------------------------- */

static void ipip_case(uint32_t vid, uint32_t rid, int vlans, uint8_t tos,
		      int df, int paylen, const char *what)
{
	struct fopt o = fo_vip(vid, NULL, 40030 + vlans);
	uint8_t in[FRAME_MAX];
	size_t len;
	struct ps_lb_stats vb = vstat(vid), va;

	o.vlans = vlans;
	o.tos = tos;
	o.df = df;
	o.flowlbl = 0x54321;
	o.paylen = paylen;
	len = frame(in, &o);
	table_uniform(vid, rid);
	expect_ipip(what, in, len, l3_of(vlans), vid, rid, flow_hash(&o, vid));
	CHECK(conn_real(&o) == rid, "ps_conn real %ld, expected %u",
	      conn_real(&o), rid);
	va = vstat(vid);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .new_flows = 1 });
}

static void t_ipip_v4(void)
{
	ipip_case(V_IPIP4, 1, 0, 0xb9, 1, 0, "IPv4 in IPv4, DF, TOS 0xb9");
}

static void t_ipip_v4_no_df(void)
{
	ipip_case(V_IPIP4, 2, 0, 0x00, 0, 100, "IPv4 in IPv4, no DF");
}

static void t_ipip_v4_vlan1(void)
{
	ipip_case(V_IPIP4, 1, 1, 0x28, 1, 10, "IPv4 in IPv4, one tag");
}

static void t_ipip_v4_vlan2(void)
{
	ipip_case(V_IPIP4, 1, 2, 0x28, 1, 10, "IPv4 in IPv4, two tags");
}

/* The outer source takes the hash in the host bits only. */
static void t_ipip_v4_tun_src(void)
{
	uint8_t in[FRAME_MAX], out[FRAME_MAX], seen[256] = {};
	int distinct = 0;

	table_uniform(V_IPIP4, 1);
	for (int i = 0; i < 64; i++) {
		struct fopt o = fo_vip(V_IPIP4, NULL, 20000 + i);
		size_t olen, len = frame(in, &o);
		int rc = xdp_run(in, len, out, &olen);

		CHECK(rc == XDP_TX && olen == len + 20, "flow %d: %s, %zu bytes",
		      i, verdict_name(rc), olen);
		if (rc != XDP_TX || olen != len + 20)
			return;
		CHECK(!memcmp(out + 14 + 12, "\xc6\x12\x64", 3),
		      "flow %d: outer source %u.%u.%u.%u outside 198.18.100.0/24",
		      i, out[26], out[27], out[28], out[29]);
		if (!seen[out[29]]++)
			distinct++;
	}
	CHECK(distinct >= 32, "64 flows used %d outer sources", distinct);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The dmac's last byte IP-in-IP gives flow o now (-1: not XDP_TX). */
static int ipip_nh(const struct fopt *o)
{
	uint8_t in[FRAME_MAX], out[FRAME_MAX];
	size_t olen, len = frame(in, o);

	return xdp_run(in, len, out, &olen) == XDP_TX ? out[5] : -1;
}

/* Next hops are reused for a second per CPU and backend: a neighbour
 * change reaches packets within that time, and at once for a packet
 * longer than the cached lookup was made for (the FIB's MTU check). */
static void t_ipip_nexthop_cache(void)
{
	struct fopt o = fo_vip(V_IPIP4, NULL, 40036), big;
	int fd = bpf_map__fd(prog.skel->maps.ps_nh_cache), a, b, c, d;
	/* the entry is the data plane's own (bpf/lib/lb.h): zeros, per CPU */
	size_t vsz = (bpf_map__value_size(prog.skel->maps.ps_nh_cache) + 7) & ~7u;
	void *zero = calloc(ncpus, vsz);
	uint32_t rid = 3;

	cpu_set_t all, one;

	/* the cache is per CPU: every run of this case on the same one */
	sched_getaffinity(0, sizeof(all), &all);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	big = o;
	big.paylen = 600;
	table_uniform(V_IPIP4, 3);
	CHECK(zero && !bpf_map_update_elem(fd, &rid, zero, BPF_ANY), "cache clear");
	a = ipip_nh(&o);
	sh("ip neigh replace 198.18.5.12 lladdr 02:00:00:00:ee:33 dev " IF_IN " nud permanent");
	b = ipip_nh(&o);
	c = ipip_nh(&big);
	sh("ip neigh replace 198.18.5.12 lladdr 02:00:00:00:ee:03 dev " IF_IN " nud permanent");
	usleep(1100 * 1000);
	d = ipip_nh(&o);
	CHECK(a == 0x03 && b == 0x03 && c == 0x33 && d == 0x03,
	      "next hop MAC ends %02x, then (neighbour changed) %02x, a longer packet %02x, "
	      "a second later (changed back) %02x; expected 03 03 33 03", a, b, c, d);
	bpf_map_update_elem(fd, &rid, zero, BPF_ANY);
	free(zero);
	sched_setaffinity(0, sizeof(all), &all);
}

static void t_ipip_redirect(void)
{
	struct fopt o = fo_vip(V_IPIP4, NULL, 40035);
	uint8_t in[FRAME_MAX], exp[FRAME_MAX];
	size_t len = frame(in, &o);

	table_uniform(V_IPIP4, 5);
	expect("backend behind another interface", XDP_REDIRECT, in, len, exp,
	       exp_ipip(exp, in, len, 14, V_IPIP4, 5, flow_hash(&o, V_IPIP4),
			mac_if_out));
}

static void t_ipip_v6(void)
{
	ipip_case(V_IPIP6, 11, 0, 0xb8, 0, 0, "IPv6 in IPv6, traffic class 0xb8");
}

static void t_ipip_v6_tc_low(void)
{
	ipip_case(V_IPIP6, 12, 0, 0x0d, 0, 50, "IPv6 in IPv6, traffic class 0x0d");
}

static void t_ipip_v6_vlan(void)
{
	ipip_case(V_IPIP6, 11, 1, 0x01, 0, 7, "IPv6 in IPv6, one tag");
	ipip_case(V_IPIP6, 11, 2, 0x01, 0, 7, "IPv6 in IPv6, two tags");
}

static void ipip_fail(uint32_t vid, uint32_t rid, int paylen, const char *what)
{
	struct fopt o = fo_vip(vid, NULL, 40040);
	uint8_t in[FRAME_MAX];
	size_t len;
	struct ps_lb_stats vb, va;

	o.paylen = paylen;
	len = frame(in, &o);
	table_uniform(vid, rid);
	vb = vstat(vid);
	expect_pass(what, in, len);
	va = vstat(vid);
	CHECK(va.fib_fail - vb.fib_fail == 1, "%s: fib_fail moved by %lld",
	      what, (long long)(va.fib_fail - vb.fib_fail));
	CHECK(va.packets - vb.packets == 1, "%s: packets moved by %lld",
	      what, (long long)(va.packets - vb.packets));
}

static void t_ipip_no_neigh(void)
{
	ipip_fail(V_IPIP4, 20, 0, "IPv4 backend without neighbour");
	ipip_fail(V_IPIP6, 22, 0, "IPv6 backend without neighbour");
}

static void t_ipip_no_route(void)
{
	ipip_fail(V_IPIP4, 21, 0, "IPv4 backend without route");
	ipip_fail(V_IPIP6, 23, 0, "IPv6 backend without route");
}

/* outer + inner over the interface's MTU (1500): the FIB says so */
static void t_ipip_too_big(void)
{
	ipip_fail(V_IPIP4, 1, 1500 - 20 - 20, "IPv4: inner 1500 bytes");
	ipip_fail(V_IPIP6, 11, 1500 - 40 - 20, "IPv6: inner 1500 bytes");
}

/* ---- 10: ICMP "too big" ---------------------------------------------- */

static void icmp_case(uint32_t vid, const char *client, uint16_t cport)
{
	struct fopt o = fo_vip(vid, client, cport);
	uint8_t in[FRAME_MAX];
	size_t len = icmp_frame(in, &o, &too_big);
	struct ps_lb_stats vb, va, rb, ra;
	const char *what = o.family == 6 ? "ICMPv6 packet too big" :
					   "ICMP fragmentation needed";

	table_uniform(vid, vips[vid].deflt);
	conn_put(&o, vid == V_TCP4 || vid == V_UDP4 ? 3 : 12, vid);
	vb = vstat(vid);
	rb = rstat(vid == V_TCP4 || vid == V_UDP4 ? 3 : 12);
	expect_dsr(what, in, len, vid == V_TCP4 || vid == V_UDP4 ? 3 : 12);
	va = vstat(vid);
	ra = rstat(vid == V_TCP4 || vid == V_UDP4 ? 3 : 12);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .icmp = 1 });
	stats_delta("real", &rb, &ra, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len });
	CHECK_EQ(conn_count(), 1);
}

static void t_icmp_frag_needed_v4(void)
{
	icmp_case(V_TCP4, "198.18.200.50", 41000);
}

static void t_icmp_frag_needed_v4_udp(void)
{
	icmp_case(V_UDP4, "198.18.200.51", 41001);
}

static void t_icmp6_too_big(void)
{
	icmp_case(V_TCP6, "2001:2:200::50", 41002);
}

static void t_icmp6_too_big_udp(void)
{
	icmp_case(V_UDP6, "2001:2:200::51", 41003);
}

/* A quote of the whole packet, and one with a VLAN tag. */
static void t_icmp_long_quote_vlan(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.52", 41004);
	struct iopt io = too_big;
	uint8_t in[FRAME_MAX];

	o.paylen = 300;
	io.quote = 2000;
	io.vlans = 1;
	conn_put(&o, 4, V_TCP4);
	expect_dsr("ICMP quoting 340 bytes, a tag", in, icmp_frame(in, &o, &io), 4);
	o = fo_vip(V_TCP6, "2001:2:200::52", 41004);
	o.paylen = 300;
	conn_put(&o, 12, V_TCP6);
	expect_dsr("ICMPv6 quoting 360 bytes, a tag", in, icmp_frame(in, &o, &io), 12);
	CHECK_EQ(conn_count(), 2);
}

/* ICMP to an IP-in-IP VIP: encapsulated like the flow. */
static void t_icmp_ipip(void)
{
	struct fopt o = fo_vip(V_IPIP4, "198.18.200.53", 41005);
	uint8_t in[FRAME_MAX];
	size_t len = icmp_frame(in, &o, &too_big);

	table_uniform(V_IPIP4, 1);
	conn_put(&o, 2, V_IPIP4);
	expect_ipip("ICMP to an IP-in-IP VIP", in, len, 14, V_IPIP4, 2,
		    flow_hash(&o, V_IPIP4));
	o = fo_vip(V_IPIP6, "2001:2:200::53", 41005);
	len = icmp_frame(in, &o, &too_big);
	table_uniform(V_IPIP6, 11);
	conn_put(&o, 12, V_IPIP6);
	expect_ipip("ICMPv6 to an IP-in-IP VIP", in, len, 14, V_IPIP6, 12,
		    flow_hash(&o, V_IPIP6));
	CHECK_EQ(conn_count(), 2);
}

/* About a flow nobody placed: where the table would put it, no flow made. */
static void t_icmp_unknown_flow(void)
{
	struct fopt o = fo_vip(V_TCP4, "198.18.200.54", 41006);
	uint8_t in[FRAME_MAX];
	struct ps_lb_stats vb = vstat(V_TCP4), va;
	size_t len = icmp_frame(in, &o, &too_big);

	table_uniform(V_TCP4, 2);
	expect_dsr("ICMP about an unknown flow", in, len, 2);
	CHECK_EQ(conn_count(), 0);
	va = vstat(V_TCP4);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 1,
		    .bytes = len, .icmp = 1 });
}

static void t_icmp_other_types(void)
{
	static const struct { int fam, type, code; } ty[] = {
		{ 4, 3, 3 }, { 4, 3, 1 }, { 4, 3, 13 }, { 4, 11, 0 }, { 4, 8, 0 },
		{ 4, 0, 0 }, { 4, 5, 1 }, { 4, 12, 0 },
		{ 6, 1, 4 }, { 6, 1, 0 }, { 6, 3, 0 }, { 6, 4, 0 }, { 6, 128, 0 },
		{ 6, 129, 0 },
	};
	uint8_t in[FRAME_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(ty); i++) {
		uint32_t vid = ty[i].fam == 6 ? V_TCP6 : V_TCP4;
		struct fopt o = fo_vip(vid, NULL, 41007);
		struct iopt io = { .type = ty[i].type, .code = ty[i].code };
		struct ps_lb_stats vb = vstat(vid), va;
		char what[64];

		conn_put(&o, vid == V_TCP4 ? 3 : 12, vid);
		snprintf(what, sizeof(what), "ICMPv%d type %d code %d",
			 ty[i].fam == 6 ? 6 : 4, ty[i].type, ty[i].code);
		expect_pass(what, in, icmp_frame(in, &o, &io));
		va = vstat(vid);
		stats_delta(what, &vb, &va, &(struct ps_lb_stats){});
	}
}

/* ---- 11: fragments -------------------------------------------------- */

static void t_fragments(void)
{
	static const struct { uint16_t frag; int df; const char *what; } fr[] = {
		{ 0x2000, 0, "IPv4 MF" },
		{ 0x2000 | 185, 0, "IPv4 MF, offset 1480" },
		{ 185, 0, "IPv4 last fragment, offset 1480" },
		{ 1, 1, "IPv4 offset 8, DF" },
	};
	uint8_t in[FRAME_MAX];
	struct ps_lb_stats vb = vstat(V_TCP4), va;

	for (size_t i = 0; i < ARRAY_SIZE(fr); i++) {
		struct fopt o = fo_vip(V_TCP4, NULL, 40050);

		o.frag = fr[i].frag;
		o.df = fr[i].df;
		o.paylen = 40;
		expect_pass(fr[i].what, in, frame(in, &o));
	}
	va = vstat(V_TCP4);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){});
	for (int p = 0; p < 2; p++) {
		struct fopt o = fo_vip(p ? V_UDP6 : V_TCP6, NULL, 40051);

		o.fragext = 1;
		expect_pass(p ? "IPv6 UDP, fragment header" : "IPv6 TCP, fragment header",
			    in, frame(in, &o));
	}
	CHECK_EQ(conn_count(), 0);
}

/* ---- 12: truncated frames ------------------------------------------- */

/* Outcomes over a range of inputs that must not be forwarded: the
 * first and last offending one, to report them together. */
struct bad {
	int n;
	size_t first, last;
	int v_first;
	int changed;		/* passed but modified */
};

static void bad_add(struct bad *b, size_t at, int verdict, int changed)
{
	if (!b->n++) {
		b->first = at;
		b->v_first = verdict;
	}
	b->last = at;
	b->changed |= changed;
}

/*
 * Every length from 0 to full of a frame that, whole, is forwarded as exp:
 * a shorter one must be passed untouched or dropped.  The kernel refuses
 * test frames shorter than Ethernet (EINVAL) before the program runs.
 */
static void truncations(const char *what, const uint8_t *in, size_t len,
			int verdict, const uint8_t *exp, size_t elen)
{
	uint8_t out[FRAME_MAX];
	int pass = 0, drop = 0, refused = 0;
	struct bad bad = {};

	for (size_t n = 0; n < len; n++) {
		size_t olen;
		int rc = xdp_run(in, n, out, &olen);

		if (n < 14 && rc == -EINVAL) {
			refused++;
			continue;
		}
		if (rc == XDP_PASS && olen == n && !memcmp(out, in, n))
			pass++;
		else if (rc == XDP_DROP)
			drop++;
		else
			bad_add(&bad, n, rc, rc == XDP_PASS);
	}
	CHECK(!bad.n, "%s cut to %zu..%zu of %zu bytes (%d lengths): %s%s, expected "
	      "XDP_PASS untouched or XDP_DROP", what, bad.first, bad.last, len,
	      bad.n, verdict_name(bad.v_first), bad.changed ? " (changed)" : "");
	expect(what, verdict, in, len, exp, elen);
	if (ps_chk.failed)
		return;
	printf("  %s: %zu shorter lengths: %d passed untouched, %d dropped, "
	       "%d refused by the kernel (< 14 bytes)\n", what, len, pass, drop,
	       refused);
}

static void t_trunc_dsr(void)
{
	uint8_t in[FRAME_MAX], exp[FRAME_MAX];
	struct fopt o = fo_vip(V_TCP4, NULL, 40060);
	size_t len;

	o.paylen = 20;
	o.vlans = 1;
	len = frame(in, &o);
	truncations("TCP to a DSR VIP, a tag", in, len, XDP_TX, exp,
		    exp_dsr(exp, in, len, 1));
	o = fo_vip(V_UDP6, NULL, 40060);
	o.paylen = 20;
	len = frame(in, &o);
	truncations("UDP to an IPv6 DSR VIP", in, len, XDP_TX, exp,
		    exp_dsr(exp, in, len, 12));
}

static void t_trunc_icmp(void)
{
	uint8_t in[FRAME_MAX], exp[FRAME_MAX];
	struct fopt o = fo_vip(V_TCP4, NULL, 40061);
	size_t len = icmp_frame(in, &o, &too_big);

	conn_put(&o, 2, V_TCP4);
	truncations("ICMP fragmentation needed", in, len, XDP_TX, exp,
		    exp_dsr(exp, in, len, 2));
	o = fo_vip(V_TCP6, NULL, 40061);
	len = icmp_frame(in, &o, &too_big);
	conn_put(&o, 12, V_TCP6);
	truncations("ICMPv6 packet too big", in, len, XDP_TX, exp,
		    exp_dsr(exp, in, len, 12));
	CHECK_EQ(conn_count(), 2);
}

static void t_trunc_ipip(void)
{
	uint8_t in[FRAME_MAX], exp[FRAME_MAX];
	struct fopt o = fo_vip(V_IPIP4, NULL, 40062);
	size_t len;

	o.vlans = 2;
	o.paylen = 8;
	len = frame(in, &o);
	truncations("TCP to an IP-in-IP VIP, two tags", in, len, XDP_TX, exp,
		    exp_ipip(exp, in, len, l3_of(2), V_IPIP4, 1,
			     flow_hash(&o, V_IPIP4), mac_if_in));
	o = fo_vip(V_IPIP6, NULL, 40062);
	o.paylen = 8;
	len = frame(in, &o);
	truncations("TCP to an IPv6 IP-in-IP VIP", in, len, XDP_TX, exp,
		    exp_ipip(exp, in, len, 14, V_IPIP6, 11,
			     flow_hash(&o, V_IPIP6), mac_if_in));
}

/*
 * The IP packet cut short but its length field telling the truth, the
 * frame keeping its bytes after the IP packet (as Ethernet padding).  The
 * program may forward the packet once the ports it needs (TCP/UDP ports,
 * or the ports quoted in an ICMP error) are inside the IP packet; before
 * that it must not: it would take them from the padding.
 */
static void iplen_cuts(const char *what, uint8_t *in, size_t len, size_t l3,
		       size_t need, int mode, uint32_t vid, uint32_t rid,
		       uint32_t hash)
{
	uint8_t *ip = in + l3, exp[FRAME_MAX], out[FRAME_MAX];
	int v6 = (ip[0] >> 4) == 6, fwd = 0;
	size_t full = v6 ? 40 + get16(ip + 4) : get16(ip + 2);
	size_t hl = v6 ? 40 : 20;
	struct bad bad = {}, wrong = {};

	for (size_t L = hl; L <= full; L++) {
		size_t olen, elen;
		int rc;

		if (v6) {
			put16(ip + 4, L - 40);
		} else {
			put16(ip + 2, L);
			ip4_csum(ip);
		}
		rc = xdp_run(in, len, out, &olen);
		if (rc == XDP_DROP ||
		    (rc == XDP_PASS && olen == len && !memcmp(out, in, len)))
			continue;
		if (L < need || rc != XDP_TX) {
			bad_add(&bad, L, rc, rc == XDP_PASS);
			continue;
		}
		fwd++;
		elen = mode == PS_FWD_DSR ? exp_dsr(exp, in, len, rid) :
			exp_ipip(exp, in, len, l3, vid, rid, hash, mac_if_in);
		if (olen != elen || memcmp(out, exp, elen))
			bad_add(&wrong, L, rc, 0);
	}
	/* restore */
	if (v6) {
		put16(ip + 4, full - 40);
	} else {
		put16(ip + 2, full);
		ip4_csum(ip);
	}
	CHECK(!bad.n, "%s in a %zu-byte frame: IP length %zu..%zu (%d lengths; the "
	      "ports end at %zu): %s%s, expected XDP_PASS untouched or XDP_DROP",
	      what, len, bad.first, bad.last, bad.n, need,
	      verdict_name(bad.v_first), bad.changed ? " (changed)" : "");
	CHECK(!wrong.n, "%s: IP length %zu..%zu: forwarded, but not as expected",
	      what, wrong.first, wrong.last);
	if (!ps_chk.failed)
		printf("  %s: IP lengths %zu..%zu, %d forwarded (from %zu on)\n",
		       what, hl, full, fwd, need);
}

static void t_iplen_padded_tcp_v4(void)
{
	uint8_t in[FRAME_MAX];
	struct fopt o = fo_vip(V_TCP4, NULL, 40063);

	o.paylen = 26;
	iplen_cuts("IPv4 TCP, DSR", in, frame(in, &o), 14, 20 + 4, PS_FWD_DSR,
		   V_TCP4, 1, 0);
}

static void t_iplen_padded_tcp_v6(void)
{
	uint8_t in[FRAME_MAX];
	struct fopt o = fo_vip(V_TCP6, NULL, 40063);

	iplen_cuts("IPv6 TCP, DSR", in, frame(in, &o), 14, 40 + 4, PS_FWD_DSR,
		   V_TCP6, 11, 0);
}

static void t_iplen_padded_ipip(void)
{
	uint8_t in[FRAME_MAX];
	struct fopt o = fo_vip(V_IPIP4, NULL, 40063);

	o.paylen = 26;
	iplen_cuts("IPv4 TCP, IP-in-IP", in, frame(in, &o), 14, 20 + 4,
		   PS_FWD_IPIP, V_IPIP4, 1, flow_hash(&o, V_IPIP4));
}

static void t_iplen_padded_icmp_v4(void)
{
	uint8_t in[FRAME_MAX];
	struct fopt o = fo_vip(V_TCP4, NULL, 40064);

	conn_put(&o, 2, V_TCP4);
	iplen_cuts("ICMP fragmentation needed", in, icmp_frame(in, &o, &too_big),
		   14, 20 + 8 + 20 + 4, PS_FWD_DSR, V_TCP4, 2, 0);
}

static void t_iplen_padded_icmp_v6(void)
{
	uint8_t in[FRAME_MAX];
	struct fopt o = fo_vip(V_TCP6, NULL, 40064);

	conn_put(&o, 12, V_TCP6);
	iplen_cuts("ICMPv6 packet too big", in, icmp_frame(in, &o, &too_big),
		   14, 40 + 8 + 40 + 4, PS_FWD_DSR, V_TCP6, 12, 0);
}

/* ---- 13: counters -------------------------------------------------- */

static void t_counters(void)
{
	static const struct { int flow, paylen, vlans; } sent[] = {
		{ 0, 0, 0 }, { 1, 10, 0 }, { 0, 100, 1 }, { 0, 1000, 0 },
		{ 1, 500, 2 }, { 2, 0, 0 }, { 2, 1, 0 },
	};
	struct fopt fl[3];
	uint8_t in[FRAME_MAX];
	uint64_t bytes[3] = {}, pk[3] = {};
	struct ps_lb_stats vb = vstat(V_TCP4), va, rb[5], ra[5];
	uint32_t idx2;

	fl[0] = fo_vip(V_TCP4, "198.18.200.70", 42000);
	fl[1] = fo_vip(V_TCP4, "198.18.200.71", 42001);
	fl[2] = fo_vip(V_TCP4, "198.18.200.72", 42002);
	conn_put(&fl[0], 1, V_TCP4);
	conn_put(&fl[1], 2, V_TCP4);
	/* flow 2 is new: the table puts it on real 3 */
	idx2 = flow_idx(&fl[2], V_TCP4);
	table_uniform(V_TCP4, 4);
	tab[V_TCP4][idx2] = 3;
	table_write(V_TCP4);
	for (uint32_t r = 1; r <= 4; r++)
		rb[r] = rstat(r);
	for (size_t i = 0; i < ARRAY_SIZE(sent); i++) {
		struct fopt o = fl[sent[i].flow];
		size_t len;

		o.paylen = sent[i].paylen;
		o.vlans = sent[i].vlans;
		len = frame(in, &o);
		expect_dsr("counted frame", in, len, 1 + sent[i].flow);
		bytes[sent[i].flow] += len;
		pk[sent[i].flow]++;
	}
	va = vstat(V_TCP4);
	for (uint32_t r = 1; r <= 4; r++)
		ra[r] = rstat(r);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){
		    .packets = pk[0] + pk[1] + pk[2],
		    .bytes = bytes[0] + bytes[1] + bytes[2], .new_flows = 1 });
	stats_delta("real 1", &rb[1], &ra[1], &(struct ps_lb_stats){
		    .packets = pk[0], .bytes = bytes[0] });
	stats_delta("real 2", &rb[2], &ra[2], &(struct ps_lb_stats){
		    .packets = pk[1], .bytes = bytes[1] });
	stats_delta("real 3", &rb[3], &ra[3], &(struct ps_lb_stats){
		    .packets = pk[2], .bytes = bytes[2], .new_flows = 1 });
	stats_delta("real 4", &rb[4], &ra[4], &(struct ps_lb_stats){});
}

/* IP-in-IP counts the frame as it came in. */
static void t_counters_ipip(void)
{
	struct fopt o = fo_vip(V_IPIP6, NULL, 42010);
	uint8_t in[FRAME_MAX];
	size_t l1, l2;
	struct ps_lb_stats vb, va, rb, ra;

	table_uniform(V_IPIP6, 12);
	vb = vstat(V_IPIP6);
	rb = rstat(12);
	l1 = frame(in, &o);
	expect_ipip("first", in, l1, 14, V_IPIP6, 12, flow_hash(&o, V_IPIP6));
	o.paylen = 200;
	o.vlans = 1;
	l2 = frame(in, &o);
	expect_ipip("second", in, l2, 18, V_IPIP6, 12, flow_hash(&o, V_IPIP6));
	va = vstat(V_IPIP6);
	ra = rstat(12);
	stats_delta("vip", &vb, &va, &(struct ps_lb_stats){ .packets = 2,
		    .bytes = l1 + l2, .new_flows = 1 });
	stats_delta("real 12", &rb, &ra, &(struct ps_lb_stats){ .packets = 2,
		    .bytes = l1 + l2, .new_flows = 1 });
}

/* ---- the cases ------------------------------------------------------ */

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "pass_non_vip", t_pass_non_vip },
	{ "dns_still_answered", t_dns_still_answered },
	{ "dsr_syn_v4", t_dsr_syn_v4 },
	{ "dsr_vlan", t_dsr_vlan },
	{ "maglev_index_251", t_maglev_index_251 },
	{ "maglev_index_65537", t_maglev_index_65537 },
	{ "flow_hash_spread", t_flow_hash_spread },
	{ "established_sticks", t_established_sticks },
	{ "established_no_table", t_established_no_table },
	{ "ipv4_options", t_ipv4_options },
	{ "dsr_family_mismatch", t_dsr_family_mismatch },
	{ "backend_down_replaced", t_backend_down_replaced },
	{ "backend_down_no_other", t_backend_down_no_other },
	{ "drain_keeps_established", t_drain_keeps_established },
	{ "syn_placed_by_table", t_syn_placed_by_table },
	{ "syn_not_to_draining", t_syn_not_to_draining },
	{ "drain_no_new_flows", t_drain_no_new_flows },
	{ "entry_none", t_entry_none },
	{ "no_table", t_no_table },
	{ "dsr_v6", t_dsr_v6 },
	{ "udp_v4", t_udp_v4 },
	{ "udp_v6", t_udp_v6 },
	{ "vip_other_port_proto", t_vip_other_port_proto },
	{ "ipip_v4", t_ipip_v4 },
	{ "ipip_v4_no_df", t_ipip_v4_no_df },
	{ "ipip_v4_vlan1", t_ipip_v4_vlan1 },
	{ "ipip_v4_vlan2", t_ipip_v4_vlan2 },
	{ "ipip_v4_tun_src", t_ipip_v4_tun_src },
	{ "ipip_redirect", t_ipip_redirect },
	{ "ipip_nexthop_cache", t_ipip_nexthop_cache },
	{ "ipip_v6", t_ipip_v6 },
	{ "ipip_v6_tc_low", t_ipip_v6_tc_low },
	{ "ipip_v6_vlan", t_ipip_v6_vlan },
	{ "ipip_no_neigh", t_ipip_no_neigh },
	{ "ipip_no_route", t_ipip_no_route },
	{ "ipip_too_big", t_ipip_too_big },
	{ "icmp_frag_needed_v4", t_icmp_frag_needed_v4 },
	{ "icmp_frag_needed_v4_udp", t_icmp_frag_needed_v4_udp },
	{ "icmp6_too_big", t_icmp6_too_big },
	{ "icmp6_too_big_udp", t_icmp6_too_big_udp },
	{ "icmp_long_quote_vlan", t_icmp_long_quote_vlan },
	{ "icmp_ipip", t_icmp_ipip },
	{ "icmp_unknown_flow", t_icmp_unknown_flow },
	{ "icmp_other_types", t_icmp_other_types },
	{ "fragments", t_fragments },
	{ "trunc_dsr", t_trunc_dsr },
	{ "trunc_icmp", t_trunc_icmp },
	{ "trunc_ipip", t_trunc_ipip },
	{ "iplen_padded_tcp_v4", t_iplen_padded_tcp_v4 },
	{ "iplen_padded_tcp_v6", t_iplen_padded_tcp_v6 },
	{ "iplen_padded_ipip", t_iplen_padded_ipip },
	{ "iplen_padded_icmp_v4", t_iplen_padded_icmp_v4 },
	{ "iplen_padded_icmp_v6", t_iplen_padded_icmp_v6 },
	{ "counters", t_counters },
	{ "counters_ipip", t_counters_ipip },
};

/* ---- setup ---------------------------------------------------------- */

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "lb_packets: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -1;
	rc = fputs(s, f) < 0;
	return fclose(f) || rc ? -1 : 0;
}

static int net_setup(void)
{
	char mac[32];
	int rc = 0;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	rc |= sh("ip link add " IF_IN " address 02:00:00:00:aa:01 type veth peer name " IF_IN_PEER);
	rc |= sh("ip link add " IF_OUT " address 02:00:00:00:aa:03 type veth peer name " IF_OUT_PEER);
	rc |= sh("ip link set " IF_IN " up && ip link set " IF_IN_PEER " up && "
		 "ip link set " IF_OUT " up && ip link set " IF_OUT_PEER " up");
	rc |= sh("ip addr add 198.18.5.1/24 dev " IF_IN " && "
		 "ip -6 addr add 2001:2:5::1/64 dev " IF_IN " nodad && "
		 "ip addr add 198.18.6.1/24 dev " IF_OUT " && "
		 "ip -6 addr add 2001:2:6::1/64 dev " IF_OUT " nodad");
	for (size_t i = 0; i < ARRAY_SIZE(reals); i++) {
		uint8_t m[6];

		if (!reals[i].neigh)
			continue;
		mac_neigh(reals[i].id, m);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		rc |= sh("ip neigh add %s lladdr %s dev %s nud permanent",
			 reals[i].addr, mac, reals[i].dev);
	}
	/* the FIB helper answers only for interfaces that forward */
	rc |= write_file("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	rc |= write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	ifindex_in = if_nametoindex(IF_IN);
	ifindex_out = if_nametoindex(IF_OUT);
	if (rc || !ifindex_in || !ifindex_out)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		check_skip("lb_packets", "needs root (network namespace, BPF_PROG_TEST_RUN)");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (net_setup()) {
		printf("FAIL lb_packets_setup: could not set up the network namespace\n");
		return 1;
	}
	if (prog_setup(&prog, config)) {
		printf("FAIL lb_packets_setup: could not load the program\n");
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	fd_vips = bpf_map__fd(prog.skel->maps.ps_vips);
	fd_reals = bpf_map__fd(prog.skel->maps.ps_reals);
	fd_maglev = bpf_map__fd(prog.skel->maps.ps_maglev);
	fd_conn = bpf_map__fd(prog.skel->maps.ps_conn);
	fd_vstats = bpf_map__fd(prog.skel->maps.ps_vip_stats);
	fd_rstats = bpf_map__fd(prog.skel->maps.ps_real_stats);
	if (ncpus <= 0 || fd_vips < 0 || fd_reals < 0 || fd_maglev < 0 ||
	    fd_conn < 0 || fd_vstats < 0 || fd_rstats < 0) {
		printf("FAIL lb_packets_setup: steering maps missing\n");
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[128];

		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		snprintf(name, sizeof(name), "lb_packet_%s", cases[i].name);
		check_begin(name);
		reset();
		if (!ps_chk.failed)
			cases[i].fn();
		check_end();
	}
	for (uint32_t v = 1; v < NV; v++)
		free(tab[v]);
	prog_teardown(&prog);
	return ps_chk.nfail ? 1 : 0;
}
