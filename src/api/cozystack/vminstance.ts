/**
 * apps.cozystack.io/v1alpha1 VMInstance: Hikube's VM. The Cozystack reconciler
 * (src/controllers/cozystack) compiles it to a KubeVirt VirtualMachine `vm-instance-<name>`, the
 * Secrets of its SSH keys and cloud-init, and a Service of the same name (headless, or a load
 * balancer when `external`). Field names and defaults are Cozystack's vm-instance chart's.
 */
import { cpuModelProblem } from '../kubevirt/domain-values.js';
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import { Conditions, PRINTABLE_STATUSES, RUN_STRATEGIES } from '../kubevirt/status.js';
import { Obj, Quantity, StringEnum, Type, type Static, opt } from '../schema.js';
import { COZYSTACK_GROUP, COZYSTACK_VERSION } from './vmdisk.js';

export const DEFAULT_INSTANCE_TYPE = 'u1.medium';
export const DEFAULT_INSTANCE_PROFILE = 'ubuntu';
export const EXTERNAL_METHODS = ['PortList', 'WholeIP'] as const;
export const DEFAULT_EXTERNAL_PORTS = [22];
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'usb'] as const;

export const instanceObjectName = (name: string): string => `vm-instance-${name}`;

const NetworkRef = Obj('A NetworkAttachmentDefinition of the namespace.', {
  name: opt(Type.String({ description: 'Name of the network.' })),
});

export const VMInstanceSpec = Obj('The VM wanted.', {
  runStrategy: opt(StringEnum(RUN_STRATEGIES, 'When the VM runs (default Always).')),
  running: opt(Type.Boolean({ description: 'Deprecated: honoured when runStrategy is absent.' })),
  instanceType: opt(
    Type.String({ description: 'A VirtualMachineClusterInstancetype (default u1.medium); "" for none.' }),
  ),
  instanceProfile: opt(
    Type.String({ description: 'A VirtualMachineClusterPreference (default ubuntu); "" for none.' }),
  ),
  resources: opt(
    Obj('Custom size, all three required when there is no instance type.', {
      cpu: opt(Quantity('Cores per socket.')),
      sockets: opt(Quantity('CPU sockets.')),
      memory: opt(Quantity('Guest memory, e.g. 4Gi.')),
    }),
  ),
  disks: opt(
    Type.Array(
      Obj('A VMDisk to attach; the first one boots.', {
        name: Type.String({ description: 'Name of the VMDisk.' }),
        bus: opt(StringEnum(DISK_BUSES, 'Disk bus (default virtio).')),
      }),
    ),
  ),
  networks: opt(Type.Array(NetworkRef)),
  subnets: opt(Type.Array(NetworkRef, { description: 'Deprecated: use networks.' })),
  gpus: opt(
    Type.Array(
      Obj('A GPU.', { name: Type.String({ description: 'Resource name, e.g. nvidia.com/GA102GL_A10.' }) }),
    ),
  ),
  cpuModel: opt(Type.String({ description: 'CPU model inside the guest.' })),
  sshKeys: opt(Type.Array(Type.String(), { description: 'SSH public keys for the default user.' })),
  cloudInit: opt(Type.String({ description: 'Cloud-init user data.' })),
  cloudInitSeed: opt(
    Type.String({ description: 'Seed of the SMBIOS UUID: changing it makes cloud-init run again.' }),
  ),
  external: opt(Type.Boolean({ description: 'Reachable on a load balancer address.' })),
  externalMethod: opt(
    StringEnum(EXTERNAL_METHODS, 'PortList (default): externalPorts only; WholeIP: every port.'),
  ),
  externalPorts: opt(
    Type.Array(Type.Integer(), { description: 'Ports forwarded with PortList (default [22]).' }),
  ),
  externalAllowICMP: opt(Type.Boolean({ description: 'Accept ICMP in PortList mode (default true).' })),
});
export type VMInstanceSpec = Static<typeof VMInstanceSpec>;

export const VMInstanceStatus = Obj('Where the VM is and how it is doing.', {
  printableStatus: opt(StringEnum(PRINTABLE_STATUSES, 'The VirtualMachine printableStatus.')),
  ipAddress: opt(Type.String({ description: 'Address of the first interface.' })),
  ipAddresses: opt(Type.Array(Type.String())),
  externalAddress: opt(Type.String({ description: 'The load balancer address, when external.' })),
  externalEndpoints: opt(
    Type.Array(Type.String(), { description: 'address:port served for each external port (PortList).' }),
  ),
  virtualMachine: opt(Type.String({ description: 'The VirtualMachine (vm-instance-<name>).' })),
  firmwareUUID: opt(Type.String({ description: 'SMBIOS UUID given to the guest.' })),
  observedGeneration: opt(Type.Integer()),
  conditions: opt(Conditions),
});

export const VMInstance = Obj('A VMInstance.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(VMInstanceSpec),
  status: opt(VMInstanceStatus),
});
export type VMInstance = Static<typeof VMInstance>;

