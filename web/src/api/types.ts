/**
 * The API's own types, imported from the schemas (src/api): the console never re-declares a kind.
 * Type-only imports: nothing of the server's runtime ends up in the bundle.
 */
export type { KubeObject, Status, StatusCause } from '../../../src/api/meta.js';
export type { VirtualMachine } from '../../../src/api/kubevirt/vm.js';
export type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
export type { Condition, PrintableStatus, VmiPhase, RunStrategy } from '../../../src/api/kubevirt/status.js';
export type { InstancetypeSpec, PreferenceSpec } from '../../../src/api/instancetype/instancetype.js';
export type { Event } from '../../../src/api/core/core.js';

import type { KubeObject } from '../../../src/api/meta.js';
import type { InstancetypeSpec, PreferenceSpec } from '../../../src/api/instancetype/instancetype.js';

export interface ClusterInstancetype extends KubeObject {
  spec: InstancetypeSpec;
}
export interface ClusterPreference extends KubeObject {
  spec: PreferenceSpec;
}
export interface Secret extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}
export interface KubeList<T> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string };
  items: T[];
}
export type { DataVolume, DataVolumePhase } from '../../../src/api/cdi/datavolume.js';
export type { DataSource } from '../../../src/api/cdi/datasource.js';
export type { Service, ServicePort, ServiceType } from '../../../src/api/core/service.js';
export type { NetworkAttachmentDefinition } from '../../../src/api/network/nad.js';
export type { Volume, Network } from '../../../src/api/kubevirt/volumes.js';
export type { Disk, Interface } from '../../../src/api/kubevirt/domain.js';

export interface PersistentVolumeClaim extends KubeObject {
  spec: {
    accessModes?: string[];
    resources?: { requests?: Record<string, string> };
    storageClassName?: string;
    volumeMode?: string;
    volumeName?: string;
  };
  status?: { phase?: string; capacity?: Record<string, string> };
}
export interface Instancetype extends KubeObject {
  spec: InstancetypeSpec;
}
export interface Preference extends KubeObject {
  spec: PreferenceSpec;
}
export type {
  VirtualMachineSnapshot,
  SnapshotPhase,
  Indication,
} from '../../../src/api/snapshot/snapshot.js';
export type { VirtualMachineSnapshotContent } from '../../../src/api/snapshot/content.js';
export type { VirtualMachineRestore, TargetReadinessPolicy } from '../../../src/api/snapshot/restore.js';
export type { SnapshotSchedule, SnapshotScheduleSpec } from '../../../src/api/hikube/snapshotschedule.js';
export type { VMDisk, VMDiskSpec } from '../../../src/api/cozystack/vmdisk.js';
export type { VMInstance, VMInstanceSpec } from '../../../src/api/cozystack/vminstance.js';
export type { Backup, BackupJob, RestoreJob } from '../../../src/api/backups/jobs.js';
export type { BackupClass, Plan } from '../../../src/api/backups/plan.js';
