// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live-frames DNS load generator and answer counter for a veth pair.
 *
 *   bench_trafficgen -i IFACE -m PEER_MAC -q NAME/TYPE[/6] [-q ...]
 *                    [-d SECONDS] [-n MAX_FRAMES] [-b BATCH] [-c CPU] [-e]
 *                    [-N FIGURE] [-p PIN_DIR]
 *
 * Run it in the client's network namespace; IFACE is the client end of the
 * veth pair, PEER_MAC the MAC of the PoP end.  Queries go from 198.18.0.2 /
 * 2001:2::2 to 198.18.0.1 / 2001:2::1, with EDNS; "/6" sends that query
 * over IPv6.
 *
 * Frames are sent by BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: psb_gen
 * (trafficgen.bpf.c) runs with ingress_ifindex = IFACE and returns XDP_TX,
 * so each frame leaves through IFACE towards the PoP.  psb_count, attached
 * to IFACE for the run, counts the answers that come back.  The run ends
 * after SECONDS or MAX_FRAMES frames, whichever is first.
 *
 * stdout: "FIGURE: <valid answers per second> pps" (with -N).  stderr:
 * frames sent, answers valid/invalid/missing, and the full check of a
 * sample of answers (frame: addresses, lengths, checksums; DNS message:
 * decoded by ldns).  -e: the server is the echo responder, whose
 * answers carry no records.  -p: popsteer's counters in PIN_DIR tell where
 * missing answers were lost: on the veth before the program, in the program
 * (a query it passed or dropped), or on the way back.  A saturated server
 * drops queries; that alone is not a problem.
 *
 * Flow steering (-L VIP:PORT -M MAC_PREFIX [-F FLOWS]): instead of queries,
 * FLOWS UDP datagrams to VIP:PORT (client ports 40000 + i, one flow each)
 * in turn; what counts is each datagram coming back from the PoP sent on
 * to a backend whose MAC starts with MAC_PREFIX (4 bytes), the rest of the
 * frame unchanged (DSR back out of the same veth).
 *
 * Exit status: 0 figure printed; 3 figure printed, but some answers were
 * wrong, or popsteer left queries unanswered (-p); 1 no figure.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ldns/ldns.h>

#include "pkt.h"
#include "bench.h"
#include "maps.h"
#include "trafficgen.skel.h"

#define SERVER4 "198.18.0.1"
#define SERVER6 "2001:2::1"
#define CLIENT4 "198.18.0.2"
#define CLIENT6 "2001:2::2"
/* prime: the samples cycle through all the templates */
#define SAMPLE_EVERY 4093
#define BAD_SHOWN 3
#define DRAIN_MS 300

struct tpl {
	const char *spec;
	char qname[256];
	int qtype;
	struct frame_opts fo;
	uint8_t frame[FRAME_MAX];
	size_t len;
};

static struct tpl tpls[PSB_TPL_MAX];
static int ntpl;
static int echo_mode;
/* flow steering mode (-L): datagrams to lb_vip:lb_port, one flow per
 * template, counted when steered to a MAC starting with lb_mac */
static int lb_mode;
static char lb_vip[INET_ADDRSTRLEN];
static uint16_t lb_port;
static uint8_t lb_mac[4];
/* when and by what the run was stopped: the deadline (SIGALRM), or an
 * interruption (SIGINT, SIGTERM) */
static struct timespec t_stop;
static volatile sig_atomic_t stopped;

static void on_signal(int sig)
{
	if (!stopped)
		clock_gettime(CLOCK_MONOTONIC, &t_stop);	/* signal-safe */
	if (!stopped || sig != SIGALRM)
		stopped = sig;
}

static double ts_sec(const struct timespec *ts)
{
	return ts->tv_sec + ts->tv_nsec / 1e9;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_sec(&ts);
}

