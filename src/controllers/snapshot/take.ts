/**
 * The take phase of a VirtualMachineSnapshot: once its source is locked, it waits for the guest to
 * be running or stopped and for every included claim to have a disk file, then takes the layers
 * through the node's Snapshotter (frozen by the guest agent when it answers) and records them in
 * the content. What the server says decides, not the cache: a guest running unseen would be
 * snapshotted as if stopped, and layers taken twice would be leaked.
 */
import type { VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
} from '../../api/snapshot/content.js';
import { virtualMachineSnapshotKind, type VirtualMachineSnapshot } from '../../api/snapshot/snapshot.js';
import type { SnapshotVolume, TakeResult } from '../../node/snapshots.js';
import { contentOf, leftoverLayers, volumeBackups, writeContent } from './content.js';
import { keyOf, type SnapshotContext } from './context.js';
import { markSucceeded } from './status.js';
import { contentNameOf, persistentVolumes, type PersistentVolume } from './volumes.js';

/** Looks again this soon at a guest that is starting or stopping. */
const SETTLE_RETRY_MS = 1000;
/** Looks again this soon at a claim with no disk file yet. */
const CLAIM_RETRY_MS = 2000;

export async function takeSnapshot(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  vm: VirtualMachine,
): Promise<void> {
  const ns = snap.metadata.namespace ?? '';
  const key = keyOf(virtualMachineSnapshotKind, ns, snap.metadata.name ?? '');
  // From the server: a guest running unseen would be snapshotted without QMP, as if stopped.
  const vmi = await ctx.api.getLive<VirtualMachineInstance>(
    virtualMachineInstanceKind,
    ns,
    vm.metadata.name ?? '',
  );
  if (vmi !== undefined && !settled(vmi)) return ctx.later(key, SETTLE_RETRY_MS);
  const { included, excluded } = persistentVolumes(vm);
  const volumes = diskFiles(ctx, ns, included);
  if (volumes === undefined) return ctx.later(key, CLAIM_RETRY_MS);
  if (!(await stillInProgress(ctx, snap))) return;
  // A content already there was left by an attempt that died before finishing.
  const leftover = await ctx.api.getLive<VirtualMachineSnapshotContent>(
    virtualMachineSnapshotContentKind,
    ns,
    contentNameOf(snap.metadata.uid ?? ''),
  );
  const taken = await takeLayers(ctx, snap, vm, vmi, volumes, included, leftover);
  const backups = await volumeBackups(ctx, snap, included);
  const stamp = ctx.now().toISOString();
  const content = contentOf(snap, vm, taken.layers, backups);
  await writeContent(ctx, content, backups, leftover, stamp);
  await markSucceeded(ctx, snap, {
    contentName: content.metadata.name ?? '',
    stamp,
    indications: taken.indications,
    includedVolumes: included.map((v) => v.name),
    excludedVolumes: excluded,
  });
}

/** Running, or finished: not starting or stopping. */
function settled(vmi: VirtualMachineInstance): boolean {
  const phase = vmi.status?.phase;
  return phase === 'Running' || phase === 'Succeeded' || phase === 'Failed';
}

/** The disk file of each included volume; undefined while one has none yet. */
function diskFiles(
  ctx: SnapshotContext,
  ns: string,
  included: readonly PersistentVolume[],
): SnapshotVolume[] | undefined {
  const volumes: SnapshotVolume[] = [];
  for (const v of included) {
    const path = ctx.claimPath(ns, v.claimName);
    if (path === undefined) return undefined;
    volumes.push({ name: v.name, path });
  }
  return volumes;
}

/** Asked of the server: the snapshot may have been finished or deleted since the cache saw it. */
async function stillInProgress(ctx: SnapshotContext, snap: VirtualMachineSnapshot): Promise<boolean> {
  const live = await ctx.api.getLive<VirtualMachineSnapshot>(
    virtualMachineSnapshotKind,
    snap.metadata.namespace ?? '',
    snap.metadata.name ?? '',
  );
  return live?.status?.phase === 'InProgress' && live.metadata.deletionTimestamp === undefined;
}

/**
 * New layers, or those of a content left by an attempt that died before finishing (kill -9):
 * finishing with them, rather than taking new ones and then failing on the existing name forever.
 */
async function takeLayers(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  volumes: SnapshotVolume[],
  included: readonly PersistentVolume[],
  leftover: VirtualMachineSnapshotContent | undefined,
): Promise<TakeResult> {
  if (leftover !== undefined)
    return { layers: leftoverLayers(leftover, snap.metadata.uid ?? '', included), indications: [] };
  const running = vmi?.status?.phase === 'Running';
  const agent = (vmi?.status?.conditions ?? []).some(
    (c) => c.type === 'AgentConnected' && c.status === 'True',
  );
  return ctx.snapshotter.take({
    namespace: snap.metadata.namespace ?? '',
    vmName: vm.metadata.name ?? '',
    volumes,
    running,
    freeze: running && agent,
  });
}
