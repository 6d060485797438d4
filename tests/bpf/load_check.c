// SPDX-License-Identifier: GPL-2.0-only
/*
 * Load every program of BPF object files through the kernel verifier,
 * pinning nothing, and report one PASS/FAIL line per object with the
 * verifier's instruction count.
 *   load_check NAME-PREFIX OBJ...
 * With PS_VERIFIER_LOG=FILE set, the verifier's full log (level 1 and
 * stats, up to 512 MiB) of the last object goes to FILE: count how often
 * each instruction was processed to find where paths multiply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

static char small_buf[1 << 20];

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return 0;
}

int main(int argc, char **argv)
{
	const char *log_path = getenv("PS_VERIFIER_LOG");
	size_t log_size = log_path ? 1u << 29 : sizeof(small_buf);
	char *log_buf = log_path ? malloc(log_size) : small_buf;
	int failed = 0;

	if (!log_buf) {
		perror("load_check: log buffer");
		return 1;
	}
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
			bpf_program__set_log_buf(prog, log_buf, log_size);
			/* 4: stats; 1: every instruction processed */
			bpf_program__set_log_level(prog, log_path ? 5 : 4);
		}
		log_buf[0] = 0;
		err = bpf_object__load(obj);
		if (log_path) {
			FILE *f = fopen(log_path, "w");

			if (!f || fputs(log_buf, f) == EOF || fclose(f)) {
				perror(log_path);
				failed = 1;
			}
		}
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
