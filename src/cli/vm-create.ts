/**
 * `hikube vm create NAME --instancetype cx1.medium --os debian-12 [--ssh-key FILE] [--user-data
 * FILE] [--disk name=data,size=50Gi[,bus=virtio]]… [--dry-run -o yaml|json]`: a VirtualMachine as
 * a user of KubeVirt would write it — instance type and preference references, a root disk
 * (dataVolumeTemplate, thin qcow2) of the instance type's storage size cloned from the OS's golden
 * DataSource in kubevirt-os-images, blank extra disks, and cloud-init with the key. An OS whose
 * golden image is not there yet is imported from upstream first (on a connected machine).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { STORAGE_ANNOTATION } from '../api/catalog.js';
import type { KubeObject } from '../api/meta.js';
import { parseQuantity } from '../api/quantity.js';
import { KubeApiError, type KubeClient } from '../client/kube.js';
import {
  DEFAULT_PREFERENCE_LABEL,
  KERNEL_BOOT_ANNOTATION,
  OS_IMAGES_NAMESPACE,
  findOsImage,
} from '../storage/os-catalog.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { importUpstream } from './image-catalog.js';
import { subVerb } from './image.js';
import { EXPORT_USAGE, runVmExport } from './vm-export.js';
import { IMPORT_USAGE, runVmImport } from './vm-import.js';

const USAGE = `usage: hikube vm create NAME --instancetype TYPE --os OS [--ssh-key FILE] [--user-data FILE]
                        [--disk name=NAME,size=SIZE[,bus=virtio|sata|scsi]]... [--dry-run [-o yaml|json]]`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BUSES = ['virtio', 'sata', 'scsi', 'usb'];

export interface ExtraDisk {
  name: string;
  size: string;
  bus?: string;
}

/** `name=data,size=50Gi,bus=virtio` → a disk, or the reasons it is not one. */
export function parseDiskFlag(flag: string): ExtraDisk | string[] {
  const fields: Record<string, string> = {};
  const problems: string[] = [];
  for (const part of flag.split(',')) {
    const at = part.indexOf('=');
    const key = at < 0 ? part : part.slice(0, at);
    if (at < 0 || !['name', 'size', 'bus'].includes(key))
      problems.push(`--disk ${flag}: ${JSON.stringify(part)} is not name=…, size=… or bus=…`);
    else fields[key] = part.slice(at + 1);
  }
  const { name, size, bus } = fields;
  if (name === undefined) problems.push(`--disk ${flag}: name=… is required`);
  else if (!DNS_LABEL.test(name) || name.length > 40)
    problems.push(`--disk ${flag}: name ${JSON.stringify(name)} must be a DNS label (a-z, 0-9, -)`);
  else if (name === 'root' || name === 'cloudinit')
    problems.push(`--disk ${flag}: the name ${name} is taken by the VM's own disks`);
  if (size === undefined) problems.push(`--disk ${flag}: size=… is required (e.g. size=50Gi)`);
  else if (!((parseQuantity(size)?.value ?? 0) > 0))
    problems.push(`--disk ${flag}: size ${JSON.stringify(size)} is not a positive quantity such as 50Gi`);
  if (bus !== undefined && !BUSES.includes(bus))
    problems.push(`--disk ${flag}: bus ${JSON.stringify(bus)} is not one of ${BUSES.join(', ')}`);
  if (problems.length > 0) return problems;
  return { name: name ?? '', size: size ?? '', ...(bus !== undefined ? { bus } : {}) };
}

/** The cloud-init user-data: the user's, with the key added to a #cloud-config; or just the key. */
export function userDataWith(userData: string | undefined, sshKey: string | undefined): string | undefined {
  if (sshKey === undefined) return userData;
  if (userData === undefined) return `#cloud-config\nssh_authorized_keys:\n  - ${sshKey}\n`;
  if (!userData.startsWith('#cloud-config'))
    throw new UsageError('--ssh-key goes with a #cloud-config --user-data only (yours is a script)');
  const doc = (parse(userData) ?? {}) as Record<string, unknown>;
  const keys = Array.isArray(doc['ssh_authorized_keys']) ? (doc['ssh_authorized_keys'] as unknown[]) : [];
  doc['ssh_authorized_keys'] = [...keys, sshKey];
  return `#cloud-config\n${stringify(doc)}`;
}

