#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Probe benchmarks (run by tests/bench/run.sh, or alone as root).  stdout:
# one "name: value unit" line per figure; details go to stderr.
#
#   failover_ms_median, failover_ms_max: 10 trials of a server killed ->
#     no longer answered, measured from the client by DNS through XDP,
#     probes at the default 1 s interval, fall 3 (bound: 4000 ms).
#   probe_cpu_pct_1000: steerd's CPU (user + system, % of one core) while
#     it probes 1 000 servers over HTTP every second;
#     probe_ctl_max_ms_1000: the slowest steerctl reply meanwhile.
#   probe_floor_cpu_pct_1000: the same requests from bench_probefloor, a
#     minimal prober (kept connections, raw sockets): this machine's floor;
#     probe_cpu_vs_floor_ratio: steerd against it.
#
# Namespaces psb-p-cli <-> psb-p-pop <-> psb-p-org; the 1 000 servers are
# 198.19.0.1.. (one local route in psb-p-org, one ps-origin on 0.0.0.0:80).
# Everything is removed on exit.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$TOP/build}
[ "${OUT#/}" = "$OUT" ] && OUT=$TOP/$OUT

CLI=psb-p-cli POP=psb-p-pop ORG=psb-p-org
WORK=/run/psb-probes
TRIALS=${BENCH_FAILOVER_TRIALS:-10}
NSERVERS=1000
CPU_SECS=${BENCH_PROBE_SECS:-20}
PIDS=()
MISSING=0

log() { printf '%s\n' "$*" >&2; }
missing() { MISSING=1; log "!! no figure $1: $2"; }
now_ms() { date +%s%3N; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$CLI" 2>/dev/null
	ip netns del "$POP" 2>/dev/null
	ip netns del "$ORG" 2>/dev/null
	umount "$WORK/bpffs" 2>/dev/null
	rm -rf "$WORK"
	return 0
}

if [ "$(id -u)" != 0 ] || [ ! -x "$OUT/tests/ps-origin" ] || [ ! -x "$OUT/steerd" ] ||
   [ ! -x "$OUT/bench/bench_probefloor" ]; then
	log "bench probes: needs root and make (steerd, ps-origin)"
	for f in failover_ms_median failover_ms_max probe_cpu_pct_1000 probe_ctl_max_ms_1000; do
		missing $f "cannot run"
	done
	exit 1
fi
cleanup
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$WORK/bpffs"
mount -t bpf bpf "$WORK/bpffs"

for ns in $CLI $POP $ORG; do
	ip netns add $ns
	ip -n $ns link set lo up
done
ip link add c0 netns $CLI type veth peer name p0 netns $POP
ip link add p1 netns $POP type veth peer name o0 netns $ORG
ip -n $CLI addr add 198.18.0.2/24 dev c0
ip -n $POP addr add 198.18.0.1/24 dev p0
ip -n $POP addr add 198.18.9.1/24 dev p1
ip -n $ORG addr add 198.18.9.2/24 dev o0
ip -n $ORG addr add 198.18.9.11/24 dev o0
ip -n $ORG addr add 198.18.9.12/24 dev o0
for l in "$CLI c0" "$POP p0" "$POP p1" "$ORG o0"; do
	set -- $l
	ip -n $1 link set $2 up
done
ip -n $CLI link set dev c0 xdp obj "$OUT/bpf/xdp_pass.bpf.o" sec xdp
# the 1 000 servers: every address of 198.19.0.0/22 is local in ORG
ip -n $POP route add 198.19.0.0/22 via 198.18.9.2
ip -n $ORG route add local 198.19.0.0/22 dev lo
ip -n $ORG route add 198.18.0.0/24 via 198.18.9.1