/* "NAME/TYPE[/6]" into template i */
static int tpl_parse(struct tpl *t, const char *spec, int i)
{
	char buf[300], *type, *fam;
	ldns_rr_type qt;

	snprintf(buf, sizeof(buf), "%s", spec);
	type = strchr(buf, '/');
	if (!type)
		return -1;
	*type++ = 0;
	fam = strchr(type, '/');
	if (fam)
		*fam++ = 0;
	qt = ldns_get_rr_type_by_name(type);
	if (!qt || strlen(buf) >= sizeof(t->qname))
		return -1;
	t->spec = spec;
	snprintf(t->qname, sizeof(t->qname), "%s", buf);
	t->qtype = qt;
	t->fo.family = fam && !strcmp(fam, "6") ? 6 : 4;
	if (fam && strcmp(fam, "6") && strcmp(fam, "4"))
		return -1;
	t->fo.src = t->fo.family == 6 ? CLIENT6 : CLIENT4;
	t->fo.dst = t->fo.family == 6 ? SERVER6 : SERVER4;
	/* one client port per template: different flows for servers that
	 * spread them over sockets or queues */
	t->fo.sport = 40000 + i;
	return 0;
}

/* Flow steering: template i is a UDP datagram (18 bytes of payload)
 * from CLIENT4:PSB_LB_PORT+i to the VIP. */
static int tpl_build_lb(struct tpl *t, int i, const uint8_t *smac,
			const uint8_t *dmac)
{
	uint8_t payload[18];

	snprintf((char *)payload, sizeof(payload), "popsteer flow %02d", i);
	t->spec = "udp flow";
	t->fo.family = 4;
	t->fo.src = CLIENT4;
	t->fo.dst = lb_vip;
	t->fo.sport = PSB_LB_PORT + i;
	t->fo.dport = lb_port;
	t->len = frame_build(t->frame, &t->fo, payload, sizeof(payload));
	memcpy(t->frame, dmac, 6);
	memcpy(t->frame + 6, smac, 6);
	return t->len <= PSB_FRAME_MAX ? 0 : -1;
}

/* the frame from IFACE's MAC to the peer's */
static int tpl_build(struct tpl *t, int i, const uint8_t *smac,
		     const uint8_t *dmac)
{
	ldns_rdf *name = ldns_dname_new_frm_str(t->qname);
	ldns_pkt *pkt;
	uint8_t *wire;
	size_t len;

	if (!name)
		return -1;
	pkt = ldns_pkt_query_new(name, t->qtype, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_pkt_set_id(pkt, PSB_ID_BASE | i);
	ldns_pkt_set_edns_udp_size(pkt, 1232);
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK || len > 300) {
		ldns_pkt_free(pkt);
		return -1;
	}
	t->len = frame_build(t->frame, &t->fo, wire, len);
	memcpy(t->frame, dmac, 6);
	memcpy(t->frame + 6, smac, 6);
	free(wire);
	ldns_pkt_free(pkt);
	return t->len <= PSB_FRAME_MAX ? 0 : -1;
}

static int maps_fill(struct trafficgen *skel)
{
	struct psb_gcfg cfg = { .ntpl = ntpl, .sample_every = SAMPLE_EVERY,
				.lb = lb_mode };
	__u32 zero = 0;

	memcpy(cfg.lb_mac, lb_mac, 4);
	for (int i = 0; i < ntpl; i++) {
		struct psb_frame f = { .len = tpls[i].len };
		struct psb_expect e = {
			.family = tpls[i].fo.family,
			.rcode = LDNS_RCODE_NOERROR,
			.min_an = echo_mode ? 0 : 1,
			.cport = htons(tpls[i].fo.sport),
			.sport = htons(53),
		};
		__u32 k = i;

		memcpy(f.data, tpls[i].frame, tpls[i].len);
		inet_pton(e.family == 6 ? AF_INET6 : AF_INET,
			  e.family == 6 ? SERVER6 : SERVER4, e.server);
		if (lb_mode) {
			e.sport = htons(lb_port);
			inet_pton(AF_INET, lb_vip, e.server);
		}
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.psb_tpl), &k, &f, 0) ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.psb_expect), &k, &e, 0))
			return -1;
	}
	return bpf_map_update_elem(bpf_map__fd(skel->maps.psb_gcfg), &zero,
				   &cfg, 0);
}

static int if_mac(const char *ifname, uint8_t *mac)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* ---- checking sampled answers in full ---------------------------------- */

/*
 * Completes the UDP checksum of an answer that left it to others, so that
 * reply_check() applies to it too:
 *   - IPv4 without checksum (RFC 768 allows it; Knot's XDP mode sends none);
 *   - checksum offload: a socket's answer leaves the stack with only the
 *     pseudo-header sum in the field (CHECKSUM_PARTIAL), and veth never
 *     completes it -- a NIC would.
 * Returns 1 for the first case, 2 for the second, 0 when nothing was done.
 */
