// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace DNS answers (see answer.h).  The message is parsed into a
 * struct query first, with every read checked against its length; the
 * reply is then built with bounded writes in the order XDP builds it:
 * header, question echo, answer or authority section, truncation to the
 * client's limit, OPT, and the header fields last.
 *
 * Where this file and bpf/lib/dns.h meet, they must agree: record layout,
 * name lookup and the choice of slot are copied from there on purpose.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include <popsteer/hash.h>

#include "answer.h"

#define F_QR		0x8000
#define F_OPCODE	0x7800
#define F_AA		0x0400
#define F_TC		0x0200
#define F_RD		0x0100
#define F_CD		0x0010

#define RC_NOTIMP	4
#define OPT_LEN		11	/* root, type, size, TTL, rdlen 0 */
#define TCP_LIMIT	65535

/* contents of the maps XDP could not answer from: SERVFAIL here */
#define E_MAPS		EUCLEAN

struct query {
	const uint8_t *msg;
	size_t len;
	uint16_t id, flags;
	int has_q;			/* the question parsed: echo it */
	size_t qend;			/* offset after the question */
	size_t name_len;		/* QNAME wire bytes incl. the root */
	int nlabels;			/* labels incl. the root */
	uint8_t labels[PS_LABELS_MAX];	/* where each label starts */
	uint8_t key[PS_KEY_X];		/* QNAME lower-cased */
	uint16_t qtype, qclass;
	int edns;			/* exactly one good OPT: send one */
	uint16_t edns_size;
	uint8_t edns_version;
	int foreign;			/* an additional record not OPT */
};

/* the reply under construction: writes past cap are counted, not done */
struct reply {
	uint8_t *buf;
	size_t cap, pos;
	int over;
};

