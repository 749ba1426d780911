/**
 * Representative VMIs and the resources a node agent would have prepared for them, shared by the
 * golden argv tests and by the end-to-end test that starts QEMU with the same argv.
 */
import type { VirtualMachineInstance, VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import type { HostFacts, PreparedResources, RuntimePaths } from '../../../src/hypervisor/prepared.js';

export const RUN_DIR = '/run/hikube/vms';

export function vmi(
  name: string,
  spec: VirtualMachineInstanceSpec,
  namespace = 'default',
): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace, uid: `uid-of-${name}` },
    spec,
  };
}

export function runtimePaths(dir: string): RuntimePaths {
  return {
    dir,
    qmp: `${dir}/qmp.sock`,
    serial: `${dir}/serial.sock`,
    serialLog: `${dir}/serial.log`,
    vnc: `${dir}/vnc.sock`,
    guestAgent: `${dir}/qga.sock`,
    pidfile: `${dir}/qemu.pid`,
    efiVars: `${dir}/OVMF_VARS.fd`,
  };
}

export interface Fixture {
  vmi: VirtualMachineInstance;
  /** Resources prepared under `dir` (the VM's runtime directory). */
  prepared: (dir: string) => PreparedResources;
  host: HostFacts;
}

const tcg: HostFacts = { accel: 'tcg' };

/** A busybox-sized guest booted from an extracted kernel, with a NoCloud ISO, no display, fenced network. */
export const tiny: Fixture = {
  vmi: vmi('tiny', {
    domain: {
      resources: { requests: { memory: '96Mi' } },
      devices: {
        disks: [
          { name: 'rootfs', disk: { bus: 'virtio' } },
          { name: 'cloudinit', disk: { bus: 'virtio' } },
        ],
        interfaces: [{ name: 'default', masquerade: {} }],
        autoattachGraphicsDevice: false,
        autoattachMemBalloon: false,
        rng: {},
      },
    },
    networks: [{ name: 'default', pod: {} }],
    volumes: [
      { name: 'rootfs', containerDisk: { image: 'registry:5000/tiny:1' } },
      { name: 'cloudinit', cloudInitNoCloud: { userData: '#cloud-config\n' } },
    ],
  }),
  prepared: (dir) => ({
    paths: runtimePaths(dir),
    volumes: {
      rootfs: {
        path: `${dir}/rootfs.qcow2`,
        format: 'qcow2',
        kernelBoot: {
          kernel: `${dir}/vmlinux`,
          initrd: `${dir}/initrd.img`,
          cmdline: 'console=ttyS0 root=/dev/vda rw panic=-1',
        },
      },
      cloudinit: { path: `${dir}/cloudinit.iso`, format: 'raw', readonly: true },
    },
    macs: { default: '02:00:00:00:00:01' },
    backends: { default: { kind: 'user', restrict: true, hostForwards: [], net: '10.0.2.0/24' } },
    noReboot: true,
  }),
  host: tcg,
};

/** examples/dev-vm.yaml's template: containerdisk + cloud-init on virtio, 2 vCPUs, 4Gi, default pod interface. */
export const devVm: Fixture = {
  vmi: vmi('dev-vm', {
    domain: {
      devices: {
        disks: [
          { name: 'containerdisk', disk: {} },
          { name: 'cloudinitdisk', disk: {} },
        ],
      },
      resources: { requests: { memory: '4Gi', cpu: 2 }, limits: { memory: '4Gi', cpu: 2 } },
    },
    volumes: [
      { name: 'containerdisk', containerDisk: { image: 'ubuntu:20.04' } },
      {
        name: 'cloudinitdisk',
        cloudInitNoCloud: { userData: '#cloud-config\npassword: password\nchpasswd:\n  expire: False\n' },
      },
    ],
  }),
  prepared: (dir) => ({
    paths: runtimePaths(dir),
    volumes: {
      containerdisk: { path: `${dir}/containerdisk.qcow2`, format: 'qcow2' },
      cloudinitdisk: { path: `${dir}/cloudinit.iso`, format: 'raw' },
    },
    macs: { default: '02:00:00:00:00:02' },
    backends: { default: { kind: 'user', restrict: false, hostForwards: [] } },
  }),
  host: tcg,
};

/** An installer: EFI (secure boot by default), a SATA CD-ROM booted second, a SATA root disk booted first. */
export const efiInstaller: Fixture = {
  vmi: vmi(
    'installer',
    {
      domain: {
        firmware: { bootloader: { efi: {} } },
        resources: { requests: { memory: '1Gi', cpu: '500m' } },
        devices: {
          disks: [
            { name: 'iso', cdrom: { bus: 'sata' }, bootOrder: 2 },
            {
              name: 'root',
              disk: { bus: 'sata' },
              bootOrder: 1,
              serial: 'ROOT-0001',
              cache: 'none',
              io: 'native',
            },
          ],
          interfaces: [{ name: 'default', masquerade: {}, model: 'e1000e', macAddress: '02:AA:BB:CC:DD:EE' }],
        },
      },
      networks: [{ name: 'default', pod: {} }],
      volumes: [
        { name: 'iso', persistentVolumeClaim: { claimName: 'debian-iso' } },
        { name: 'root', persistentVolumeClaim: { claimName: 'installer-root' } },
      ],
    },
    'lab',
  ),
  prepared: (dir) => ({
    paths: runtimePaths(dir),
    volumes: {
      iso: { path: `${dir}/debian.iso`, format: 'raw' },
      root: { path: `${dir}/root.qcow2`, format: 'qcow2' },
    },
    macs: {},
    backends: { default: { kind: 'user', restrict: false, hostForwards: [] } },
  }),
  host: tcg,
};

