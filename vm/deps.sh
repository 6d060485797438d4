#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian 12 packages popsteer needs, if any are missing.
#   vm/deps.sh build test bench demo
# A no-op (and no root needed) when everything is installed.
set -e

pkgs_build="clang clang-19 llvm gcc make pkg-config libbpf-dev libxdp-dev bpftool
	libelf-dev zlib1g-dev libconfig-dev libldns-dev libjansson-dev
	libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libnl-3-dev libnl-route-3-dev
	linux-libc-dev"
pkgs_test="etcd-server etcd-client iproute2 dnsutils knot-dnsutils jq procps socat vsftpd curl openssl nginx-light ethtool wrk unbound qemu-system-x86 busybox-static xz-utils"
pkgs_bench="knot knot-dnsutils jq curl nginx-light wrk"
pkgs_demo="etcd-server etcd-client iproute2 dnsutils curl ethtool unbound nginx-light wrk"

want=""
for group in "$@"; do
	eval "want=\"\$want \$pkgs_$group\""
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "Error: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "  DEPS    installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# the package lists may be stale or absent on a fresh machine
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
