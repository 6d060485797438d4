#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# steerctl against a real steerd: every command and its effect on the
# answers dig gets from the client namespace, JSON output (read with jq),
# prefix matching, help at every level, exit status 0/1/2, invalid
# arguments refused with nothing changed, and what works while steerd is
# down (stats and prog show; the data plane keeps answering).
. "$(dirname "$0")/lib.sh"
e2e_init steerctl
command -v jq >/dev/null || e2e_skip_all "jq not installed (make deps)"
if [ ! -x "$OUT/steerctl" ]; then
	fail build "$OUT/steerctl not built (make)"; exit 1
fi
topo_pop_client

SOCK=$E2E_DIR/steerd.sock
cat >"$E2E_DIR/steerd.conf" <<CONF
interfaces = [ "veth-pop" ];
bpffs = "$E2E_DIR/bpffs";
control_socket = "$SOCK";
state_file = "$E2E_DIR/state.conf";
dns = { listen = [ "198.18.0.1", "2001:2::1" ]; };
zones = (
  { name = "shop.example"; ttl = 3600;
    soa = { mname = "ns1.shop.example"; rname = "hostmaster@shop.example"; serial = 42; };
    ns = [ "ns1.shop.example", "ns2.shop.example" ]; }
);
pools = (
  { name = "origins"; ttl = 30; servers = ( { address = "198.18.1.10"; } ); },
  { name = "pair"; answers = 2;
    servers = ( { address = "198.18.2.1"; }, { address = "198.18.2.2"; },
                { address = "2001:2:2::1"; } ); }
);
names = (
  { name = "www.shop.example"; pool = "origins"; ttl = 20; },
  { name = "api.shop.example"; pool = "pair"; }
);
CONF

start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/steerd.log" || {
	fail start "steerd did not start"; exit 1; }

SC=("$OUT/steerctl" -s "$SOCK" -B "$E2E_DIR/bpffs")
sc() { "${SC[@]}" "$@"; }
# in the PoP namespace: prog show looks at that namespace's interfaces
scn() { ip netns exec "$POP" "${SC[@]}" "$@"; }

# run CMD...: $out (stdout), $err (stderr), $rc
run() {
	out=$("$@" 2>"$E2E_DIR/stderr")
	rc=$?
	err=$(cat "$E2E_DIR/stderr")
}

# ok NAME ARGS...: steerctl ARGS succeeds and prints nothing on stderr
ok() {
	local name=$1; shift
	run sc "$@"
	if [ "$rc" = 0 ] && [ -z "$err" ]; then
		pass "$name"
	else
		fail "$name" "steerctl $*: status $rc, stdout '$out', stderr '$err'"
	fi
}

# quiet NAME ARGS...: a change: succeeds and prints nothing at all
quiet() {
	local name=$1; shift
	run sc "$@"
	if [ "$rc" = 0 ] && [ -z "$err" ] && [ -z "$out" ]; then
		pass "$name"
	else
		fail "$name" "steerctl $*: status $rc, stdout '$out', stderr '$err'"
	fi
}

# A records of NAME, sorted, on one line
a_of() {
	cdig @198.18.0.1 "$1" A +short | sort | tr '\n' ' ' | sed 's/ $//'
}
ttl_of() {
	cdig @198.18.0.1 "$1" A +noall +answer | awk '{ print $2; exit }'
}
aa_of() {	# flags of a reply
	cdig @198.18.0.1 "$@" | sed -n 's/.*flags: \([a-z ]*\);.*/\1/p'
}

# what steerd serves and what the data plane answers (all deterministic)
snapshot() {
	sc -j zone list 2>/dev/null; sc -j pool list 2>/dev/null
	sc -j name list 2>/dev/null; sc -j server list 2>/dev/null
	a_of www.shop.example; a_of api.shop.example
	cdig @198.18.0.1 shop.example SOA +short
}

