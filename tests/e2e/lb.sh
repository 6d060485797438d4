#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Flow steering end to end: a client, a PoP running xdp_steer and three
# nginx backends on one bridge (198.18.0.0/24).  VIP 198.18.100.1:80 is
# steered by DSR (the backends own the VIP on loopback and answer the
# client directly), 198.18.100.1:8080 by IP-in-IP (the backends strip it
# with xdp_decap).  Real HTTP requests reach every backend in the
# expected shares; a slow download survives other backends being added,
# removed and drained; a drained or killed backend gets no new flows.
. "$(dirname "$0")/lib.sh"
e2e_init lb
command -v nginx >/dev/null || e2e_skip_all "nginx not installed (make deps)"
[ -e "$OUT/bpf/decap.bpf.o" ] || e2e_skip_all "decap.bpf.o not built"

VIP=198.18.100.1
SW=ps-$E2E_ID-sw
POP=ps-$E2E_ID-pop
CLI=ps-$E2E_ID-cli
netns "$SW"
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
# port NS IF ADDR: a namespace on the bridge
port() {
	local ns=$1 ifn=$2 addr=$3
	ip link add "$ifn" netns "$ns" type veth peer name "p-$ifn" netns "$SW"
	ip -n "$SW" link set "p-$ifn" master br0 up
	# XDP_TX frames reach the bridge only if the peer runs XDP
	ip -n "$SW" link set dev "p-$ifn" xdp obj "$OUT/bpf/xdp_pass.bpf.o" sec xdp
	ip -n "$ns" addr add "$addr/24" dev "$ifn"
	ip -n "$ns" link set "$ifn" up
}
netns "$POP"
netns "$CLI"
port "$POP" veth-pop 198.18.0.1
port "$CLI" veth-cli 198.18.0.2
ip -n "$CLI" route add 198.18.100.0/24 via 198.18.0.1
# veth hands the stack's frames over with checksums left to "hardware";
# a frame the PoP's XDP sends on (XDP_TX) loses that note, so the client
# computes its checksums itself, as frames from a real NIC have them
ip netns exec "$CLI" ethtool -K veth-cli tx off >/dev/null
# the kernel's FIB lookup for XDP (ipip's next hop) wants a forwarding
# interface
ip netns exec "$POP" sysctl -qw net.ipv4.ip_forward=1
# replies come from the VIP, not from the PoP the requests went to
ip netns exec "$CLI" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-cli.rp_filter=0

# backend N: nginx on 198.18.0.1N (probes) and the VIP (steered), answering
# with its name; /big is 2 MB for slow downloads
NGX_PIDS=()
backend() {
	local n=$1 ns=ps-$E2E_ID-b$1 dir=$E2E_DIR/b$1
	netns "$ns"
	port "$ns" "vb$n" "198.18.0.1$n"
	ip -n "$ns" addr add "$VIP/32" dev lo
	# the VIP is not theirs to answer ARP for
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
		"net.ipv4.conf.vb$n.rp_filter=0"
	ip -n "$ns" link set dev "vb$n" xdp obj "$OUT/bpf/decap.bpf.o" sec xdp ||
		fail "decap_attach_b$n" "cannot attach xdp_decap"
	mkdir -p "$dir/www" "$dir/tmp"
	echo "b$n" >"$dir/www/id"
	head -c 2000000 /dev/zero | tr '\0' 'x' >"$dir/www/big"
	cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 198.18.0.1$n:80; listen $VIP:80; listen $VIP:8080;
        root $dir/www;
        add_header X-Backend b$n;
        location = / { return 200 "b$n\n"; }
        location = /health { return 200 "ok\n"; }
    }
}
CONF
	ip netns exec "$ns" nginx -c "$dir/nginx.conf" -p "$dir" 2>>"$dir/error.log" &
	NGX_PIDS[$n]=$!
	E2E_PIDS+=("$!")
}
nkill() {
	kill "${NGX_PIDS[$1]}" 2>/dev/null
	wait "${NGX_PIDS[$1]}" 2>/dev/null
}
for n in 1 2 3 4; do backend $n; done

