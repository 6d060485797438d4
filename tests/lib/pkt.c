// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "steer.skel.h"
#include "conf.h"
#include "build.h"
#include "maps.h"
#include "pkt.h"

static const uint8_t mac_src[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

uint16_t csum_fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

size_t frame_l3(const struct frame_opts *o)
{
	return 14 + 4 * o->vlans;
}

size_t frame_payload(const struct frame_opts *o)
{
	return frame_l3(o) + (o->family == 6 ? 40 : 20 + o->ip_opts) + 8;
}

size_t frame_build(uint8_t *out, const struct frame_opts *o,
		   const uint8_t *payload, size_t len)
{
	const char *src = o->src ? o->src : o->family == 6 ? "2001:2::2" : "198.18.0.2";
	const char *dst = o->dst ? o->dst : o->family == 6 ? "2001:2::1" : "198.18.0.1";
	size_t l3 = frame_l3(o), l4, off = 12;

	if (o->ip_opts % 4 || o->ip_opts > 40 || o->vlans > 3) {
		fprintf(stderr, "frame_build: bad options\n");
		abort();
	}
	uint16_t udp_len = 8 + len;
	uint32_t sum;
	uint8_t *ip, *udp;

	memcpy(out, mac_dst, 6);
	memcpy(out + 6, mac_src, 6);
	for (int i = 0; i < o->vlans; i++) {
		put16(out + off, i == 0 && o->vlans > 1 ? ETH_P_8021AD : ETH_P_8021Q);
		put16(out + off + 2, 100 + i);
		off += 4;
	}
	put16(out + off, o->family == 6 ? ETH_P_IPV6 : ETH_P_IP);
	ip = out + l3;
	if (o->family == 6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, udp_len);
		ip[6] = 17;
		ip[7] = 64;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, dst, ip + 24);
		l4 = l3 + 40;
	} else {
		size_t ihl = 20 + o->ip_opts;

		memset(ip, 0, ihl);
		ip[0] = 0x40 | (ihl / 4);
		put16(ip + 2, ihl + udp_len);
		put16(ip + 4, 0x1234);
		ip[8] = 64;
		ip[9] = 17;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		for (int i = 0; i < o->ip_opts; i++)
			ip[20 + i] = 1;		/* NOP options */
		put16(ip + 10, ~csum_fold16(csum_add(0, ip, ihl)) ^
			       (o->bad_ip_csum ? 0x0101 : 0));
		l4 = l3 + ihl;
	}
	udp = out + l4;
	put16(udp, o->sport ? o->sport : 40000);
	put16(udp + 2, o->dport ? o->dport : 53);
	put16(udp + 4, udp_len);
	put16(udp + 6, 0);
	memcpy(udp + 8, payload, len);
	if (!o->no_udp_csum) {
		if (o->family == 6) {
			sum = csum_add(0, ip + 8, 32);
			sum += udp_len + 17;
		} else {
			sum = csum_add(0, ip + 12, 8);
			sum += udp_len + 17;
		}
		sum = csum_add(sum, udp, udp_len);
		sum = (uint16_t)~csum_fold16(sum);
		put16(udp + 6, sum ? sum : 0xffff);
	}
	memset(udp + udp_len, 0, o->pad);
	return l4 + udp_len + o->pad;
}

#define WHY(...) do { snprintf(why, wlen, __VA_ARGS__); return -1; } while (0)

