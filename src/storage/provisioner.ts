/**
 * The storage pool, first cut: every PersistentVolumeClaim gets a thin qcow2 file of the size it
 * requests in the data dir, and is Bound. The file goes when the claim is deleted. (Storage
 * classes, expansion and in-use protection come with the images and disks work.)
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { persistentVolumeClaimKind } from '../api/core/core.js';
import type { KubeObject } from '../api/meta.js';
import { formatBytes, parseQuantity } from '../api/quantity.js';
import type { ApiClient } from '../controllers/client.js';
import type { EventRecorder } from '../controllers/events.js';
import { WorkQueue } from '../controllers/queue.js';
import type { DiskTool } from '../node/ports.js';

interface Claim extends KubeObject {
  spec: {
    accessModes?: string[];
    resources?: { requests?: Record<string, string | number> };
    volumeName?: string;
    volumeMode?: string;
  };
  status?: { phase?: string; capacity?: Record<string, string>; accessModes?: string[] };
}

export class Provisioner {
  private readonly queue: WorkQueue;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly events: EventRecorder,
    private readonly disks: DiskTool,
    private readonly dir: string,
    log: (m: string) => void = () => undefined,
  ) {
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) =>
        log(`provisioner: failed provisioning ${key}: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  start(): void {
    this.unsubscribe = this.api.watch([persistentVolumeClaimKind], (e) => {
      if (e.type === 'DELETED') void this.remove(e.object as Claim);
      else this.queue.add(`${e.namespace}/${e.name}`);
    });
    for (const c of this.api.list<Claim>(persistentVolumeClaimKind))
      this.queue.add(`${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`);
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  /** The disk file of a bound claim, or undefined. */
  claimPath(namespace: string, name: string): string | undefined {
    const claim = this.api.get<Claim>(persistentVolumeClaimKind, namespace, name);
    if (claim?.status?.phase !== 'Bound' || claim.spec.volumeName === undefined) return undefined;
    const path = this.pathOf(claim.spec.volumeName);
    return existsSync(path) ? path : undefined;
  }

  private pathOf(volumeName: string): string {
    return join(this.dir, `${volumeName}.qcow2`);
  }

  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const claim = this.api.get<Claim>(persistentVolumeClaimKind, namespace, name);
    if (
      claim === undefined ||
      claim.metadata.deletionTimestamp !== undefined ||
      claim.status?.phase === 'Bound'
    )
      return;
    const requested = claim.spec.resources?.requests?.['storage'];
    const bytes = requested === undefined ? undefined : parseQuantity(requested)?.value;
    if (bytes === undefined || bytes <= 0) {
      this.events.record(
        claim,
        'Warning',
        'ProvisioningFailed',
        'spec.resources.requests.storage must be set to a positive size',
      );
      return;
    }
    const volumeName = `pvc-${claim.metadata.uid ?? ''}`;
    const size = Math.ceil(bytes / 1048576) * 1048576;
    await mkdir(this.dir, { recursive: true });
    if (!existsSync(this.pathOf(volumeName)))
      await this.disks.createBlank(this.pathOf(volumeName), size, 'qcow2');
    this.api.mutate<Claim>(persistentVolumeClaimKind, namespace, name, (c) => {
      if (c.metadata.uid !== claim.metadata.uid || c.spec.volumeName === volumeName) return false;
      c.spec.volumeName = volumeName;
      return true;
    });
    this.api.mutate<Claim>(
      persistentVolumeClaimKind,
      namespace,
      name,
      (c) => {
        if (c.metadata.uid !== claim.metadata.uid) return false;
        c.status = {
          phase: 'Bound',
          capacity: { storage: formatBytes(size) },
          accessModes: c.spec.accessModes ?? ['ReadWriteOnce'],
        };
        return true;
      },
      true,
    );
    this.events.record(
      claim,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${volumeName} (${formatBytes(size)})`,
    );
  }

  private async remove(claim: Claim): Promise<void> {
    const volumeName = claim.spec.volumeName;
    if (volumeName !== undefined && volumeName === `pvc-${claim.metadata.uid ?? ''}`)
      await rm(this.pathOf(volumeName), { force: true });
  }
}
