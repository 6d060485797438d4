#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# HTTP through the flow steering (root; run alone or from run.sh).
# stdout: exactly these lines, details go to stderr:
#
#   lb_http_rps_direct: N rps      wrk from the client to ONE nginx backend,
#                                  by the backend's own address
#   lb_http_rps_steered: N rps     wrk from the client to a DSR VIP: the
#                                  PoP's xdp_steer sends every flow to one of
#                                  THREE nginx backends, which answer the
#                                  client directly
#   lb_http_steered_vs_direct_ratio: X.XX x
#
# The topology is tests/e2e/lb.sh's: one bridge (namespace psb-h-sw), a
# veth port on it for the client (psb-h-cli, 198.18.0.2), the PoP
# (psb-h-pop, 198.18.0.1, steerd + xdp_steer) and the backends psb-h-b1..3
# (198.18.0.11-13, the VIP 198.18.100.1 on lo).  wrk: one thread, 32 kept
# connections, a 1 s warm-up before each measured run; a run with more
# than 1 % errors (socket errors, non-2xx/3xx) gives no figure.  nginx
# closes a kept connection after 1 000 requests (its default), so the
# steered run keeps opening new flows (~1 in 1 000 requests); afterwards
# the per-backend counters of `steerctl vip show` must show new flows on
# all three backends (else: exit 1, the figure still printed).
#
# Nothing is pinned: wrk, the nginx workers and the softirqs share the
# machine's CPUs (two here), unpinned gave the steadiest figures.  Each
# run logs where the CPU went and warns when other processes took more
# than 15 % of a CPU meanwhile: that figure is low, run again.
#
# Knobs (environment): LBHTTP_SECS (seconds per measured run, default 5),
# LBHTTP_CONNS (wrk connections, default 32).
#
# Exit status: 0 when every figure was produced (and the steered run
# reached all three backends), 1 otherwise.  Everything created
# (namespaces, bpffs mount, processes, files) is removed on exit, on
# failure and on interruption.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$TOP/build}
[ "${OUT#/}" = "$OUT" ] && OUT=$TOP/$OUT

SECS=${LBHTTP_SECS:-5}
CONNS=${LBHTTP_CONNS:-32}

SW=psb-h-sw POP=psb-h-pop CLI=psb-h-cli
BACKENDS="1 2 3"
VIP=198.18.100.1
WORK=/run/psb-http
LOCK=/run/psb-http.lock

PIDS=()
NGX_PIDS=()
STEERD_PID=
MISSING=()
PROBLEMS=()

log() { printf '%s\n' "$*" >&2; }
missing() { MISSING+=("$1"); log "!! no figure $1: $2"; }
problem() { PROBLEMS+=("$1"); log "!! $1"; }
now_ms() { date +%s%3N; }

# ---- cleanup ----------------------------------------------------------------

NSS="$CLI $POP psb-h-b1 psb-h-b2 psb-h-b3 $SW"

cleanup() {
	local p ns left
	# ours, and what a run killed with SIGKILL left in our namespaces
	for ns in $NSS; do
		PIDS+=($(ip netns pids "$ns" 2>/dev/null))
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for _ in $(seq 50); do
		left=
		for p in "${PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && left=1
		done
		[ -n "$left" ] || break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
	for ns in $NSS; do
		ip netns del "$ns" 2>/dev/null
	done
	umount "$WORK/bpffs" 2>/dev/null
	rm -rf "$WORK"
	return 0
}

# ---- preconditions ------------------------------------------------------------

case "$SECS$CONNS" in
*[!0-9]*|'')
	log "lbhttp: LBHTTP_SECS and LBHTTP_CONNS must be whole numbers"
	exit 1
esac
if [ "$SECS" -lt 1 ] || [ "$SECS" -gt 600 ] || [ "$CONNS" -lt 1 ] || [ "$CONNS" -gt 1000 ]; then
	log "lbhttp: LBHTTP_SECS must be 1 to 600, LBHTTP_CONNS 1 to 1000"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	log "lbhttp: needs root (BPF, network namespaces, XDP)"
	exit 1
fi
for b in steerd steerctl bpf/xdp_pass.bpf.o; do
	if [ ! -e "$OUT/$b" ]; then
		log "lbhttp: $OUT/$b missing (make)"
		exit 1
	fi
done
for c in wrk nginx jq curl ethtool flock; do
	if ! command -v "$c" >/dev/null; then
		log "lbhttp: $c not installed"
		exit 1
	fi
done

# one run at a time: the namespaces and $WORK have fixed names (fd 8,
# which the processes started in the background do not inherit: the lock
# goes with this shell, also when it is killed)
exec 8>"$LOCK"
if ! flock -n 8; then
	log "lbhttp: another run holds $LOCK"
	exit 1
