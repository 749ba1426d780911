/**
 * The catalog seeded at first start: Hikube's instance types (the seed's cx1 and m1 series, and the
 * u1 series Hikube's VMInstance defaults to) and one preference per supported OS family. Users may
 * edit or delete them like any object; they are only created once.
 */
import type { KubeObject } from './meta.js';

export interface InstanceSize {
  name: string;
  cpu: number;
  /** Memory in GiB. */
  memory: number;
  /** Root disk size in GiB, part of Hikube's instance types (not a KubeVirt field). */
  storage: number;
  usage: string;
}

export const INSTANCE_SIZES: readonly InstanceSize[] = [
  { name: 'cx1.medium', cpu: 2, memory: 4, storage: 20, usage: 'Development' },
  { name: 'cx1.large', cpu: 4, memory: 8, storage: 40, usage: 'Light production' },
  { name: 'cx1.xlarge', cpu: 8, memory: 16, storage: 80, usage: 'Production' },
  { name: 'm1.large', cpu: 4, memory: 8, storage: 40, usage: 'Memory optimised' },
  { name: 'm1.xlarge', cpu: 8, memory: 16, storage: 80, usage: 'Memory optimised' },
  { name: 'm1.2xlarge', cpu: 16, memory: 32, storage: 160, usage: 'Memory optimised' },
  { name: 'u1.small', cpu: 1, memory: 2, storage: 10, usage: 'Universal' },
  { name: 'u1.medium', cpu: 1, memory: 4, storage: 20, usage: 'Universal' },
  { name: 'u1.large', cpu: 2, memory: 8, storage: 40, usage: 'Universal' },
  { name: 'u1.xlarge', cpu: 4, memory: 16, storage: 80, usage: 'Universal' },
  // Hikube's published series beside the seed's: u1 (1 vCPU : 4 GiB) completed, s1 (1:2).
  ...series('u1', 4, [8, 16, 32], 'Universal'),
  ...series('s1', 2, [1, 2, 4, 8, 16, 32, 64], 'Standard'),
];

/** Sizes small, medium, large, xlarge, 2xlarge, 4xlarge, 8xlarge… of one series, by vCPU count. */
function series(prefix: string, gibPerCpu: number, cpus: number[], usage: string): InstanceSize[] {
  const names: Record<number, string> = {
    1: 'small',
    2: 'medium',
    4: 'large',
    8: 'xlarge',
    16: '2xlarge',
    32: '4xlarge',
    64: '8xlarge',
  };
  // u1 starts one step later: u1.medium is 1 vCPU (Hikube's naming).
  const shift = prefix === 'u1' ? 2 : 1;
  return cpus.map((cpu) => ({
    name: `${prefix}.${names[cpu * shift] ?? `${cpu}cpu`}`,
    cpu,
    memory: cpu * gibPerCpu,
    storage: cpu * gibPerCpu * 5,
    usage,
  }));
}

export interface OsPreference {
  name: string;
  displayName: string;
  family: 'linux' | 'windows';
  /** Versions offered in the image catalog (issue: images and disks). */
  versions: string[];
  minCpu: number;
  minMemory: string;
  /** Windows with the virtio drivers installed: virtio disks and NICs rather than sata/e1000e. */
  virtio?: boolean;
}

export const OS_PREFERENCES: readonly OsPreference[] = [
  {
    name: 'ubuntu',
    displayName: 'Ubuntu',
    family: 'linux',
    versions: ['20.04', '22.04'],
    minCpu: 1,
    minMemory: '1Gi',
  },
  {
    name: 'centos.stream9',
    displayName: 'CentOS Stream 9',
    family: 'linux',
    versions: ['stream9'],
    minCpu: 1,
    minMemory: '1Gi',
  },
  {
    // Kept as an alias of centos.stream9 (Hikube's older name).
    name: 'centos',
    displayName: 'CentOS',
    family: 'linux',
    versions: ['7', '8', 'stream9'],
    minCpu: 1,
    minMemory: '1Gi',
  },
  {
    name: 'debian',
    displayName: 'Debian',
    family: 'linux',
    versions: ['11', '12'],
    minCpu: 1,
    minMemory: '512Mi',
  },
  {
    name: 'windows',
    displayName: 'Windows Server',
    family: 'windows',
    versions: ['2019', '2022'],
    minCpu: 2,
    minMemory: '4Gi',
  },
  {
    name: 'windows.2k25.virtio',
    displayName: 'Windows Server 2025 (virtio)',
    family: 'windows',
    versions: ['2025'],
    minCpu: 2,
    minMemory: '4Gi',
    virtio: true,
  },
  {
    name: 'custom',
    displayName: 'Custom image',
    family: 'linux',
    versions: [],
    minCpu: 1,
    minMemory: '128Mi',
  },
];

export const STORAGE_ANNOTATION = 'instancetype.hikube.io/storage';
export const OS_ANNOTATION = 'hikube.io/os';

const instancetype = (s: InstanceSize): KubeObject => ({
  apiVersion: 'instancetype.kubevirt.io/v1beta1',
  kind: 'VirtualMachineClusterInstancetype',
  metadata: {
    name: s.name,
    labels: {
      'instancetype.kubevirt.io/vendor': 'hikube.io',
      'instancetype.kubevirt.io/class': s.name.split('.')[0] ?? '',
      'instancetype.kubevirt.io/cpu': String(s.cpu),
      'instancetype.kubevirt.io/memory': `${s.memory}Gi`,
    },
    annotations: { [STORAGE_ANNOTATION]: `${s.storage}Gi`, 'instancetype.kubevirt.io/description': s.usage },
  },
  spec: { cpu: { guest: s.cpu }, memory: { guest: `${s.memory}Gi` } },
});

const preference = (p: OsPreference): KubeObject => ({
  apiVersion: 'instancetype.kubevirt.io/v1beta1',
  kind: 'VirtualMachineClusterPreference',
  metadata: {
    name: p.name,
    labels: { 'instancetype.kubevirt.io/vendor': 'hikube.io', 'instancetype.kubevirt.io/os-type': p.family },
    annotations: { [OS_ANNOTATION]: p.displayName, 'openshift.io/display-name': p.displayName },
  },
  spec:
    p.family === 'windows'
      ? {
          cpu: { preferredCPUTopology: 'preferSockets' },
          devices: {
            preferredDiskBus: p.virtio === true ? 'virtio' : 'sata',
            preferredInterfaceModel: p.virtio === true ? 'virtio' : 'e1000e',
            preferredInputBus: 'usb',
            preferredInputType: 'tablet',
          },
          features: { preferredHyperv: { relaxed: {}, vapic: {}, spinlocks: { spinlocks: 8191 } } },
          firmware: { preferredUseEfi: true },
          clock: { preferredClockOffset: { utc: {} } },
          requirements: { cpu: { guest: p.minCpu }, memory: { guest: p.minMemory } },
        }
      : {
          cpu: { preferredCPUTopology: 'preferSockets' },
          devices: { preferredDiskBus: 'virtio', preferredInterfaceModel: 'virtio', preferredRng: {} },
          requirements: { cpu: { guest: p.minCpu }, memory: { guest: p.minMemory } },
        },
});

export function seedObjects(): KubeObject[] {
  return [...INSTANCE_SIZES.map(instancetype), ...OS_PREFERENCES.map(preference)];
}