srv_addr() { echo "198.19.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }

# origin NAME ARGS: a ps-origin in ORG with state file $WORK/NAME.state
declare -A OPID
origin() {
	local name=$1; shift
	: >>"$WORK/$name.state"
	ip netns exec $ORG "$OUT/tests/ps-origin" -s "$WORK/$name.state" "$@" \
		2>>"$WORK/$name.log" &
	OPID[$name]=$!
	PIDS+=("$!")
}
okill() {
	kill "${OPID[$1]}" 2>/dev/null
	wait "${OPID[$1]}" 2>/dev/null
}

# steerd CONF: started in POP, waits until it serves
start_steerd() {
	ip netns exec $POP "$OUT/steerd" -c "$1" >"$WORK/steerd.log" 2>&1 &
	STEERD_PID=$!
	PIDS+=("$STEERD_PID")
	for _ in $(seq 100); do
		grep -qs "^serving" "$WORK/steerd.log" && return 0
		kill -0 $STEERD_PID 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/   | /' "$WORK/steerd.log" >&2
	return 1
}
stop_steerd() {
	kill $STEERD_PID 2>/dev/null
	wait $STEERD_PID 2>/dev/null
}

conf_head() {
	cat <<CONF
interfaces = [ "p0" ];
bpffs = "$WORK/bpffs";
control_socket = "$WORK/steerd.sock";
state_file = "$WORK/state.conf";
dns = { listen = [ "198.18.0.1" ]; };
zones = ( { name = "bench.example";
            soa = { mname = "ns.bench.example"; rname = "ops.bench.example"; };
            ns = [ "ns.bench.example" ]; } );
CONF
}

# ---- failover ---------------------------------------------------------------

{
	conf_head
	cat <<'CONF'
pools = ( { name = "fo"; policy = "lowest";
            probes = ( { kind = "http"; url = "http://{address}/health"; },
                       { kind = "load"; } );
            servers = ( { address = "198.18.9.11"; }, { address = "198.18.9.12"; } ); } );
names = ( { name = "www.bench.example"; pool = "fo"; ttl = 1; } );
CONF
} >"$WORK/failover.conf"
printf "status=200\ncpu=0.10\nkeepalive=1\n" >"$WORK/a.state"
printf "status=200\ncpu=0.50\nkeepalive=1\n" >"$WORK/b.state"
origin a -l 198.18.9.11:80 -l 198.18.9.11:9100
origin b -l 198.18.9.12:80 -l 198.18.9.12:9100

answer() { ip netns exec $CLI dig +norec +time=1 +tries=1 +short @198.18.0.1 www.bench.example A 2>/dev/null; }
# until_answer ADDR MS: 0 when ADDR is answered within MS
until_answer() {
	local end=$(( $(now_ms) + $2 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ "$(answer)" = "$1" ] && return 0
		sleep 0.02
	done
	return 1
}

times=()
if start_steerd "$WORK/failover.conf"; then
	log "== failover: $TRIALS trials, probes every 1000 ms, fall 3, rise 2"
	for t in $(seq "$TRIALS"); do
		if ! until_answer 198.18.9.11 15000; then
			log "   trial $t: 198.18.9.11 not answered before the kill"
			break
		fi
		sleep 0.$((RANDOM % 10))	# a random phase against the probes
		t0=$(now_ms)
		okill a
		end=$(( t0 + 10000 ))
		while [ "$(answer)" = 198.18.9.11 ] && [ "$(now_ms)" -lt "$end" ]; do
			sleep 0.005
		done
		t1=$(now_ms)
		times+=($(( t1 - t0 )))
		log "   trial $t: $(( t1 - t0 )) ms"
		origin a -l 198.18.9.11:80 -l 198.18.9.11:9100
	done
	stop_steerd
else
	log "   steerd did not start"
fi
okill a
okill b
if [ "$TRIALS" = 0 ]; then
	log "   (no failover trials)"
elif [ ${#times[@]} = "$TRIALS" ]; then
	sorted=($(printf '%s\n' "${times[@]}" | sort -n))
	med=$(( (sorted[(TRIALS - 1) / 2] + sorted[TRIALS / 2]) / 2 ))
	echo "failover_ms_median: $med ms"
	echo "failover_ms_max: ${sorted[TRIALS - 1]} ms"
else
	missing failover_ms_median "trials did not complete"
	missing failover_ms_max "trials did not complete"
fi

# ---- 1 000 servers probed every second ------------------------------------------

{
	conf_head
	echo "pools = ("
	per=50
	for p in $(seq 0 $(( NSERVERS / per - 1 ))); do
		echo "  { name = \"p$p\"; policy = \"weighted\";"
		echo "    probes = ( { kind = \"http\"; url = \"http://{address}/health\"; interval = 1000; } );"
		echo "    servers = ("
		for i in $(seq $(( p * per )) $(( p * per + per - 1 ))); do
			echo "      { address = \"$(srv_addr $i)\"; },"
		done | sed '$ s/,$//'
		echo "  ) },"
	done | sed '$ s/,$//'
	echo ");"
	echo "names = ( { name = \"www.bench.example\"; pool = \"p0\"; } );"
} >"$WORK/many.conf"
printf "status=200\nkeepalive=1\n" >"$WORK/many.state"
origin many -l 0.0.0.0:80

ticks() { awk '{ print $14 + $15 }' /proc/$1/stat; }
if start_steerd "$WORK/many.conf"; then
	hz=$(getconf CLK_TCK)
	# warm up: every server probed, states settled
	sleep 4
	up=$("$OUT/steerctl" -s "$WORK/steerd.sock" -j server list |
		jq '[.[] | select(.health == "up")] | length')
	log "== $NSERVERS servers probed every 1 s: $up up after warm-up; measuring ${CPU_SECS} s"
	# profiling: BENCH_PERF=FILE records steerd meanwhile
	[ -n "${BENCH_PERF:-}" ] && perf record ${BENCH_PERF_OPTS:--g} -o "$BENCH_PERF" -p $STEERD_PID \
		-- sleep 5 >/dev/null 2>&1 &
	c0=$(ticks $STEERD_PID); t0=$(now_ms)
	worst=0 calls=0
	end=$(( t0 + CPU_SECS * 1000 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		s=$(now_ms)
		"$OUT/steerctl" -s "$WORK/steerd.sock" status >/dev/null
		d=$(( $(now_ms) - s ))
		[ $d -gt $worst ] && worst=$d
		calls=$((calls + 1))
		sleep 0.2
	done
	c1=$(ticks $STEERD_PID); t1=$(now_ms)
	n=$(curl -s --max-time 2 http://198.19.0.1/stats 2>/dev/null || true)
	pct=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v ms=$((t1 - t0)) \
		'BEGIN { printf "%.2f", 100 * c / hz / (ms / 1000) }')
	rss=$(awk '/VmRSS/ { print $2 }' /proc/$STEERD_PID/status)
	log "   steerd: $((c1 - c0)) ticks in $((t1 - t0)) ms, RSS $rss kB; $calls steerctl calls, slowest $worst ms"
	if [ "$up" = "$NSERVERS" ]; then
		echo "probe_cpu_pct_1000: $pct %"
		echo "probe_ctl_max_ms_1000: $worst ms"
	else
		missing probe_cpu_pct_1000 "only $up of $NSERVERS servers up"
		missing probe_ctl_max_ms_1000 "only $up of $NSERVERS servers up"
	fi
	stop_steerd
else
	missing probe_cpu_pct_1000 "steerd did not start"
	missing probe_ctl_max_ms_1000 "steerd did not start"
fi

# the floor: the same requests to the same servers from a minimal prober
# (kept connections, raw sockets, no parsing)
log "== the floor: $NSERVERS kept connections, a GET each per second, raw sockets"
floor=$(ip netns exec $POP timeout $((CPU_SECS + 30)) "$OUT/bench/bench_probefloor" \
	-n $NSERVERS -d "$CPU_SECS")
fpct=$(awk '/^probe_floor_cpu_pct_1000:/ { print $2 }' <<<"$floor")
if [ -n "$fpct" ]; then
	echo "probe_floor_cpu_pct_1000: $fpct %"
	[ -n "${pct:-}" ] && [ "${up:-0}" = "$NSERVERS" ] &&
		echo "probe_cpu_vs_floor_ratio: $(awk -v a="$pct" -v b="$fpct" 'BEGIN { printf "%.2f", a / b }') x"
else
	missing probe_floor_cpu_pct_1000 "bench_probefloor failed"
fi
exit $MISSING