fi
# leftovers of a run that could not clean up (killed with SIGKILL)
cleanup
trap 'cleanup; rm -f "$LOCK"' EXIT
trap 'exit 130' INT TERM HUP

FIGS="lb_http_rps_direct lb_http_rps_steered lb_http_steered_vs_direct_ratio"
give_up() {
	local f
	for f in $FIGS; do missing "$f" "$1"; done
	exit 1
}

# ---- the network -------------------------------------------------------------------

# netns NAME: a namespace with lo up
netns() {
	ip netns add "$1" && ip -n "$1" link set lo up
}
# port NS IF ADDR: a namespace on the bridge
port() {
	local ns=$1 ifn=$2 addr=$3
	ip link add "$ifn" netns "$ns" type veth peer name "p-$ifn" netns "$SW" &&
	ip -n "$SW" link set "p-$ifn" master br0 up &&
	# XDP_TX frames reach the bridge only if the peer runs XDP
	ip -n "$SW" link set dev "p-$ifn" xdp obj "$OUT/bpf/xdp_pass.bpf.o" sec xdp &&
	ip -n "$ns" addr add "$addr/24" dev "$ifn" &&
	ip -n "$ns" link set "$ifn" up
}

net_setup() {
	local n
	mkdir -p "$WORK/bpffs" && mount -t bpf bpf "$WORK/bpffs" || return 1
	netns "$SW" && netns "$POP" && netns "$CLI" || return 1
	ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || return 1
	port "$POP" veth-pop 198.18.0.1 && port "$CLI" veth-cli 198.18.0.2 || return 1
	ip -n "$CLI" route add "$VIP/32" via 198.18.0.1 || return 1
	# a frame the PoP's XDP sends on (XDP_TX) loses the veth's "checksum
	# left to hardware" note: the client computes its checksums itself
	ip netns exec "$CLI" ethtool -K veth-cli tx off >/dev/null || return 1
	ip netns exec "$POP" sysctl -qw net.ipv4.ip_forward=1 || return 1
	# replies come from the VIP, not from the PoP the requests went to
	ip netns exec "$CLI" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.veth-cli.rp_filter=0 || return 1
	for n in $BACKENDS; do
		netns "psb-h-b$n" && port "psb-h-b$n" "vb$n" "198.18.0.1$n" || return 1
		ip -n "psb-h-b$n" addr add "$VIP/32" dev lo || return 1
		# the VIP is not theirs to answer ARP for
		ip netns exec "psb-h-b$n" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
			"net.ipv4.conf.vb$n.rp_filter=0" || return 1
	done
}

# nginx N: backend N on its own address and the VIP, answering "bN"
nginx_start() {
	local n=$1 dir=$WORK/b$1
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 198.18.0.1$n:80; listen $VIP:80;
        location = / { return 200 "b$n\n"; }
    }
}
CONF
	ip netns exec "psb-h-b$n" nginx -c "$dir/nginx.conf" -p "$dir" \
		2>>"$dir/error.log" 8>&- &
	PIDS+=("$!")
	NGX_PIDS+=("$!")
}

