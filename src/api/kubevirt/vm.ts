/**
 * kubevirt.io/v1 VirtualMachine: the declarative, persistent VM. The VM controller turns it into a
 * VirtualMachineInstance according to its runStrategy (src/controllers/vm).
 */
import { defaultAdmissionSettings, gateChoice, type AdmissionSettings } from '../admission.js';
import { gatedFieldErrors } from './gated-fields.js';
import { canonicalMatcherKind, matcherKinds } from '../instancetype/matcher.js';
import type { FieldError, KindDefinition } from '../kind.js';
import { DataVolumeSpec } from '../cdi/datavolume.js';
import { ObjectMeta } from '../meta.js';
import { NoEffect, Obj, Preserve, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';
import { Conditions, OpenStatus, PRINTABLE_STATUSES, RUN_STRATEGIES } from './status.js';
import { validateVmiSpec, vmiSpecWarnings } from './validation.js';
import { VirtualMachineInstanceTemplateSpec } from './vmi.js';

const Matcher = (what: string, kinds: string[]) =>
  Obj(`Selects a ${what} by name.`, {
    name: opt(Type.String({ description: `Name of the ${what}.` })),
    kind: opt(
      Type.String({
        description: `Kind of the ${what} (${kinds.join(' or ')}; any case, or the resource's singular or plural name); the cluster-wide kind is the default.`,
      }),
    ),
    revisionName: opt(
      Type.String({
        description: 'The ControllerRevision holding the copy applied to this VM; set by the controller.',
      }),
    ),
    inferFromVolume: opt(Type.String({ description: 'Infer the name from the labels of this volume.' })),
    inferFromVolumeFailurePolicy: opt(StringEnum(['Reject', 'Ignore'])),
  });

export const DataVolumeTemplateSpec = Obj('A DataVolume created with the VM and owned by it.', {
  apiVersion: opt(Type.String()),
  kind: opt(Type.String()),
  metadata: opt(
    Obj(
      'Name, labels and annotations of the DataVolume.',
      { name: opt(Type.String()), labels: opt(StringMap()), annotations: opt(StringMap()) },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
  spec: DataVolumeSpec,
  status: opt(NoEffect(Preserve('Not used (a placeholder of the upstream type).'))),
});

export const VirtualMachineSpec = Obj('The desired state of the VM.', {
  running: opt(
    Type.Boolean({
      description:
        'Deprecated: use runStrategy. true is Always, false is Halted. Mutually exclusive with runStrategy.',
    }),
  ),
  runStrategy: opt(
    StringEnum(RUN_STRATEGIES, 'When a VMI should run: Always, RerunOnFailure, Once, Manual or Halted.'),
  ),
  instancetype: opt(Matcher('instance type', matcherKinds('instancetype'))),
  preference: opt(Matcher('preference', matcherKinds('preference'))),
  template: VirtualMachineInstanceTemplateSpec,
  dataVolumeTemplates: opt(Type.Array(DataVolumeTemplateSpec)),
  updateVolumesStrategy: opt(StringEnum(['Replacement', 'Migration'])),
});
export type VirtualMachineSpec = Static<typeof VirtualMachineSpec>;

export const VirtualMachineStatus = OpenStatus('Observed state of the VM, written by the VM controller.', {
  printableStatus: opt(
    StringEnum(
      PRINTABLE_STATUSES,
      'A one-word summary of the VM state, as kubectl and the console print it.',
    ),
  ),
  ready: opt(Type.Boolean({ description: 'The VMI is running and ready.' })),
  created: opt(Type.Boolean({ description: 'A VMI exists for this VM.' })),
  runStrategy: opt(Type.String()),
  conditions: opt(Conditions),
  observedGeneration: opt(Type.Integer()),
  desiredGeneration: opt(Type.Integer()),
  stateChangeRequests: opt(
    Type.Array(
      Obj('A pending start or stop request.', {
        action: StringEnum(['Start', 'Stop']),
        data: opt(StringMap()),
        uid: opt(Type.String()),
      }),
    ),
  ),
  startFailure: opt(
    Obj('Restart back-off after failures.', {
      retryAfterTimestamp: opt(Type.String()),
      consecutiveFailCount: opt(Type.Integer()),
      lastFailedVMIUID: opt(Type.String()),
    }),
  ),
  volumeSnapshotStatuses: opt(Type.Array(Preserve())),
  volumeRequests: opt(Type.Array(Preserve())),
  instancetypeRef: opt(Preserve()),
  preferenceRef: opt(Preserve()),
  snapshotInProgress: opt(Type.String()),
  restoreInProgress: opt(Type.String()),
  memoryDumpRequest: opt(Preserve()),
});

export const VirtualMachine = Obj(
  'A virtual machine: its desired state and the template of the instance that runs it.',
  {
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: ObjectMeta,
    spec: VirtualMachineSpec,
    status: opt(VirtualMachineStatus),
  },
);
export type VirtualMachine = Static<typeof VirtualMachine>;

export function validateVm(
  vm: VirtualMachine,
  settings: AdmissionSettings = defaultAdmissionSettings(),
): FieldError[] {
  const errors: FieldError[] = [];
  const spec = vm.spec;
  if (spec.running !== undefined && spec.runStrategy !== undefined) {
    errors.push({
      path: 'spec.running',
      reason: 'FieldValueInvalid',
      message: 'Invalid value: running and runStrategy are mutually exclusive; set only runStrategy',
    });
  }
  for (const target of ['instancetype', 'preference'] as const) {
    const kind = spec[target]?.kind;
    if (kind !== undefined && canonicalMatcherKind(target, kind) === undefined)
      errors.push({
        path: `spec.${target}.kind`,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(kind)}: supported values: ${matcherKinds(target)
          .map((k) => JSON.stringify(k))
          .join(', ')} (any case, singular or plural)`,
      });
  }
  const names = new Set<string>();
  (spec.dataVolumeTemplates ?? []).forEach((t, i) => {
    const name = t.metadata?.name;
    if (name === undefined || name === '')
      errors.push({
        path: `spec.dataVolumeTemplates[${i}].metadata.name`,
        reason: 'FieldValueRequired',
        message: 'Required value',
      });
    else if (names.has(name))
      errors.push({
        path: `spec.dataVolumeTemplates[${i}].metadata.name`,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${JSON.stringify(name)}`,
      });
    else names.add(name);
  });
  const template = spec.template.spec;
  if (template === undefined) {
    errors.push({
      path: 'spec.template.spec',
      reason: 'FieldValueRequired',
      message: 'Required value: the VMI template needs a spec',
    });
    return errors;
  }
  errors.push(
    ...validateVmiSpec(template, 'spec.template.spec', undefined, {
      instancetype: spec.instancetype !== undefined,
      template: true,
    }),
    ...gatedFieldErrors(
      template,
      spec.template.metadata?.annotations,
      'spec.template.spec',
      'spec.template.metadata',
      gateChoice(settings),
    ),
  );
  return errors;
}

export const virtualMachineKind: KindDefinition = {
  group: 'kubevirt.io',
  version: 'v1',
  kind: 'VirtualMachine',
  plural: 'virtualmachines',
  singular: 'virtualmachine',
  shortNames: ['vm', 'vms'],
  categories: ['all'],
  namespaced: true,
  description:
    'VirtualMachine handles the virtual machines: its runStrategy decides when a VirtualMachineInstance runs from its template.',
  schema: VirtualMachine,
  statusSubresource: true,
  printerColumns: [
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    {
      name: 'Status',
      type: 'string',
      jsonPath: '.status.printableStatus',
      description: 'Human Readable Status',
    },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
  validate: (obj, _old, settings) => validateVm(obj as unknown as VirtualMachine, settings),
  warnings: (obj) => {
    const spec = (obj as unknown as VirtualMachine).spec;
    const out = vmiSpecWarnings(spec.template.spec, 'spec.template.spec');
    if (spec.running !== undefined) out.push('spec.running is deprecated; use spec.runStrategy');
    return out;
  },
};
