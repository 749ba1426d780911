/**
 * scheduling.k8s.io/v1 PriorityClass: a named priority. A VMI's `spec.priorityClassName` picks one,
 * and the scheduler takes pending VMIs of a higher value first (src/controllers/scheduler). It
 * never preempts: a placed VMI is not evicted for a higher one.
 */
import { ageColumn, nameColumn, type FieldError, type KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, StringEnum, Type, type Static, opt } from '../schema.js';

/** Values above this are reserved for the system classes, as in kube. */
export const HIGHEST_USER_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASSES: Readonly<Record<string, number>> = {
  'system-cluster-critical': 2_000_000_000,
  'system-node-critical': 2_000_001_000,
};

export const PriorityClass = Obj('A named priority for VMIs.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  value: Type.Integer({ description: 'The priority: pending VMIs of a higher value are scheduled first.' }),
  globalDefault: opt(
    Type.Boolean({ description: 'The priority of VMIs that name no class; at most one class has it.' }),
  ),
  description: opt(Type.String({ description: 'When this class should be used.' })),
  preemptionPolicy: opt(
    StringEnum(['PreemptLowerPriority', 'Never'], 'Accepted; this scheduler never preempts either way.'),
  ),
});
export type PriorityClass = Static<typeof PriorityClass>;

function validatePriorityClass(pc: PriorityClass, old: PriorityClass | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const name = pc.metadata.name ?? '';
  const system = SYSTEM_PRIORITY_CLASSES[name];
  if (name.startsWith('system-') && system === undefined)
    errors.push({
      path: 'metadata.name',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: priority class names with "system-" prefix are reserved',
    });
  if (system === undefined && pc.value > HIGHEST_USER_PRIORITY)
    errors.push({
      path: 'value',
      reason: 'FieldValueForbidden',
      message: `Forbidden: maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}`,
    });
  if (old !== undefined && old.value !== pc.value)
    errors.push({
      path: 'value',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: may not be changed in an update.',
    });
  if (
    old !== undefined &&
    (old.preemptionPolicy ?? 'PreemptLowerPriority') !== (pc.preemptionPolicy ?? 'PreemptLowerPriority')
  )
    errors.push({
      path: 'preemptionPolicy',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: may not be changed in an update.',
    });
  return errors;
}

export const priorityClassKind: KindDefinition = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  shortNames: ['pc'],
  namespaced: false,
  description:
    'PriorityClass maps a name to a priority; pending VMIs naming a class of a higher value are scheduled first (no preemption).',
  schema: PriorityClass,
  statusSubresource: false,
  deleteReturnsStatus: true,
  printerColumns: [
    nameColumn,
    { name: 'Value', type: 'integer', jsonPath: '.value' },
    {
      name: 'Global-Default',
      type: 'boolean',
      jsonPath: '.globalDefault',
      value: (o) => o['globalDefault'] === true,
    },
    ageColumn,
    { name: 'PreemptionPolicy', type: 'string', jsonPath: '.preemptionPolicy' },
  ],
  validate: (o, old) =>
    validatePriorityClass(o as unknown as PriorityClass, old as unknown as PriorityClass | undefined),
  defaults: (o) => {
    o['preemptionPolicy'] ??= 'PreemptLowerPriority';
  },
};

/** The priority of a VMI naming `className` (or none); undefined when the class does not exist. */
export function priorityOf(
  className: string | undefined,
  classes: readonly PriorityClass[],
): number | undefined {
  if (className === undefined || className === '') {
    // kube admits one global default; should several exist, the highest wins.
    const defaults = classes.filter((c) => c.globalDefault === true).map((c) => c.value);
    return defaults.length > 0 ? Math.max(...defaults) : 0;
  }
  const system = SYSTEM_PRIORITY_CLASSES[className];
  if (system !== undefined) return system;
  return classes.find((c) => c.metadata.name === className)?.value;
}
