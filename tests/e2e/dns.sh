#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# End to end: steerd from a config file answers dig and kdig from a client
# namespace over IPv4 and IPv6, with and without EDNS.
. "$(dirname "$0")/lib.sh"
e2e_init dns
topo_pop_client

cat >"$E2E_DIR/steerd.conf" <<CONF
# end-to-end test config
interfaces = [ "veth-pop" ];
bpffs = "$E2E_DIR/bpffs";
dns = { listen = [ "198.18.0.1", "2001:2::1" ]; };
zones = (
  { name = "shop.example"; ttl = 3600;
    soa = { mname = "ns1.shop.example"; rname = "hostmaster@shop.example";
            serial = 42; minimum = 60; };
    ns = [ "ns1.shop.example", "ns2.shop.example" ]; }
);
pools = (
  { name = "origins"; answers = 1; ttl = 30;
    servers = ( { address = "198.18.1.10"; }, { address = "198.18.1.11"; },
                { address = "2001:2:1::10"; } ); },
  { name = "pair"; answers = 2;
    servers = ( { address = "198.18.2.1"; }, { address = "198.18.2.2"; },
                { address = "198.18.2.3"; } ); }
);
names = (
  { name = "www.shop.example"; pool = "origins"; ttl = 20; },
  { name = "api.shop.example"; pool = "pair"; }
);
CONF

start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/steerd.log" || {
	fail start "steerd did not start"; exit 1; }
pass start
grep -q "veth-pop: XDP program attached" "$E2E_DIR/steerd.log" &&
	pass attached || fail attached "$(cat "$E2E_DIR/steerd.log")"

in_set() {	# in_set VALUE A B ...: is VALUE one of the rest?
	local v=$1; shift
	for a; do [ "$v" = "$a" ] && return 0; done
	return 1
}

# A and AAAA over IPv4 and IPv6, with and without EDNS, dig and kdig
for server in 198.18.0.1 2001:2::1; do
	for edns in +edns +noedns; do
		tag="$server${edns}"
		out=$(cdig @$server www.shop.example A $edns)
		a=$(echo "$out" | awk '$4 == "A" { print $5 }')
		ttl=$(echo "$out" | awk '$4 == "A" { print $2 }')
		if in_set "$a" 198.18.1.10 198.18.1.11 && [ "$ttl" = 20 ] &&
		   echo "$out" | grep -q "flags: qr aa;"; then
			pass "a_$tag"
		else
			fail "a_$tag" "$out"
		fi
		if [ $edns = +edns ]; then
			echo "$out" | grep -q "EDNS: version: 0, flags:; udp: 1232" &&
				pass "opt_$tag" || fail "opt_$tag" "no/incorrect OPT: $out"
		else
			echo "$out" | grep -q "EDNS" &&
				fail "no_opt_$tag" "OPT without EDNS query" || pass "no_opt_$tag"
		fi
		check_eq "aaaa_$tag" 2001:2:1::10 \
			"$(cdig @$server www.shop.example AAAA $edns +short)"
		out=$(ip netns exec "$CLI" kdig @$server +norec +timeout=1 \
			www.shop.example A $edns +short)
		in_set "$out" 198.18.1.10 198.18.1.11 &&
			pass "kdig_$tag" || fail "kdig_$tag" "got '$out'"
	done
done

# two distinct records from the 'pair' pool
out=$(cdig @198.18.0.1 api.shop.example A +short | sort)
n=$(echo "$out" | sort -u | grep -c '^198\.18\.2\.[123]$')
check_eq two_answers 2 "$n"

# letter case: matched regardless, echoed as sent
out=$(cdig @198.18.0.1 WwW.ShOp.ExAmPlE A)
echo "$out" | grep -q "^WwW.ShOp.ExAmPlE.[[:space:]]*20[[:space:]]*IN[[:space:]]*A" &&
	pass case_echo || fail case_echo "$out"

# negative answers carry the zone SOA (TTL min(SOA TTL, minimum) = 60)
out=$(cdig @198.18.0.1 nope.shop.example A)
echo "$out" | grep -q "status: NXDOMAIN" &&
echo "$out" | grep -q "^shop.example.[[:space:]]*60[[:space:]]*IN[[:space:]]*SOA[[:space:]]*ns1.shop.example. hostmaster.shop.example. 42" &&
	pass nxdomain || fail nxdomain "$out"
out=$(cdig @2001:2::1 www.shop.example MX)
echo "$out" | grep -q "status: NOERROR" && echo "$out" | grep -q "ANSWER: 0, AUTHORITY: 1" &&
	pass nodata || fail nodata "$out"
check_eq refused REFUSED "$(dig_status @198.18.0.1 www.elsewhere.example A)"
check_eq soa "ns1.shop.example. hostmaster.shop.example. 42 3600 600 604800 60" \
	"$(cdig @198.18.0.1 shop.example SOA +short)"
check_eq ns "ns1.shop.example. ns2.shop.example." \
	"$(cdig @198.18.0.1 shop.example NS +short | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq badvers BADVERS "$(dig_status @198.18.0.1 www.shop.example A +edns=1 +noednsneg)"

# what is not ours goes to the stack: nothing listens there for these
before=$(stats | jq '.[1]')
[[ $before =~ ^[0-9]+$ ]] || fail stats "cannot read ps_stats: '$before'"
ip -n "$POP" addr add 198.18.0.5/24 dev veth-pop
check_eq other_address timeout "$(dig_status @198.18.0.5 www.shop.example A +tries=1)"
check_eq other_port timeout "$(dig_status @198.18.0.1 -p 5353 www.shop.example A +tries=1)"
# TCP is the stack's: steerd answers it, the XDP counters do not move
check_eq tcp_answered_by_steerd NOERROR "$(dig_status @198.18.0.1 +tcp www.shop.example A +tries=1)"
check_eq not_counted_as_queries "$before" "$(stats | jq '.[1]')"

# counters: one query, one NOERROR answer
before=$(stats)
cdig @198.18.0.1 www.shop.example A >/dev/null
after=$(stats)
check_eq counter_queries 1 $(( $(echo "$after" | jq '.[1]') - $(echo "$before" | jq '.[1]') ))
check_eq counter_noerror 1 $(( $(echo "$after" | jq '.[2]') - $(echo "$before" | jq '.[2]') ))

exit $E2E_FAILED
