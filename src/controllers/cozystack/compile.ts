/**
 * Hikube's kinds compiled to the objects that run them, as Cozystack's vm-disk and vm-instance
 * charts render them: a VMDisk is a DataVolume `vm-disk-<name>`; a VMInstance is a VirtualMachine
 * `vm-instance-<name>`, a Secret of its SSH keys, a Secret of its cloud-init user data and a
 * Service. Pure: the reconciler gives what it read (disks, the existing VM) and writes the result.
 */
import { goldenImageName } from '../../api/cozystack/golden-names.js';
import { createHash } from 'node:crypto';
import type { DataVolume } from '../../api/cdi/datavolume.js';
import type { Service } from '../../api/core/service.js';
import {
  COZYSTACK_GROUP,
  COZYSTACK_VERSION,
  diskObjectName,
  GOLDEN_IMAGES_NAMESPACE,
  KERNEL_IMAGE_ANNOTATION,
  OPTICAL_ANNOTATION,
  DEFAULT_DISK_SIZE,
  type VMDisk,
} from '../../api/cozystack/vmdisk.js';
import {
  DEFAULT_EXTERNAL_PORTS,
  instanceObjectName,
  instanceProfileOf,
  instanceTypeOf,
  networksOf,
  type VMInstance,
} from '../../api/cozystack/vminstance.js';
import type { VirtualMachine } from '../../api/kubevirt/vm.js';
import type { KubeObject, OwnerReference } from '../../api/meta.js';
import { parseQuantity } from '../../api/quantity.js';
import { WHOLE_IP_ANNOTATION } from '../service/allocate.js';

/** Service annotations Cozystack's cozy-proxy reads (wholeIP is served by src/network/proxy/wholeip.ts). */
export const ALLOW_ICMP_ANNOTATION = 'networking.cozystack.io/allowICMP';
/** The port of a Service that only exists to name the VM (headless) or to carry a whole address. */
export const PLACEHOLDER_PORT = 65535;

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const ownerRef = (o: KubeObject, kind: string): OwnerReference => ({
  apiVersion: `${COZYSTACK_GROUP}/${COZYSTACK_VERSION}`,
  kind,
  name: o.metadata.name ?? '',
  uid: o.metadata.uid ?? '',
  controller: true,
  blockOwnerDeletion: true,
});

export function compileDisk(disk: VMDisk, kernelImage?: string): DataVolume {
  const name = disk.metadata.name ?? '';
  const namespace = disk.metadata.namespace ?? '';
  const spec = disk.spec ?? {};
  const s = spec.source ?? {};
  const annotations: Record<string, string> = { [OPTICAL_ANNOTATION]: String(spec.optical === true) };
  if (kernelImage !== undefined) annotations[KERNEL_IMAGE_ANNOTATION] = kernelImage;
  const dv: DataVolume = {
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: {
      name: diskObjectName(name),
      namespace,
      labels: {
        'app.kubernetes.io/instance': diskObjectName(name),
        'apps.cozystack.io/application.kind': 'VMDisk',
        'apps.cozystack.io/application.name': name,
      },
      annotations,
      ownerReferences: [ownerRef(disk, 'VMDisk')],
    },
    spec: {
      contentType: 'kubevirt',
      storage: {
        resources: { requests: { storage: spec.storage ?? DEFAULT_DISK_SIZE } },
        ...(spec.storageClass !== undefined && spec.storageClass !== ''
          ? { storageClassName: spec.storageClass }
          : {}),
      },
    },
  };
  if (s.image !== undefined)
    dv.spec.sourceRef = {
      kind: 'DataSource',
      namespace: GOLDEN_IMAGES_NAMESPACE,
      name: goldenImageName(s.image.name),
    };
  else if (s.http !== undefined) dv.spec.source = { http: { url: s.http.url } };
  else if (s.upload !== undefined) dv.spec.source = { upload: {} };
  else if (s.disk !== undefined) dv.spec.source = { pvc: { namespace, name: diskObjectName(s.disk.name) } };
  else dv.spec.source = { blank: {} };
  return dv;
}

/**
 * The SMBIOS UUID of a VMInstance: a hash of namespace, VM name and seed shaped as a UUID (as
 * Cozystack derives it), so a new seed is a new machine to cloud-init. With no seed, an existing
 * VM keeps the UUID it has.
 */