# refused NAME STATUS MESSAGE ARGS...: exits STATUS with one line
# "Error: ...MESSAGE..." on stderr, nothing on stdout, nothing changed
refused() {
	local name=$1 want=$2 msg=$3 before after; shift 3
	before=$(snapshot)
	run sc "$@"
	after=$(snapshot)
	if [ "$rc" != "$want" ] || [ -n "$out" ] ||
	   [ "$(echo "$err" | wc -l)" != 1 ] || [[ "$err" != "Error: "*"$msg"* ]]; then
		fail "$name" "steerctl $*: status $rc (want $want), stdout '$out', stderr '$err' (want '$msg')"
	elif [ "$before" != "$after" ]; then
		fail "$name" "steerctl $*: refused but something changed: $(diff <(echo "$before") <(echo "$after"))"
	else
		pass "$name"
	fi
}

# jq_eq NAME FILTER EXPECTED ARGS...: steerctl -j ARGS | jq -c FILTER
jq_eq() {
	local name=$1 filter=$2 want=$3; shift 3
	run sc -j "$@"
	if [ "$rc" != 0 ] || [ -n "$err" ]; then
		fail "$name" "steerctl -j $*: status $rc, stderr '$err'"
		return
	fi
	check_eq "$name" "$want" "$(echo "$out" | jq -c "$filter" 2>&1)"
}

queries() { sc -j stats show | jq .queries; }

# ---- help and usage ----------------------------------------------------------

run sc help
[ "$rc" = 0 ] && [ -z "$err" ] && [[ "$out" == "Usage: steerctl [OPTIONS] OBJECT { COMMAND | help }"* ]] &&
	echo "$out" | grep -q "steerctl pool add POOL \[answers N\]" &&
	pass help_top || fail help_top "status $rc: $out $err"
top_help=$out
run sc --help
check_eq help_option "$top_help" "$out"
run sc -h
check_eq help_short_option "$top_help" "$out"

declare -A CMDS=(
	[status]="show" [zone]="list show add set del" [pool]="list show add set del"
	[server]="list add set del" [name]="list show add set del" [stats]="show"
	[prog]="show attach detach"
)
bad=""
for o in "${!CMDS[@]}"; do
	run sc "$o" help
	[ "$rc" = 0 ] && [ -z "$err" ] && [[ "$out" == "Usage: steerctl $o {"* ]] ||
		bad+=" [$o help: $rc $out $err]"
	for c in ${CMDS[$o]}; do
		run sc "$o" "$c" help
		[ "$rc" = 0 ] && [ -z "$err" ] && [[ "$out" == "Usage: steerctl $o $c"* || "$out" == "Usage: steerctl $o [$c]"* ]] ||
			bad+=" [$o $c help: $rc $out $err]"
	done
done
[ -z "$bad" ] && pass help_every_level || fail help_every_level "$bad"

run sc pool add edge answers 2 help
[ "$rc" = 0 ] && [[ "$out" == "Usage: steerctl pool add POOL"* ]] &&
	[ "$(sc -j pool list | jq 'map(.name) | index("edge")')" = null ] &&
	pass help_after_words_changes_nothing || fail help_after_words_changes_nothing "$rc $out $err"
run sc po he
[ "$rc" = 0 ] && [[ "$out" == "Usage: steerctl pool {"* ]] &&
	pass help_prefix || fail help_prefix "$rc $out $err"
run sc -V
[[ "$rc$out" == "0steerctl "[0-9]* ]] && pass version || fail version "$rc $out $err"
jq_eq version_json '.version | type' '"string"' -V

# ---- reading ------------------------------------------------------------------

run sc status
[ "$rc" = 0 ] && echo "$out" | grep -q "^pools  *2$" &&
	echo "$out" | grep -q "^interfaces  *veth-pop$" &&
	pass status || fail status "$rc $out $err"
jq_eq status_json '[.zones, .pools, .names, .interfaces, .pid == '"$STEERD_PID"']' \
	'[1,2,2,["veth-pop"],true]' status
run sc status show
check_eq status_show_is_status 0 "$rc"

run sc zone list
[ "$rc" = 0 ] && echo "$out" | head -1 | grep -q "^ZONE  *TTL  *SERIAL  *NS  *NAMES  *SOURCE$" &&
	echo "$out" | grep -q "^shop.example  *3600  *42  *ns1.shop.example,ns2.shop.example  *2  *config$" &&
	pass zone_list || fail zone_list "$rc $out $err"
