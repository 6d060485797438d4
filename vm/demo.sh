#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: a PoP and a client in network namespaces.  steerd loads a
# config and attaches the XDP program; the client's dig queries are
# answered inside the PoP's NIC driver.  Everything is removed at the end.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$TOP/build}
ID=$$
POP=psdemo-$ID-pop
CLI=psdemo-$ID-cli
DIR=/run/popsteer-demo/$ID
STEERD_PID=

[ "$(id -u)" = 0 ] || { echo "Error: make demo needs root (namespaces, XDP)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
	[ -n "$STEERD_PID" ] && kill "$STEERD_PID" 2>/dev/null && wait "$STEERD_PID" 2>/dev/null
	ip netns del "$POP" 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	umount "$DIR/bpffs" 2>/dev/null
	rm -rf "$DIR"
	rmdir /run/popsteer-demo 2>/dev/null
	true
}
trap cleanup EXIT

say "1. A PoP namespace and a client namespace, one veth pair (198.18.0.1 <-> 198.18.0.2)"
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

say "2. steerd's config: zone shop.example, www (dynamic) -> origin pool, static -> PoP pool"
cat >"$DIR/steerd.conf" <<CONF
interfaces = [ "veth-pop" ];
bpffs = "$DIR/bpffs";
dns = { listen = [ "198.18.0.1", "2001:2::1" ]; };
zones = ( { name = "shop.example";
            soa = { mname = "ns1.shop.example"; rname = "hostmaster@shop.example"; serial = 1; };
            ns = [ "ns1.shop.example" ]; } );
pools = (
  { name = "shop-origins"; answers = 1; ttl = 20;
    servers = ( { address = "198.18.10.1"; weight = 100; },
                { address = "198.18.10.2"; weight = 300; },
                { address = "2001:2:10::1"; } ); },
  { name = "pops"; answers = 2; select = "hash"; ttl = 60;
    servers = ( { address = "198.18.20.1"; }, { address = "198.18.20.2"; },
                { address = "198.18.20.3"; } ); }
);
names = ( { name = "www.shop.example"; pool = "shop-origins"; },
          { name = "static.shop.example"; pool = "pops"; } );
CONF
sed 's/^/    /' "$DIR/steerd.conf"

say "3. steerd fills the pinned maps, then attaches the XDP program"
ip netns exec "$POP" "$OUT/steerd" -c "$DIR/steerd.conf" >"$DIR/steerd.log" 2>&1 &
STEERD_PID=$!
for _ in $(seq 50); do grep -q '^serving' "$DIR/steerd.log" && break; sleep 0.1; done
sed 's/^/    steerd: /' "$DIR/steerd.log"
run ip -n "$POP" link show veth-pop | grep -o 'prog/xdp id [0-9]* name [a-z_]*'

say "4. Answers from the XDP program"
q() { printf '$ dig @%s %s\n' "$1" "${*:2}"; ip netns exec "$CLI" dig +norec +time=1 @"$@" +noall +answer +authority +comments | grep -E 'status|^[a-zA-Z]' | sed 's/^/    /'; }
q 198.18.0.1 www.shop.example A
q 2001:2::1 www.shop.example AAAA
q 198.18.0.1 static.shop.example A
q 198.18.0.1 nothere.shop.example A
q 198.18.0.1 www.elsewhere.example A

say "5. Weighted shares: 400 answers for www (weights 100:300)"
for _ in $(seq 400); do echo "www.shop.example A"; done >"$DIR/queries"
ip netns exec "$CLI" dig +norec +time=1 @198.18.0.1 +short -f "$DIR/queries" | sort | uniq -c | sed 's/^/    /'

say "6. Counters the program keeps (per CPU, summed)"
bpftool -j map dump pinned "$DIR/bpffs/tc/globals/ps_stats" |
	jq -r '[.[0].formatted.values[].value.c] | transpose | map(add) as $c |
	       ["packets","queries","noerror","nodata","nxdomain","refused","servfail","badvers","truncated","pass"] |
	       to_entries | map("    \(.value): \($c[.key])") | .[]'

say "7. steerd stops; the data plane keeps answering from the pinned maps"
kill "$STEERD_PID"; wait "$STEERD_PID" 2>/dev/null; STEERD_PID=
q 198.18.0.1 www.shop.example A

say "Done: cleaning up namespaces and mounts"
