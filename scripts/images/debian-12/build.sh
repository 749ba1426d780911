#!/usr/bin/env bash
# Builds debian:12: a minimal Debian bookworm with cloud-init (NoCloud), sshd and the QEMU guest
# agent, as an ext4 filesystem in a compressed qcow2, plus the kernel (ELF vmlinux) and initrd taken
# from it for direct kernel boot (GRUB cannot be installed from this host: loop devices expose no
# partitions). Packages come from the machine's own apt sources.
# Usage: build.sh OUT_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"

# dbus lets systemd-logind run, which turns the ACPI power button (QMP system_powerdown) into a
# clean poweroff.
packages=linux-image-amd64,systemd-sysv,dbus,libpam-systemd,cloud-init,openssh-server,qemu-guest-agent,ifupdown,isc-dhcp-client,udev,iproute2,sudo,ca-certificates,netbase
cmdline="root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0"
disk_size=3G

out="$1"
work="$image_root/.work/debian-12"
rm -rf "$work"
mkdir -p "$work"
here="$images_lib_dir/debian-12"

mmdebstrap --mode=root --variant=minbase --include="$packages" \
  --setup-hook="cp -a '$here/setup-files/.' \"\$1/\"" \
  --customize-hook="'$here/customize.sh' \"\$1\"" \
  bookworm "$work/rootfs"

kver="$(basename "$(find "$work/rootfs/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")"
extract_vmlinux "$work/rootfs/boot/vmlinuz-$kver" "$out/vmlinux"
cp "$work/rootfs/boot/initrd.img-$kver" "$out/initrd.img"

mkfs.ext4 -q -F -L hikube-root -d "$work/rootfs" "$work/disk.raw" "$disk_size"
qemu-img convert -c -O qcow2 "$work/disk.raw" "$out/disk.qcow2"

write_image_json "$out" debian:12 '["debian:12", "debian:bookworm"]' disk.qcow2 vmlinux initrd.img "$cmdline" 256Mi "hikube-debian: ready"
rm -rf "$work"
