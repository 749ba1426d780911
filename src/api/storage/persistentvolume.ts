/**
 * core/v1 PersistentVolume: one disk of the pool, bound to the claim it was provisioned for. It
 * lives with the storage kinds because only the provisioner writes it; it records where the disk
 * file is (`spec.hostPath.path`), so a claim's disk is found from API objects alone, and a class
 * whose pool moves does not lose the volumes already made.
 */
import { ageColumn, type KindDefinition } from '../kind.js';
import type { KubeObject } from '../meta.js';
import { accessModes, claimRef, orUnset, volumePhase } from '../core/printers.js';
import { ObjectMeta } from '../meta.js';
import { MapOf, Obj, Preserve, Quantity, StringEnum, Type, type Static, opt } from '../schema.js';
import { ObjectReference } from '../core/core.js';

export const PersistentVolume = Obj('A provisioned volume.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('The volume.', {
    capacity: opt(MapOf(Quantity())),
    accessModes: opt(Type.Array(Type.String())),
    persistentVolumeReclaimPolicy: opt(StringEnum(['Retain', 'Delete', 'Recycle'])),
    storageClassName: opt(Type.String()),
    volumeMode: opt(StringEnum(['Filesystem', 'Block'])),
    claimRef: opt(ObjectReference),
    hostPath: opt(Obj('A file or directory on the node.', { path: Type.String(), type: opt(Type.String()) })),
    local: opt(Obj('A local disk or directory.', { path: Type.String(), fsType: opt(Type.String()) })),
    mountOptions: opt(Type.Array(Type.String())),
    nodeAffinity: opt(Preserve()),
    csi: opt(Preserve()),
  }),
  status: opt(
    Obj('Binding state.', {
      phase: opt(StringEnum(['Pending', 'Available', 'Bound', 'Released', 'Failed'])),
      message: opt(Type.String()),
      reason: opt(Type.String()),
      lastPhaseTransitionTime: opt(Type.String()),
    }),
  ),
});
export type PersistentVolume = Static<typeof PersistentVolume>;

export const persistentVolumeKind: KindDefinition = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  shortNames: ['pv'],
  namespaced: false,
  description:
    'PersistentVolume is a disk of the storage pool, provisioned for one claim; spec.hostPath.path is its file.',
  schema: PersistentVolume,
  statusSubresource: true,
  deleteReturnsStatus: true,
  printerColumns: [
    { name: 'Capacity', type: 'string', jsonPath: '.spec.capacity.storage' },
    {
      name: 'Access Modes',
      type: 'string',
      jsonPath: '.spec.accessModes',
      value: (o) => accessModes(spec(o)['accessModes']),
    },
    { name: 'Reclaim Policy', type: 'string', jsonPath: '.spec.persistentVolumeReclaimPolicy' },
    { name: 'Status', type: 'string', jsonPath: '.status.phase', value: volumePhase },
    { name: 'Claim', type: 'string', jsonPath: '.spec.claimRef.name', value: claimRef },
    { name: 'StorageClass', type: 'string', jsonPath: '.spec.storageClassName' },
    {
      name: 'VolumeAttributesClass',
      type: 'string',
      jsonPath: '.spec.volumeAttributesClassName',
      value: (o) => orUnset(spec(o)['volumeAttributesClassName']),
    },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason' },
    ageColumn,
    {
      name: 'VolumeMode',
      type: 'string',
      jsonPath: '.spec.volumeMode',
      priority: 1,
      value: (o) => orUnset(spec(o)['volumeMode']),
    },
  ],
};

const spec = (o: KubeObject): Record<string, unknown> =>
  (o['spec'] as Record<string, unknown> | undefined) ?? {};
