# SPDX-License-Identifier: GPL-2.0-only
# Helpers for end-to-end tests in network namespaces.  Source it, then
# call e2e_init NAME.  Everything a test creates (namespaces, bpffs mount,
# processes) is removed on exit, also when the test fails or is killed.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$TOP/build}
[ "${OUT#/}" = "$OUT" ] && OUT=$TOP/$OUT

# PS_TIME_SCALE: how many times slower than on this machine the tests run
# (make vm-test sets it: qemu without KVM); time bounds and probe timeouts
# that depend on the CPU's speed scale by it
TS=${PS_TIME_SCALE:-1}
case "$TS" in ''|*[!0-9]*|0) TS=1 ;; esac
ts() { echo $(( $1 * TS )); }	# ts MS: MS scaled

E2E_PIDS=()
E2E_NETNS=()
E2E_FAILED=0

e2e_skip_all() {
	echo "SKIP $E2E_NAME: $1"
	exit 0
}

# e2e_init NAME: checks capabilities, sets up the work dir and cleanup
e2e_init() {
	E2E_NAME=$1
	[ "$(id -u)" = 0 ] || e2e_skip_all "needs root (network namespaces, XDP)"
	command -v dig >/dev/null || e2e_skip_all "dig not installed (make deps)"
	ip netns add "ps-probe-$$" 2>/dev/null || e2e_skip_all "cannot create network namespaces"
	ip netns del "ps-probe-$$"
	E2E_ID="$$"
	E2E_DIR=/run/popsteer-test/$E2E_ID
	mkdir -p "$E2E_DIR/bpffs"
	mount -t bpf bpf "$E2E_DIR/bpffs" || e2e_skip_all "cannot mount bpffs"
	E2E_PIN=$E2E_DIR/bpffs/tc/globals
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
}

e2e_cleanup() {
	local p ns
	for p in "${E2E_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${E2E_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	umount "$E2E_DIR/bpffs" 2>/dev/null
	rm -rf "$E2E_DIR"
	rmdir /run/popsteer-test 2>/dev/null
	return 0
}

pass() { echo "PASS $E2E_NAME.$1"; }
fail() { echo "FAIL $E2E_NAME.$1: $2"; E2E_FAILED=1; }

# check NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# netns NAME: a namespace removed at exit
netns() {
	ip netns add "$1"
	E2E_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# A PoP and a client joined by one veth pair:
#   $POP veth-pop 198.18.0.1/24 2001:2::1/64
#   $CLI veth-cli 198.18.0.2/24 2001:2::2/64 (runs xdp_pass: veth only
#   delivers XDP_TX frames to a peer that runs XDP)
topo_pop_client() {
	POP=ps-$E2E_ID-pop
	CLI=ps-$E2E_ID-cli
	netns "$POP"
	netns "$CLI"
	ip link add veth-pop netns "$POP" type veth peer name veth-cli netns "$CLI"
	ip -n "$POP" addr add 198.18.0.1/24 dev veth-pop
	ip -n "$POP" addr add 2001:2::1/64 dev veth-pop nodad
	ip -n "$CLI" addr add 198.18.0.2/24 dev veth-cli
	ip -n "$CLI" addr add 2001:2::2/64 dev veth-cli nodad
	ip -n "$POP" link set veth-pop up
	ip -n "$CLI" link set veth-cli up
	ip -n "$CLI" link set dev veth-cli xdp obj "$OUT/bpf/xdp_pass.bpf.o" sec xdp
}

# start_steerd CONF LOG: steerd in $POP; waits until it serves
start_steerd() {
	local conf=$1 log=$2 i
	ip netns exec "$POP" "$OUT/steerd" -c "$conf" >"$log" 2>&1 &
	STEERD_PID=$!
	E2E_PIDS+=("$STEERD_PID")
	for i in $(seq 50); do
		grep -qs "^serving" "$log" && return 0
		kill -0 "$STEERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "steerd did not start:" >&2
	cat "$log" >&2
	return 1
}

stop_steerd() {
	kill "$STEERD_PID" 2>/dev/null
	wait "$STEERD_PID" 2>/dev/null
}

# cdig ARGS: dig from the client namespace, no recursion, short timeout
cdig() {
	ip netns exec "$CLI" dig +norec +time=1 +tries=2 "$@"
}

# status of a reply: NOERROR, NXDOMAIN, ... or "timeout"
dig_status() {
	cdig "$@" | awk '/status:/ { sub(",", "", $6); print $6; found=1 }
			 END { if (!found) print "timeout" }'
}

# counters summed over CPUs, as JSON array (order: enum ps_stat)
stats() {
	bpftool -j map dump pinned "$E2E_PIN/ps_stats" |
		jq -c '[.[0].formatted.values[].value.c] | transpose | map(add)'
}

# sctl ARGS: steerctl against this test's steerd and maps
sctl() {
	"$OUT/steerctl" -s "$E2E_DIR/steerd.sock" -B "$E2E_DIR/bpffs" "$@"
}

# conf_head: the per-test settings every steerd config here starts with
conf_head() {
	cat <<CONF
interfaces = [ "veth-pop" ];
bpffs = "$E2E_DIR/bpffs";
control_socket = "$E2E_DIR/steerd.sock";
state_file = "$E2E_DIR/state/state.conf";
CONF
}

# conf_cdn: a zone cdn.example with www -> pool "web" (198.18.7.1), the
# small config several tests start from (after conf_head)
conf_cdn() {
	cat <<'CONF'
dns = { listen = [ "198.18.0.1" ]; };
zones = ( { name = "cdn.example";
            soa = { mname = "ns.cdn.example"; rname = "ops.cdn.example"; };
            ns = [ "ns.cdn.example" ]; } );
pools = ( { name = "web"; servers = ( { address = "198.18.7.1"; } ); } );
names = ( { name = "www.cdn.example"; pool = "web"; } );
CONF
}

# lab_init: for tests that build a vm/lab: skips if a lab is up already;
# the lab is taken down at exit once LAB_OURS=1 (set before vm/lab up)
lab_init() {
	LABC=$TOP/vm/lab
	LABD=/run/popsteer-lab
	if [ -e "$LABD" ] || ip netns list | grep -q '^psl-'; then
		e2e_skip_all "a lab is already up (vm/lab down first)"
	fi
	LAB_OURS=0
	trap lab_exit EXIT
}
lab_exit() {
	[ "$LAB_OURS" = 1 ] && "$LABC" down >/dev/null 2>&1
	e2e_cleanup
}
