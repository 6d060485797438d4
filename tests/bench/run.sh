#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# popsteer benchmarks (`make bench`, root).  stdout: one "name: value unit"
# line per figure and nothing else; progress and details go to stderr.
#
#  1. bench_testrun: ns per query of the real xdp_steer under
#     BPF_PROG_TEST_RUN (behind a wrapper that restores the query; its cost
#     is measured and subtracted); then ns per packet of flow steering
#     (DSR and IP-in-IP, established and new flows) beside the floor of
#     any connection-tracking balancer on this machine (psb_lb_floor).
#  2. Saturation over one veth pair, psb-cli (client) <-> psb-pop (PoP):
#     bench_trafficgen sends live frames (BPF_F_TEST_XDP_LIVE_FRAMES) from
#     the client and counts the valid answers coming back, against
#       - the echo responder (echo.bpf.o): the ceiling of the veth path,
#       - steerd + xdp_steer,
#       - knotd in XDP mode, then knotd with UDP sockets, same names;
#     then kxdpgun (knot-dnsutils), a second generator, against popsteer
#     and Knot XDP; and the same generator's UDP flows to a VIP that
#     xdp_steer steers (DSR) back out of the PoP veth (lb_steered_pps).
#  3. bench_herd: the thundering herd, simulated with the real policies
#     (tests/bench/herd.c); tests/bench/probes.sh: failover times and the
#     CPU of probing 1 000 servers every second, against bench_probefloor.
#  4. tests/bench/lbhttp.sh: wrk requests per second to one nginx backend
#     directly and through the PoP's DSR VIP to three.
#
# Knobs (environment): BENCH_ONLY (the parts to run, default all:
# "testrun veth herd probes http"), BENCH_SECS (seconds per server, default 4),
# BENCH_MAX_FRAMES (frames per generator run at most, default 40000000),
# BENCH_CPU (CPU of the generator, default 0).
#
# Exit status: 0 when every figure was produced, 1 otherwise (the others
# are still printed).  Everything created (namespaces, bpffs mount,
# processes, files) is removed on exit, on failure and on interruption.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$TOP/build}
[ "${OUT#/}" = "$OUT" ] && OUT=$TOP/$OUT

SECS=${BENCH_SECS:-4}
ONLY=${BENCH_ONLY:-testrun veth herd probes http}
want() { [[ " $ONLY " == *" $1 "* ]]; }
MAX_FRAMES=${BENCH_MAX_FRAMES:-40000000}
CPU=${BENCH_CPU:-0}

NS_CLI=psb-cli
NS_POP=psb-pop
IF_CLI=psb-cli0
IF_POP=psb-pop0
# addresses the generator uses (bench_trafficgen)
ADDR4_POP=198.18.0.1 ADDR6_POP=2001:2::1 MAC_POP=02:00:00:00:00:01
ADDR4_CLI=198.18.0.2 ADDR6_CLI=2001:2::2 MAC_CLI=02:00:00:00:00:02

WORK=/run/psb
PIN=$WORK/bpffs/tc/globals
ZONE=bench.example
NAMES="www api img"
LB_VIP=198.18.100.1 LB_PORT=8000 LB_MAC=02:00:00:d5

PIDS=()
MISSING=()
PROBLEMS=()
declare -A FIG

log() { printf '%s\n' "$*" >&2; }
missing() { MISSING+=("$1"); log "!! no figure $1: $2"; }
problem() { PROBLEMS+=("$1"); log "!! $1"; }

# ---- cleanup --------------------------------------------------------------

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS_CLI" 2>/dev/null
	ip netns del "$NS_POP" 2>/dev/null
	umount "$WORK/bpffs" 2>/dev/null
	rm -rf "$WORK"
	return 0
}

# stop PID: stop a process we started, and forget it
stop() {
	local p=$1
	kill "$p" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	local keep=() q
	for q in "${PIDS[@]}"; do
		[ "$q" = "$p" ] || keep+=("$q")
	done
	PIDS=("${keep[@]}")
}

# ---- preconditions ----------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
	log "bench: needs root (BPF, network namespaces, XDP)"
	exit 1
fi
for b in bench/bench_testrun bench/bench_trafficgen bench/echo.bpf.o \
	 bench/bench_herd bench/bench_probefloor tests/ps-origin bpf/xdp_pass.bpf.o steerd; do
	if [ ! -e "$OUT/$b" ]; then
		log "bench: $OUT/$b missing (make)"
		exit 1
	fi
