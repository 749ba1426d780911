/**
 * What the node agent hands to buildMachine besides the VMI: files and network backends it has
 * already created (overlays, cloud-init ISO, taps, host forwards), and facts about the host. The
 * configurators only read these; creating them (and rolling them back) is the node agent's job.
 */
import type { Accel, DiskFormat, KernelBoot, NicBackend } from './machine.js';

/** The per-VM runtime directory and the sockets and files QEMU creates or uses in it. */
export interface RuntimePaths {
  dir: string;
  qmp: string;
  serial: string;
  serialLog: string;
  vnc: string;
  guestAgent: string;
  pidfile: string;
  /** Per-VM copy of the OVMF variable store; used only with EFI firmware. */
  efiVars: string;
}

/** The file a volume became on this node. */
export interface PreparedVolume {
  path: string;
  format: DiskFormat;
  /** Forces the disk read-only (e.g. a read-only PVC); the spec may also ask for it. */
  readonly?: boolean;
  /** A kernel (and initrd) extracted from this volume, booted directly with -kernel/-initrd/-append. */
  kernelBoot?: KernelBoot;
}

export interface PreparedResources {
  paths: RuntimePaths;
  /** Keyed by volume name (spec.volumes[].name). */
  volumes: Record<string, PreparedVolume>;
  /** MAC per interface name, for interfaces whose spec has no macAddress. */
  macs: Record<string, string>;
  /** Host side of each interface, keyed by interface name. */
  backends: Record<string, NicBackend>;
  /** Exit QEMU instead of resetting when the guest reboots. Defaults to false (reboot in place, as KubeVirt). */
  noReboot?: boolean;
}

export interface HostFacts {
  /** From probeAccelerator. */
  accel: Accel;
  /** Where the OVMF images live; defaults to /usr/share/OVMF (Debian's `ovmf` package). */
  ovmfDir?: string;
}
