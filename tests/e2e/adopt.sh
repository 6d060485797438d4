#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The program attached with `ip link ... xdp obj` first: it passes queries
# until steerd has filled its pinned maps, then answers; steerd adopts it,
# reloads on SIGHUP, leaves it answering when it exits, adopts it again on
# restart, and refuses an interface that runs someone else's program.
. "$(dirname "$0")/lib.sh"
e2e_init adopt
topo_pop_client

conf() {	# conf ADDRESS: config with www -> ADDRESS
	cat <<CONF
interfaces = [ "veth-pop" ];
bpffs = "$E2E_DIR/bpffs";
zones = ( { name = "cdn.example";
            soa = { mname = "ns.cdn.example"; rname = "ops.cdn.example"; };
            ns = [ "ns.cdn.example" ]; } );
pools = ( { name = "o"; servers = ( { address = "$1"; } ); } );
names = ( { name = "www.cdn.example"; pool = "o"; } );
CONF
}
conf 198.18.5.1 >"$E2E_DIR/a.conf"
conf 198.18.5.2 >"$E2E_DIR/b.conf"

# attached by the user; iproute2 pins the maps in <TC_BPF_MNT>/tc/globals
if TC_BPF_MNT=$E2E_DIR/bpffs ip -n "$POP" link set dev veth-pop xdp \
	obj "$OUT/bpf/steer.bpf.o" sec xdp; then
	pass ip_link_attach
else
	fail ip_link_attach "ip link could not attach the object"; exit 1
fi
[ -e "$E2E_PIN/ps_cfg" ] && [ -e "$E2E_PIN/ps_ntab" ] &&
	pass maps_pinned_by_name || fail maps_pinned_by_name "$(ls "$E2E_PIN" 2>&1)"
check_eq bpftool_finds_maps ps_sel \
	"$(bpftool -j map show pinned "$E2E_PIN/ps_sel" | jq -r .name)"

# empty maps: nothing is answered before steerd has filled them
check_eq not_ready_passes timeout "$(dig_status @198.18.0.1 www.cdn.example A +tries=1)"
check_eq not_ready_counted 1 "$(stats | jq '.[11]')"

start_steerd "$E2E_DIR/a.conf" "$E2E_DIR/steerd.log" || exit 1
grep -q "veth-pop: adopting XDP program xdp_steer" "$E2E_DIR/steerd.log" &&
	pass adopted || fail adopted "$(cat "$E2E_DIR/steerd.log")"
check_eq answers_after_fill 198.18.5.1 "$(cdig @198.18.0.1 www.cdn.example A +short)"

# SIGHUP: the new config replaces the old one
cp "$E2E_DIR/b.conf" "$E2E_DIR/a.conf"
kill -HUP "$STEERD_PID"
for i in $(seq 30); do
	grep -q "SIGHUP" "$E2E_DIR/steerd.log" && grep -c "^maps:" "$E2E_DIR/steerd.log" | grep -q 2 && break
	sleep 0.1
done
check_eq sighup_reload 198.18.5.2 "$(cdig @198.18.0.1 www.cdn.example A +short)"

# a bad config on SIGHUP is refused and the old one stays
echo "pools = (" >>"$E2E_DIR/a.conf"
kill -HUP "$STEERD_PID"
sleep 0.5
grep -q "reload failed" "$E2E_DIR/steerd.log" && kill -0 "$STEERD_PID" &&
	pass bad_reload_refused || fail bad_reload_refused "$(tail -3 "$E2E_DIR/steerd.log")"
check_eq bad_reload_keeps_answers 198.18.5.2 "$(cdig @198.18.0.1 www.cdn.example A +short)"

# steerd exits: the data plane keeps answering from the pinned maps
stop_steerd
check_eq answers_without_steerd 198.18.5.2 "$(cdig @198.18.0.1 www.cdn.example A +short)"

# restart with the first config: adopts the attached program again
conf 198.18.5.1 >"$E2E_DIR/a.conf"
start_steerd "$E2E_DIR/a.conf" "$E2E_DIR/steerd2.log" || exit 1
grep -q "adopting XDP program" "$E2E_DIR/steerd2.log" &&
	pass readopted || fail readopted "$(cat "$E2E_DIR/steerd2.log")"
check_eq answers_after_restart 198.18.5.1 "$(cdig @198.18.0.1 www.cdn.example A +short)"
stop_steerd

# someone else's XDP program: steerd refuses to take the interface
ip link add veth-x netns "$POP" type veth peer name veth-y netns "$POP"
ip -n "$POP" link set dev veth-x xdp obj "$OUT/bpf/xdp_pass.bpf.o" sec xdp
sed 's/"veth-pop"/"veth-x"/' "$E2E_DIR/a.conf" >"$E2E_DIR/x.conf"
if ip netns exec "$POP" "$OUT/steerd" -c "$E2E_DIR/x.conf" >"$E2E_DIR/x.log" 2>&1; then
	fail foreign_program "steerd took over veth-x"
else
	grep -q "'veth-x' already runs XDP program 'xdp_pass'" "$E2E_DIR/x.log" &&
		pass foreign_program || fail foreign_program "$(cat "$E2E_DIR/x.log")"
fi

# steerd -t: checks a config, names file and line of a mistake
out=$("$OUT/steerd" -t -c "$E2E_DIR/b.conf" 2>&1) &&
	[ "$out" = "$E2E_DIR/b.conf: OK (1 zones, 1 pools, 1 names)" ] &&
	pass check_ok || fail check_ok "$out"
printf 'interfaces = [ "eth0" ];\nzones = ( { name = "a.example"; bogus = 1; } );\n' >"$E2E_DIR/bad.conf"
out=$("$OUT/steerd" -t -c "$E2E_DIR/bad.conf" 2>&1)
rc=$?
check_eq check_bad_exit 1 $rc
check_eq check_bad_message "error: $E2E_DIR/bad.conf:2: unknown setting 'bogus' in zone" "$out"
out=$("$OUT/steerd" --bogus 2>&1)
check_eq usage_exit 2 $?

exit $E2E_FAILED
