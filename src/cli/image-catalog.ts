/**
 * `hikube image list`: the OS catalog and imported images, as the DataSources of
 * kubevirt-os-images with their golden PVCs (name, OS, size, source, status). `hikube image
 * import NAME` without a file (a catalog name) imports the upstream image a user expects into the
 * golden PVC, with a DataVolume from the containerdisks registry or the official cloud image URL.
 */
import { parseArgs } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import type { KubeClient } from '../client/kube.js';
import {
  DISPLAY_NAME_ANNOTATION,
  LOCAL_IMAGE_ANNOTATION,
  OS_IMAGES_NAMESPACE,
  OS_LABEL,
  UPSTREAM_ANNOTATION,
  findOsImage,
} from '../storage/os-catalog.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { OUTPUT_FORMATS, renderObjects, renderTable, type OutputFormat } from './output.js';

interface Ds extends KubeObject {
  spec: { source: { pvc?: { name: string; namespace?: string } } };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
interface Pvc extends KubeObject {
  status?: { phase?: string; capacity?: { storage?: string } };
}
interface Dv extends KubeObject {
  status?: { phase?: string; progress?: string };
}

const nsPath = (group: string, plural: string): string =>
  `${group === '' ? '/api/v1' : `/apis/${group}`}/namespaces/${OS_IMAGES_NAMESPACE}/${plural}`;

export async function listImages(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...connectionOptions, output: { type: 'string', short: 'o', default: 'table' } },
  });
  const format = values.output as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format))
    throw new UsageError(`-o must be one of ${OUTPUT_FORMATS.join(', ')}`);
  const c = loadClient(values);
  const [sources, claims, dvs] = await Promise.all([
    c.call<{ items: Ds[] }>('GET', nsPath('cdi.kubevirt.io/v1beta1', 'datasources')),
    c.call<{ items: Pvc[] }>('GET', nsPath('', 'persistentvolumeclaims')),
    c.call<{ items: Dv[] }>('GET', nsPath('cdi.kubevirt.io/v1beta1', 'datavolumes')),
  ]);
  const items = sources.value.items.sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  if (format !== 'table' && format !== 'wide') {
    process.stdout.write(`${renderObjects(items, format, false, 'datasource', 'cdi.kubevirt.io')}\n`);
    return;
  }
  const rows = items.map((ds) => {
    const ann = ds.metadata.annotations ?? {};
    const claim = claims.value.items.find((p) => p.metadata.name === ds.spec.source.pvc?.name);
    const dv = dvs.value.items.find((d) => d.metadata.name === ds.spec.source.pvc?.name);
    const ready = ds.status?.conditions?.find((x) => x.type === 'Ready');
    const status =
      ready?.status === 'True'
        ? 'Ready'
        : dv !== undefined && dv.status?.phase !== 'Succeeded'
          ? `${dv.status?.phase ?? 'Pending'} ${dv.status?.progress ?? ''}`.trim()
          : claim === undefined
            ? 'NotImported'
            : (ready?.reason ?? 'Pending');
    const local = ann[LOCAL_IMAGE_ANNOTATION];
    const source =
      local !== undefined
        ? `local ${local}`
        : (claim?.metadata.annotations?.['cdi.kubevirt.io/storage.import.endpoint'] ??
          ann[UPSTREAM_ANNOTATION] ??
          '');
    return {
      cells: [
        ds.metadata.name ?? '',
        ds.metadata.labels?.[OS_LABEL] ?? '',
        claim?.status?.capacity?.storage ?? '-',
        source,
        status,
        ann[DISPLAY_NAME_ANNOTATION] ?? '',
      ],
    };
  });
  process.stdout.write(
    `${renderTable(
      {
        columnDefinitions: [
          { name: 'Name', priority: 0 },
          { name: 'OS', priority: 0 },
          { name: 'Size', priority: 0 },
          { name: 'Source', priority: 0 },
          { name: 'Status', priority: 0 },
          { name: 'Display name', priority: 1 },
        ],
        rows,
      },
      format === 'wide',
      false,
    )}\n`,
  );
}

/** `hikube image import NAME` for a catalog name: a DataVolume filling its golden PVC from upstream. */
export async function importUpstream(c: KubeClient, name: string, size: string): Promise<string> {
  const entry = findOsImage(name);
  if (entry === undefined)
    throw new UsageError(
      `${JSON.stringify(name)} is not in the OS catalog (hikube image list): give a FILE or URL to import`,
    );
  const source =
    entry.containerDisk !== undefined
      ? { registry: { url: `docker://${entry.containerDisk}` } }
      : entry.url !== undefined
        ? { http: { url: entry.url } }
        : undefined;
  if (source === undefined)
    throw new UsageError(
      `${entry.displayName} has no public image: import yours with hikube image import ${entry.name} FILE`,
    );
  await createGoldenDv(c, entry.name, source, size);
  return `importing ${entry.displayName} from ${entry.containerDisk ?? entry.url ?? ''} into ${OS_IMAGES_NAMESPACE}/${entry.name} (hikube image list shows the progress)\n`;
}

/** `hikube image import NAME URL`: an http(s) or docker:// URL imported into the golden PVC NAME. */
export async function importUrl(c: KubeClient, name: string, url: string, size: string): Promise<void> {
  const source = url.startsWith('docker://') ? { registry: { url } } : { http: { url } };
  const entry = findOsImage(name);
  await createGoldenDv(c, entry?.name ?? name, source, size);
  process.stdout.write(`importing ${url} into ${OS_IMAGES_NAMESPACE}/${entry?.name ?? name}\n`);
}

async function createGoldenDv(c: KubeClient, name: string, source: unknown, size: string): Promise<void> {
  await c.call('POST', nsPath('cdi.kubevirt.io/v1beta1', 'datavolumes'), {
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name, namespace: OS_IMAGES_NAMESPACE },
    spec: { source, storage: { resources: { requests: { storage: size } } } },
  });
  const entry = findOsImage(name);
  if (entry === undefined) {
    // A custom image: its DataSource, so VMs can clone it by name.
    await c
      .call('POST', nsPath('cdi.kubevirt.io/v1beta1', 'datasources'), {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataSource',
        metadata: {
          name,
          namespace: OS_IMAGES_NAMESPACE,
          labels: { 'instancetype.kubevirt.io/default-preference': 'custom', [OS_LABEL]: 'custom' },
        },
        spec: { source: { pvc: { name, namespace: OS_IMAGES_NAMESPACE } } },
      })
      .catch(() => undefined); // already there
  }
}
