/**
 * The node's side of VM snapshots (virt-handler's freeze/unfreeze plus the CSI snapshotter's
 * role): takes, restores and deletes the qcow2 layers of a VM's volumes. A running guest is
 * snapshotted live in one QMP transaction (blockdev-snapshot-sync on every disk at once, so the
 * disks are consistent with each other), between guest-fsfreeze-freeze and guest-fsfreeze-thaw
 * when its guest agent is connected. A stopped VM's volumes are handled with qemu-img
 * (src/storage/layers.ts). Deleting a layer a running guest reads merges it with block-stream in
 * that guest's QEMU.
 */
import { randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import type { Indication } from '../api/snapshot/snapshot.js';
import {
  adopt,
  deleteLayer,
  newLayerPath,
  pointTo,
  restoreOffline,
  snapshotOffline,
  type QemuImgRunner,
} from '../storage/layers.js';
import type { RunningGuest } from './agent.js';

export interface SnapshotVolume {
  /** The VM volume name. */
  name: string;
  /** The pool file of its claim (the PersistentVolume's path). */
  path: string;
}

export interface TakeRequest {
  namespace: string;
  vmName: string;
  volumes: SnapshotVolume[];
  /** Freeze the guest's filesystems first (its agent is connected). */
  freeze: boolean;
  /** The VMI runs: the snapshot must go through its QEMU, never behind its back with qemu-img. */
  running: boolean;
}

export interface TakeResult {
  /** Volume name → the frozen layer that is now the snapshot's. */
  layers: Record<string, string>;
  indications: Indication[];
}

/** What the snapshot controllers ask of the node (the port; NodeSnapshotter is the real one). */
export interface Snapshotter {
  take(req: TakeRequest): Promise<TakeResult>;
  /** Points each volume at a new layer over the snapshot's (the VM is stopped). */
  restore(volumes: { path: string; layer: string }[], full?: boolean): Promise<void>;
  /** Frees a snapshot's layer; the layers built on it keep what they read. */
  deleteLayer(layer: string): Promise<void>;
}

interface BlockDevice {
  qdev?: string;
  inserted?: { file?: string; 'node-name'?: string };
}

interface NamedNode {
  'node-name': string;
  file: string;
  drv: string;
}

interface Job {
  id: string;
  status: string;
  error?: string;
}

export class NodeSnapshotter implements Snapshotter {
  constructor(
    private readonly guests: () => RunningGuest[],
    private readonly qemuImg: QemuImgRunner,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  async take(req: TakeRequest): Promise<TakeResult> {
    const guest = this.guests().find((g) => g.namespace === req.namespace && g.name === req.vmName);
    if (guest === undefined && req.running)
      throw new Error(`the QEMU of ${req.namespace}/${req.vmName} is not attached to this node agent yet`);
    if (guest === undefined) {
      const layers: Record<string, string> = {};
      for (const v of req.volumes) layers[v.name] = await snapshotOffline(this.qemuImg, v.path);
      return { layers, indications: [] };
    }
    return this.takeLive(guest, req);
  }

  private async takeLive(guest: RunningGuest, req: TakeRequest): Promise<TakeResult> {
    const indications: Indication[] = ['Online'];
    if (req.volumes.length === 0) return { layers: {}, indications: [...indications, 'NoGuestAgent'] };
    const devices = await guest.command<BlockDevice[]>('query-block');
    const plan: { volume: SnapshotVolume; node: string; frozen: string; next: string }[] = [];
    for (const volume of req.volumes) {
      const active = await realpath(volume.path);
      const node = devices.find((d) => d.inserted?.file === active)?.inserted?.['node-name'];
      if (node === undefined)
        throw new Error(`volume ${JSON.stringify(volume.name)} is not open in the guest (${active})`);
      plan.push({ volume, node, frozen: active, next: newLayerPath(volume.path) });
    }
    let frozen = false;
    // A paused guest runs no code: its disks are quiet, and its agent cannot answer a freeze.
    if (guest.paused) indications.push('Paused');
    else if (req.freeze) {
      try {
        await guest.agent.execute<number>('guest-fsfreeze-freeze', undefined, 10_000);
        frozen = true;
        indications.push('GuestAgent');
      } catch (err) {
        this.log(`snapshot of ${req.namespace}/${req.vmName}: freeze failed: ${String(err)}`);
        indications.push('QuiesceFailed');
      }
    } else indications.push('NoGuestAgent');
    try {
      await guest.command('transaction', {
        actions: plan.map((p) => ({
          type: 'blockdev-snapshot-sync',
          data: {
            'node-name': p.node,
            'snapshot-file': p.next,
            'snapshot-node-name': `snap-${randomBytes(6).toString('hex')}`,
            format: 'qcow2',
            mode: 'absolute-paths',
          },
        })),
      });
    } finally {
      if (frozen)
        await guest.agent.execute('guest-fsfreeze-thaw', undefined, 10_000).catch((err: unknown) => {
          this.log(`snapshot of ${req.namespace}/${req.vmName}: thaw failed: ${String(err)}`);
        });
    }
    const layers: Record<string, string> = {};
    for (const p of plan) {
      await pointTo(p.volume.path, p.next);
      layers[p.volume.name] = p.frozen;
    }
    return { layers, indications };
  }

  async restore(volumes: { path: string; layer: string }[], full = false): Promise<void> {
    for (const v of volumes) {
      const active = await realpath(v.path).catch(() => undefined);
      if (active !== undefined && (await this.holder(active)) !== undefined)
        throw new Error(`volume ${v.path} is in use by a running guest`);
      await restoreOffline(this.qemuImg, v.path, v.layer, full);
    }
  }

  async deleteLayer(layer: string): Promise<void> {
    await deleteLayer(this.qemuImg, layer, (child, base) => this.stream(child, base));
  }

  /** Adopts a plain volume into the layered layout (the node agent does it before a guest opens it). */
  static adopt(path: string): Promise<string> {
    return adopt(path);
  }

  private async holder(file: string): Promise<{ guest: RunningGuest; node: string } | undefined> {
    for (const guest of this.guests()) {
      const nodes = await guest.command<NamedNode[]>('query-named-block-nodes').catch(() => []);
      const node = nodes.find((n) => n.file === file && n.drv === 'qcow2');
      if (node !== undefined) return { guest, node: node['node-name'] };
    }
    return undefined;
  }

  /** Merges the layer under `child` into it inside the QEMU that has it open; false when none has. */
  private async stream(child: string, base: string | undefined): Promise<boolean> {
    const held = await this.holder(child);
    if (held === undefined) return false;
    const id = `stream-${randomBytes(4).toString('hex')}`;
    await held.guest.command('block-stream', {
      'job-id': id,
      device: held.node,
      'auto-dismiss': false,
      ...(base !== undefined ? { base, 'backing-file': base } : {}),
    });
    for (;;) {
      const jobs = await held.guest.command<Job[]>('query-jobs');
      const job = jobs.find((j) => j.id === id);
      if (job === undefined) throw new Error(`block-stream job ${id} vanished`);
      if (job.status === 'concluded') {
        await held.guest.command('job-dismiss', { id });
        if (job.error !== undefined) throw new Error(`merging a snapshot layer into ${child}: ${job.error}`);
        return true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