static int udp_csum_complete(uint8_t *f, size_t len, const struct frame_opts *fo)
{
	size_t l3 = frame_l3(fo), l4 = l3 + (fo->family == 6 ? 40 : 20);
	uint32_t sum, pseudo;
	uint16_t ulen, check;
	int kind;

	if (len < l4 + 8 || (fo->family == 4 && (f[l3] & 0xf) != 5))
		return 0;
	ulen = (f[l4 + 4] << 8) | f[l4 + 5];
	if (l4 + ulen > len)
		return 0;
	if (fo->family == 6)
		pseudo = csum_add(0, f + l3 + 8, 32) + 17 + ulen;
	else
		pseudo = csum_add(0, f + l3 + 12, 8) + 17 + ulen;
	check = (f[l4 + 6] << 8) | f[l4 + 7];
	if (fo->family == 4 && check == 0)
		kind = 1;
	else if (check == csum_fold16(pseudo) &&
		 csum_fold16(csum_add(pseudo, f + l4, ulen)) != 0xffff)
		kind = 2;
	else
		return 0;
	f[l4 + 6] = f[l4 + 7] = 0;
	sum = (uint16_t)~csum_fold16(csum_add(pseudo, f + l4, ulen));
	if (!sum)
		sum = 0xffff;
	f[l4 + 6] = sum >> 8;
	f[l4 + 7] = sum;
	return kind;
}

#define WHY(...) do { snprintf(why, wlen, __VA_ARGS__); return -1; } while (0)

/*
 * Is f a well-formed answer frame to the query frame q: MACs, addresses and
 * ports swapped, lengths consistent, checksums right?  Unlike reply_check()
 * of tests/lib, which holds popsteer to its own rules (TTL, flow label...),
 * this applies to any server.  Returns the DNS message length and points
 * *dns at it, or -1 with the reason in why.
 */
static int answer_frame_check(const struct tpl *t, const uint8_t *f,
			      size_t len, const uint8_t **dns, char *why,
			      size_t wlen)
{
	const struct frame_opts *fo = &t->fo;
	const uint8_t *q = t->frame;
	size_t l3 = frame_l3(fo), l4, ulen;
	const uint8_t *ip = f + l3, *qip = q + l3, *udp, *qudp;
	uint32_t sum;

	if (len < l3 + (fo->family == 6 ? 40 : 20) + 8 + 12)
		WHY("%zu-byte frame is too short", len);
	if (memcmp(f, q + 6, 6) || memcmp(f + 6, q, 6))
		WHY("MAC addresses not swapped");
	if (memcmp(f + 12, q + 12, l3 - 12))
		WHY("ethertype changed");
	if (fo->family == 6) {
		if ((ip[0] >> 4) != 6 || ip[6] != 17)
			WHY("not IPv6/UDP");
		if (memcmp(ip + 8, qip + 24, 16) || memcmp(ip + 24, qip + 8, 16))
			WHY("IPv6 addresses not swapped");
		ulen = (ip[4] << 8) | ip[5];
		l4 = l3 + 40;
		sum = csum_add(0, ip + 8, 32);
	} else {
		if ((ip[0] >> 4) != 4 || ip[9] != 17)
			WHY("not IPv4/UDP");
		l4 = l3 + (ip[0] & 0xf) * 4;
		if ((ip[0] & 0xf) < 5 || l4 + 8 > len)
			WHY("bad IPv4 header length");
		if (csum_fold16(csum_add(0, ip, l4 - l3)) != 0xffff)
			WHY("bad IPv4 header checksum");
		if (memcmp(ip + 12, qip + 16, 4) || memcmp(ip + 16, qip + 12, 4))
			WHY("IPv4 addresses not swapped");
		if (((ip[6] << 8) | ip[7]) & 0x3fff)
			WHY("IPv4 answer fragmented");
		ulen = ((ip[2] << 8) | ip[3]) - (l4 - l3);
		sum = csum_add(0, ip + 12, 8);
	}
	if (l4 + ulen != len)
		WHY("IP length says %zu bytes, frame has %zu", l4 + ulen, len);
	udp = f + l4;
	qudp = q + frame_payload(fo) - 8;
	if (memcmp(udp, qudp + 2, 2) || memcmp(udp + 2, qudp, 2))
		WHY("UDP ports not swapped");
	if (((size_t)(udp[4] << 8) | udp[5]) != ulen || ulen < 8 + 12)
		WHY("UDP length %d, IP says %zu", (udp[4] << 8) | udp[5], ulen);
	if (csum_fold16(csum_add(sum + 17 + ulen, udp, ulen)) != 0xffff)
		WHY("bad UDP checksum");
	*dns = udp + 8;
	return ulen - 8;
}

