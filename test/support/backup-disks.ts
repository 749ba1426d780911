/**
 * Disks for backup tests: a DiskSource over an in-memory image (a Buffer), whose extents are
 * computed from its content the way a real map reports them, and a DiskSink that collects a
 * restored image. Only the node's side is faked: the repository and targets under test are real.
 */
import { randomFillSync } from 'node:crypto';
import type { DiskSink, DiskSource, Extent } from '../../src/backup/types.js';

/** 64 KiB, the qcow2 cluster size: the granularity at which extents are reported. */
export const CLUSTER = 65536;

/** Extents of the non-zero clusters of an image (adjacent ones merged), as a full backup gets. */
export function allocatedExtents(image: Buffer): Extent[] {
  const out: Extent[] = [];
  const zero = Buffer.alloc(CLUSTER);
  for (let off = 0; off < image.length; off += CLUSTER) {
    const c = image.subarray(off, off + CLUSTER);
    if (c.equals(zero.subarray(0, c.length))) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.offset + last.length === off) last.length += c.length;
    else out.push({ offset: off, length: c.length, zero: false });
  }
  return out;
}

export function bufferDisk(
  name: string,
  image: Buffer,
  o: { changed?: Extent[]; full?: boolean; fullReason?: string } = {},
): DiskSource & { reads: number } {
  const disk = {
    name,
    virtualSize: image.length,
    changed: o.changed ?? allocatedExtents(image),
    full: o.full ?? o.changed === undefined,
    ...(o.fullReason === undefined ? {} : { fullReason: o.fullReason }),
    reads: 0,
    reader: {
      read: (offset: number, length: number): Promise<Buffer> => {
        disk.reads++;
        return Promise.resolve(Buffer.from(image.subarray(offset, offset + length)));
      },
      close: (): Promise<void> => Promise.resolve(),
    },
  };
  return disk;
}

/** Random (incompressible) data written at an offset; returns the extent written. */
export function scribble(image: Buffer, offset: number, length: number): Extent {
  randomFillSync(image, offset, length);
  return { offset, length, zero: false };
}

export interface BufferSink extends DiskSink {
  image: Buffer;
  state: 'open' | 'finished' | 'aborted';
}

export function bufferSink(size: number): BufferSink {
  const sink: BufferSink = {
    image: Buffer.alloc(size),
    state: 'open',
    write: (offset, data) => {
      if (offset + data.length > size) return Promise.reject(new Error(`write past the end at ${offset}`));
      data.copy(sink.image, offset);
      return Promise.resolve();
    },
    finish: () => {
      sink.state = 'finished';
      return Promise.resolve();
    },
    abort: () => {
      sink.state = 'aborted';
      return Promise.resolve();
    },
  };
  return sink;
}