export interface VmPlan {
  name: string;
  namespace: string;
  instancetype: string;
  preference?: string;
  os: string;
  rootSize: string;
  disks: ExtraDisk[];
  userData?: string;
  kernelBoot?: unknown;
}

/** The VirtualMachine of a plan (pure: what --dry-run prints and what is created). */
export function vmManifest(p: VmPlan): KubeObject {
  const dv = (name: string, spec: Record<string, unknown>, size: string): Record<string, unknown> => ({
    metadata: { name },
    spec: { ...spec, storage: { resources: { requests: { storage: size } } } },
  });
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: p.name, namespace: p.namespace, labels: { 'os.hikube.io/image': p.os } },
    spec: {
      runStrategy: 'Always',
      instancetype: { kind: 'VirtualMachineClusterInstancetype', name: p.instancetype },
      ...(p.preference !== undefined
        ? { preference: { kind: 'VirtualMachineClusterPreference', name: p.preference } }
        : {}),
      dataVolumeTemplates: [
        dv(
          `${p.name}-root`,
          { sourceRef: { kind: 'DataSource', name: p.os, namespace: OS_IMAGES_NAMESPACE } },
          p.rootSize,
        ),
        ...p.disks.map((d) => dv(`${p.name}-${d.name}`, { source: { blank: {} } }, d.size)),
      ],
      template: {
        metadata: { labels: { 'kubevirt.io/domain': p.name } },
        spec: {
          domain: {
            ...(p.kernelBoot !== undefined ? { firmware: { kernelBoot: p.kernelBoot } } : {}),
            devices: {
              disks: [
                { name: 'root', disk: {}, bootOrder: 1 },
                ...p.disks.map((d) => ({ name: d.name, disk: d.bus !== undefined ? { bus: d.bus } : {} })),
                ...(p.userData !== undefined ? [{ name: 'cloudinit', disk: {} }] : []),
              ],
            },
          },
          volumes: [
            { name: 'root', dataVolume: { name: `${p.name}-root` } },
            ...p.disks.map((d) => ({ name: d.name, dataVolume: { name: `${p.name}-${d.name}` } })),
            ...(p.userData !== undefined
              ? [{ name: 'cloudinit', cloudInitNoCloud: { userData: p.userData } }]
              : []),
          ],
        },
      },
    },
  };
}