{
	conf_head
	cat <<CONF
dns = { listen = [ "198.18.0.1" ]; };
lb = { ipip_source4 = "198.18.250.0/24"; };
zones = ( { name = "cdn.example";
            soa = { mname = "ns.cdn.example"; rname = "ops.cdn.example"; };
            ns = [ "ns.cdn.example" ]; } );
pools = ( { name = "web";
            probes = ( { kind = "http"; url = "http://{address}/health"; interval = 200; },
                       { kind = "traffic"; interval = 500; } );
            servers = ( { address = "198.18.0.11"; }, { address = "198.18.0.12"; },
                        { address = "198.18.0.13"; } ); } );
names = ( { name = "www.cdn.example"; pool = "web"; } );
vips = ( { name = "http"; address = "$VIP"; port = 80; protocol = "tcp"; mode = "dsr"; pool = "web"; },
         { name = "http-ipip"; address = "$VIP"; port = 8080; protocol = "tcp"; mode = "ipip";
           pool = "web"; table_size = 251; } );
CONF
} >"$E2E_DIR/steerd.conf"
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/steerd.log" || exit 1

now_ms() { date +%s%3N; }
wait_for() {
	local end=$(( $(now_ms) + $1 )); shift
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# get URL: the body, one request on a new connection
get() { ip netns exec "$CLI" curl -s --max-time 3 "$@"; }
# spread N PORT: "b1 b2 b3 ..." counts of N requests
spread() {
	for _ in $(seq "$1"); do get "http://$VIP:$2/"; done | sort | uniq -c |
		awk '{ printf "%s=%s ", $2, $1 }'
}
backends_up() {
	sctl -j vip show http | jq -e '[.backends[] | select(.state == "up" and .mac != null)] | length == 3' >/dev/null
}
wait_for 5000 backends_up && pass backends_learned ||
	fail backends_learned "$(sctl -j vip show http)"

# ---- shares ------------------------------------------------------------------
s=$(spread 300 80)
echo "# dsr, 300 requests: $s"
ok=1
for b in b1 b2 b3; do
	c=$(echo "$s" | tr ' ' '\n' | awk -F= -v b=$b '$1 == b { print $2 }')
	[ "${c:-0}" -ge 60 ] && [ "${c:-0}" -le 140 ] || ok=0
done
[ "$(echo "$s" | tr ' ' '\n' | awk -F= '{ t += $2 } END { print t }')" = 300 ] || ok=0
[ $ok = 1 ] && pass dsr_shares || fail dsr_shares "$s"
s=$(spread 150 8080)
echo "# ipip, 150 requests: $s"
[ "$(echo "$s" | tr ' ' '\n' | awk -F= '{ t += $2 } END { print t }')" = 150 ] &&
	[ "$(echo "$s" | wc -w)" = 3 ] && pass ipip_all_backends || fail ipip_all_backends "$s"
# a backend's counters cover every VIP it serves
st=$(sctl -j vip list)
echo "$st" | jq -e '.[0].stats.new_flows >= 300 and .[1].stats.new_flows >= 150 and
	.[0].stats.packets > .[0].stats.new_flows and
	([.[0].backends[].stats.new_flows] | add) == .[0].stats.new_flows + .[1].stats.new_flows' >/dev/null &&
	pass counters || fail counters "$st"

# the traffic probes read what XDP counted for each backend
tr=$(sctl -j server list pool web | jq -c '[.[] | .metrics.traffic_pps.smooth // 0]')
echo "# traffic, packets/s smoothed: $tr"
echo "$tr" | jq -e 'length == 3 and all(. > 0)' >/dev/null && pass traffic_metric ||
	fail traffic_metric "$tr"

# weights move new flows: b3 twice the others
sctl server set web 198.18.0.13 weight 200 >/dev/null
s=$(spread 300 80)
echo "# b3 weight 200, 300 requests: $s"
c3=$(echo "$s" | tr ' ' '\n' | awk -F= '$1 == "b3" { print $2 }')
[ "${c3:-0}" -ge 120 ] && [ "${c3:-0}" -le 180 ] && pass weight_shares || fail weight_shares "$s"
sctl server set web 198.18.0.13 weight 100 >/dev/null

# wrk: 48 keep-alive connections for 2 s spread over the three backends,
# none of its requests failing
if command -v wrk >/dev/null; then
	sleep 1.5	# the weight is back in the table
	before=$(sctl -j vip show http | jq -c '[.backends[] | .stats.new_flows // 0]')
	w=$(ip netns exec "$CLI" timeout 20 wrk -t1 -c48 -d2s "http://$VIP/" 2>&1)
	after=$(sctl -j vip show http | jq -c '[.backends[] | .stats.new_flows // 0]')
	flows=$(jq -nc --argjson a "$after" --argjson b "$before" '[range(0; 3) as $i | $a[$i] - $b[$i]]')
	reqs=$(awk '/requests in/ { print $1 }' <<<"$w")
	echo "# wrk: ${reqs:-?} requests, new flows per backend $flows"
	if [ "${reqs:-0}" -gt 0 ] && ! grep -q 'Socket errors\|Non-2xx' <<<"$w" &&
	   jq -e 'length == 3 and all(. >= 4)' <<<"$flows" >/dev/null; then
		pass wrk_all_backends
	else
		fail wrk_all_backends "$flows $w"
	fi
else
	echo "SKIP lb.wrk_all_backends: wrk not installed (make deps)"
fi

# ---- a long download survives changes of the other backends ----------------------
# 2 MB at 400 kB/s: 5 s on one connection
ip netns exec "$CLI" curl -s --max-time 30 --limit-rate 400k -D "$E2E_DIR/dl.head" \
	-o "$E2E_DIR/dl.body" "http://$VIP/big" &
DL=$!
E2E_PIDS+=("$DL")
wait_for 3000 grep -qs "X-Backend" "$E2E_DIR/dl.head"
mine=$(awk '/X-Backend/ { print $2 }' "$E2E_DIR/dl.head" | tr -d '\r')
others=$(for b in b1 b2 b3; do [ "$b" != "$mine" ] && echo "$b"; done)
echo "# the download is on $mine"
o1=$(echo "$others" | head -1); o2=$(echo "$others" | tail -1)
# add b4, remove one other, drain the download's own backend
sctl server add web 198.18.0.14 >/dev/null && pass add_backend || fail add_backend "server add"
sctl server del web "198.18.0.1${o1#b}" >/dev/null && pass del_backend || fail del_backend "server del"
sctl server set web "198.18.0.1${mine#b}" state drain >/dev/null
sleep 1
s=$(spread 60 80)
echo "# during the download (b4 added, $o1 removed, $mine draining): $s"
echo "$s" | grep -q "$mine=" && fail drain_no_new_flows "$s" || pass drain_no_new_flows
echo "$s" | grep -q "$o1=" && fail removed_no_new_flows "$s" || pass removed_no_new_flows
echo "$s" | grep -q "b4=" && pass added_gets_flows || fail added_gets_flows "$s"
wait $DL
rc=$?
size=$(stat -c %s "$E2E_DIR/dl.body" 2>/dev/null)
[ "$rc" = 0 ] && [ "$size" = 2000000 ] && [ "$(tr -d x <"$E2E_DIR/dl.body" | wc -c)" = 0 ] &&
	pass established_survives || fail established_survives "curl $rc, $size bytes"
sctl server set web "198.18.0.1${mine#b}" state up >/dev/null
sctl server add web "198.18.0.1${o1#b}" >/dev/null

# ---- a killed backend gets no new flows -------------------------------------------
nkill "${o2#b}"
gone() { sctl -j vip show http | jq -e --arg a "198.18.0.1${o2#b}" \
	'.backends[] | select(.address == $a) | .state == "out"' >/dev/null; }
wait_for 3000 gone && pass killed_out || fail killed_out "$(sctl -j vip show http)"
s=$(spread 60 80)
echo "# $o2 killed: $s"
n=$(echo "$s" | tr ' ' '\n' | awk -F= '{ t += $2 } END { print t }')
! echo "$s" | grep -q "$o2=" && [ "$n" = 60 ] && pass killed_no_new_flows ||
	fail killed_no_new_flows "$s"

# weight 0 takes a backend out of new flows, as draining does (its
# established flows stay)
alive=$(for b in b1 b2 b4; do [ "$b" != "$o2" ] && echo "$b"; done | head -1)
sctl server set web "198.18.0.1${alive#b}" weight 0 >/dev/null
w0() { sctl -j vip show http | jq -e --arg a "198.18.0.1${alive#b}" \
	'.backends[] | select(.address == $a) | .state == "drain"' >/dev/null; }
if wait_for 3000 w0; then
	s=$(spread 40 80)
	echo "# $alive at weight 0: $s"
	echo "$s" | grep -q "$alive=" && fail weight0_drains "$s" || pass weight0_drains
else
	fail weight0_drains "$(sctl -j vip show http)"
fi
sctl server set web "198.18.0.1${alive#b}" weight 100 >/dev/null

# ---- steerctl views ------------------------------------------------------------------
run() { out=$("$@" 2>"$E2E_DIR/err"); rc=$?; err=$(cat "$E2E_DIR/err"); }
run sctl vip list
[ "$rc" = 0 ] && echo "$out" | grep -q "^http  *$VIP  *80  *tcp  *dsr  *web  *4 " &&
	pass vip_list || fail vip_list "$rc $out $err"
run sctl vip show http
[ "$rc" = 0 ] && echo "$out" | grep -q "^BACKEND  *REAL  *STATE  *MAC" &&
	echo "$out" | grep -q "^mode  *dsr$" && pass vip_show || fail vip_show "$rc $out $err"
run sctl vip add bad address $VIP port 80 pool web
[ "$rc" = 1 ] && echo "$err" | grep -q "the same address, port and protocol as vip 'http'" &&
	pass vip_duplicate_refused || fail vip_duplicate_refused "$rc $err"
run sctl vip add bad address 198.18.100.2 port 80 pool nope
[ "$rc" = 1 ] && echo "$err" | grep -q "no pool named 'nope'" &&
	pass vip_bad_pool_refused || fail vip_bad_pool_refused "$rc $err"
run sctl pool del web
[ "$rc" = 1 ] && echo "$err" | grep -q "used by" && pass pool_in_use || fail pool_in_use "$rc $err"
# a pool that only a VIP uses cannot go either
sctl pool add vonly server 198.18.0.11 >/dev/null &&
	sctl vip add v2 address 198.18.100.3 port 80 pool vonly >/dev/null
run sctl pool del vonly
[ "$rc" = 1 ] && echo "$err" | grep -q "pool 'vonly' is used by vip 'v2'" &&
	pass pool_in_use_by_vip || fail pool_in_use_by_vip "$rc $err"
sctl vip del v2 >/dev/null && sctl pool del vonly >/dev/null &&
	pass pool_del_after_vip || fail pool_del_after_vip "vip del / pool del"
# the traffic metric can be weighted from steerctl
sctl pool set web traffic-weight 0.5 traffic-ref 1000 >/dev/null &&
	sctl -j pool show web | jq -e '.scoring.traffic == 0.5 and .scoring.traffic_ref == 1000' >/dev/null &&
	pass traffic_weight_set || fail traffic_weight_set "$(sctl -j pool show web | jq -c .scoring)"
sctl pool set web traffic-weight 0 >/dev/null
sctl vip add udp53 address 198.18.100.2 port 5353 protocol udp pool web >/dev/null &&
	[ "$(sctl -j vip show udp53 | jq -r .protocol)" = udp ] && pass vip_add ||
	fail vip_add "$(sctl vip show udp53 2>&1)"
sctl vip del udp53 >/dev/null && ! sctl vip show udp53 >/dev/null 2>&1 &&
	pass vip_del || fail vip_del "still there"

# ---- restart: flows and ids stay -----------------------------------------------------------
before=$(sctl -j vip show http | jq -c '[.backends[] | {address, real}] | sort_by(.address)')
stop_steerd
s=$(spread 30 80)
n=$(echo "$s" | tr ' ' '\n' | awk -F= '{ t += $2 } END { print t }')
check_eq steered_without_steerd 30 "$n"
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/steerd2.log" || exit 1
check_eq real_ids_kept "$before" \
	"$(sctl -j vip show http | jq -c '[.backends[] | {address, real}] | sort_by(.address)')"

exit $E2E_FAILED
