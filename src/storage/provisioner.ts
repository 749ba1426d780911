/**
 * The storage pool's controller (Kubernetes' persistent volume controller, external provisioner,
 * resizer and pvc-protection controller, for one local pool). For each PersistentVolumeClaim it:
 * - provisions: picks the claim's class (or the default one), makes a thin disk file in the class's
 *   pool, records it as a PersistentVolume, and binds the claim (phase Bound, capacity);
 * - protects: a claim carries `kubernetes.io/pvc-protection`, removed on deletion only once no
 *   unfinished VMI uses the claim, so a disk never disappears under a running guest;
 * - expands: a bound claim asking for more grows its disk, online (QMP block_resize, through
 *   the node agent) when a running guest has it open, else offline with qemu-img;
 * - reclaims: when the claim is gone, its volume's file and PV go too (reclaimPolicy Delete).
 */
import { existsSync } from 'node:fs';
import { removeVolume } from './layers.js';
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { persistentVolumeClaimKind } from '../api/core/core.js';
import { dataVolumeKind, type DataVolume } from '../api/cdi/datavolume.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { formatBytes } from '../api/quantity.js';
import { persistentVolumeKind, type PersistentVolume } from '../api/storage/persistentvolume.js';
import { LOCAL_POOL_PROVISIONER, storageClassKind, type StorageClass } from '../api/storage/storageclass.js';
import { Reconciler } from '../runtime/reconciler.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Manager } from '../runtime/manager.js';
import type { Timers } from '../runtime/queue.js';
import { isAlreadyExists, objectKey } from '../runtime/transport.js';
import {
  PVC_PROTECTION_FINALIZER,
  awaitingPopulation,
  capacityBytes,
  claimKey,
  classFor,
  requestedBytes,
  usersOf,
  type Claim,
} from './claims.js';
import { formatFor, poolDir, roundUpMiB, volumeFile, type VolumeMode } from './pool.js';
import type { ImageTool, OnlineResize } from './ports.js';
import { defaultCapacityPolicy, provisionedBytes, refusal, type CapacityPolicy } from './capacity.js';

export interface ProvisionerOptions {
  manager: Manager;
  events: EventRecorder;
  images: ImageTool;
  /** The default pool: DATA_DIR/volumes. */
  dir: string;
  /** Grows a disk a running guest has open (the node agent); absent in tests without guests. */
  onlineResize?: OnlineResize;
  log?: (message: string) => void;
  timers?: Timers;
  /** How much thin disk the pool may hand out (capacity.ts); the default overcommits 10×. */
  capacity?: CapacityPolicy;
}

export class Provisioner extends Reconciler {
  private readonly log: (message: string) => void;
  private stopped = false;

  constructor(private readonly o: ProvisionerOptions) {
    const log = o.log ?? (() => undefined);
    super(o.manager, {
      name: 'provisioner',
      log: (m) => log(m),
      ...(o.timers !== undefined ? { timers: o.timers } : {}),
    });
    this.log = log;
    this.controller
      .watch(persistentVolumeClaimKind, (object, type) => {
        if (type !== 'DELETED') return [objectKey(object)];
        this.background(this.reclaim(object as Claim));
        return [];
      })
      // A guest stopped: claims waiting for it to let go may be deleted now.
      .watch(virtualMachineInstanceKind, (object) =>
        this.api
          .list<Claim>(persistentVolumeClaimKind, object.metadata.namespace)
          .filter((c) => c.metadata.deletionTimestamp !== undefined)
          .map(claimKey),
      )
      .watch(storageClassKind, () =>
        this.api
          .list<Claim>(persistentVolumeClaimKind)
          .filter((c) => c.status?.phase !== 'Bound')
          .map(claimKey),
      )
      .reads(persistentVolumeKind, dataVolumeKind);
  }

  private get api() {
    return this.controller.client;
  }

  override start(): void {
    this.controller.start();
    this.background(this.reclaimOrphans());
  }

  override stop(): void {
    this.stopped = true;
    this.controller.stop();
  }

  /**
   * The disk file of a claim a guest may use now: bound, its file present, and not still being
   * filled by the DataVolume that owns it. Undefined otherwise.
   */
  claimPath(namespace: string, name: string): string | undefined {
    const claim = this.api.get<Claim>(persistentVolumeClaimKind, namespace, name);
    if (claim === undefined || awaitingPopulation(claim)) return undefined;
    const owner = (claim.metadata.ownerReferences ?? []).find(
      (r) => r.kind === 'DataVolume' && r.controller === true,
    );
    if (owner !== undefined) {
      const dv = this.api.get<DataVolume>(dataVolumeKind, namespace, owner.name);
      if (dv !== undefined && dv.metadata.uid === owner.uid && dv.status?.phase !== 'Succeeded')
        return undefined;
    }
    return this.volumePath(namespace, name);
  }

