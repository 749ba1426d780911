/**
 * The node's side of backups (issue 17): a consistent point of a VM's disks, the extents changed
 * since the previous point, a reader over each disk as it was at the point, and a sink that
 * writes a restored volume. A backup point is a snapshot layer taken through the Snapshotter (one
 * QMP transaction with the guest frozen when its agent is connected, qemu-img when the VM is
 * stopped); that frozen layer is both what is read and the boundary the next backup diffs
 * against (src/storage/changed-extents.ts). It stays until the next backup of the application
 * succeeds, then is merged away like a deleted snapshot's layer (`releaseBoundary`).
 */
import { lstat } from 'node:fs/promises';
import type { Indication } from '../api/snapshot/snapshot.js';
import type { DiskSink, DiskSource, FillingBlockReader } from '../backup/types.js';
import { changedExtents } from '../storage/changed-extents.js';
import { backingOf, checkLayer, childrenOf, markUnowned, type QemuImgRunner } from '../storage/layers.js';
import { openNbd, type NbdExport } from '../storage/nbd.js';
import { formatOfVolume } from '../storage/pool.js';
import type { PoolFormat } from '../storage/ports.js';
import { openRestoreSink } from '../storage/restore-sink.js';
import type { RunningGuest } from './agent.js';
import { NodeSnapshotter, type SnapshotVolume } from './snapshots.js';
import { UndoStack } from './undo.js';

export interface BackupPointRequest {
  namespace: string;
  vmName: string;
  volumes: SnapshotVolume[];
  /** As the snapshotter's TakeRequest. */
  freeze: boolean;
  running: boolean;
  /** Volume name → the boundary layer the previous backup of this application kept. */
  previous?: Record<string, string>;
}

export interface BackupPoint {
  /**
   * Volume name → this point's boundary layer, kept until the next backup succeeds. If this
   * backup fails, release these instead (the previous boundary stays the one to diff against).
   */
  boundary: Record<string, string>;
  disks: DiskSource[];
  indications: Indication[];
  /** Closes the readers (stops qemu-nbd). */
  close(): Promise<void>;
}

export interface BackupExecutor {
  takePoint(req: BackupPointRequest): Promise<BackupPoint>;
  /** Frees a boundary layer no backup needs any more (merged like a deleted snapshot's). */
  releaseBoundary(layer: string): Promise<void>;
  /** A sink writing a whole new pool volume file (replaced whole, as imports do). */
  openRestoreSink(t: { path: string; format: PoolFormat; virtualSize: number }): Promise<DiskSink>;
}

export class NodeBackupExecutor implements BackupExecutor {
  private readonly snapshots: NodeSnapshotter;

  /** The same dependencies as NodeSnapshotter: the agent's running guests, qemu-img, a log. */
  constructor(
    guests: () => RunningGuest[],
    private readonly qemuImg: QemuImgRunner,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.snapshots = new NodeSnapshotter(guests, qemuImg, log);
  }

  async takePoint(req: BackupPointRequest): Promise<BackupPoint> {
    // Checked for every disk first: the snapshotter would otherwise freeze the ones before.
    for (const v of req.volumes) {
      if (formatOfVolume(v.path) !== 'qcow2')
        throw new Error(
          `volume ${JSON.stringify(v.name)} is a raw (Block) volume: backups need the qcow2 layers of a Filesystem volume`,
        );
      if ((await lstat(v.path).catch(() => undefined)) === undefined)
        throw new Error(`volume ${JSON.stringify(v.name)} has no file: ${v.path} is missing`);
    }
    const taken = await this.snapshots.take({
      namespace: req.namespace,
      vmName: req.vmName,
      volumes: req.volumes,
      freeze: req.freeze,
      running: req.running,
    });
    const undo = new UndoStack();
    for (const layer of Object.values(taken.layers))
      undo.push(`release the new backup layer ${layer}`, () => this.releaseBoundary(layer));
    const exports: NbdExport[] = [];
    const closeAll = async (): Promise<void> => {
      for (const e of exports.splice(0)) await e.close();
    };
    undo.push('stop the disk readers', closeAll);
    try {
      const disks: DiskSource[] = [];
      for (const v of req.volumes) {
        const layer = taken.layers[v.name];
        if (layer === undefined)
          throw new Error(`no backup layer was taken of volume ${JSON.stringify(v.name)}`);
        const changes = await changedExtents(this.qemuImg, v.path, layer, req.previous?.[v.name]);
        const nbd = await openNbd(layer, 'qcow2');
        exports.push(nbd);
        disks.push({
          name: v.name,
          virtualSize: nbd.client.size,
          changed: changes.changed,
          full: changes.full,
          ...(changes.full ? { fullReason: changes.reason } : {}),
          reader: readerOf(nbd),
        });
        if (changes.full)
          this.log(`backup of ${req.namespace}/${req.vmName}: ${v.name} in full: ${changes.reason}`);
      }
      undo.commit();
      return { boundary: taken.layers, disks, indications: taken.indications, close: closeAll };
    } catch (err) {
      for (const failure of await undo.rollback())
        this.log(`backup of ${req.namespace}/${req.vmName}: ${failure}`);
      throw err;
    }
  }

  /**
   * A boundary in the middle of a chain is merged into the layers over it (O(its data), the
   * changes of one backup interval). One at the bottom holds the whole disk, which its children
   * read anyway: it stays, marked unowned, and goes with its last child.
   */
  async releaseBoundary(layer: string): Promise<void> {
    const real = await checkLayer(layer).catch(() => undefined);
    if (real === undefined) return this.snapshots.deleteLayer(layer);
    if ((await backingOf(real)) === undefined && (await childrenOf(real)).length > 0)
      return markUnowned(real);
    await this.snapshots.deleteLayer(real);
  }

  openRestoreSink(t: { path: string; format: PoolFormat; virtualSize: number }): Promise<DiskSink> {
    return openRestoreSink(this.qemuImg, t);
  }
}

/** A reader that also fills given buffers, so the repository reuses its chunk memory. */
function readerOf(nbd: NbdExport): FillingBlockReader {
  return {
    read: (offset, length) => nbd.client.read(offset, length),
    readInto: (offset, into) => nbd.client.readInto(offset, into),
    close: () => nbd.close(),
  };
}
