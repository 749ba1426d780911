/**
 * snapshot.kubevirt.io/v1beta1 VirtualMachineRestore: brings a snapshot back, onto the VM it was
 * taken of or onto a new VM (`spec.target.name` naming a VM that does not exist yet). Disks come
 * back as new copy-on-write layers over the snapshot's, so a restore is instant whatever the size.
 */
import { snapshotGateErrors } from '../kubevirt/gated-fields.js';
import { defaultAdmissionSettings, gateChoice } from '../admission.js';
import type { FieldError, KindDefinition, ObjectLookup } from '../kind.js';
import { virtualMachineKind } from '../kubevirt/vm.js';
import { virtualMachineSnapshotKind, type VirtualMachineSnapshot } from './snapshot.js';
import { ObjectMeta } from '../meta.js';
import { Obj, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';
import {
  checkPatches,
  checkSpecUnchanged,
  SNAPSHOT_GROUP,
  SNAPSHOT_VERSION,
  SnapshotCondition,
  TypedLocalObjectReference,
  checkVmReference,
} from './common.js';

/** What to do when the target VM runs: KubeVirt's targetReadinessPolicy. */
export const TARGET_READINESS_POLICIES = [
  'FailImmediate',
  'StopTarget',
  'WaitGracePeriod',
  'WaitEventually',
] as const;
export type TargetReadinessPolicy = (typeof TARGET_READINESS_POLICIES)[number];
export const DEFAULT_TARGET_READINESS_POLICY: TargetReadinessPolicy = 'WaitGracePeriod';
/** How long WaitGracePeriod waits for the target to stop (KubeVirt's is 5 minutes). */
export const TARGET_GRACE_PERIOD_MS = 5 * 60_000;

export const VOLUME_RESTORE_POLICIES = ['RandomizeNames', 'InPlace'] as const;
export type VolumeRestorePolicy = (typeof VOLUME_RESTORE_POLICIES)[number];

export const VirtualMachineRestore = Obj('A restore of a VirtualMachineSnapshot.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What to restore, onto what.', {
    target: TypedLocalObjectReference,
    virtualMachineSnapshotName: Type.String(),
    patches: opt(
      Type.Array(Type.String(), {
        description: 'JSON patches applied to a new target VM before it is created.',
      }),
    ),
    targetReadinessPolicy: opt(StringEnum(TARGET_READINESS_POLICIES)),
    volumeRestorePolicy: opt(StringEnum(VOLUME_RESTORE_POLICIES)),
    volumeOwnershipPolicy: opt(StringEnum(['VM', 'None'] as const)),
    volumeRestoreOverrides: opt(
      Type.Array(
        Obj('Name, labels and annotations of one restored volume.', {
          volumeName: Type.String(),
          restoreName: opt(Type.String()),
          labels: opt(StringMap()),
          annotations: opt(StringMap()),
        }),
      ),
    ),
  }),
  status: opt(
    Obj('How the restore went.', {
      restores: opt(
        Type.Array(
          Obj('One restored volume.', {
            volumeName: Type.String(),
            persistentVolumeClaim: Type.String(),
            volumeSnapshotName: Type.String(),
            dataVolumeName: opt(Type.String()),
          }),
        ),
      ),
      restoreTime: opt(Type.Union([Type.String(), Type.Null()])),
      deletedDataVolumes: opt(Type.Array(Type.String())),
      complete: opt(Type.Boolean()),
      conditions: opt(Type.Array(SnapshotCondition)),
    }),
  ),
});
export type VirtualMachineRestore = Static<typeof VirtualMachineRestore>;

export function validateRestore(
  r: VirtualMachineRestore,
  old: VirtualMachineRestore | undefined,
): FieldError[] {
  const errors = checkVmReference(r.spec.target, 'spec.target');
  if (r.spec.virtualMachineSnapshotName === '')
    errors.push({
      path: 'spec.virtualMachineSnapshotName',
      reason: 'FieldValueRequired',
      message: 'Required value',
    });
  checkPatches(r.spec.patches, errors);
  checkSpecUnchanged(old, r, errors);
  return errors;
}

/**
 * On create, as KubeVirt's restore admission: a snapshot that does not exist yet, or is not ready,
 * is accepted (the restore waits for it); once it exists, an existing target must be the VM the
 * snapshot was taken of (a new name creates a new VM).
 */
export function checkRestoreRefs(r: VirtualMachineRestore, lookup: ObjectLookup): FieldError[] {
  const ns = r.metadata.namespace ?? '';
  const snapshot = lookup<VirtualMachineSnapshot>(
    virtualMachineSnapshotKind,
    ns,
    r.spec.virtualMachineSnapshotName,
  );
  if (snapshot === undefined) return [];
  const target = r.spec.target.name;
  if (lookup(virtualMachineKind, ns, target) !== undefined && target !== snapshot.spec.source.name)
    return [
      {
        path: 'spec.target.name',
        message: `Invalid value: ${JSON.stringify(target)}: restoring onto another existing VM is not supported; name a new VM or ${JSON.stringify(snapshot.spec.source.name)}`,
      },
    ];
  return [];
}

export const virtualMachineRestoreKind: KindDefinition = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  kind: 'VirtualMachineRestore',
  plural: 'virtualmachinerestores',
  singular: 'virtualmachinerestore',
  shortNames: ['vmrestore', 'vmrestores'],
  categories: ['all'],
  namespaced: true,
  description: 'VirtualMachineRestore brings a VirtualMachineSnapshot back onto its VM or onto a new VM.',
  schema: VirtualMachineRestore,
  statusSubresource: true,
  printerColumns: [
    { name: 'TargetKind', type: 'string', jsonPath: '.spec.target.kind' },
    { name: 'TargetName', type: 'string', jsonPath: '.spec.target.name' },
    { name: 'Complete', type: 'boolean', jsonPath: '.status.complete' },
    { name: 'RestoreTime', type: 'date', jsonPath: '.status.restoreTime' },
  ],
  admit: (o, old, lookup) =>
    old === undefined ? checkRestoreRefs(o as unknown as VirtualMachineRestore, lookup) : [],
  validate: (o, old, settings) => [
    ...snapshotGateErrors(
      old,
      gateChoice(settings ?? defaultAdmissionSettings()),
      'Snapshot/Restore feature gate not enabled',
    ),
    ...validateRestore(
      o as unknown as VirtualMachineRestore,
      old as unknown as VirtualMachineRestore | undefined,
    ),
  ],
};