jq_eq zone_list_json '[length, .[0].name, .[0].soa.serial]' '[1,"shop.example",42]' zone list
run sc zone show shop.example
[ "$rc" = 0 ] && echo "$out" | grep -q "^serial  *42$" &&
	echo "$out" | grep -q "^rname  *hostmaster.shop.example$" &&
	pass zone_show || fail zone_show "$rc $out $err"
jq_eq zone_show_json '[.ns, (.names | sort), .soa.minimum, .source]' \
	'[["ns1.shop.example","ns2.shop.example"],["api.shop.example","www.shop.example"],60,"config"]' \
	zone show shop.example

run sc pool list
[ "$rc" = 0 ] && echo "$out" | head -1 | grep -q "^POOL  *ANSWERS  *POLICY  *FALLBACK  *TTL  *SERVERS  *NAMES  *SOURCE$" &&
	check_eq pool_list "1 weighted all 30 1 1 config" \
		"$(echo "$out" | awk '$1 == "origins" { $1 = ""; print substr($0, 2) }')" ||
	fail pool_list "$rc $out $err"
jq_eq pool_list_json 'map(.name)' '["origins","pair"]' pool list
run sc pool show origins
[ "$rc" = 0 ] && echo "$out" | grep -q "^servers  *198.18.1.10 weight 100 state up health unknown share 100.0%$" &&
	echo "$out" | grep -q "^names  *www.shop.example$" &&
	pass pool_show || fail pool_show "$rc $out $err"
jq_eq pool_show_json '[(.servers | map({address, weight, state, share})), .names, .answers, .select, .policy, .fallback, .serving, .ttl]' \
	'[[{"address":"198.18.1.10","weight":100,"state":"up","share":1}],["www.shop.example"],1,"random","weighted","all",{"ipv4":"servers","ipv6":"nodata"},30]' pool show origins
run sc -p pool show origins
[ "$rc" = 0 ] && [ "$(echo "$out" | wc -l)" -gt 5 ] &&
	[ "$(echo "$out" | jq -c .)" = "$(sc -j pool show origins | jq -c .)" ] &&
	pass pretty_json || fail pretty_json "$rc $out $err"
[ "$(sc -j pool list | wc -l)" = 1 ] && pass compact_json_one_line ||
	fail compact_json_one_line "$(sc -j pool list)"

run sc name list
[ "$rc" = 0 ] && echo "$out" | grep -q "^www.shop.example  *shop.example  *origins  *20  *config$" &&
	pass name_list || fail name_list "$rc $out $err"
jq_eq name_list_json 'map(.name) | sort' '["api.shop.example","www.shop.example"]' name list
jq_eq name_list_pool 'map(.name)' '["api.shop.example"]' name list pool pair
jq_eq name_list_zone 'length' '2' name list zone shop.example
jq_eq name_list_both 'map(.name)' '["www.shop.example"]' name list zone shop.example pool origins
run sc name show www.shop.example
[ "$rc" = 0 ] && echo "$out" | grep -q "^pool  *origins$" && pass name_show ||
	fail name_show "$rc $out $err"
jq_eq name_show_json '[.zone, .pool, .ttl, .source]' '["shop.example","origins",20,"config"]' \
	name show www.shop.example
jq_eq name_show_case '.name' '"www.shop.example"' name show WWW.Shop.Example

run sc server list
[ "$rc" = 0 ] && echo "$out" | head -1 | grep -q "^POOL  *ADDRESS  *WEIGHT  *STATE  *HEALTH  *SCORE  *SHARE  *LAST ERROR$" &&
	echo "$out" | grep -q "^pair  *2001:2:2::1  *100  *up  *unknown  *0  *100.0%  *-$" && pass server_list ||
	fail server_list "$rc $out $err"
jq_eq server_list_json 'map(.address)' '["198.18.1.10","198.18.2.1","198.18.2.2","2001:2:2::1"]' server list
jq_eq server_list_pool 'map(.pool) | unique' '["pair"]' server list pool pair

# defaults: a bare object runs its view
run sc pool
check_eq default_command "$(sc pool list)" "$out"

