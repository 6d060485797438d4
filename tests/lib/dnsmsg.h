/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test helpers: DNS query messages, built by ldns (query_wire) or by hand
 * for hostile input (raw_msg, append, add_opt, long_qname).
 */
#ifndef PS_TEST_DNSMSG_H
#define PS_TEST_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_MAX 1024

/* a string literal as bytes and length, without its NUL */
#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

/* DNS header fields: byte offsets, flag bits */
enum { H_FLAGS = 2, H_QD = 4, H_AN = 6, H_NS = 8, H_AR = 10 };
#define F_QR		0x8000
#define F_OPCODE(n)	((n) << 11)
#define F_AA		0x0400
#define F_TC		0x0200
#define F_RD		0x0100
#define F_CD		0x0010

/* wire pieces of hand-made messages */
#define WWW_QNAME	"\x03www\x04shop\x07" "example\x00"
#define SHOP_SUFFIX	"\x04shop\x07" "example\x00"
#define QTAIL_A_IN	"\x00\x01\x00\x01"
#define A_RDATA		"\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x12\x01\x0a"
#define RR_A		"\xc0\x0c" A_RDATA	/* owner: the question name */
#define RR_A_ROOT	"\x00" A_RDATA

struct query {
	const char *name;
	int type;		/* default A */
	int class;		/* default IN */
	int edns;		/* 1: add OPT */
	int edns_size;		/* default 1232 */
	int edns_version;
	int edns_do;
	uint16_t id;		/* default 0x4242 */
	int rd;			/* 1: set RD (default 1, -1: clear) */
	int cd;			/* 1: set CD */
};

void put16(uint8_t *p, uint16_t v);
uint16_t get16(const uint8_t *p);
/* The DNS message of q, built by ldns; returns its length. */
size_t query_wire(const struct query *q, uint8_t *out, size_t cap);
/* Header (id 0x4242, RD, QDCOUNT 1), then body. */
size_t raw_msg(uint8_t *out, const uint8_t *body, size_t n);
size_t append(uint8_t *msg, size_t len, const uint8_t *bytes, size_t n);
/* An OPT claiming rdlen bytes of RDATA, n of them present; ARCOUNT + 1. */
size_t add_opt(uint8_t *msg, size_t len, int version, uint16_t rdlen,
	       const uint8_t *rdata, size_t n);
/* A name under shop.example of exactly wire bytes, labels of lab bytes. */
size_t long_qname(uint8_t *out, size_t wire, size_t lab);
/* Offset after the question of a message whose QNAME has no pointers. */
size_t question_end(const uint8_t *msg);

#endif
