#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# steer-agent (the load agent steerd's probes read) and ps-origin (the
# test origin whose misbehaviour a state file controls), each in one
# network namespace with only lo: the JSON and its figures, CPU and
# connection counting, errors and arguments, concurrency, clean exit; every
# state key and mode of ps-origin.
. "$(dirname "$0")/lib.sh"
e2e_init agent
command -v curl >/dev/null || e2e_skip_all "curl not installed"
command -v socat >/dev/null || e2e_skip_all "socat not installed (make deps)"
AGENT=$OUT/steer-agent
ORIGIN=$OUT/tests/ps-origin
for b in "$AGENT" "$ORIGIN"; do
	[ -x "$b" ] || { fail build "$b not built (make)"; exit 1; }
done

NS=ps-$E2E_ID-agent
netns "$NS"
X() { ip netns exec "$NS" "$@"; }

# start LOG CMD...: CMD in $NS in the background, stopped at exit; sets PID
start() {
	local log=$1; shift
	ip netns exec "$NS" "$@" >"$log" 2>&1 &
	PID=$!
	E2E_PIDS+=("$PID")
}

# wait_up URL: until it answers (2 s at most)
wait_up() {
	local i
	for i in $(seq 40); do
		X curl -gs -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.05
	done
	return 1
}

# stop_rc PID SIGNAL: RC = the exit status after SIGNAL, "running" after 2 s
stop_rc() {
	local i
	kill -"$2" "$1"
	RC=running
	for i in $(seq 40); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; RC=$?; return; }
		sleep 0.05
	done
}

fcmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }
get() { X curl -gs --max-time 3 "$@"; }
# sb URL: "STATUS BODY"
sb() { X curl -s --max-time 3 -w '\n%{http_code}\n' "$@" | tac | paste -sd ' '; }
code() { X curl -gs -o /dev/null --max-time 3 -w '%{http_code}' "$@"; }

# the exact body format the probe engine parses (interval_ms aside)
FORMAT='^\{"cpu": -?[0-9]+\.[0-9]{3}, "load1": -?[0-9]+\.[0-9]{2}, "load5": -?[0-9]+\.[0-9]{2}, "load15": -?[0-9]+\.[0-9]{2}, "conns": -?[0-9]+, "ncpu": -?[0-9]+, "interval_ms": [0-9]+\}$'
KEYS='["conns","cpu","interval_ms","load1","load15","load5","ncpu"]'

# ---------------------------------------------------------------- agent

A=http://127.0.0.1:9100
start "$E2E_DIR/agent.log" "$AGENT" -l 127.0.0.1:9100 -l '[::1]:9100' -i 500
AGENT_PID=$PID
wait_up $A/load || { fail agent_start "$(cat "$E2E_DIR/agent.log")"; exit 1; }

body=$(get $A/load)
if [[ $body =~ $FORMAT ]]; then pass agent_format; else fail agent_format "'$body'"; fi
check_eq agent_keys "$KEYS" "$(echo "$body" | jq -c 'keys')"
check_eq agent_numbers true "$(echo "$body" | jq '[.[] | type == "number"] | all')"
check_eq agent_cpu_in_0_1 true "$(echo "$body" | jq '.cpu >= 0 and .cpu <= 1')"
check_eq agent_ncpu "$(getconf _NPROCESSORS_ONLN)" "$(echo "$body" | jq .ncpu)"
check_eq agent_interval_ms 500 "$(echo "$body" | jq .interval_ms)"
read -r l1 l5 l15 _ </proc/loadavg
if echo "$body" | jq -e --argjson a "$l1" --argjson b "$l5" --argjson c "$l15" \
	'(.load1 - $a | fabs) <= 0.5 and (.load5 - $b | fabs) <= 0.2 and
	 (.load15 - $c | fabs) <= 0.1' >/dev/null; then
	pass agent_loadavg
else
	fail agent_loadavg "'$body' vs /proc/loadavg '$l1 $l5 $l15'"
