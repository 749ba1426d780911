/**
 * kubevirt.io/v1 VirtualMachineInstance: one running (or about to run) guest. Created by the VM
 * controller from a VM's template, or directly by a user; owned by the node agent once scheduled.
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { NoEffect, Obj, Preserve, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';
import { PodDNSConfig, Toleration } from '../core/refs.js';
import { DomainSpec, Probe } from './domain.js';
import { Conditions, OpenStatus, VMI_PHASES } from './status.js';
import { validateVmiSpec, vmiSpecWarnings } from './validation.js';
import { gatedFieldErrors } from './gated-fields.js';
import { defaultAdmissionSettings, gateChoice } from '../admission.js';
import { AccessCredential, Networks, Volumes } from './volumes.js';

export const VirtualMachineInstanceSpec = Obj(
  'The desired guest: hardware, volumes, networks and placement.',
  {
    domain: DomainSpec,
    volumes: opt(Volumes),
    networks: opt(Networks),
    accessCredentials: opt(Type.Array(AccessCredential)),
    nodeSelector: opt(StringMap('Labels a node must carry to run this VMI.')),
    affinity: opt(Preserve('Node and VMI affinity, as for pods.')),
    tolerations: opt(Type.Array(Toleration)),
    topologySpreadConstraints: opt(Type.Array(Preserve())),
    schedulerName: opt(Type.String()),
    priorityClassName: opt(Type.String()),
    evictionStrategy: opt(StringEnum(['None', 'LiveMigrate', 'LiveMigrateIfPossible', 'External'])),
    terminationGracePeriodSeconds: opt(
      Type.Integer({
        minimum: 0,
        description: 'Seconds the guest has to shut down (ACPI) before it is killed. Defaults to 30.',
      }),
    ),
    startStrategy: opt(StringEnum(['Paused'], 'Paused: start the guest paused.')),
    hostname: opt(Type.String({ description: 'Hostname of the guest; defaults to the VMI name.' })),
    subdomain: opt(Type.String()),
    serviceAccountName: opt(NoEffect(Type.String())),
    utilityVolumes: opt(NoEffect(Type.Array(Preserve('A volume for KubeVirt internal use (e.g. backups).')))),
    livenessProbe: opt(Probe),
    readinessProbe: opt(Probe),
    dnsPolicy: opt(Type.String()),
    dnsConfig: opt(PodDNSConfig),
    architecture: opt(Type.String({ description: 'CPU architecture; amd64 on this platform.' })),
    resourceClaims: opt(
      NoEffect(
        Type.Array(
          Obj('A DRA resource claim that the guest devices (gpus[].claimName) draw from.', {
            name: Type.String(),
            resourceClaimName: opt(Type.String()),
            resourceClaimTemplateName: opt(Type.String()),
          }),
        ),
      ),
    ),
  },
);
export type VirtualMachineInstanceSpec = Static<typeof VirtualMachineInstanceSpec>;

export const VmiInterfaceStatus = Obj('What the node agent and guest agent know of one NIC.', {
  name: opt(Type.String()),
  mac: opt(Type.String()),
  ipAddress: opt(Type.String()),
  ipAddresses: opt(Type.Array(Type.String())),
  interfaceName: opt(Type.String({ description: 'Name inside the guest, from the guest agent.' })),
  infoSource: opt(Type.String({ description: 'domain, guest-agent, or both, comma separated.' })),
  queueCount: opt(Type.Integer()),
  linkState: opt(Type.String()),
  podInterfaceName: opt(Type.String()),
});

export const GuestOSInfo = Obj('The guest operating system, from the guest agent.', {
  name: opt(Type.String()),
  kernelRelease: opt(Type.String()),
  version: opt(Type.String()),
  prettyName: opt(Type.String()),
  versionId: opt(Type.String()),
  kernelVersion: opt(Type.String()),
  machine: opt(Type.String()),
  id: opt(Type.String()),
});

export const VirtualMachineInstanceStatus = OpenStatus(
  'Observed state of the guest, written by the controllers and the node agent.',
  {
    phase: opt(StringEnum(VMI_PHASES, 'Lifecycle phase.')),
    reason: opt(Type.String()),
    nodeName: opt(Type.String({ description: 'The node running the guest.' })),
    conditions: opt(Conditions),
    phaseTransitionTimestamps: opt(
      Type.Array(
        Obj('When the VMI entered a phase.', {
          phase: opt(Type.String()),
          phaseTransitionTimestamp: opt(Type.String()),
        }),
      ),
    ),
    interfaces: opt(Type.Array(VmiInterfaceStatus)),
    guestOSInfo: opt(GuestOSInfo),
    qosClass: opt(Type.String()),
    migrationMethod: opt(Type.String()),
    launcherContainerImageVersion: opt(Type.String()),
    activePods: opt(StringMap()),
    volumeStatus: opt(Type.Array(Preserve())),
    currentCPUTopology: opt(
      Obj('CPU topology the guest runs with.', {
        cores: opt(Type.Integer()),
        sockets: opt(Type.Integer()),
        threads: opt(Type.Integer()),
      }),
    ),
    memory: opt(Preserve()),
    machine: opt(Obj('Machine type the guest runs with.', { type: opt(Type.String()) })),
    virtualMachineRevisionName: opt(Type.String()),
    accelerator: opt(
      StringEnum(
        ['kvm', 'tcg'],
        'Hikube: the accelerator QEMU runs the guest with (KVM when it works on the node, TCG otherwise).',
      ),
    ),
    runtimeUser: opt(Type.Integer()),
    selinuxContext: opt(Type.String()),
    evacuationNodeName: opt(Type.String()),
    fsFreezeStatus: opt(Type.String()),
  },
);

export const VirtualMachineInstance = Obj('A running virtual machine instance.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: VirtualMachineInstanceSpec,
  status: opt(VirtualMachineInstanceStatus),
});
export type VirtualMachineInstance = Static<typeof VirtualMachineInstance>;

/** Template of a VMI inside a VM (metadata + spec). */
export const VirtualMachineInstanceTemplateSpec = Obj('The VMI created when the VM starts.', {
  metadata: opt(
    Obj(
      'Labels and annotations given to the VMI.',
      {
        labels: opt(StringMap()),
        annotations: opt(StringMap()),
        name: opt(Type.String()),
        namespace: opt(Type.String()),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
  spec: opt(VirtualMachineInstanceSpec),
});

export const virtualMachineInstanceKind: KindDefinition = {
  group: 'kubevirt.io',
  version: 'v1',
  kind: 'VirtualMachineInstance',
  plural: 'virtualmachineinstances',
  singular: 'virtualmachineinstance',
  shortNames: ['vmi', 'vmis'],
  categories: ['all'],
  namespaced: true,
  description: 'VirtualMachineInstance is a running virtual machine: one QEMU process on a node.',
  schema: VirtualMachineInstance,
  statusSubresource: true,
  printerColumns: [
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'IP', type: 'string', jsonPath: '.status.interfaces[0].ipAddress' },
    { name: 'NodeName', type: 'string', jsonPath: '.status.nodeName' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    {
      name: 'Live-Migratable',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="LiveMigratable")].status',
      priority: 1,
    },
    {
      name: 'Paused',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Paused")].status',
      priority: 1,
    },
  ],
  validate: (obj, old, settings) => [
    ...validateVmiSpec(
      obj['spec'] as VirtualMachineInstanceSpec,
      'spec',
      old === undefined ? undefined : (old['spec'] as VirtualMachineInstanceSpec),
    ),
    ...(old === undefined
      ? gatedFieldErrors(
          obj['spec'] as VirtualMachineInstanceSpec,
          (obj['metadata'] as { annotations?: Record<string, string> } | undefined)?.annotations,
          'spec',
          'metadata',
          gateChoice(settings ?? defaultAdmissionSettings()),
        )
      : []),
  ],
  warnings: (obj) => vmiSpecWarnings(obj['spec'] as VirtualMachineInstanceSpec, 'spec'),
};
