// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ldns/ldns.h>

#include "dnsmsg.h"

void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

uint16_t get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

/* DNS message for q, built by ldns; returns length. */
size_t query_wire(const struct query *q, uint8_t *out, size_t cap)
{
	ldns_rdf *name = ldns_dname_new_frm_str(q->name);
	ldns_pkt *pkt;
	uint8_t *wire;
	size_t len;

	pkt = ldns_pkt_query_new(name, q->type ? q->type : LDNS_RR_TYPE_A,
				 q->class ? q->class : LDNS_RR_CLASS_IN,
				 q->rd < 0 ? 0 : LDNS_RD);
	ldns_pkt_set_id(pkt, q->id ? q->id : 0x4242);
	ldns_pkt_set_cd(pkt, q->cd);
	if (q->edns) {
		ldns_pkt_set_edns_udp_size(pkt, q->edns_size ? q->edns_size : 1232);
		ldns_pkt_set_edns_version(pkt, q->edns_version);
		ldns_pkt_set_edns_do(pkt, q->edns_do);
	}
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK || len > cap) {
		fprintf(stderr, "ldns_pkt2wire failed\n");
		exit(2);
	}
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(pkt);
	return len;
}

/* A query message by hand: header (id 0x4242, RD, QDCOUNT 1), then body. */
size_t raw_msg(uint8_t *out, const uint8_t *body, size_t n)
{
	memset(out, 0, 12);
	put16(out, 0x4242);
	put16(out + H_FLAGS, F_RD);
	put16(out + H_QD, 1);
	memcpy(out + 12, body, n);
	return 12 + n;
}

size_t append(uint8_t *msg, size_t len, const uint8_t *bytes, size_t n)
{
	memcpy(msg + len, bytes, n);
	return len + n;
}

/* Append an OPT record (UDP size 1232) claiming rdlen bytes of RDATA, with
 * n bytes of it actually present, and count it in ARCOUNT. */
size_t add_opt(uint8_t *msg, size_t len, int version, uint16_t rdlen,
	       const uint8_t *rdata, size_t n)
{
	uint8_t opt[11] = { 0, 0, 41, 1232 >> 8, 1232 & 0xff, 0, version };

	put16(opt + 9, rdlen);
	put16(msg + H_AR, get16(msg + H_AR) + 1);
	return append(msg, append(msg, len, opt, sizeof(opt)), rdata, n);
}

/* A wire name under shop.example of exactly wire bytes, labels of lab
 * bytes and a shorter last one (lengths that leave a 1-byte tail are not
 * supported). */
size_t long_qname(uint8_t *out, size_t wire, size_t lab)
{
	size_t rest = wire - (sizeof(SHOP_SUFFIX) - 1), off = 0;

	while (rest) {
		size_t n = rest > lab + 1 ? lab : rest - 1;

		out[off] = n;
		memset(out + off + 1, 'a', n);
		off += n + 1;
		rest -= n + 1;
	}
	memcpy(out + off, SHOP_SUFFIX, sizeof(SHOP_SUFFIX) - 1);
	return off + sizeof(SHOP_SUFFIX) - 1;
}

/* Offset just past the question of a message whose name has no
 * pointers. */
size_t question_end(const uint8_t *msg)
{
	size_t off = 12;

	while (msg[off])
		off += msg[off] + 1;
	return off + 5;
}
