/**
 * snapshot.kubevirt.io/v1beta1 VirtualMachineSnapshot: a point-in-time copy of a VM's spec and of
 * every persistent disk it uses. The snapshot controller (src/controllers/snapshot) takes it
 * (live when the VM runs, through QMP, with the guest's filesystems frozen when its agent is
 * connected) and records what it took in a VirtualMachineSnapshotContent.
 */
import { snapshotGateErrors } from '../kubevirt/gated-fields.js';
import { defaultAdmissionSettings, gateChoice } from '../admission.js';
import { parseDuration } from '../duration.js';
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, StringEnum, Type, type Static, opt } from '../schema.js';
import {
  SNAPSHOT_GROUP,
  SNAPSHOT_VERSION,
  SnapshotCondition,
  SnapshotError,
  TypedLocalObjectReference,
  checkVmReference,
} from './common.js';

export const SNAPSHOT_PHASES = ['Unknown', 'InProgress', 'Succeeded', 'Failed', 'Deleting'] as const;
export type SnapshotPhase = (typeof SNAPSHOT_PHASES)[number];

/** KubeVirt's indications: how the snapshot was taken. */
export const INDICATIONS = ['Online', 'GuestAgent', 'NoGuestAgent', 'QuiesceFailed', 'Paused'] as const;
export type Indication = (typeof INDICATIONS)[number];

/** Default of spec.failureDeadline, as KubeVirt's. */
export const DEFAULT_FAILURE_DEADLINE = '5m';

export const VirtualMachineSnapshot = Obj('A snapshot of a VirtualMachine.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What to snapshot.', {
    source: TypedLocalObjectReference,
    deletionPolicy: opt(
      StringEnum(
        ['Delete', 'Retain'] as const,
        'Whether the content goes with the snapshot (Delete, the default).',
      ),
    ),
    failureDeadline: opt(
      Type.String({
        description:
          'How long the snapshot may take before it fails (a duration, default 5m; 0 waits forever).',
      }),
    ),
  }),
  status: opt(
    Obj('How the snapshot went.', {
      sourceUID: opt(Type.String()),
      virtualMachineSnapshotContentName: opt(Type.String()),
      creationTime: opt(Type.Union([Type.String(), Type.Null()])),
      phase: opt(StringEnum(SNAPSHOT_PHASES)),
      readyToUse: opt(Type.Boolean()),
      error: opt(SnapshotError),
      conditions: opt(Type.Array(SnapshotCondition)),
      indications: opt(Type.Array(StringEnum(INDICATIONS))),
      snapshotVolumes: opt(
        Obj('The volumes the snapshot covers and those it leaves out.', {
          includedVolumes: opt(Type.Array(Type.String())),
          excludedVolumes: opt(Type.Array(Type.String())),
        }),
      ),
    }),
  ),
});
export type VirtualMachineSnapshot = Static<typeof VirtualMachineSnapshot>;

export function validateSnapshot(
  s: VirtualMachineSnapshot,
  old: VirtualMachineSnapshot | undefined,
): FieldError[] {
  const errors = checkVmReference(s.spec.source, 'spec.source');
  const deadline = s.spec.failureDeadline;
  if (deadline !== undefined && parseDuration(deadline) === undefined)
    errors.push({
      path: 'spec.failureDeadline',
      message: `Invalid value: ${JSON.stringify(deadline)}: a duration such as "5m" or "90s"`,
    });
  if (old !== undefined && JSON.stringify(old.spec.source) !== JSON.stringify(s.spec.source))
    errors.push({
      path: 'spec.source',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: spec.source is immutable',
    });
  return errors;
}

export const virtualMachineSnapshotKind: KindDefinition = {
  group: SNAPSHOT_GROUP,
  version: SNAPSHOT_VERSION,
  kind: 'VirtualMachineSnapshot',
  plural: 'virtualmachinesnapshots',
  singular: 'virtualmachinesnapshot',
  shortNames: ['vmsnapshot', 'vmsnapshots'],
  categories: ['all'],
  namespaced: true,
  description:
    'VirtualMachineSnapshot is a point-in-time copy of a VirtualMachine: its spec and its persistent disks.',
  schema: VirtualMachineSnapshot,
  statusSubresource: true,
  printerColumns: [
    { name: 'SourceKind', type: 'string', jsonPath: '.spec.source.kind' },
    { name: 'SourceName', type: 'string', jsonPath: '.spec.source.name' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'ReadyToUse', type: 'boolean', jsonPath: '.status.readyToUse' },
    { name: 'CreationTime', type: 'date', jsonPath: '.status.creationTime' },
    { name: 'Error', type: 'string', jsonPath: '.status.error.message' },
    // Ours, beside KubeVirt's columns: shown by `-o wide` only.
    { name: 'Indications', type: 'string', jsonPath: '.status.indications', priority: 1 },
  ],
  validate: (o, old, settings) => [
    ...snapshotGateErrors(
      old,
      gateChoice(settings ?? defaultAdmissionSettings()),
      'snapshot feature gate not enabled',
    ),
    ...validateSnapshot(
      o as unknown as VirtualMachineSnapshot,
      old as unknown as VirtualMachineSnapshot | undefined,
    ),
  ],
  defaults: (o) => {
    const s = o as unknown as VirtualMachineSnapshot;
    s.spec.failureDeadline ??= DEFAULT_FAILURE_DEADLINE;
  },
};
