/**
 * kubevirt.io/v1 DomainSpec: the virtual hardware of a VMI (CPU, memory, firmware, devices). Field
 * names and shapes follow KubeVirt's API so that its manifests apply unchanged; the node agent turns
 * this into a QEMU machine (src/hypervisor).
 */
import {
  Empty,
  IntOrString,
  ListMap,
  MapOf,
  Obj,
  Preserve,
  Quantity,
  StringEnum,
  Type,
  type Static,
  type TProperties,
  opt,
  NoEffect,
} from '../schema.js';
import { KernelBoot } from './kernel-boot.js';

export const ResourceList = MapOf(Quantity(), 'Resource name (cpu, memory, nvidia.com/gpu…) to quantity.');

export const ResourceRequirements = Obj('Resources requested by and limiting the guest.', {
  requests: opt(ResourceList),
  limits: opt(ResourceList),
  overcommitGuestOverhead: opt(
    Type.Boolean({ description: 'Do not reserve the hypervisor overhead on top of the guest memory.' }),
  ),
});

export const CPU = Obj('CPU topology and model of the guest.', {
  cores: opt(Type.Integer({ minimum: 0, description: 'Cores per socket. Defaults to 1.' })),
  sockets: opt(Type.Integer({ minimum: 0, description: 'Sockets. Defaults to 1.' })),
  threads: opt(Type.Integer({ minimum: 0, description: 'Threads per core. Defaults to 1.' })),
  maxSockets: opt(Type.Integer({ minimum: 0, description: 'Upper bound of sockets for CPU hotplug.' })),
  model: opt(Type.String({ description: 'CPU model: host-passthrough, host-model or a named QEMU model.' })),
  features: opt(ListMap(Obj('A CPU feature.', { name: Type.String(), policy: opt(Type.String()) }), 'name')),
  dedicatedCpuPlacement: opt(Type.Boolean()),
  isolateEmulatorThread: opt(Type.Boolean()),
  realtime: opt(Obj('Real-time vCPUs.', { mask: opt(Type.String()) })),
  numa: opt(Obj('Guest NUMA topology.', { guestMappingPassthrough: opt(Empty()) })),
});

export const Memory = Obj('Memory of the guest.', {
  guest: opt(Quantity('Memory the guest sees. Defaults to the memory request.')),
  hugepages: opt(Obj('Back the guest with huge pages.', { pageSize: opt(Type.String()) })),
  maxGuest: opt(Quantity('Upper bound for memory hotplug.')),
  reservedOverhead: opt(NoEffect(Preserve('Memory reserved for the hypervisor beside the guest.'))),
});

export const Firmware = Obj('Firmware of the guest.', {
  uuid: opt(Type.String({ description: 'Firmware UUID (SMBIOS system UUID).' })),
  serial: opt(Type.String({ description: 'SMBIOS system serial number.' })),
  bootloader: opt(
    Obj('BIOS or EFI.', {
      bios: opt(Obj('Legacy BIOS.', { useSerial: opt(Type.Boolean()) })),
      efi: opt(Obj('UEFI firmware.', { secureBoot: opt(Type.Boolean()), persistent: opt(Type.Boolean()) })),
    }),
  ),
  kernelBoot: opt(KernelBoot),
  acpi: opt(NoEffect(Preserve('ACPI tables (SLIC, MSDM) from a Secret.'))),
});

const FeatureState = Obj('A feature switch.', { enabled: opt(Type.Boolean()) });

const HyperV = Obj('Hyper-V enlightenments for Windows guests.', {
  relaxed: opt(FeatureState),
  vapic: opt(FeatureState),
  spinlocks: opt(Obj('Spinlock retries.', { enabled: opt(Type.Boolean()), spinlocks: opt(Type.Integer()) })),
  vpindex: opt(FeatureState),
  runtime: opt(FeatureState),
  synic: opt(FeatureState),
  synictimer: opt(Obj('SynIC timers.', { enabled: opt(Type.Boolean()), direct: opt(FeatureState) })),
  reset: opt(FeatureState),
  vendorid: opt(Obj('Vendor id.', { enabled: opt(Type.Boolean()), vendorid: opt(Type.String()) })),
  frequencies: opt(FeatureState),
  reenlightenment: opt(FeatureState),
  tlbflush: opt(
    Obj('TLB flush.', {
      enabled: opt(Type.Boolean()),
      direct: opt(FeatureState),
      extended: opt(FeatureState),
    }),
  ),
  ipi: opt(FeatureState),
  evmcs: opt(FeatureState),
});