fi
check_eq agent_content_type "application/json" \
	"$(X curl -s -o /dev/null -w '%{content_type}' $A/load)"
check_eq agent_root_path "$KEYS" "$(get $A/ | jq -c keys)"
check_eq agent_ipv6 "$KEYS" "$(get 'http://[::1]:9100/load' | jq -c keys)"
# HEAD: the head of a GET, ending the reply
out=$(printf 'HEAD /load HTTP/1.0\r\n\r\n' | X socat -t 2 -T 2 - TCP:127.0.0.1:9100 | tr '\r\n' '|#')
case $out in
"HTTP/1.1 200 OK|#"*"|#Content-Length: "[1-9]*"|#|#")
	# the blank line is the last thing sent
	if [ "${out%|#|#}|#|#" = "$out" ] && [ "${out#*|#|#}" = "" ]; then
		pass agent_head
	else
		fail agent_head "'$out'"
	fi ;;
*) fail agent_head "'$out'" ;;
esac
check_eq agent_404 "404 404" "$(code $A/nope) $(code $A/load/x)"
check_eq agent_405 "405 405" "$(code -X POST -d x=1 $A/load) $(code -X DELETE $A/load)"
check_eq agent_405_allow "Allow: GET, HEAD" \
	"$(X curl -s -D - -o /dev/null -X PUT $A/load | tr -d '\r' | grep -i '^allow:')"

# -o FILE: while it exists, its figures replace the measured ones
OVR=$E2E_DIR/override
start "$E2E_DIR/agent-o.log" "$AGENT" -l 127.0.0.1:9102 -i 100 -o "$OVR"
wait_up http://127.0.0.1:9102/load || fail agent_override_start "$(cat "$E2E_DIR/agent-o.log")"
check_eq agent_override_absent null "$(get http://127.0.0.1:9102/load | jq .override)"
printf 'cpu=0.85\nconns=7\nload1=3.5\nnope=1\ncpu=2\n' >"$OVR"
sleep 0.35
check_eq agent_override "0.85 7 3.5 true" \
	"$(get http://127.0.0.1:9102/load | jq -r '"\(.cpu) \(.conns) \(.load1) \(.override)"')"
grep -q "ignoring 'nope=1'" "$E2E_DIR/agent-o.log" && pass agent_override_bad_line_said ||
	fail agent_override_bad_line_said "$(cat "$E2E_DIR/agent-o.log")"
rm -f "$OVR"
sleep 0.35
check_eq agent_override_removed null "$(get http://127.0.0.1:9102/load | jq .override)"

# all CPUs busy: the figure rises within two intervals (0.5 s each)
base=$(get $A/load | jq .cpu)
rise=$(awk -v b="$base" 'BEGIN { print b + 0.3 }')
burners=()
for _ in $(seq "$(getconf _NPROCESSORS_ONLN)"); do
	timeout 3 sh -c 'while :; do :; done' &
	burners+=($!)
	E2E_PIDS+=($!)
done
t0=$(date +%s%N)
cpu=$base
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1100 ]; do
	cpu=$(get $A/load | jq .cpu)
	fcmp "$cpu" '>=' 0.9 && break
	fcmp "$cpu" '>' "$rise" && break
	sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "${burners[@]}" 2>/dev/null
wait "${burners[@]}" 2>/dev/null
if fcmp "$cpu" '>=' 0.9 || fcmp "$cpu" '>' "$rise"; then
	pass agent_cpu_rises
else
	fail agent_cpu_rises "idle $base, busy $cpu after $ms ms"
fi

