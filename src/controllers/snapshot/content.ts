/**
 * The VirtualMachineSnapshotContent of a snapshot: what a taken snapshot records (the VM's
 * metadata and spec, one volumeBackup per disk, the frozen layers in an annotation), written once
 * and made ready; and, when a content is deleted, its layers freed before its finalizer goes.
 */
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import type { KubeObject, OwnerReference } from '../../api/meta.js';
import type { VirtualMachine } from '../../api/kubevirt/vm.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
  type VolumeBackup,
} from '../../api/snapshot/content.js';
import type { VirtualMachineSnapshot } from '../../api/snapshot/snapshot.js';
import type { SnapshotContext } from './context.js';
import {
  CONTENT_FINALIZER,
  LAYERS_ANNOTATION,
  contentNameOf,
  layersOf,
  volumeSnapshotNameOf,
  type PersistentVolume,
} from './volumes.js';

/** A volume backup as this controller writes it: always named. */
export type Backup = VolumeBackup & { volumeSnapshotName: string };

/** The content's volumeBackups: each included claim as it is now, and its VolumeSnapshot name. */
export function volumeBackups(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  included: readonly PersistentVolume[],
): Promise<Backup[]> {
  const ns = snap.metadata.namespace ?? '';
  const uid = snap.metadata.uid ?? '';
  return Promise.all(
    included.map(async (v) => {
      const pvc = await ctx.find<KubeObject & { spec?: unknown }>(persistentVolumeClaimKind, ns, v.claimName);
      return {
        volumeName: v.name,
        persistentVolumeClaim: {
          metadata: { name: v.claimName, labels: pvc?.metadata.labels ?? {}, annotations: {} },
          spec: (pvc?.spec ?? {}) as Record<string, unknown>,
        },
        volumeSnapshotName: volumeSnapshotNameOf(uid, v.name),
      };
    }),
  );
}

/**
 * The content a snapshot records: the source VM, its volume backups, and `layers` (volume name →
 * frozen layer file) by VolumeSnapshot name. Owned by the snapshot when deleting one deletes both.
 */
export function contentOf(
  snap: VirtualMachineSnapshot,
  vm: VirtualMachine,
  layers: Record<string, string>,
  backups: Backup[],
): VirtualMachineSnapshotContent {
  const ns = snap.metadata.namespace ?? '';
  const uid = snap.metadata.uid ?? '';
  const byVolumeSnapshot = Object.fromEntries(
    backups.map((b) => [b.volumeSnapshotName, layers[b.volumeName] ?? '']),
  );
  return {
    apiVersion: 'snapshot.kubevirt.io/v1beta1',
    kind: 'VirtualMachineSnapshotContent',
    metadata: {
      name: contentNameOf(uid),
      namespace: ns,
      finalizers: [CONTENT_FINALIZER],
      annotations: { [LAYERS_ANNOTATION]: JSON.stringify(byVolumeSnapshot) },
      ...((snap.spec.deletionPolicy ?? 'Delete') === 'Delete' ? { ownerReferences: [ownerRef(snap)] } : {}),
    },
    spec: {
      source: {
        virtualMachine: {
          metadata: {
            name: vm.metadata.name,
            namespace: ns,
            uid: vm.metadata.uid,
            labels: vm.metadata.labels ?? {},
            annotations: vm.metadata.annotations ?? {},
          },
          spec: structuredClone(vm.spec),
        },
      },
      virtualMachineSnapshotName: snap.metadata.name ?? '',
      volumeBackups: backups,
    },
  };
}

const ownerRef = (snap: VirtualMachineSnapshot): OwnerReference => ({
  apiVersion: 'snapshot.kubevirt.io/v1beta1',
  kind: 'VirtualMachineSnapshot',
  name: snap.metadata.name ?? '',
  uid: snap.metadata.uid ?? '',
  controller: true,
  blockOwnerDeletion: true,
});

/** Creates `content` with its `backups` (unless a leftover of an earlier attempt stands for it) and makes it ready. */
export async function writeContent(
  ctx: SnapshotContext,
  content: VirtualMachineSnapshotContent,
  backups: readonly Backup[],
  leftover: VirtualMachineSnapshotContent | undefined,
  stamp: string,
): Promise<void> {
  const created = leftover ?? (await ctx.api.create(virtualMachineSnapshotContentKind, content));
  // A new object: the one create returns is the store's own, and changing it in place made the
  // status write a no-op, so the content lost its status at the next restart (the chaos test).
  await ctx.api.updateStatus(virtualMachineSnapshotContentKind, {
    ...created,
    status: {
      creationTime: stamp,
      readyToUse: true,
      volumeSnapshotStatus: backups.map((b) => ({
        volumeSnapshotName: b.volumeSnapshotName,
        creationTime: stamp,
        readyToUse: true,
      })),
    },
  });
}

/** The layers a leftover content recorded, by volume name (what a take returns). */
export function leftoverLayers(
  content: VirtualMachineSnapshotContent,
  snapshotUid: string,
  included: readonly { name: string }[],
): Record<string, string> {
  const recorded = layersOf(content);
  return Object.fromEntries(
    included.map((v) => [v.name, recorded[volumeSnapshotNameOf(snapshotUid, v.name)] ?? '']),
  );
}

/** A content being deleted frees its layers, then lets go (its deletion wakes its snapshot). */
export async function syncContent(ctx: SnapshotContext, ns: string, name: string): Promise<void> {
  const { api } = ctx;
  const content = api.get<VirtualMachineSnapshotContent>(virtualMachineSnapshotContentKind, ns, name);
  if (content === undefined || content.metadata.deletionTimestamp === undefined) return;
  if (!(content.metadata.finalizers ?? []).includes(CONTENT_FINALIZER)) return;
  for (const layer of Object.values(layersOf(content)))
    if (layer !== '') await ctx.snapshotter.deleteLayer(layer);
  await api.mutate<VirtualMachineSnapshotContent>(virtualMachineSnapshotContentKind, ns, name, (c) => {
    c.metadata.finalizers = (c.metadata.finalizers ?? []).filter((f) => f !== CONTENT_FINALIZER);
  });
}
