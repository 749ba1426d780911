#!/usr/bin/env bash
# Makes test/fixtures/upgrade-v0/ from an older release (default 9bd9803, the last one without a
# data dir format version): runs that release in a git worktree, creates a VM with runStrategy
# Always on hikube/tiny, a ConfigMap and a blank DataVolume, waits until they are Running and
# Succeeded, stops it (the guest dies too, as in a host reboot), and writes its state.db as SQL
# text (state.sql) and its data dir's files as a list (files.jsonl). test/e2e/upgrade.test.ts
# loads them into a fresh data dir and starts today's release on it.
# Usage: scripts/make-upgrade-fixture.sh [REVISION]   (needs setup done: node_modules, .cache/images)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rev="${1:-9bd9803}"
out="$repo/test/fixtures/upgrade-v0"
work="$(mktemp -d /tmp/hikube-fixture-XXXXXX)"
tree="$work/release" data="$work/data" up_pid=""

cleanup() {
  [ -n "$up_pid" ] && kill -9 "$up_pid" 2>/dev/null || true
  for f in "$data"/run/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
  git -C "$repo" worktree remove --force "$tree" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "timed out waiting for $what" >&2; exit 1; fi
    sleep 1
  done
}

echo "building release $rev in $tree" >&2
git -C "$repo" worktree add --detach "$tree" "$rev" >&2
ln -s "$repo/node_modules" "$tree/node_modules"
ln -s "$(readlink -f "$repo/.cache")" "$tree/.cache"
(cd "$tree" && npx tsc -p tsconfig.json)
[ -f "$repo/dist/test/support/upgrade-fixture.js" ] || (cd "$repo" && npx tsc -p tsconfig.json)

"$tree/bin/hikube" up --data-dir "$data" --listen 127.0.0.1:0 >"$work/up.log" 2>&1 &
up_pid=$!
wait_for 90 "the release to listen" grep -q 'listening on' "$work/up.log"
kubectl() { HOME="$work" command kubectl --kubeconfig "$data/kubeconfig" --cache-dir "$work/kube-cache" "$@"; }

kubectl apply -f - <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: upgrade-config}
data: {greeting: "hello from release v0"}
---
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: upgrade-blank}
spec:
  source: {blank: {}}
  storage: {resources: {requests: {storage: 64Mi}}}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: upgrade-vm}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 10
      domain:
        devices: {disks: [{name: root, disk: {}}, {name: cloudinit, disk: {}}]}
        memory: {guest: 128Mi}
      volumes:
      - {name: root, containerDisk: {image: hikube/tiny}}
      - {name: cloudinit, cloudInitNoCloud: {userData: "#!/bin/sh\necho upgrade-fixture-guest"}}
YAML
phase() { [ "$(kubectl get "$1" "$2" -n "${5:-default}" -o "jsonpath={.status.$3}")" = "$4" ]; }
wait_for 180 "the VM to run" phase vm upgrade-vm printableStatus Running
wait_for 120 "the DataVolume to succeed" phase dv upgrade-blank phase Succeeded
wait_for 120 "the OS catalog's local images to be ready" \
  phase datasource hikube-tiny 'conditions[?(@.type=="Ready")].status' True kubevirt-os-images

# Stop the release, then its guest: the data dir is what a host reboot leaves.
kill -TERM "$up_pid"
wait "$up_pid" || true
up_pid=""
for f in "$data"/run/*/qemu.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done

images="$(readlink -f "$repo/.cache/images")"
places=("$data=@DATA_DIR@" "$tree/.cache/images=@IMAGE_DIR@" "$images=@IMAGE_DIR@")
mkdir -p "$out"
{
  echo "-- state.db of hikube release $rev (data dir format version 0), made by scripts/make-upgrade-fixture.sh"
  node "$repo/dist/test/support/upgrade-fixture.js" dump "$data/state.db" "${places[@]}"
} >"$out/state.sql"
node "$repo/dist/test/support/upgrade-fixture.js" files "$data" "${places[@]}" >"$out/files.jsonl"
echo "$rev" >"$out/RELEASE"
echo "wrote $out: $(wc -l <"$out/state.sql") SQL lines, $(wc -l <"$out/files.jsonl") files" >&2
