#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vm/run boots the Debian 6.1 kernel in qemu and runs a command there: its
# exit status comes back (0, 1, 42, 127 for a missing command), its output
# in order, a timeout gives 124 and kills qemu, SIGTERM stops it too; the
# guest has bpffs, can write the repository but not the host's root, and
# nothing is left behind (temporary files, qemu processes).  Each boot
# costs a few seconds under emulation, so the checks share boots.
. "$(dirname "$0")/lib.sh"
E2E_NAME=vmrun
[ -z "${POPSTEER_VM:-}" ] || e2e_skip_all "already inside vm/run"
[ "$(id -u)" = 0 ] || e2e_skip_all "needs root (9p sharing of the host's files as root)"
command -v qemu-system-x86_64 >/dev/null || e2e_skip_all "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"

RUN=$TOP/vm/run
ID=$$
WORK=$(mktemp -d)
# vm/run's temporary directories go here, to see that none is left
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
PROBE=vmrun-probe-$ID
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$WORK" "$TOP/.$PROBE" "/.$PROBE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# qemu processes started for this test (their command line names $TMPDIR)
qemus() { pgrep -f "qemu-system-x86_64 .*$TMPDIR" | tr '\n' ' '; }

# vmrun NAME ARGS...: runs vm/run, output in $WORK/NAME.out, status in RC
vmrun() {
	local name=$1; shift
	"$RUN" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
}

# the first boot may fetch and unpack the kernel; a setup error is a skip
vmrun true -- true
if [ "$RC" = 126 ]; then
	e2e_skip_all "vm/run cannot run: $(tail -n 1 "$WORK/true.err")"
fi
check_eq status_0 0 "$RC"

# timeout and SIGTERM, while the guest sleeps beside the other boots
(
	start=$(date +%s)
	"$RUN" --timeout 10 -- sleep 100 >"$WORK/timeout.out" 2>&1
	echo "$? $(( $(date +%s) - start ))" >"$WORK/timeout.rc"
) &
BG+=($!)
"$RUN" -- sleep 100 >"$WORK/term.out" 2>&1 &
TERM_PID=$!
BG+=("$TERM_PID")

vmrun false -- false
check_eq status_1 1 "$RC"

vmrun missing -- popsteer-no-such-command
check_eq status_127 127 "$RC"

# one boot for most of the rest: it exits 42
cat >"$WORK/guest.sh" <<EOF
echo "uname \$(uname -r)"
echo "pwd \$(pwd)"
echo "bpffs \$(stat -f -c %T /sys/fs/bpf)"
echo written >$TOP/.$PROBE
echo "repo_write \$?"
echo guest >/.$PROBE && echo "root_write_in_guest \$(cat /.$PROBE)"
i=1
while [ \$i -le 300 ]; do
	echo "out \$i"
	echo "err \$i" >&2
	i=\$((i + 1))
done
printf 'no newline'
exit 42
EOF
vmrun main -- sh -c "$(cat "$WORK/guest.sh")"
check_eq status_42 42 "$RC"
out=$WORK/main.out
v=$(sed -n 's/^uname //p' "$out")
case $v in
6.1.0-*) pass kernel_6_1 ;;
*) fail kernel_6_1 "guest runs '$v'" ;;
esac
check_eq cwd_is_repo "$TOP" "$(sed -n 's/^pwd //p' "$out")"
check_eq bpffs_mounted bpf_fs "$(sed -n 's/^bpffs //p' "$out")"
check_eq repo_writable written "$(cat "$TOP/.$PROBE" 2>/dev/null)"
# the guest writes its root (an overlay in memory), the host's stays as it was
check_eq guest_root_writable guest "$(sed -n 's/^root_write_in_guest //p' "$out")"
if [ -e "/.$PROBE" ]; then
	fail host_root_readonly "/.$PROBE appeared on the host"
else
	pass host_root_readonly
fi
expect=$( i=1; while [ $i -le 300 ]; do echo "out $i"; echo "err $i"; i=$((i + 1)); done
	  printf 'no newline' )
got=$(sed -n '/^out 1$/,$p' "$out")
if [ "$got" = "$expect" ]; then
	pass output_in_order
else
	fail output_in_order "$(diff <(echo "$expect") <(echo "$got") | head -n 3 | tr '\n' ' ')"
fi
check_eq output_exact_end "no newline" "$(tail -c 10 "$out")"
check_eq nothing_on_stderr "" "$(cat "$WORK/main.err")"

# SIGTERM once the guest has had time to boot
sleep 1
kill -TERM "$TERM_PID" 2>/dev/null
wait "$TERM_PID"
check_eq sigterm_status 143 "$?"

for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
BG=()
read -r rc secs <"$WORK/timeout.rc"
check_eq timeout_status 124 "$rc"
if [ "$secs" -ge 10 ] && [ "$secs" -le 25 ]; then
	pass timeout_prompt
else
	fail timeout_prompt "took ${secs}s for --timeout 10"
fi

check_eq no_qemu_left "" "$(qemus)"
check_eq no_tmp_left "" "$(ls -A "$TMPDIR")"
exit $E2E_FAILED