# wait_for MS CMD...: until CMD succeeds, MS milliseconds at most
wait_for() {
	local end=$(( $(now_ms) + $1 ))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# answers URL BODY: the client gets BODY from URL
answers() {
	[ "$(ip netns exec "$CLI" curl -s --max-time 1 "$1")" = "$2" ]
}

# vip_answers: a backend answers the client through the VIP
vip_answers() {
	ip netns exec "$CLI" curl -s --max-time 1 "http://$VIP/" | grep -qx 'b[123]'
}

sctl() {
	timeout 10 "$OUT/steerctl" -s "$WORK/steerd.sock" -B "$WORK/bpffs" "$@"
}

steerd_start() {
	{
		cat <<CONF
interfaces = [ "veth-pop" ];
bpffs = "$WORK/bpffs";
control_socket = "$WORK/steerd.sock";
state_file = "$WORK/state/state.conf";
dns = { listen = [ "198.18.0.1" ]; };
zones = ( { name = "bench.example";
            soa = { mname = "ns.bench.example"; rname = "ops.bench.example"; };
            ns = [ "ns.bench.example" ]; } );
pools = ( { name = "web";
            probes = ( { kind = "http"; url = "http://{address}/"; interval = 200; } );
            servers = ( { address = "198.18.0.11"; }, { address = "198.18.0.12"; },
                        { address = "198.18.0.13"; } ); } );
vips = ( { name = "http"; address = "$VIP"; port = 80; protocol = "tcp";
           mode = "dsr"; pool = "web"; } );
CONF
	} >"$WORK/steerd.conf"
	ip netns exec "$POP" "$OUT/steerd" -c "$WORK/steerd.conf" >"$WORK/steerd.log" 2>&1 8>&- &
	STEERD_PID=$!
	PIDS+=("$STEERD_PID")
	for _ in $(seq 100); do
		grep -qs "^serving" "$WORK/steerd.log" && return 0
		kill -0 "$STEERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "   steerd did not start:"
	sed 's/^/   | /' "$WORK/steerd.log" >&2
	return 1
}

backends_up() {
	sctl -j vip show http 2>/dev/null | jq -e \
		'[.backends[] | select(.state == "up" and .mac != null)] | length == 3' >/dev/null
}

# ---- wrk ---------------------------------------------------------------------------

# wrk_run SECS URL OUTFILE: one wrk run from the client, bounded in time
wrk_run() {
	local pid
	ip netns exec "$CLI" timeout -k 5 $(( $1 + 20 )) \
		wrk -t1 -c"$CONNS" -d"$1s" --timeout 2s --latency "$2" >"$3" 2>&1 8>&- &
	pid=$!
	PIDS+=("$pid")
	wait "$pid"
	local rc=$? keep=() q
	for q in "${PIDS[@]}"; do
		[ "$q" = "$pid" ] || keep+=("$q")
	done
	PIDS=("${keep[@]}")
	return $rc
}

# ticks PID...: CPU time (user + system, clock ticks) of these processes
# and of the children they have reaped
ticks() {
	local p t=0
	for p in "$@"; do
		[ -n "$p" ] || continue
		t=$(( t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || echo 0) ))
	done
	echo "$t"
}
# cpu_snap: "ms busy idle softirq wrk nginx steerd ksoftirqd": the
# machine's CPU time (user + nice + system + irq + softirq; idle + iowait;
# softirq) and the processes', in clock ticks.  wrk runs under this
# shell, whose reaped children count.  Without IRQ time accounting a
# process's time includes the softirqs run on its behalf (the packets'
# way through veth, XDP and the bridge), ksoftirqd's the rest
cpu_snap() {
	echo "$(now_ms) $(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6, $8 }' /proc/stat)" \
		"$(ticks $$) $(ticks "${NGX_PIDS[@]}") $(ticks "$STEERD_PID")" \
		"$(ticks $(pgrep -x 'ksoftirqd/[0-9]+'))"
}
# cpu_report BEFORE AFTER: where the CPU went during a run, on stderr;
# warns when other processes took a noticeable share of the machine
cpu_report() {
	local out others
	out=$(awk -v hz="$(getconf CLK_TCK)" -v ncpu="$(nproc)" -v a="$1" -v b="$2" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		for (i = 2; i <= 8; i++) d[i] = (y[i] - x[i]) / hz
		wall = (y[1] - x[1]) / 1000
		oth = d[2] - d[5] - d[6] - d[7] - d[8]
		if (oth < 0) oth = 0
		printf "%d\n", 100 * oth / wall
		printf "CPU over %.1f s x %d CPUs: wrk %.1f s, nginx %.1f s, steerd %.2f s, " \
		       "ksoftirqd %.1f s, other processes %.1f s, idle %.1f s " \
		       "(softirq within these: %.1f s)\n",
		       wall, ncpu, d[5], d[6], d[7], d[8], oth, d[3], d[4]
	}')
	others=${out%%$'\n'*}
	log "   ${out#*$'\n'}"
	[ "$others" -lt 15 ] ||
		log "!! other processes took $others % of a CPU during the run: this figure is low"
}

# measure FIGURE URL: warm-up, measured run; prints the figure, sets RPS
measure() {
	local fig=$1 url=$2 f=$WORK/wrk-$1 rc reqs rps errs nonok sock c0 c1
	RPS=
	wrk_run 1 "$url" "$f.warm"
	rc=$?
	if [ "$rc" != 0 ] || ! grep -q "^Requests/sec:" "$f.warm"; then
		log "   warm-up failed (status $rc):"
		sed 's/^/   | /' "$f.warm" >&2
	fi
	[ -n "${BEFORE_RUN:-}" ] && "$BEFORE_RUN"
	c0=$(cpu_snap)
	wrk_run "$SECS" "$url" "$f"
	rc=$?
	c1=$(cpu_snap)
	sed 's/^/   | /' "$f" >&2
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
	reqs=$(awk '/ requests in / { print $1 }' "$f")
	if [ "$rc" != 0 ] || [ -z "$rps" ] || [ -z "$reqs" ]; then
		missing "$fig" "wrk failed (status $rc)"
		return 1
	fi
	# "Socket errors: connect 0, read 0, write 0, timeout 0"
	sock=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$f")
	nonok=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
	errs=$(( ${sock:-0} + ${nonok:-0} ))
	log "   $reqs requests, $rps/s; errors: socket ${sock:-0}, non-2xx/3xx ${nonok:-0}"
	cpu_report "$c0" "$c1"
	if [ "$reqs" = 0 ]; then
		missing "$fig" "no request answered"
		return 1
	fi
	if [ $(( errs * 100 )) -gt "$reqs" ]; then
		missing "$fig" "$errs errors in $reqs requests (more than 1 %)"
		return 1
	fi
	[ "$errs" -gt 0 ] && log "   ($errs errors, under 1 % of the requests)"
	RPS=$(awk -v r="$rps" 'BEGIN { printf "%.0f", r }')
	echo "$fig: $RPS rps"
}

