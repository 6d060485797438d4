#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: a PoP, a client and two origins in network namespaces.
# steerd loads a config and attaches the XDP program; the client's queries
# are answered in the PoP's NIC driver (UDP) and by steerd (TCP); steerctl
# changes a pool live; steerd probes the origins and the answers follow
# their load and health; HTTP connections to a VIP are steered in XDP
# (IP-in-IP) to the least-loaded origin, and follow when the loads swap;
# steerd is killed and restarted while a query loop runs, and not one
# query goes unanswered.  Then a network of PoPs (vm/lab) sharing config
# and measurements through etcd: resolvers' answers, the scores behind
# them, each PoP's best PoP for a static name, a PoP's VIP loaded (counted
# by that PoP alone, shared) and the others moving away from it, a cache
# miss filled from the least-loaded origin then a hit, an origin made busy
# and every PoP's answer moving, a PoP's cache down and static answers
# moving to the others.  Everything is removed at the end.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$TOP/build}
ID=$$
POP=psdemo-$ID-pop
CLI=psdemo-$ID-cli
ORG1=psdemo-$ID-org1
ORG2=psdemo-$ID-org2
ORIGIN_PIDS=()
DIR=/run/popsteer-demo/$ID
STEERD_PID=
LOOP_PID=
LAB_UP=