export async function runVm(args: string[]): Promise<void> {
  const [verb, rest] = subVerb(args);
  if (verb === 'export') return runVmExport(rest);
  if (verb === 'import') return runVmImport(rest);
  if (verb !== 'create') throw new UsageError(`${USAGE}\n${EXPORT_USAGE}\n${IMPORT_USAGE}`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      instancetype: { type: 'string' },
      os: { type: 'string' },
      'ssh-key': { type: 'string' },
      'user-data': { type: 'string' },
      disk: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
      output: { type: 'string', short: 'o' },
    },
  });
  const problems: string[] = [];
  const [name, extra] = positionals;
  if (name === undefined) problems.push('vm create needs a NAME');
  else if (!DNS_LABEL.test(name) || name.length > 50)
    problems.push(`NAME ${JSON.stringify(name)} must be a DNS label (a-z, 0-9, -) of at most 50 characters`);
  if (extra !== undefined) problems.push(`unexpected argument ${JSON.stringify(extra)}`);
  if (values.instancetype === undefined) problems.push('--instancetype is required (e.g. cx1.medium)');
  if (values.os === undefined) problems.push('--os is required (hikube image list shows them)');
  if (values.output !== undefined && !values['dry-run']) problems.push('-o goes with --dry-run');
  if (values.output !== undefined && !['yaml', 'json'].includes(values.output))
    problems.push(`-o ${values.output}: use yaml or json`);
  const disks: ExtraDisk[] = [];
  for (const flag of values.disk ?? []) {
    const d = parseDiskFlag(flag);
    if (Array.isArray(d)) problems.push(...d);
    else if (disks.some((x) => x.name === d.name))
      problems.push(`--disk ${flag}: a disk ${d.name} is given twice`);
    else disks.push(d);
  }
  const read = (flag: 'ssh-key' | 'user-data'): string | undefined => {
    const file = values[flag];
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`--${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  };
  const sshKey = read('ssh-key')?.trim();
  const userData = read('user-data');
  if (values['ssh-key'] !== undefined && sshKey !== undefined && !/^(ssh|ecdsa|sk)-[\w@.-]+ \S+/.test(sshKey))
    problems.push(`--ssh-key ${values['ssh-key']}: not an OpenSSH public key (give the .pub file)`);
  if (problems.length > 0) throw new UsageError(`${problems.join('\n')}\n${USAGE}`);

  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  const typeName = values.instancetype ?? '';
  const type = await getOrUndefined<KubeObject>(
    c,
    `/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes/${encodeURIComponent(typeName)}`,
  );
  if (type === undefined) {
    const all = await c.call<{ items: KubeObject[] }>(
      'GET',
      '/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes',
    );
    throw new UsageError(
      `--instancetype ${typeName}: no such instance type; there are ${all.value.items.map((t) => t.metadata.name).join(', ')}`,
    );
  }
  const rootSize = type.metadata.annotations?.[STORAGE_ANNOTATION] ?? '10Gi';
  const osName = findOsImage(values.os ?? '')?.name ?? values.os ?? '';
  const dsPath = (n: string): string =>
    `/apis/cdi.kubevirt.io/v1beta1/namespaces/${OS_IMAGES_NAMESPACE}/datasources/${encodeURIComponent(n)}`;
  const ds = await getOrUndefined<
    KubeObject & { status?: { conditions?: { type: string; status: string; message?: string }[] } }
  >(c, dsPath(osName));
  if (ds === undefined) {
    const all = await c.call<{ items: KubeObject[] }>('GET', dsPath('').replace(/\/$/, ''));
    throw new UsageError(
      `--os ${values.os ?? ''}: no such image; there are ${all.value.items.map((d) => d.metadata.name).join(', ')}`,
    );
  }
  const kernelBoot = ds.metadata.annotations?.[KERNEL_BOOT_ANNOTATION];
  const preference = ds.metadata.labels?.[DEFAULT_PREFERENCE_LABEL];
  const plan: VmPlan = {
    name: name ?? '',
    namespace,
    instancetype: typeName,
    os: osName,
    rootSize,
    disks,
    ...(preference !== undefined ? { preference } : {}),
    ...(kernelBoot !== undefined ? { kernelBoot: JSON.parse(kernelBoot) as unknown } : {}),
  };
  const ud = userDataWith(userData, sshKey);
  if (ud !== undefined) plan.userData = ud;
  const vm = vmManifest(plan);
  if (values['dry-run']) {
    process.stdout.write(values.output === 'json' ? `${JSON.stringify(vm, null, 2)}\n` : stringify(vm));
    return;
  }
  const ready = ds.status?.conditions?.find((x) => x.type === 'Ready');
  if (ready?.status !== 'True') {
    const golden = await getOrUndefined(
      c,
      `/api/v1/namespaces/${OS_IMAGES_NAMESPACE}/persistentvolumeclaims/${encodeURIComponent(osName)}`,
    );
    if (golden === undefined) {
      const said = await importUpstream(c, osName, '10Gi').catch(
        (err: unknown) =>
          `${err instanceof Error ? err.message : String(err)}\nthe VM waits (Provisioning) until it is imported\n`,
      );
      process.stderr.write(`the ${osName} image is not here yet: ${said}`);
    }
  }
  await c.call(
    'POST',
    `/apis/kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachines`,
    vm,
  );
  process.stdout.write(
    `virtualmachine.kubevirt.io/${plan.name} created (${typeName}, ${osName}, root disk ${rootSize}${disks.map((d) => `, ${d.name} ${d.size}`).join('')})\n`,
  );
}

async function getOrUndefined<T>(c: KubeClient, path: string): Promise<T | undefined> {
  try {
    return (await c.call<T>('GET', path)).value;
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return undefined;
    throw err;
  }
}
