#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runtime changes survive kill -9 and a restart; a truncated or corrupted
# state file is detected and reported, never half applied; a change that
# cannot be persisted is undone.
. "$(dirname "$0")/lib.sh"
e2e_init persist
topo_pop_client

{ conf_head; conf_cdn; } >"$E2E_DIR/steerd.conf"
STATE=$E2E_DIR/state/state.conf
q() { cdig @198.18.0.1 "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }

start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log1" || exit 1
sctl pool add edge server 198.18.8.1 server 198.18.8.2 answers 2 &&
sctl name add api.cdn.example pool edge ttl 15 &&
sctl server set web 198.18.7.1 weight 0 &&
sctl server add web 198.18.7.2 &&
	pass changes_made || fail changes_made "steerctl refused a valid change"
check_eq change_answered "198.18.8.1 198.18.8.2" "$(q api.cdn.example A)"
[ -s "$STATE" ] && head -1 "$STATE" | grep -q "^# popsteer runtime state v1 crc32=" &&
	pass state_written || fail state_written "$(head -2 "$STATE" 2>&1)"

# a refused change leaves the state file alone
cp "$STATE" "$E2E_DIR/before"
sctl name add www.elsewhere.example pool edge 2>/dev/null
cmp -s "$STATE" "$E2E_DIR/before" && pass refused_change_not_persisted ||
	fail refused_change_not_persisted "state file changed"

# kill -9: the data plane keeps the changes, the restart reapplies them
kill -9 "$STEERD_PID"
wait "$STEERD_PID" 2>/dev/null
check_eq after_kill9_answers "198.18.8.1 198.18.8.2" "$(q api.cdn.example A)"
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log2" || exit 1
grep -q "maps: .* (+0 ~0 -0), 0 pools written, 0 zones written" "$E2E_DIR/log2" &&
	pass restart_changes_nothing || fail restart_changes_nothing "$(grep maps: "$E2E_DIR/log2")"
check_eq restart_keeps_runtime_name "198.18.8.1 198.18.8.2" "$(q api.cdn.example A)"
check_eq restart_keeps_server_changes 198.18.7.2 "$(q www.cdn.example A)"
check_eq runtime_source runtime "$(sctl -j name show api.cdn.example | jq -r .source)"
check_eq config_source config "$(sctl -j zone show cdn.example | jq -r .source)"

# the config file changes and is reloaded: both it and the runtime
# changes are served
sed -i 's/names = ( /names = ( { name = "img.cdn.example"; pool = "web"; }, /' "$E2E_DIR/steerd.conf"
kill -HUP "$STEERD_PID"
for _ in $(seq 30); do [ "$(q img.cdn.example A)" = 198.18.7.2 ] && break; sleep 0.1; done
check_eq reload_config_and_state "198.18.7.2|198.18.8.1 198.18.8.2" \
	"$(q img.cdn.example A)|$(q api.cdn.example A)"
stop_steerd

# a damaged state file stops steerd with a reason; nothing is applied
cp "$STATE" "$E2E_DIR/good"
damaged() {	# damaged NAME EXPECTED-WORDS
	if ip netns exec "$POP" "$OUT/steerd" -c "$E2E_DIR/steerd.conf" >"$E2E_DIR/bad.log" 2>&1; then
		fail "$1" "steerd started with a damaged state file"
	elif grep -q "$2" "$E2E_DIR/bad.log" && grep -q "refusing to start" "$E2E_DIR/bad.log"; then
		pass "$1"
	else
		fail "$1" "$(cat "$E2E_DIR/bad.log")"
	fi
	cp "$E2E_DIR/good" "$STATE"
}
head -c -20 "$E2E_DIR/good" >"$STATE"
damaged truncated_state "truncated or extended"
sed -i 's/198.18.8.2/198.18.9.2/' "$STATE"
damaged corrupted_state "corrupted: CRC-32"
sed -i '1s/.*/garbage/' "$STATE"
damaged bad_header_state "not a popsteer state file"
sed -i '1s/crc32=[0-9a-f]*/crc32=00000000/' "$STATE"
damaged wrong_crc_state "corrupted: CRC-32"
check_eq damaged_state_keeps_dataplane "198.18.8.1 198.18.8.2" "$(q api.cdn.example A)"
head -c -20 "$E2E_DIR/good" >"$STATE"
out=$("$OUT/steerd" -t -c "$E2E_DIR/steerd.conf" 2>&1)
check_eq check_reports_state "1:yes" "$?:$(echo "$out" | grep -q truncated && echo yes)"

# --discard-state: the config file alone, the bad file kept aside
start_steerd_opts() {
	ip netns exec "$POP" "$OUT/steerd" -c "$E2E_DIR/steerd.conf" "$@" >"$E2E_DIR/log3" 2>&1 &
	STEERD_PID=$!
	E2E_PIDS+=("$STEERD_PID")
	for _ in $(seq 50); do grep -q "^serving" "$E2E_DIR/log3" && return 0; sleep 0.1; done
	return 1
}
head -c -20 "$E2E_DIR/good" >"$STATE"
start_steerd_opts --discard-state && pass discard_state_starts ||
	fail discard_state_starts "$(cat "$E2E_DIR/log3")"
[ -e "$STATE.discarded" ] && pass discarded_file_kept || fail discarded_file_kept "no $STATE.discarded"
check_eq discard_drops_runtime_name NXDOMAIN "$(dig_status @198.18.0.1 api.cdn.example A)"
check_eq discard_config_name 198.18.7.1 "$(q www.cdn.example A)"
stop_steerd

# a change that cannot be written is undone in the maps
sed -i "s|^state_file = .*|state_file = \"/proc/popsteer-nowhere/state.conf\";|" "$E2E_DIR/steerd.conf"
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log4" || exit 1
out=$(sctl server add web 198.18.7.9 2>&1)
rc=$?
check_eq unpersistable_change_refused "1" "$rc"
echo "$out" | grep -q "Couldn't write /proc/popsteer-nowhere" &&
	pass unpersistable_reason || fail unpersistable_reason "$out"
for _ in $(seq 20); do echo "www.cdn.example A"; done >"$E2E_DIR/q20"
check_eq unpersistable_undone 198.18.7.1 \
	"$(ip netns exec "$CLI" dig +norec +time=1 @198.18.0.1 +short -f "$E2E_DIR/q20" | sort -u)"
check_eq unpersistable_not_listed 1 "$(sctl -j server list pool web | jq length)"

exit $E2E_FAILED
