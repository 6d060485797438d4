/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Benchmarks: map layouts shared by the bench BPF programs and the C
 * programs that drive them.  Only <linux/types.h>, so the header builds for
 * the BPF target and for the host alike.
 */
#ifndef PSB_BENCH_H
#define PSB_BENCH_H

#include <linux/types.h>

/* Largest frame the bench programs copy (queries and sampled replies). */
#define PSB_FRAME_MAX		512
/* Shortest frame they accept: Ethernet + IPv4 + UDP + DNS header. */
#define PSB_FRAME_MIN		54

/* One frame: psb_orig of the test-run wrapper, the generator's templates
 * and the counter's samples. */
struct psb_frame {
	__u32 len;
	__u32 tpl;		/* samples: template index the reply is for */
	__u8  data[PSB_FRAME_MAX];
};

/* ---- flow steering under BPF_PROG_TEST_RUN (psb_restore_lb) ------------ */

/* Most bytes the program under test may push in front of the frame (an
 * IP-in-IP header: 20 or 40); the wrapper takes them off again. */
#define PSB_PUSH_MAX		64

/* psb_vary[0]: on, each repeat is a new flow: the source port and the low
 * 16 bits of the source address take the next value of a 32-bit counter
 * (4e9 flows before one repeats).  Off, the same two fields are written
 * with their original values, so the wrapper costs the same either way. */
struct psb_vary {
	__u32 on;
	__u32 n;		/* flows made so far */
	__u16 port_off;		/* offset of the source port in the frame */
	__u16 addr_off;		/* offset of the source address's last 2 bytes */
	__be16 port0, addr0;	/* their values in psb_orig */
	/* 1: restore the whole frame first (a program that pushes headers
	 * or rewrites more than MACs); 0: only the flow fields are written,
	 * for programs that leave the rest as it was (DSR) */
	__u32 restore;
	__u32 pad;
};

/* psb_floor_dns[0]: the one name the DNS floor answers (psb_dns_floor) */
struct psb_floor_dns {
	__u64 name[3];		/* wire bytes 0..18 (the last word's 3 low bytes) */
	__be32 addr4;		/* its answer */
	__u32 pad;
};

/* ---- live-frames generator and answer counter -------------------------- */

#define PSB_TPL_MAX		64	/* query templates */
/* DNS IDs of the queries: PSB_ID_BASE | template index, so a reply names
 * the query it answers. */
#define PSB_ID_BASE		0xd000
#define PSB_ID_MASK		0xff00

/* What a valid answer to template i looks like (psb_expect[i]). */
struct psb_expect {
	__u8  family;		/* 4 or 6 */
	__u8  rcode;		/* expected RCODE (low 4 bits) */
	__u16 min_an;		/* answer records at least */
	__be16 cport;		/* client UDP port of the query */
	__be16 sport;		/* server UDP port */
	__u8  server[16];	/* source address of the answer (IPv4: 4 bytes) */
};

/* psb_gcfg[0] */
struct psb_gcfg {
	__u32 ntpl;		/* templates in use */
	__u32 sample_every;	/* sample one valid answer in this many */
	/* flow steering mode: the frames are UDP datagrams to a VIP, one
	 * flow per template (client port PSB_LB_PORT + index); what counts
	 * is the same datagram coming back, sent on by the PoP (DSR: to a
	 * backend's MAC, whose first bytes are lb_mac) */
	__u32 lb;
	__u8  lb_mac[4];
};

#define PSB_LB_PORT		40000

/* Per-CPU state of the generator (psb_pos[0]). */
struct psb_gen {
	__u32 pos;		/* next template */
	__u32 pad;
	__u64 sent;		/* frames sent (XDP_TX) */
};

/* Per-CPU counts of the client veth (psb_counts[0]). */
struct psb_count {
	__u64 valid;		/* answers matching their query's psb_expect */
	__u64 invalid;		/* DNS replies from the server port that don't */
	__u64 other;		/* everything else, left to the stack */
	__u32 countdown;	/* valid answers until the next sample */
	__u32 nsampled;
};

/* One valid answer in sample_every is copied to psb_samples (a ring), and
 * the first invalid ones to psb_bad, for userspace to check them in full
 * (checksums, decoding) after the run.  sample_every should be prime to
 * the number of templates, so that the samples cover all of them. */
#define PSB_SAMPLES		64
#define PSB_BAD_SAMPLES		8

#endif
