// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of the userspace library: build/tests/unit_tests [filter] */
#include <string.h>

#include "unit.h"

CHECK_DEFINE;

int main(int argc, char **argv)
{
	const struct unit_case *tables[] = { conf_cases, sel_cases,
					     build_cases, score_cases,
					     maglev_cases };

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct unit_case *c = tables[t]; c->name; c++) {
			if (argc > 1 && !strstr(c->name, argv[1]))
				continue;
			if (c->self) {
				c->fn();
				continue;
			}
			check_begin(c->name);
			c->fn();
			check_end();
		}
	return ps_chk.nfail ? 1 : 0;
}
