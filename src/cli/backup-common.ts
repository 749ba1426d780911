/**
 * What `hikube backup` and `hikube backup plan` share: API paths of the backups.cozystack.io
 * kinds, which application a name means (a VMInstance when one of that name exists, else a
 * KubeVirt VirtualMachine; `--kind` says so outright), listing as tables, and waiting for a job.
 */
import { BACKUPS_GROUP, BACKUPS_VERSION } from '../api/backups/common.js';
import type { KubeObject } from '../api/meta.js';
import { KubeApiError, type KubeClient } from '../client/kube.js';
import { UsageError } from './errors.js';
import { renderObjects, renderTable, type OutputFormat, type Table } from './output.js';

export const backupsPath = (resource: string, namespace: string | undefined, name?: string): string =>
  `/apis/${BACKUPS_GROUP}/${BACKUPS_VERSION}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/${resource}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

export const apiVersion = `${BACKUPS_GROUP}/${BACKUPS_VERSION}`;

export interface AppRef {
  apiGroup: string;
  kind: string;
  name: string;
}

/** `vminstance`/`VMInstance`, `vm`/`VirtualMachine`, or found by name (a VMInstance first). */
export async function applicationRef(
  c: KubeClient,
  namespace: string,
  name: string,
  kind: string | undefined,
): Promise<AppRef> {
  const instance = { apiGroup: 'apps.cozystack.io', kind: 'VMInstance', name };
  const vm = { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name };
  const k = kind?.toLowerCase();
  if (k === 'vminstance' || k === 'vminstances') return instance;
  if (k === 'vm' || k === 'virtualmachine' || k === 'virtualmachines') return vm;
  if (k !== undefined)
    throw new UsageError(`--kind ${JSON.stringify(kind)}: use VMInstance or VirtualMachine`);
  try {
    await c.call(
      'GET',
      `/apis/apps.cozystack.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/vminstances/${encodeURIComponent(name)}`,
    );
    return instance;
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 404)) throw err;
  }
  return vm;
}

export async function listAs(
  c: KubeClient,
  resource: string,
  namespace: string | undefined,
  format: OutputFormat,
  singular: string,
  filter: (o: KubeObject) => boolean = () => true,
): Promise<void> {
  const { value: list } = await c.call<{ items: KubeObject[] }>('GET', backupsPath(resource, namespace));
  const items = list.items.filter(filter);
  if (format === 'table' || format === 'wide') {
    const { value } = await c.call<Table>('GET', backupsPath(resource, namespace), undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    const keep = new Set(items.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`));
    const rows = value.rows.filter((r) => {
      const m = r.object?.metadata as { namespace?: string; name?: string } | undefined;
      return keep.has(`${m?.namespace ?? ''}/${m?.name ?? ''}`);
    });
    if (rows.length === 0) {
      process.stderr.write(
        `No ${resource} found${namespace !== undefined ? ` in ${namespace} namespace` : ''}.\n`,
      );
      return;
    }
    process.stdout.write(`${renderTable({ ...value, rows }, format === 'wide', namespace === undefined)}\n`);
    return;
  }
  process.stdout.write(`${renderObjects(items, format, false, singular, BACKUPS_GROUP)}\n`);
}

interface JobLike extends KubeObject {
  status?: { phase?: string; message?: string };
}

/** Polls a BackupJob or RestoreJob to its end, printing each new message; fails with the job's reason. */
export async function waitForJob(c: KubeClient, at: string, timeoutS: number): Promise<JobLike> {
  const deadline = Date.now() + timeoutS * 1000;
  let said = '';
  for (;;) {
    const { value } = await c.call<JobLike>('GET', at);
    const message = value.status?.message ?? '';
    if (message !== '' && message !== said) {
      process.stderr.write(`${value.status?.phase ?? 'Pending'}: ${message}\n`);
      said = message;
    }
    if (value.status?.phase === 'Succeeded') return value;
    if (value.status?.phase === 'Failed')
      throw new Error(`${value.kind} ${value.metadata.name ?? ''} failed: ${message}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutS}s waiting for ${at}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
