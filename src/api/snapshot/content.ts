/**
 * snapshot.kubevirt.io/v1beta1 VirtualMachineSnapshotContent: what a snapshot holds. The VM as it
 * was (metadata and spec), and one volume backup per persistent disk. In KubeVirt each backup is a
 * CSI VolumeSnapshot; here it is a frozen qcow2 layer of the storage pool (see src/storage/layers.ts),
 * named in the backup's `volumeSnapshotName` and its `hikube.io/layer` annotation.
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Preserve, Type, type Static, opt } from '../schema.js';
import { SNAPSHOT_GROUP, SNAPSHOT_VERSION, SnapshotError } from './common.js';

export const VolumeBackup = Obj('One disk of the snapshot.', {
  volumeName: Type.String({ description: 'The VM volume this backup is of.' }),
  persistentVolumeClaim: Obj('The claim as it was (name, labels, spec).', {
    metadata: opt(Preserve()),
    spec: opt(Preserve()),
  }),
  volumeSnapshotName: opt(Type.String({ description: 'Name of the frozen layer holding the disk.' })),
});
export type VolumeBackup = Static<typeof VolumeBackup>;

export const VirtualMachineSnapshotContent = Obj('The content of a VirtualMachineSnapshot.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('The VM and its disks as they were.', {
    source: Obj('The source object.', {
      virtualMachine: opt(Preserve('The VM: metadata (name, labels, annotations) and spec.')),
    }),
    virtualMachineSnapshotName: opt(Type.String()),
    volumeBackups: opt(Type.Array(VolumeBackup)),
  }),
  status: opt(
    Obj('Whether the content can be restored.', {
      creationTime: opt(Type.Union([Type.String(), Type.Null()])),
      readyToUse: opt(Type.Boolean()),
      error: opt(SnapshotError),
      volumeSnapshotStatus: opt(
        Type.Array(
          Obj('One volume backup.', {
            volumeSnapshotName: Type.String(),
            creationTime: opt(Type.Union([Type.String(), Type.Null()])),
            readyToUse: opt(Type.Boolean()),
            error: opt(SnapshotError),
          }),
        ),
      ),
    }),
  ),
});
export type VirtualMachineSnapshotContent = Static<typeof VirtualMachineSnapshotContent>;

export const virtualMachineSnapshotContentKind: KindDefinition = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  kind: 'VirtualMachineSnapshotContent',
  plural: 'virtualmachinesnapshotcontents',
  singular: 'virtualmachinesnapshotcontent',
  shortNames: ['vmsnapshotcontent', 'vmsnapshotcontents'],
  namespaced: true,
  description:
    'VirtualMachineSnapshotContent holds what a VirtualMachineSnapshot took: the VM spec and its disks.',
  schema: VirtualMachineSnapshotContent,
  statusSubresource: true,
  printerColumns: [
    { name: 'ReadyToUse', type: 'boolean', jsonPath: '.status.readyToUse' },
    { name: 'CreationTime', type: 'date', jsonPath: '.status.creationTime' },
    { name: 'Error', type: 'string', jsonPath: '.status.error.message' },
  ],
};
