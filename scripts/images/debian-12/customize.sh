#!/usr/bin/env bash
# mmdebstrap customize hook for debian:12 (runs on the host with the root filesystem as $1): the
# image's own files, boot-time trimming, and removal of anything that must be unique per VM.
set -euo pipefail
root="$1"
here="$(cd "$(dirname "$0")" && pwd)"

cp -a "$here/files/." "$root/"
echo debian >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
rm -f "$root/etc/resolv.conf"

# Timers that would wake a fresh VM to scrub or update, and the interactive first-boot wizard.
systemctl --root="$root" mask e2scrub_all.timer e2scrub_reap.service apt-daily.timer \
  apt-daily-upgrade.timer dpkg-db-backup.timer systemd-firstboot.service
systemctl --root="$root" enable hikube-ready.service

# The kernel is booted from outside the disk: an in-guest kernel upgrade would leave the booted
# kernel without its modules.
chroot "$root" apt-mark hold linux-image-amd64 "$(basename "$(find "$root/boot" -name 'vmlinuz-*' | head -n1)" | sed 's/^vmlinuz-/linux-image-/')" >/dev/null

# Per-VM identity: host keys and machine-id are created on first boot.
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -rf "$root/var/lib/cloud"
