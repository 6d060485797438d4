#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs every test: unit tests, packet tests through BPF_PROG_TEST_RUN, and
# end-to-end tests in network namespaces.  Each prints PASS/FAIL/SKIP
# lines; the last line of the run is "N passed, N failed".
#   tests/run.sh [FILTER]    only programs/scripts whose name has FILTER
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
filter=${1:-}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
	local name=$1 out rc; shift
	case "$name" in *"$filter"*) ;; *) return ;; esac
	echo "### $name" >&2
	out=$(mktemp)
	timeout --kill-after=10 900 "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	cat "$out" >> "$log"
	# a test program that dies without reporting still counts as a failure
	if [ "$rc" -ne 0 ] && ! grep -q "^FAIL" "$out"; then
		echo "FAIL $name: exited with status $rc" | tee -a "$log"
	fi
	rm -f "$out"
}

start=$(date +%s)
run unit_tests "$OUT/tests/unit_tests"
run dns_packets "$OUT/tests/dns_packets"
run lb_packets "$OUT/tests/lb_packets"
run maps_sync "$OUT/tests/maps_sync"
run answer_parity "$OUT/tests/answer_parity"
run decap_packets "$OUT/tests/decap_packets"
for t in tests/e2e/*.sh; do
	case "$t" in */lib.sh) continue ;; esac
	run "$(basename "$t" .sh)" "$t"
done

pass=$(grep -c '^PASS ' "$log")
fail=$(grep -c '^FAIL ' "$log")
skip=$(grep -c '^SKIP ' "$log")
echo
if [ "$fail" -gt 0 ]; then
	echo "Failed:"
	grep '^FAIL ' "$log" | sed 's/^/  /'
fi
[ "$skip" -gt 0 ] && grep '^SKIP ' "$log" | sed 's/^/  /'
echo "$skip skipped, $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