done

# one run at a time: the namespaces and $WORK have fixed names
exec 9>/run/psb-bench.lock
if ! flock -n 9; then
	log "bench: another benchmark run holds /run/psb-bench.lock"
	exit 1
fi
# leftovers of a run that could not clean up (killed with SIGKILL)
cleanup
trap 'cleanup; rm -f /run/psb-bench.lock' EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$WORK"

# ---- 1. BPF_PROG_TEST_RUN ---------------------------------------------------

if want testrun; then
log "== BPF_PROG_TEST_RUN (repeat 1e6, 3 rounds on each of 5 loads)"
out=$(timeout 600 "$OUT/bench/bench_testrun" -r 1000000 -n 3 -k 5)
rc=$?
[ -n "$out" ] && printf '%s\n' "$out"
for c in a_edns aaaa nxdomain refused wrapper; do
	grep -q "^dns_testrun_${c}_ns: " <<<"$out" ||
		missing "dns_testrun_${c}_ns" "bench_testrun failed (status $rc)"
done
grep -q "^testrun_empty_ns: " <<<"$out" ||
	missing testrun_empty_ns "bench_testrun failed (status $rc)"
for c in established_dsr new_dsr established_ipip new_ipip floor_established floor_new new_dsr_same; do
	grep -q "^lb_testrun_${c}_ns: " <<<"$out" ||
		missing "lb_testrun_${c}_ns" "bench_testrun failed (status $rc)"
done
fi

# ---- 2. saturation over veth ---------------------------------------------------

# The network: one veth pair, ONE queue each way (Knot's XDP mode serves
# queue 0 only), static neighbours (the client's XDP counter drops what
# it does not count, ARP answers included).
net_setup() {
	ip netns add "$NS_CLI" && ip netns add "$NS_POP" || return 1
	ip -n "$NS_CLI" link set lo up
	ip -n "$NS_POP" link set lo up
	ip link add "$IF_CLI" netns "$NS_CLI" address "$MAC_CLI" \
		numrxqueues 1 numtxqueues 1 type veth \
		peer name "$IF_POP" netns "$NS_POP" address "$MAC_POP" \
		numrxqueues 1 numtxqueues 1 || return 1
	ip -n "$NS_POP" addr add "$ADDR4_POP/24" dev "$IF_POP"
	ip -n "$NS_POP" addr add "$ADDR6_POP/64" dev "$IF_POP" nodad
	ip -n "$NS_CLI" addr add "$ADDR4_CLI/24" dev "$IF_CLI"
	ip -n "$NS_CLI" addr add "$ADDR6_CLI/64" dev "$IF_CLI" nodad
	ip -n "$NS_POP" link set "$IF_POP" up
	ip -n "$NS_CLI" link set "$IF_CLI" up
	ip -n "$NS_POP" neigh replace "$ADDR4_CLI" lladdr "$MAC_CLI" dev "$IF_POP" nud permanent
	ip -n "$NS_POP" neigh replace "$ADDR6_CLI" lladdr "$MAC_CLI" dev "$IF_POP" nud permanent
	ip -n "$NS_CLI" neigh replace "$ADDR4_POP" lladdr "$MAC_POP" dev "$IF_CLI" nud permanent
	ip -n "$NS_CLI" neigh replace "$ADDR6_POP" lladdr "$MAC_POP" dev "$IF_CLI" nud permanent
	# steerd's pins; inside `ip netns exec` /sys is private
	mkdir -p "$WORK/bpffs" && mount -t bpf bpf "$WORK/bpffs"
}