# ---- refused, nothing changed ------------------------------------------------------
check_eq answers_before "198.18.1.10|198.18.2.1 198.18.2.2" \
	"$(a_of www.shop.example)|$(a_of api.shop.example)"

refused bad_address 2 "'198.18.1.300' is not an IPv4 or IPv6 address" \
	server add origins 198.18.1.300
refused bad_address_in_pool 2 "is not an IPv4 or IPv6 address" pool add p2 server 10.0.0
refused unknown_pool 1 "no pool 'nopool'" server add nopool 198.18.1.20
refused name_unknown_pool 1 "no pool named 'nopool'" name add new.shop.example pool nopool
refused list_unknown_pool 1 "no pool 'nopool'" name list pool nopool
refused show_unknown_pool 1 "no pool 'nopool'" pool show nopool
refused duplicate_name 1 "name 'www.shop.example' already exists" \
	name add www.shop.example pool pair
refused duplicate_pool 1 "pool 'pair' already exists" pool add pair
refused duplicate_server 1 "server 198.18.1.10 is already in pool 'origins'" \
	server add origins 198.18.1.10
refused outside_zone 1 "name 'www.other.example' is not inside any configured zone" \
	name add www.other.example pool origins
refused ttl_out_of_range 1 "'ttl' = 2147483648 is out of range [0, 2147483647]" \
	name set www.shop.example ttl 2147483648
refused ttl_not_a_number 2 "name set: ttl '12x' is not a number" name set www.shop.example ttl 12x
refused ttl_negative 2 "ttl '-5' is not a number" -- name set www.shop.example ttl -5
refused ttl_over_32_bits 2 "is not a number (0..4294967295)" pool set origins ttl 4294967296
refused answers_9 1 "pool 'origins': 'answers' = 9 is out of range [1, 8]" \
	pool set origins answers 9
refused answers_0 1 "'answers' = 0 is out of range [1, 8]" pool add p2 answers 0
refused weight_out_of_range 1 "out of range" server set origins 198.18.1.10 weight 1000001
refused prefix4_out_of_range 1 "out of range [0, 32]" pool set origins prefix4 33
refused select_bogus 2 "pool set select: unknown value 'bogus' (expected one of: random, hash)" \
	pool set origins select bogus
refused pool_in_use 1 "pool 'origins' is used by names: www.shop.example" pool del origins
refused zone_with_names 1 "zone 'shop.example' still has names" zone del shop.example
refused no_such_name 1 "no name 'nope.shop.example'" name del nope.shop.example
refused no_such_server 1 "no server 198.18.9.9 in pool 'origins'" server del origins 198.18.9.9
refused no_such_zone 1 "no zone 'none.example'" zone set none.example serial 3
refused bad_name 2 "zone add: bad name 'bad..example'" \
	zone add bad..example mname ns.x.example rname a@x.example ns ns.x.example
refused bad_name_chars 2 "bad name 'a*b.shop.example'" name add 'a*b.shop.example' pool origins
refused missing_keyword 2 "name add: missing 'pool POOL'" name add new.shop.example
refused missing_ns 2 "zone add: missing 'ns NAME'" \
	zone add cdn.example mname ns1.cdn.example rname ops@cdn.example
refused missing_positional 2 "server add: missing ADDR" server add origins
refused missing_value 2 "pool set: 'ttl' needs a value: ttl N" pool set origins ttl
refused nothing_to_set 2 "pool set: nothing to change" pool set origins
refused given_twice 2 "pool set: 'ttl' given twice" pool set origins ttl 5 ttl 6
refused weight_without_server 2 "'weight' must follow the 'server' it applies to" \
	pool add p2 weight 5
refused unknown_command 2 "pool: unknown command 'frob' (expected one of: list, show, add, set, del, help)" \
	pool frob
refused unknown_object 2 "unknown object 'frob' (expected one of: status, zone, pool, server, name, vip, stats, prog, help)" \
	frob
refused ambiguous_object 2 "ambiguous object 'st' (matches: status, stats)" st
refused ambiguous_command 2 "pool: ambiguous command 's' (matches: show, set)" pool s origins
refused ambiguous_keyword 2 "pool add: ambiguous keyword 'se' (matches: select, server)" \
	pool add p2 se 198.18.1.1