# the backends' counters (new flows, packets) as "address new packets" lines
counters() {
	sctl -j vip show http 2>/dev/null | jq -r \
		'.backends[] | "\(.address) \(.stats.new_flows // 0) \(.stats.packets // 0)"'
}
snap_before() { counters >"$WORK/before"; }

# ---- run ------------------------------------------------------------------------------

log "== HTTP through the flow steering: wrk -t1 -c$CONNS, ${SECS} s per run after 1 s warm-up (load average $(cut -d" " -f1-3 /proc/loadavg))"
net_setup || give_up "cannot build the test network"
for n in $BACKENDS; do nginx_start "$n"; done
for n in $BACKENDS; do
	if ! wait_for 5000 answers "http://198.18.0.1$n/" "b$n"; then
		sed 's/^/   | /' "$WORK/b$n/error.log" >&2
		give_up "nginx b$n does not answer"
	fi
done

DIRECT= STEERED=
log "-- direct: the client -> b1 (198.18.0.11)"
measure lb_http_rps_direct "http://198.18.0.11/" && DIRECT=$RPS

log "-- steered: the client -> VIP $VIP (DSR) -> b1, b2, b3"
if ! steerd_start; then
	missing lb_http_rps_steered "steerd did not start"
elif ! wait_for 10000 backends_up; then
	log "   $(sctl -j vip show http 2>&1 | jq -c '.backends' 2>/dev/null)"
	missing lb_http_rps_steered "the VIP's backends are not all up with their MACs"
elif ! wait_for 3000 vip_answers; then
	missing lb_http_rps_steered "the VIP does not answer"
else
	BEFORE_RUN=snap_before
	measure lb_http_rps_steered "http://$VIP/" && STEERED=$RPS
	BEFORE_RUN=
	# the split of the measured run, from xdp_steer's per-backend counters
	counters >"$WORK/after"
	split=$(join "$WORK/before" "$WORK/after" | awk '
		{ a[NR] = $1; n[NR] = $4 - $2; p[NR] = $5 - $3; tn += n[NR]; tp += p[NR] }
		END { for (i = 1; i <= NR; i++)
			printf "%s %d new flows %d packets (%.0f %% of the flows, %.0f %% of the packets)\n",
			       a[i], n[i], p[i], tn ? 100 * n[i] / tn : 0, tp ? 100 * p[i] / tp : 0 }')
	if [ -z "$split" ]; then
		problem "lb_http_rps_steered: no per-backend counters from steerctl"
	else
		log "   split of the measured run (from steerctl vip show http):"
		sed 's/^/     /' <<<"$split" >&2
		got=$(awk '$2 > 0 && $5 > 0' <<<"$split" | wc -l)
		[ "$got" = 3 ] ||
			problem "lb_http_rps_steered: only $got of 3 backends received flows"
	fi
	vs=$(sctl -j vip show http 2>/dev/null | jq -c '.stats // {}')
	log "   VIP counters: $vs"
	fails=$(jq -r '(.no_backend // 0) + (.fib_fail // 0)' <<<"$vs" 2>/dev/null)
	[ "${fails:-0}" = 0 ] ||
		log "   (the VIP counted $fails packets without a backend or FIB route)"
fi

if [ -n "$DIRECT" ] && [ -n "$STEERED" ]; then
	echo "lb_http_steered_vs_direct_ratio: $(awk -v a="$STEERED" -v b="$DIRECT" \
		'BEGIN { printf "%.2f", a / b }') x"
else
	missing lb_http_steered_vs_direct_ratio "a figure it needs is missing"
fi

if [ ${#PROBLEMS[@]} -gt 0 ]; then
	log "== problems seen:"
	for p in "${PROBLEMS[@]}"; do log "   $p"; done
fi
if [ ${#MISSING[@]} -gt 0 ]; then
	log "== figures missing: ${MISSING[*]}"
	exit 1
fi
[ ${#PROBLEMS[@]} = 0 ] || exit 1
exit 0