/* Flow steering: 0 if f is template t sent on to a backend (DSR: new
 * destination MAC, the PoP's as source, not one other byte changed). */
static int steered_check(const struct tpl *t, const uint8_t *f, size_t len,
			 char *why, size_t wlen)
{
	if (len != t->len)
		snprintf(why, wlen, "%zu bytes, sent %zu", len, t->len);
	else if (memcmp(f, lb_mac, 4))
		snprintf(why, wlen, "not for a backend's MAC");
	else if (memcmp(f + 6, t->frame, 6))
		snprintf(why, wlen, "not from the PoP's MAC");
	else if (memcmp(f + 12, t->frame + 12, len - 12))
		snprintf(why, wlen, "the packet changed");
	else
		return 0;
	return -1;
}

/* 0 if f is a right answer to template t, else -1 with the reason */
static int answer_check(const struct tpl *t, int idx, const uint8_t *frame,
			size_t len, int *csum_kinds, char *why, size_t wlen)
{
	ldns_rdf *qn = ldns_dname_new_frm_str(t->qname);
	uint8_t f[PSB_FRAME_MAX];
	const uint8_t *dns;
	ldns_pkt *p = NULL;
	ldns_rr *q, *a;
	int dlen, rc = -1;

	if (lb_mode) {
		ldns_rdf_deep_free(qn);
		return steered_check(t, frame, len, why, wlen);
	}
	memcpy(f, frame, len);
	*csum_kinds |= 1 << udp_csum_complete(f, len, &t->fo);
	dlen = answer_frame_check(t, f, len, &dns, why, wlen);
	if (dlen < 0)
		goto out;
	if (ldns_wire2pkt(&p, dns, dlen) != LDNS_STATUS_OK) {
		snprintf(why, wlen, "ldns cannot parse it");
		goto out;
	}
	q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	if (ldns_pkt_id(p) != (PSB_ID_BASE | idx) || !ldns_pkt_qr(p) ||
	    ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR || !q ||
	    ldns_dname_compare(ldns_rr_owner(q), qn) ||
	    (int)ldns_rr_get_type(q) != t->qtype) {
		snprintf(why, wlen, "header or question wrong");
		goto out;
	}
	if (!echo_mode) {
		a = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		if (!a || (int)ldns_rr_get_type(a) != t->qtype ||
		    ldns_dname_compare(ldns_rr_owner(a), qn)) {
			char *type = ldns_rr_type2str(t->qtype);

			snprintf(why, wlen, "no %s record for %s in the answer",
				 type ? type : "?", t->qname);
			free(type);
			goto out;
		}
	}
	rc = 0;
out:
	if (p)
		ldns_pkt_free(p);
	ldns_rdf_deep_free(qn);
	return rc;
}

static void hexdump(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n      ", p[i]);
	fprintf(stderr, "\n");
}

/* Check every sample the counter took; returns the number of bad ones.
 * The first few are shown. */
