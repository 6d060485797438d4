#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# TCP answers equal UDP answers: for every rule of the fast path, dig over
# TCP (steerd, userspace) and over UDP (XDP) get the same reply sections
# and flags; a reply too large for UDP is TC=1 there and complete over
# TCP; what XDP passes is answered by steerd's UDP socket.
. "$(dirname "$0")/lib.sh"
e2e_init tcp
topo_pop_client

ns8() {	# eight long name server names, for a reply over 512 bytes
	for i in 1 2 3 4 5 6 7 8; do
		printf '"ns%d.abcdefghijklmnopqrstuvwxyz01.provider.example"' $i
		[ $i = 8 ] || printf ', '
	done
}
{ conf_head; cat <<CONF
dns = { listen = [ "198.18.0.1", "2001:2::1" ]; };
zones = (
  { name = "shop.example"; ttl = 3600;
    soa = { mname = "ns1.shop.example"; rname = "hostmaster@shop.example"; serial = 9; minimum = 60; };
    ns = [ "ns1.shop.example", "ns2.shop.example" ]; },
  { name = "sub.shop.example"; ttl = 100;
    soa = { mname = "ns.sub.shop.example"; rname = "h.sub.shop.example"; minimum = 50; };
    ns = [ "ns.sub.shop.example" ]; },
  { name = "big.example";
    soa = { mname = "ns.big.example"; rname = "h.big.example"; };
    ns = [ $(ns8) ]; }
);
pools = (
  { name = "one"; ttl = 30; servers = ( { address = "198.18.1.10"; }, { address = "2001:2:1::10"; } ); },
  { name = "sticky"; select = "hash"; answers = 2;
    servers = ( { address = "198.18.2.1"; }, { address = "198.18.2.2"; }, { address = "198.18.2.3"; },
                { address = "2001:2:2::1"; }, { address = "2001:2:2::2"; }, { address = "2001:2:2::3"; } ); },
  { name = "v4only"; servers = ( { address = "198.18.3.1"; } ); }
);
names = (
  { name = "www.shop.example"; pool = "one"; ttl = 20; },
  { name = "shop.example"; pool = "one"; },
  { name = "sticky.shop.example"; pool = "sticky"; },
  { name = "v4.shop.example"; pool = "v4only"; },
  { name = "deep.a.b.shop.example"; pool = "one"; },
  { name = "www.sub.shop.example"; pool = "one"; }
);
CONF
} >"$E2E_DIR/steerd.conf"
start_steerd "$E2E_DIR/steerd.conf" "$E2E_DIR/log" || exit 1

# flags, rcode and the three sections, without ids and timings
reply() {
	cdig +nocookie +nottlid "$@" +noall +comments +answer +authority +additional |
		grep -v '^;; \(Query time\|SERVER\|WHEN\|MSG SIZE\|Got answer\)' |
		sed -e 's/id: [0-9]*//' -e '/^$/d'
}

same() {	# same NAME DIG-ARGS...: UDP (XDP) and TCP (steerd) agree
	local name=$1 udp tcp; shift
	udp=$(reply "$@")
	tcp=$(reply +tcp "$@")
	if [ -z "$udp" ] || ! echo "$udp" | grep -q "status:"; then
		fail "$name" "no UDP reply"
	elif [ "$udp" = "$tcp" ]; then
		pass "$name"
	else
		fail "$name" "UDP and TCP differ:
--- UDP
$udp
--- TCP
$tcp"
	fi
}

xdp_before=$(stats | jq '.[1]')
for s in 198.18.0.1 2001:2::1; do
	for e in +edns +noedns; do
		t="${s}${e}"
		same "a_$t" @$s $e www.shop.example A
		same "aaaa_$t" @$s $e www.shop.example AAAA
		same "case_$t" @$s $e WwW.sHoP.eXaMpLe A
		same "apex_a_$t" @$s $e shop.example A
		same "apex_soa_$t" @$s $e shop.example SOA
		same "apex_ns_$t" @$s $e shop.example NS
		same "hash_a_$t" @$s $e sticky.shop.example A
		same "hash_aaaa_$t" @$s $e sticky.shop.example AAAA
		same "nodata_type_$t" @$s $e www.shop.example MX
		same "nodata_family_$t" @$s $e v4.shop.example AAAA
		same "nodata_ent_$t" @$s $e a.b.shop.example A
		same "nxdomain_$t" @$s $e nope.shop.example A
		same "nxdomain_below_$t" @$s $e x.www.shop.example A
		same "subzone_$t" @$s $e nope.sub.shop.example A
		same "subzone_name_$t" @$s $e www.sub.shop.example A
		same "refused_$t" @$s $e www.elsewhere.example A
	done
done
same badvers @198.18.0.1 +edns=1 +noednsneg www.shop.example A
same do_bit_cleared @198.18.0.1 +dnssec www.shop.example A
[ "$(stats | jq '.[1]')" -gt "$xdp_before" ] && pass udp_went_through_xdp ||
	fail udp_went_through_xdp "the XDP query counter did not move"

# too large for UDP: TC=1 and nothing else; complete over TCP
out=$(cdig @198.18.0.1 +noedns +ignore big.example NS)
echo "$out" | grep -q "flags: qr aa tc;" && echo "$out" | grep -q "ANSWER: 0," &&
	pass tc_over_udp || fail tc_over_udp "$out"
check_eq full_over_tcp 8 "$(cdig @198.18.0.1 +noedns +tcp big.example NS +short | wc -l)"
# dig retries a truncated reply over TCP by itself
check_eq tc_retry_over_tcp 8 "$(cdig @198.18.0.1 +noedns big.example NS +short | wc -l)"

# what XDP passes, steerd's UDP socket answers
check_eq chaos_class_refused REFUSED "$(dig_status @198.18.0.1 -c CH -q version.bind -t TXT)"
check_eq any_minimal NOERROR "$(dig_status @198.18.0.1 www.shop.example ANY)"
check_eq any_answer 198.18.1.10 "$(cdig @198.18.0.1 www.shop.example ANY +short)"
check_eq notify_notimp NOTIMP "$(dig_status @198.18.0.1 +opcode=notify shop.example SOA)"
check_eq axfr_refused "Transfer failed." \
	"$(ip netns exec "$CLI" dig +time=1 @198.18.0.1 shop.example AXFR | grep -o 'Transfer failed.')"

exit $E2E_FAILED
