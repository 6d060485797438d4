#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The BPF objects build with clang 14 (Debian 12's default) and clang 19,
# and every program built by either passes this kernel's verifier.
. "$(dirname "$0")/lib.sh"
E2E_NAME=toolchain
[ "$(id -u)" = 0 ] || e2e_skip_all "needs root to load BPF programs"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for cc in clang-14 clang-19; do
	if ! command -v $cc >/dev/null; then
		fail "$cc" "not installed (make deps installs it)"
		continue
	fi
	if make -s -C "$TOP" OUT="$dir/$cc" CLANG=$cc \
		"$dir/$cc/bpf/steer.bpf.o" "$dir/$cc/bpf/xdp_pass.bpf.o" \
		"$dir/$cc/bpf/decap.bpf.o" >"$dir/log" 2>&1; then
		pass "${cc}_build"
	else
		fail "${cc}_build" "$(tail -5 "$dir/log")"
		continue
	fi
	"$OUT/tests/load_check" "toolchain.${cc}_verify" "$dir/$cc"/bpf/*.bpf.o ||
		E2E_FAILED=1
done
exit $E2E_FAILED
