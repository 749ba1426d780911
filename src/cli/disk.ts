/**
 * `hikube disk create|list|resize|delete`: persistent disks as DataVolumes and their PVCs.
 * `create` makes a DataVolume (blank, or from a URL, another disk, a DataSource, or a local file
 * it then uploads); `list` joins each claim with its DataVolume and the VMs using it; `resize`
 * grows the claim (online when a VM runs on it); `delete` removes the DataVolume (or the bare
 * claim), whose disk goes once no VM uses it.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { parseQuantity } from '../api/quantity.js';
import { KubeApiError, type KubeClient } from '../client/kube.js';
import { connectionOptions, loadClient } from './context.js';
import { attachDisk, detachDisk } from './disk-attach.js';
import { UsageError } from './errors.js';
import { parseFlags, runVerb } from './verbs.js';
import { dvPath, uploadDisk, waitForPhase } from './image.js';
import { renderTable, outputFormat, listFlags } from './output.js';

const pvcPath = (namespace: string | undefined, name?: string): string =>
  `/api/v1${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/persistentvolumeclaims${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

const USAGE = `usage:
  hikube disk create NAME --size SIZE [--from-url URL [--checksum ALG:HEX]] [--from-disk NAME]
                          [--from-datasource NAME] [--upload FILE] [--storage-class SC]
                          [--volume-mode Filesystem|Block] [--access-mode MODE] [--wait]
  hikube disk list [-o table|wide|json|yaml|name] [-A]
  hikube disk resize NAME SIZE [--wait]
  hikube disk delete NAME...
  hikube disk attach VM DISK [--bus virtio|sata|scsi|usb]    (a stopped VM)
  hikube disk detach VM DISK`;

export async function runDisk(args: string[]): Promise<void> {
  return runVerb(
    args,
    { create, list, ls: list, resize, delete: remove, rm: remove, attach: attachDisk, detach: detachDisk },
    USAGE,
  );
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    size: { type: 'string' },
    'from-url': { type: 'string' },
    checksum: { type: 'string' },
    'from-disk': { type: 'string' },
    'from-datasource': { type: 'string' },
    upload: { type: 'string' },
    'storage-class': { type: 'string' },
    'volume-mode': { type: 'string' },
    'access-mode': { type: 'string' },
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
  });
  const [name] = positionals;
  if (name === undefined) throw new UsageError(`disk create needs a NAME\n${USAGE}`);
  const sources = ['from-url', 'from-disk', 'from-datasource', 'upload'].filter(
    (k) => values[k as keyof typeof values] !== undefined,
  );
  if (sources.length > 1) throw new UsageError(`give at most one of --${sources.join(', --')}`);
  if (
    values.size === undefined &&
    values['from-disk'] === undefined &&
    values['from-datasource'] === undefined &&
    values.upload === undefined
  )
    throw new UsageError('disk create needs --size (e.g. --size 10Gi)');
  if (values.size !== undefined && parseQuantity(values.size) === undefined)
    throw new UsageError(`--size ${JSON.stringify(values.size)} is not a quantity such as 10Gi`);
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  const timeoutS = Number(values.timeout);
  if (values.upload !== undefined) {
    await uploadDisk(c, namespace, name, values.upload, {
      create: true,
      timeoutS,
      ...(values.size !== undefined ? { size: values.size } : {}),
      ...(values['storage-class'] !== undefined ? { storageClass: values['storage-class'] } : {}),
      ...(values['access-mode'] !== undefined ? { accessMode: values['access-mode'] } : {}),
      ...(values['volume-mode'] !== undefined ? { volumeMode: values['volume-mode'] } : {}),
    });
    return;
  }
  const storage: Record<string, unknown> = {
    ...(values.size !== undefined ? { resources: { requests: { storage: values.size } } } : {}),
    ...(values['storage-class'] !== undefined ? { storageClassName: values['storage-class'] } : {}),
    ...(values['access-mode'] !== undefined ? { accessModes: [values['access-mode']] } : {}),
    ...(values['volume-mode'] !== undefined ? { volumeMode: values['volume-mode'] } : {}),
  };
  const spec: Record<string, unknown> = { storage };
  if (values['from-url'] !== undefined)
    spec['source'] = {
      http: {
        url: values['from-url'],
        ...(values.checksum !== undefined ? { checksum: values.checksum } : {}),
      },
    };
  else if (values['from-disk'] !== undefined)
    spec['source'] = { pvc: { name: values['from-disk'], namespace } };
  else if (values['from-datasource'] !== undefined)
    spec['sourceRef'] = { kind: 'DataSource', name: values['from-datasource'] };
  else spec['source'] = { blank: {} };
  await c.call('POST', dvPath(namespace), {
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name },
    spec,
  });
  process.stdout.write(`datavolume.cdi.kubevirt.io/${name} created\n`);
  if (!values.wait) return;
  const tty = process.stderr.isTTY;
  await waitForPhase(c, namespace, name, ['Succeeded'], timeoutS, (phase, progress) =>
    process.stderr.write(`${tty ? '\r\x1b[K' : ''}${name}: ${phase} ${progress}${tty ? '' : '\n'}`),
  );
  if (tty) process.stderr.write('\n');
  process.stdout.write(`disk ${name} is ready\n`);
}

interface Claim extends KubeObject {
  spec: { resources?: { requests?: { storage?: string } }; storageClassName?: string; volumeMode?: string };
  status?: { phase?: string; capacity?: { storage?: string } };
}
interface Dv extends KubeObject {
  spec: {
    source?: {
      http?: { url: string };
      pvc?: { name: string; namespace?: string };
      upload?: object;
      blank?: object;
    };
    sourceRef?: { name: string };
  };
  status?: { phase?: string; progress?: string };
}
interface Vmi extends KubeObject {
  spec: { volumes?: { persistentVolumeClaim?: { claimName: string }; dataVolume?: { name: string } }[] };
  status?: { phase?: string };
}

async function list(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...connectionOptions,
      ...listFlags,
    },
  });
  const format = outputFormat(values.output);
  const c = loadClient(values);
  const all = values['all-namespaces'] === true;
  const namespace = all ? undefined : (values.namespace ?? c.namespace);
  const claims = (await c.call<{ items: Claim[] }>('GET', pvcPath(namespace))).value.items;
  if (format === 'json' || format === 'yaml' || format === 'name') {
    if (format === 'name')
      process.stdout.write(claims.map((o) => `persistentvolumeclaim/${o.metadata.name ?? ''}\n`).join(''));
    else {
      const value = { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: claims };
      process.stdout.write(
        `${format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd()}\n`,
      );
    }
    return;
  }
  const nsPart = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const dvs = (await c.call<{ items: Dv[] }>('GET', `/apis/cdi.kubevirt.io/v1beta1${nsPart}/datavolumes`))
    .value.items;
  const vmis = (
    await c.call<{ items: Vmi[] }>('GET', `/apis/kubevirt.io/v1${nsPart}/virtualmachineinstances`)
  ).value.items;
  const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  const rows = claims.map((claim) => {
    const dv = dvs.find((d) => key(d) === key(claim));
    const users = vmis
      .filter(
        (v) =>
          v.metadata.namespace === claim.metadata.namespace &&
          v.status?.phase !== 'Succeeded' &&
          v.status?.phase !== 'Failed' &&
          (v.spec.volumes ?? []).some(
            (vol) => (vol.persistentVolumeClaim?.claimName ?? vol.dataVolume?.name) === claim.metadata.name,
          ),
      )
      .map((v) => v.metadata.name ?? '');
    const phase =
      claim.metadata.deletionTimestamp !== undefined
        ? 'Terminating'
        : dv?.status?.phase !== undefined && dv.status.phase !== 'Succeeded'
          ? dv.status.phase
          : (claim.status?.phase ?? 'Pending');
    return {
      cells: [
        claim.metadata.name ?? '',
        claim.status?.capacity?.storage ?? claim.spec.resources?.requests?.storage ?? '',
        phase,
        dv?.status?.progress ?? '',
        sourceOf(dv),
        users.join(',') || '<none>',
        claim.spec.storageClassName ?? '',
        claim.spec.volumeMode ?? 'Filesystem',
      ],
      object: { metadata: { namespace: claim.metadata.namespace ?? '' } },
    };
  });
  if (rows.length === 0) {
    process.stderr.write(`No disks found${namespace !== undefined ? ` in ${namespace} namespace` : ''}.\n`);
    return;
  }
  const columns = ['Name', 'Size', 'Status', 'Progress', 'Source', 'Used By', 'StorageClass', 'Mode'].map(
    (name, i) => ({ name, priority: i < 6 ? 0 : 1 }),
  );
  process.stdout.write(`${renderTable({ columnDefinitions: columns, rows }, format === 'wide', all)}\n`);
}

function sourceOf(dv: Dv | undefined): string {
  if (dv === undefined) return '<none>';
  const s = dv.spec.source;
  if (dv.spec.sourceRef !== undefined) return `datasource/${dv.spec.sourceRef.name}`;
  if (s?.http !== undefined) return s.http.url;
  if (s?.pvc !== undefined) return `disk/${s.pvc.name}`;
  if (s?.upload !== undefined) return 'upload';
  if (s?.blank !== undefined) return 'blank';
  return '<none>';
}

async function resize(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '120' },
  });
  const [name, size] = positionals;
  if (name === undefined || size === undefined)
    throw new UsageError(`disk resize needs NAME and SIZE\n${USAGE}`);
  const want = parseQuantity(size);
  if (want === undefined) throw new UsageError(`${JSON.stringify(size)} is not a quantity such as 20Gi`);
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  await c.call(
    'PATCH',
    pvcPath(namespace, name),
    { spec: { resources: { requests: { storage: size } } } },
    { 'Content-Type': 'application/merge-patch+json' },
  );
  process.stdout.write(`disk ${name} resizing to ${size}\n`);
  if (!values.wait) return;
  await waitCapacity(c, namespace, name, want.value, Number(values.timeout));
  process.stdout.write(`disk ${name} is now ${size}\n`);
}

async function waitCapacity(
  c: KubeClient,
  namespace: string,
  name: string,
  bytes: number,
  timeoutS: number,
): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const { value } = await c.call<Claim>('GET', pvcPath(namespace, name));
    const have = parseQuantity(value.status?.capacity?.storage ?? '0')?.value ?? 0;
    if (have >= bytes) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutS}s waiting for disk ${name} to grow`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {});
  if (positionals.length === 0) throw new UsageError(`disk delete needs a NAME\n${USAGE}`);
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  for (const name of positionals) {
    try {
      await c.call('DELETE', dvPath(namespace, name), { propagationPolicy: 'Background' });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 404)) throw err;
      await c.call('DELETE', pvcPath(namespace, name), { propagationPolicy: 'Background' });
    }
    const vmis = (
      await c.call<{ items: Vmi[] }>(
        'GET',
        `/apis/kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances`,
      )
    ).value.items;
    const users = vmis
      .filter(
        (v) =>
          v.status?.phase !== 'Succeeded' &&
          v.status?.phase !== 'Failed' &&
          (v.spec.volumes ?? []).some(
            (vol) => (vol.persistentVolumeClaim?.claimName ?? vol.dataVolume?.name) === name,
          ),
      )
      .map((v) => v.metadata.name ?? '');
    process.stdout.write(
      `disk ${name} deleted${users.length > 0 ? ` (its data stays until ${users.join(', ')} stops: pvc-protection)` : ''}
`,
    );
  }
}
