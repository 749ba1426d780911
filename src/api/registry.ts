/**
 * Every kind the platform serves. Discovery, OpenAPI, storage and the CLI all read this list; a
 * new kind is a schema file plus one line here.
 */
import {
  configMapKind,
  controllerRevisionKind,
  eventKind,
  namespaceKind,
  nodeKind,
  persistentVolumeClaimKind,
  secretKind,
} from './core/core.js';
import {
  virtualMachineClusterInstancetypeKind,
  virtualMachineClusterPreferenceKind,
  virtualMachineInstancetypeKind,
  virtualMachinePreferenceKind,
} from './instancetype/instancetype.js';
import { apiVersionOf, type KindDefinition } from './kind.js';
import { virtualMachineKind } from './kubevirt/vm.js';
import { virtualMachineInstanceKind } from './kubevirt/vmi.js';
import { virtualMachineInstanceReplicaSetKind } from './kubevirt/replicaset.js';
import { dataSourceKind } from './cdi/datasource.js';
import { dataVolumeKind } from './cdi/datavolume.js';
import { cdiConfigKind } from './cdi/cdiconfig.js';
import { priorityClassKind } from './scheduling/priorityclass.js';
import { storageProfileKind } from './cdi/storageprofile.js';
import { persistentVolumeKind } from './storage/persistentvolume.js';
import { storageClassKind } from './storage/storageclass.js';
import { serviceKind } from './core/service.js';
import { limitRangeKind, resourceQuotaKind } from './core/quota.js';
import { endpointSliceKind } from './network/endpointslice.js';
import { networkAttachmentDefinitionKind } from './network/nad.js';
import { networkPolicyKind } from './network/networkpolicy.js';
import { snapshotScheduleKind } from './hikube/snapshotschedule.js';
import { virtualMachineSnapshotKind } from './snapshot/snapshot.js';
import { virtualMachineSnapshotContentKind } from './snapshot/content.js';
import { virtualMachineRestoreKind } from './snapshot/restore.js';
import { virtualMachineCloneKind } from './clone/clone.js';
import { virtualMachineExportKind } from './export/export.js';
import { vmDiskKind } from './cozystack/vmdisk.js';
import { vmInstanceKind } from './cozystack/vminstance.js';
import { tenantKind } from './cozystack/tenant.js';
import { serviceAccountKind } from './core/serviceaccount.js';
import { rbacKinds } from './rbac/rbac.js';
import { uploadTokenRequestKind } from './cdi/uploadtokenrequest.js';
import { dataImportCronKind } from './cdi/dataimportcron.js';
import { migrationPolicyKind, virtualMachineInstanceMigrationKind } from './kubevirt/migration.js';
import { virtualMachineInstancePresetKind } from './kubevirt/preset.js';
import { withOlderVersions, type OlderVersion } from './versions.js';
import { customResourceDefinitionKind } from './crd/crd.js';
import { backupClassKind, planKind } from './backups/plan.js';
import { backupJobKind, backupKind, restoreJobKind } from './backups/jobs.js';
import { backupStrategyKind } from './backups/strategy.js';
import { leaseKind } from './coordination/lease.js';

export const kinds: readonly KindDefinition[] = [
  namespaceKind,
  configMapKind,
  secretKind,
  eventKind,
  nodeKind,
  persistentVolumeClaimKind,
  controllerRevisionKind,
  resourceQuotaKind,
  limitRangeKind,
  virtualMachineKind,
  virtualMachineInstanceKind,
  virtualMachineInstanceReplicaSetKind,
  virtualMachineInstanceMigrationKind,
  virtualMachineInstancePresetKind,
  migrationPolicyKind,
  virtualMachineInstancetypeKind,
  virtualMachineClusterInstancetypeKind,
  virtualMachinePreferenceKind,
  virtualMachineClusterPreferenceKind,
  storageClassKind,
  persistentVolumeKind,
  dataVolumeKind,
  dataSourceKind,
  cdiConfigKind,
  storageProfileKind,
  uploadTokenRequestKind,
  dataImportCronKind,
  priorityClassKind,
  serviceKind,
  endpointSliceKind,
  networkAttachmentDefinitionKind,
  networkPolicyKind,
  snapshotScheduleKind,
  virtualMachineSnapshotKind,
  virtualMachineSnapshotContentKind,
  virtualMachineRestoreKind,
  virtualMachineCloneKind,
  virtualMachineExportKind,
  vmDiskKind,
  vmInstanceKind,
  tenantKind,
  serviceAccountKind,
  backupClassKind,
  planKind,
  backupJobKind,
  backupKind,
  restoreJobKind,
  backupStrategyKind,
  ...rbacKinds,
  customResourceDefinitionKind,
  leaseKind,
];

/** Older versions still served, converted to the stored one (src/api/versions.ts). */
export const olderVersions: readonly OlderVersion[] = [
  {
    group: 'kubevirt.io',
    version: 'v1alpha3',
    storageVersion: 'v1',
    kinds: ['VirtualMachine', 'VirtualMachineInstance', 'VirtualMachineInstanceReplicaSet'],
  },
  // KubeVirt v1.9 serves the export in v1 and still in v1beta1.
  { group: 'export.kubevirt.io', version: 'v1beta1', storageVersion: 'v1', kinds: ['VirtualMachineExport'] },
  {
    // KubeVirt v1.9 still serves snapshot.kubevirt.io/v1alpha1 beside v1beta1 (its stored version).
    group: 'snapshot.kubevirt.io',
    version: 'v1alpha1',
    storageVersion: 'v1beta1',
    kinds: ['VirtualMachineSnapshot', 'VirtualMachineSnapshotContent', 'VirtualMachineRestore'],
  },
];

/** What the API server serves: every kind in its stored version, then the older versions. */
export const servedKinds: readonly KindDefinition[] = withOlderVersions(kinds, olderVersions);

export function findKindByGvk(apiVersion: string, kind: string): KindDefinition | undefined {
  return kinds.find((k) => k.kind === kind && apiVersionOf(k) === apiVersion);
}

export function findKindByResource(group: string, plural: string): KindDefinition | undefined {
  return kinds.find((k) => k.group === group && k.plural === plural);
}
