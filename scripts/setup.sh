#!/usr/bin/env bash
# Sets up everything Hikube VMs needs on a Debian 12 machine (run as root): system packages,
# npm dependencies, the build, and the built-in guest images. Safe to run again: it only installs
# what is missing, and images are rebuilt only when their build script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the runtime and the image builds need.
packages=(
  make g++ python3                            # native npm modules (better-sqlite3)
  qemu-system-x86 qemu-utils ovmf             # the hypervisor, qemu-img, EFI firmware
  genisoimage                                 # NoCloud seed ISOs (label cidata)
  busybox-static cpio xz-utils zstd           # the hikube/tiny initramfs
  syslinux syslinux-common mtools dosfstools  # hikube-tiny-boot: a disk that boots by itself (OVA import tests)
  mmdebstrap e2fsprogs                        # the debian:12 root filesystem and its ext4 disk
  openssh-client                              # hikube ssh
  iproute2 dnsmasq-base                       # secondary networks: namespaces, bridges, taps, DHCP/DNS (no system service)
  nftables                                    # whole-IP load balancers (VMInstance externalMethod: WholeIP)
  conntrack                                   # a backend leaving a UDP Service: its flows are deleted (pod network)
  wrk curl                                    # benchmarks' baselines (bench/network.ts, bench/storage.ts)
  chromium                                    # the web console's end-to-end tests (playwright-core)
  prometheus                                  # promtool, which checks /metrics in the tests
  docker-registry                             # an OCI registry on loopback: DataVolume registry imports in the tests
  python3-kubernetes                          # the official Python client, driven by the e2e tests (/usr/bin/python3)
)
need=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
# /usr/bin/kubectl may be a dispatcher that is not Debian's package: only install when absent.
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Debian's docker-registry package starts a registry on :5000 under systemd; the tests start their own.
if [ -d /run/systemd/system ] && systemctl is-enabled docker-registry >/dev/null 2>&1; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
npm run build:web

scripts/images/build-all.sh
echo "setup: done"
