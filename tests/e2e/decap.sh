#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Backend decapsulation end to end: a balancer namespace sends UDP from a
# client address to a VIP inside IP-in-IP (all four family pairs) to a
# backend namespace that runs xdp_decap, attached with `ip link ... xdp
# obj`.  An echo server on the backend's VIP (on lo) gets the inner
# datagram from the client's address and answers the client directly, not
# through a tunnel.  Empty ps_decap_addrs: everything is decapsulated;
# filled: only IP-in-IP to the listed addresses.
. "$(dirname "$0")/lib.sh"
e2e_init decap
command -v python3 >/dev/null || e2e_skip_all "python3 not installed"

LB=ps-$E2E_ID-lb
BE=ps-$E2E_ID-be
PORT=7000
netns "$LB"
netns "$BE"
ip link add veth-lb netns "$LB" type veth peer name veth-be netns "$BE"
ip -n "$LB" addr add 198.18.0.2/24 dev veth-lb
ip -n "$LB" addr add 2001:2::2/64 dev veth-lb nodad
ip -n "$BE" addr add 198.18.0.1/24 dev veth-be
ip -n "$BE" addr add 198.18.0.9/24 dev veth-be		# not a tunnel address
ip -n "$BE" addr add 2001:2::1/64 dev veth-be nodad
ip -n "$BE" addr add 2001:2::9/64 dev veth-be nodad
ip -n "$LB" link set veth-lb up
ip -n "$BE" link set veth-be up
# the client (here beside the balancer) and the backend's VIP
ip -n "$LB" addr add 198.18.50.2/32 dev lo
ip -n "$LB" addr add 2001:2:50::2/128 dev lo nodad
ip -n "$BE" addr add 198.18.100.1/32 dev lo
ip -n "$BE" addr add 2001:2:100::1/128 dev lo nodad
ip -n "$BE" route add 198.18.50.0/24 via 198.18.0.2
ip -n "$BE" route add 2001:2:50::/64 via 2001:2::2
BE_MAC=$(ip netns exec "$BE" cat /sys/class/net/veth-be/address)

# the backend's UDP echo server on the VIP, one line per datagram
cat >"$E2E_DIR/echo.py" <<'PY'
import select, socket, sys
port = int(sys.argv[1])
socks = []
for fam, addr in ((socket.AF_INET, "198.18.100.1"), (socket.AF_INET6, "2001:2:100::1")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(2048)
        print("from", peer[0], data.decode(), flush=True)
        s.sendto(b"echo " + data, peer)
PY

# one datagram CLIENT -> VIP inside OUTER-SRC -> OUTER-DST IP-in-IP, sent
# raw out of IFACE to MAC; prints the answer the client gets, or timeout
cat >"$E2E_DIR/ipip.py" <<'PY'
import socket, struct, sys
iface, mac, osrc, odst, client, vip, port, msg = sys.argv[1:9]
wait = float(sys.argv[9]) if len(sys.argv) > 9 else 3

def fam(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip(src, dst, proto, payload):
    a, b = socket.inet_pton(fam(src), src), socket.inet_pton(fam(dst), dst)
    if fam(src) == socket.AF_INET:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234,
                        0x4000, 64, proto, 0, a, b)
        return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, 64,
                       a, b) + payload

def udp(src, dst, sport, dport, data):
    n = 8 + len(data)
    a, b = socket.inet_pton(fam(src), src), socket.inet_pton(fam(dst), dst)
    pseudo = a + b + (struct.pack("!BBH", 0, 17, n) if fam(src) == socket.AF_INET
                      else struct.pack("!I3xB", n, 17))
    h = struct.pack("!HHHH", sport, dport, n, 0)
    c = csum(pseudo + h + data) or 0xffff
    return struct.pack("!HHHH", sport, dport, n, c) + data