export const Features = Obj('Hypervisor features.', {
  acpi: opt(FeatureState),
  apic: opt(Obj('APIC.', { enabled: opt(Type.Boolean()), endOfInterrupt: opt(Type.Boolean()) })),
  smm: opt(FeatureState),
  hyperv: opt(HyperV),
  kvm: opt(Obj('KVM features.', { hidden: opt(Type.Boolean()) })),
  pvspinlock: opt(FeatureState),
  hypervPassthrough: opt(NoEffect(Preserve('Every Hyper-V enlightenment the host offers.'))),
});

/** One timer of the guest clock: whether it is present, plus its own settings. */
const TimerSource = <P extends TProperties>(what: string, properties: P) =>
  Obj(`The ${what} timer.`, { present: opt(Type.Boolean()), ...properties });

export const Clock = Obj('Guest clock.', {
  utc: opt(Obj('UTC clock.', { offsetSeconds: opt(Type.Integer()) })),
  timezone: opt(Type.String({ description: 'Timezone of the guest clock, e.g. Europe/Paris.' })),
  timer: opt(
    Obj('Timers of the guest clock.', {
      hpet: opt(TimerSource('HPET', { tickPolicy: opt(Type.String()) })),
      kvm: opt(TimerSource('KVM clock', {})),
      pit: opt(TimerSource('PIT', { tickPolicy: opt(Type.String()) })),
      rtc: opt(TimerSource('RTC', { tickPolicy: opt(Type.String()), track: opt(Type.String()) })),
      hyperv: opt(TimerSource('Hyper-V reference time', {})),
    }),
  ),
});

const DiskTarget = (what: string) =>
  Obj(`Attach the volume as a ${what}.`, {
    bus: opt(StringEnum(['virtio', 'sata', 'scsi', 'usb'], 'Bus type: virtio, sata, scsi or usb.')),
    readonly: opt(Type.Boolean()),
    pciAddress: opt(Type.String()),
  });

export const Disk = Obj('A disk device backed by the volume of the same name.', {
  name: Type.String({ description: 'Name of the device; must match a volume name.' }),
  disk: opt(DiskTarget('disk')),
  lun: opt(
    Obj('Attach as a LUN.', {
      bus: opt(Type.String()),
      readonly: opt(Type.Boolean()),
      reservation: opt(Type.Boolean()),
    }),
  ),
  cdrom: opt(
    Obj('Attach as a CD-ROM.', {
      bus: opt(StringEnum(['sata', 'scsi', 'usb'], 'Bus type.')),
      readonly: opt(Type.Boolean()),
      tray: opt(Type.String()),
    }),
  ),
  bootOrder: opt(
    Type.Integer({
      minimum: 1,
      description: 'Boot order; lower boots first. Devices without one are not bootable.',
    }),
  ),
  serial: opt(Type.String({ description: 'Serial number the guest sees.' })),
  cache: opt(StringEnum(['none', 'writethrough', 'writeback'], 'Host cache mode.')),
  io: opt(StringEnum(['native', 'threads'], 'I/O mode.')),
  dedicatedIOThread: opt(Type.Boolean()),
  blockSize: opt(
    Obj('Block sizes the guest sees.', {
      custom: opt(
        Obj('Explicit sizes, in bytes.', {
          logical: Type.Integer(),
          physical: Type.Integer(),
          discardGranularity: opt(Type.Integer()),
        }),
      ),
      matchVolume: opt(Obj('Take the sizes from the volume.', { enabled: opt(Type.Boolean()) })),
    }),
  ),
  shareable: opt(Type.Boolean()),
  errorPolicy: opt(StringEnum(['stop', 'ignore', 'report', 'enospace'])),
  tag: opt(NoEffect(Type.String({ description: 'A tag for the disk in the guest metadata.' }))),
  changedBlockTracking: opt(NoEffect(Type.Boolean())),
});
export type Disk = Static<typeof Disk>;

