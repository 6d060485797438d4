/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PS_UNIT_H
#define PS_UNIT_H

#include "check.h"

struct unit_case {
	const char *name;
	void (*fn)(void);
	int self;	/* fn reports its own PASS/FAIL lines (a table) */
};

#define UNIT_TABLE(var) const struct unit_case var[]
#define UNIT_END { NULL, NULL }

extern const struct unit_case conf_cases[], sel_cases[], build_cases[],
	score_cases[], maglev_cases[];

#endif
