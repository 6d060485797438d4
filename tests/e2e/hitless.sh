#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Hitless: a bounded query loop runs while steerd is killed (-9), stopped,
# restarted, and upgraded (another build of the program swapped in);
# not one UDP query goes unanswered.
. "$(dirname "$0")/lib.sh"
e2e_init hitless
topo_pop_client

{ conf_head; conf_cdn; } >"$E2E_DIR/steerd.conf"

# "another build": the same program compiled by clang 19 (another tag)
if command -v clang-19 >/dev/null &&
   make -s -C "$TOP" OUT="$E2E_DIR/c19" CLANG=clang-19 "$E2E_DIR/c19/bpf/steer.bpf.o" >/dev/null 2>&1; then
	OTHER=$E2E_DIR/c19/bpf/steer.bpf.o
else
	fail other_build "cannot build the program with clang-19 (make deps installs it)"
fi

start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log0" || exit 1
N=50000
for _ in $(seq $N); do echo "www.cdn.example A"; done >"$E2E_DIR/queries"
ip netns exec "$CLI" dig +norec +tries=1 +time=1 @198.18.0.1 +short \
	-f "$E2E_DIR/queries" >"$E2E_DIR/answers" 2>&1 &
LOOP=$!
E2E_PIDS+=("$LOOP")
running() { kill -0 $LOOP 2>/dev/null; }

events=0
sleep 0.3
kill -9 "$STEERD_PID"; wait "$STEERD_PID" 2>/dev/null; events=$((events + 1))
sleep 0.3
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log1" && running && events=$((events + 1))
sleep 0.3
stop_steerd; events=$((events + 1))
if [ -n "${OTHER:-}" ]; then
	# an upgrade: another build replaces the running one, then the new
	# steerd swaps its own in, both atomically and on the same maps
	TC_BPF_MNT=$E2E_DIR/bpffs ip -force -n "$POP" link set dev veth-pop xdp \
		obj "$OTHER" sec xdp && events=$((events + 1))
fi
sleep 0.3
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log2" && running && events=$((events + 1))
[ -z "${OTHER:-}" ] || grep -q "veth-pop: replaced XDP program xdp_steer" "$E2E_DIR/log2" &&
	pass upgrade_swapped || fail upgrade_swapped "$(cat "$E2E_DIR/log2")"
wait $LOOP

answered=$(grep -c '^198\.18\.7\.1$' "$E2E_DIR/answers")
lost=$(grep -c 'timed out\|error' "$E2E_DIR/answers")
echo "# $N queries, $answered answered, $lost unanswered, $events restart events during the loop"
check_eq events_during_loop "$([ -n "${OTHER:-}" ] && echo 5 || echo 4)" "$events"
check_eq all_answered "$N" "$answered"
check_eq none_lost 0 "$lost"

exit $E2E_FAILED
