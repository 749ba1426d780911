/**
 * A VirtualMachineSnapshot's lifecycle around the take (take.ts): its finalizer, its
 * failureDeadline, waiting for a source VM that does not exist yet (as KubeVirt: it may be applied
 * after its snapshot), locking the source (phase InProgress, VM status.snapshotInProgress); and on
 * deletion its content deleted first (deletionPolicy Delete), then the source unlocked.
 */
import { parseDuration } from '../../api/duration.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
} from '../../api/snapshot/content.js';
import {
  DEFAULT_FAILURE_DEADLINE,
  virtualMachineSnapshotKind,
  type VirtualMachineSnapshot,
} from '../../api/snapshot/snapshot.js';
import { keyOf, type SnapshotContext } from './context.js';
import { markFailed, markInProgress, releaseVm, waitForSource } from './status.js';
import { takeSnapshot } from './take.js';
import { SNAPSHOT_FINALIZER, contentNameOf } from './volumes.js';

export async function syncSnapshot(ctx: SnapshotContext, ns: string, name: string): Promise<void> {
  const snap = ctx.api.get<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name);
  if (snap === undefined) return;
  if (snap.metadata.deletionTimestamp !== undefined) return finalize(ctx, snap);
  if (!(snap.metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER)) return addFinalizer(ctx, snap);
  const phase = snap.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return;
  const now = ctx.now();
  const left = msLeft(snap, now);
  const vm = await ctx.find<VirtualMachine>(virtualMachineKind, ns, snap.spec.source.name);
  if (left !== undefined && left < 0)
    return markFailed(ctx, snap, now, 'FailureDeadlineExceeded', 'snapshot deadline exceeded');
  if (vm === undefined && phase === undefined) {
    if (left !== undefined) ctx.later(keyOf(virtualMachineSnapshotKind, ns, name), left + 10);
    return waitForSource(ctx, snap);
  }
  if (vm === undefined) {
    const message = `VirtualMachine ${JSON.stringify(snap.spec.source.name)} does not exist`;
    return markFailed(ctx, snap, now, 'SourceNotFound', message);
  }
  if (phase === undefined) return lockSource(ctx, snap, vm, now);
  return takeSnapshot(ctx, snap, vm);
}

/** Time left before the snapshot's failureDeadline, in ms (negative: past it; undefined: none). */
function msLeft(snap: VirtualMachineSnapshot, now: Date): number | undefined {
  const deadline = parseDuration(snap.spec.failureDeadline ?? DEFAULT_FAILURE_DEADLINE) ?? 0;
  if (deadline <= 0) return undefined;
  const started = Date.parse(snap.metadata.creationTimestamp ?? now.toISOString());
  return started + deadline - now.getTime();
}

async function addFinalizer(ctx: SnapshotContext, snap: VirtualMachineSnapshot): Promise<void> {
  await ctx.api.mutate<VirtualMachineSnapshot>(
    virtualMachineSnapshotKind,
    snap.metadata.namespace ?? '',
    snap.metadata.name ?? '',
    (s) => {
      s.metadata.finalizers = [...(s.metadata.finalizers ?? []), SNAPSHOT_FINALIZER];
    },
  );
}

/** InProgress, and the source VM's status says which snapshot holds it. */
async function lockSource(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  vm: VirtualMachine,
  now: Date,
): Promise<void> {
  await markInProgress(ctx, snap, vm, now);
  await ctx.api.mutate<VirtualMachine>(
    virtualMachineKind,
    snap.metadata.namespace ?? '',
    vm.metadata.name ?? '',
    (v) => {
      v.status = { ...v.status, snapshotInProgress: snap.metadata.name ?? '' };
    },
    true,
  );
}

/** A snapshot being deleted: its content goes first (its deletion requeues the snapshot), then the lock and the finalizer. */
async function finalize(ctx: SnapshotContext, snap: VirtualMachineSnapshot): Promise<void> {
  const ns = snap.metadata.namespace ?? '';
  const contentName = contentNameOf(snap.metadata.uid ?? '');
  const content = await ctx.find<VirtualMachineSnapshotContent>(
    virtualMachineSnapshotContentKind,
    ns,
    contentName,
  );
  if (content !== undefined && (snap.spec.deletionPolicy ?? 'Delete') === 'Delete') {
    if (content.metadata.deletionTimestamp === undefined)
      await ctx.api.delete(virtualMachineSnapshotContentKind, ns, contentName);
    return;
  }
  await releaseVm(ctx, snap);
  await ctx.api.mutate<VirtualMachineSnapshot>(
    virtualMachineSnapshotKind,
    ns,
    snap.metadata.name ?? '',
    (s) => {
      const f = s.metadata.finalizers ?? [];
      if (!f.includes(SNAPSHOT_FINALIZER)) return false;
      s.metadata.finalizers = f.filter((x) => x !== SNAPSHOT_FINALIZER);
    },
  );
}
