/**
 * A VM's disks, read and changed through the API alone: each volume of the template joined with
 * its disk device and, for persistent ones, its PersistentVolumeClaim and DataVolume (size, phase,
 * import progress). Adding a disk is a blank DataVolume plus a disk and a volume in the VM's
 * template (while the VM is stopped); resizing is a patch of the claim's storage request.
 */
import { apiVersionOf, DATAVOLUMES } from '../api/resources.js';
import type { DataVolume, PersistentVolumeClaim, VirtualMachine, Volume } from '../api/types.js';
import { isActive, nameOf, namespaceOf, type VmView } from './selectors.js';

export interface DiskRow {
  name: string;
  /** disk, cdrom or lun, with its bus. */
  device: string;
  /** What backs it: "PVC", "DataVolume", "Container disk", "Cloud-init"… */
  source: string;
  /** The image, claim or DataVolume it names. */
  ref: string;
  /** The claim behind a persistent disk, when one exists. */
  claim: PersistentVolumeClaim | undefined;
  dataVolume: DataVolume | undefined;
  size: string;
  status: string;
}

function describeSource(v: Volume): { source: string; ref: string; claimName?: string } {
  if (v.dataVolume !== undefined)
    return { source: 'DataVolume', ref: v.dataVolume.name, claimName: v.dataVolume.name };
  if (v.persistentVolumeClaim !== undefined)
    return {
      source: 'PVC',
      ref: v.persistentVolumeClaim.claimName,
      claimName: v.persistentVolumeClaim.claimName,
    };
  if (v.containerDisk !== undefined) return { source: 'Container disk', ref: v.containerDisk.image };
  if (v.cloudInitNoCloud !== undefined) return { source: 'Cloud-init (NoCloud)', ref: '' };
  if (v.cloudInitConfigDrive !== undefined) return { source: 'Cloud-init (ConfigDrive)', ref: '' };
  if (v.emptyDisk !== undefined) return { source: 'Empty disk', ref: String(v.emptyDisk.capacity) };
  if (v.secret !== undefined) return { source: 'Secret', ref: v.secret.secretName };
  if (v.configMap !== undefined) return { source: 'ConfigMap', ref: v.configMap.name };
  return { source: Object.keys(v).find((k) => k !== 'name') ?? 'unknown', ref: '' };
}

export const claimSize = (c: PersistentVolumeClaim | undefined): string =>
  c?.status?.capacity?.['storage'] ?? c?.spec.resources?.requests?.['storage'] ?? '';

/** DataVolume phase with its progress while importing ("ImportInProgress 47.30%"). */
export function dataVolumeStatus(dv: DataVolume | undefined): string {
  const phase = dv?.status?.phase;
  if (phase === undefined) return '';
  const progress = dv?.status?.progress;
  return phase !== 'Succeeded' && progress !== undefined && progress !== 'N/A'
    ? `${phase} ${progress}`
    : phase;
}

export function diskRows(
  vm: VirtualMachine,
  claims: readonly PersistentVolumeClaim[],
  dataVolumes: readonly DataVolume[],
): DiskRow[] {
  const spec = vm.spec.template.spec;
  const devices = spec?.domain.devices.disks ?? [];
  return (spec?.volumes ?? []).map((v) => {
    const d = devices.find((x) => x.name === v.name);
    const kind = d?.cdrom !== undefined ? 'cdrom' : d?.lun !== undefined ? 'lun' : 'disk';
    const bus = d?.cdrom?.bus ?? d?.disk?.bus ?? 'virtio';
    const { source, ref, claimName } = describeSource(v);
    const claim = claimName === undefined ? undefined : claims.find((c) => nameOf(c) === claimName);
    const dataVolume = claimName === undefined ? undefined : dataVolumes.find((x) => nameOf(x) === claimName);
    const status =
      claimName === undefined
        ? ''
        : dataVolume !== undefined
          ? dataVolumeStatus(dataVolume)
          : (claim?.status?.phase ?? 'Missing');
    return {
      name: v.name,
      device: `${kind} (${bus})`,
      source,
      ref,
      claim,
      dataVolume,
      size: claimSize(claim),
      status,
    };
  });
}

/** Why a disk cannot be added now, if it cannot. */
export const whyNoNewDisk = (view: VmView): string | undefined =>
  isActive(view.vmi) ? 'Stop the VM to add a disk' : undefined;

export function blankDataVolume(namespace: string, name: string, size: string): DataVolume {
  return {
    apiVersion: apiVersionOf(DATAVOLUMES),
    kind: 'DataVolume',
    metadata: { name, namespace },
    spec: { source: { blank: {} }, storage: { resources: { requests: { storage: size } } } },
  };
}

/** The VM with one more disk on the DataVolume `dataVolume`, for a PUT (resourceVersion kept). */
export function withDataVolumeDisk(vm: VirtualMachine, disk: string, dataVolume: string): VirtualMachine {
  const next = structuredClone(vm);
  const spec = next.spec.template.spec;
  if (spec === undefined) throw new Error(`VM ${namespaceOf(vm)}/${nameOf(vm)} has no template spec`);
  spec.domain.devices.disks = [...(spec.domain.devices.disks ?? []), { name: disk, disk: { bus: 'virtio' } }];
  spec.volumes = [...(spec.volumes ?? []), { name: disk, dataVolume: { name: dataVolume } }];
  return next;
}

/** The VMs whose template names the claim (directly or through a DataVolume of the same name). */
export function usersOf(claim: PersistentVolumeClaim, vms: readonly VirtualMachine[]): VirtualMachine[] {
  return vms.filter(
    (vm) =>
      namespaceOf(vm) === namespaceOf(claim) &&
      (vm.spec.template.spec?.volumes ?? []).some(
        (v) => (v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name) === nameOf(claim),
      ),
  );
}
