/**
 * DataImportCron (CDI's golden-image cron), on the controller runtime. Each pass over a cron:
 * when its schedule has fired since the last poll (or it never polled), ask the registry for the
 * digest of the template's image; a digest not imported yet becomes a DataVolume pinned to it
 * (`<cron>-<12 hex of the digest>`, labelled and owned by the cron). Once the newest import has
 * succeeded, the managed DataSource points at its PVC; imports beyond `importsToKeep` are deleted.
 * An import that failed is made again at the next firing (its reason stays in the Progressing
 * condition meanwhile). The next pass is queued for the schedule's next firing. The registry is
 * reached through a port (`digestOf`) with the template's `secretRef` credentials and
 * `certConfigMap` CAs, resolved as a DataVolume's are, so the same address policy as every import
 * applies in the real adapter.
 */
import { dataSourceKind, type DataSource } from '../../api/cdi/datasource.js';
import {
  DATA_IMPORT_CRON_LABEL,
  DEFAULT_IMPORTS_TO_KEEP,
  dataImportCronKind,
  type DataImportCron,
} from '../../api/cdi/dataimportcron.js';
import { dataVolumeKind, type DataVolume, type DataVolumeCondition } from '../../api/cdi/datavolume.js';
import { parseCron } from '../../api/hikube/cron.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import type { Timers } from '../../runtime/queue.js';
import { isAlreadyExists } from '../../runtime/transport.js';
import { configMapKind, secretKind } from '../../api/core/core.js';
import type { RegistrySource } from '../../storage/import/registry.js';
import { resolveSource } from '../datavolume/sources.js';

/** The digest (`sha256:…`) of the image a registry source names, now (with its credentials). */
export type DigestOf = (source: RegistrySource) => Promise<string>;

export interface DataImportCronOptions {
  manager: Manager;
  events: EventRecorder;
  digestOf: DigestOf;
  now?: () => Date;
  timers?: Timers;
  log?: (message: string) => void;
}

type Status = NonNullable<DataImportCron['status']>;
type Import = NonNullable<Status['currentImports']>[number];

/** `docker://host/repo:tag` (or `@sha256:…`) → the same image pinned to `digest`. */
export function pinned(url: string, digest: string): string {
  const at = url.indexOf('@');
  const base = at >= 0 ? url.slice(0, at) : url.replace(/:[^:/]+$/, '');
  return `${base}@${digest}`;
}

export const importName = (cron: string, digest: string): string =>
  `${cron}-${digest.replace(/^sha256:/, '').slice(0, 12)}`;

export class DataImportCronController extends Reconciler {
  private readonly now: () => Date;