refused extra_word 2 "pool list: unexpected argument 'extra'" pool list extra
refused extra_positional 2 "pool show: unexpected argument 'pair'" pool show origins pair
refused unknown_keyword 2 "pool set: unknown keyword 'colour' (expected one of: answers, policy, select, fallback, backup, threshold, margin, cpu-weight, response-weight, latency-weight, traffic-weight, traffic-ref, ewma, ttl, prefix4, prefix6, probe, url, host, method, expect, body, user, password, port, interval, timeout, jitter, rise, fall, health, max-body, reuse, help)" \
	pool set origins colour red
refused unknown_option 2 "unknown option" --bogus status
refused missing_object 2 "missing OBJECT"
refused mode_bogus 2 "unknown value 'fast' (expected one of: auto, native, skb)" \
	prog attach dev veth-pop mode fast

# with -j the error is also a JSON object on stdout, same status
run sc -j pool set origins answers 9
[ "$rc" = 1 ] && [[ "$err" == "Error: "*"out of range"* ]] &&
	[ "$(echo "$out" | jq -r '.error')" = "${err#Error: }" ] &&
	pass json_error_runtime || fail json_error_runtime "$rc '$out' '$err'"
run sc -j pool set origins select bogus
[ "$rc" = 2 ] && [ "$(echo "$out" | jq -r '.error')" = "${err#Error: }" ] &&
	pass json_error_usage || fail json_error_usage "$rc '$out' '$err'"

# ---- servers: a single-server pool answers the server just added --------------------

quiet pool_add_empty pool add solo ttl 12
jq_eq pool_add_empty_json '[.servers, .ttl, .source]' '[[],12,"runtime"]' pool show solo
quiet name_add_to_empty_pool name add solo.shop.example pool solo
check_eq empty_pool_nodata "NOERROR " "$(dig_status @198.18.0.1 solo.shop.example A) $(a_of solo.shop.example)"
quiet server_add server add solo 198.18.4.1
check_eq server_add_answered 198.18.4.1 "$(a_of solo.shop.example)"
check_eq server_add_ttl 12 "$(ttl_of solo.shop.example)"
quiet server_add_weight server add solo 198.18.4.2 weight 50
jq_eq server_add_weight_json 'map({pool, address, weight, state, usable})' '[{"pool":"solo","address":"198.18.4.1","weight":100,"state":"up","usable":true},{"pool":"solo","address":"198.18.4.2","weight":50,"state":"up","usable":true}]' \
	server list pool solo
quiet pool_set_answers pool set solo answers 2
check_eq pool_set_answers_two_records "198.18.4.1 198.18.4.2" "$(a_of solo.shop.example)"
quiet server_set_weight0 server set solo 198.18.4.1 weight 0
check_eq server_weight0_not_answered 198.18.4.2 "$(a_of solo.shop.example)"
quiet server_set_weight server set solo 198.18.4.1 weight 100
check_eq server_weight_back "198.18.4.1 198.18.4.2" "$(a_of solo.shop.example)"
quiet server_del server del solo 198.18.4.2
check_eq server_del_not_answered 198.18.4.1 "$(a_of solo.shop.example)"
jq_eq server_del_json 'map(.address)' '["198.18.4.1"]' server list pool solo
quiet server_add_v6 server add solo 2001:2:4::1
check_eq server_add_v6_answered 2001:2:4::1 "$(cdig @2001:2::1 solo.shop.example AAAA +short)"
quiet server_del_v6_other_spelling server del solo 2001:2:4:0:0::1
check_eq server_del_v6_nodata "NOERROR" "$(dig_status @198.18.0.1 solo.shop.example AAAA)"
quiet pool_set_many pool set solo select hash prefix4 16 prefix6 48 ttl 13 answers 1
jq_eq pool_set_json '[.select, .hash_prefix4, .hash_prefix6, .ttl, .answers]' '["hash",16,48,13,1]' \
	pool show solo
