/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DNS answers in userspace, by the rules of the XDP fast path
 * (bpf/lib/dns.h) and from the same maps, so that a query answered here
 * (over TCP, or over UDP after XDP passed it to the stack) gets what XDP
 * would have sent.  Whatever XDP answers, the UDP reply built here is the
 * same DNS message byte for byte; what XDP leaves to the stack gets a
 * proper answer (NOTIMP, FORMERR, REFUSED, SERVFAIL, RFC 8482 ANY).
 *
 * The maps are read with one syscall per value and no lock: call this
 * from the thread that runs ps_maps_sync() (steerd's event loop), or
 * accept that a query racing a sync may mix old and new values.
 */
#ifndef PS_ANSWER_H
#define PS_ANSWER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "maps.h"

/* A reply buffer of this size always suffices: question (259 bytes) and
 * the largest section the maps can hold (NS RRset) stay under it. */
#define PS_ANSWER_MAX	PS_MSG_MAX

struct ps_answer_opts {
	/*
	 * Random source of pools that pick their slot at random (only the
	 * low 8 bits are used).  NULL: a per-thread generator seeded once
	 * from getrandom().  Tests set it to replay the slot XDP picked.
	 */
	uint32_t (*rand32)(void *arg);
	void *rand_arg;
};

/*
 * Answer one DNS message as the XDP program does, from the same maps.
 *   query/qlen  the DNS message (no IP/UDP/TCP framing)
 *   client      the client's address (struct sockaddr_in or _in6; an
 *               IPv4-mapped IPv6 address counts as IPv4, as XDP saw it):
 *               hash pools pick the slot XDP would pick for it
 *   tcp         1: over TCP (limit 65535 bytes, never TC); 0: UDP (same
 *               limit and TC rule as XDP)
 * Returns the reply length, 0 if nothing must be sent, -errno on error
 * (-ENOSPC: cap too small, -EAFNOSUPPORT: client not IPv4/IPv6, or a
 * failed map read).
 */
int ps_answer(const struct ps_maps *m, const uint8_t *query, size_t qlen,
	      const struct sockaddr *client, int tcp, uint8_t *out, size_t cap);

/* The same with options (o may be NULL). */
int ps_answer_ex(const struct ps_maps *m, const struct ps_answer_opts *o,
		 const uint8_t *query, size_t qlen,
		 const struct sockaddr *client, int tcp, uint8_t *out,
		 size_t cap);

#endif
