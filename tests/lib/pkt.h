/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test helpers: build Ethernet/VLAN/IP/UDP frames around a DNS message,
 * check the checksums and addresses of a reply, and run the real compiled
 * steer program through BPF_PROG_TEST_RUN with its maps filled from a
 * config text by the same code steerd uses.
 */
#ifndef PS_TEST_PKT_H
#define PS_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 4096

struct frame_opts {
	int family;		/* 4 or 6 */
	int vlans;		/* 0..3 tags (802.1ad outer, 802.1Q inner) */
	int ip_opts;		/* IPv4 option bytes (multiple of 4, <= 40) */
	const char *src, *dst;	/* addresses (defaults per family) */
	uint16_t sport, dport;	/* defaults 40000, 53 */
	bool bad_ip_csum;	/* corrupt the IPv4 header checksum */
	bool no_udp_csum;	/* send UDP checksum 0 */
	int pad;		/* Ethernet padding bytes after the IP packet */
};

/* Build a frame; returns its length. */
size_t frame_build(uint8_t *out, const struct frame_opts *o,
		   const uint8_t *payload, size_t len);

/* Offsets into a frame built with the same options. */
size_t frame_l3(const struct frame_opts *o);
size_t frame_payload(const struct frame_opts *o);

/*
 * Check a reply to a query frame: MACs swapped, VLAN tags kept, an IPv4
 * header without options and a valid checksum (or IPv6), addresses and
 * ports swapped, lengths consistent, a valid UDP checksum.  On success
 * points *dns at the DNS message and returns its length; on failure
 * returns -1 with a reason in why.
 */
int reply_check(const uint8_t *query, size_t qlen, const struct frame_opts *o,
		const uint8_t *reply, size_t rlen, const uint8_t **dns,
		char *why, size_t wlen);

/* RFC 1071 sum of a buffer, not folded */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold16(uint32_t sum);

/* ---- the program under test ---- */
struct ps_prog {
	struct steer *skel;
	int prog_fd;
	struct ps_maps *maps;
};

/* Load build/bpf/steer object (skeleton, nothing pinned) and fill its
 * maps from config text.  Returns 0 or -1 with a message on stderr. */
int prog_setup(struct ps_prog *p, const char *config_text);
/* Refill maps from another config (same program). */
int prog_reconfig(struct ps_prog *p, const char *config_text);
void prog_teardown(struct ps_prog *p);

/* One BPF_PROG_TEST_RUN; returns the XDP verdict or -errno. */
int prog_run(struct ps_prog *p, const uint8_t *in, size_t len, uint8_t *out,
	     size_t *out_len);

#endif