run sc pool list
check_eq pool_list_runtime "1 hash all 13 1 1 runtime" \
	"$(echo "$out" | awk '$1 == "solo" { $1 = ""; print substr($0, 2) }')"

# ---- names ------------------------------------------------------------------------

check_eq name_before_nxdomain NXDOMAIN "$(dig_status @198.18.0.1 new.shop.example A)"
quiet name_add name add new.shop.example pool origins ttl 7
check_eq name_add_answered "198.18.1.10 7 qr aa" \
	"$(a_of new.shop.example) $(ttl_of new.shop.example) $(aa_of new.shop.example A)"
jq_eq name_add_json '[.name, .zone, .pool, .ttl, .source]' \
	'["new.shop.example","shop.example","origins",7,"runtime"]' name show new.shop.example
quiet name_set_pool name set new.shop.example pool pair
check_eq name_set_pool_switches "198.18.2.1 198.18.2.2" "$(a_of new.shop.example)"
quiet name_set_ttl name set new.shop.example ttl 9
check_eq name_set_ttl_answered 9 "$(ttl_of new.shop.example)"
jq_eq name_set_json '[.pool, .ttl]' '["pair",9]' name show new.shop.example
quiet name_del name del new.shop.example
check_eq name_del_nxdomain NXDOMAIN "$(dig_status @198.18.0.1 new.shop.example A)"
refused name_show_deleted 1 "no name 'new.shop.example'" name show new.shop.example
run sc -j name add new.shop.example pool origins
[ "$rc" = 0 ] && [ "$out" = null ] && [ -z "$err" ] && pass change_json_null ||
	fail change_json_null "$rc '$out' '$err'"
quiet name_del_again name del new.shop.example
quiet name_del_solo name del solo.shop.example
quiet pool_del pool del solo
jq_eq pool_del_json 'map(.name)' '["origins","pair"]' pool list
refused pool_show_deleted 1 "no pool 'solo'" pool show solo

# ---- zones ------------------------------------------------------------------------

check_eq zone_before_refused REFUSED "$(dig_status @198.18.0.1 www.cdn.example A)"
quiet zone_add zone add cdn.example mname ns1.cdn.example rname ops@cdn.example \
	ns ns1.cdn.example ns ns2.cdn.example ttl 600 serial 5 minimum 30
check_eq zone_add_soa "ns1.cdn.example. ops.cdn.example. 5 3600 600 604800 30" \
	"$(cdig @198.18.0.1 cdn.example SOA +short)"
check_eq zone_add_ns "ns1.cdn.example. ns2.cdn.example." \
	"$(cdig @198.18.0.1 cdn.example NS +short | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq zone_add_nxdomain NXDOMAIN "$(dig_status @198.18.0.1 www.cdn.example A)"
quiet zone_name_add name add www.cdn.example pool pair
check_eq zone_name_answered_aa "198.18.2.1 198.18.2.2 qr aa" \
	"$(a_of www.cdn.example) $(aa_of www.cdn.example A)"
quiet zone_set_serial zone set cdn.example serial 6
check_eq zone_set_serial_soa "ns1.cdn.example. ops.cdn.example. 6 3600 600 604800 30" \
	"$(cdig @198.18.0.1 cdn.example SOA +short)"
quiet zone_set_ns zone set cdn.example ns ns3.cdn.example ttl 700 refresh 100 retry 50 expire 9000
check_eq zone_set_ns_replaced ns3.cdn.example. "$(cdig @198.18.0.1 cdn.example NS +short)"
check_eq zone_set_soa_fields "ns1.cdn.example. ops.cdn.example. 6 100 50 9000 30 700" \
	"$(cdig @198.18.0.1 cdn.example SOA +short) $(cdig @198.18.0.1 cdn.example SOA +noall +answer | awk '{ print $2 }')"
quiet zone_set_names zone set cdn.example mname ns3.cdn.example rname admin@cdn.example
check_eq zone_set_mname_rname "ns3.cdn.example. admin.cdn.example. 6" \
	"$(cdig @198.18.0.1 cdn.example SOA +short | cut -d' ' -f1-3)"
