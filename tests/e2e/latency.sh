#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# "Best PoP relative to itself" against real delays: a lab of 3 PoPs whose
# links to each other's caches get netem delays (each PoP's own cache is
# near, the others 20, 50 or 80 ms away).  Each PoP answers static.ZONE
# with the PoP it measures best from where it is -- its own; when caches
# go down, each moves to its nearest remaining one, which differs per PoP.
# Needs sch_netem: the host kernel here has none, Debian 12's has it, so
# this runs under `make vm-test` (vm/run) and skips elsewhere, saying so.
. "$(dirname "$0")/lib.sh"
e2e_init latency
command -v unbound >/dev/null || e2e_skip_all "unbound not installed (apt-get install unbound)"
command -v etcd >/dev/null || e2e_skip_all "etcd not installed (make deps)"
netns "ps-$E2E_ID-nq"
ip -n "ps-$E2E_ID-nq" link add d0 type veth peer name d1
if ! tc -n "ps-$E2E_ID-nq" qdisc add dev d0 root netem delay 1ms 2>/dev/null; then
	e2e_skip_all "this kernel has no netem (sch_netem): make vm-test runs it on Debian 12's 6.1"
fi
lab_init
ZONE=img.example
cat >"$E2E_DIR/lab.conf" <<CONF
pops 3
customer $ZONE 1
regions 1
ttl 1
CONF
LAB_OURS=1
out=$("$LABC" up "$E2E_DIR/lab.conf" 2>&1) && pass up || { fail up "$out"; exit 1; }

# one-way delay (ms) from PoP i to PoP j's cache: a line of three PoPs,
# pop1 - 20 - pop2 - 50 - pop3, pop1 to pop3 80
declare -A D=([1,2]=20 [1,3]=80 [2,1]=20 [2,3]=50 [3,1]=80 [3,2]=50)
for i in 1 2 3; do
	ns=psl-pop$i
	tc -n "$ns" qdisc add dev eth0 root handle 1: prio bands 5 \
		priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 || { fail "netem_pop$i" "prio"; exit 1; }
	band=2
	for j in 1 2 3; do
		[ "$i" = "$j" ] && continue
		tc -n "$ns" qdisc add dev eth0 parent "1:$band" handle "${band}0:" netem delay "${D[$i,$j]}ms" &&
			tc -n "$ns" filter add dev eth0 parent 1: protocol ip prio 1 u32 \
				match ip dst "198.18.4.1$j/32" flowid "1:$band" ||
			{ fail "netem_pop$i" "cache $j"; exit 1; }
		band=$((band + 1))
	done
done
# the delay is real: connecting from pop1 to pop3's cache takes 80 ms or more
rtt=$("$LABC" exec pop1 curl -s -o /dev/null --max-time 5 -w '%{time_connect}' http://198.18.4.13/health 2>/dev/null)
[ -n "$rtt" ] && awk -v r="$rtt" 'BEGIN { exit !(r >= 0.080) }' && pass netem_delay ||
	fail netem_delay "connect pop1 -> 198.18.4.13: '${rtt}' s"
echo "# pop1 -> pop3's cache: connected in ${rtt} s"

answer() {	# answer POP: its static.ZONE answer
	"$LABC" exec cli1 dig +short +norec +time=2 +tries=1 "@198.18.0.1${1#pop}" "static.$ZONE" A 2>/dev/null | head -1
}
scores() {
	"$LABC" ctl "$1" -j server list pool pops 2>/dev/null |
		jq -r '[.[] | "\(.address)=\(.metrics.response_ms.smooth // "-" | tostring | .[0:5])ms\(if .usable then "" else "(down)" end)"] | join(" ")'
}
answers() { echo "$(answer pop1) $(answer pop2) $(answer pop3)"; }
# expect NAME "VIP1 VIP2 VIP3": each PoP's answer, within 20 s
expect() {
	local t0 got
	t0=$(date +%s)
	while :; do
		got=$(answers)
		[ "$got" = "$2" ] && break
		[ $(( $(date +%s) - t0 )) -lt $((20 * TS)) ] || break
		sleep 0.5
	done
	echo "# $1: answers $got; pop1 sees $(scores pop1); pop3 sees $(scores pop3)"
	check_eq "$1" "$2" "$got"
}
# every PoP answers its own cache: the same name, three answers
expect own_pop_everywhere "198.18.5.11 198.18.5.12 198.18.5.13"
# pop2's cache goes: pop1 and pop3 keep theirs, pop2 takes the nearer of
# the others (pop1, 20 ms; not pop3, 50 ms)
"$LABC" stop pop2cache >/dev/null 2>&1 || fail stop_cache "vm/lab stop pop2cache"
expect nearest_after_pop2_cache "198.18.5.11 198.18.5.11 198.18.5.13"
# and pop1's: pop1 and pop2 both go to pop3, the only one left
"$LABC" stop pop1cache >/dev/null 2>&1 || fail stop_cache "vm/lab stop pop1cache"
expect only_pop3_left "198.18.5.13 198.18.5.13 198.18.5.13"
# pop2's back: pop1 goes to it (20 ms, not pop3's 80), pop2 to its own
"$LABC" start pop2cache >/dev/null 2>&1 || fail start_cache "vm/lab start pop2cache"
expect nearest_after_pop2_back "198.18.5.12 198.18.5.12 198.18.5.13"
exit $E2E_FAILED
