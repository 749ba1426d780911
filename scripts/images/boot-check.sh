#!/usr/bin/env bash
# Boots a built image the way the platform does (q35, TCG, direct kernel boot, NoCloud seed,
# user networking, guest agent port) and checks what a user would: user-data ran, the ready marker
# appeared, the guest agent answers, sshd answers (disk images), and ACPI power-down stops QEMU.
# Prints the timings. Not part of the test suite (a Debian boot takes ~40 s under TCG).
# Usage: boot-check.sh hikube-tiny|debian-12 [MEMORY]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

name="${1:?usage: boot-check.sh IMAGE_DIR_NAME [MEMORY]}"
dir="$image_root/$name"
[ -f "$dir/image.json" ] || die "no image at $dir (run scripts/images/build-all.sh)"
field() { node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]; console.log(v ?? "")' "$dir/image.json" "$1"; }
kernel="$(field kernel)" initrd="$(field initrd)" disk="$(field disk)" cmdline="$(field cmdline)" marker="$(field readyMarker)"
memory="${2:-$(field minMemory | sed 's/Mi$/M/; s/Gi$/G/')}"

tmp="$(mktemp -d)"
qemu_pid=
log_copy="${TMPDIR:-/tmp}/boot-check-$name.serial.log"
cleanup() {
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; fi
  cp "$tmp/serial.log" "$log_copy" 2>/dev/null && echo "boot-check: serial log in $log_copy"
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/seed"
printf 'instance-id: boot-check-%s\nlocal-hostname: bootcheck\n' "$RANDOM" >"$tmp/seed/meta-data"
ssh_port=$((20000 + RANDOM % 20000))
if [ -n "$disk" ]; then
  ssh-keygen -q -t ed25519 -N '' -f "$tmp/key" 2>/dev/null || true
  cat >"$tmp/seed/user-data" <<YAML
#cloud-config
users:
  - default
  - name: hikube
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/bash
    ssh_authorized_keys:
      - $(cat "$tmp/key.pub" 2>/dev/null || echo ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHikubeBootCheckPlaceholderKeyxxxxxxxxxxxxx boot-check)
runcmd:
  - echo "user-data-ran-\$(hostname)" >/dev/console
YAML
else
  # shellcheck disable=SC2016 # expanded by the guest
  printf '#!/bin/sh\necho user-data-ran-$(hostname)\n' >"$tmp/seed/user-data"
fi
genisoimage -quiet -V cidata -J -r -o "$tmp/seed.iso" "$tmp/seed/meta-data" "$tmp/seed/user-data"

disk_args=()
if [ -n "$disk" ]; then
  # A throwaway overlay: the base image stays untouched, as on the platform.
  qemu-img create -q -f qcow2 -F qcow2 -b "$dir/$disk" "$tmp/overlay.qcow2"
  disk_args=(-drive "file=$tmp/overlay.qcow2,if=virtio,format=qcow2")
fi
initrd_args=()
[ -n "$initrd" ] && initrd_args=(-initrd "$dir/$initrd")

started=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) - $started" | bc | xargs printf '%.1f'; }
qemu-system-x86_64 -name "boot-check-$name" -M q35 -accel tcg -smp 2 -m "$memory" \
  -display none -no-user-config -nodefaults \
  -chardev "socket,id=serial0,path=$tmp/serial.sock,server=on,wait=off,logfile=$tmp/serial.log" -serial chardev:serial0 \
  -kernel "$dir/$kernel" "${initrd_args[@]}" -append "$cmdline" \
  "${disk_args[@]}" -drive "file=$tmp/seed.iso,if=virtio,format=raw,readonly=on" \
  -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$ssh_port-:22" -device virtio-net-pci,netdev=net0 \
  -device virtio-serial-pci -chardev "socket,id=qga0,path=$tmp/qga.sock,server=on,wait=off" \
  -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
  -qmp "unix:$tmp/qmp.sock,server=on,wait=off" &
qemu_pid=$!

wait_for() { # PATTERN TIMEOUT_S
  local deadline=$((SECONDS + $2))
  while ! grep -qF -- "$1" "$tmp/serial.log" 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || die "QEMU exited before '$1' appeared"
    [ "$SECONDS" -lt "$deadline" ] || die "no '$1' on the serial console after $2 s"
    sleep 0.1
  done
}
timeout_s=$([ -n "$disk" ] && echo 180 || echo 60)
wait_for "user-data-ran-bootcheck" "$timeout_s"
echo "boot-check: user-data ran after $(elapsed) s"
wait_for "$marker" "$timeout_s"
echo "boot-check: ready marker after $(elapsed) s"

if node "$images_lib_dir/qmp.js" --agent "$tmp/qga.sock" guest-ping >/dev/null 2>&1; then
  echo "boot-check: guest agent answers ($(node "$images_lib_dir/qmp.js" --agent "$tmp/qga.sock" guest-get-host-name))"
else
  echo "boot-check: no guest agent"
fi
if [ -n "$disk" ]; then
  if [ -f "$tmp/key" ] && ssh -q -i "$tmp/key" -p "$ssh_port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=20 hikube@127.0.0.1 'echo "ssh: $(whoami)@$(hostname), sudo: $(sudo -n id -u)"; systemd-analyze time | head -n1; systemd-analyze blame | head -n8'; then
    echo "boot-check: ssh login with the user-data key works"
  else
    die "ssh login as hikube failed"
  fi
fi

down=$(date +%s.%N)
node "$images_lib_dir/qmp.js" "$tmp/qmp.sock" system_powerdown >/dev/null
for _ in $(seq 1 600); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$qemu_pid" 2>/dev/null && die "QEMU still running 60 s after system_powerdown"
wait "$qemu_pid" || true
qemu_pid=
echo "boot-check: powered off $(echo "$(date +%s.%N) - $down" | bc | xargs printf '%.1f') s after system_powerdown (total $(elapsed) s)"
echo "boot-check: $name OK"
