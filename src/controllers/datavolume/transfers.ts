/**
 * The transfers of the DataVolume controller, running in the background while the reconciler goes
 * on: imports and clones (with retries and backoff of failed status reports), uploads streamed in
 * by the upload proxy, progress written to status. It owns the jobs in flight, so the reconciler
 * only asks whether a DataVolume is busy, starts a transfer, or cancels one.
 */
import type { Readable } from 'node:stream';
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import { dataVolumeKind, sourceKind, type DataVolume } from '../../api/cdi/datavolume.js';
import { ApiError, notFound } from '../../apiserver/errors.js';
import { capacityBytes, type Claim } from '../../storage/claims.js';
import { asImportError, type ImportError } from '../../storage/import/errors.js';
import { populateFromStream, type PopulateResult } from '../../storage/import/populate.js';
import { formatFor } from '../../storage/pool.js';
import { Backoff, type Timers } from '../../runtime/queue.js';
import { objectKey } from '../../runtime/transport.js';
import { reduceDvStatus, type DvEvent, type SourceKind } from './status.js';
import type { DataVolumeControllerOptions } from './controller.js';
import type { WorkQueue } from '../../runtime/queue.js';
import type { Client } from '../../runtime/client.js';

interface Job {
  abort: AbortController;
  kind: SourceKind;
}

export class Transfers {
  private readonly jobs = new Map<string, Job>();
  private readonly retries = new Map<string, unknown>();
  /** A report the store refused is looked at again later, not at once (no hot loop on a sick store). */
  private readonly reportBackoff = new Backoff(1000, 60_000);
  private stopped = false;

  constructor(
    private readonly o: DataVolumeControllerOptions,
    private readonly api: Client,
    private readonly queue: WorkQueue,
    private readonly now: () => Date,
    private readonly timers: Timers,
    private readonly log: (message: string) => void,
  ) {}

  /** Aborts every transfer and pending retry; nothing is reported after. */
  stop(): void {
    this.stopped = true;
    for (const job of this.jobs.values()) job.abort.abort();
    for (const t of this.retries.values()) this.timers.clearTimeout(t);
    this.jobs.clear();
    this.retries.clear();
  }

  busy(dv: DataVolume): boolean {
    const uid = dv.metadata.uid ?? '';
    return this.jobs.has(uid) || this.retries.has(uid);
  }

  cancel(uid: string): void {
    this.jobs.get(uid)?.abort.abort();
    this.jobs.delete(uid);
    const t = this.retries.get(uid);
    if (t !== undefined) this.timers.clearTimeout(t);
    this.retries.delete(uid);
  }

  /** Starts a transfer in the background; its outcome comes back as status and events. */
  async run(
    dv: DataVolume,
    kind: SourceKind,
    message: string,
    transfer: (signal: AbortSignal, onProgress: (percent: number) => void) => Promise<PopulateResult>,
  ): Promise<void> {
    const uid = dv.metadata.uid ?? '';
    const name = dv.metadata.name ?? '';
    if (this.jobs.has(uid)) return;
    const abort = new AbortController();
    this.jobs.set(uid, { abort, kind });
    const clone = kind === 'pvc';
    if (dv.status?.phase !== (clone ? 'CloneInProgress' : 'ImportInProgress'))
      this.o.events.record(
        dv,
        'Normal',
        clone ? 'CloneScheduled' : 'ImportScheduled',
        clone ? message.replace('in progress', 'scheduled') : `Import into ${name} scheduled`,
      );
    try {
      await this.apply(dv, { type: 'Running', source: kind, message });
    } catch (err) {
      this.jobs.delete(uid);
      throw err;
    }
    this.o.events.record(dv, 'Normal', clone ? 'CloneInProgress' : 'ImportInProgress', message);
    let wait = 0;
    void transfer(abort.signal, this.progressReporter(dv))
      .then(
        async () => {
          if (abort.signal.aborted || this.stopped) return;
          await this.apply(dv, { type: 'Succeeded', source: kind });
          this.o.events.record(
            dv,
            'Normal',
            clone ? 'CloneSucceeded' : 'ImportSucceeded',
            clone
              ? message.replace(/^Cloning(.*) in progress$/, 'Successfully cloned$1')
              : `Successfully imported into PVC ${name}`,
          );
        },
        (err: unknown) => {
          if (abort.signal.aborted || this.stopped) return;
          return this.failed(dv, kind, asImportError(err, clone ? 'cloning' : 'importing'));
        },
      )
      .catch((err: unknown) => {
        wait = this.reportBackoff.next(uid);
        if (!this.stopped)
          this.log(
            `datavolume controller: failed reporting on ${name} (next look in ${wait / 1000}s): ${err instanceof Error ? err.message : String(err)}`,
          );
      })
      .finally(() => {
        if (this.jobs.get(uid)?.abort === abort) this.jobs.delete(uid);
        // Whatever happened, look again (a report that failed to be written is retried by the sync).
        if (this.stopped) return;
        if (wait === 0) {
          this.reportBackoff.forget(uid);
          this.queue.add(keyOf(dv));
        } else this.queue.addAfter(keyOf(dv), wait);
      });
  }

