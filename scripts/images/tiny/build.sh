#!/usr/bin/env bash
# Builds hikube/tiny: Debian's kernel (as an ELF vmlinux, booted directly) and a busybox initramfs
# carrying the virtio, ISO 9660, SATA CD-ROM (ahci, sr_mod) and ACPI button modules. No disk: the whole system is the initramfs.
# Usage: build.sh OUT_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"

# Modules the init needs; their dependencies are added from modules.dep.
modules=(virtio_pci virtio_blk virtio_net virtio_console virtio_balloon virtio-rng isofs ahci sr_mod button evdev)
cmdline="console=ttyS0 panic=-1 quiet"

out="$1"
work="$image_root/.work/hikube-tiny"
rm -rf "$work"
mkdir -p "$work"

# Stale apt lists may name a kernel the mirror no longer has: refresh them once and ask again.
kpkg="$(kernel_package)"
kdeb="$(download_deb "$kpkg")" || { apt-get update -qq && kpkg="$(kernel_package)" && kdeb="$(download_deb "$kpkg")"; }
bdeb="$(download_deb busybox-static)" || { apt-get update -qq && bdeb="$(download_deb busybox-static)"; }
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"
kver="$(basename "$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")"
busybox="$work/busybox/bin/busybox"
extract_vmlinux "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinux"

# The root filesystem: busybox and its applet links, the init files, and the modules.
root="$work/initramfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,root,mnt,etc,lib/modules}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
ln -s /bin/busybox "$root/init"
cp -a "$images_lib_dir/tiny/rootfs/." "$root/"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

# busybox depmod writes modules.dep for the whole kernel; the load order is a depth-first walk of
# it, dependencies first, each module once.
"$busybox" depmod -b "$work/kernel" "$kver"
moddir="$work/kernel/lib/modules/$kver"
declare -A loaded=()
order=()
add_module() {
  local path="$1" dep
  [ -n "${loaded[$path]:-}" ] && return 0
  loaded[$path]=1
  for dep in $(sed -n "s|^$path: *||p" "$moddir/modules.dep"); do add_module "$dep"; done
  order+=("$path")
}
for m in "${modules[@]}"; do
  path="$(grep -E "^[^:]*/${m}\.ko:" "$moddir/modules.dep" | cut -d: -f1)"
  [ -n "$path" ] || die "module $m not found in kernel $kver"
  add_module "$path"
done
mkdir -p "$root/lib/modules/$kver"
for path in "${order[@]}"; do
  mkdir -p "$root/lib/modules/$kver/$(dirname "$path")"
  cp "$moddir/$path" "$root/lib/modules/$kver/$path"
done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"
cp "$moddir/modules.builtin" "$moddir/modules.order" "$root/lib/modules/$kver/"
"$busybox" depmod -b "$root" "$kver"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --reproducible --quiet) | gzip -9n >"$out/initrd.img"

write_image_json "$out" hikube/tiny '["hikube/tiny:latest"]' null vmlinux initrd.img "$cmdline" 96Mi "hikube-tiny: ready"
rm -rf "$work"
