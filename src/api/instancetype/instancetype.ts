/**
 * instancetype.kubevirt.io/v1beta1: instance types (the size of a VM: vCPU, memory, devices) and
 * preferences (how a guest OS likes its hardware: buses, firmware, clock), namespaced and
 * cluster-wide. A VM selects one of each; the VM controller expands them into the VMI.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta, type KubeObject } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import { NoEffect, Obj, Preserve, Quantity, StringMap, Type, type Static, opt } from '../schema.js';

/** DRA fields of a device: kept, with no effect (no DRA devices on this platform). */
const DraClaim = {
  claimName: opt(NoEffect(Type.String({ description: 'DRA: the resource claim.' }))),
  requestName: opt(NoEffect(Type.String({ description: 'DRA: the request within that claim.' }))),
};

export const InstancetypeSpec = Obj('The size of a VM.', {
  cpu: Obj('vCPUs given to the guest.', {
    guest: Type.Integer({ minimum: 1, description: 'Number of vCPUs the guest sees.' }),
    model: opt(Type.String()),
    dedicatedCPUPlacement: opt(Type.Boolean()),
    isolateEmulatorThread: opt(Type.Boolean()),
    maxSockets: opt(Type.Integer()),
    numa: opt(Preserve()),
    realtime: opt(Preserve()),
  }),
  memory: Obj('Memory given to the guest.', {
    guest: Quantity('Memory the guest sees, e.g. 4Gi.'),
    hugepages: opt(Obj('Huge pages.', { pageSize: Type.String() })),
    overcommitPercent: opt(Type.Integer({ minimum: 0, maximum: 100 })),
    maxGuest: opt(Quantity()),
  }),
  gpus: opt(
    Type.Array(
      Obj('A GPU.', {
        name: Type.String(),
        deviceName: opt(Type.String()),
        ...DraClaim,
        tag: opt(Type.String()),
        virtualGPUOptions: opt(Preserve()),
      }),
    ),
  ),
  hostDevices: opt(
    Type.Array(
      Obj('A host device.', {
        name: Type.String(),
        deviceName: opt(Type.String()),
        ...DraClaim,
        tag: opt(Type.String()),
      }),
    ),
  ),
  ioThreadsPolicy: opt(Type.String()),
  ioThreads: opt(NoEffect(Preserve('The supplemental IO thread pool.'))),
  launchSecurity: opt(Preserve()),
  nodeSelector: opt(StringMap()),
  schedulerName: opt(Type.String()),
  annotations: opt(StringMap()),
});
export type InstancetypeSpec = Static<typeof InstancetypeSpec>;

