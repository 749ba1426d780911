/**
 * The DataVolume controller (CDI's datavolume, import, clone and upload controllers in one): for
 * each DataVolume it makes the PVC of the same name (owned by the DataVolume, so it goes with it),
 * waits for the PVC to be bound, then fills the volume from the source: an http(s) import, a clone
 * of another PVC (host-assisted: qemu-img convert), an upload (through the upload endpoint), or a
 * blank disk. Transfers run in the background and report CDI's phases and progress; transient
 * failures are retried with back-off, permanent ones end in phase Failed with the reason.
 */
import type { Readable } from 'node:stream';
import { configMapKind, persistentVolumeClaimKind, secretKind } from '../../api/core/core.js';
import { dataSourceKind } from '../../api/cdi/datasource.js';
import { dataVolumeKind, type DataVolume } from '../../api/cdi/datavolume.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { formatBytes } from '../../api/quantity.js';
import { mirrorFor } from '../../storage/containerdisk.js';
import { parseReference } from '../../storage/import/registry.js';
import { awaitingPopulation, capacityBytes, usersOf, type Claim } from '../../storage/claims.js';
import type { OutboundPolicy } from '../../network/outbound.js';
import { openHttp, redact } from '../../storage/import/http.js';
import {
  populateFromFile,
  populateFromRegistry,
  populateFromStream,
  type PopulateResult,
  type Target,
} from '../../storage/import/populate.js';
import { formatFor, roundUpMiB } from '../../storage/pool.js';
import type { ImageTool } from '../../storage/ports.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { realTimers, type Timers } from '../../runtime/queue.js';
import { isAlreadyExists, objectKey } from '../../runtime/transport.js';
import { resolveSource, sizeFor, Unresolved, type ResolvedSource } from './sources.js';
import { Transfers } from './transfers.js';
import { isFinalPhase } from './status.js';

export const CDI_LABEL = { app: 'containerized-data-importer' };
export const ANN_SOURCE = 'cdi.kubevirt.io/storage.import.source';
export const ANN_ENDPOINT = 'cdi.kubevirt.io/storage.import.endpoint';
export const ANN_CONTENT_TYPE = 'cdi.kubevirt.io/storage.contentType';

export interface DataVolumeControllerOptions {
  manager: Manager;
  events: EventRecorder;
  images: ImageTool;
  /** Registry host (or `*`) → the mirror registry imports pull from. */
  mirrors?: Record<string, string>;
  /** Where http and registry imports may connect (src/network/outbound.ts). */
  targets: OutboundPolicy;
  /** The disk file of a bound claim, populated or not (the provisioner's volume). */
  volumePath: (namespace: string, claim: string) => string | undefined;
  log?: (message: string) => void;
  now?: () => Date;
  timers?: Timers;
  /** Transient failures are retried this many times (default 5), after retryBaseMs·2^n (default 1 s). */
  retries?: number;
  retryBaseMs?: number;
  /** Status updates of progress at most this often (default 1 s). */
  progressIntervalMs?: number;
}

export class DataVolumeController extends Reconciler {
  private readonly now: () => Date;
  private readonly timers: Timers;
  private readonly log: (message: string) => void;
  private readonly transfers: Transfers;

  constructor(private readonly o: DataVolumeControllerOptions) {
    const timers = o.timers ?? realTimers;
    const log = o.log ?? (() => undefined);
    super(o.manager, { name: 'datavolume', log, timers });
    this.now = o.now ?? (() => new Date());
    this.timers = timers;
    this.log = log;
    this.transfers = new Transfers(o, this.controller.client, this.controller.queue, this.now, timers, log);
    // A source appeared, got bound, or a guest let go of it: DataVolumes waiting may go on.
    const waiting = (): string[] =>
      this.api
        .list<DataVolume>(dataVolumeKind)
        .filter((dv) => !isFinalPhase(dv.status?.phase) && !this.transfers.busy(dv))
        .map(objectKey);
    this.controller
      .watch(dataVolumeKind, (object, type, old) => {
        if (type === 'DELETED') this.transfers.cancel(object.metadata.uid ?? '');
        // One that finished may be the source others clone from.
        const finished = isFinalPhase((object as DataVolume).status?.phase);
        const wake = finished && !isFinalPhase((old as DataVolume | undefined)?.status?.phase);
        return [objectKey(object), ...(wake ? waiting() : [])];
      })
      .watch(persistentVolumeClaimKind, (object) => {
        const owner = (object.metadata.ownerReferences ?? []).find(
          (r) => r.kind === 'DataVolume' && r.controller === true,
        );
        const own = owner !== undefined ? [`${object.metadata.namespace ?? ''}/${owner.name}`] : [];
        return [...own, ...waiting()];
      })
      .watch(dataSourceKind, waiting)
      .watch(virtualMachineInstanceKind, waiting)
      .reads(configMapKind, secretKind);
  }

