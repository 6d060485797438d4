#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vm/lab end to end: a lab of 2 PoPs, one customer with 3 origins and one
# region (unbound resolver + client) comes up from a description; every
# PoP answers www with the origin its own scores rank lowest, the client
# gets the same through its resolver, and when the origins' loads change
# every PoP follows within a bounded time; static.ZONE resolves at each PoP
# to the PoP it measures best (request time from it, and the traffic the
# PoP's VIP gets, which only that PoP counts and shares through etcd);
# the config is shared through etcd too (a change reaches every PoP, an
# etcd outage changes nothing); a static.ZONE answer is a
# PoP's VIP, steered (DSR) to that PoP's nginx cache, which fills a miss
# from the origin that PoP ranks lowest (www.ZONE through the PoP's DNS)
# and serves the next request from its cache; list and exec work; down
# leaves no namespace, mount, process or file behind.  The lab is always
# taken down at exit (also on failure or Ctrl-C).
. "$(dirname "$0")/lib.sh"
e2e_init lab
command -v unbound >/dev/null || e2e_skip_all "unbound not installed (apt-get install unbound)"
lab_init

ZONE=shop.example
POOL=$ZONE-origins
TTL=2
cat >"$E2E_DIR/lab.conf" <<CONF
# e2e: tests/e2e/lab.sh
pops 2
customer $ZONE 3     # c1o1 c1o2 c1o3
customer news.example 1   # c2o1: another customer, its own zone and origin
regions 1
ttl $TTL
interval 300
CONF

# ---- the description is checked ----------------------------------------------
printf 'pops 2\n\ncustomer %s 3\nregions x\n' "$ZONE" >"$E2E_DIR/bad.conf"
err=$("$LABC" up "$E2E_DIR/bad.conf" 2>&1); rc=$?
[ "$rc" = 2 ] && echo "$err" | grep -q "bad.conf:4: regions N" && pass bad_line_refused ||
	fail bad_line_refused "rc $rc: $err"
[ ! -e "$LABD" ] && pass bad_line_builds_nothing || fail bad_line_builds_nothing "$LABD exists"

# ---- up -----------------------------------------------------------------------
LAB_OURS=1
t0=$(date +%s%3N)
if out=$("$LABC" up "$E2E_DIR/lab.conf" 2>&1); then
	pass up
	echo "# $out"
else
	fail up "$out"
	exit 1
