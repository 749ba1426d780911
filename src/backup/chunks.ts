/**
 * Chunks: the unit of storage and deduplication. A disk is cut at fixed offsets (index × chunk
 * size); a chunk is named by the sha256 of its uncompressed bytes, stored zstd-compressed under its
 * application's prefix, and verified on every read (decompressed length and sha256 must match the
 * name). Fixed offsets, not content-defined cuts, because a changed block of a disk does not shift
 * the bytes after it: the chunk that holds it is the only one that changes.
 */
import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import type { Extent } from './types.js';

export const DEFAULT_CHUNK_SIZE = 1 << 20;

export class CorruptChunkError extends Error {
  constructor(
    readonly chunk: string,
    why: string,
  ) {
    super(`chunk ${chunk} is corrupt: ${why}`);
    this.name = 'CorruptChunkError';
  }
}

export const sha256hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** '<namespace>/<application>/chunks/ab/ab12…' */
export const chunkKey = (app: string, hash: string): string => `${app}/chunks/${hash.slice(0, 2)}/${hash}`;

/** The hash named by a chunk key, or undefined for anything else under chunks/. */
export function hashOfChunkKey(key: string): string | undefined {
  const m = /\/chunks\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return m?.[1];
}

export const encodeChunk = (data: Buffer): Buffer => Buffer.from(compress(data));

/** Decompresses a stored chunk and checks it is `length` bytes hashing to `hash`. */
export function decodeChunk(stored: Buffer, hash: string, length: number, uri: string): Buffer {
  let data: Buffer;
  try {
    data = Buffer.from(decompress(stored));
  } catch (err) {
    throw new CorruptChunkError(
      uri,
      `cannot decompress (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (data.length !== length)
    throw new CorruptChunkError(uri, `${data.length} bytes where ${length} were stored`);
  if (sha256hex(data) !== hash) throw new CorruptChunkError(uri, 'sha256 mismatch');
  return data;
}

/** The byte length of chunk `index` of a disk (the last one may be short). */
export const chunkLength = (index: number, chunkSize: number, virtualSize: number): number =>
  Math.min(chunkSize, virtualSize - index * chunkSize);

/**
 * The chunk indexes that extents touch, ascending. Zero extents count only when `withZero` (an
 * incremental backup must re-read a chunk whose blocks were discarded; a full one skips them).
 */
export function touchedChunks(
  extents: Extent[],
  chunkSize: number,
  virtualSize: number,
  withZero: boolean,
): number[] {
  const count = Math.ceil(virtualSize / chunkSize);
  const out = new Set<number>();
  for (const e of extents) {
    if (e.length <= 0 || (e.zero && !withZero)) continue;
    const first = Math.floor(e.offset / chunkSize);
    const last = Math.min(count - 1, Math.floor((e.offset + e.length - 1) / chunkSize));
    for (let i = first; i <= last; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}
