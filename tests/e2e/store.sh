#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared state through etcd (steerd `store`): config objects from the
# store, live changes, a bad shared config refused, our measurements
# published under a lease, a peer's measurements used for what this PoP
# does not measure (and never over its own verdict), and a store that goes
# away: steerd keeps serving, restarts from its saved copy, catches up.
. "$(dirname "$0")/lib.sh"
e2e_init store
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
	e2e_skip_all "etcd not installed (make deps: etcd-server etcd-client)"
topo_pop_client

EP=http://127.0.0.1:2379
ectl() { ip netns exec "$POP" etcdctl --endpoints=$EP --dial-timeout=2s "$@"; }
start_etcd() {
	ip netns exec "$POP" etcd --name ps-test --data-dir "$E2E_DIR/etcd" \
		--listen-client-urls $EP --advertise-client-urls $EP \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster ps-test=http://127.0.0.1:2380 \
		>>"$E2E_DIR/etcd.log" 2>&1 &
	ETCD_PID=$!
	E2E_PIDS+=("$ETCD_PID")
	for _ in $(seq 100); do
		ectl endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "etcd did not start:" >&2
	tail -5 "$E2E_DIR/etcd.log" >&2
	return 1
}
stop_etcd() { kill "$ETCD_PID"; wait "$ETCD_PID" 2>/dev/null; }
q() { cdig @198.18.0.1 "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
# wait_for SECONDS EXPECTED 'COMMANDS': until they print EXPECTED; prints
# what they printed last
wait_for() {
	local t=$1 want=$2 got
	for _ in $(seq $((t * 10 * TS))); do
		got=$(eval "$3")
		[ "$got" = "$want" ] && break
		sleep 0.1
	done
	echo "$got"
}

start_etcd || exit 1
ip netns exec "$POP" ip link set lo up

# the local file: interfaces, listen address, the store; no zones
conf_head >"$E2E_DIR/steerd.conf"
cat >>"$E2E_DIR/steerd.conf" <<CONF
dns = { listen = [ "198.18.0.1" ]; };
store = { endpoints = [ "$EP" ]; prefix = "/pst"; name = "pop-a";
          interval = 200; ttl = 2; config = true; };
CONF
shared() {	# shared POOL-SERVERS: the shared config's text
	cat <<CONF
zones = ( { name = "cdn.example";
            soa = { mname = "ns.cdn.example"; rname = "ops.cdn.example"; };
            ns = [ "ns.cdn.example" ]; } );
pools = ( { name = "web"; policy = "lowest"; servers = ( $1 ); },
          { name = "local"; servers = ( { address = "198.18.0.2";
              probes = ( { kind = "tcp"; port = 9; interval = 200; timeout = 150; } ); } ); } );
names = ( { name = "www.cdn.example"; pool = "web"; },
          { name = "local.cdn.example"; pool = "local"; } );
CONF
}
ectl put /pst/config "$(shared '{ address = "198.18.7.1"; }')" >/dev/null

start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log1" || exit 1
check_eq config_from_store 198.18.7.1 "$(wait_for 5 198.18.7.1 'q www.cdn.example A')"
check_eq source_is_store store "$(sctl -j pool show web | jq -r .source)"
check_eq status_reachable true "$(sctl -j status | jq -r .store.reachable)"

# a change in the store reaches the data plane
ectl put /pst/config "$(shared '{ address = "198.18.7.1"; }, { address = "198.18.7.2"; }')" >/dev/null
check_eq store_change_served 2 \
	"$(wait_for 5 2 "sctl -j pool show web | jq -r '.servers | length'")"

# a bad shared config is refused whole; the previous one is served
ectl put /pst/config 'zones = ( { name = "bad.example"; } );' >/dev/null
err=$(wait_for 5 x "sctl -j status | jq -r '.store.config_error // empty' | grep -q soa && echo x")
[ "$err" = x ] && pass bad_config_reported ||
	fail bad_config_reported "$(sctl -j status | jq -c .store)"
check_eq bad_config_keeps_serving 198.18.7.1 "$(q www.cdn.example A)"
ectl put /pst/config 'interfaces = [ "lo" ];' >/dev/null
err=$(wait_for 5 x "sctl -j status | jq -r '.store.config_error // empty' | grep -q 'cannot be shared' && echo x")
[ "$err" = x ] && pass local_settings_not_shared ||
	fail local_settings_not_shared "$(sctl -j status | jq -c .store)"
ectl put /pst/config "$(shared '{ address = "198.18.7.1"; }, { address = "198.18.7.2"; }')" >/dev/null
check_eq good_config_again null "$(wait_for 5 null 'sctl -j status | jq -c .store.config_error')"

# what we measure ourselves is published: 198.18.0.2:9 refuses (down)
pub() { ectl get --print-value-only /pst/m/pop-a; }
check_eq own_health_published down \
	"$(wait_for 5 down "pub | jq -r '.pools.local.\"198.18.0.2\".health'")"
[ "$(ectl get -w json /pst/m/pop-a | jq -r '.kvs[0].lease // 0')" != 0 ] &&
	pass published_under_lease || fail published_under_lease "no lease"
# nothing new measured (only a failing probe): nothing new written
rev() { ectl get -w json /pst/m/pop-a | jq -r '.kvs[0].mod_revision'; }
r1=$(rev); sleep 1.2; r2=$(rev)
[ -n "$r1" ] && [ "$r1" = "$r2" ] && pass unchanged_not_rewritten ||
	fail unchanged_not_rewritten "mod_revision $r1 -> $r2"

# a peer's measurements: the metric this PoP does not measure (cpu of
# web's servers) comes from the peer, and moves the answer
peer() {	# peer CPU1 CPU2 [HEALTH2]
	ectl put /pst/m/pop-b "{\"v\":1,\"pools\":{\"web\":{\"198.18.7.1\":{\"cpu\":$1},\"198.18.7.2\":{\"cpu\":$2${3:+,\"health\":\"$3\"}}},\"local\":{\"198.18.0.2\":{\"health\":\"up\"}}}}" >/dev/null
}
peer 0.9 0.1
check_eq peer_cpu_used 198.18.7.2 "$(wait_for 5 198.18.7.2 'q www.cdn.example A')"
check_eq peer_cpu_shown 0.1 "$(sctl -j server show web 198.18.7.2 | jq -r .peers.metrics.cpu)"
check_eq peers_listed '["pop-b"]' "$(sctl -j status | jq -c .store.peers)"
peer 0.1 0.9
check_eq peer_cpu_moves_answer 198.18.7.1 "$(wait_for 5 198.18.7.1 'q www.cdn.example A')"
# health from peers while we have no probe of our own
peer 0.9 0.1 down
check_eq peer_health_shown down \
	"$(wait_for 5 down 'sctl -j server show web 198.18.7.2 | jq -r .health_used')"
check_eq peer_health_down 198.18.7.1 "$(q www.cdn.example A)"
# never over our own verdict: the peer says 198.18.0.2 is up, we say down
check_eq own_verdict_wins down "$(sctl -j server show local 198.18.0.2 | jq -r .health_used)"
check_eq own_values_not_echoed null "$(pub | jq -c '.pools.web')"

# the store goes away: answers go on, status says so, a restart serves
# the saved copy of the shared config
stop_etcd
check_eq unreachable_reported false "$(wait_for 5 false 'sctl -j status | jq -r .store.reachable')"
check_eq unreachable_still_answers 198.18.7.1 "$(q www.cdn.example A)"
check_eq peers_dropped_after_ttl 0 \
	"$(wait_for 6 0 'sctl -j server show web 198.18.7.2 | jq -r .peers.down')"
check_eq peers_dropped_answer "198.18.7.1" "$(q www.cdn.example A)"
stop_steerd
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log2" || exit 1
check_eq restart_without_store_serves_cache 2 "$(sctl -j pool show web | jq -r '.servers | length')"
check_eq restart_cache_source store "$(sctl -j name show www.cdn.example | jq -r .source)"

# back: reachable again, and a change made meanwhile is picked up
start_etcd || exit 1
ectl put /pst/config "$(shared '{ address = "198.18.7.3"; }')" >/dev/null
check_eq store_back_change 198.18.7.3 "$(wait_for 8 198.18.7.3 'q www.cdn.example A')"
check_eq store_back_reachable true "$(sctl -j status | jq -r .store.reachable)"

# our key lives under a lease: gone once we stop
stop_steerd
check_eq lease_expires_key "" "$(wait_for 6 "" pub)"

# the config's store settings are checked
bad_store() {	# NAME SETTINGS EXPECTED-WORDS
	{ conf_head; conf_cdn; echo "store = { $2 };"; } >"$E2E_DIR/bad.conf"
	if "$OUT/steerd" -t -c "$E2E_DIR/bad.conf" >"$E2E_DIR/bad.log" 2>&1; then
		fail "$1" "accepted"
	elif grep -q "$3" "$E2E_DIR/bad.log"; then
		pass "$1"
	else
		fail "$1" "$(cat "$E2E_DIR/bad.log")"
	fi
}
bad_store conf_no_endpoints 'prefix = "/x";' "'endpoints' is required"
bad_store conf_bad_endpoint 'endpoints = [ "127.0.0.1:2379" ];' "must be http://HOST:PORT"
bad_store conf_bad_name 'endpoints = [ "http://a:1" ]; name = "a/b";' "store: name 'a/b'"
bad_store conf_bad_prefix 'endpoints = [ "http://a:1" ]; prefix = "x/";' "store: prefix"
bad_store conf_ttl_short 'endpoints = [ "http://a:1" ]; interval = 2000; ttl = 3;' "two intervals"
bad_store conf_unknown 'endpoints = [ "http://a:1" ]; port = 1;' "unknown setting 'port' in store"
{ conf_head; echo 'store = { endpoints = [ "http://a:1" ]; };'; } >"$E2E_DIR/nozones.conf"
"$OUT/steerd" -t -c "$E2E_DIR/nozones.conf" 2>&1 | grep -q "'zones' is required" &&
	pass conf_zones_required_without_shared_config ||
	fail conf_zones_required_without_shared_config "accepted"
exit $E2E_FAILED
