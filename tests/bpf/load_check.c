// SPDX-License-Identifier: GPL-2.0-only
/*
 * Load every program of BPF object files through the kernel verifier,
 * pinning nothing, and report one PASS/FAIL line per object with the
 * verifier's instruction count.
 *   load_check NAME-PREFIX OBJ...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

static char log_buf[1 << 20];

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	libbpf_set_print(quiet);
	for (int i = 2; i < argc; i++) {
		struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
		const char *base = strrchr(argv[i], '/');
		struct bpf_program *prog;
		struct bpf_map *map;
		int err;

		base = base ? base + 1 : argv[i];
		if (!obj) {
			printf("FAIL %s_%s: cannot open: %s\n", argv[1], base,
			       strerror(errno));
			failed = 1;
			continue;
		}
		bpf_object__for_each_map(map, obj)
			bpf_map__set_pin_path(map, NULL);
		bpf_object__for_each_program(prog, obj) {
			bpf_program__set_log_buf(prog, log_buf, sizeof(log_buf));
			bpf_program__set_log_level(prog, 4);	/* stats */
		}
		log_buf[0] = 0;
		err = bpf_object__load(obj);
		if (err) {
			size_t n = strlen(log_buf);

			printf("FAIL %s_%s: verifier: %s\n%s\n", argv[1], base,
			       strerror(-err), n > 2000 ? log_buf + n - 2000 : log_buf);
			failed = 1;
		} else {
			const char *p = strstr(log_buf, "processed ");

			printf("PASS %s_%s (%.*s)\n", argv[1], base,
			       p ? (int)strcspn(p, "(") - 1 : 0, p ? p : "");
		}
		bpf_object__close(obj);
	}
	return failed;
}