# connections held open to a silent origin: each is 2 sockets in this
# namespace (both ends), IPv4 counted from /proc/net/tcp, IPv6 from tcp6
printf 'mode=hang\n' >"$E2E_DIR/hang.state"
start "$E2E_DIR/hang.log" "$ORIGIN" -s "$E2E_DIR/hang.state" -l 127.0.0.1:7001 -l '[::1]:7001'
for _ in $(seq 40); do grep -q '::1' "$E2E_DIR/hang.log" && break; sleep 0.05; done
# conns_is N: the agent reports N within 1.5 s (3 intervals)
conns_is() {
	local i c
	for i in $(seq 15); do
		c=$(get $A/load | jq .conns)
		[ "$c" = "$1" ] && break
		sleep 0.1
	done
	echo "$c"
}
check_eq agent_conns_none 0 "$(conns_is 0)"
start /dev/null socat -u TCP4:127.0.0.1:7001 /dev/null
c4=$PID
check_eq agent_conns_ipv4 2 "$(conns_is 2)"
start /dev/null socat -u 'TCP6:[::1]:7001' /dev/null
c6=$PID
check_eq agent_conns_ipv6 4 "$(conns_is 4)"
kill $c4 $c6
wait $c4 $c6 2>/dev/null
check_eq agent_conns_closed 0 "$(conns_is 0)"

