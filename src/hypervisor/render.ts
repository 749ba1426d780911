/**
 * QemuMachine → argv for qemu-system-x86_64 (without the program name). Deterministic: the same
 * machine always gives the same list in the same order, so golden tests can pin it. Nothing here
 * starts QEMU; the node agent does, through its own port.
 *
 * The process is headless and self-contained: -nodefaults/-no-user-config so only what is listed
 * exists, `-display none` always (otherwise QEMU without a GUI falls back to a VNC server on TCP
 * :5900), every console on a unix socket, and -daemonize with -pidfile so QEMU outlives the agent
 * that started it and can be re-attached over QMP.
 */
import type { MachineNic, NicModel, QemuMachine } from './machine.js';
import { escapeOpt, optName, opts, type OptValue } from './qemu-opts.js';
import { renderControllers, renderDisks, renderFirmwareBlockdevs, USB_CONTROLLER } from './render-disks.js';

/** TCG's translation cache in MiB; QEMU's default is far larger, and 32 saves 18–37 MB per small guest. */
export const TCG_TB_SIZE_MIB = 32;
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

const MiB = 2 ** 20;
const NIC_DEVICES: Record<NicModel, string> = {
  virtio: 'virtio-net-pci',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
};

export function renderArgv(m: QemuMachine): string[] {
  return [
    ...renderIdentity(m),
    ...renderMachine(m),
    ...renderBoot(m),
    ...renderConsoles(m),
    ...renderControllers(m),
    ...renderDisks(m),
    ...m.nics.flatMap(renderNic),
    ...renderDevices(m),
    ...renderProcess(m),
  ];
}

function renderIdentity(m: QemuMachine): string[] {
  const name = opts(undefined, { guest: m.name, 'debug-threads': true });
  return ['-name', name, '-uuid', m.uuid, '-nodefaults', '-no-user-config'];
}

function renderMachine(m: QemuMachine): string[] {
  const efi = m.firmware.kind === 'efi';
  const secure = m.firmware.kind === 'efi' && m.firmware.secureBoot;
  const machine = opts(optName(m.machineType, 'machine.machineType'), {
    smm: secure ? true : undefined,
    pflash0: efi ? 'efi-code' : undefined,
    pflash1: efi ? 'efi-vars' : undefined,
  });
  const accel = m.accel === 'tcg' ? opts('tcg', { 'tb-size': TCG_TB_SIZE_MIB }) : 'kvm';
  const { cpu } = m;
  // prettier-ignore
  return [
    '-machine', machine,
    '-accel', accel,
    '-cpu', [optName(cpu.model, 'machine.cpu.model'), ...cpu.features.map(cpuFlag)].join(','),
    '-smp', opts(undefined, { sockets: cpu.sockets, cores: cpu.cores, threads: cpu.threads }),
    '-m', `${Math.ceil(m.memoryBytes / MiB)}M`,
    ...renderFirmwareBlockdevs(m),
    '-smbios', opts('type=1', { serial: m.smbios.serial, uuid: m.smbios.uuid }),
  ];
}

/** `+name` or `-name`: the sign, then a name that selects a CPU property. */
function cpuFlag(flag: string, i: number): string {
  const sign = flag.startsWith('-') ? '-' : '+';
  return `${sign}${optName(flag.replace(/^[+-]/, ''), `machine.cpu.features[${i}]`)}`;
}

function renderBoot(m: QemuMachine): string[] {
  const argv: string[] = [];
  if (m.kernelBoot !== undefined) {
    argv.push('-kernel', m.kernelBoot.kernel);
    if (m.kernelBoot.initrd !== undefined) argv.push('-initrd', m.kernelBoot.initrd);
    if (m.kernelBoot.cmdline !== undefined) argv.push('-append', m.kernelBoot.cmdline);
  }
  // With any boot order given, only the devices that have one are tried (KubeVirt's rule).
  const bootOrders = [...m.disks, ...m.nics].some((d) => d.bootOrder !== undefined);
  if (bootOrders) argv.push('-boot', 'strict=on');
  return argv;
}

function renderConsoles(m: QemuMachine): string[] {
  const argv = ['-display', 'none'];
  if (m.vnc === undefined) argv.push('-vga', 'none');
  else argv.push('-device', opts('VGA', { id: 'video0' }), '-vnc', `unix:${escapeOpt(m.vnc.socket)}`);
  const serial = socketChardev('serial0', m.serial.socket, { logfile: m.serial.logfile, logappend: true });
  const qmp = opts(`unix:${escapeOpt(m.qmp.socket)}`, { server: true, wait: false });
  argv.push('-chardev', serial, '-serial', 'chardev:serial0', '-qmp', qmp);
  if (m.guestAgent !== undefined) {
    const port = opts('virtserialport', {
      bus: 'virtio-serial0.0',
      chardev: 'qga0',
      name: GUEST_AGENT_CHANNEL,
    });
    argv.push('-device', opts('virtio-serial-pci', { id: 'virtio-serial0' }));
    argv.push('-chardev', socketChardev('qga0', m.guestAgent.socket), '-device', port);
  }
  return argv;
}

function socketChardev(id: string, path: string, extra: Record<string, OptValue> = {}): string {
  return opts('socket', { id, path, server: true, wait: false, ...extra });
}

export function nicDeviceId(nic: Pick<MachineNic, 'id'>): string {
  return `nic-${nic.id}`;
}

function renderNic(nic: MachineNic): string[] {
  const id = `netdev-${nic.id}`;
  const b = nic.backend;
  const backend =
    b.kind === 'user'
      ? opts('user', {
          id,
          restrict: b.restrict,
          net: b.net,
          hostfwd: b.hostForwards.map((f) => `${f.protocol}:${f.hostAddress}:${f.hostPort}-:${f.guestPort}`),
        })
      : opts('tap', { id, ifname: b.ifname, script: 'no', downscript: 'no' });
  const device = opts(NIC_DEVICES[nic.model], {
    id: nicDeviceId(nic),
    netdev: id,
    mac: nic.mac,
    bootindex: nic.bootOrder,
    // No PXE option ROM unless the NIC is meant to boot (as KubeVirt): less memory, no ipxe files needed.
    romfile: nic.bootOrder === undefined ? '' : undefined,
  });
  return ['-netdev', backend, '-device', device];
}

function renderDevices(m: QemuMachine): string[] {
  const argv: string[] = [];
  if (m.rng) {
    argv.push('-object', opts('rng-random', { id: 'rng0', filename: '/dev/urandom' }));
    argv.push('-device', opts('virtio-rng-pci', { id: 'rng-dev0', rng: 'rng0' }));
  }
  if (m.balloon) argv.push('-device', opts('virtio-balloon-pci', { id: 'balloon0' }));
  if (m.tablet) argv.push('-device', opts('usb-tablet', { id: 'tablet0', bus: `${USB_CONTROLLER}.0` }));
  return argv;
}

/**
 * QEMU's seccomp filter, so a guest that escapes into QEMU (which runs as root) cannot call the
 * obsolete system calls or change scheduling and resource limits. `spawn=deny` and
 * `elevateprivileges=deny` are left off: -daemonize forks and calls setsid after the filter is in
 * place, and QEMU then dies of SIGSYS.
 */
export const QEMU_SANDBOX = 'on,obsolete=deny,resourcecontrol=deny';

function renderProcess(m: QemuMachine): string[] {
  const argv = ['-sandbox', QEMU_SANDBOX, '-pidfile', m.pidfile, '-daemonize'];
  if (m.startPaused) argv.push('-S');
  if (m.noReboot) argv.push('-no-reboot');
  return argv;
}