export function stableUuid(namespace: string, name: string, seed: string, existing?: string): string {
  if (seed === '' && existing !== undefined && existing !== '') return existing;
  const h = createHash('sha256')
    .update(`${namespace}-${instanceObjectName(name)}-${seed}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-9${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const selectorLabels = (name: string): Record<string, string> => ({
  'app.kubernetes.io/name': 'vm-instance',
  'app.kubernetes.io/instance': instanceObjectName(name),
});

export interface InstanceObjects {
  vm: VirtualMachine;
  secrets: Secret[];
  service: Service;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const int = (q: string | number | undefined): number => Math.round(parseQuantity(q ?? 0)?.value ?? 0);

/** What the VMI reconciler reads before compiling: the VMDisks by name, the VM as it is. */
export interface InstanceContext {
  disks: ReadonlyMap<string, VMDisk>;
  /** The annotation of the boot disk's DataVolume naming a node image to kernel-boot from. */
  kernelImage?: string;
  existingUuid?: string;
}

export function compileInstance(inst: VMInstance, ctx: InstanceContext): InstanceObjects {
  const name = inst.metadata.name ?? '';
  const namespace = inst.metadata.namespace ?? '';
  const spec = inst.spec ?? {};
  const full = instanceObjectName(name);
  const owner = ownerRef(inst, 'VMInstance');
  const labels = {
    ...selectorLabels(name),
    'apps.cozystack.io/application.kind': 'VMInstance',
    'apps.cozystack.io/application.name': name,
  };
  const meta = (objectName: string): KubeObject['metadata'] => ({
    name: objectName,
    namespace,
    labels,
    ownerReferences: [owner],
  });
  const sshKeys = spec.sshKeys ?? [];
  const cloudInit = spec.cloudInit ?? '';
  const hasSeed = cloudInit !== '' || sshKeys.length > 0;

  const secrets: Secret[] = [];
  if (sshKeys.length > 0)
    secrets.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(`${full}-ssh-keys`),
      type: 'Opaque',
      data: Object.fromEntries(sshKeys.map((k, i) => [`key${i}`, b64(k)])),
    });
  if (hasSeed) {
    // Keys travel in accessCredentials; a minimal cloud-config carries them when no user data is given.
    const userdata =
      cloudInit !== ''
        ? cloudInit
        : `#cloud-config\nssh_authorized_keys:\n${sshKeys.map((k) => `  - ${JSON.stringify(k)}`).join('\n')}\n`;
    secrets.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(`${full}-cloud-init`),
      type: 'Opaque',
      data: { userdata: b64(userdata) },
    });
  }

  const disks: Record<string, unknown>[] = (spec.disks ?? []).map((d, i) => {
    const optical = ctx.disks.get(d.name)?.spec?.optical === true;
    const device = d.bus !== undefined ? { bus: d.bus } : {};
    return { name: `disk-${d.name}`, [optical ? 'cdrom' : 'disk']: device, bootOrder: i + 1 };
  });
  const volumes: Record<string, unknown>[] = (spec.disks ?? []).map((d) => ({
    name: `disk-${d.name}`,
    dataVolume: { name: diskObjectName(d.name) },
  }));
  if (hasSeed) {
    disks.push({ name: 'cloudinitdisk', disk: {} });
    volumes.push({ name: 'cloudinitdisk', cloudInitNoCloud: { secretRef: { name: `${full}-cloud-init` } } });
  }
  const networks = networksOf(spec);
  const domain: Record<string, unknown> = {
    firmware: {
      uuid: stableUuid(namespace, name, spec.cloudInitSeed ?? '', ctx.existingUuid),
      ...(ctx.kernelImage !== undefined
        ? {
            kernelBoot: {
              container: { image: ctx.kernelImage, kernelPath: '/vmlinux', initrdPath: '/initrd.img' },
            },
          }
        : {}),
    },
    devices: {
      disks,
      interfaces: [
        { name: 'default', bridge: {} },
        ...networks.map((n) => ({ name: n.name ?? '', bridge: {} })),
      ],
      ...((spec.gpus ?? []).length > 0
        ? { gpus: (spec.gpus ?? []).map((g, i) => ({ name: `gpu${i + 1}`, deviceName: g.name })) }
        : {}),
    },
  };
  const r = spec.resources;
  const type = instanceTypeOf(spec);
  const cpu: Record<string, unknown> = {};
  if (type === '' && r?.cpu !== undefined && r.sockets !== undefined) {
    cpu['cores'] = int(r.cpu);
    cpu['sockets'] = int(r.sockets);
  }
  if ((spec.cpuModel ?? '') !== '') cpu['model'] = spec.cpuModel;
  if (Object.keys(cpu).length > 0) domain['cpu'] = cpu;
  if (type === '' && r?.memory !== undefined)
    domain['resources'] = { requests: { memory: String(r.memory) } };

  const templateSpec: Record<string, unknown> = {
    domain,
    terminationGracePeriodSeconds: 30,
    volumes,
    networks: [
      { name: 'default', pod: {} },
      ...networks.map((n) => ({
        name: n.name ?? '',
        multus: { networkName: `${namespace}/${n.name ?? ''}` },
      })),
    ],
  };
  if (sshKeys.length > 0)
    templateSpec['accessCredentials'] = [
      {
        sshPublicKey: {
          source: { secret: { secretName: `${full}-ssh-keys` } },
          propagationMethod: { noCloud: {} },
        },
      },
    ];
  const profile = instanceProfileOf(spec);
  const vm = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: meta(full),
    spec: {
      runStrategy: spec.runStrategy ?? (spec.running === false ? 'Halted' : 'Always'),
      ...(type !== '' ? { instancetype: { kind: 'VirtualMachineClusterInstancetype', name: type } } : {}),
      ...(profile !== '' ? { preference: { kind: 'VirtualMachineClusterPreference', name: profile } } : {}),
      template: { metadata: { labels: selectorLabels(name) }, spec: templateSpec },
    },
  } as unknown as VirtualMachine;

  return { vm, secrets, service: compileService(inst, meta(full)) };
}

function compileService(inst: VMInstance, metadata: KubeObject['metadata']): Service {
  const spec = inst.spec ?? {};
  const selector = selectorLabels(inst.metadata.name ?? '');
  if (spec.external !== true)
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata,
      spec: { type: 'ClusterIP', clusterIP: 'None', selector, ports: [{ port: PLACEHOLDER_PORT }] },
    };
  const wholeIp = spec.externalMethod === 'WholeIP';
  const ports = spec.externalPorts ?? DEFAULT_EXTERNAL_PORTS;
  const annotations: Record<string, string> = { [WHOLE_IP_ANNOTATION]: String(wholeIp) };
  if (!wholeIp) annotations[ALLOW_ICMP_ANNOTATION] = String(spec.externalAllowICMP !== false);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...metadata, annotations },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      selector,
      ports:
        wholeIp && ports.length === 0
          ? [{ port: PLACEHOLDER_PORT }]
          : ports.map((p) => ({ name: `port-${p}`, port: p, targetPort: p })),
    },
  };
}
