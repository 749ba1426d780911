#!/usr/bin/env bash
# Builds hikube-tiny-boot/disk.raw: a disk that boots by itself (BIOS → SYSLINUX → the tiny guest),
# for tests that import a whole machine (an OVA) and must boot it from its own disk, as a real
# imported VM does, instead of by direct kernel boot. It holds the kernel of hikube/tiny as Debian's
# bzImage (a bootloader cannot start the ELF vmlinux) and hikube/tiny's initramfs unchanged, on an
# unpartitioned FAT filesystem with SYSLINUX in its boot sector (installed through mtools: no loop
# device or mount). Not an image of the catalog: the directory has no image.json.
# Rebuilt only when this folder, lib.sh or hikube/tiny changed (the hash of all three is kept).
# Usage: build.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"

tiny="$image_root/hikube-tiny"
out="$image_root/hikube-tiny-boot"
[ -f "$tiny/initrd.img" ] && [ -f "$tiny/.build-hash" ] || die "hikube-tiny is not built: build it first"
hash="$( { build_hash tiny-boot; cat "$tiny/.build-hash"; } | sha256sum | cut -d' ' -f1)"
if [ -f "$out/disk.raw" ] && [ "$(cat "$out/.build-hash" 2>/dev/null)" = "$hash" ]; then
  log "hikube-tiny-boot is up to date"
  exit 0
fi
log "building hikube-tiny-boot"
tmp="$out.building"
rm -rf "$tmp"
mkdir -p "$tmp/work"

# The bzImage of the very kernel whose modules the initramfs carries.
kver="$(gzip -dc "$tiny/initrd.img" | cpio -t --quiet 2>/dev/null | sed -n 's|^lib/modules/\([0-9][^/]*\)$|\1|p' | head -n1)"
[ -n "$kver" ] || die "cannot tell the kernel version of hikube-tiny's initramfs"
kdeb="$(download_deb "linux-image-$kver")"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp/work" "./boot/vmlinuz-$kver"

cmdline="$(sed -n 's/^ *"cmdline": "\(.*\)",$/\1/p' "$tiny/image.json")"
[ -n "$cmdline" ] || die "hikube-tiny's image.json has no cmdline"
# SERIAL 0: the bootloader speaks on the serial console too, where the platform records the boot.
cat >"$tmp/work/syslinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT tiny
PROMPT 0
TIMEOUT 0
LABEL tiny
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND $cmdline
CFG

disk="$tmp/disk.raw"
truncate -s 32M "$disk"
mkfs.vfat -n HIKUBEBOOT "$disk" >/dev/null
syslinux --install "$disk"
mcopy -i "$disk" "$tmp/work/boot/vmlinuz-$kver" ::vmlinuz
mcopy -i "$disk" "$tiny/initrd.img" ::initrd.img
mcopy -i "$disk" "$tmp/work/syslinux.cfg" ::syslinux.cfg
rm -rf "$tmp/work"
echo "$hash" >"$tmp/.build-hash"
rm -rf "$out"
mv "$tmp" "$out"
log "built hikube-tiny-boot"