export const PreferenceSpec = Obj('Preferred hardware settings for a guest OS; the VM may override them.', {
  cpu: opt(
    Obj('Preferred CPU topology.', {
      preferredCPUTopology: opt(
        Type.String({
          description: 'preferSockets (default), preferCores, preferThreads, preferSpread or preferAny.',
        }),
      ),
      preferredCPUFeatures: opt(Type.Array(Preserve())),
      spreadOptions: opt(
        NoEffect(
          Obj('How preferSpread divides vCPUs.', {
            across: opt(
              Type.String({ description: 'SocketsCores (default), SocketsCoresThreads or CoresThreads.' }),
            ),
            ratio: opt(Type.Integer({ minimum: 1 })),
          }),
        ),
      ),
    }),
  ),
  devices: opt(
    Obj(
      'Preferred devices.',
      {
        preferredDiskBus: opt(Type.String()),
        preferredCdromBus: opt(Type.String()),
        preferredInterfaceModel: opt(Type.String()),
        preferredInputBus: opt(Type.String()),
        preferredInputType: opt(Type.String()),
        preferredRng: opt(Preserve()),
        preferredTPM: opt(Preserve()),
        preferredAutoattachGraphicsDevice: opt(Type.Boolean()),
        preferredAutoattachMemBalloon: opt(Type.Boolean()),
        preferredAutoattachSerialConsole: opt(Type.Boolean()),
        preferredUseVirtioTransitional: opt(Type.Boolean()),
        preferredNetworkInterfaceMultiQueue: opt(Type.Boolean()),
        preferredBlockMultiQueue: opt(Type.Boolean()),
        preferredDiskDedicatedIoThread: opt(Type.Boolean()),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
  features: opt(Preserve()),
  firmware: opt(
    Obj('Preferred firmware.', {
      preferredUseBios: opt(Type.Boolean()),
      preferredUseBiosSerial: opt(Type.Boolean()),
      preferredUseEfi: opt(Type.Boolean()),
      preferredUseSecureBoot: opt(Type.Boolean()),
      preferredEfi: opt(NoEffect(Preserve('The EFI settings preferred (secureBoot, persistent).'))),
    }),
  ),
  machine: opt(Obj('Preferred machine type.', { preferredMachineType: opt(Type.String()) })),
  clock: opt(
    Obj('Preferred clock.', { preferredClockOffset: opt(Preserve()), preferredTimer: opt(Preserve()) }),
  ),
  requirements: opt(
    Obj('Minimum resources for this OS.', {
      cpu: opt(Obj('Minimum vCPUs.', { guest: Type.Integer() })),
      memory: opt(Obj('Minimum memory.', { guest: Quantity() })),
      architecture: opt(NoEffect(Type.String())),
    }),
  ),
  preferSpreadSocketToCoreRatio: opt(NoEffect(Type.Integer())),
  preferredArchitecture: opt(NoEffect(Type.String())),
  preferredLaunchSecurity: opt(NoEffect(Preserve())),
  preferredTerminationGracePeriodSeconds: opt(Type.Integer()),
  preferredSubdomain: opt(Type.String()),
  annotations: opt(StringMap()),
  volumes: opt(Obj('Preferred storage.', { preferredStorageClassName: opt(Type.String()) })),
});
export type PreferenceSpec = Static<typeof PreferenceSpec>;

const objectSchema = (spec: typeof InstancetypeSpec | typeof PreferenceSpec, description: string) =>
  Obj(description, { apiVersion: Type.String(), kind: Type.String(), metadata: ObjectMeta, spec });

const validateInstancetype = (obj: KubeObject): FieldError[] => {
  const spec = obj['spec'] as InstancetypeSpec;
  const memory = parseQuantity(spec.memory.guest);
  return memory !== undefined && memory.value <= 0
    ? [{ path: 'spec.memory.guest', message: 'Invalid value: must be greater than zero' }]
    : [];
};

const base = {
  group: 'instancetype.kubevirt.io',
  version: 'v1beta1',
  categories: ['all'],
  statusSubresource: false,
};

const instancetypeColumns: KindDefinition['printerColumns'] = [
  // KubeVirt's CRDs print no columns; the sizes are ours, so only `-o wide` shows them.
  { name: 'CPU', type: 'integer', jsonPath: '.spec.cpu.guest', priority: 1 },
  { name: 'Memory', type: 'string', jsonPath: '.spec.memory.guest', priority: 1 },
  {
    name: 'Storage',
    type: 'string',
    jsonPath: '.metadata.annotations.instancetype\\.hikube\\.io/storage',
    priority: 1,
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export const virtualMachineInstancetypeKind: KindDefinition = {
  ...base,
  kind: 'VirtualMachineInstancetype',
  plural: 'virtualmachineinstancetypes',
  singular: 'virtualmachineinstancetype',
  shortNames: ['vminstancetype', 'vminstancetypes', 'vmf', 'vmfs'],
  namespaced: true,
  description: 'VirtualMachineInstancetype is a size of VM (vCPUs, memory, devices) usable in its namespace.',
  schema: objectSchema(InstancetypeSpec, 'A namespaced instance type.'),
  printerColumns: instancetypeColumns,
  validate: validateInstancetype,
};

export const virtualMachineClusterInstancetypeKind: KindDefinition = {
  ...base,
  kind: 'VirtualMachineClusterInstancetype',
  plural: 'virtualmachineclusterinstancetypes',
  singular: 'virtualmachineclusterinstancetype',
  shortNames: ['vmclusterinstancetype', 'vmclusterinstancetypes', 'vmcf', 'vmcfs'],
  namespaced: false,
  description:
    'VirtualMachineClusterInstancetype is a size of VM (vCPUs, memory, devices) usable in every namespace: the catalog.',
  schema: objectSchema(InstancetypeSpec, 'A cluster-wide instance type.'),
  printerColumns: instancetypeColumns,
  validate: validateInstancetype,
};

export const virtualMachinePreferenceKind: KindDefinition = {
  ...base,
  kind: 'VirtualMachinePreference',
  plural: 'virtualmachinepreferences',
  singular: 'virtualmachinepreference',
  shortNames: ['vmpref', 'vmprefs', 'vmp', 'vmps'],
  namespaced: true,
  description:
    'VirtualMachinePreference holds the hardware preferences of a guest OS, usable in its namespace.',
  schema: objectSchema(PreferenceSpec, 'A namespaced preference.'),
  printerColumns: [],
};

export const virtualMachineClusterPreferenceKind: KindDefinition = {
  ...base,
  kind: 'VirtualMachineClusterPreference',
  plural: 'virtualmachineclusterpreferences',
  singular: 'virtualmachineclusterpreference',
  shortNames: ['vmcp', 'vmcps', 'vmclusterpref', 'vmclusterprefs'],
  namespaced: false,
  description:
    'VirtualMachineClusterPreference holds the hardware preferences of a guest OS, usable in every namespace.',
  schema: objectSchema(PreferenceSpec, 'A cluster-wide preference.'),
  printerColumns: [
    { name: 'OS', type: 'string', jsonPath: '.metadata.annotations.hikube\\.io/os', priority: 1 },
  ],
};