struct answer {
	const struct ps_maps *m;
	const struct ps_answer_opts *o;
	const struct sockaddr *client;
	const struct query *q;
	struct ps_cfg cfg;
	struct reply r;
	unsigned int rcode;		/* 0..15, or PS_RC_BADVERS */
	int aa;
	uint16_t an, ns;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- parsing ------------------------------------------------------ */

/* A-Z only, as ps_lower8() in the data plane: not the locale's idea */
static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* QNAME and the type and class after it; no compression, as XDP. */
static int parse_question(struct query *q)
{
	const uint8_t *name = q->msg + PS_DNS_HDR_LEN;
	size_t room = q->len - PS_DNS_HDR_LEN, off = 0;
	int i;

	for (i = 0; i < PS_LABELS_MAX; i++) {
		uint8_t len;

		if (off >= room)
			return -EBADMSG;
		len = name[off];
		q->labels[i] = off;
		if (len == 0)
			break;
		/* pointers and the extended label types (64..191) */
		if (len > PS_LABEL_MAX)
			return -EBADMSG;
		off += len + 1;
		if (off > PS_NAME_WIRE_MAX - 1)
			return -EBADMSG;
	}
	/* cannot happen within 255 bytes */
	if (i == PS_LABELS_MAX)
		return -EBADMSG;
	q->name_len = off + 1;
	q->nlabels = i + 1;
	if (q->name_len + 4 > room)
		return -EBADMSG;
	memset(q->key, 0, sizeof(q->key));
	for (size_t b = 0; b < q->name_len; b++)
		q->key[b] = lower(name[b]);
	q->qtype = get16(name + q->name_len);
	q->qclass = get16(name + q->name_len + 2);
	q->qend = PS_DNS_HDR_LEN + q->name_len + 4;
	return 0;
}

/*
 * Skip the name at *off of a record after the question, where compression
 * is allowed.  A pointer must lead before the run of labels it ends, so
 * every jump goes further back and a loop is impossible.
 */
static int skip_name(const struct query *q, size_t *off, int *root)
{
	size_t pos = *off, run = *off, end = 0, total = 0;

	for (;;) {
		uint8_t c;

		if (pos >= q->len)
			return -EBADMSG;
		c = q->msg[pos];
		if (c == 0)
			break;
		if ((c & 0xc0) == 0xc0) {
			size_t to;

			if (pos + 1 >= q->len)
				return -EBADMSG;
			to = (size_t)(c & 0x3f) << 8 | q->msg[pos + 1];
			if (to >= run)
				return -EBADMSG;
			if (!end)
				end = pos + 2;
			pos = run = to;
			continue;
		}
		if (c > PS_LABEL_MAX)
			return -EBADMSG;
		total += c + 1;
		if (total > PS_NAME_WIRE_MAX - 1)
			return -EBADMSG;
		pos += c + 1;
	}
	*root = total == 0;
	*off = end ? end : pos + 1;
	return 0;
}

/* One resource record at *off; returns its type. */
static int parse_rr(const struct query *q, size_t *off, int *root,
		    size_t *rdata, uint16_t *rdlen)
{
	size_t pos = *off;
	int rc = skip_name(q, &pos, root);

	if (rc)
		return rc;
	if (q->len - pos < 10)
		return -EBADMSG;
	*rdlen = get16(q->msg + pos + 8);
	*rdata = pos + 10;
	if (q->len - *rdata < *rdlen)
		return -EBADMSG;
	*off = *rdata + *rdlen;
	return get16(q->msg + pos);
}

/* EDNS options must tile the RDATA exactly */
static int opt_options_ok(const struct query *q, size_t rdata, uint16_t rdlen)
{
	size_t end = 0;

	while (end < rdlen) {
		if (rdlen - end < 4)
			return 0;
		end += 4 + get16(q->msg + rdata + end + 2);
	}
	return end == rdlen;
}

/*
 * Parse a query (QR and length already checked).  Returns 0, or -EBADMSG
 * for FORMERR.  Even then has_q and edns say what the FORMERR can carry:
 * the question if it parsed, an OPT if exactly one good OPT was found in
 * an additional section that parsed.
 */
static int parse(struct query *q, const uint8_t *msg, size_t len)
{
	uint16_t qd, an, ns, ar;
	int bad = 0, nopt = 0;
	size_t off;

	memset(q, 0, sizeof(*q));
	q->msg = msg;
	q->len = len;
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	qd = get16(msg + 4);
	an = get16(msg + 6);
	ns = get16(msg + 8);
	ar = get16(msg + 10);

	if (qd == 0 || parse_question(q))
		return -EBADMSG;
	q->has_q = 1;
	if (qd != 1)
		return -EBADMSG;

	/* queries carry no answers or authority; still walk them, so the
	 * FORMERR can carry the OPT that follows */
	off = q->qend;
	for (unsigned int i = 0; i < (unsigned int)an + ns; i++) {
		size_t rdata;
		uint16_t rdlen;
		int root;

		if (parse_rr(q, &off, &root, &rdata, &rdlen) < 0)
			return -EBADMSG;
		bad = 1;
	}
	for (unsigned int i = 0; i < ar; i++) {
		size_t rdata;
		uint16_t rdlen;
		int root, type = parse_rr(q, &off, &root, &rdata, &rdlen);

		if (type < 0) {
			q->edns = 0;
			return -EBADMSG;
		}
		if (type != PS_T_OPT) {
			q->foreign = 1;		/* TSIG, SIG(0), ... */
			continue;
		}
		if (nopt++ || !root || !opt_options_ok(q, rdata, rdlen)) {
			q->edns = 0;
			bad = 1;
			continue;
		}
		/* fixed fields after the owner: type, size, ext. rcode,
		 * version, flags, rdlen */
		q->edns = 1;
		q->edns_size = get16(q->msg + rdata - 8);
		q->edns_version = q->msg[rdata - 5];
	}
	if (nopt > 1)
		q->edns = 0;
	if (off != len)			/* trailing bytes */
		bad = 1;
	return bad ? -EBADMSG : 0;
}

/* ---- the reply ------------------------------------------------------ */

static void put(struct reply *r, const void *p, size_t n)
{
	if (!r->over && n <= r->cap && r->pos <= r->cap - n)
		memcpy(r->buf + r->pos, p, n);
	else
		r->over = 1;
	r->pos += n;
}

static void put16(struct reply *r, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(r, b, 2);
}

/* Back to the end of the question, dropping any records. */
static void rewind_to_question(struct answer *a)
{
	a->r.pos = a->q->has_q ? a->q->qend : PS_DNS_HDR_LEN;
	a->r.over = a->r.pos > a->r.cap;
	a->an = 0;
	a->ns = 0;
}

/* The UDP payload size we advertise; a config never written has 0. */
static uint16_t our_size(const struct answer *a)
{
	return a->cfg.edns_size >= 512 ? a->cfg.edns_size : 512;
}

/* Largest UDP reply the client takes, as ps_dns_opt() computes it. */
static size_t udp_limit(const struct answer *a)
{
	size_t size = a->q->edns_size;

	if (!a->q->edns)
		return 512;
	if (size < 512)
		size = 512;
	if (size > our_size(a))
		size = our_size(a);
	return size;
}

/* Truncation, OPT and header, as ps_dns_answer(); returns the length. */
static int finish(struct answer *a, int tcp)
{
	const struct query *q = a->q;
	size_t opt = q->edns ? OPT_LEN : 0;
	size_t limit = tcp ? TCP_LIMIT : udp_limit(a);
	uint16_t fl;
	int tc = 0;

	if (a->r.pos + opt > limit) {
		/* an empty TC=1 reply sends the client to TCP */
		rewind_to_question(a);
		tc = 1;
	}
	if (q->edns) {
		uint8_t o[OPT_LEN] = { 0, PS_T_OPT >> 8, PS_T_OPT & 0xff,
				       our_size(a) >> 8, our_size(a) & 0xff,
				       a->rcode >> 4 };

		put(&a->r, o, sizeof(o));
	}
	if (a->r.over)
		return -ENOSPC;

	fl = F_QR | (q->flags & (F_OPCODE | F_RD | F_CD)) | (a->rcode & 0xf);
	if (a->aa)
		fl |= F_AA;
	if (tc)
		fl |= F_TC;
	{
		uint8_t *h = a->r.buf;
		uint16_t w[6] = { q->id, fl, q->has_q, a->an, a->ns, q->edns };

		for (int i = 0; i < 6; i++) {
			h[2 * i] = w[i] >> 8;
			h[2 * i + 1] = w[i] & 0xff;
		}
	}
	return (int)a->r.pos;
}

/* A reply without records: header, question if any, OPT if asked. */
static int reply_rcode(struct answer *a, unsigned int rcode, int tcp)
{
	rewind_to_question(a);
	a->rcode = rcode;
	a->aa = 0;
	return finish(a, tcp);
}

/* ---- the maps ----------------------------------------------------- */

/* The active copy of a double-buffered object. */
static int read_gen(const struct ps_maps *m, int fd, __u32 obj, __u32 gen_idx,
		    void *val)
{
	__u32 gen, key;

	if (bpf_map_lookup_elem(m->gen, &gen_idx, &gen))
		return -errno;
	key = PS_BUF(obj, gen);
	if (bpf_map_lookup_elem(fd, &key, val))
		return -errno;
	return 0;
}

/* 1 found, 0 not, -errno */
static int lookup_name(const struct ps_maps *m, const uint8_t *wire,
		       size_t len, struct ps_name *e)
{
	int rc = ps_name_find(m, wire, len, e);

	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

/*
 * ps_dns_find(): 1 the name itself, 2 a zone holds it (e: the deepest
 * existing ancestor), 0 neither.  Suffixes are walked from the shortest;
 * inside a zone the first missing one ends the walk, above every zone a
 * walk deeper than the deepest apex does.
 */
static int find(struct answer *a, struct ps_name *e)
{
	const struct query *q = a->q;
	int n = q->nlabels - 1, hit = 0, rc;

	rc = lookup_name(a->m, q->key, q->name_len, e);
	if (rc)
		return rc;
	for (int j = 1; j <= PS_CONF_LABELS_MAX + 1 && j < n; j++) {
		size_t off = q->labels[n - j];
		struct ps_name s;

		rc = lookup_name(a->m, q->key + off, q->name_len - off, &s);
		if (rc < 0)
			return rc;
		if (rc) {
			*e = s;
			hit = 1;
			continue;
		}
		if (hit || j >= a->cfg.max_apex_labels)
			break;
	}
	return hit ? 2 : 0;
}

/* ---- sections ------------------------------------------------------- */

static uint32_t default_rand32(void)
{
	static _Thread_local uint64_t s;
	static _Thread_local int seeded;
	uint64_t z;

	if (!seeded) {
		if (getrandom(&s, sizeof(s), 0) != sizeof(s))
			s = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
		seeded = 1;
	}
	/* splitmix64 */
	z = (s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* ps_pick_slot(): the client as XDP saw it, an IPv4-mapped address as
 * the IPv4 packet it was */
static __u32 pick_slot(const struct answer *a, const struct ps_sel *sel)
{
	__u32 w[4] = { 0 };
	int v6 = 0;

	if (sel->mode != PS_SEL_HASH) {
		__u32 r = a->o && a->o->rand32 ? a->o->rand32(a->o->rand_arg)
					       : default_rand32();

		return r & (PS_SEL_SLOTS - 1);
	}
	if (a->client->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)a->client;

		memcpy(w, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)a->client;
		const struct in6_addr *in6 = &sin6->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(w, &in6->s6_addr[12], 4);
		} else {
			memcpy(w, in6, 16);
			v6 = 1;
		}
	}
	return ps_client_slot(w, v6, sel->prefix4, sel->prefix6, sel->seed);
}

/* A or AAAA records from the pool; none (NODATA) leaves an at 0; 1 when
 * no server can be answered and the pool's fallback is SERVFAIL. */
static int put_pool(struct answer *a, const struct ps_sel *sel, uint32_t ttl,
		    int v6)
{
	unsigned int n = v6 ? sel->a6 : sel->a4;
	__u32 slot;

	if (n == 0)
		return !!(sel->flags & (v6 ? PS_SEL_SERVFAIL6 : PS_SEL_SERVFAIL4));
	if (n > PS_ANSWERS_MAX)
		return -E_MAPS;
	slot = pick_slot(a, sel);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t rr[28] = { 0xc0, PS_DNS_HDR_LEN, 0, 0, 0, PS_C_IN,
				   ttl >> 24, ttl >> 16, ttl >> 8, ttl };
		unsigned int idx;

		if (!v6) {
			idx = sel->slot4[slot][i] & (PS_POOL_SERVERS_MAX - 1);
			rr[3] = PS_T_A;
			rr[11] = 4;
			memcpy(rr + 12, &sel->addr4[idx], 4);
			put(&a->r, rr, 16);
		} else {
			idx = sel->slot6[slot][i] & (PS_POOL_SERVERS_MAX - 1);
			rr[3] = PS_T_AAAA;
			rr[11] = 16;
			memcpy(rr + 12, sel->addr6[idx], 16);
			put(&a->r, rr, 28);
		}
	}
	a->an = n;
	return 0;
}

/* The zone's SOA, owned by the apex inside the question (a pointer). */
static int put_soa(struct answer *a, const struct ps_zone *z, int zone_labels,
		   int negative)
{
	const struct query *q = a->q;
	uint8_t soa[PS_SOA_MAX];
	size_t apex;

	if (z->soa_len > PS_SOA_MAX || z->soa_len < 10)
		return -E_MAPS;
	if (zone_labels > q->nlabels - 1)
		return -E_MAPS;
	apex = PS_DNS_HDR_LEN + q->labels[q->nlabels - 1 - zone_labels];
	put16(&a->r, 0xc000 | apex);
	memcpy(soa, z->soa, z->soa_len);
	/* the TTLs are stored in network order, ready to copy */
	memcpy(soa + 4, negative ? &z->neg_ttl : &z->soa_ttl, 4);
	put(&a->r, soa, z->soa_len);
	return 0;
}

static int put_ns(struct answer *a, const struct ps_zone *z)
{
	if (z->ns_len > PS_NS_MAX)
		return -E_MAPS;
	put(&a->r, z->ns, z->ns_len);
	a->an = z->ns_count;
	return 0;
}

/* RFC 8482: ANY at a steered name is its A (else AAAA) records, at an
 * apex its SOA; 0 for what has neither (NODATA). */
static uint16_t any_type(const struct ps_name *e, const struct ps_sel *sel)
{
	if (e->flags & PS_NAME_POOL) {
		if (sel->a4)
			return PS_T_A;
		if (sel->a6)
			return PS_T_AAAA;
	}
	if (e->flags & PS_NAME_APEX)
		return PS_T_SOA;
	return 0;
}

/* ps_dns_sections() for a query that reached the lookup. */
static int sections(struct answer *a)
{
	uint16_t type = a->q->qtype;
	struct ps_zone z;
	struct ps_name e;
	int found, rc;

	found = find(a, &e);
	if (found < 0)
		return found;
	if (!found) {
		a->rcode = PS_RC_REFUSED;
		return 0;
	}
	a->aa = 1;
	if (e.zone >= PS_MAX_ZONES)
		return -E_MAPS;
	if (found == 1) {
		struct ps_sel sel;
		int pool = e.flags & PS_NAME_POOL;

		if (pool && (type == PS_T_A || type == PS_T_AAAA ||
			     type == PS_T_ANY)) {
			if (e.pool >= PS_MAX_POOLS)
				return -E_MAPS;
			rc = read_gen(a->m, a->m->sel, e.pool,
				      PS_GEN_POOL(e.pool), &sel);
			if (rc)
				return rc;
		}
		if (type == PS_T_ANY)
			type = any_type(&e, &sel);
		if (pool && (type == PS_T_A || type == PS_T_AAAA)) {
			rc = put_pool(a, &sel, e.ttl, type == PS_T_AAAA);
			if (rc == 1) {
				a->rcode = PS_RC_SERVFAIL;
				a->aa = 0;
				return 0;
			}
			if (rc || a->an)
				return rc;
		} else if ((e.flags & PS_NAME_APEX) &&
			   (type == PS_T_SOA || type == PS_T_NS)) {
			rc = read_gen(a->m, a->m->zone, e.zone,
				      PS_GEN_ZONE(e.zone), &z);
			if (rc)
				return rc;
			if (type == PS_T_NS)
				return put_ns(a, &z);
			a->an = 1;
			return put_soa(a, &z, e.zone_labels, 0);
		}
		/* NODATA */
	} else {
		a->rcode = PS_RC_NXDOMAIN;
	}
	rc = read_gen(a->m, a->m->zone, e.zone, PS_GEN_ZONE(e.zone), &z);
	if (rc)
		return rc;
	a->ns = 1;
	return put_soa(a, &z, e.zone_labels, 1);
}

/* ---- entry ---------------------------------------------------------- */

int ps_answer_ex(const struct ps_maps *m, const struct ps_answer_opts *o,
		 const uint8_t *query, size_t qlen,
		 const struct sockaddr *client, int tcp, uint8_t *out,
		 size_t cap)
{
	struct answer a = { .m = m, .o = o, .client = client };
	struct query q;
	int bad, rc;

	if (!m || !query || !client || !out)
		return -EINVAL;
	if (client->sa_family != AF_INET && client->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	/* never answer a response, nor what is not even a header */
	if (qlen < PS_DNS_HDR_LEN || (get16(query + 2) & F_QR))
		return 0;
	rc = read_gen(m, m->cfg, 0, PS_GEN_CFG, &a.cfg);
	if (rc)
		return rc;

	bad = parse(&q, query, qlen);
	a.q = &q;
	a.r = (struct reply){ .buf = out, .cap = cap };
	/* header and question, echoed as sent; the header is filled last */
	put(&a.r, query, q.has_q ? q.qend : PS_DNS_HDR_LEN);

	/* other opcodes lay their sections out differently: only the
	 * question is taken as read */
	if (q.flags & F_OPCODE) {
		q.edns = 0;
		return reply_rcode(&a, RC_NOTIMP, tcp);
	}
	if (bad)
		return reply_rcode(&a, PS_RC_FORMERR, tcp);
	if (!(a.cfg.flags & PS_CFG_READY))
		return reply_rcode(&a, PS_RC_SERVFAIL, tcp);
	/* we verify no signatures: better no answer than an unsigned one */
	if (q.foreign)
		return reply_rcode(&a, PS_RC_REFUSED, tcp);
	if (q.edns && q.edns_version != 0)
		return reply_rcode(&a, PS_RC_BADVERS, tcp);
	if (q.qclass != PS_C_IN)
		return reply_rcode(&a, PS_RC_REFUSED, tcp);
	if (q.qtype == PS_T_AXFR || q.qtype == PS_T_IXFR)
		return reply_rcode(&a, PS_RC_REFUSED, tcp);
	if (q.qtype == PS_T_OPT ||
	    (q.qtype >= 128 && q.qtype <= 255 && q.qtype != PS_T_ANY))
		return reply_rcode(&a, RC_NOTIMP, tcp);

	rc = sections(&a);
	if (rc == -E_MAPS) {
		/* where XDP gives up and passes, there is no better answer */
		rewind_to_question(&a);
		a.aa = 0;
		a.rcode = PS_RC_SERVFAIL;
	} else if (rc) {
		return rc;
	}
	return finish(&a, tcp);
}

int ps_answer(const struct ps_maps *m, const uint8_t *query, size_t qlen,
	      const struct sockaddr *client, int tcp, uint8_t *out, size_t cap)
{
	return ps_answer_ex(m, NULL, query, qlen, client, tcp, out, cap);
}