export const Port = Obj('A port forwarded to the guest (masquerade binding).', {
  name: opt(Type.String()),
  protocol: opt(StringEnum(['TCP', 'UDP'], 'TCP (default) or UDP.')),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
});

export const Interface = Obj('A network interface, connected to the network of the same name.', {
  name: Type.String({ description: 'Name of the interface; must match a network name.' }),
  model: opt(Type.String({ description: 'NIC model: virtio (default), e1000, e1000e, rtl8139…' })),
  macAddress: opt(Type.String({ description: 'MAC address; generated when absent.' })),
  bootOrder: opt(Type.Integer({ minimum: 1 })),
  pciAddress: opt(Type.String()),
  ports: opt(Type.Array(Port)),
  masquerade: opt(Empty('NAT binding to the pod network.')),
  bridge: opt(Empty('Bridge binding.')),
  sriov: opt(Empty('SR-IOV binding.')),
  passt: opt(Empty('passt binding.')),
  passtBinding: opt(NoEffect(Empty('The passt binding of KubeVirt core.'))),
  binding: opt(Obj('A network binding plugin.', { name: Type.String() })),
  dhcpOptions: opt(
    Obj('Extra DHCP options for the guest.', {
      bootFileName: opt(Type.String()),
      tftpServerName: opt(Type.String()),
      ntpServers: opt(Type.Array(Type.String())),
      privateOptions: opt(
        Type.Array(Obj('A private DHCP option.', { option: Type.Integer(), value: Type.String() })),
      ),
    }),
  ),
  tag: opt(Type.String()),
  state: opt(StringEnum(['up', 'down', 'absent'])),
  acpiIndex: opt(NoEffect(Type.Integer({ description: 'ACPI index of the NIC in the guest.' }))),
  macvtap: opt(NoEffect(Empty('The deprecated macvtap binding.'))),
  slirp: opt(NoEffect(Empty('The deprecated slirp binding.'))),
  portRanges: opt(NoEffect(Type.Array(Preserve('A range of ports forwarded to the guest.')))),
});
export type Interface = Static<typeof Interface>;

export const GPU = Obj('A GPU passed to the guest.', {
  name: Type.String(),
  deviceName: opt(
    Type.String({
      description: 'Resource name of the device, e.g. nvidia.com/gpu (or a DRA claim instead).',
    }),
  ),
  claimName: opt(NoEffect(Type.String({ description: 'DRA: the resource claim (of spec.resourceClaims).' }))),
  requestName: opt(NoEffect(Type.String({ description: 'DRA: the request within that claim.' }))),
  virtualGPUOptions: opt(
    Obj('Display of a virtual GPU.', {
      display: opt(Obj('The display.', { enabled: opt(Type.Boolean()), ramFB: opt(FeatureState) })),
    }),
  ),
  tag: opt(Type.String()),
});

export const HostDevice = Obj('A host device passed to the guest.', {
  name: Type.String(),
  deviceName: opt(Type.String()),
  claimName: opt(NoEffect(Type.String({ description: 'DRA: the resource claim (of spec.resourceClaims).' }))),
  requestName: opt(NoEffect(Type.String({ description: 'DRA: the request within that claim.' }))),
  tag: opt(Type.String()),
});

export const Input = Obj('An input device.', {
  name: Type.String(),
  type: StringEnum(['tablet', 'keyboard'], 'Device type.'),
  bus: opt(StringEnum(['usb', 'virtio'])),
});

