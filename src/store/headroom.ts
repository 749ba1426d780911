/**
 * The store's own headroom on the data dir's filesystem, so a guest filling its disk (or anything
 * else filling the filesystem) cannot take the control plane down with it:
 * - a reserve file of preallocated bytes that is given back when the disk is full, so deletes and
 *   a WAL checkpoint can still commit and space can be freed through the API;
 * - a low-water mark under which new objects and ordinary updates are refused with a clear reason
 *   (and /readyz reports it), long before SQLite itself fails with SQLITE_FULL.
 * The reserve is made again once the filesystem has room for it above the mark.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** The filesystem facts the headroom needs; the real one is statfs(2) on the data dir. */
export type FreeSpace = (dir: string) => number;

export const statfsFree: FreeSpace = (dir) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

export interface HeadroomOptions {
  dir: string;
  /** Bytes kept in the reserve file (default 16 MiB). */
  reserveBytes?: number;
  /** Writes other than deletes are refused under this many free bytes (default 16 MiB). */
  lowBytes?: number;
  free?: FreeSpace;
  /** Wall clock in ms, for pacing attempts to remake the reserve. */
  now?: () => number;
}

export const RESERVE_FILE = 'store.reserve';
const MiB = 1024 * 1024;
/** How often a missing reserve is tried again while the filesystem is short of room. */
const REMAKE_EVERY_MS = 5000;

export class Headroom {
  readonly reservePath: string;
  readonly reserveBytes: number;
  readonly lowBytes: number;
  private readonly free: FreeSpace;
  private readonly now: () => number;
  private lastRemake = -Infinity;
  private closed = false;

  constructor(private readonly o: HeadroomOptions) {
    this.reservePath = join(o.dir, RESERVE_FILE);
    this.reserveBytes = o.reserveBytes ?? 16 * MiB;
    this.lowBytes = o.lowBytes ?? 16 * MiB;
    this.free = o.free ?? statfsFree;
    this.now = o.now ?? Date.now;
    this.remakeReserve();
  }

  /** Free bytes for the store now (the reserve not counted). */
  freeBytes(): number {
    return this.free(this.o.dir);
  }

  /** Why writes other than deletes are refused now; undefined when there is room. */
  shortage(): string | undefined {
    if (!existsSync(this.reservePath) && this.now() - this.lastRemake >= REMAKE_EVERY_MS)
      this.remakeReserve();
    const free = this.freeBytes();
    if (free >= this.lowBytes) return undefined;
    return `data dir full: ${free} bytes free in ${this.o.dir}, under the ${this.lowBytes} bytes the store keeps: only deletes are accepted until space is freed`;
  }

  /** Gives the reserve back to the filesystem; false when there was none left to give. */
  release(): boolean {
    if (!existsSync(this.reservePath)) return false;
    rmSync(this.reservePath, { force: true });
    this.lastRemake = this.now();
    return true;
  }

  /** The store is closed: the data dir may be going away, so the reserve is never made again. */
  close(): void {
    this.closed = true;
  }

  /** Writes the reserve file when the filesystem has room for it above the low-water mark. */
  private remakeReserve(): void {
    this.lastRemake = this.now();
    if (this.closed || existsSync(this.reservePath)) return;
    if (this.freeBytes() < this.lowBytes + this.reserveBytes) return;
    const partial = `${this.reservePath}.partial`;
    const chunk = Buffer.alloc(Math.min(MiB, this.reserveBytes));
    let fd: number | undefined;
    try {
      fd = openSync(partial, 'w', 0o600);
      for (let written = 0; written < this.reserveBytes;) {
        written += writeSync(fd, chunk, 0, Math.min(chunk.length, this.reserveBytes - written));
      }
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(partial, this.reservePath);
    } catch {
      // The filesystem filled up meanwhile: no reserve yet, tried again later.
      if (fd !== undefined) closeSync(fd);
      rmSync(partial, { force: true });
    }
  }
}