/** The instance type in effect: the given one, "" (none), or the default when no resources are given. */
export function instanceTypeOf(spec: VMInstanceSpec | undefined): string {
  if (spec?.instanceType !== undefined) return spec.instanceType;
  const r = spec?.resources;
  const custom =
    r !== undefined && (r.cpu !== undefined || r.sockets !== undefined || r.memory !== undefined);
  return custom ? '' : DEFAULT_INSTANCE_TYPE;
}
export const instanceProfileOf = (spec: VMInstanceSpec | undefined): string =>
  spec?.instanceProfile ?? DEFAULT_INSTANCE_PROFILE;
export const networksOf = (spec: VMInstanceSpec | undefined): { name?: string }[] =>
  (spec?.networks ?? []).length > 0 ? (spec?.networks ?? []) : (spec?.subnets ?? []);

export function validateVMInstance(vm: VMInstance): FieldError[] {
  const errors: FieldError[] = [];
  const spec = vm.spec ?? {};
  const r = spec.resources ?? {};
  const type = instanceTypeOf(spec);
  // Compiled into the VM's domain.cpu.model: refused here rather than when the VM is written.
  const cpuProblem = (spec.cpuModel ?? '') === '' ? undefined : cpuModelProblem(spec.cpuModel ?? '');
  if (cpuProblem !== undefined) errors.push({ path: 'spec.cpuModel', message: cpuProblem });
  if (type === '') {
    for (const key of ['cpu', 'sockets', 'memory'] as const)
      if (r[key] === undefined)
        errors.push({
          path: `spec.resources.${key}`,
          reason: 'FieldValueRequired',
          message: 'Required value: without an instance type, resources need cpu, sockets and memory',
        });
  } else if (r.cpu !== undefined || r.sockets !== undefined || r.memory !== undefined)
    errors.push({
      path: 'spec.resources',
      reason: 'FieldValueForbidden',
      message: `Forbidden: instance type ${JSON.stringify(type)} sets the CPU and memory; set instanceType: "" to give resources`,
    });
  for (const key of ['cpu', 'sockets'] as const) {
    const v = r[key];
    const n = v === undefined ? undefined : parseQuantity(v)?.value;
    if (v !== undefined && !(n !== undefined && Number.isInteger(n) && n >= 1))
      errors.push({
        path: `spec.resources.${key}`,
        message: `Invalid value: ${JSON.stringify(v)}: must be a whole number, at least 1`,
      });
  }
  if (r.memory !== undefined && !((parseQuantity(r.memory)?.value ?? 0) >= 1024 * 1024))
    errors.push({
      path: 'spec.resources.memory',
      message: `Invalid value: ${JSON.stringify(r.memory)}: must be at least 1Mi`,
    });
  const seen = new Set<string>();
  (spec.disks ?? []).forEach((d, i) => {
    if (d.name === '')
      errors.push({ path: `spec.disks[${i}].name`, reason: 'FieldValueRequired', message: 'Required value' });
    else if (seen.has(d.name))
      errors.push({
        path: `spec.disks[${i}].name`,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${JSON.stringify(d.name)}`,
      });
    seen.add(d.name);
  });
  const netField = (spec.networks ?? []).length > 0 ? 'networks' : 'subnets';
  networksOf(spec).forEach((n, i) => {
    const at = `spec.${netField}[${i}].name`;
    const nn = n.name ?? '';
    if (nn === '') errors.push({ path: at, reason: 'FieldValueRequired', message: 'Required value' });
    // It names the VM's interface too, beside the pod network's "default".
    else if (nn === 'default' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(nn))
      errors.push({
        path: at,
        message: `Invalid value: ${JSON.stringify(nn)}: must be a DNS label other than "default"`,
      });
  });
  (spec.externalPorts ?? []).forEach((p, i) => {
    if (p < 1 || p > 65535)
      errors.push({
        path: `spec.externalPorts[${i}]`,
        message: `Invalid value: ${p}: must be a port, 1-65535`,
      });
  });
  (spec.sshKeys ?? []).forEach((k, i) => {
    if (!/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(k.trim()))
      errors.push({
        path: `spec.sshKeys[${i}]`,
        message: 'Invalid value: not an OpenSSH public key (ssh-ed25519 AAAA…)',
      });
  });
  return errors;
}

export const vmInstanceKind: KindDefinition = {
  group: COZYSTACK_GROUP,
  version: COZYSTACK_VERSION,
  kind: 'VMInstance',
  plural: 'vminstances',
  singular: 'vminstance',
  categories: ['all', 'cozy'],
  namespaced: true,
  description:
    "VMInstance is Hikube's VM: an instance type and profile (or custom resources), VMDisks, SSH keys, cloud-init and optional external access; compiled to a KubeVirt VirtualMachine.",
  schema: VMInstance,
  statusSubresource: true,
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.printableStatus', description: 'VM status' },
    { name: 'IP', type: 'string', jsonPath: '.status.ipAddress' },
    {
      name: 'External',
      type: 'string',
      jsonPath: '.status.externalAddress',
      description: 'Load balancer address',
    },
    {
      name: 'Endpoint',
      type: 'string',
      jsonPath: '.status.externalEndpoints[0]',
      description: 'address:port of the first external port',
      priority: 1,
    },
    { name: 'InstanceType', type: 'string', jsonPath: '.spec.instanceType', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  // The instance type, profile and disks it names may come later: the controller waits for them.
  validate: (o) => validateVMInstance(o),
};
