/**
 * The QEMU machine as data: everything one guest's QEMU process is started with, decided by the
 * configurators (configurators/*.ts) from a VMI and rendered to argv by render.ts. Keeping the
 * decisions in a plain value makes them testable without QEMU and keeps argv order in one place.
 */

export type Accel = 'kvm' | 'tcg';
export type DiskFormat = 'qcow2' | 'raw';
export type DiskBus = 'virtio' | 'sata' | 'scsi' | 'usb';
export type DiskDevice = 'disk' | 'cdrom' | 'lun';
export type DiskCache = 'none' | 'writethrough' | 'writeback';
export type DiskIo = 'native' | 'threads';
export type NicModel = 'virtio' | 'e1000' | 'e1000e' | 'rtl8139';

export interface CpuConfig {
  /** QEMU `-cpu` model: `host` (KVM only), `max`, or a named model such as `Skylake-Client`. */
  model: string;
  /** Feature flags appended to the model, each `+name` or `-name`. */
  features: string[];
  sockets: number;
  cores: number;
  threads: number;
}

export type Firmware =
  | { kind: 'bios' }
  /** `code` is the shared read-only OVMF image; `vars` the per-VM writable copy of the variable store. */
  | { kind: 'efi'; code: string; vars: string; secureBoot: boolean };

export interface KernelBoot {
  kernel: string;
  initrd?: string;
  cmdline?: string;
}

export interface MachineDisk {
  /** The disk's name in the VMI spec; the QEMU device id is `disk-<id>`. */
  id: string;
  /** Block node name of the format layer (`drive<N>`), as QMP's blockdev-* commands need it. */
  nodeName: string;
  /** The image file; '' for an empty CD-ROM tray (`empty`). */
  path: string;
  format: DiskFormat;
  bus: DiskBus;
  device: DiskDevice;
  readonly: boolean;
  bootOrder?: number;
  serial?: string;
  cache?: DiskCache;
  io?: DiskIo;
  /** A CD-ROM with no medium (a cdrom disk without a volume): the drive is there, the tray empty. */
  empty?: boolean;
}

export interface HostForward {
  protocol: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: number;
  guestPort: number;
}

/** Where a NIC's frames go on the host; prepared by the network component, not derived from the spec. */
export type NicBackend =
  | {
      kind: 'user';
      /** restrict=on: the guest reaches nothing outside; only host forwards reach it. */
      restrict: boolean;
      hostForwards: HostForward[];
      /** Guest subnet, e.g. `10.0.2.0/24`. */
      net?: string;
    }
  | { kind: 'tap'; ifname: string };

export interface MachineNic {
  /** The interface's name in the VMI spec; the QEMU device id is `nic-<id>`, the netdev `netdev-<id>`. */
  id: string;
  mac: string;
  model: NicModel;
  bootOrder?: number;
  backend: NicBackend;
}

export interface QemuMachine {
  /** `namespace/name`: shown by ps (`-name guest=…`) and in QMP. */
  name: string;
  uuid: string;
  accel: Accel;
  machineType: string;
  cpu: CpuConfig;
  memoryBytes: number;
  firmware: Firmware;
  kernelBoot?: KernelBoot;
  disks: MachineDisk[];
  nics: MachineNic[];
  serial: { socket: string; logfile: string };
  /** VNC on a unix socket, with a VGA card; absent: no display device at all. */
  vnc?: { socket: string };
  qmp: { socket: string };
  guestAgent?: { socket: string };
  rng: boolean;
  balloon: boolean;
  /** A USB tablet, so that the VNC pointer tracks absolutely. */
  tablet: boolean;
  pidfile: string;
  smbios: { serial?: string; uuid: string };
  startPaused: boolean;
  /** Exit instead of resetting when the guest reboots. */
  noReboot: boolean;
  /** What the configurators left out, for the VMI's events; rendering ignores it. */
  warnings: string[];
}