# Both servers answer the same names: A and AAAA of each, TTL 30.
write_configs() {
	local n
	{
		echo "interfaces = [ \"$IF_POP\" ];"
		echo "xdp_mode = \"native\";"
		echo "bpffs = \"$WORK/bpffs\";"
		echo "dns = { listen = [ \"$ADDR4_POP\", \"$ADDR6_POP\" ]; };"
		echo "zones = ( { name = \"$ZONE\"; ttl = 3600;"
		echo "  soa = { mname = \"ns1.$ZONE\"; rname = \"hostmaster.$ZONE\";"
		echo "          serial = 2026112501; refresh = 7200; retry = 900;"
		echo "          expire = 1209600; minimum = 300; };"
		echo "  ns = [ \"ns1.$ZONE\" ]; } );"
		echo "pools = ( { name = \"web\"; answers = 1; ttl = 30;"
		echo "  servers = ( { address = \"198.18.1.10\"; }, { address = \"198.18.1.11\"; },"
		echo "              { address = \"2001:2:1::10\"; }, { address = \"2001:2:1::11\"; } ); },"
		# flow steering: a UDP VIP, DSR to three backends (their
		# MACs are what the generator counts)
		echo "  { name = \"lb\"; servers = ("
		echo "      { address = \"198.18.1.20\"; mac = \"$LB_MAC:00:01\"; },"
		echo "      { address = \"198.18.1.21\"; mac = \"$LB_MAC:00:02\"; },"
		echo "      { address = \"198.18.1.22\"; mac = \"$LB_MAC:00:03\"; } ); } );"
		echo "vips = ( { name = \"bench\"; address = \"$LB_VIP\"; port = $LB_PORT;"
		echo "           protocol = \"udp\"; mode = \"dsr\"; pool = \"lb\"; } );"
		echo "names = ("
		for n in $NAMES; do
			echo "  { name = \"$n.$ZONE\"; pool = \"web\"; },"
		done | sed '$ s/,$//'
		echo ");"
	} >"$WORK/steerd.conf"

	mkdir -p "$WORK/knot"
	{
		echo "\$ORIGIN $ZONE."
		echo "\$TTL 3600"
		echo "@	SOA	ns1 hostmaster 2026112501 7200 900 1209600 300"
		echo "@	NS	ns1"
		echo "ns1	A	$ADDR4_POP"
		for n in $NAMES; do
			echo "$n	30	A	198.18.1.10"
			echo "$n	30	AAAA	2001:2:1::10"
		done
	} >"$WORK/knot/$ZONE.zone"
	# the same server with XDP, then with sockets only
	for mode in xdp udp; do
		{
			echo "server:"
			echo "    rundir: $WORK/knot"
			echo "    listen: $ADDR4_POP@53"
			echo "    listen: $ADDR6_POP@53"
			if [ "$mode" = xdp ]; then
				echo "xdp:"
				echo "    listen: $IF_POP@53"
				echo "    udp: on"
			fi
			echo "database:"
			echo "    storage: $WORK/knot"
			echo "template:"
			echo "  - id: default"
			echo "    storage: $WORK/knot"
			echo "    journal-content: none"
			echo "    zonefile-sync: -1"
			echo "zone:"
			echo "  - domain: $ZONE"
			echo "    file: $ZONE.zone"
			echo "log:"
			echo "  - target: stderr"
			echo "    any: info"
		} >"$WORK/knot/knot-$mode.conf"
	done

	# kxdpgun's query file
	for n in $NAMES; do
		echo "$n.$ZONE A"
		echo "$n.$ZONE AAAA"
	done >"$WORK/queries.txt"
}

# the generator's queries: A and AAAA of every name over IPv4, and two over IPv6
QUERIES=()
for n in $NAMES; do
	QUERIES+=(-q "$n.$ZONE/A" -q "$n.$ZONE/AAAA")
done
QUERIES+=(-q "www.$ZONE/A/6" -q "api.$ZONE/AAAA/6")

xdp_off() {
	ip -n "$1" link set dev "$2" xdp off 2>/dev/null
}

# gen FIGURE [ARGS]: one bench_trafficgen run (the DNS queries, unless
# ARGS ask for flow steering, -L); records FIG[FIGURE]
gen() {
	local fig=$1 out rc q=("${QUERIES[@]}")
	shift
	[ "${1:-}" = -L ] && q=()
	out=$(ip netns exec "$NS_CLI" timeout $((SECS + 30)) \
		"$OUT/bench/bench_trafficgen" -i "$IF_CLI" -m "$MAC_POP" -d "$SECS" \
		-n "$MAX_FRAMES" -c "$CPU" -N "$fig" "${q[@]}" "$@")
	rc=$?
	if ! grep -q "^$fig: " <<<"$out"; then
		missing "$fig" "bench_trafficgen failed (status $rc)"
		return 1
	fi
	printf '%s\n' "$out"
	FIG[$fig]=$(awk -v f="$fig:" '$1 == f { print $2 }' <<<"$out")
	[ "$rc" = 3 ] && problem "$fig: wrong answers, or queries popsteer did not answer (details above)"
	return 0
}

