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
];

export interface OsPreference {
  name: string;
  displayName: string;
  family: 'linux' | 'windows';
  /** Versions offered in the image catalog (issue: images and disks). */
  versions: string[];
  minCpu: number;
  minMemory: string;
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
            preferredDiskBus: 'sata',
            preferredInterfaceModel: 'e1000e',
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