# 300 connections open at once, then a request on each
out=$(X bash -c '
	fds=()
	for i in $(seq 300); do exec {fd}<>/dev/tcp/127.0.0.1/9100 || exit 1; fds+=($fd); done
	for fd in "${fds[@]}"; do printf "GET /load HTTP/1.0\r\n\r\n" >&$fd; done
	n=0
	for fd in "${fds[@]}"; do
		read -r -t 5 line <&$fd && [[ $line == "HTTP/1.1 200 OK"* ]] && n=$((n + 1))
	done
	echo $n')
check_eq agent_300_concurrent 300 "$out"

# garbage, truncated requests, huge headers: the agent keeps serving
for _ in $(seq 10); do
	head -c 3000 /dev/urandom | X socat -t 1 -T 2 - TCP:127.0.0.1:9100 >/dev/null 2>&1
done
printf 'GET /lo' | X socat -t 0.1 - TCP:127.0.0.1:9100 >/dev/null 2>&1
printf 'GET /load HTTP/1.1\r\nHost: x\r\nX: %070000d\r\n\r\n' 0 |
	X socat -t 1 -T 2 - TCP:127.0.0.1:9100 >/dev/null 2>&1
printf 'BREW /pot HTCPCP/1.0\r\n\r\n' | X socat -t 1 -T 2 - TCP:127.0.0.1:9100 >/dev/null 2>&1
if kill -0 "$AGENT_PID" 2>/dev/null && [ "$(code $A/load)" = 200 ]; then
	pass agent_survives_garbage
else
	fail agent_survives_garbage "$(tail -5 "$E2E_DIR/agent.log")"
fi
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status")
if [ "$rss" -lt 65536 ]; then pass agent_memory; else fail agent_memory "VmRSS $rss kB"; fi

# arguments
for args in "-i abc" "-i 5" "-i 99999999" "-l 1.2.3.4" "-l nonsense:80" "-l 1.2.3.4:70000" \
	    "-l [::1]9100" "-x" "extra"; do
	# shellcheck disable=SC2086
	X "$AGENT" $args >/dev/null 2>"$E2E_DIR/err"
	rc=$?
	if [ $rc = 2 ] && grep -q '^Usage: steer-agent' "$E2E_DIR/err"; then
		pass "agent_bad_args($args)"
	else
		fail "agent_bad_args($args)" "exit $rc, stderr: $(head -2 "$E2E_DIR/err")"
	fi
done
check_eq agent_help "0 1" "$(X "$AGENT" -h >"$E2E_DIR/out" 2>&1; echo $?) $(grep -c '^Usage:' "$E2E_DIR/out")"
X timeout 5 "$AGENT" -l 127.0.0.1:9100 >/dev/null 2>"$E2E_DIR/err"
rc=$?
if [ $rc = 1 ] && grep -q 'cannot listen on 127.0.0.1:9100' "$E2E_DIR/err"; then
	pass agent_port_in_use
else
	fail agent_port_in_use "exit $rc: $(cat "$E2E_DIR/err")"
fi

stop_rc "$AGENT_PID" TERM
check_eq agent_sigterm_exit_0 0 "$RC"
start "$E2E_DIR/agent2.log" "$AGENT" -l 127.0.0.1:9101
wait_up http://127.0.0.1:9101/load
stop_rc "$PID" INT
check_eq agent_sigint_exit_0 0 "$RC"

# -------------------------------------------------------------- origin

ST=$E2E_DIR/origin.state	# absent: the defaults
O=http://127.0.0.1:8080
# setst KEY=VALUE...: a new state file, replaced at once (a reader never
# sees it half written)
setst() { printf '%s\n' "$@" >"$ST.new" && mv "$ST.new" "$ST"; }
stat_() { get $O/stats | jq "$1"; }
start "$E2E_DIR/origin.log" "$ORIGIN" -s "$ST" -l 127.0.0.1:8080 -l '[::1]:8080'
ORIGIN_PID=$PID
wait_up $O/stats || { fail origin_start "$(cat "$E2E_DIR/origin.log")"; exit 1; }

check_eq origin_default_health "200 ok" "$(sb $O/health)"
body=$(get $O/load)
if [[ $body =~ $FORMAT ]]; then pass origin_load_format; else fail origin_load_format "'$body'"; fi
check_eq origin_load_keys_as_agent "$KEYS" "$(echo "$body" | jq -c keys)"
check_eq origin_default_load "0.1 0.5 10" "$(echo "$body" | jq -r '"\(.cpu) \(.load1) \(.conns)"')"
check_eq origin_ipv6 ok "$(get 'http://[::1]:8080/health')"

r0=$(stat_ .requests)
setst status=503 'body=down for maintenance' colour=blue 'status=oops'
check_eq origin_status_body "503 down for maintenance" "$(sb $O/health)"
check_eq origin_bad_value_warned_once 1 "$(code $O/health >/dev/null; grep -c "bad value 'oops' for status" "$E2E_DIR/origin.log")"
check_eq origin_404 "404 404 404" "$(code $O/nope) $(code $O/) $(code -X POST $O/health)"
setst cpu=0.75 load1=3.5 conns=42
check_eq origin_load_values "0.75 3.5 3.5 42" \
	"$(get $O/load | jq -r '"\(.cpu) \(.load1) \(.load15) \(.conns)"')"
setst 'load_body={"cpu": "broken"'
check_eq origin_load_body '{"cpu": "broken"' "$(get $O/load)"
check_eq origin_requests_counted $((r0 + 7)) "$(stat_ .requests)"
# an empty file is a write in progress: the last state read holds; a blank
# line or no file at all are the defaults
setst status=502
out=$(code $O/health)
: >"$ST"
out+=" $(code $O/health)"
setst ""
out+=" $(code $O/health)"
setst status=502
rm "$ST"
check_eq origin_empty_blank_missing "502 502 200 200" "$out $(code $O/health)"

# delay: per request, without blocking others
setst delay_ms=600
t=$(X curl -s -o /dev/null -w '%{time_total}' $O/health)
if fcmp "$t" '>=' 0.6 && fcmp "$t" '<' 1.2; then pass origin_delay; else fail origin_delay "$t s"; fi
t0=$(date +%s%N)
out=$(X bash -c 'for i in $(seq 20); do curl -s -o /dev/null -w "%{http_code}\n" http://127.0.0.1:8080/health & done; wait' | grep -c '^200$')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$out" = 20 ] && [ $ms -lt "$(ts 1500)" ]; then
	pass origin_delay_concurrent
else
	fail origin_delay_concurrent "$out of 20 in $ms ms"
fi
check_eq origin_stats_not_delayed 1 \
	"$(X curl -s -o /dev/null -w '%{time_total}' $O/stats | awk '{ print ($1 < 0.3) }')"

# refuse and hang: nothing answered, nothing counted
r0=$(stat_ .requests)
c0=$(stat_ .connections)
setst mode=refuse
# (a reset: curl mostly fails to connect, else to send or receive)
X curl -s $O/health >/dev/null
rc=$?
case $rc in 7|55|56) pass origin_refuse_curl ;; *) fail origin_refuse_curl "curl exit $rc" ;; esac
check_eq origin_refuse_no_bytes 0 "$(printf 'GET /health HTTP/1.0\r\n\r\n' |
	X socat -t 2 -T 2 - TCP:127.0.0.1:8080 2>/dev/null | wc -c)"
