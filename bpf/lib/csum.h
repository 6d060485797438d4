/* SPDX-License-Identifier: GPL-2.0-only */
/* BPF-only: Internet checksum helpers (RFC 1071). */
#ifndef PS_BPF_CSUM_H
#define PS_BPF_CSUM_H

#include <linux/types.h>

static __always_inline __u16 ps_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The same for a sum below 2^40 (a few dozen 32-bit words): three 16-bit
 * folds are enough (< 2^24 + 2^16, then <= 0x100ff, then <= 0xffff). */
static __always_inline __u16 ps_csum_fold40(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Sum of an IPv4 header without options, in memory order. */
static __always_inline __u64 ps_csum_ip4(const __u16 *h)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += h[i];
	return sum;
}

#endif