int reply_check(const uint8_t *q, size_t qlen, const struct frame_opts *o,
		const uint8_t *r, size_t rlen, const uint8_t **dns,
		char *why, size_t wlen)
{
	size_t l3 = frame_l3(o), l4;
	const uint8_t *ip = r + l3, *qip = q + l3, *udp, *qudp;
	uint16_t udp_len;
	uint32_t sum;

	/* shortest reply: IPv4, UDP, header and the root's question */
	if (rlen < l3 + (o->family == 6 ? 40 : 20) + 8 + 17)
		WHY("reply of %zu bytes is too short", rlen);
	if (memcmp(r, q + 6, 6) || memcmp(r + 6, q, 6))
		WHY("MAC addresses not swapped");
	if (memcmp(r + 12, q + 12, l3 - 12))
		WHY("VLAN tags/ethertype changed");
	if (o->family == 6) {
		if ((ip[0] >> 4) != 6 || ip[6] != 17)
			WHY("not IPv6/UDP");
		if (memcmp(ip + 8, qip + 24, 16) || memcmp(ip + 24, qip + 8, 16))
			WHY("IPv6 addresses not swapped");
		if (ip[7] != 64)
			WHY("IPv6 hop limit %d, expected 64", ip[7]);
		if (memcmp(ip, qip, 4))
			WHY("IPv6 traffic class/flow label not echoed");
		udp_len = (ip[4] << 8) | ip[5];
		l4 = l3 + 40;
		sum = csum_add(0, ip + 8, 32) + udp_len + 17;
	} else {
		if (ip[0] != 0x45)
			WHY("IPv4 version/IHL byte 0x%02x, expected 0x45", ip[0]);
		if (ip[9] != 17)
			WHY("IPv4 protocol %d", ip[9]);
		if (csum_fold16(csum_add(0, ip, 20)) != 0xffff)
			WHY("bad IPv4 header checksum");
		if (memcmp(ip + 12, qip + 16, 4) || memcmp(ip + 16, qip + 12, 4))
			WHY("IPv4 addresses not swapped");
		if (((ip[6] << 8) | ip[7]) & 0x3fff)
			WHY("IPv4 reply fragmented?");
		if (ip[8] != 64)
			WHY("IPv4 TTL %d, expected 64", ip[8]);
		udp_len = ((ip[2] << 8) | ip[3]) - 20;
		l4 = l3 + 20;
		sum = csum_add(0, ip + 12, 8) + udp_len + 17;
	}
	if (l4 + udp_len != rlen)
		WHY("IP length says %zu bytes, frame has %zu", l4 + udp_len, rlen);
	udp = r + l4;
	qudp = q + frame_payload(o) - 8;
	if (memcmp(udp, qudp + 2, 2) || memcmp(udp + 2, qudp, 2))
		WHY("UDP ports not swapped");
	if (((udp[4] << 8) | udp[5]) != udp_len)
		WHY("UDP length %d, IP says %d", (udp[4] << 8) | udp[5], udp_len);
	if (udp[6] == 0 && udp[7] == 0)
		WHY("UDP checksum missing");
	if (csum_fold16(csum_add(sum, udp, udp_len)) != 0xffff)
		WHY("bad UDP checksum");
	*dns = udp + 8;
	return udp_len - 8;
}

int prog_setup(struct ps_prog *p, const char *config_text)
{
	struct bpf_map *map;
	int rc;

	memset(p, 0, sizeof(*p));
	p->skel = steer__open();
	if (!p->skel) {
		fprintf(stderr, "steer__open: %s\n", strerror(errno));
		return -1;
	}
	/* nothing pinned: tests never touch a running data plane */
	bpf_object__for_each_map(map, p->skel->obj)
		bpf_map__set_pin_path(map, NULL);
	rc = steer__load(p->skel);
	if (rc) {
		fprintf(stderr, "steer__load: %s\n", strerror(-rc));
		return -1;
	}
	p->prog_fd = bpf_program__fd(p->skel->progs.xdp_steer);
	p->maps = calloc(1, sizeof(*p->maps));
	if (!p->maps || ps_maps_from_object(p->maps, p->skel->obj))
		return -1;
	return prog_reconfig(p, config_text);
}

int prog_reconfig(struct ps_prog *p, const char *config_text)
{
	struct ps_sync_report rep;
	struct ps_conf conf;
	struct ps_image img;
	char err[PS_ERR_MAX];
	int rc;

	if (ps_conf_load_string(&conf, config_text, "test.conf", err,
				sizeof(err))) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	rc = ps_image_build(&img, &conf);
	if (!rc)
		rc = ps_maps_sync(p->maps, &img, &rep);
	ps_image_free(&img);
	ps_conf_free(&conf);
	if (rc)
		fprintf(stderr, "sync: %s\n", strerror(-rc));
	return rc;
}

void prog_teardown(struct ps_prog *p)
{
	free(p->maps);
	steer__destroy(p->skel);
	memset(p, 0, sizeof(*p));
}

int prog_run(struct ps_prog *p, const uint8_t *in, size_t len, uint8_t *out,
	     size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, t,
		    .data_in = in,
		    .data_size_in = len,
		    .data_out = out,
		    .data_size_out = FRAME_MAX,
		    .repeat = 1);
	int rc = bpf_prog_test_run_opts(p->prog_fd, &t);

	*out_len = 0;
	if (rc)
		return -errno;
	*out_len = t.data_size_out;
	return t.retval;
}