  /** The disk file of a bound claim, populated or not (for the DataVolume controller). */
  volumePath(namespace: string, name: string): string | undefined {
    const claim = this.api.get<Claim>(persistentVolumeClaimKind, namespace, name);
    if (claim?.status?.phase !== 'Bound' || claim.spec.volumeName === undefined) return undefined;
    const path = poolFileOf(this.volumeOf(claim));
    return path !== undefined && existsSync(path) ? path : undefined;
  }

  private volumeOf(claim: Claim): PersistentVolume | undefined {
    const pv =
      claim.spec.volumeName === undefined
        ? undefined
        : this.api.get<PersistentVolume>(persistentVolumeKind, '', claim.spec.volumeName);
    return pv?.spec.claimRef?.uid === claim.metadata.uid ? pv : undefined;
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    let claim = this.api.get<Claim>(persistentVolumeClaimKind, namespace, name);
    if (claim === undefined) return;
    if (claim.metadata.deletionTimestamp !== undefined) return this.release(claim);
    if (!(claim.metadata.finalizers ?? []).includes(PVC_PROTECTION_FINALIZER)) {
      claim = await this.api.mutate<Claim>(persistentVolumeClaimKind, namespace, name, (c) => {
        if (c.metadata.uid !== claim?.metadata.uid || c.metadata.deletionTimestamp !== undefined)
          return false;
        if ((c.metadata.finalizers ?? []).includes(PVC_PROTECTION_FINALIZER)) return false;
        c.metadata.finalizers = [...(c.metadata.finalizers ?? []), PVC_PROTECTION_FINALIZER];
        return true;
      });
      if (claim === undefined || claim.metadata.deletionTimestamp !== undefined) return;
    }
    if (claim.status?.phase === 'Bound' && this.volumeOf(claim) !== undefined) return this.expand(claim);
    return this.provision(claim);
  }

  /** pvc-protection: lets a deleted claim go once no guest holds it. */
  private async release(claim: Claim): Promise<void> {
    if (!(claim.metadata.finalizers ?? []).includes(PVC_PROTECTION_FINALIZER)) return;
    const vmis = this.api.list<VirtualMachineInstance>(virtualMachineInstanceKind, claim.metadata.namespace);
    if (usersOf(claim.metadata.name ?? '', vmis).length > 0) return; // a VMI change re-queues it
    await this.api.mutate<Claim>(
      persistentVolumeClaimKind,
      claim.metadata.namespace ?? '',
      claim.metadata.name ?? '',
      (c) => {
        if (c.metadata.uid !== claim.metadata.uid) return false;
        c.metadata.finalizers = (c.metadata.finalizers ?? []).filter((f) => f !== PVC_PROTECTION_FINALIZER);
        return true;
      },
    );
  }

  private async pending(claim: Claim, reason: string, message: string, warning = true): Promise<void> {
    await this.writeStatus(claim, (s) => {
      s.phase = 'Pending';
    });
    this.o.events.record(claim, warning ? 'Warning' : 'Normal', reason, message);
  }