setst mode=hang
t0=$(date +%s%N)
X curl -s --max-time 1 $O/health >/dev/null
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq origin_hang_times_out "28 1" "$rc $(( ms >= 950 ))"
check_eq origin_hang_stats_answered "$r0" "$(stat_ .requests)"
setst
check_eq origin_refuse_hang_connections $((c0 + 5)) "$(stat_ .connections)"

# garbage: 200 bytes that are not HTTP
setst mode=garbage
X curl -s --max-time 2 $O/health >/dev/null
rc=$?
if [ $rc != 0 ] && [ $rc != 28 ]; then pass origin_garbage_curl_fails; else fail origin_garbage_curl_fails "curl exit $rc"; fi
printf 'GET /health HTTP/1.0\r\n\r\n' | X socat -t 2 -T 2 - TCP:127.0.0.1:8080 >"$E2E_DIR/garbage" 2>/dev/null
check_eq origin_garbage_200_bytes 200 "$(wc -c <"$E2E_DIR/garbage")"
if head -c 5 "$E2E_DIR/garbage" | grep -aq '^HTTP/'; then
	fail origin_garbage_not_http "starts with HTTP/"
else
	pass origin_garbage_not_http
fi

# slow: the first byte at once, the next one a second later
setst mode=slow
out=$(X bash -c '
	exec 3<>/dev/tcp/127.0.0.1/8080
	printf "GET /health HTTP/1.0\r\n\r\n" >&3
	t0=$EPOCHREALTIME
	IFS= read -r -d "" -n 1 a <&3; t1=$EPOCHREALTIME
	IFS= read -r -d "" -n 1 b <&3; t2=$EPOCHREALTIME
	echo "$a$b $t0 $t1 $t2"')
check_eq origin_slow_bytes HT "${out%% *}"
if echo "$out" | awk '{ exit !($3 - $2 < 0.5 && $4 - $3 >= 0.95) }'; then
	pass origin_slow_gap
else
	fail origin_slow_gap "'$out' (first byte, second byte times)"
fi

# huge: announced 1 GiB, as fast as read, the client can stop early,
# closed after huge_s
setst mode=huge
check_eq origin_huge_length "200 1073741824" "$(X curl -s -D - -o /dev/null --max-time 0.5 $O/health |
	tr -d '\r' | awk '/^HTTP/ { s = $2 } /^Content-Length:/ { l = $2 } END { print s, l }')"
t0=$(date +%s%N)
n=$(X curl -s --max-time 10 $O/health | head -c 20000000 | wc -c)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq origin_huge_client_stops "20000000 1" "$n $(( ms < 5000 ))"
# (seen from the server's side: the client still has megabytes to read)
setst mode=huge huge_s=$TS
start /dev/null curl -s --limit-rate 200k --max-time $((10 * TS)) -o /dev/null $O/health
slow_client=$PID
served() { X ss -tnH state established '( sport = :8080 )' | wc -l; }
t0=$(date +%s%N)
n1=0
for _ in $(seq 100); do [ "$(served)" = 1 ] && { n1=1; break; }; sleep 0.05; done
# huge_s (1 s, scaled: a slow machine must still see the connection
# before it ends) from the connection on: gone then, with 0.5 s of slack
for _ in $(seq $((20 * TS))); do [ "$(served)" = 0 ] && break; sleep 0.1; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq origin_huge_time_bound "1 0 1" "$n1 $(served) $(( ms <= 1500 * TS ))"
kill $slow_client 2>/dev/null
wait $slow_client 2>/dev/null
setst
check_eq origin_survives_modes ok "$(get $O/health)"

