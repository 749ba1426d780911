# Shared helpers for the guest image builds (sourced, not run). Each image is a directory holding
# image.json plus the files it names; the node agent reads exactly that contract.
# shellcheck shell=bash

images_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$images_lib_dir/../.." && pwd)"
image_root="${HIKUBE_IMAGE_DIR:-$repo_root/.cache/images}"
download_dir="$image_root/.downloads"

log() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

# The hash of everything that shapes an image: its own folder and this file. Stored next to the
# output, it lets a second run skip an image whose build inputs did not change.
build_hash() {
  local src="$1"
  (cd "$images_lib_dir" && find "$src" lib.sh -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# True when OUT holds a finished image built from the current inputs.
image_up_to_date() {
  local out="$1" hash="$2"
  [ -f "$out/image.json" ] && [ -f "$out/.build-hash" ] && [ "$(cat "$out/.build-hash")" = "$hash" ]
}

# The kernel package the linux-image-amd64 metapackage points at, e.g. linux-image-6.1.0-56-amd64.
kernel_package() {
  local pkg
  pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)"
  if [ -z "$pkg" ]; then
    apt-get update -qq
    pkg="$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)"
  fi
  [ -n "$pkg" ] || die "cannot tell which kernel linux-image-amd64 depends on"
  echo "$pkg"
}

# Downloads a Debian package (no host install) into the download cache and prints its path.
download_deb() {
  local pkg="$1" deb
  mkdir -p "$download_dir"
  deb="$(find "$download_dir" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)"
  if [ -z "$deb" ]; then
    (cd "$download_dir" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
    deb="$(find "$download_dir" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)"
  fi
  [ -n "$deb" ] || die "failed downloading package $pkg"
  echo "$deb"
}

# Writes the ELF vmlinux held inside an XZ-compressed bzImage: booting it skips the 2.5-3 s that
# the kernel's own decompressor costs under TCG (the Debian kernel has PVH support).
extract_vmlinux() {
  local bzimage="$1" out="$2" offset
  for offset in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bzimage" | cut -d: -f1); do
    # xz stops after the first stream, so tail may die of SIGPIPE: keep it out of the pipeline.
    if xz -dc --single-stream < <(tail -c +"$((offset + 1))" "$bzimage" 2>/dev/null) >"$out" 2>/dev/null \
      && [ "$(head -c4 "$out" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]; then
      return 0
    fi
  done
  rm -f "$out"
  die "no XZ-compressed ELF kernel found in $bzimage"
}

# Writes image.json, the contract read by the node agent. Paths are relative to the directory.
# Usage: write_image_json DIR NAME ALIASES_JSON DISK|null KERNEL INITRD|null CMDLINE MIN_MEMORY READY_MARKER
write_image_json() {
  local dir="$1" name="$2" aliases="$3" disk="$4" kernel="$5" initrd="$6" cmdline="$7" min_memory="$8" marker="$9"
  quote() { if [ "$1" = null ]; then echo null; else printf '"%s"' "$1"; fi; }
  cat >"$dir/image.json" <<JSON
{
  "name": "$name",
  "aliases": $aliases,
  "disk": $(quote "$disk"),
  "format": "qcow2",
  "kernel": "$kernel",
  "initrd": $(quote "$initrd"),
  "cmdline": "$cmdline",
  "minMemory": "$min_memory",
  "readyMarker": "$marker"
}
JSON
}

# Runs BUILD_FN into a scratch directory next to OUT and swaps it in only once it succeeded, so an
# interrupted build never leaves a half image that looks finished.
# Usage: build_image SRC_FOLDER OUT_NAME BUILD_FN
build_image() {
  local src="$1" out="$image_root/$2" fn="$3" hash tmp started
  hash="$(build_hash "$src")"
  if image_up_to_date "$out" "$hash"; then
    log "$2 is up to date"
    return 0
  fi
  started=$SECONDS
  log "building $2"
  mkdir -p "$image_root"
  tmp="$out.building"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  "$fn" "$tmp"
  echo "$hash" >"$tmp/.build-hash"
  rm -rf "$out"
  mv "$tmp" "$out"
  log "built $2 in $((SECONDS - started)) s"
}
