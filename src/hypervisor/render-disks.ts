/**
 * Disks as QEMU sees them: for each disk a protocol node (the file) and a format node (qcow2/raw)
 * defined with -blockdev, then a front-end device on its bus. Node names are `drive<N>-file` and
 * `drive<N>` (QEMU caps node names at 31 characters, too short for spec names); device ids are
 * `disk-<name>`, which is what query-block reports as qdev.
 */
import type { DiskCache, MachineDisk, QemuMachine } from './machine.js';
import { opts } from './qemu-opts.js';

export const SCSI_CONTROLLER = 'scsi0';
export const USB_CONTROLLER = 'usb';

export function diskDeviceId(disk: Pick<MachineDisk, 'id'>): string {
  return `disk-${disk.id}`;
}

/** Controllers the disks (and the tablet) hang off; q35's built-in AHCI serves sata. */
export function renderControllers(m: QemuMachine): string[] {
  const argv: string[] = [];
  if (m.disks.some((d) => d.bus === 'scsi'))
    argv.push('-device', opts('virtio-scsi-pci', { id: SCSI_CONTROLLER }));
  const usb = m.tablet || m.disks.some((d) => d.bus === 'usb');
  if (usb) argv.push('-device', opts('qemu-xhci', { id: USB_CONTROLLER }));
  return argv;
}

export function renderDisks(m: QemuMachine): string[] {
  const argv: string[] = [];
  let sataPort = 0;
  for (const disk of m.disks) {
    if (disk.empty !== true) argv.push(...renderBlockdev(disk));
    const cdrom = disk.device === 'cdrom';
    let driver: string;
    let bus: string | undefined;
    switch (disk.bus) {
      case 'virtio':
        driver = 'virtio-blk-pci';
        break;
      case 'sata':
        [driver, bus] = [cdrom ? 'ide-cd' : 'ide-hd', `ide.${sataPort++}`];
        break;
      case 'scsi':
        [driver, bus] = [cdrom ? 'scsi-cd' : 'scsi-hd', `${SCSI_CONTROLLER}.0`];
        break;
      case 'usb':
        if (cdrom) {
          // usb-storage only emulates a disk: a USB CD-ROM is a SCSI CD behind a USB bulk-only transport.
          const bot = `usbbot-${disk.id}`;
          argv.push('-device', opts('usb-bot', { id: bot, bus: `${USB_CONTROLLER}.0` }));
          [driver, bus] = ['scsi-cd', `${bot}.0`];
        } else {
          [driver, bus] = ['usb-storage', `${USB_CONTROLLER}.0`];
        }
        break;
    }
    argv.push(
      '-device',
      opts(driver, {
        id: diskDeviceId(disk),
        bus,
        drive: disk.empty === true ? undefined : disk.nodeName,
        bootindex: disk.bootOrder,
        serial: disk.serial,
        'write-cache': writeCache(disk.cache),
        // KubeVirt's error policy: a failing write or read pauses the guest (reported as
        // PausedIOError) rather than handing it an I/O error that may corrupt its filesystem.
        werror: cdrom ? undefined : 'stop',
        rerror: cdrom ? undefined : 'stop',
      }),
    );
  }
  return argv;
}

function renderBlockdev(disk: MachineDisk): string[] {
  const file = `${disk.nodeName}-file`;
  // libvirt's mapping: cache none bypasses the host page cache (O_DIRECT).
  const direct = disk.cache === undefined ? undefined : disk.cache === 'none';
  const common = { 'read-only': disk.readonly, 'cache.direct': direct };
  return [
    '-blockdev',
    opts(undefined, { driver: 'file', 'node-name': file, filename: disk.path, ...common, aio: disk.io }),
    '-blockdev',
    opts(undefined, { driver: disk.format, 'node-name': disk.nodeName, file, ...common }),
  ];
}

/** writethrough: the guest sees a cache that writes through; none and writeback: a write-back cache it must flush. */
function writeCache(cache: DiskCache | undefined): boolean | undefined {
  return cache === undefined ? undefined : cache !== 'writethrough';
}

/** The OVMF code (read-only) and per-VM variable store, mapped as the machine's pflash0 and pflash1. */
export function renderFirmwareBlockdevs(m: QemuMachine): string[] {
  if (m.firmware.kind !== 'efi') return [];
  const argv: string[] = [];
  if (m.firmware.secureBoot) argv.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
  for (const [node, path, readonly] of [
    ['efi-code', m.firmware.code, true],
    ['efi-vars', m.firmware.vars, false],
  ] as const) {
    const file = `${node}-file`;
    argv.push(
      '-blockdev',
      opts(undefined, { driver: 'file', 'node-name': file, filename: path, 'read-only': readonly }),
    );
    argv.push(
      '-blockdev',
      opts(undefined, { driver: 'raw', 'node-name': node, file, 'read-only': readonly }),
    );
  }
  return argv;
}
