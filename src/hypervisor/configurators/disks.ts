/**
 * Disks, CD-ROMs and LUNs: each spec disk joined with the file its volume became on this node. As in
 * KubeVirt, a volume without a disk of its name gets a default (virtio) disk, and a disk whose volume
 * was not prepared is left out with a warning, except a cdrom with no volume at all: an empty tray. A volume that carries an extracted kernel makes the
 * machine boot it directly.
 */
import type { Disk } from '../../api/kubevirt/domain.js';
import type { VirtualMachineInstanceSpec } from '../../api/kubevirt/vmi.js';
import type { Issues } from '../errors.js';
import type { DiskBus, DiskDevice, KernelBoot, MachineDisk } from '../machine.js';
import type { PreparedVolume } from '../prepared.js';

/** Ports of the AHCI controller built into q35 (ide.0 … ide.5). */
export const SATA_PORTS = 6;

const BUSES: readonly string[] = ['virtio', 'sata', 'scsi', 'usb'];

/** A disk to attach and the spec path it comes from. */
export interface SpecDisk {
  disk: Disk;
  at: string;
}

/** The spec's disks, plus a default disk for every volume that has none (KubeVirt's SetDefaultVolumeDisk). */
export function effectiveDisks(spec: VirtualMachineInstanceSpec, at = 'spec'): SpecDisk[] {
  const listed = spec.domain.devices.disks ?? [];
  const out: SpecDisk[] = listed.map((disk, i) => ({ disk, at: `${at}.domain.devices.disks[${i}]` }));
  const named = new Set(listed.map((d) => d.name));
  (spec.volumes ?? []).forEach((v, i) => {
    if (!named.has(v.name)) out.push({ disk: { name: v.name }, at: `${at}.volumes[${i}]` });
  });
  return out;
}

export interface DiskResult {
  disks: MachineDisk[];
  kernelBoot?: KernelBoot;
}

export function configureDisks(
  spec: VirtualMachineInstanceSpec,
  volumes: Record<string, PreparedVolume>,
  issues: Issues,
  at = 'spec',
): DiskResult {
  const disks: MachineDisk[] = [];
  let kernelBoot: KernelBoot | undefined;
  let sata = 0;
  const volumeNames = new Set((spec.volumes ?? []).map((v) => v.name));
  for (const { disk, at: path } of effectiveDisks(spec, at)) {
    const volume = volumes[disk.name];
    if (volume === undefined && disk.cdrom !== undefined && !volumeNames.has(disk.name)) {
      // As KubeVirt: a cdrom without a volume is an empty tray, filled later by hotplug.
      const target = diskTarget(disk, path, issues);
      if (target === undefined) continue;
      if (target.bus === 'sata' && ++sata > SATA_PORTS) tooManySata(target.busPath, sata, issues);
      disks.push({
        id: disk.name,
        nodeName: `drive${disks.length}`,
        path: '',
        format: 'raw',
        bus: target.bus,
        device: 'cdrom',
        readonly: true,
        empty: true,
        ...(disk.bootOrder !== undefined ? { bootOrder: disk.bootOrder } : {}),
      });
      continue;
    }
    if (volume === undefined) {
      issues.warn(
        `${path}: disk ${JSON.stringify(disk.name)} has no prepared volume; the guest starts without it`,
      );
      continue;
    }
    const target = diskTarget(disk, path, issues);
    if (target === undefined) continue;
    if (target.bus === 'sata' && ++sata > SATA_PORTS) tooManySata(target.busPath, sata, issues);
    const machineDisk: MachineDisk = {
      id: disk.name,
      nodeName: `drive${disks.length}`,
      path: volume.path,
      format: volume.format,
      bus: target.bus,
      device: target.device,
      readonly: target.readonly || volume.readonly === true,
      ...cacheAndIo(disk, path, issues),
    };
    if (disk.bootOrder !== undefined) machineDisk.bootOrder = disk.bootOrder;
    if (disk.serial !== undefined) machineDisk.serial = disk.serial;
    disks.push(machineDisk);
    if (volume.kernelBoot !== undefined) {
      if (kernelBoot !== undefined)
        issues.error(
          path,
          `Invalid value: ${JSON.stringify(disk.name)}: only one volume may provide a kernel for direct boot`,
        );
      kernelBoot = volume.kernelBoot;
    }
  }
  return kernelBoot === undefined ? { disks } : { disks, kernelBoot };
}

function tooManySata(busPath: string, sata: number, issues: Issues): void {
  issues.error(
    busPath,
    `Too many: ${sata}: the q35 SATA controller has ${SATA_PORTS} ports`,
    'FieldValueInvalid',
  );
}

interface Target {
  device: DiskDevice;
  bus: DiskBus;
  readonly: boolean;
  busPath: string;
}

function diskTarget(disk: Disk, at: string, issues: Issues): Target | undefined {
  if (disk.cdrom !== undefined) {
    // The schema already refuses virtio here; a VMI that bypassed it must still not reach QEMU.
    const bus: string = disk.cdrom.bus ?? 'sata';
    if (!isBus(bus) || bus === 'virtio') {
      issues.error(
        `${at}.cdrom.bus`,
        `Unsupported value: ${JSON.stringify(bus)}: a cdrom attaches to "sata", "scsi" or "usb"`,
        'FieldValueNotSupported',
      );
      return undefined;
    }
    return { device: 'cdrom', bus, readonly: true, busPath: `${at}.cdrom.bus` };
  }
  if (disk.lun !== undefined) {
    const bus = disk.lun.bus ?? 'scsi';
    if (bus !== 'scsi') {
      issues.error(
        `${at}.lun.bus`,
        `Unsupported value: ${JSON.stringify(bus)}: a LUN attaches to "scsi"`,
        'FieldValueNotSupported',
      );
      return undefined;
    }
    return { device: 'lun', bus, readonly: disk.lun.readonly === true, busPath: `${at}.lun.bus` };
  }
  const bus = disk.disk?.bus ?? 'virtio';
  if (!isBus(bus)) {
    issues.error(
      `${at}.disk.bus`,
      `Unsupported value: ${JSON.stringify(bus)}: supported values: "virtio", "sata", "scsi", "usb"`,
      'FieldValueNotSupported',
    );
    return undefined;
  }
  return { device: 'disk', bus, readonly: disk.disk?.readonly === true, busPath: `${at}.disk.bus` };
}

/** io=native needs O_DIRECT, which only cache=none gives; with no cache asked for, native implies none. */
function cacheAndIo(disk: Disk, at: string, issues: Issues): Pick<MachineDisk, 'cache' | 'io'> {
  const out: Pick<MachineDisk, 'cache' | 'io'> = {};
  if (disk.cache !== undefined) out.cache = disk.cache;
  if (disk.io !== undefined) out.io = disk.io;
  if (disk.io === 'native') {
    if (disk.cache === undefined) out.cache = 'none';
    else if (disk.cache !== 'none')
      issues.error(
        `${at}.io`,
        `Invalid value: "native": io native needs cache "none", not ${JSON.stringify(disk.cache)}`,
      );
  }
  return out;
}

function isBus(bus: string): bus is DiskBus {
  return BUSES.includes(bus);
}