# 300 requests pending at once (the delay holds them), and clients that
# leave at every stage
setst delay_ms=1000
t0=$(date +%s%N)
out=$(X bash -c '
	fds=()
	for i in $(seq 300); do
		exec {fd}<>/dev/tcp/127.0.0.1/8080 || exit 1
		printf "GET /health HTTP/1.0\r\n\r\n" >&$fd
		fds+=($fd)
	done
	n=0
	for fd in "${fds[@]}"; do
		read -r -t 5 line <&$fd && [[ $line == "HTTP/1.1 200 OK"* ]] && n=$((n + 1))
	done
	echo $n')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq origin_300_concurrent "300 1" "$out $(( ms < 3000 ))"
X bash -c '
	for i in $(seq 50); do
		exec {a}<>/dev/tcp/127.0.0.1/8080 {b}<>/dev/tcp/127.0.0.1/8080
		printf "GET /hea" >&$a
		printf "GET /health HTTP/1.0\r\n\r\n" >&$b
		exec {a}>&- {b}>&-
	done'
for m in slow huge hang; do
	setst mode=$m
	X curl -s --max-time 0.3 $O/health >/dev/null
done
setst
if kill -0 "$ORIGIN_PID" 2>/dev/null && [ "$(get $O/health)" = ok ]; then
	pass origin_survives_disconnects
else
	fail origin_survives_disconnects "$(tail -5 "$E2E_DIR/origin.log")"
fi

# one origin on 0.0.0.0 serves every address of the namespace, KEY@ADDR
# gives one of them its own behaviour; /stats counts per address
for i in $(seq 20); do ip -n "$NS" addr add "198.18.5.$i/32" dev lo; done
ST2=$E2E_DIR/many.state
printf '%s\n' 'body=many' 'status@198.18.5.3=503' 'mode@198.18.5.4=refuse' \
	'body@198.18.5.5=five' 'status@2001:db8::1=500' >"$ST2"
start "$E2E_DIR/many.log" "$ORIGIN" -s "$ST2" -l 0.0.0.0:80
wait_up http://198.18.5.1/stats
out=""
for i in $(seq 20); do
	out+="$(X curl -s --max-time 2 -w ':%{http_code}' "http://198.18.5.$i/health") "
done
exp=""
for i in $(seq 20); do
	case $i in 3) exp+="many:503 " ;; 4) exp+=":000 " ;; 5) exp+="five:200 " ;; *) exp+="many:200 " ;; esac
done
check_eq origin_many_addresses "$exp" "$out"
check_eq origin_stats_by_addr "19 1 1 null" \
	"$(get http://198.18.5.1/stats | jq -r '"\(.requests) \(.by_addr["198.18.5.7"]) \(.by_addr["198.18.5.3"]) \(.by_addr["198.18.5.4"])"')"

# arguments, SIGTERM
for args in "" "-l 127.0.0.1:1 " "-s $ST -l 127.0.0.1" "-s $ST -l [::1]:80x" "-s $ST -q" "-s $ST extra"; do
	# shellcheck disable=SC2086
	X "$ORIGIN" $args >/dev/null 2>"$E2E_DIR/err"
	rc=$?
	if [ $rc = 2 ] && grep -q '^Usage: ps-origin' "$E2E_DIR/err"; then
		pass "origin_bad_args($args)"
	else
		fail "origin_bad_args($args)" "exit $rc: $(head -2 "$E2E_DIR/err")"
	fi
done
stop_rc "$ORIGIN_PID" TERM
check_eq origin_sigterm_exit_0 0 "$RC"

exit $E2E_FAILED
