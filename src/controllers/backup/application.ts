/**
 * What a backup's application is on this platform: a Hikube VMInstance (its VirtualMachine
 * `vm-instance-<name>`, whose volume `disk-<d>` is the VMDisk `d`, claim `vm-disk-<d>`) or a KubeVirt
 * VirtualMachine (its PVC and DataVolume volumes). Resolves the VM, whether it runs, the volumes a
 * backup covers (KubeVirt's rule, as snapshots: persistent ones only) and the manifests kept with
 * the backup so a restore can put the application back.
 */
import { applicationGroup, type TypedLocalObjectReference } from '../../api/backups/common.js';
import { diskObjectName, vmDiskKind, type VMDisk } from '../../api/cozystack/vmdisk.js';
import { instanceObjectName, vmInstanceKind, type VMInstance } from '../../api/cozystack/vminstance.js';
import { ConditionType } from '../../api/kubevirt/status.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import type { KubeObject } from '../../api/meta.js';
import type { Client } from '../../runtime/client.js';
import { persistentVolumes } from '../snapshot/volumes.js';

export const isInstance = (ref: TypedLocalObjectReference): boolean =>
  applicationGroup(ref) === 'apps.cozystack.io' && ref.kind === 'VMInstance';

/** A volume a backup covers. */
export interface AppVolume {
  /** The VM volume name (the disk's name in the artifact). */
  name: string;
  claim: string;
  /** For a VMInstance: the VMDisk behind it. */
  vmDisk?: string;
}

/** What a restore needs to put the application back: the objects as they were, cleaned. */
export interface SavedApplication {
  application: KubeObject;
  /** A VMInstance's VMDisks. */
  disks: KubeObject[];
}

export interface ResolvedApplication {
  vmName: string;
  vm: VirtualMachine;
  running: boolean;
  /** The guest agent is connected: the point is taken with the filesystems frozen. */
  agent: boolean;
  volumes: AppVolume[];
  saved: SavedApplication;
}

/** Why an application cannot be backed up now; the BackupJob fails with this message. */
export class ApplicationError extends Error {
  override readonly name = 'ApplicationError';
}

/** Metadata and status a saved object does not carry (they belong to the object that was). */
export function cleaned(o: KubeObject): KubeObject {
  const { name, namespace, labels, annotations } = o.metadata;
  const c: KubeObject = {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      ...(name !== undefined ? { name } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(labels !== undefined ? { labels } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    },
  };
  const spec = (o as { spec?: unknown }).spec;
  if (spec !== undefined) (c as { spec?: unknown }).spec = structuredClone(spec);
  return c;
}

export function resolveApplication(
  api: Client,
  namespace: string,
  ref: TypedLocalObjectReference,
): ResolvedApplication {
  const what = `${ref.kind} ${namespace}/${ref.name}`;
  let vmName = ref.name;
  let app: KubeObject | undefined;
  const disks: KubeObject[] = [];
  if (isInstance(ref)) {
    app = api.get<VMInstance>(vmInstanceKind, namespace, ref.name);
    vmName = instanceObjectName(ref.name);
  }
  const vm = api.get<VirtualMachine>(virtualMachineKind, namespace, vmName);
  if (!isInstance(ref)) app = vm;
  if (app === undefined) throw new ApplicationError(`${what} not found`);
  if (vm === undefined)
    throw new ApplicationError(`${what}: its VirtualMachine ${vmName} does not exist yet`);
  const volumes: AppVolume[] = persistentVolumes(vm).included.map((v) => ({
    name: v.name,
    claim: v.claimName,
  }));
  if (isInstance(ref))
    for (const d of (app as VMInstance).spec?.disks ?? []) {
      const volume = volumes.find((v) => v.claim === diskObjectName(d.name));
      if (volume !== undefined) volume.vmDisk = d.name;
      const disk = api.get<VMDisk>(vmDiskKind, namespace, d.name);
      if (disk !== undefined) disks.push(cleaned(disk));
    }
  if (volumes.length === 0) throw new ApplicationError(`${what} has no persistent disk to back up`);
  const vmi = api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, vmName);
  const running = vmi !== undefined && vmi.metadata.deletionTimestamp === undefined;
  const agent =
    running &&
    (vmi.status?.conditions ?? []).some(
      (c) => c.type === ConditionType.AgentConnected && c.status === 'True',
    );
  return { vmName, vm, running, agent, volumes, saved: { application: cleaned(app), disks } };
}
