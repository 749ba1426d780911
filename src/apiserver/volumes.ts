/**
 * KubeVirt's volume subresources on a VM: `PUT …/virtualmachines/NAME/addvolume` with
 * AddVolumeOptions (`name`, `disk`, `volumeSource` with a persistentVolumeClaim or dataVolume) adds
 * the disk and its volume to the VM's template, `…/removevolume` with `{name}` takes them out, so
 * `virtctl addvolume|removevolume` and `hikube disk attach|detach` change which disks the next
 * start has. Hotplug into a running guest is not done here: while the VM's instance runs the
 * request is refused (409) with what to do instead.
 */
import { persistentVolumeClaimKind } from '../api/core/core.js';
import type { FieldError } from '../api/kind.js';
import { virtualMachineKind, type VirtualMachine } from '../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { ApiError } from './errors.js';
import type { Registry } from './registry.js';
import type { Subresource, SubresourceRequest } from './subresources.js';

interface Disk {
  name: string;
  [k: string]: unknown;
}
interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; hotpluggable?: boolean };
  dataVolume?: { name: string; hotpluggable?: boolean };
  [k: string]: unknown;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BUSES = ['virtio', 'sata', 'scsi', 'usb'];

export function volumeSubresources(registry: Registry): Subresource[] {
  const sub = (name: string, run: (r: SubresourceRequest) => void): Subresource => ({
    group: 'subresources.kubevirt.io',
    version: 'v1',
    resource: 'virtualmachines',
    name,
    handle: (r) => {
      run(r);
      return Promise.resolve(undefined);
    },
  });
  return [
    sub('addvolume', (r) => addVolume(registry, r)),
    sub('removevolume', (r) => removeVolume(registry, r)),
  ];
}

function stoppedVm(registry: Registry, r: SubresourceRequest, verb: string): VirtualMachine {
  const vm = structuredClone(
    registry.get(virtualMachineKind, r.namespace, r.name).object,
  ) as unknown as VirtualMachine;
  let vmi: VirtualMachineInstance | undefined;
  try {
    vmi = registry.get(virtualMachineInstanceKind, r.namespace, r.name)
      .object as unknown as VirtualMachineInstance;
  } catch {
    vmi = undefined;
  }
  if (vmi !== undefined && vmi.status?.phase !== 'Succeeded' && vmi.status?.phase !== 'Failed')
    throw new ApiError(
      'Conflict',
      `Unable to ${verb} volume on virtualmachine.kubevirt.io "${r.name}": its instance is running (hotplug into a running guest is not supported here); stop the VM first`,
    );
  return vm;
}

const isDryRun = (r: SubresourceRequest): boolean =>
  Array.isArray(r.body['dryRun']) && (r.body['dryRun'] as unknown[]).includes('All');

function addVolume(registry: Registry, r: SubresourceRequest): void {
  const causes: FieldError[] = [];
  const name = r.body['name'];
  const disk = r.body['disk'] as Record<string, unknown> | undefined;
  const source = (r.body['volumeSource'] ?? {}) as {
    persistentVolumeClaim?: { claimName?: unknown };
    dataVolume?: { name?: unknown };
  };
  if (typeof name !== 'string' || name === '')
    causes.push({ path: 'name', reason: 'FieldValueRequired', message: 'Required value' });
  else if (!DNS_LABEL.test(name))
    causes.push({
      path: 'name',
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a DNS label`,
    });
  const sources = [source.persistentVolumeClaim, source.dataVolume].filter((s) => s !== undefined);
  if (sources.length !== 1)
    causes.push({
      path: 'volumeSource',
      reason: 'FieldValueRequired',
      message: 'exactly one of persistentVolumeClaim and dataVolume must be set',
    });
  const claim = source.persistentVolumeClaim?.claimName ?? source.dataVolume?.name;
  if (sources.length === 1 && (typeof claim !== 'string' || claim === ''))
    causes.push({
      path:
        source.persistentVolumeClaim !== undefined
          ? 'volumeSource.persistentVolumeClaim.claimName'
          : 'volumeSource.dataVolume.name',
      reason: 'FieldValueRequired',
      message: 'Required value',
    });
  const bus = (disk?.['disk'] as { bus?: unknown } | undefined)?.bus;
  if (bus !== undefined && (typeof bus !== 'string' || !BUSES.includes(bus)))
    causes.push({
      path: 'disk.disk.bus',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(bus)}: supported values: ${BUSES.map((b) => `"${b}"`).join(', ')}`,
    });
  if (causes.length > 0)
    throw new ApiError('Invalid', `AddVolumeOptions for virtualmachine "${r.name}" is invalid`, { causes });
  const volumeName = name as string;
  const vm = stoppedVm(registry, r, 'add');
  const spec = vm.spec.template.spec as { domain: { devices: { disks?: Disk[] } }; volumes?: Volume[] };
  const volumes = spec.volumes ?? [];
  const disks = spec.domain.devices.disks ?? [];
  if (volumes.some((v) => v.name === volumeName) || disks.some((d) => d.name === volumeName))
    throw new ApiError(
      'Conflict',
      `Unable to add volume [${volumeName}] because volume with that name already exists`,
    );
  if (volumes.some((v) => (v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name) === claim))
    throw new ApiError(
      'Conflict',
      `Unable to add volume source [${String(claim)}] because it already exists`,
    );
  try {
    registry.get(persistentVolumeClaimKind, r.namespace, String(claim));
  } catch {
    throw new ApiError('NotFound', `persistentvolumeclaims "${String(claim)}" not found`);
  }
  spec.domain.devices.disks = [...disks, { disk: {}, ...disk, name: volumeName }];
  spec.volumes = [
    ...volumes,
    source.dataVolume !== undefined
      ? { name: volumeName, dataVolume: { name: String(claim) } }
      : { name: volumeName, persistentVolumeClaim: { claimName: String(claim) } },
  ];
  if (!isDryRun(r)) registry.update(virtualMachineKind, r.namespace, r.name, vm);
}

function removeVolume(registry: Registry, r: SubresourceRequest): void {
  const name = r.body['name'];
  if (typeof name !== 'string' || name === '')
    throw new ApiError('Invalid', `RemoveVolumeOptions for virtualmachine "${r.name}" is invalid`, {
      causes: [{ path: 'name', reason: 'FieldValueRequired', message: 'Required value' }],
    });
  const vm = stoppedVm(registry, r, 'remove');
  const spec = vm.spec.template.spec as { domain: { devices: { disks?: Disk[] } }; volumes?: Volume[] };
  const volume = (spec.volumes ?? []).find((v) => v.name === name);
  if (volume === undefined || (volume.persistentVolumeClaim === undefined && volume.dataVolume === undefined))
    throw new ApiError('NotFound', `Unable to remove volume [${name}] because it does not exist`);
  spec.volumes = (spec.volumes ?? []).filter((v) => v.name !== name);
  spec.domain.devices.disks = (spec.domain.devices.disks ?? []).filter((d) => d.name !== name);
  if (!isDryRun(r)) registry.update(virtualMachineKind, r.namespace, r.name, vm);
}
