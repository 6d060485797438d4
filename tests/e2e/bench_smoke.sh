#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The per-packet benchmark still measures what it says: bench_testrun with
# a few repeats loads its programs on this kernel and checks every case's
# output (popsteer's DNS and flow-steering cases, and the floors: the
# reply decoded by ldns, checksums, verdicts, new-flow counts) before it
# prints a figure.  Timing is make bench's business, not asserted here.
. "$(dirname "$0")/lib.sh"
E2E_NAME=bench_smoke
[ "$(id -u)" = 0 ] || e2e_skip_all "needs root for BPF_PROG_TEST_RUN"
bin=$OUT/bench/bench_testrun
[ -x "$bin" ] || e2e_skip_all "$bin not built (make)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

out=$("$bin" -r 50 -n 1 -k 2 2>"$log")
rc=$?
if [ $rc = 0 ]; then
	pass exit
else
	fail exit "bench_testrun exited $rc: $(grep -v '^  .*wrapper+program' "$log" | tail -5)"
fi
for f in a_edns aaaa nxdomain refused floor a_edns_best floor_best; do
	if grep -q "^dns_testrun_${f}_ns: -\?[0-9]* ns$" <<<"$out"; then
		pass "dns_$f"
	else
		fail "dns_$f" "no figure dns_testrun_${f}_ns"
	fi
done
for f in established_dsr new_dsr established_ipip new_ipip floor_established floor_new new_dsr_same; do
	if grep -q "^lb_testrun_${f}_ns: -\?[0-9]* ns$" <<<"$out"; then
		pass "lb_$f"
	else
		fail "lb_$f" "no figure lb_testrun_${f}_ns"
	fi
done
exit $E2E_FAILED