export const Devices = Obj('Devices of the guest.', {
  disks: opt(ListMap(Disk, 'name', 'Disks, CD-ROMs and LUNs.')),
  interfaces: opt(ListMap(Interface, 'name', 'Network interfaces.')),
  gpus: opt(ListMap(GPU, 'name')),
  hostDevices: opt(ListMap(HostDevice, 'name')),
  inputs: opt(ListMap(Input, 'name')),
  filesystems: opt(Type.Array(Obj('A shared filesystem.', { name: Type.String(), virtiofs: opt(Empty()) }))),
  watchdog: opt(
    Obj('A watchdog device.', {
      name: Type.String(),
      i6300esb: opt(Obj('An Intel 6300ESB watchdog.', { action: opt(Type.String()) })),
      diag288: opt(NoEffect(Preserve('The s390x diag288 watchdog.'))),
    }),
  ),
  rng: opt(Empty('A virtio RNG device fed from the host.')),
  tpm: opt(
    Obj('A virtual TPM.', { persistent: opt(Type.Boolean()), enabled: opt(NoEffect(Type.Boolean())) }),
  ),
  sound: opt(Obj('A sound device.', { name: Type.String(), model: opt(Type.String()) })),
  video: opt(
    NoEffect(
      Obj('The video device model.', { type: opt(Type.String({ description: 'vga, virtio, bochs…' })) }),
    ),
  ),
  autoattachPodInterface: opt(
    Type.Boolean({ description: 'Attach a default interface when none is listed. Defaults to true.' }),
  ),
  autoattachGraphicsDevice: opt(
    Type.Boolean({ description: 'Attach a VGA device for VNC. Defaults to true.' }),
  ),
  autoattachSerialConsole: opt(Type.Boolean({ description: 'Attach a serial console. Defaults to true.' })),
  autoattachMemBalloon: opt(
    Type.Boolean({ description: 'Attach a memory balloon for guest memory statistics. Defaults to true.' }),
  ),
  autoattachInputDevice: opt(Type.Boolean()),
  autoattachVSOCK: opt(Type.Boolean()),
  logSerialConsole: opt(Type.Boolean()),
  networkInterfaceMultiqueue: opt(Type.Boolean()),
  blockMultiQueue: opt(Type.Boolean()),
  useVirtioTransitional: opt(Type.Boolean()),
  clientPassthrough: opt(Empty()),
  disableHotplug: opt(Type.Boolean()),
  downwardMetrics: opt(NoEffect(Empty('Host metrics exposed to the guest over virtio-serial.'))),
  panicDevices: opt(NoEffect(Type.Array(Preserve('A panic notifier device.')))),
});

export const DomainSpec = Obj('The virtual hardware of the guest.', {
  resources: opt(ResourceRequirements),
  cpu: opt(CPU),
  memory: opt(Memory),
  machine: opt(
    Obj('Machine type.', {
      type: opt(Type.String({ description: 'QEMU machine type, e.g. q35 (default).' })),
    }),
  ),
  firmware: opt(Firmware),
  clock: opt(Clock),
  features: opt(Features),
  devices: Devices,
  ioThreadsPolicy: opt(StringEnum(['shared', 'auto', 'supplementalPool'])),
  ioThreads: opt(NoEffect(Preserve('The supplemental IO thread pool.'))),
  rebootPolicy: opt(
    NoEffect(Type.String({ description: 'Reboot (default) or Terminate on a guest reboot.' })),
  ),
  chassis: opt(
    Obj('SMBIOS chassis information.', {
      manufacturer: opt(Type.String()),
      version: opt(Type.String()),
      serial: opt(Type.String()),
      asset: opt(Type.String()),
      sku: opt(Type.String()),
    }),
  ),
  launchSecurity: opt(Preserve()),
});
export type DomainSpec = Static<typeof DomainSpec>;

/** Probe shape shared by liveness and readiness probes. */
export const Probe = Obj('A health probe of the guest.', {
  tcpSocket: opt(Obj('Connect to a TCP port.', { port: IntOrString(), host: opt(Type.String()) })),
  httpGet: opt(
    Obj('GET an HTTP path.', {
      port: IntOrString(),
      path: opt(Type.String()),
      host: opt(Type.String()),
      scheme: opt(Type.String()),
      httpHeaders: opt(
        NoEffect(Type.Array(Obj('A request header.', { name: Type.String(), value: Type.String() }))),
      ),
    }),
  ),
  exec: opt(Obj('Run a command through the guest agent.', { command: opt(Type.Array(Type.String())) })),
  guestAgentPing: opt(Empty('Ping the guest agent.')),
  initialDelaySeconds: opt(Type.Integer({ minimum: 0 })),
  timeoutSeconds: opt(Type.Integer({ minimum: 1 })),
  periodSeconds: opt(Type.Integer({ minimum: 1 })),
  successThreshold: opt(Type.Integer({ minimum: 1 })),
  failureThreshold: opt(Type.Integer({ minimum: 1 })),
});
