/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal test reporting shared by the C test programs: each test prints
 * "PASS name" / "FAIL name: why" / "SKIP name: why"; tests/run.sh counts
 * the lines.
 */
#ifndef PS_CHECK_H
#define PS_CHECK_H

#include <stdio.h>
#include <string.h>

struct ps_check {
	const char *test;
	int failed;
	char why[2048];
	int npass, nfail, nskip;
};

extern struct ps_check ps_chk;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond) && !ps_chk.failed) {			\
			int _n = snprintf(ps_chk.why, sizeof(ps_chk.why), \
					  "%s:%d: ", __FILE__, __LINE__); \
			snprintf(ps_chk.why + _n, sizeof(ps_chk.why) - _n, \
				 __VA_ARGS__);				\
			ps_chk.failed = 1;				\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	CHECK((long long)(a) == (long long)(b), "%s == %lld, expected %s == %lld", \
	      #a, (long long)(a), #b, (long long)(b))

static inline void check_begin(const char *name)
{
	ps_chk.test = name;
	ps_chk.failed = 0;
	ps_chk.why[0] = 0;
}

static inline int check_end(void)
{
	if (ps_chk.failed) {
		printf("FAIL %s: %s\n", ps_chk.test, ps_chk.why);
		ps_chk.nfail++;
	} else {
		printf("PASS %s\n", ps_chk.test);
		ps_chk.npass++;
	}
	fflush(stdout);
	return ps_chk.failed;
}

static inline void check_skip(const char *name, const char *why)
{
	printf("SKIP %s: %s\n", name, why);
	ps_chk.nskip++;
}

#define CHECK_DEFINE struct ps_check ps_chk

#endif