  private get api() {
    return this.controller.client;
  }

  private get queue() {
    return this.controller.queue;
  }

  override stop(): void {
    this.transfers.stop();
    this.controller.stop();
  }

  /** Streams an upload into a DataVolume whose source is `upload` (the upload proxy's job). */
  upload(
    namespace: string,
    name: string,
    body: Readable,
    length: number | undefined,
  ): Promise<PopulateResult> {
    return this.transfers.upload(namespace, name, body, length);
  }

  override idle(): Promise<void> {
    return this.queue.idle();
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.api.get<DataVolume>(dataVolumeKind, namespace, name);
    if (cached === undefined) return;
    if (cached.metadata.deletionTimestamp !== undefined)
      return this.transfers.cancel(cached.metadata.uid ?? '');
    if (isFinalPhase(cached.status?.phase) || this.transfers.busy(cached)) return;
    // The cache may not have seen the report of the last transfer yet (over HTTP): acting on it
    // would import again. The server's copy decides.
    const dv = await this.api.getLive<DataVolume>(dataVolumeKind, namespace, name);
    if (
      dv === undefined ||
      dv.metadata.uid !== cached.metadata.uid ||
      isFinalPhase(dv.status?.phase) ||
      this.transfers.busy(dv)
    )
      return;
    let source: ResolvedSource;
    let size: number;
    try {
      source = resolveSource(this.api, dv);
      size = sizeFor(this.api, dv, source);
    } catch (err) {
      if (!(err instanceof Unresolved)) throw err;
      await this.transfers.apply(dv, { type: 'ClaimMissing', reason: err.reason, message: err.message });
      this.o.events.record(dv, 'Warning', err.reason === 'NotFound' ? 'NotFound' : 'Invalid', err.message);
      return;
    }
    const claim = await this.ensureClaim(dv, size, source);
    if (claim === undefined) return;
    if (claim.status?.phase !== 'Bound') {
      if (dv.status?.phase === undefined)
        this.o.events.record(dv, 'Normal', 'Pending', `PVC ${name} Pending`);
      await this.transfers.apply(dv, { type: 'ClaimPending', claim: name });
      return;
    }
    const bound = await this.transfers.apply(dv, { type: 'ClaimBound', claim: name });
    if (dv.status?.phase === undefined || dv.status.phase === 'Pending')
      this.o.events.record(dv, 'Normal', 'Bound', `PVC ${name} Bound`);
    const path = this.o.volumePath(namespace, name);
    if (bound === undefined || path === undefined) return;
    const target: Target = {
      path,
      format: formatFor(claim.spec.volumeMode ?? 'Filesystem'),
      bytes: capacityBytes(claim) ?? roundUpMiB(size),
    };
    switch (source.kind) {
      case 'blank':
        await this.transfers.apply(bound, { type: 'Succeeded', source: 'blank' });
        this.o.events.record(dv, 'Normal', 'ImportSucceeded', `Successfully imported into PVC ${name}`);
        return;
      case 'upload':
        if (bound.status?.phase !== 'UploadReady') {
          await this.transfers.apply(bound, {
            type: 'Running',
            source: 'upload',
            message: `Upload into ${name} ready`,
          });
          this.o.events.record(dv, 'Normal', 'UploadReady', `Upload into ${name} ready`);
        }
        return;
      case 'http': {
        const http = source.http;
        const checksum = source.checksum;
        await this.transfers.run(bound, 'http', `Import into ${name} in progress`, (signal, onProgress) =>
          populateFromStream(() => openHttp(http, this.o.targets, signal), target, {
            images: this.o.images,
            onProgress,
            signal,
            ...(checksum !== undefined ? { checksum } : {}),
          }),
        );
        return;
      }
      case 'registry': {
        const mirror = mirrorFor(this.o.mirrors, parseReference(source.registry.url).registry);
        const registry = { ...source.registry, ...(mirror !== undefined ? { mirror } : {}) };
        await this.transfers.run(bound, 'registry', `Import into ${name} in progress`, (signal, onProgress) =>
          populateFromRegistry(registry, target, {
            images: this.o.images,
            targets: this.o.targets,
            onProgress,
            signal,
          }),
        );
        return;
      }
      case 'pvc':
        return this.clone(bound, source, target);
    }
  }