  constructor(private readonly o: DataImportCronOptions) {
    super(o.manager, {
      name: 'dataimportcron',
      ...(o.log !== undefined ? { log: o.log } : {}),
      ...(o.timers !== undefined ? { timers: o.timers } : {}),
    });
    this.now = o.now ?? (() => new Date());
    this.controller.watch(dataImportCronKind);
    this.controller.watch(dataVolumeKind, (dv) => {
      const cron = dv.metadata.labels?.[DATA_IMPORT_CRON_LABEL];
      return cron === undefined ? [] : [`${dv.metadata.namespace ?? ''}/${cron}`];
    });
    this.controller.reads(dataSourceKind);
    this.controller.reads(secretKind);
    this.controller.reads(configMapKind);
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const api = this.controller.client;
    const cron = api.get<DataImportCron>(dataImportCronKind, namespace, name);
    if (cron === undefined || cron.metadata.deletionTimestamp !== undefined) return;
    const now = this.now();
    const status: Status = structuredClone(cron.status ?? {});
    const imports: Import[] = [...(status.currentImports ?? [])];
    const schedule = parseCron(cron.spec.schedule);
    const last =
      status.lastExecutionTimestamp === undefined ? undefined : new Date(status.lastExecutionTimestamp);
    const due = last === undefined || (schedule.next(last)?.getTime() ?? Infinity) <= now.getTime();
    if (due) {
      const url = cron.spec.template.spec.source?.registry?.url ?? '';
      status.lastExecutionTimestamp = now.toISOString();
      try {
        const digest = await this.o.digestOf(this.registrySource(cron));
        if (imports[0]?.Digest !== digest) {
          await this.createImport(cron, digest);
          imports.unshift({ DataVolumeName: importName(name, digest), Digest: digest });
          this.o.events.record(cron, 'Normal', 'ImportScheduled', `Importing ${pinned(url, digest)}`);
        } else if (await this.retryFailed(cron, imports[0].DataVolumeName, digest)) {
          this.o.events.record(cron, 'Normal', 'ImportRetried', `Importing ${pinned(url, digest)} again`);
        }
        setCondition(
          status,
          'UpToDate',
          imports[0]?.Digest === digest ? 'True' : 'False',
          'UpToDate',
          `newest digest ${digest}`,
          now,
        );
      } catch (err) {
        const message = `polling ${url}: ${err instanceof Error ? err.message : String(err)}`;
        setCondition(status, 'UpToDate', 'False', 'PollFailed', message, now);
        this.o.events.record(cron, 'Warning', 'PollFailed', message);
      }
    }
    await this.pointDataSource(cron, imports, status, now);
    status.currentImports = imports;
    await this.collectGarbage(cron, imports, status.lastImportedPVC?.name);
    await api.mutate<DataImportCron>(
      dataImportCronKind,
      namespace,
      name,
      (c) => {
        if (JSON.stringify(c.status ?? {}) === JSON.stringify(status)) return false;
        c.status = status;
        return true;
      },
      true,
    );
    const next = schedule.next(new Date(status.lastExecutionTimestamp ?? now.toISOString()));
    if (next !== undefined)
      this.controller.queue.addAfter(key, Math.max(0, next.getTime() - now.getTime()) + 10);
  }