rx = socket.socket(fam(client), socket.SOCK_DGRAM)
rx.bind((client, 0))
rx.settimeout(wait)
sport = rx.getsockname()[1]
inner = ip(client, vip, 17, udp(client, vip, sport, int(port), msg.encode()))
outer = ip(osrc, odst, 4 if fam(client) == socket.AF_INET else 41, inner)
src_mac = open("/sys/class/net/%s/address" % iface).read().strip()
eth = bytes.fromhex(mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + \
      struct.pack("!H", 0x0800 if fam(osrc) == socket.AF_INET else 0x86dd)
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
tx.bind((iface, 0))
tx.send(eth + outer)
try:
    data, peer = rx.recvfrom(2048)
    print(peer[0], data.decode())
except socket.timeout:
    print("timeout")
PY

# send OUTER-SRC OUTER-DST CLIENT VIP MSG [WAIT]
send() {
	ip netns exec "$LB" python3 "$E2E_DIR/ipip.py" veth-lb "$BE_MAC" \
		"$1" "$2" "$3" "$4" "$PORT" "$5" ${6:+"$6"}
}

# key of an address in ps_decap_addrs, as bpftool hex bytes
key() {
	python3 -c 'import socket, sys
a = sys.argv[1]
k = socket.inet_pton(socket.AF_INET6, a) if ":" in a else \
    bytes(10) + b"\xff\xff" + socket.inet_pton(socket.AF_INET, a)
print(" ".join("%02x" % c for c in k))' "$1"
}

# counter summed over CPUs
dstat() {
	bpftool -j map dump pinned "$E2E_PIN/ps_decap_stats" |
		jq "[.[0].formatted.values[].value.$1] | add"
}

ip netns exec "$BE" python3 -u "$E2E_DIR/echo.py" $PORT >"$E2E_DIR/echo.log" 2>&1 &
E2E_PIDS+=($!)
for i in $(seq 50); do
	grep -q ready "$E2E_DIR/echo.log" && break
	sleep 0.1
done
grep -q ready "$E2E_DIR/echo.log" || { fail echo_server "$(cat "$E2E_DIR/echo.log")"; exit 1; }

if TC_BPF_MNT=$E2E_DIR/bpffs ip -n "$BE" link set dev veth-be xdp \
	obj "$OUT/bpf/decap.bpf.o" sec xdp; then
	pass ip_link_attach
else
	fail ip_link_attach "ip link could not attach the object"; exit 1
fi
[ -e "$E2E_PIN/ps_decap_addrs" ] && [ -e "$E2E_PIN/ps_decap_stats" ] &&
	pass maps_pinned_by_name || fail maps_pinned_by_name "$(ls "$E2E_PIN" 2>&1)"

# the four family pairs; the client's answer comes from the VIP directly
pairs() {	# pairs TAG: one round trip per pair, named TAG_<outer>in<inner>
	local tag=$1
	check_eq "${tag}_v4_in_v4" "198.18.100.1 echo $tag-44" \
		"$(send 198.18.0.2 198.18.0.1 198.18.50.2 198.18.100.1 "$tag-44")"
	check_eq "${tag}_v6_in_v4" "2001:2:100::1 echo $tag-64" \
		"$(send 198.18.0.2 198.18.0.1 2001:2:50::2 2001:2:100::1 "$tag-64")"
	check_eq "${tag}_v6_in_v6" "2001:2:100::1 echo $tag-66" \
		"$(send 2001:2::2 2001:2::1 2001:2:50::2 2001:2:100::1 "$tag-66")"
	check_eq "${tag}_v4_in_v6" "198.18.100.1 echo $tag-46" \
		"$(send 2001:2::2 2001:2::1 198.18.50.2 198.18.100.1 "$tag-46")"
}

# zero configuration: an empty map decapsulates everything
pairs empty_map
check_eq empty_map_unlisted_address "198.18.100.1 echo any" \
	"$(send 198.18.0.2 198.18.0.9 198.18.50.2 198.18.100.1 any)"
# the server saw the client's address, not the balancer's
check_eq server_saw_client 5 "$(grep -c '^from \(198.18.50.2\|2001:2:50::2\) ' "$E2E_DIR/echo.log")"

# the tunnel addresses listed
for a in 198.18.0.1 2001:2::1; do
	bpftool map update pinned "$E2E_PIN/ps_decap_addrs" key hex $(key $a) \
		value hex 01 00 00 00 || fail "list_$a" "bpftool map update failed"
done
pairs listed
# (the program looks at an empty map again after 100 ms)
sleep 0.3
before=$(dstat pass_not_ours)
check_eq listed_unlisted_v4 timeout \
	"$(send 198.18.0.2 198.18.0.9 198.18.50.2 198.18.100.1 no4 1)"
check_eq listed_unlisted_v6 timeout \
	"$(send 2001:2::2 2001:2::9 2001:2:50::2 2001:2:100::1 no6 1)"
check_eq pass_not_ours_counted 2 "$(( $(dstat pass_not_ours) - before ))"
check_eq decap4_counted 5 "$(dstat decap4)"
check_eq decap6_counted 4 "$(dstat decap6)"
check_eq nothing_dropped 0 "$(( $(dstat drop_malformed) + $(dstat drop_ecn) ))"
exit $E2E_FAILED