  private async clone(
    dv: DataVolume,
    source: { namespace: string; name: string },
    target: Target,
  ): Promise<void> {
    const from = `${source.namespace}/${source.name}`;
    const into = `${dv.metadata.namespace ?? ''}/${dv.metadata.name ?? ''}`;
    const wait = async (why: string, reason: string): Promise<void> => {
      await this.transfers.apply(dv, { type: 'Scheduled', source: 'pvc', message: why });
      this.o.events.record(dv, reason === 'CloneScheduled' ? 'Normal' : 'Warning', reason, why);
    };
    const src = this.api.get<Claim>(persistentVolumeClaimKind, source.namespace, source.name);
    if (src === undefined) return wait(`source PVC ${from} not found`, 'CloneSourceNotFound');
    const srcPath = this.sourcePath(src);
    if (srcPath === undefined)
      return wait(`source PVC ${from} is not ready (bound and populated) yet`, 'CloneScheduled');
    const users = usersOf(
      source.name,
      this.api.list<VirtualMachineInstance>(virtualMachineInstanceKind, source.namespace),
    );
    if (users.length > 0)
      return wait(
        `source PVC ${from} is in use by VMI ${users.join(', ')}: stop it to clone`,
        'CloneSourceInUse',
      );
    await this.transfers.run(
      dv,
      'pvc',
      `Cloning from ${from} into ${into} in progress`,
      (signal, onProgress) =>
        populateFromFile(srcPath, formatFor(src.spec.volumeMode ?? 'Filesystem'), target, {
          images: this.o.images,
          onProgress,
          signal,
        }),
    );
  }

  /** The file of a source claim, once bound and (when a DataVolume fills it) populated. */
  private sourcePath(src: Claim): string | undefined {
    const owner = (src.metadata.ownerReferences ?? []).find(
      (r) => r.kind === 'DataVolume' && r.controller === true,
    );
    if (owner !== undefined) {
      const dv = this.api.get<DataVolume>(dataVolumeKind, src.metadata.namespace ?? '', owner.name);
      if (dv?.metadata.uid === owner.uid && dv.status?.phase !== 'Succeeded') return undefined;
    }
    if (src.status?.phase !== 'Bound' || awaitingPopulation(src)) return undefined;
    return this.o.volumePath(src.metadata.namespace ?? '', src.metadata.name ?? '');
  }

  /** The DataVolume's claim: created if missing; undefined (and said why) when a foreign one holds the name. */
  private async ensureClaim(
    dv: DataVolume,
    size: number,
    source: ResolvedSource,
  ): Promise<Claim | undefined> {
    const namespace = dv.metadata.namespace ?? '';
    const name = dv.metadata.name ?? '';
    const existing = this.api.get<Claim>(persistentVolumeClaimKind, namespace, name);
    return existing !== undefined ? this.ownClaim(dv, existing) : this.createClaim(dv, size, source);
  }

  private async ownClaim(dv: DataVolume, existing: Claim): Promise<Claim | undefined> {
    const owned = (existing.metadata.ownerReferences ?? []).some((r) => r.uid === dv.metadata.uid);
    if (owned) return existing;
    const message = `Resource "${dv.metadata.name ?? ''}" already exists and is not managed by DataVolume`;
    await this.transfers.apply(dv, { type: 'ClaimMissing', reason: 'ErrResourceExists', message });
    this.o.events.record(dv, 'Warning', 'ErrResourceExists', message);
    return undefined;
  }

  private async createClaim(
    dv: DataVolume,
    size: number,
    source: ResolvedSource,
  ): Promise<Claim | undefined> {
    const namespace = dv.metadata.namespace ?? '';
    const name = dv.metadata.name ?? '';
    const spec = dv.spec.storage ?? dv.spec.pvc ?? {};
    const annotations: Record<string, string> = {
      [ANN_CONTENT_TYPE]: dv.spec.contentType ?? 'kubevirt',
      [ANN_SOURCE]: source.kind === 'blank' ? 'none' : source.kind,
    };
    if (source.kind === 'http') annotations[ANN_ENDPOINT] = redact(new URL(source.http.url));
    if (source.kind === 'registry') annotations[ANN_ENDPOINT] = source.registry.url;
    const claim: Claim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace,
        labels: { ...CDI_LABEL, ...dv.metadata.labels },
        annotations,
        ownerReferences: [
          {
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'DataVolume',
            name,
            uid: dv.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        accessModes: (spec.accessModes as Claim['spec']['accessModes']) ?? ['ReadWriteOnce'],
        volumeMode: spec.volumeMode ?? 'Filesystem',
        resources: { requests: { storage: formatBytes(roundUpMiB(size)) } },
        ...(spec.storageClassName !== undefined ? { storageClassName: spec.storageClassName } : {}),
      },
    };
    try {
      return await this.api.create<Claim>(persistentVolumeClaimKind, claim);
    } catch (err) {
      // The cache was behind the server: judge the claim that is there.
      if (!isAlreadyExists(err)) throw err;
      const there = await this.api.getLive<Claim>(persistentVolumeClaimKind, namespace, name);
      return there === undefined ? undefined : this.ownClaim(dv, there);
    }
  }
}