  /** The template's registry source with its Secret and ConfigMap read, as a DataVolume's would be. */
  private registrySource(cron: DataImportCron): RegistrySource {
    const namespace = cron.metadata.namespace ?? '';
    const resolved = resolveSource(this.controller.client, {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name: cron.metadata.name ?? '', namespace },
      spec: cron.spec.template.spec,
    });
    if (resolved.kind !== 'registry') throw new Error('the template source is not a registry');
    return resolved.registry;
  }

  /** A Failed import of the newest digest is deleted and made again; true when it was. */
  private async retryFailed(cron: DataImportCron, dvName: string, digest: string): Promise<boolean> {
    const api = this.controller.client;
    const namespace = cron.metadata.namespace ?? '';
    if (api.get<DataVolume>(dataVolumeKind, namespace, dvName)?.status?.phase !== 'Failed') return false;
    await api.delete(dataVolumeKind, namespace, dvName);
    await this.createImport(cron, digest);
    return true;
  }

  private async createImport(cron: DataImportCron, digest: string): Promise<void> {
    const namespace = cron.metadata.namespace ?? '';
    const cronName = cron.metadata.name ?? '';
    const t = cron.spec.template;
    const meta = (t.metadata ?? {}) as {
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    const registry = t.spec.source?.registry ?? {};
    try {
      await this.controller.client.create<DataVolume>(dataVolumeKind, {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: {
          name: importName(cronName, digest),
          namespace,
          labels: { ...meta.labels, [DATA_IMPORT_CRON_LABEL]: cronName },
          ...(meta.annotations !== undefined ? { annotations: meta.annotations } : {}),
          ownerReferences: [
            {
              apiVersion: 'cdi.kubevirt.io/v1beta1',
              kind: 'DataImportCron',
              name: cronName,
              uid: cron.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { ...t.spec, source: { registry: { ...registry, url: pinned(registry.url ?? '', digest) } } },
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  /** The DataSource follows the newest import that succeeded. */
  private async pointDataSource(
    cron: DataImportCron,
    imports: Import[],
    status: Status,
    now: Date,
  ): Promise<void> {
    const api = this.controller.client;
    const namespace = cron.metadata.namespace ?? '';
    const ready = imports.find(
      (i) => api.get<DataVolume>(dataVolumeKind, namespace, i.DataVolumeName)?.status?.phase === 'Succeeded',
    );
    const newest = imports[0];
    const newestDv =
      newest === undefined
        ? undefined
        : api.get<DataVolume>(dataVolumeKind, namespace, newest.DataVolumeName);
    setCondition(
      status,
      'Progressing',
      newestDv !== undefined && newestDv.status?.phase !== 'Succeeded' ? 'True' : 'False',
      newestDv?.status?.phase ?? 'NoImport',
      newest === undefined
        ? 'no import yet'
        : `import ${newest.DataVolumeName}: ${newestDv?.status?.phase ?? 'Pending'}${failure(newestDv)}`,
      now,
    );
    if (ready === undefined) return;
    if (status.lastImportedPVC?.name !== ready.DataVolumeName) {
      status.lastImportedPVC = { namespace, name: ready.DataVolumeName };
      status.lastImportTimestamp = now.toISOString();
      status.sourceFormat = 'pvc';
    }
    const dsName = cron.spec.managedDataSource;
    const source = { pvc: { namespace, name: ready.DataVolumeName } };
    const ds = api.get<DataSource>(dataSourceKind, namespace, dsName);
    if (ds === undefined) {
      await api
        .create<DataSource>(dataSourceKind, {
          apiVersion: 'cdi.kubevirt.io/v1beta1',
          kind: 'DataSource',
          metadata: {
            name: dsName,
            namespace,
            labels: { [DATA_IMPORT_CRON_LABEL]: cron.metadata.name ?? '' },
          },
          spec: { source },
        })
        .catch((err: unknown) => {
          if (!isAlreadyExists(err)) throw err;
        });
      this.o.events.record(
        cron,
        'Normal',
        'DataSourceCreated',
        `DataSource ${dsName} points at ${ready.DataVolumeName}`,
      );
    } else if (
      ds.spec.source.pvc?.name !== ready.DataVolumeName ||
      ds.spec.source.pvc.namespace !== namespace
    ) {
      await api.mutate<DataSource>(dataSourceKind, namespace, dsName, (d) => {
        d.spec.source = source;
      });
      this.o.events.record(
        cron,
        'Normal',
        'DataSourceUpdated',
        `DataSource ${dsName} points at ${ready.DataVolumeName}`,
      );
    }
  }

  /** Imports beyond importsToKeep go (never the one the DataSource points at). */
  private async collectGarbage(
    cron: DataImportCron,
    imports: Import[],
    inUse: string | undefined,
  ): Promise<void> {
    if ((cron.spec.garbageCollect ?? 'Outdated') !== 'Outdated') return;
    const keep = Math.max(1, cron.spec.importsToKeep ?? DEFAULT_IMPORTS_TO_KEEP);
    const namespace = cron.metadata.namespace ?? '';
    const outdated = imports.slice(keep).filter((i) => i.DataVolumeName !== inUse);
    for (const i of outdated) {
      if (this.controller.client.get(dataVolumeKind, namespace, i.DataVolumeName) !== undefined)
        await this.controller.client.delete(dataVolumeKind, namespace, i.DataVolumeName);
      imports.splice(imports.indexOf(i), 1);
    }
  }
}

/** `: <why>` for a Failed DataVolume (its Running condition's message), else nothing. */
function failure(dv: DataVolume | undefined): string {
  if (dv?.status?.phase !== 'Failed') return '';
  const running = dv.status.conditions?.find((c) => c.type === 'Running');
  return `: ${running?.message ?? running?.reason ?? 'failed'}`;
}

function setCondition(
  status: Status,
  type: string,
  value: DataVolumeCondition['status'],
  reason: string,
  message: string,
  now: Date,
): void {
  const conditions = status.conditions ?? [];
  const old = conditions.find((c) => c.type === type);
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const next: DataVolumeCondition = {
    type,
    status: value,
    reason,
    message,
    lastTransitionTime: old !== undefined && old.status === value ? (old.lastTransitionTime ?? at) : at,
  };
  status.conditions = [...conditions.filter((c) => c.type !== type), next];
}
