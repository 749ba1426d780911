/**
 * Shapes shared by the snapshot.kubevirt.io/v1beta1 kinds: the typed reference to a VM, the
 * conditions (Progressing, Ready), the error, and the duration format of failureDeadline.
 */
import type { FieldError } from '../kind.js';
import { Obj, StringEnum, Type, type Static, opt } from '../schema.js';

export const SNAPSHOT_GROUP = 'snapshot.kubevirt.io';
export const SNAPSHOT_VERSION = 'v1beta1';
export const KUBEVIRT_GROUP = 'kubevirt.io';

export const TypedLocalObjectReference = Obj('A typed reference to an object in the same namespace.', {
  apiGroup: opt(Type.String({ description: 'Group of the referenced kind: kubevirt.io.' })),
  kind: Type.String({ description: 'Kind of the referenced object: VirtualMachine.' }),
  name: Type.String({ description: 'Name of the referenced object.' }),
});
export type TypedLocalObjectReference = Static<typeof TypedLocalObjectReference>;

export const SnapshotCondition = Obj('An observation of the snapshot or restore.', {
  type: StringEnum(['Ready', 'Progressing', 'Failure'] as const),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  lastProbeTime: opt(Type.Union([Type.String(), Type.Null()])),
  lastTransitionTime: opt(Type.Union([Type.String(), Type.Null()])),
  reason: opt(Type.String()),
  message: opt(Type.String()),
});
export type SnapshotCondition = Static<typeof SnapshotCondition>;

export const SnapshotError = Obj('The last error.', {
  time: opt(Type.String()),
  message: opt(Type.String()),
});

/** The source or target of a snapshot, restore or clone: this platform snapshots VirtualMachines. */
export function checkVmReference(
  ref: TypedLocalObjectReference | undefined,
  at: string,
  kinds: readonly string[] = ['VirtualMachine'],
): FieldError[] {
  if (ref === undefined) return [{ path: at, reason: 'FieldValueRequired', message: 'Required value' }];
  const errors: FieldError[] = [];
  if (!kinds.includes(ref.kind))
    errors.push({
      path: `${at}.kind`,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(ref.kind)}: supported values: ${kinds.map((k) => JSON.stringify(k)).join(', ')}`,
    });
  const group = ref.kind === 'VirtualMachineSnapshot' ? SNAPSHOT_GROUP : KUBEVIRT_GROUP;
  if (ref.apiGroup !== undefined && ref.apiGroup !== group)
    errors.push({
      path: `${at}.apiGroup`,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(ref.apiGroup)}: supported values: ${JSON.stringify(group)}`,
    });
  if (ref.name === '')
    errors.push({ path: `${at}.name`, reason: 'FieldValueRequired', message: 'Required value' });
  return errors;
}

/** The condition list with `type` set to the given status (lastTransitionTime moves only on a change). */
export function setCondition(
  conditions: SnapshotCondition[] | undefined,
  type: SnapshotCondition['type'],
  status: SnapshotCondition['status'],
  reason: string,
  message: string,
  now: string,
): SnapshotCondition[] {
  const out = (conditions ?? []).filter((c) => c.type !== type);
  const old = (conditions ?? []).find((c) => c.type === type);
  out.push({
    type,
    status,
    reason,
    message,
    lastProbeTime: null,
    lastTransitionTime: old !== undefined && old.status === status ? (old.lastTransitionTime ?? now) : now,
  });
  return out.sort((a, b) => a.type.localeCompare(b.type));
}

/** Each of `patches` (KubeVirt's JSON patch operations, one per string) must parse as a JSON object. */
export function checkPatches(patches: readonly string[] | undefined, errors: FieldError[]): void {
  (patches ?? []).forEach((p, i) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(p);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      errors.push({
        path: `spec.patches[${i}]`,
        message: `Invalid value: ${JSON.stringify(p)}: not a JSON patch operation`,
      });
  });
}

/** A restore's or a clone's spec never changes once created. */
export function checkSpecUnchanged(
  old: { spec: unknown } | undefined,
  now: { spec: unknown },
  errors: FieldError[],
): void {
  if (old !== undefined && JSON.stringify(old.spec) !== JSON.stringify(now.spec))
    errors.push({ path: 'spec', reason: 'FieldValueForbidden', message: 'Forbidden: spec is immutable' });
}
