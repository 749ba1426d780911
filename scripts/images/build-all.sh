#!/usr/bin/env bash
# Builds the built-in guest images into .cache/images (or $HIKUBE_IMAGE_DIR), one directory per
# image with its image.json. An image whose build inputs did not change is skipped.
# Usage: build-all.sh [NAME...]   NAME is a directory name: hikube-tiny, hikube-tiny-boot, debian-12.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

build_tiny() { "$images_lib_dir/tiny/build.sh" "$1"; }
build_debian_12() { "$images_lib_dir/debian-12/build.sh" "$1"; }

names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(hikube-tiny hikube-tiny-boot debian-12)
for name in "${names[@]}"; do
  case "$name" in
    hikube-tiny) build_image tiny hikube-tiny build_tiny ;;
    # A bootable disk made from hikube-tiny, not a catalog image: it keeps its own hash.
    hikube-tiny-boot) "$images_lib_dir/tiny-boot/build.sh" ;;
    debian-12) build_image debian-12 debian-12 build_debian_12 ;;
    *) die "unknown image $name (known: hikube-tiny, hikube-tiny-boot, debian-12)" ;;
  esac
done