static int samples_check(int map_fd, int nslots, int *checked,
			 int *csum_kinds, bool bad_map)
{
	int ncpu = libbpf_num_possible_cpus(), bad = 0;
	struct psb_frame *v = calloc(ncpu, sizeof(*v));
	char why[256];

	if (!v)
		return 0;
	for (__u32 k = 0; k < (__u32)nslots; k++) {
		if (bpf_map_lookup_elem(map_fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++) {
			const struct psb_frame *s = &v[c];

			if (!s->len)
				continue;
			(*checked)++;
			if (s->tpl >= (__u32)ntpl) {
				snprintf(why, sizeof(why), "unknown DNS ID");
			} else if (s->len > PSB_FRAME_MAX) {
				snprintf(why, sizeof(why), "%u-byte frame", s->len);
			} else if (!answer_check(&tpls[s->tpl], s->tpl, s->data,
						 s->len, csum_kinds, why,
						 sizeof(why))) {
				if (!bad_map)
					continue;
				snprintf(why, sizeof(why),
					 "passes the full check (counter too strict?)");
			}
			if (bad++ >= BAD_SHOWN)
				continue;
			fprintf(stderr, "    %s answer to %s: %s",
				bad_map ? "invalid" : "sampled",
				s->tpl < (__u32)ntpl ? tpls[s->tpl].spec : "?", why);
			hexdump(s->data, s->len < 128 ? s->len : 128);
		}
	}
	free(v);
	return bad;
}

/* ---- counters ---------------------------------------------------------- */

static int counts_read(struct trafficgen *skel, struct psb_count *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct psb_count *v = calloc(ncpu, sizeof(*v));
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (!v || bpf_map_lookup_elem(bpf_map__fd(skel->maps.psb_counts),
				      &zero, v)) {
		free(v);
		return -1;
	}
	for (int c = 0; c < ncpu; c++) {
		sum->valid += v[c].valid;
		sum->invalid += v[c].invalid;
		sum->other += v[c].other;
	}
	free(v);
	return 0;
}

static unsigned long long sent_read(struct trafficgen *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	struct psb_gen *v = calloc(ncpu, sizeof(*v));
	unsigned long long sum = 0;
	__u32 zero = 0;

	if (v && !bpf_map_lookup_elem(bpf_map__fd(skel->maps.psb_pos), &zero, v))
		for (int c = 0; c < ncpu; c++)
			sum += v[c].sent;
	free(v);
	return sum;
}

static int ps_stats(const char *pin, __u64 out[PS_ST_MAX])
{
	struct ps_maps m;
	char err[256];
	int rc;

	if (ps_maps_open(&m, pin, err, sizeof(err))) {
		fprintf(stderr, "  popsteer maps: %s\n", err);
		return -1;
	}
	rc = ps_stats_read(&m, out);
	ps_maps_close(&m);
	return rc;
}

/* What popsteer did with the queries: any it saw and did not answer is a
 * problem of the program; frames lost before it (veth ring full) or after
 * it are the path's.  Returns 1 if it left queries unanswered. */
static int ps_stats_report(const __u64 *a, const __u64 *b,
			   unsigned long long sent, unsigned long long valid)
{
	static const char *names[] = PS_STAT_NAMES;
	unsigned long long seen, answered = 0;

	fprintf(stderr, "  popsteer counters during the run:");
	for (int i = 0; i < PS_ST_MAX; i++)
		if (b[i] != a[i])
			fprintf(stderr, " %s %llu", names[i],
				(unsigned long long)(b[i] - a[i]));
	fprintf(stderr, "\n");
	seen = b[PS_ST_QUERIES] - a[PS_ST_QUERIES];
	for (int i = PS_ST_NOERROR; i <= PS_ST_BADVERS; i++)
		answered += b[i] - a[i];
	fprintf(stderr,
		"  popsteer saw %llu of the %llu queries (%lld lost on the way in), "
		"answered %llu (%lld lost on the way back)\n",
		seen, sent, (long long)(sent - seen), answered,
		(long long)(answered - valid));
	return answered != seen;
}

static int usage(void)
{
	fprintf(stderr,
		"Usage: bench_trafficgen -i IFACE -m PEER_MAC -q NAME/TYPE[/6] [-q ...]\n"
		"         [-d SECONDS] [-n MAX_FRAMES] [-b BATCH] [-c CPU] [-e] [-N FIGURE]\n"
		"         [-p PIN_DIR]\n"
		"       bench_trafficgen -i IFACE -m PEER_MAC -L VIP:PORT -M MAC_PREFIX [-F FLOWS]\n"
		"         [-d SECONDS] [-n MAX_FRAMES] [-b BATCH] [-c CPU] [-N FIGURE]\n");
	return 1;
}

int main(int argc, char **argv)
{
	double secs = 4, t0, elapsed;
	unsigned long long max = 50000000ULL, sent = 0;
	const char *ifname = NULL, *figure = NULL, *pin = NULL;
	uint8_t smac[6], dmac[6];
	int have_dmac = 0, have_lbmac = 0, flows = PSB_TPL_MAX;
	int batch = 64, cpu = 0, opt, ifindex, rc = 1, nbad, checked = 0;
	int csum_kinds = 0, unanswered = 0;
	__u64 ps_a[PS_ST_MAX], ps_b[PS_ST_MAX];
	struct trafficgen *skel = NULL;
	struct bpf_link *link = NULL;
	uint8_t data[PSB_FRAME_MAX] = { 0 };
	size_t maxlen = 0;
	struct psb_count cnt;
	long long lost;
	cpu_set_t set;

	while ((opt = getopt(argc, argv, "i:m:q:d:n:b:c:eN:p:L:M:F:h")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'm':
			have_dmac = sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
					   &dmac[0], &dmac[1], &dmac[2], &dmac[3],
					   &dmac[4], &dmac[5]) == 6;
			break;
		case 'q':
			if (ntpl >= PSB_TPL_MAX ||
			    tpl_parse(&tpls[ntpl], optarg, ntpl)) {
				fprintf(stderr, "bad query '%s'\n", optarg);
				return usage();
			}
			ntpl++;
			break;
		case 'd': secs = atof(optarg); break;
		case 'n': max = strtoull(optarg, NULL, 0); break;
		case 'b': batch = atoi(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		case 'e': echo_mode = 1; break;
		case 'N': figure = optarg; break;
		case 'p': pin = optarg; break;
		case 'L': {
			char *colon = strrchr(optarg, ':');
			struct in_addr a;

			lb_mode = 1;
			if (!colon || colon - optarg >= (int)sizeof(lb_vip))
				return usage();
			memcpy(lb_vip, optarg, colon - optarg);
			lb_vip[colon - optarg] = 0;
			lb_port = atoi(colon + 1);
			if (inet_pton(AF_INET, lb_vip, &a) != 1 || !lb_port)
				return usage();
			break;
		}
		case 'M':
			have_lbmac = sscanf(optarg, "%hhx:%hhx:%hhx:%hhx", &lb_mac[0],
					    &lb_mac[1], &lb_mac[2], &lb_mac[3]) == 4;
			break;
		case 'F': flows = atoi(optarg); break;
		default: return usage();
		}
	}
	if (lb_mode) {
		if (ntpl || echo_mode || pin || !have_lbmac || flows < 1 ||
		    flows > PSB_TPL_MAX)
			return usage();
		ntpl = flows;
	}
	/* every run is bounded in time and in frames */
	if (!ifname || !have_dmac || !ntpl || !(secs > 0 && secs <= 60) ||
	    !max || max > UINT32_MAX ||
	    batch < 1 || batch > 256)
		return usage();
	ifindex = if_nametoindex(ifname);
	if (!ifindex || if_mac(ifname, smac)) {
		fprintf(stderr, "bench_trafficgen: no interface %s\n", ifname);
		return 1;
	}
	for (int i = 0; i < ntpl; i++) {
		if ((lb_mode ? tpl_build_lb : tpl_build)(&tpls[i], i, smac, dmac)) {
			fprintf(stderr, "bench_trafficgen: cannot build query %s\n",
				tpls[i].spec);
			return 1;
		}
		if (tpls[i].len > maxlen)
			maxlen = tpls[i].len;
	}

	skel = trafficgen__open_and_load();
	if (!skel) {
		fprintf(stderr, "bench_trafficgen: cannot load BPF programs: %s\n",
			strerror(errno));
		return 1;
	}
	if (maps_fill(skel)) {
		fprintf(stderr, "bench_trafficgen: cannot fill maps: %s\n",
			strerror(errno));
		goto out;
	}
	/* a link: detached when we exit, whatever happens */
	link = bpf_program__attach_xdp(skel->progs.psb_count, ifindex);
	if (!link) {
		fprintf(stderr, "bench_trafficgen: cannot attach the counter to %s: %s\n",
			ifname, strerror(errno));
		goto out;
	}
	if (pin && ps_stats(pin, ps_a))
		pin = NULL;

	/* The generator and, through softirqs it raises, both veth ends' XDP
	 * programs run on this CPU. */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "  cannot pin to CPU %d: %s\n", cpu, strerror(errno));
	{
		/* data_in only sizes the frame: psb_gen writes every byte */
		struct xdp_md ctx = {
			.data = 0,
			.data_end = maxlen,
			.ingress_ifindex = ifindex,
			.rx_queue_index = 0,
		};
		LIBBPF_OPTS(bpf_test_run_opts, run,
			    .data_in = data,
			    .data_size_in = maxlen,
			    .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .repeat = max,
			    .batch_size = batch);
		struct itimerval deadline = {
			.it_value.tv_sec = (time_t)secs,
			.it_value.tv_usec = (secs - (time_t)secs) * 1e6,
		};
		/* no SA_RESTART: the signal must end the syscall */
		struct sigaction sa = { .sa_handler = on_signal };

		sigaction(SIGALRM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		/*
		 * One call for the whole run: a live BPF_PROG_RUN call costs
		 * about 25 ms on its own here, so calls short enough to stop
		 * on time would halve the rate.  The kernel checks for
		 * signals between batches: the deadline timer ends the call
		 * with EINTR, MAX_FRAMES bounds it otherwise.
		 */
		t0 = now();
		if (setitimer(ITIMER_REAL, &deadline, NULL)) {
			fprintf(stderr, "bench_trafficgen: setitimer: %s\n",
				strerror(errno));
			goto out;
		}
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.psb_gen),
					   &run) && errno != EINTR) {
			fprintf(stderr, "bench_trafficgen: BPF_PROG_RUN: %s\n",
				strerror(errno));
			goto out;
		}
		elapsed = (stopped ? ts_sec(&t_stop) : now()) - t0;
		setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
		sent = sent_read(skel);
	}
	if (stopped && stopped != SIGALRM) {
		fprintf(stderr, "bench_trafficgen: interrupted\n");
		goto out;
	}
	/* answers still on their way (servers with queues, e.g. sockets) */
	usleep(DRAIN_MS * 1000);

	if (counts_read(skel, &cnt)) {
		fprintf(stderr, "bench_trafficgen: cannot read counters\n");
		goto out;
	}
	lost = (long long)sent - (long long)cnt.valid - (long long)cnt.invalid;
	fprintf(stderr,
		"  sent %llu %s in %.2f s (%.2f M/s, %d %s, batch %d, CPU %d)\n"
		"  %s: %llu valid (%.2f %% of sent), %llu invalid, %lld missing; %llu other frames\n",
		sent, lb_mode ? "datagrams" : "queries", elapsed, sent / elapsed / 1e6,
		ntpl, lb_mode ? "flows" : "names", batch, cpu,
		lb_mode ? "steered back" : "answers",
		(unsigned long long)cnt.valid, 100.0 * cnt.valid / sent,
		(unsigned long long)cnt.invalid, lost,
		(unsigned long long)cnt.other);
	nbad = samples_check(bpf_map__fd(skel->maps.psb_samples), PSB_SAMPLES,
			     &checked, &csum_kinds, false);
	fprintf(stderr, "  full check of %d sampled valid %s: %d wrong%s%s\n",
		checked, lb_mode ? "frames" : "answers", nbad,
		csum_kinds & 2 ? "; IPv4 answers without UDP checksum (allowed)" : "",
		csum_kinds & 4 ? "; UDP checksums left to offload (veth does not complete them)" : "");
	if (cnt.invalid) {
		int n = 0;

		fprintf(stderr, "  first invalid answers:\n");
		samples_check(bpf_map__fd(skel->maps.psb_bad), PSB_BAD_SAMPLES,
			      &n, &csum_kinds, true);
	}
	if (pin && !ps_stats(pin, ps_b))
		unanswered = ps_stats_report(ps_a, ps_b, sent, cnt.valid);

	if (!cnt.valid || elapsed <= 0) {
		fprintf(stderr, "bench_trafficgen: no valid answer\n");
		goto out;
	}
	if (figure) {
		printf("%s: %.0f pps\n", figure, cnt.valid / elapsed);
		fflush(stdout);
	}
	rc = (nbad || cnt.invalid || unanswered) ? 3 : 0;
out:
	bpf_link__destroy(link);
	trafficgen__destroy(skel);
	return rc;
}
