/**
 * Builds the VMI spec a VM runs with: its template, sized by the instance type (which wins: the
 * template may not set what it provides, admission already refused that), shaped by the
 * preference (defaults only: anything the template sets stays), plus KubeVirt's defaults for the
 * default network. Pure: the controller fetches the instance type and preference.
 */
import type { InstancetypeSpec, PreferenceSpec } from '../../api/instancetype/instancetype.js';
import type { VirtualMachineInstanceSpec } from '../../api/kubevirt/vmi.js';
import { parseQuantity } from '../../api/quantity.js';

export class ExpansionError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function expandSpec(
  template: VirtualMachineInstanceSpec,
  instancetype: InstancetypeSpec | undefined,
  preference: PreferenceSpec | undefined,
): VirtualMachineInstanceSpec {
  const spec = structuredClone(template);
  if (instancetype !== undefined) applyInstancetype(spec, instancetype, preference);
  // KubeVirt's defaults first, so the preference shapes the devices they add too.
  defaultNetwork(spec);
  defaultDisks(spec);
  if (preference !== undefined) applyPreference(spec, preference);
  if (instancetype !== undefined && preference?.requirements !== undefined)
    checkRequirements(instancetype, preference);
  return spec;
}

function applyInstancetype(
  spec: VirtualMachineInstanceSpec,
  it: InstancetypeSpec,
  pref: PreferenceSpec | undefined,
): void {
  const domain = spec.domain;
  const vcpus = it.cpu.guest;
  const topology = pref?.cpu?.preferredCPUTopology ?? 'preferSockets';
  domain.cpu = {
    ...domain.cpu,
    sockets: topology === 'preferCores' || topology === 'preferThreads' ? 1 : vcpus,
    cores: topology === 'preferCores' ? vcpus : 1,
    threads: topology === 'preferThreads' ? vcpus : 1,
    ...(it.cpu.model !== undefined ? { model: it.cpu.model } : {}),
    ...(it.cpu.dedicatedCPUPlacement !== undefined
      ? { dedicatedCpuPlacement: it.cpu.dedicatedCPUPlacement }
      : {}),
  };
  domain.memory = { ...domain.memory, guest: it.memory.guest };
  if (it.memory.hugepages !== undefined) domain.memory.hugepages = it.memory.hugepages;
  if (it.gpus !== undefined) domain.devices.gpus = [...(domain.devices.gpus ?? []), ...it.gpus];
  if (it.hostDevices !== undefined)
    domain.devices.hostDevices = [...(domain.devices.hostDevices ?? []), ...it.hostDevices];
  if (it.nodeSelector !== undefined) spec.nodeSelector = { ...it.nodeSelector, ...spec.nodeSelector };
}

function applyPreference(spec: VirtualMachineInstanceSpec, pref: PreferenceSpec): void {
  const devices = spec.domain.devices;
  const p = pref.devices ?? {};
  for (const disk of devices.disks ?? []) {
    if (disk.disk !== undefined && disk.disk.bus === undefined && p.preferredDiskBus !== undefined) {
      disk.disk.bus = p.preferredDiskBus as 'virtio' | 'sata' | 'scsi' | 'usb';
    }
    if (disk.cdrom !== undefined && disk.cdrom.bus === undefined && p.preferredCdromBus !== undefined) {
      disk.cdrom.bus = p.preferredCdromBus as 'sata' | 'scsi' | 'usb';
    }
    if (
      disk.disk === undefined &&
      disk.cdrom === undefined &&
      disk.lun === undefined &&
      p.preferredDiskBus !== undefined
    ) {
      disk.disk = { bus: p.preferredDiskBus as 'virtio' | 'sata' | 'scsi' | 'usb' };
    }
  }
  for (const nic of devices.interfaces ?? []) {
    if (nic.model === undefined && p.preferredInterfaceModel !== undefined)
      nic.model = p.preferredInterfaceModel;
  }
  if (p.preferredRng !== undefined && devices.rng === undefined) devices.rng = {};
  if (p.preferredAutoattachGraphicsDevice !== undefined)
    devices.autoattachGraphicsDevice ??= p.preferredAutoattachGraphicsDevice;
  if (p.preferredAutoattachMemBalloon !== undefined)
    devices.autoattachMemBalloon ??= p.preferredAutoattachMemBalloon;
  if (p.preferredAutoattachSerialConsole !== undefined)
    devices.autoattachSerialConsole ??= p.preferredAutoattachSerialConsole;
  const fw = pref.firmware;
  if (fw !== undefined && spec.domain.firmware?.bootloader === undefined) {
    if (fw.preferredUseEfi === true) {
      spec.domain.firmware = {
        ...spec.domain.firmware,
        bootloader: { efi: { secureBoot: fw.preferredUseSecureBoot ?? false } },
      };
    } else if (fw.preferredUseBios === true) {
      spec.domain.firmware = {
        ...spec.domain.firmware,
        bootloader: { bios: { useSerial: fw.preferredUseBiosSerial ?? false } },
      };
    }
  }
  if (pref.machine?.preferredMachineType !== undefined && spec.domain.machine?.type === undefined) {
    spec.domain.machine = { type: pref.machine.preferredMachineType };
  }
  if (pref.preferredTerminationGracePeriodSeconds !== undefined) {
    spec.terminationGracePeriodSeconds ??= pref.preferredTerminationGracePeriodSeconds;
  }
  if (pref.preferredSubdomain !== undefined) spec.subdomain ??= pref.preferredSubdomain;
}

/** KubeVirt's default: a VMI with no NIC gets one masquerade NIC on the pod network; a NIC with no network joins it. */
function defaultNetwork(spec: VirtualMachineInstanceSpec): void {
  const devices = spec.domain.devices;
  const interfaces = devices.interfaces ?? [];
  const networks = spec.networks ?? [];
  if (interfaces.length === 0 && networks.length === 0) {
    if (devices.autoattachPodInterface === false) return;
    devices.interfaces = [{ name: 'default', masquerade: {} }];
    spec.networks = [{ name: 'default', pod: {} }];
    return;
  }
  if (networks.length === 0)
    spec.networks = interfaces.map((nic) => ({ name: nic.name, pod: {} })).slice(0, 1);
}

/** A volume with no disk gets one (KubeVirt attaches every volume). */
function defaultDisks(spec: VirtualMachineInstanceSpec): void {
  const disks = spec.domain.devices.disks ?? [];
  const named = new Set(disks.map((d) => d.name));
  const missing = (spec.volumes ?? []).filter((v) => !named.has(v.name));
  if (missing.length > 0)
    spec.domain.devices.disks = [...disks, ...missing.map((v) => ({ name: v.name, disk: {} }))];
}

function checkRequirements(it: InstancetypeSpec, pref: PreferenceSpec): void {
  const needCpu = pref.requirements?.cpu?.guest;
  if (needCpu !== undefined && it.cpu.guest < needCpu) {
    throw new ExpansionError(
      'spec.instancetype',
      `insufficient CPU resources: the preference requires ${needCpu} vCPU, the instance type provides ${it.cpu.guest}`,
    );
  }
  const needMem = pref.requirements?.memory?.guest;
  const needBytes = needMem === undefined ? undefined : parseQuantity(needMem)?.value;
  const haveBytes = parseQuantity(it.memory.guest)?.value;
  if (needBytes !== undefined && haveBytes !== undefined && haveBytes < needBytes) {
    throw new ExpansionError(
      'spec.instancetype',
      `insufficient memory: the preference requires ${String(needMem)}, the instance type provides ${String(it.memory.guest)}`,
    );
  }
}
