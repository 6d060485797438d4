#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The control socket as a protocol (user/steerd/CONTROL.md), without
# steerctl: JSON lines, one reply each, in order; replies still sent when
# the client half-closes; bad requests answered with an error, not a
# disconnect; root-only permissions; one steerd per socket.  And DNS over
# TCP: several queries on one connection.
. "$(dirname "$0")/lib.sh"
e2e_init control
command -v socat >/dev/null || e2e_skip_all "socat not installed (make deps)"
topo_pop_client
{ conf_head; conf_cdn; } >"$E2E_DIR/steerd.conf"
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log" || exit 1
SOCK=$E2E_DIR/steerd.sock
raw() { printf '%s\n' "$@" | socat -t 5 - "UNIX-CONNECT:$SOCK"; }

check_eq socket_root_only "600 root" "$(stat -c '%a %U' "$SOCK")"

out=$(raw '{"cmd":"status"}' '{"cmd":"pool.show","args":{"name":"web"}}' '{"cmd":"name.list"}')
check_eq three_replies_in_order "true web www.cdn.example" \
	"$(echo "$out" | jq -rs '"\(.[0].ok) \(.[1].data.name) \(.[2].data[0].name)"')"

# socat half-closes after its input: every reply must still come
n=0
for _ in $(seq 10); do
	[ "$(raw '{"cmd":"status"}' | jq -r .ok)" = true ] && n=$((n + 1))
done
check_eq replies_after_half_close 10 $n

check_eq bad_json_error "false" "$(raw 'not json' | jq -r .ok)"
check_eq unknown_cmd_error "unknown command 'fly'" "$(raw '{"cmd":"fly"}' | jq -r .error)"
check_eq missing_cmd_error "'cmd' (a string) is required" "$(raw '{"args":{}}' | jq -r .error)"
check_eq bad_args_error "'args' must be an object" "$(raw '{"cmd":"status","args":[1]}' | jq -r .error)"
out=$(raw 'garbage' '{"cmd":"status"}' | jq -r .ok | tr '\n' ' ')
check_eq error_keeps_connection "false true " "$out"
check_eq missing_arg_error "'name' (a string) is required" \
	"$(raw '{"cmd":"pool.show","args":{}}' | jq -r .error)"
check_eq null_value_error "false" \
	"$(raw '{"cmd":"pool.add","args":{"name":"x","ttl":null}}' | jq -r .ok)"
check_eq bad_key_error "bad key '1x'" \
	"$(raw '{"cmd":"pool.add","args":{"name":"x","1x":2}}' | jq -r .error)"

# a second steerd on the same socket is refused, the first keeps serving
if ip netns exec "$POP" "$OUT/steerd" -c "$E2E_DIR/steerd.conf" >"$E2E_DIR/log2" 2>&1; then
	fail second_steerd "a second steerd started"
else
	grep -q "another steerd is listening on $SOCK" "$E2E_DIR/log2" &&
		pass second_steerd || fail second_steerd "$(cat "$E2E_DIR/log2")"
fi
check_eq first_still_serves true "$(raw '{"cmd":"status"}' | jq -r .ok)"

# DNS over TCP: two queries, one connection, answered in order
out=$(ip netns exec "$CLI" dig +tcp +keepopen +norec +short @198.18.0.1 \
	www.cdn.example A cdn.example SOA | tr '\n' ' ')
check_eq tcp_two_queries_one_connection "198.18.7.1 ns.cdn.example. ops.cdn.example. 1 3600 600 604800 60 " "$out"

exit $E2E_FAILED