# kxdpgun FIGURE: the second generator, against whatever the PoP runs
kxdpgun_run() {
	local fig=$1 out rc replies pps noerror l
	if ! command -v kxdpgun >/dev/null; then
		log "   kxdpgun not installed (knot-dnsutils): no $fig"
		return 0
	fi
	out=$(ip netns exec "$NS_CLI" timeout $((SECS + 20)) kxdpgun \
		-t "$SECS" -Q 10000000 -F "${CPU}s1" -i "$WORK/queries.txt" \
		-I "$IF_CLI" "$ADDR4_POP" 2>&1)
	rc=$?
	# kxdpgun leaves its XDP program attached
	xdp_off "$NS_CLI" "$IF_CLI"
	while IFS= read -r l; do log "   kxdpgun: $l"; done <<<"$out"
	replies=$(awk '/^total replies:/ { print $3 }' <<<"$out")
	pps=$(awk '/^total replies:/ { gsub(/[(]/, "", $4); print $4 }' <<<"$out")
	noerror=$(awk '/^responded NOERROR:/ { print $3 }' <<<"$out")
	if [ "$rc" != 0 ] || [ -z "$pps" ] || [ "${replies:-0}" = 0 ]; then
		log "   kxdpgun could not run here (status $rc): no $fig"
		return 0
	fi
	echo "$fig: $pps pps"
	[ "$noerror" = "$replies" ] ||
		problem "$fig: $replies replies, only ${noerror:-0} NOERROR"
}

# wait_log FILE PATTERN PID: until the server logs PATTERN (10 s at most)
wait_log() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	log "   server did not start:"
	sed 's/^/   | /' "$1" >&2
	return 1
}