/** An explicit topology under KVM, with SCSI, LUN and USB disks, a USB CD-ROM and a tap. */
export const topology: Fixture = {
  vmi: vmi('topo', {
    domain: {
      cpu: { sockets: 1, cores: 2, threads: 2, model: 'host-passthrough' },
      memory: { guest: '2Gi' },
      resources: { requests: { cpu: 8, memory: '3Gi' } },
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'scsi' }, cache: 'writethrough' },
          { name: 'data', lun: {} },
          { name: 'stick', disk: { bus: 'usb' }, serial: 'USB1' },
          { name: 'tools', cdrom: { bus: 'usb' } },
        ],
        interfaces: [{ name: 'lan', bridge: {}, model: 'virtio' }],
        autoattachGraphicsDevice: false,
      },
    },
    networks: [{ name: 'lan', multus: { networkName: 'lan' } }],
    volumes: [
      { name: 'root', dataVolume: { name: 'topo-root' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'topo-data' } },
      { name: 'stick', emptyDisk: { capacity: '1Gi' } },
      { name: 'tools', containerDisk: { image: 'registry:5000/tools:1' } },
    ],
  }),
  prepared: (dir) => ({
    paths: runtimePaths(dir),
    volumes: {
      root: { path: `${dir}/root.qcow2`, format: 'qcow2' },
      data: { path: `${dir}/data.raw`, format: 'raw' },
      stick: { path: `${dir}/stick.raw`, format: 'raw' },
      tools: { path: `${dir}/tools.iso`, format: 'raw' },
    },
    macs: { lan: '02:00:00:00:00:04' },
    backends: { lan: { kind: 'tap', ifname: 'hk-topo-lan' } },
  }),
  host: { accel: 'kvm' },
};

/** A masquerade NIC whose ports the network component forwarded from loopback, and a NIC that PXE-boots. */
export const forwarded: Fixture = {
  vmi: vmi('web', {
    domain: {
      resources: { requests: { memory: '512Mi' } },
      devices: {
        disks: [{ name: 'root', disk: {}, bootOrder: 1 }],
        interfaces: [
          {
            name: 'default',
            masquerade: {},
            ports: [{ name: 'ssh', port: 22 }, { port: 80 }, { protocol: 'UDP', port: 53 }],
          },
          { name: 'pxe', bridge: {}, model: 'virtio', bootOrder: 2, macAddress: '02:00:00:00:00:06' },
        ],
        autoattachGraphicsDevice: false,
      },
    },
    networks: [
      { name: 'default', pod: {} },
      { name: 'pxe', multus: { networkName: 'pxe' } },
    ],
    volumes: [{ name: 'root', containerDisk: { image: 'registry:5000/web:1' } }],
  }),
  prepared: (dir) => ({
    paths: runtimePaths(dir),
    volumes: { root: { path: `${dir}/root.qcow2`, format: 'qcow2' } },
    macs: { default: '02:00:00:00:00:05' },
    backends: {
      default: {
        kind: 'user',
        restrict: true,
        net: '10.0.2.0/24',
        hostForwards: [
          { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 40022, guestPort: 22 },
          { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 40080, guestPort: 80 },
          { protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 40053, guestPort: 53 },
        ],
      },
      pxe: { kind: 'user', restrict: true, hostForwards: [] },
    },
  }),
  host: tcg,
};

/** startStrategy Paused, with a fixed firmware UUID and serial and an explicit tablet. */
export const paused: Fixture = {
  vmi: vmi('paused', {
    startStrategy: 'Paused',
    domain: {
      firmware: { uuid: '5D307CA9-B3EF-428C-8861-06E72D69F223', serial: 'SN-0042,A' },
      resources: { limits: { memory: '256Mi', cpu: '1500m' } },
      devices: {
        disks: [{ name: 'root', disk: {} }],
        inputs: [{ name: 'tablet', type: 'tablet', bus: 'usb' }],
        autoattachInputDevice: false,
      },
    },
    volumes: [{ name: 'root', containerDisk: { image: 'registry:5000/tiny:1' } }],
  }),
  prepared: (dir) => ({
    paths: runtimePaths(dir),
    volumes: { root: { path: `${dir}/root.qcow2`, format: 'qcow2' } },
    macs: { default: '02:00:00:00:00:07' },
    backends: { default: { kind: 'user', restrict: true, hostForwards: [] } },
  }),
  host: tcg,
};

export const FIXTURES = { tiny, devVm, efiInstaller, topology, forwarded, paused } as const;
