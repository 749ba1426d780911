/**
 * kubevirt.io/v1 VirtualMachineInstanceReplicaSet: keeps `replicas` VMIs of one template running,
 * as a ReplicaSet does pods (src/controllers/replicaset). `paused` stops it from creating or
 * deleting; the `scale` subresource lets `kubectl scale vmirs` change `replicas`.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { LabelSelector } from '../core/refs.js';
import { labelSelectorFromObject, SelectorError } from '../selectors.js';
import { Obj, Preserve, Type, type Static, opt } from '../schema.js';
import { validateVmiSpec } from './validation.js';
import { VirtualMachineInstanceTemplateSpec } from './vmi.js';

export const VirtualMachineInstanceReplicaSet = Obj('A set of identical VMIs.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('How many VMIs of which template.', {
    replicas: opt(
      Type.Integer({ minimum: 0, maximum: 2147483647, description: 'How many VMIs to keep; 1 when unset.' }),
    ),
    selector: LabelSelector('The VMIs this set owns; the template labels must match it.'),
    template: VirtualMachineInstanceTemplateSpec,
    paused: opt(Type.Boolean({ description: 'Neither create nor delete VMIs while set.' })),
  }),
  status: opt(
    Obj('What the set sees.', {
      replicas: opt(Type.Integer({ description: 'VMIs the set owns.' })),
      readyReplicas: opt(Type.Integer({ description: 'Of them, those Ready.' })),
      labelSelector: opt(
        Type.String({ description: 'The selector, as a string (for the scale subresource).' }),
      ),
      conditions: opt(Type.Array(Preserve())),
    }),
  ),
});
export type VirtualMachineInstanceReplicaSet = Static<typeof VirtualMachineInstanceReplicaSet>;

function validateReplicaSet(rs: VirtualMachineInstanceReplicaSet): FieldError[] {
  const errors: FieldError[] = [];
  const labels = rs.spec.template.metadata?.labels ?? {};
  try {
    const selector = labelSelectorFromObject(rs.spec.selector);
    if (!selector.matches(labels))
      errors.push({
        path: 'spec.template.metadata.labels',
        message: `Invalid value: ${JSON.stringify(labels)}: the template labels must match spec.selector`,
      });
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    errors.push({ path: 'spec.selector', message: `Invalid value: ${err.message}` });
  }
  const template = rs.spec.template.spec;
  if (template === undefined)
    errors.push({ path: 'spec.template.spec', reason: 'FieldValueRequired', message: 'Required value' });
  else errors.push(...validateVmiSpec(template, 'spec.template.spec', undefined, { template: true }));
  return errors;
}

export const virtualMachineInstanceReplicaSetKind: KindDefinition = {
  group: 'kubevirt.io',
  version: 'v1',
  kind: 'VirtualMachineInstanceReplicaSet',
  plural: 'virtualmachineinstancereplicasets',
  singular: 'virtualmachineinstancereplicaset',
  shortNames: ['vmirs', 'vmirss'],
  categories: ['all'],
  namespaced: true,
  description: 'VirtualMachineInstanceReplicaSet keeps a number of VMIs of one template running.',
  schema: VirtualMachineInstanceReplicaSet,
  statusSubresource: true,
  scaleSubresource: true,
  printerColumns: [
    { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Current', type: 'integer', jsonPath: '.status.replicas' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validateReplicaSet(o as unknown as VirtualMachineInstanceReplicaSet),
  defaults: (o) => {
    const spec = o['spec'] as { replicas?: number } | undefined;
    if (spec !== undefined) spec.replicas ??= 1;
  },
};
