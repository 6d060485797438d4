/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF-only: 2-, 4- and 8-byte loads and stores at addresses of unknown
 * alignment, as single instructions.  clang splits any access it cannot
 * prove aligned into single bytes for the BPF target (eight loads, shifts
 * and ors for a u64); the verifier allows unaligned access unless
 * BPF_F_STRICT_ALIGNMENT is set, and the x86-64 and arm64 JITs emit plain
 * unaligned moves.
 *
 * Loads clobber "memory" so they see earlier plain stores; stores do not,
 * so the compiler may keep other values in registers across them (worth
 * ~10 ns a query): code that reads back with plain loads what ps_st*()
 * wrote must put a ps_mem_barrier() in between.
 */
#ifndef PS_BPF_MEM_H
#define PS_BPF_MEM_H

#include <linux/types.h>

#define PS_LD(bits)							\
static __always_inline __u##bits ps_ld##bits(const void *p)		\
{									\
	__u##bits v;							\
									\
	asm volatile("%[v] = *(u" #bits " *)(%[p] + 0)"			\
		     : [v] "=r"(v) : [p] "r"(p) : "memory");		\
	return v;							\
}

#define PS_ST(bits)							\
static __always_inline void ps_st##bits(void *p, __u##bits v)		\
{									\
	asm volatile("*(u" #bits " *)(%[p] + 0) = %[v]"			\
		     : : [p] "r"(p), [v] "r"(v));			\
}

/* The same at p + off, off a constant: one instruction, where p + off
 * passed to the forms above costs an addition into another register
 * first. */
#define PS_LD_AT(bits)							\
static __always_inline __u##bits ps_ld##bits##_at(const void *p, int off)\
{									\
	__u##bits v;							\
									\
	asm volatile("%[v] = *(u" #bits " *)(%[p] + %[o])"		\
		     : [v] "=r"(v) : [p] "r"(p), [o] "i"(off) : "memory");\
	return v;							\
}

#define PS_ST_AT(bits)							\
static __always_inline void ps_st##bits##_at(void *p, int off, __u##bits v)\
{									\
	asm volatile("*(u" #bits " *)(%[p] + %[o]) = %[v]"		\
		     : : [p] "r"(p), [o] "i"(off), [v] "r"(v));		\
}

#define ps_mem_barrier()	asm volatile("" ::: "memory")

PS_LD(16)
PS_LD(32)
PS_LD(64)
PS_ST(16)
PS_ST(32)
PS_ST(64)
PS_LD_AT(16)
PS_LD_AT(32)
PS_LD_AT(64)
PS_ST_AT(16)
PS_ST_AT(32)
PS_ST_AT(64)

#endif