[ "$(id -u)" = 0 ] || { echo "Error: make demo needs root (namespaces, XDP)" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { sed 's/^/    /'; }
ctl() { printf '$ steerctl %s\n' "$*"; "$OUT/steerctl" -s "$DIR/steerd.sock" -B "$DIR/bpffs" "$@" | show; }
q() {	# q [+tcp] SERVER NAME TYPE
	printf '$ dig %s\n' "$*"
	ip netns exec "$CLI" dig +norec +time=1 "$@" +noall +answer +comments |
		grep -E 'status|^[a-zA-Z]' | sed 's/, id: [0-9]*//' | show
}
start_steerd() {	# start_steerd LOG
	ip netns exec "$POP" "$OUT/steerd" -c "$DIR/steerd.conf" >"$1" 2>&1 &
	STEERD_PID=$!
	for _ in $(seq 50); do
		grep -qs '^serving' "$1" && return 0
		sleep 0.1
	done
	echo "Error: steerd did not start:" >&2
	cat "$1" >&2
	exit 1
}

cleanup() {
	local e=0
	[[ $- == *e* ]] && e=1
	set +e		# teardown: whatever is gone already
	[ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null
	[ -n "$STEERD_PID" ] && kill "$STEERD_PID" 2>/dev/null && wait "$STEERD_PID" 2>/dev/null
	for p in "${ORIGIN_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	ip netns del "$ORG1" 2>/dev/null
	ip netns del "$ORG2" 2>/dev/null
	ip netns del "$POP" 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	umount "$DIR/bpffs" 2>/dev/null
	rm -rf "$DIR"
	rmdir /run/popsteer-demo 2>/dev/null
	[ "$e" = 0 ] || set -e
	true
}
trap cleanup EXIT

step "1. A PoP namespace and a client namespace joined by a veth pair (198.18.0.1 <-> 198.18.0.2)"
ip netns add "$POP"
ip netns add "$CLI"
ip link add veth-pop netns "$POP" type veth peer name veth-cli netns "$CLI"
ip -n "$POP" addr add 198.18.0.1/24 dev veth-pop
ip -n "$POP" addr add 2001:2::1/64 dev veth-pop nodad
ip -n "$CLI" addr add 198.18.0.2/24 dev veth-cli
ip -n "$CLI" addr add 2001:2::2/64 dev veth-cli nodad
for ns in "$POP" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$POP" link set veth-pop up
ip -n "$CLI" link set veth-cli up
# veth delivers XDP_TX frames only to a peer that runs XDP
ip -n "$CLI" link set dev veth-cli xdp obj "$OUT/bpf/xdp_pass.bpf.o" sec xdp
# ip netns exec gives each command its own /sys: pin where all see it
mkdir -p "$DIR/bpffs"
mount -t bpf bpf "$DIR/bpffs"

step "2. steerd's config: zone shop.example; www (dynamic) -> the origin pool, static -> the PoP pool"
cat >"$DIR/steerd.conf" <<CONF
interfaces = [ "veth-pop" ];
bpffs = "$DIR/bpffs";
control_socket = "$DIR/steerd.sock";
state_file = "$DIR/state.conf";
dns = { listen = [ "198.18.0.1", "2001:2::1" ]; };
zones = ( { name = "shop.example";
            soa = { mname = "ns1.shop.example"; rname = "hostmaster@shop.example"; serial = 1; };
            ns = [ "ns1.shop.example" ]; } );
pools = (
  { name = "shop-origins"; answers = 1; ttl = 20;
    servers = ( { address = "198.18.10.1"; }, { address = "2001:2:10::1"; } ); },
  { name = "api-origins"; policy = "lowest"; ttl = 5;
    probes = ( { kind = "http"; url = "http://{address}/health"; interval = 500; },
               { kind = "load"; interval = 500; } );
    servers = ( { address = "198.18.30.1"; }, { address = "198.18.30.2"; } ); },
  { name = "pops"; answers = 2; select = "hash"; ttl = 60;
    servers = ( { address = "198.18.20.1"; }, { address = "198.18.20.2"; },
                { address = "198.18.20.3"; } ); }
);
lb = { ipip_source4 = "198.18.250.0/24"; };
vips = ( { name = "api-http"; address = "198.18.100.1"; port = 80; mode = "ipip";
           pool = "api-origins"; } );
names = ( { name = "www.shop.example"; pool = "shop-origins"; },
          { name = "api.shop.example"; pool = "api-origins"; },
          { name = "static.shop.example"; pool = "pops"; } );
CONF
show <"$DIR/steerd.conf"

step "3. steerd fills the pinned maps, then attaches the XDP program"
start_steerd "$DIR/steerd.log"
show <"$DIR/steerd.log"
ctl prog show

step "4. Answers: over UDP from the XDP program, over TCP from steerd, the same"
q @198.18.0.1 www.shop.example A
q +tcp @198.18.0.1 www.shop.example A
q @2001:2::1 www.shop.example AAAA
q @198.18.0.1 static.shop.example A
q @198.18.0.1 nothere.shop.example A

step "5. steerctl changes the origin pool live: a new origin, the old one drained (weight 0)"
ctl server add shop-origins 198.18.10.2
ctl server set shop-origins 198.18.10.1 weight 0
ctl pool show shop-origins
q @198.18.0.1 www.shop.example A
q +tcp @198.18.0.1 www.shop.example A

step "6. Load-driven answers: api.shop.example -> the least-loaded of two origins steerd probes"
# two origins (the test origin server, whose CPU load and health the demo
# sets) behind the PoP, each in its namespace on a link of its own,
# probed over HTTP (/health) and for load (/load); they also serve the
# VIP 198.18.100.1 (on lo), whose IP-in-IP packets xdp_decap unwraps
ip netns exec "$POP" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0
for n in 1 2; do
	ns=psdemo-$ID-org$n
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip link add "veth-o$n" netns "$POP" type veth peer name veth-o netns "$ns"
	ip -n "$POP" addr add 198.18.30.254/32 dev "veth-o$n"
	ip -n "$POP" link set "veth-o$n" up
	ip -n "$POP" route add "198.18.30.$n/32" dev "veth-o$n"
	ip -n "$ns" addr add "198.18.30.$n/24" dev veth-o
	ip -n "$ns" addr add 198.18.100.1/32 dev lo
	ip -n "$ns" link set veth-o up
	ip -n "$ns" route add default via 198.18.30.254 dev veth-o onlink
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-o.rp_filter=0
	ip -n "$ns" link set dev veth-o xdp obj "$OUT/bpf/decap.bpf.o" sec xdp
done
origin() {	# origin N CPU
	printf 'cpu=%s\nkeepalive=1\nbody=origin %s\n' "$2" "$1" >"$DIR/o$1.state"
	ip netns exec "psdemo-$ID-org$1" "$OUT/tests/ps-origin" -s "$DIR/o$1.state" \
		-l "198.18.30.$1:80" -l "198.18.30.$1:9100" -l 198.18.100.1:80 2>/dev/null &
	ORIGIN_PIDS[$1]=$!
}
load() {	# load N CPU
	printf 'cpu=%s\nkeepalive=1\nbody=origin %s\n' "$2" "$1" >"$DIR/o$1.state"
}
# N connections to the VIP: which origin answered each
http_spread() {
	printf '$ for i in $(seq %s); do curl -s http://198.18.100.1/health; done | sort | uniq -c\n' "$1"
	for _ in $(seq "$1"); do
		ip netns exec "$CLI" curl -s --max-time 2 http://198.18.100.1/health; echo
	done | sort | uniq -c | show
}
origin 1 0.70
origin 2 0.20
echo "    origin 198.18.30.1 at 70 % CPU, 198.18.30.2 at 20 %"
sleep 2
ctl server list pool api-origins
q @198.18.0.1 api.shop.example A
echo "    the loads swap: 198.18.30.1 at 10 %, 198.18.30.2 at 90 %"
load 1 0.10
load 2 0.90
sleep 2.5
q @198.18.0.1 api.shop.example A
echo "    198.18.30.1 dies (its server process is killed)"
kill "${ORIGIN_PIDS[1]}"; wait "${ORIGIN_PIDS[1]}" 2>/dev/null || true
sleep 2.5
grep "198.18.30.1 down" "$DIR/steerd.log" | show
q @198.18.0.1 api.shop.example A
ctl server show api-origins 198.18.30.1

step "7. Flow steering: HTTP to the VIP 198.18.100.1:80 goes in XDP (IP-in-IP) to the least-loaded origin"
# the client's frames come back out of the PoP's XDP program: their
# checksums must be in them, as from a real NIC
ip netns exec "$CLI" ethtool -K veth-cli tx off >/dev/null
ip -n "$CLI" route add 198.18.100.0/24 via 198.18.0.1
echo "    origin 198.18.30.1 comes back at 10 % CPU; 198.18.30.2 is at 90 %"
origin 1 0.10
sleep 2
http_spread 10
echo "    the loads swap: 198.18.30.1 at 95 %, 198.18.30.2 at 5 %"
load 1 0.95
load 2 0.05
sleep 2.5
http_spread 10
ctl vip show api-http

step "8. A query loop runs while steerd is killed (-9) and restarted: count the unanswered"
for _ in $(seq 20000); do echo "www.shop.example A"; done >"$DIR/queries"
ip netns exec "$CLI" dig +norec +tries=1 +time=1 @198.18.0.1 +short -f "$DIR/queries" >"$DIR/answers" 2>&1 &
LOOP_PID=$!
sleep 0.3
echo "    kill -9 steerd (pid $STEERD_PID)"
kill -9 "$STEERD_PID"; wait "$STEERD_PID" 2>/dev/null || true
sleep 0.3
start_steerd "$DIR/steerd2.log"
echo "    steerd restarted (pid $STEERD_PID):"
show <"$DIR/steerd2.log"
wait "$LOOP_PID" || true
LOOP_PID=
echo "    $(wc -l <"$DIR/queries") queries, $(grep -c '^198\.18\.10\.2$' "$DIR/answers") answered with the new origin, $(grep -c 'timed out\|error' "$DIR/answers") unanswered"

step "9. The runtime change survived the restart; the program's per-CPU counters"
ctl server list pool shop-origins
ctl stats show

step "10. A network of PoPs (vm/lab): 3 PoPs with caches, 2 customers with 3 origins each, 2 regions"
# the single-PoP part is done: its namespaces go first
cleanup
lab_cleanup() {
	cleanup
	[ -z "$LAB_UP" ] || "$TOP/vm/lab" down >/dev/null 2>&1
	true
}
trap lab_cleanup EXIT
lab() { printf '$ vm/lab %s\n' "$*"; "$TOP/vm/lab" "$@" 2>&1 | show; }
labq() { "$TOP/vm/lab" "$@" 2>/dev/null; }
if [ -d /run/popsteer-lab ]; then
	echo "    a lab is up already (vm/lab down removes it): this part is skipped"
else
	LAB_UP=1
	lab up
	sleep 2		# the first probe rounds
	lab list
	echo "    the PoPs share one config through etcd (host store); each PoP's own file has"
	echo "    only its interface, address and VIP:"
	printf '$ vm/lab shared | head -4\n'
	labq shared | head -4 | show
	printf '$ vm/lab ctl pop1 status | grep store\n'
	labq ctl pop1 status | grep store | show
	echo "    region 1's client asks its resolver (unbound, stub zones to the PoPs):"
	printf '$ vm/lab exec cli1 dig +short www.shop.example static.shop.example\n'
	labq exec cli1 dig +short www.shop.example static.shop.example | show
	echo "    why that origin: every PoP probes the origins; pop1's view (lowest score wins):"
	lab ctl pop1 server list pool shop.example-origins
	echo "    a static object through the chosen PoP's VIP: its cache misses, fills from the"
	echo "    least-loaded origin (resolved through the PoP's own DNS), then hits"
	for _ in 1 2; do
		printf '$ vm/lab exec cli1 curl -si http://static.shop.example/static/logo.png\n'
		labq exec cli1 curl -si --max-time 3 http://static.shop.example/static/logo.png |
			grep -Ei '^HTTP|^X-Cache|^[0-9]' | tr -d '\r' | show
	done
	echo "    static.shop.example: each PoP answers the PoP it measures best from where it is"
	echo "    (request time to that PoP's cache from here + traffic at that PoP's VIP):"
	for p in 1 2 3; do
		printf '$ dig @198.18.0.1%s static.shop.example    (pop%s)\n' "$p" "$p"
		labq exec cli1 dig +short "@198.18.0.1$p" static.shop.example | show
	done
	echo "    pop2's VIP gets heavy traffic (wrk, 4 s). Only pop2's XDP counts it; pop1 and pop3"
	echo "    read it from what pop2 publishes in etcd, and stop answering pop2:"
	labq exec cli1 timeout 10 wrk -c4 -t1 -d4s http://198.18.5.12/health >/dev/null 2>&1 &
	wrk_pid=$!
	sleep 2.5
	for p in 1 2 3; do
		printf '$ dig @198.18.0.1%s static.shop.example    (pop%s)\n' "$p" "$p"
		labq exec cli1 dig +short "@198.18.0.1$p" static.shop.example | show
	done
	printf '$ vm/lab ctl pop1 server show pops 198.18.5.12 | grep -E "score|traffic"\n'
	labq ctl pop1 server show pops 198.18.5.12 | grep -E "^score|traffic" | show
	wait "$wrk_pid"
	low=$(labq exec cli1 dig +short www.shop.example | head -1)
	host=c1o${low##*.1}
	echo "    the origin answered ($low, $host) gets busy: 95 % CPU"
	lab set "$host" cpu=0.95
	sleep 2.5
	for p in 1 2 3; do
		printf '$ dig @198.18.0.1%s www.shop.example    (pop%s)\n' "$p" "$p"
		labq exec cli1 dig +short "@198.18.0.1$p" www.shop.example | show
	done
	lab ctl pop2 server list pool shop.example-origins
	vip=$(labq exec cli2 dig +short static.news.example | head -1)
	case "$vip" in 198.18.5.1[1-3]) n=$(( ${vip##*.} - 10 )) ;; *) n=1 ;; esac
	echo "    region 2's static.news.example is PoP $n ($vip); its cache goes down (link down)"
	labq exec "pop${n}cache" ip link set eth0 down
	sleep 4
	for _ in 1 2 3 4; do labq exec cli2 dig +short @198.18.0.11 static.news.example | head -1; done |
		sort | uniq -c | sed 's/^/answers: /' | show
	lab ctl pop1 server list pool pops
	lab down
	LAB_UP=
fi

step "Done: cleaning up namespaces and mounts"
