/**
 * Live migration's API, served so that manifests and tools using it work: kubevirt.io/v1
 * VirtualMachineInstanceMigration and migrations.kubevirt.io/v1alpha1 MigrationPolicy. This
 * platform runs one node, so there is nowhere to migrate to: the migration controller
 * (src/controllers/migration) ends every migration in phase Failed with reason
 * `NoTargetNode`, saying so in a condition and an Event; it does not move the guest to a fresh
 * QEMU process on the same node. A MigrationPolicy is kept as given and has no effect.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { NoEffect, Obj, Preserve, Quantity, StringMap, Type, type Static, opt } from '../schema.js';

export const MIGRATION_PHASES = [
  'Pending',
  'Scheduling',
  'Scheduled',
  'PreparingTarget',
  'TargetReady',
  'Running',
  'Succeeded',
  'Failed',
] as const;
/** Why a migration fails here, in its condition and Event. */
export const NO_TARGET_NODE = 'NoTargetNode';

export const VirtualMachineInstanceMigration = Obj('A live migration of a VMI.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('Which VMI to migrate.', {
    vmiName: Type.String({ description: 'The VMI, in the migration namespace.' }),
    addedNodeSelector: opt(StringMap()),
    sendTo: opt(NoEffect(Preserve())),
    receive: opt(NoEffect(Preserve())),
    priority: opt(NoEffect(Type.String())),
  }),
  status: opt(
    Obj(
      'How the migration went.',
      {
        phase: opt(Type.String()),
        conditions: opt(Type.Array(Preserve())),
        phaseTransitionTimestamps: opt(Type.Array(Preserve())),
        migrationState: opt(Preserve()),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
});
export type VirtualMachineInstanceMigration = Static<typeof VirtualMachineInstanceMigration>;

function validateMigration(m: VirtualMachineInstanceMigration): FieldError[] {
  if (m.spec.vmiName !== '') return [];
  return [{ path: 'spec.vmiName', reason: 'FieldValueRequired', message: 'Required value' }];
}

export const virtualMachineInstanceMigrationKind: KindDefinition = {
  group: 'kubevirt.io',
  version: 'v1',
  kind: 'VirtualMachineInstanceMigration',
  plural: 'virtualmachineinstancemigrations',
  singular: 'virtualmachineinstancemigration',
  shortNames: ['vmim', 'vmims'],
  categories: ['all'],
  namespaced: true,
  description:
    'VirtualMachineInstanceMigration asks to move a running VMI to another node; with one node it fails (NoTargetNode).',
  schema: VirtualMachineInstanceMigration,
  statusSubresource: true,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'VMI', type: 'string', jsonPath: '.spec.vmiName' },
  ],
  validate: (o) => validateMigration(o as unknown as VirtualMachineInstanceMigration),
};

export const MigrationPolicy = Obj('Migration settings for the VMIs it selects.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: NoEffect(
    Obj('The settings, and which VMIs they apply to.', {
      allowAutoConverge: opt(Type.Boolean()),
      allowPostCopy: opt(Type.Boolean()),
      allowWorkloadDisruption: opt(Type.Boolean()),
      bandwidthPerMigration: opt(
        Quantity('Bandwidth of each migration, e.g. 64Mi (a quantity, as upstream).'),
      ),
      completionTimeoutPerGiB: opt(Type.Integer()),
      maxDowntimeMs: opt(Type.Integer()),
      experimental: opt(Preserve()),
      selectors: opt(
        Obj('Which VMIs.', {
          namespaceSelector: opt(StringMap()),
          virtualMachineInstanceSelector: opt(StringMap()),
        }),
      ),
    }),
  ),
  status: opt(Preserve()),
});

export const migrationPolicyKind: KindDefinition = {
  group: 'migrations.kubevirt.io',
  version: 'v1alpha1',
  kind: 'MigrationPolicy',
  plural: 'migrationpolicies',
  singular: 'migrationpolicy',
  namespaced: false,
  description: 'MigrationPolicy sets how selected VMIs migrate; kept, with no effect on one node.',
  schema: MigrationPolicy,
  statusSubresource: true,
  printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
};
