/**
 * clone.kubevirt.io/v1beta1 VirtualMachineClone: a new VM from a VM or from a snapshot. The clone
 * controller snapshots the source (unless it is a snapshot already), then restores it onto the
 * target with new identities: MAC addresses, SMBIOS serial, firmware UUID and cloud-init
 * instance-id. Disks are linked (copy-on-write over the snapshot's layers) unless the annotation
 * `clone.hikube.io/full: "true"` asks for full copies.
 */
import { snapshotGateErrors } from '../kubevirt/gated-fields.js';
import { defaultAdmissionSettings, gateChoice } from '../admission.js';
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { NoEffect, Obj, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';
import {
  SnapshotCondition,
  TypedLocalObjectReference,
  checkPatches,
  checkSpecUnchanged,
  checkVmReference,
} from '../snapshot/common.js';

export const CLONE_GROUP = 'clone.kubevirt.io';
export const CLONE_VERSION = 'v1beta1';
/** Beyond KubeVirt: full copies of the disks instead of linked ones. */
export const FULL_CLONE_ANNOTATION = 'clone.hikube.io/full';

export const CLONE_PHASES = [
  'Unknown',
  'SnapshotInProgress',
  'CreatingTargetVM',
  'RestoreInProgress',
  'Succeeded',
  'Failed',
] as const;
export type ClonePhase = (typeof CLONE_PHASES)[number];

const Filters = (what: string) =>
  opt(
    Type.Array(Type.String(), {
      description: `${what} keys copied to the clone; "*" all, "!key" none of key.`,
    }),
  );

export const VirtualMachineClone = Obj('A clone of a VM or of a VM snapshot.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What to clone, into what.', {
    source: TypedLocalObjectReference,
    target: opt(TypedLocalObjectReference),
    annotationFilters: Filters('Annotation'),
    labelFilters: Filters('Label'),
    template: opt(
      Obj('Filters of the VMI template metadata.', {
        annotationFilters: Filters('Annotation'),
        labelFilters: Filters('Label'),
      }),
    ),
    newMacAddresses: opt(
      StringMap('Interface name → MAC address; interfaces not listed get a new random MAC.'),
    ),
    newSMBiosSerial: opt(Type.String({ description: 'SMBIOS serial of the clone (default: a new one).' })),
    patches: opt(Type.Array(Type.String(), { description: 'JSON patches applied to the target VM.' })),
    volumeNamePolicy: opt(
      NoEffect(Type.String({ description: 'How the cloned volumes are named (e.g. RandomizeNames).' })),
    ),
  }),
  status: opt(
    Obj('How the clone went.', {
      snapshotName: opt(Type.String()),
      restoreName: opt(Type.String()),
      targetName: opt(Type.String()),
      creationTime: opt(Type.Union([Type.String(), Type.Null()])),
      phase: opt(StringEnum(CLONE_PHASES)),
      conditions: opt(Type.Array(SnapshotCondition)),
    }),
  ),
});
export type VirtualMachineClone = Static<typeof VirtualMachineClone>;

const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

export function validateClone(c: VirtualMachineClone, old: VirtualMachineClone | undefined): FieldError[] {
  const errors = checkVmReference(c.spec.source, 'spec.source', ['VirtualMachine', 'VirtualMachineSnapshot']);
  if (c.spec.target !== undefined) {
    errors.push(...checkVmReference(c.spec.target, 'spec.target'));
    if (c.spec.source.kind === 'VirtualMachine' && c.spec.target.name === c.spec.source.name)
      errors.push({
        path: 'spec.target.name',
        message: 'Invalid value: target and source must be different VMs',
      });
  }
  for (const [iface, mac] of Object.entries(c.spec.newMacAddresses ?? {}))
    if (!MAC.test(mac))
      errors.push({
        path: `spec.newMacAddresses.${iface}`,
        message: `Invalid value: ${JSON.stringify(mac)}: not a MAC address`,
      });
  checkPatches(c.spec.patches, errors);
  checkSpecUnchanged(old, c, errors);
  return errors;
}

export const virtualMachineCloneKind: KindDefinition = {
  group: CLONE_GROUP,
  version: CLONE_VERSION,
  kind: 'VirtualMachineClone',
  plural: 'virtualmachineclones',
  singular: 'virtualmachineclone',
  shortNames: ['vmclone', 'vmclones'],
  categories: ['all'],
  namespaced: true,
  description:
    'VirtualMachineClone makes a new VM from a VM or a VirtualMachineSnapshot, with new identities.',
  schema: VirtualMachineClone,
  statusSubresource: true,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'SourceVirtualMachine', type: 'string', jsonPath: '.spec.source.name' },
    { name: 'TargetVirtualMachine', type: 'string', jsonPath: '.spec.target.name' },
  ],
  validate: (o, old, settings) => [
    ...snapshotGateErrors(
      old,
      gateChoice(settings ?? defaultAdmissionSettings()),
      'snapshot feature gate is not enabled',
    ),
    ...validateClone(o as unknown as VirtualMachineClone, old as unknown as VirtualMachineClone | undefined),
  ],
};