start_knot() {
	local mode=$1
	ip netns exec "$NS_POP" knotd -c "$WORK/knot/knot-$mode.conf" \
		>"$WORK/knot/knotd-$mode.log" 2>&1 9>&- &
	KNOT_PID=$!
	PIDS+=("$KNOT_PID")
	wait_log "$WORK/knot/knotd-$mode.log" "\[$ZONE.\] loaded" "$KNOT_PID" &&
		wait_log "$WORK/knot/knotd-$mode.log" "server started" "$KNOT_PID"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

if want veth; then
if ! net_setup; then
	for f in echo_ceiling_pps popsteer_answers_pps knot_xdp_answers_pps \
		 knot_udp_answers_pps popsteer_vs_echo_ratio \
		 popsteer_vs_knot_xdp_ratio lb_steered_pps lb_vs_echo_ratio; do
		missing "$f" "cannot build the test network"
	done
	exit 1
fi
write_configs

log "== veth saturation (load average $(cut -d" " -f1-3 /proc/loadavg)): ${SECS} s per server, at most $MAX_FRAMES frames, $((${#QUERIES[@]} / 2)) queries in turn"

log "-- echo responder (veth ceiling)"
if ip -n "$NS_POP" link set dev "$IF_POP" xdp obj "$OUT/bench/echo.bpf.o" sec xdp; then
	gen echo_ceiling_pps -e
	xdp_off "$NS_POP" "$IF_POP"
else
	missing echo_ceiling_pps "cannot attach echo.bpf.o"
fi

log "-- popsteer (steerd + xdp_steer)"
ip netns exec "$NS_POP" "$OUT/steerd" -c "$WORK/steerd.conf" \
	>"$WORK/steerd.log" 2>&1 9>&- &
STEERD_PID=$!
PIDS+=("$STEERD_PID")
if wait_log "$WORK/steerd.log" "^serving" "$STEERD_PID"; then
	gen popsteer_answers_pps -p "$PIN"
	log "-- kxdpgun -> popsteer"
	kxdpgun_run kxdpgun_popsteer_answers_pps
	log "-- popsteer flow steering: 64 UDP flows to a DSR VIP, steered back out"
	gen lb_steered_pps -L "$LB_VIP:$LB_PORT" -M "$LB_MAC" -F 64
else
	missing popsteer_answers_pps "steerd did not start"
	missing lb_steered_pps "steerd did not start"
fi
stop "$STEERD_PID"
# the program stays attached when steerd exits (hitless restarts)
xdp_off "$NS_POP" "$IF_POP"
rm -f "$PIN"/ps_*

log "-- Knot DNS $(knotd -V 2>/dev/null | awk '{ print $NF }'), XDP mode"
if ! command -v knotd >/dev/null; then
	missing knot_xdp_answers_pps "knotd not installed (package knot)"
	missing knot_udp_answers_pps "knotd not installed (package knot)"
else
	if start_knot xdp; then
		grep -q "initialized XDP interface $IF_POP" "$WORK/knot/knotd-xdp.log" ||
			log "   Knot did not report its XDP interface; measuring anyway"
		gen knot_xdp_answers_pps
		log "-- kxdpgun -> Knot XDP"
		kxdpgun_run kxdpgun_knot_xdp_answers_pps
	else
		missing knot_xdp_answers_pps "knotd (XDP) did not start"
	fi
	stop "$KNOT_PID"
	# Knot leaves its XDP program attached too
	xdp_off "$NS_POP" "$IF_POP"

	log "-- Knot DNS, UDP sockets (XDP off)"
	# XDP_TX frames reach a veth only if it runs XDP: a pass-through
	ip -n "$NS_POP" link set dev "$IF_POP" xdp obj "$OUT/bpf/xdp_pass.bpf.o" sec xdp
	if start_knot udp; then
		gen knot_udp_answers_pps
	else
		missing knot_udp_answers_pps "knotd (UDP) did not start"
	fi
	stop "$KNOT_PID"
	xdp_off "$NS_POP" "$IF_POP"
fi

if [ -n "${FIG[popsteer_answers_pps]:-}" ] && [ -n "${FIG[echo_ceiling_pps]:-}" ]; then
	echo "popsteer_vs_echo_ratio: $(ratio "${FIG[popsteer_answers_pps]}" "${FIG[echo_ceiling_pps]}") x"
else
	missing popsteer_vs_echo_ratio "a figure it needs is missing"
fi
if [ -n "${FIG[lb_steered_pps]:-}" ] && [ -n "${FIG[echo_ceiling_pps]:-}" ]; then
	echo "lb_vs_echo_ratio: $(ratio "${FIG[lb_steered_pps]}" "${FIG[echo_ceiling_pps]}") x"
else
	missing lb_vs_echo_ratio "a figure it needs is missing"
fi
if [ -n "${FIG[popsteer_answers_pps]:-}" ] && [ -n "${FIG[knot_xdp_answers_pps]:-}" ]; then
	echo "popsteer_vs_knot_xdp_ratio: $(ratio "${FIG[popsteer_answers_pps]}" "${FIG[knot_xdp_answers_pps]}") x"
else
	missing popsteer_vs_knot_xdp_ratio "a figure it needs is missing"
fi
fi

# ---- 3. load-driven steering -------------------------------------------------

if want herd; then
log "== herd simulation (1 000 resolvers, 10 servers, TTL 20 s, probes every 1 s)"
out=$(timeout 120 "$OUT/bench/bench_herd" 2> >(sed 's/^/   /' >&2))
[ -n "$out" ] && printf '%s\n' "$out"
for f in herd_imbalance_lowest herd_imbalance_weighted; do
	grep -q "^$f: " <<<"$out" || missing "$f" "bench_herd failed"
done
fi

if want probes; then
log "== probes: failover, 1 000 servers probed every second"
# its own namespaces (psb-p-*); tear down ours first, they are done
cleanup
out=$(timeout 900 "$TOP/tests/bench/probes.sh" 9>&-)
[ -n "$out" ] && printf '%s\n' "$out"
for f in failover_ms_median failover_ms_max probe_cpu_pct_1000; do
	grep -q "^$f: " <<<"$out" || missing "$f" "tests/bench/probes.sh failed"
done
fi

if want http; then
log "== HTTP through the PoP: wrk, one backend directly, then three behind a DSR VIP"
cleanup
out=$(timeout 180 "$TOP/tests/bench/lbhttp.sh" 9>&-)
[ -n "$out" ] && printf '%s\n' "$out"
for f in lb_http_rps_direct lb_http_rps_steered lb_http_steered_vs_direct_ratio; do
	grep -q "^$f: " <<<"$out" || missing "$f" "tests/bench/lbhttp.sh failed"
done
fi

# ---- summary ---------------------------------------------------------------

if [ ${#PROBLEMS[@]} -gt 0 ]; then
	log "== problems seen:"
	for p in "${PROBLEMS[@]}"; do log "   $p"; done
fi
if [ ${#MISSING[@]} -gt 0 ]; then
	log "== figures missing: ${MISSING[*]}"
	exit 1
fi
exit 0