jq_eq zone_show_runtime '[.soa.serial, .ttl, .ns, .names, .source]' \
	'[6,700,["ns3.cdn.example"],["www.cdn.example"],"runtime"]' zone show cdn.example
refused zone_del_with_names 1 "zone 'cdn.example' still has names: www.cdn.example" \
	zone del cdn.example
quiet zone_name_del name del www.cdn.example
quiet zone_del zone del cdn.example
check_eq zone_del_refused REFUSED "$(dig_status @198.18.0.1 www.cdn.example A)"
jq_eq zone_del_json 'map(.name)' '["shop.example"]' zone list

# a pool with everything at once
quiet pool_add_full pool add edge answers 2 select hash ttl 15 prefix4 16 prefix6 48 \
	server 198.18.3.1 weight 10 server 198.18.3.2 server 2001:2:3::1 weight 7
jq_eq pool_add_full_json '[.answers, .select, .ttl, .hash_prefix4, .hash_prefix6, (.servers | map({address, weight}))]' \
	'[2,"hash",15,16,48,[{"address":"198.18.3.1","weight":10},{"address":"198.18.3.2","weight":100},{"address":"2001:2:3::1","weight":7}]]' \
	pool show edge
quiet pool_add_full_name name add edge.shop.example pool edge
check_eq pool_add_full_answered "198.18.3.1 198.18.3.2 15" \
	"$(a_of edge.shop.example) $(ttl_of edge.shop.example)"
quiet pool_add_full_cleanup name del edge.shop.example
quiet pool_del_full pool del edge

# ---- prefix matching -----------------------------------------------------------------

check_eq prefix_po_li "$(sc pool list)" "$(sc po li)"
quiet prefix_server_add se a origins 198.18.1.13 w 5
jq_eq prefix_server_add_json 'map(select(.address == "198.18.1.13") | .weight)' '[5]' \
	server list pool origins
quiet prefix_server_del ser d origins 198.18.1.13
check_eq prefix_name_show "$(sc name show www.shop.example)" "$(sc n sh www.shop.example)"
quiet prefix_choice pool set pair sel h
jq_eq prefix_choice_json '.select' '"hash"' pool show pair
quiet prefix_choice_back po se pair sel r a 2

# ---- stats ---------------------------------------------------------------------------

run sc stats show
[ "$rc" = 0 ] && echo "$out" | grep -q "^queries  *[0-9][0-9]*$" &&
	[ "$(echo "$out" | wc -l)" = 13 ] && pass stats_show || fail stats_show "$rc $out $err"
jq_eq stats_keys 'keys_unsorted' \
	'["packets","queries","noerror","nodata","nxdomain","refused","servfail","badvers","truncated","pass","pass_malformed","pass_notready","drop"]' \
	stats show
check_eq stats_match_bpftool "$(stats | jq '.[1]')" "$(queries)"
before=$(queries)
cdig @198.18.0.1 www.shop.example A >/dev/null
check_eq stats_count_query $((before + 1)) "$(queries)"
check_eq stats_default "$(sc -j stats show | jq -c 'del(.packets)')" \
	"$(sc -j stats | jq -c 'del(.packets)')"
refused stats_no_maps 1 "Couldn't open pinned map $E2E_DIR/nowhere/tc/globals/ps_cfg" \
	-B "$E2E_DIR/nowhere" stats show

# ---- prog -----------------------------------------------------------------------------

prog_id() { ip -n "$POP" -j link show dev veth-pop | jq '.[0].xdp.prog.id'; }
run scn prog show
[ "$rc" = 0 ] && echo "$out" | grep -q "^veth-pop  *[0-9]*  *native  *$(prog_id)  *xdp_steer$" &&
	pass prog_show || fail prog_show "$rc $out $err"
run scn -j prog show
check_eq prog_show_json "[\"veth-pop\",\"native\",$(prog_id),\"xdp_steer\"]" \
	"$(echo "$out" | jq -c '[.[0].dev, .[0].mode, .[0].id, .[0].name]')"
run sc -j prog show		# the host's namespace has none of ours
check_eq prog_show_other_netns "0 []" "$rc $out"