fi
err=$("$LABC" up "$E2E_DIR/lab.conf" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$err" | grep -q "a lab is up" && pass up_refused_when_up ||
	fail up_refused_when_up "rc $rc: $err"
"$LABC" status >"$E2E_DIR/status" 2>&1 && pass status || fail status "$(cat "$E2E_DIR/status")"

POPS="pop1 pop2"
declare -A POPADDR=([pop1]=198.18.0.11 [pop2]=198.18.0.12)
declare -A VIPPOP=([198.18.5.11]=pop1 [198.18.5.12]=pop2)
now_ms() { date +%s%3N; }
wait_for() {
	local end=$(( $(now_ms) + $1 * TS )); shift
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
# lowest POP: the usable origin with the lowest score on POP
lowest() {
	"$LABC" ctl "$1" -j server list pool "$POOL" 2>/dev/null |
		jq -r '[.[] | select(.usable)] | min_by(.score) | .address // "none"'
}
# answer POP: what POP answers for www, directly
answer() {
	"$LABC" exec cli1 dig +short +norec +time=1 +tries=1 "@${POPADDR[$1]}" "www.$ZONE" A 2>/dev/null | head -1
}
# resolved: what the client gets through its resolver (its resolv.conf)
resolved() {
	"$LABC" exec cli1 dig +short +time=1 +tries=2 "www.$ZONE" A 2>/dev/null | head -1
}
# all_answer ADDR: every PoP ranks ADDR lowest and answers it
all_answer() {
	local p
	for p in $POPS; do
		[ "$(lowest "$p")" = "$1" ] && [ "$(answer "$p")" = "$1" ] || return 1
	done
}
# consistent POP: POP answers the origin its scores rank lowest (read
# around the query: both the same)
consistent() {
	local l1 a l2
	l1=$(lowest "$1"); a=$(answer "$1"); l2=$(lowest "$1")
	[ "$l1" = "$l2" ] && [ "$a" = "$l1" ]
}
scores() {
	"$LABC" ctl "$1" -j server list pool "$POOL" 2>/dev/null |
		jq -r '[.[] | "\(.address)=\(.score * 1000 | round / 1000)"] | join(" ")'
}
# loads A B C: the three origins' CPU loads
loads() {
	"$LABC" set c1o1 "cpu=$1" && "$LABC" set c1o2 "cpu=$2" && "$LABC" set c1o3 "cpu=$3"
}

# ---- (a) every PoP answers the origin it scores lowest --------------------------
loads 0.70 0.20 0.50
wait_for 8000 all_answer 198.18.1.12
for p in $POPS; do
	if wait_for 3000 consistent "$p"; then
		pass "answers_lowest_$p"
	else
		fail "answers_lowest_$p" "answer $(answer "$p"), scores $(scores "$p")"
	fi
	echo "# $p: answers $(answer "$p"); scores $(scores "$p")"
done
# the metrics behind the scores, measured by the PoP: CPU (steer-agent),
# HTTP response time, TCP connect latency
"$LABC" ctl pop1 -j server list pool "$POOL" |
	jq -e 'length == 3 and all(.metrics.cpu.smooth != null and .metrics.response_ms.smooth != null and
		.metrics.latency_ms.smooth != null)' >/dev/null && pass origin_metrics ||
	fail origin_metrics "$("$LABC" ctl pop1 -j server list pool "$POOL" | jq -c '[.[].metrics]')"
# and the measured lowest is the least loaded origin
check_eq lowest_is_least_loaded 198.18.1.12 "$(lowest pop1)"

# ---- (b) the client, through its resolver, gets the same ----------------------------
# (the resolver asks either PoP: what one of them answers)
a1=$(answer pop1); a2=$(answer pop2)
r=$(resolved)
[ -n "$r" ] && { [ "$r" = "$a1" ] || [ "$r" = "$a2" ]; } && pass resolver_same_origin ||
	fail resolver_same_origin "resolver '$r', pop1 '$a1', pop2 '$a2'"
# another customer: its own zone, answered with its own origin
check_eq other_customer "198.18.1.21" \
	"$("$LABC" exec cli1 dig +short +time=1 +tries=2 www.news.example A 2>/dev/null | head -1)"
check_eq other_customer_zone "hostmaster.news.example." \
	"$("$LABC" exec cli1 dig +short +norec +time=1 +tries=2 @198.18.0.12 news.example SOA 2>/dev/null | awk '{ print $2 }')"
# the page: HTML from that origin's nginx
page=$("$LABC" exec cli1 curl -s --max-time 3 -w '\n%{remote_ip}' "http://www.$ZONE/" 2>&1)
r=$(echo "$page" | tail -1)
echo "$page" | grep -q "<h1>www.$ZONE</h1><p>served by c1o[1-3] ($r)</p>" &&
	[ -n "$r" ] && { [ "$r" = "$a1" ] || [ "$r" = "$a2" ]; } &&
	pass page_from_chosen_origin || fail page_from_chosen_origin "resolved $r, page '$page'"

# ---- (c) the loads change: every PoP follows ----------------------------------------
loads 0.60 0.80 0.10
t1=$(now_ms)
if wait_for 10000 all_answer 198.18.1.13; then
	pass follows_load_change
	echo "# every PoP answers 198.18.1.13 after $(( $(now_ms) - t1 )) ms"
else
	fail follows_load_change "pop1 $(answer pop1) ($(scores pop1)), pop2 $(answer pop2) ($(scores pop2))"
fi
for p in $POPS; do
	wait_for 3000 consistent "$p" && pass "answers_lowest_after_change_$p" ||
		fail "answers_lowest_after_change_$p" "answer $(answer "$p"), scores $(scores "$p")"
done
# the resolver's cache holds an answer at most TTL seconds
resolver_new() { [ "$(resolved)" = 198.18.1.13 ]; }
if wait_for $(( (TTL + 3) * 1000 )) resolver_new; then
	pass resolver_follows
	echo "# the resolver answers 198.18.1.13 after $(( $(now_ms) - t1 )) ms"
else
	fail resolver_follows "resolver answers $(resolved)"
fi
# an origin that fails its health checks is out, on every PoP
"$LABC" set c1o3 status=503
if wait_for 5000 all_answer 198.18.1.11; then pass unhealthy_out; else
	fail unhealthy_out "pop1 $(answer pop1) ($(scores pop1)), pop2 $(answer pop2)"
fi
"$LABC" set c1o3 status=200

# ---- (c2) static.ZONE: the best PoP as measured from each PoP --------------------------
# static_answer POP: POP's answer for static.ZONE; static_scores POP: its view
static_answer() {
	"$LABC" exec cli1 dig +short +norec +time=1 +tries=1 "@${POPADDR[$1]}" "static.$ZONE" A 2>/dev/null | head -1
}
static_scores() {
	"$LABC" ctl "$1" -j server list pool pops 2>/dev/null |
		jq -r '[.[] | "\(.address)=\(.score * 1000 | round / 1000)\(if .usable then "" else "(down)" end)"] | join(" ")'
}
# static_consistent POP: POP answers a usable PoP whose score is within the
# pool's margin (1.0: twice) of the best it measures
static_consistent() {
	local a
	a=$(static_answer "$1")
	[ -n "$a" ] && "$LABC" ctl "$1" -j server list pool pops 2>/dev/null |
		jq -e --arg a "$a" '[.[] | select(.usable)] as $u | ($u | min_by(.score) | .score) as $m |
			[$u[] | select(.address == $a and .score <= 2 * $m + 0.0005)] | length == 1' >/dev/null
}
for p in $POPS; do
	wait_for 3000 static_consistent "$p" && pass "static_best_$p" ||
		fail "static_best_$p" "answers $(static_answer "$p"); $(static_scores "$p")"
	echo "# $p: static.$ZONE -> $(static_answer "$p"); scores $(static_scores "$p")"
done
# the traffic a VIP gets is counted by its own PoP only, and shared: load
# pop2's VIP and no PoP answers it; pop1 knows the load from pop2
peer_traffic() {
	"$LABC" ctl pop1 -j server show pops 198.18.5.12 2>/dev/null |
		jq -e '.metrics.traffic_pps == null and .peers.metrics.traffic_pps > 100' >/dev/null
}
none_answers_vip2() { [ "$(static_answer pop1)" != 198.18.5.12 ] && [ "$(static_answer pop2)" != 198.18.5.12 ]; }
"$LABC" exec cli1 timeout 15 wrk -c4 -t1 -d6s http://198.18.5.12/health >"$E2E_DIR/wrk.out" 2>&1 &
WRK=$!
tl=$(now_ms)
if wait_for 5000 peer_traffic && wait_for 3000 none_answers_vip2; then
	echo "# pop2's VIP loaded: pop1 sees $("$LABC" ctl pop1 -j server show pops 198.18.5.12 | jq .peers.metrics.traffic_pps) pps from pop2, no PoP answers it after $(( $(now_ms) - tl )) ms"
	pass static_peer_traffic
else
	fail static_peer_traffic "pop1: $(static_answer pop1) ($(static_scores pop1)), pop2: $(static_answer pop2) ($(static_scores pop2)); $("$LABC" ctl pop1 -j server show pops 198.18.5.12 | jq -c .peers)"
fi
wait "$WRK"
grep -q "Requests/sec" "$E2E_DIR/wrk.out" && pass static_load_ran || fail static_load_ran "$(cat "$E2E_DIR/wrk.out")"

# ---- (c3) the store: config shared, a change reaches every PoP, an outage ---------------
check_eq store_peers_pop1 '["pop2"]' "$("$LABC" ctl pop1 -j status | jq -c .store.peers)"
check_eq store_peers_pop2 '["pop1"]' "$("$LABC" ctl pop2 -j status | jq -c .store.peers)"
"$LABC" shared >"$E2E_DIR/shared.conf" && grep -q "name = \"www.$ZONE\"" "$E2E_DIR/shared.conf" &&
	pass store_shared_printed || fail store_shared_printed "$(head -3 "$E2E_DIR/shared.conf")"
sed -i "s/^names = (/names = ( { name = \"cdn.$ZONE\"; pool = \"pop2\"; },/" "$E2E_DIR/shared.conf"
"$LABC" shared "$E2E_DIR/shared.conf"
shared_name() {
	local p
	for p in $POPS; do
		[ "$("$LABC" exec cli1 dig +short +norec +time=1 +tries=1 "@${POPADDR[$p]}" "cdn.$ZONE" A 2>/dev/null)" = 198.18.0.12 ] || return 1
	done
}
tc=$(now_ms)
wait_for 5000 shared_name && pass store_change_everywhere ||
	fail store_change_everywhere "cdn.$ZONE not answered by every PoP"
echo "# a shared config change answered by every PoP after $(( $(now_ms) - tc )) ms"
"$LABC" stop store >/dev/null 2>&1 && pass store_stopped || fail store_stopped "vm/lab stop store"
unreachable() { [ "$("$LABC" ctl pop1 -j status | jq -r .store.reachable)" = false ]; }
wait_for 5000 unreachable && pass store_unreachable_seen || fail store_unreachable_seen "$("$LABC" ctl pop1 -j status | jq -c .store)"
[ -n "$(answer pop1)" ] && shared_name && pass store_down_answers_go_on ||
	fail store_down_answers_go_on "pop1 '$(answer pop1)'"
"$LABC" start store >/dev/null 2>&1 && pass store_restarted || fail store_restarted "vm/lab start store"
reachable() { [ "$("$LABC" ctl pop1 -j status | jq -r .store.reachable)" = true ]; }
wait_for 8000 reachable && pass store_reachable_again || fail store_reachable_again "$("$LABC" ctl pop1 -j status | jq -c .store)"

# ---- (d) static.ZONE: a PoP's cache, filled from the lowest origin ------------------
wait_for 5000 all_answer 198.18.1.13
# static: the origins' /static/ requests (their nginx access logs), "ADDR=N ..."
static() {
	local j
	for j in 1 2 3; do
		echo -n "198.18.1.1$j=$(grep -c '"GET /static/' "$LABD/c1o$j/access.log" 2>/dev/null) "
	done
}
# get PATH [CURL ARGS]: through the client's resolver; sets IP CODE XC BODY
get() {
	local path=$1 out; shift
	out=$("$LABC" exec cli1 curl -s --max-time 5 -o "$E2E_DIR/body" \
		-w '%{remote_ip} %{http_code} %header{x-cache-status}\n' "$@" \
		"http://static.$ZONE$path" 2>&1)
	read -r IP CODE XC <<<"$out"
	BODY=$(cat "$E2E_DIR/body" 2>/dev/null)
	rm -f "$E2E_DIR/body"
}
vip=$("$LABC" exec cli1 dig +short +time=1 +tries=2 "static.$ZONE" A 2>/dev/null | head -1)
[ -n "${VIPPOP[$vip]:-}" ] && pass static_resolves_vip || fail static_resolves_vip "static.$ZONE: '$vip'"
s0=$(static)
t1=$(now_ms)
get /static/a.css
pop=${VIPPOP[$IP]:-}
want=$(lowest "${pop:-pop1}")
echo "# static.$ZONE/static/a.css: from $IP (${pop:-no PoP}): $CODE $XC '$BODY'; $pop ranks $want lowest ($(scores "${pop:-pop1}"))"
[ -n "$pop" ] && pass static_via_vip || fail static_via_vip "from '$IP'"
[ "$CODE $XC" = "200 MISS" ] && pass static_miss || fail static_miss "$CODE $XC '$BODY'"
check_eq static_filled_by_lowest "$want /static/a.css" "$BODY"
# only that origin served a static object
s1=$(static)
exp=$(echo "$s0" | tr ' ' '\n' | awk -F= -v w="$want" 'NF == 2 { printf "%s=%s ", $1, $1 == w ? $2 + 1 : $2 }')
check_eq static_origin_counts "$exp" "$s1"
# the same again: a hit on the same PoP's cache, at the VIP the miss went
# to (the resolver may prefer the other PoP by now: their scores are
# close, and under TCG it moved for longer than 2.5 s once)
get /static/a.css --resolve "static.$ZONE:80:$IP"
[ "${VIPPOP[$IP]:-}" = "$pop" ] && [ "$CODE $XC" = "200 HIT" ] &&
	[ "$BODY" = "$want /static/a.css" ] && pass static_hit ||
	fail static_hit "from $IP: $CODE $XC '$BODY'"
echo "# miss and hit in $(( $(now_ms) - t1 )) ms"
# the PoP's XDP steered both connections to its cache
vs=$("$LABC" ctl "${pop:-pop1}" -j vip show cache 2>&1)
echo "$vs" | jq -e --arg c "198.18.4.1${pop#pop}" '.stats.new_flows >= 2 and .stats.packets >= 10 and
	([.backends[] | select(.address == $c and .mac != null and .stats.new_flows >= 2)] | length == 1)' \
	>/dev/null && pass static_vip_counters || fail static_vip_counters "$vs"
echo "# $pop vip cache: $(echo "$vs" | jq -c .stats)"
# the loads change: the next miss is filled from the new lowest origin
loads 0.10 0.80 0.60
wait_for 10000 all_answer 198.18.1.11 || fail static_loads_changed "pop1 $(answer pop1), pop2 $(answer pop2)"
# the caches' resolver keeps an answer 1 s (valid=1s); a new object each
# try, up to 3 (a probe slowed by a busy machine can move the answer back
# for a round)
for obj in b c d; do
	sleep 1.1
	get /static/$obj.css --resolve "static.$ZONE:80:$IP"
	[ "$CODE $XC $BODY" = "200 MISS 198.18.1.11 /static/$obj.css" ] && break
done
check_eq static_miss_follows_load "200 MISS 198.18.1.11 /static/$obj.css" "$CODE $XC $BODY"

# ---- a PoP's cache fails: static answers move to the other PoP, and back -------------
# static answers of POP (directly), as the set of VIPs seen in 8 queries
static_vips() {
	for _ in 1 2 3 4 5 6 7 8; do
		"$LABC" exec cli1 dig +short +norec +time=1 +tries=1 "@${POPADDR[$1]}" "static.$ZONE" A 2>/dev/null
	done | sort -u | tr '\n' ' '
}
only_vip() { [ "$(static_vips pop1)" = "$1 " ] && [ "$(static_vips pop2)" = "$1 " ]; }
# vip_up POP VIP: POP counts VIP usable
vip_up() {
	"$LABC" ctl "$1" -j server show pops "$2" 2>/dev/null | jq -e .usable >/dev/null
}
both_back() { vip_up pop1 198.18.5.11 && vip_up pop2 198.18.5.11; }
tf=$(now_ms)
"$LABC" exec pop1cache ip link set eth0 down
if wait_for 8000 only_vip 198.18.5.12; then
	echo "# pop1's cache down: every PoP answers only pop2's VIP after $(( $(now_ms) - tf )) ms"
	pass cache_down_moves_static
else
	fail cache_down_moves_static "pop1: $(static_vips pop1), pop2: $(static_vips pop2)"
fi
# the other PoP's cache still serves
get /static/a.css --resolve "static.$ZONE:80:198.18.5.12"
[ "$CODE" = 200 ] && pass other_pop_serves || fail other_pop_serves "$CODE $XC"
tf=$(now_ms)
"$LABC" exec pop1cache ip link set eth0 up
if wait_for 8000 both_back; then
	echo "# pop1's cache back: usable at every PoP after $(( $(now_ms) - tf )) ms"
	pass cache_back
else
	fail cache_back "pop1: $(static_scores pop1), pop2: $(static_scores pop2)"
fi
for p in $POPS; do
	wait_for 3000 static_consistent "$p" && pass "static_best_after_back_$p" ||
		fail "static_best_after_back_$p" "answers $(static_answer "$p"); $(static_scores "$p")"
done

# ---- a PoP's steerd dies, then its whole link: answers go on ---------------------------
# a runtime change on pop1, to find again after its restart
"$LABC" ctl pop1 server set "$POOL" 198.18.1.12 weight 50 >/dev/null
before=$(answer pop1)
"$LABC" stop pop1 >/dev/null 2>&1 && pass steerd_stopped || fail steerd_stopped "vm/lab stop pop1"
# the data plane answers on without steerd (pinned maps, XDP attached)
a1=$(answer pop1)
[ -n "$before" ] && [ "$a1" = "$before" ] && pass xdp_answers_without_steerd ||
	fail xdp_answers_without_steerd "before '$before', without steerd '$a1'"
# the whole PoP off the network: the client's resolver goes to the other
ok=1 worst=0
"$LABC" exec pop1 ip link set eth0 down
for i in 1 2 3 4 5; do
	ts=$(now_ms)
	r=$("$LABC" exec cli1 dig +short +time=2 +tries=2 "www.$ZONE" A 2>/dev/null | head -1)
	d=$(( $(now_ms) - ts ))
	[ "$d" -gt "$worst" ] && worst=$d
	[ -n "$r" ] && [ "$d" -le "$(ts 3000)" ] || ok=0
done
echo "# pop1 off the network: 5 resolutions through the resolver, slowest $worst ms"
[ $ok = 1 ] && pass pop_down_answers_go_on || fail pop_down_answers_go_on "slowest $worst ms, last '$r'"
"$LABC" exec pop1 ip link set eth0 up
if out=$("$LABC" start pop1 2>&1); then
	pass steerd_restarted
else
	fail steerd_restarted "vm/lab start pop1: $out"
fi
w=$("$LABC" ctl pop1 -j server show "$POOL" 198.18.1.12 2>/dev/null | jq -r .weight)
check_eq runtime_change_kept 50 "$w"
pop1_back() { [ -n "$(answer pop1)" ] && consistent pop1; }
wait_for 5000 pop1_back && pass pop_back_answers || fail pop_back_answers "pop1 answers '$(answer pop1)'"

# ---- (e) list, exec, view -------------------------------------------------------------
out=$("$LABC" list 2>&1)
ok=1
for h in "store store psl-store 198.18.0.2 etcd" \
	"pop1 pop psl-pop1 198.18.0.11" "pop2 pop psl-pop2 198.18.0.12" \
	"pop1cache cache psl-pop1cache 198.18.4.11 vip=198.18.5.11" \
	"pop2cache cache psl-pop2cache 198.18.4.12 vip=198.18.5.12" \
	"c1o1 origin psl-c1o1 198.18.1.11" "c1o2 origin psl-c1o2 198.18.1.12" \
	"c1o3 origin psl-c1o3 198.18.1.13" "c2o1 origin psl-c2o1 198.18.1.21" \
	"res1 resolver psl-res1 198.18.2.1" \
	"cli1 client psl-cli1 198.18.3.1"; do
	echo "$out" | tr -s ' ' | grep -qE "^$h( |\$)" || ok=0
done
[ $ok = 1 ] && [ "$(echo "$out" | wc -l)" = 12 ] && pass list || fail list "$out"
out=$("$LABC" exec cli1 ip -4 -o addr show dev eth0 2>&1)
echo "$out" | grep -q "inet 198.18.3.1/16" && pass exec || fail exec "$out"
out=$("$LABC" exec c1o2 curl -s --max-time 2 http://198.18.1.12:9100/load 2>&1)
echo "$out" | jq -e '.cpu == 0.8' >/dev/null && pass exec_origin || fail exec_origin "$out"
out=$("$LABC" exec nothere true 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "no host 'nothere'" && pass exec_unknown_host ||
	fail exec_unknown_host "rc $rc: $out"
out=$("$LABC" view 2>&1)
[ "$(echo "$out" | grep -c "^POOL .*ADDRESS .*SCORE")" = 2 ] &&
	[ "$(echo "$out" | grep -c "^POOL .*POLICY")" = 2 ] &&
	echo "$out" | grep -q "^$POOL .*lowest" &&
	[ "$(echo "$out" | grep -cE "^cache +198\.18\.5\.1[12] +80 +tcp +dsr +pop[12]-caches +1 ")" = 2 ] &&
	pass view || fail view "$out"

# ---- (f) down removes everything ------------------------------------------------------
pids=$(awk '{ print $1 }' "$LABD/pids")
"$LABC" down >"$E2E_DIR/down" 2>&1; rc=$?
LAB_OURS=0
check_eq down_rc 0 "$rc"
left=$(ip netns list | grep '^psl-')
[ -z "$left" ] && pass down_no_namespaces || fail down_no_namespaces "$left"
left=$(grep " $LABD" /proc/mounts)
[ -z "$left" ] && pass down_no_mounts || fail down_no_mounts "$left"
# dead (a zombie waits for init to reap it)
running() {
	local p
	for p in $pids; do
		[ -e "/proc/$p" ] && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ] && echo "$p"
	done
}
left=$(running)
[ -z "$left" ] && pass down_no_processes || fail down_no_processes "$left"
[ ! -e "$LABD" ] && ! ls -d /etc/netns/psl-* >/dev/null 2>&1 && pass down_no_files ||
	fail down_no_files "$(ls -d "$LABD" /etc/netns/psl-* 2>&1)"
"$LABC" down >/dev/null 2>&1 && pass down_idempotent || fail down_idempotent "second down failed"
echo "# lab test: $(( $(now_ms) - t0 )) ms from up to down"

# ---- (g) store off: each PoP runs from its own file alone ----------------------------
printf 'pops 1\ncustomer %s 1\nregions 1\nstore off\n' "$ZONE" >"$E2E_DIR/nostore.conf"
LAB_OURS=1
if out=$("$LABC" up "$E2E_DIR/nostore.conf" 2>&1); then
	pass store_off_up
	echo "$out" | sed 's/^/# /'
	! "$LABC" list | grep -q "^store " && ! ip netns list | grep -q '^psl-store' &&
		pass store_off_no_etcd || fail store_off_no_etcd "$("$LABC" list)"
	check_eq store_off_status null "$("$LABC" ctl pop1 -j status | jq -c .store)"
	grep -q "zones = (" "$LABD/pop1/steerd.conf" && ! grep -q "store = " "$LABD/pop1/steerd.conf" &&
		pass store_off_file_has_all || fail store_off_file_has_all "$(head -20 "$LABD/pop1/steerd.conf")"
	check_eq store_off_answers 198.18.1.11 \
		"$("$LABC" exec cli1 dig +short +time=1 +tries=3 "www.$ZONE" A 2>/dev/null | head -1)"
	out=$("$LABC" shared 2>&1); rc=$?
	[ "$rc" = 1 ] && echo "$out" | grep -q "no store" && pass store_off_shared_refused ||
		fail store_off_shared_refused "rc $rc: $out"
else
	fail store_off_up "$out"
fi
"$LABC" down >/dev/null 2>&1 && LAB_OURS=0

exit $E2E_FAILED