  private async provision(claim: Claim): Promise<void> {
    const classes = this.api.list<StorageClass>(storageClassKind);
    const cls = classFor(claim, classes);
    if (cls === undefined)
      return this.pending(
        claim,
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
        false,
      );
    if (cls.sc === undefined)
      return this.pending(claim, 'ProvisioningFailed', `storageclass.storage.k8s.io "${cls.name}" not found`);
    if (cls.sc.provisioner !== LOCAL_POOL_PROVISIONER)
      return this.pending(
        claim,
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${cls.sc.provisioner}' or manually by the system administrator`,
        false,
      );
    const bytes = requestedBytes(claim);
    if (bytes === undefined || !(bytes > 0))
      return this.pending(
        claim,
        'ProvisioningFailed',
        'spec.resources.requests.storage must be a positive size',
      );
    const size = roundUpMiB(bytes);
    const mode: VolumeMode = claim.spec.volumeMode ?? 'Filesystem';
    const volumeName = `pvc-${claim.metadata.uid ?? ''}`;
    const accessModes = claim.spec.accessModes ?? ['ReadWriteOnce'];
    let pv = this.api.get<PersistentVolume>(persistentVolumeKind, '', volumeName);
    if (pv === undefined) {
      const path = volumeFile(poolDir(this.o.dir, cls.sc), volumeName, mode);
      await mkdir(dirname(path), { recursive: true });
      const refused = await this.refusal(dirname(path), size);
      if (refused !== undefined) {
        const message = `not provisioning volume ${volumeName} of ${formatBytes(size)}: ${refused}`;
        await this.pending(claim, 'ProvisioningFailed', message);
        throw new Error(message); // retried with backoff: volumes may be deleted meanwhile
      }
      try {
        if (!existsSync(path)) await this.o.images.create(path, size, formatFor(mode));
      } catch (err) {
        const message = `failed creating the disk of volume ${volumeName} in ${dirname(path)}: ${err instanceof Error ? err.message : String(err)}`;
        await this.pending(claim, 'ProvisioningFailed', message);
        throw new Error(message);
      }
      pv = await this.createVolume({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: volumeName,
          annotations: { 'pv.kubernetes.io/provisioned-by': LOCAL_POOL_PROVISIONER },
        },
        spec: {
          capacity: { storage: formatBytes(size) },
          accessModes,
          persistentVolumeReclaimPolicy: cls.sc.reclaimPolicy ?? 'Delete',
          storageClassName: cls.name,
          volumeMode: mode,
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: claim.metadata.namespace ?? '',
            name: claim.metadata.name ?? '',
            uid: claim.metadata.uid ?? '',
          },
          hostPath: { path, type: 'File' },
        },
        status: { phase: 'Bound' },
      });
    }
    const bound = await this.api.mutate<Claim>(
      persistentVolumeClaimKind,
      claim.metadata.namespace ?? '',
      claim.metadata.name ?? '',
      (c) => {
        if (c.metadata.uid !== claim.metadata.uid) return false;
        if (c.spec.volumeName === volumeName && c.spec.storageClassName !== undefined) return false;
        c.spec.volumeName = volumeName;
        c.spec.storageClassName ??= cls.name;
        return true;
      },
    );
    if (bound === undefined) return;
    const capacity = pv.spec.capacity?.['storage'] ?? formatBytes(size);
    await this.writeStatus(bound, (s) => {
      s.phase = 'Bound';
      s.capacity = { storage: capacity };
      s.accessModes = accessModes;
    });
    this.o.events.record(
      claim,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${volumeName} (${String(capacity)}, ${mode === 'Block' ? 'raw' : 'qcow2'}, class ${cls.name})`,
    );
  }

  /** A bound claim asking for more than its capacity: grow its disk, online if a guest runs on it. */
  private async expand(claim: Claim): Promise<void> {
    const want = requestedBytes(claim);
    const have = capacityBytes(claim);
    if (want === undefined || have === undefined || want <= have) return;
    const className = claim.spec.storageClassName ?? '';
    const sc = this.api.get<StorageClass>(storageClassKind, '', className);
    if (sc?.allowVolumeExpansion !== true) {
      this.o.events.record(
        claim,
        'Warning',
        'VolumeResizeFailed',
        `storageclass "${className}" does not allow volume expansion: the claim keeps ${formatBytes(have)}`,
      );
      return;
    }
    const pv = this.volumeOf(claim);
    const path = poolFileOf(pv);
    if (pv === undefined || path === undefined) return;
    const size = roundUpMiB(want);
    const mode: VolumeMode = pv.spec.volumeMode ?? 'Filesystem';
    const refused = await this.refusal(dirname(path), size - have);
    if (refused !== undefined) {
      const message = `not growing volume ${pv.metadata.name ?? ''} to ${formatBytes(size)}: ${refused}`;
      this.o.events.record(claim, 'Warning', 'VolumeResizeFailed', message);
      throw new Error(message);
    }
    this.o.events.record(
      claim,
      'Normal',
      'Resizing',
      `External resizer is resizing volume ${pv.metadata.name ?? ''}`,
    );
    let online: boolean;
    try {
      online = (await this.o.onlineResize?.(path, size)) ?? false;
      if (!online) await this.o.images.resize(path, formatFor(mode), size);
    } catch (err) {
      const message = `failed growing volume ${pv.metadata.name ?? ''} to ${formatBytes(size)}: ${err instanceof Error ? err.message : String(err)}`;
      this.o.events.record(claim, 'Warning', 'VolumeResizeFailed', message);
      throw new Error(message);
    }
    await this.api.mutate<PersistentVolume>(persistentVolumeKind, '', pv.metadata.name ?? '', (v) => {
      v.spec.capacity = { ...v.spec.capacity, storage: formatBytes(size) };
    });
    await this.writeStatus(claim, (s) => {
      s.capacity = { ...s.capacity, storage: formatBytes(size) };
      s.allocatedResources = { storage: formatBytes(size) };
    });
    this.o.events.record(
      claim,
      'Normal',
      'VolumeResizeSuccessful',
      online
        ? `resize volume to ${formatBytes(size)} succeeded, online: the running guest sees the new size`
        : `resize volume to ${formatBytes(size)} succeeded`,
    );
  }

  /** Why `growth` bytes more of thin volume may not go to the pool in `dir` now. */
  private async refusal(dir: string, growth: number): Promise<string | undefined> {
    const policy = this.o.capacity ?? defaultCapacityPolicy();
    const provisioned = provisionedBytes(dir, this.api.list<PersistentVolume>(persistentVolumeKind));
    return refusal(dir, growth, provisioned, await policy.space(dir), policy);
  }

  /** Work started outside the queue: its failure is logged, and nothing is written once stopped. */
  private background(work: Promise<void>): void {
    work.catch((err: unknown) => {
      if (!this.stopped)
        this.log(
          `provisioner: failed reclaiming a volume: ${err instanceof Error ? err.message : String(err)}`,
        );
    });
  }

  /** The PV of a claim made now, or the one the server has when the cache had not seen it yet. */
  private async createVolume(pv: PersistentVolume): Promise<PersistentVolume> {
    try {
      return await this.api.create<PersistentVolume>(persistentVolumeKind, pv);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const there = await this.api.getLive<PersistentVolume>(
        persistentVolumeKind,
        '',
        pv.metadata.name ?? '',
      );
      if (there === undefined) throw err;
      return there;
    }
  }

  /** The claim is gone: its volume goes too (reclaimPolicy Delete) or is kept as Released (Retain). */
  private async reclaim(claim: Claim): Promise<void> {
    // The server's list, not the cache: the volume may be newer than the PV informer has seen.
    const pv = (await this.api.listLive<PersistentVolume>(persistentVolumeKind)).find(
      (v) => v.spec.claimRef?.uid === claim.metadata.uid,
    );
    if (pv === undefined || pv.spec.claimRef?.uid !== claim.metadata.uid) return;
    await this.reclaimVolume(pv);
  }

  private async reclaimVolume(pv: PersistentVolume): Promise<void> {
    if (pv.spec.persistentVolumeReclaimPolicy === 'Delete') {
      const path = poolFileOf(pv);
      // The file, or the symlink and active layer of a snapshotted volume (layers.ts).
      if (path !== undefined) await removeVolume(path);
      if (this.stopped) return;
      await this.api.delete(persistentVolumeKind, '', pv.metadata.name ?? '');
    } else {
      await this.api.mutate<PersistentVolume>(
        persistentVolumeKind,
        '',
        pv.metadata.name ?? '',
        (v) => {
          if (v.status?.phase === 'Released') return false;
          v.status = { ...v.status, phase: 'Released' };
          return true;
        },
        true,
      );
    }
  }

  /** Volumes whose claim was deleted while the platform was down. */
  private async reclaimOrphans(): Promise<void> {
    // Deleting files on what a cache says is wrong when one informer runs behind another: ask the
    // server for the volumes first, then the claims, so no claim newer than its volume is missed.
    const volumes = await this.api.listLive<PersistentVolume>(persistentVolumeKind);
    const claims = new Set(
      (await this.api.listLive<Claim>(persistentVolumeClaimKind)).map((c) => c.metadata.uid),
    );
    for (const pv of volumes) {
      const ref = pv.spec.claimRef;
      if (ref?.uid !== undefined && !claims.has(ref.uid) && pv.status?.phase !== 'Released')
        await this.reclaimVolume(pv);
    }
  }

  private async writeStatus(claim: Claim, change: (s: NonNullable<Claim['status']>) => void): Promise<void> {
    await this.api.mutate<Claim>(
      persistentVolumeClaimKind,
      claim.metadata.namespace ?? '',
      claim.metadata.name ?? '',
      (c) => {
        if (c.metadata.uid !== claim.metadata.uid) return false;
        const status = structuredClone(c.status ?? {});
        change(status);
        if (JSON.stringify(status) === JSON.stringify(c.status ?? {})) return false;
        c.status = status;
        return true;
      },
      true,
    );
  }
}

/**
 * The disk file of a volume this pool provisioned, named after the volume (`pvc-UID.qcow2|.img`,
 * UID its claim's): a PersistentVolume written by hand that points at another host file is never
 * opened for a guest, grown or deleted.
 */
function poolFileOf(pv: PersistentVolume | undefined): string | undefined {
  const path = pv?.spec.hostPath?.path;
  const name = pv?.metadata.name;
  if (path === undefined || name === undefined || name !== `pvc-${pv?.spec.claimRef?.uid ?? ''}`)
    return undefined;
  return basename(path) === `${name}.qcow2` || basename(path) === `${name}.img` ? path : undefined;
}