quiet prog_detach prog detach dev veth-pop
check_eq prog_detach_shown "[]" "$(scn -j prog show)"
before=$(queries)
check_eq prog_detached_steerd_answers 198.18.1.10 "$(a_of www.shop.example)"
check_eq prog_detached_no_xdp "$before" "$(queries)"
refused prog_detach_none 1 "'veth-pop' runs no XDP program" prog detach dev veth-pop
quiet prog_attach_skb prog attach dev veth-pop mode s
check_eq prog_attach_skb_shown '"skb"' "$(scn -j prog show | jq '.[0].mode')"
before=$(queries)
check_eq prog_attach_skb_answers 198.18.1.10 "$(a_of www.shop.example)"
check_eq prog_attach_skb_xdp $((before + 1)) "$(queries)"
quiet prog_detach_skb prog detach dev veth-pop
quiet prog_attach prog attach dev veth-pop
check_eq prog_attach_native '"native"' "$(scn -j prog show | jq '.[0].mode')"
before=$(queries)
check_eq prog_attach_answers 198.18.1.10 "$(a_of www.shop.example)"
check_eq prog_attach_xdp $((before + 1)) "$(queries)"
refused prog_attach_no_dev 1 "No interface 'nosuch'" prog attach dev nosuch
refused prog_detach_lo 1 "'lo' runs no XDP program" prog detach dev lo
refused prog_attach_missing_dev 2 "prog attach: missing 'dev IF'" prog attach

# ---- environment defaults ----------------------------------------------------------------

run env POPSTEER_SOCKET="$SOCK" POPSTEER_BPFFS="$E2E_DIR/bpffs" "$OUT/steerctl" -j status
check_eq env_socket "0 $STEERD_PID" "$rc $(echo "$out" | jq .pid)"
run env POPSTEER_BPFFS="$E2E_DIR/bpffs" "$OUT/steerctl" -j stats show
check_eq env_bpffs "0 number" "$rc $(echo "$out" | jq -r '.queries | type')"

# ---- steerd not answering ---------------------------------------------------------------

# (a stopped steerd would not die at cleanup: continue it on any exit)
trap 'kill -CONT "$STEERD_PID"; exit 130' INT TERM
kill -STOP "$STEERD_PID"
start=$(date +%s%N)
run sc status
ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$STEERD_PID"
trap 'exit 130' INT TERM
[ "$rc" = 1 ] && [ "$err" = "Error: steerd did not reply within 5 s" ] && [ -z "$out" ] &&
	[ "$ms" -ge 4500 ] && [ "$ms" -lt 8000 ] &&
	pass timeout || fail timeout "status $rc after $ms ms: '$out' '$err'"

# ---- steerd down: the data plane and the local views keep working -----------------------------

ok runtime_change_before_stop name add kept.shop.example pool pair ttl 11
stop_steerd
check_eq down_answers 198.18.1.10 "$(a_of www.shop.example)"
ok down_stats stats show
before=$(queries)
a_of www.shop.example >/dev/null
check_eq down_stats_count $((before + 1)) "$(queries)"
run scn -j prog show
check_eq down_prog_show '0 "veth-pop"' "$rc $(echo "$out" | jq '.[0].dev')"
refused down_status 1 "Couldn't connect to steerd at $SOCK: No such file or directory (is steerd running?)" status
refused down_change 1 "Couldn't connect to steerd" pool add p2
refused down_list 1 "Couldn't connect to steerd" pool list
refused down_usage_still_2 2 "not an IPv4 or IPv6 address" server add origins 1.2.3
run sc -j status
[ "$rc" = 1 ] && [[ "$(echo "$out" | jq -r .error)" == "Couldn't connect to steerd"* ]] &&
	pass down_json_error || fail down_json_error "$rc '$out' '$err'"

# runtime changes survive a restart
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/steerd2.log" || {
	fail restart "steerd did not start again"; exit 1; }
jq_eq restart_keeps_changes '[.pool, .ttl, .source]' '["pair",11,"runtime"]' \
	name show kept.shop.example
check_eq restart_answers "198.18.2.1 198.18.2.2 11" \
	"$(a_of kept.shop.example) $(ttl_of kept.shop.example)"

exit $E2E_FAILED