  private async failed(dv: DataVolume, kind: SourceKind, e: ImportError): Promise<void> {
    const uid = dv.metadata.uid ?? '';
    const current = this.api.get<DataVolume>(
      dataVolumeKind,
      dv.metadata.namespace ?? '',
      dv.metadata.name ?? '',
    );
    if (current?.metadata.uid !== uid) return;
    const attempts = current.status?.restartCount ?? 0;
    const max = this.o.retries ?? 5;
    const what = kind === 'pvc' ? 'Clone' : 'Import';
    if (e.permanent || attempts >= max) {
      const message = e.permanent ? e.message : `${e.message} (gave up after ${attempts + 1} attempts)`;
      await this.apply(current, { type: 'Failed', reason: e.reason, message });
      this.o.events.record(current, 'Warning', `${what}Failed`, message);
      return;
    }
    const delay = (this.o.retryBaseMs ?? 1000) * 2 ** attempts;
    const message = `${e.message}; retrying in ${Math.round(delay / 100) / 10}s`;
    await this.apply(current, { type: 'Retrying', reason: e.reason, message });
    this.o.events.record(current, 'Warning', 'Error', message);
    this.retries.set(
      uid,
      this.timers.setTimeout(() => {
        this.retries.delete(uid);
        this.queue.add(keyOf(current));
      }, delay),
    );
  }

  private progressReporter(dv: DataVolume): (percent: number) => void {
    const every = this.o.progressIntervalMs ?? 1000;
    let last = 0;
    let writing = false;
    return (percent) => {
      const t = Date.now();
      if (t - last < every || this.stopped || writing) return;
      last = t;
      // Progress is best effort, one write at a time: a report refused is overtaken by the next.
      writing = true;
      this.apply(dv, { type: 'Progress', percent })
        .catch((err: unknown) =>
          this.log(
            `datavolume controller: failed reporting progress of ${dv.metadata.name ?? ''}: ${err instanceof Error ? err.message : String(err)}`,
          ),
        )
        .finally(() => (writing = false));
    };
  }

  /** Streams an upload into a DataVolume whose source is `upload` (the upload proxy's job). */
  async upload(
    namespace: string,
    name: string,
    body: Readable,
    length: number | undefined,
  ): Promise<PopulateResult> {
    // A user's request: what the server holds now, not what the cache has seen so far.
    const dv = await this.api.getLive<DataVolume>(dataVolumeKind, namespace, name);
    if (dv === undefined) throw notFound('datavolumes', 'cdi.kubevirt.io', name);
    const kind = sourceKind(dv.spec);
    if (kind !== 'upload')
      throw new ApiError(
        'BadRequest',
        `DataVolume ${name} does not take uploads: its source is ${kind ?? 'a DataSource'}`,
      );
    const uid = dv.metadata.uid ?? '';
    if (dv.status?.phase === 'Succeeded')
      throw new ApiError('Conflict', `DataVolume ${name} already holds an upload: create another DataVolume`);
    if (dv.status?.phase !== 'UploadReady')
      throw new ApiError(
        'Conflict',
        `DataVolume ${name} is not ready for an upload yet (phase ${dv.status?.phase ?? 'none'})`,
      );
    if (this.jobs.has(uid)) throw new ApiError('Conflict', `an upload into ${name} is already in progress`);
    const claim = await this.api.getLive<Claim>(persistentVolumeClaimKind, namespace, name);
    const path = this.o.volumePath(namespace, name);
    if (claim === undefined || path === undefined)
      throw new ApiError('Conflict', `the PVC of DataVolume ${name} is not bound yet`);
    const abort = new AbortController();
    this.jobs.set(uid, { abort, kind: 'upload' });
    try {
      const result = await populateFromStream(
        async () => Promise.resolve({ stream: body, total: length }),
        {
          path,
          format: formatFor(claim.spec.volumeMode ?? 'Filesystem'),
          bytes: capacityBytes(claim) ?? 0,
        },
        { images: this.o.images, signal: abort.signal, onProgress: this.progressReporter(dv) },
      );
      await this.apply(dv, { type: 'Succeeded', source: 'upload' });
      this.o.events.record(dv, 'Normal', 'UploadSucceeded', `Successfully uploaded into ${name}`);
      return result;
    } catch (err) {
      const e = asImportError(err, `uploading into ${name}`);
      this.o.events.record(dv, 'Warning', 'UploadFailed', e.message);
      await this.apply(dv, { type: 'Progress', percent: 0 }).catch(() => undefined);
      throw new ApiError(
        e.permanent ? 'BadRequest' : 'InternalError',
        `upload into ${name} failed: ${e.message}`,
      );
    } finally {
      if (this.jobs.get(uid)?.abort === abort) this.jobs.delete(uid);
    }
  }

  async apply(dv: DataVolume, event: DvEvent): Promise<DataVolume | undefined> {
    if (this.stopped) return undefined;
    return this.api.mutate<DataVolume>(
      dataVolumeKind,
      dv.metadata.namespace ?? '',
      dv.metadata.name ?? '',
      (current) => {
        if (current.metadata.uid !== dv.metadata.uid) return false;
        const next = reduceDvStatus(current.status, event, this.now());
        if (JSON.stringify(next) === JSON.stringify(current.status ?? {})) return false;
        current.status = next;
        return true;
      },
      true,
    );
  }
}

const keyOf = (dv: DataVolume): string => objectKey(dv);
