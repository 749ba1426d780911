/**
 * Chunks: the unit of storage and deduplication. A disk is cut at fixed offsets (index × chunk
 * size); a chunk is named by the sha256 of its uncompressed bytes, stored as a zstd frame in a pack
 * of its application (packs.ts), and verified on every read (decompressed length and sha256 must match the
 * name). Fixed offsets, not content-defined cuts, because a changed block of a disk does not shift
 * the bytes after it: the chunk that holds it is the only one that changes.
 */
import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import zstd from 'zstd-napi/binding.js';
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

/** zstd's default level: random data costs ~5 ms per MiB; any level reads back the same. */
export const encodeChunk = (data: Buffer): Buffer => compress(data);

/** What a chunk read from a disk becomes: nothing (all zeros), or its name and stored bytes. */
export type Inspected = { zero: true } | { zero: false; hash: string; stored: Buffer };

export function inspectChunk(data: Buffer): Inspected {
  if (isZero(data)) return { zero: true };
  return { zero: false, hash: sha256hex(data), stored: encodeChunk(data) };
}

/** The most bytes a chunk of `size` bytes can take as a zstd frame. */
export const frameBound = (size: number): number => zstd.compressBound(size);

let cctx: InstanceType<typeof zstd.CCtx> | undefined;
/**
 * inspectChunk writing the frame into `dest` (at least frameBound(data.length) bytes) instead of a
 * new buffer: its length is returned. Used by the worker threads with memory that is reused, since
 * touching fresh memory (page faults) cost about as much here as zstd itself.
 */
export function inspectChunkInto(
  data: Buffer,
  dest: Buffer,
): { zero: true } | { zero: false; hash: string; length: number } {
  if (isZero(data)) return { zero: true };
  if (cctx === undefined) {
    cctx = new zstd.CCtx();
    cctx.setParameter(zstd.CParameter.compressionLevel, zstd.defaultCLevel());
  }
  return { zero: false, hash: sha256hex(data), length: cctx.compress2(dest, data) };
}

const zeros = Buffer.alloc(64 << 10);
function isZero(data: Buffer): boolean {
  for (let at = 0; at < data.length; at += zeros.length) {
    const part = data.subarray(at, at + zeros.length);
    if (!part.equals(zeros.subarray(0, part.length))) return false;
  }
  return true;
}

/** Decompresses a stored chunk and checks it is `length` bytes hashing to `hash`; why it is not. */
export function checkChunk(stored: Buffer, hash: string, length: number): { data: Buffer } | { why: string } {
  let data: Buffer;
  try {
    data = decompress(stored);
  } catch (err) {
    return { why: `cannot decompress (${err instanceof Error ? err.message : String(err)})` };
  }
  if (data.length !== length) return { why: `${data.length} bytes where ${length} were stored` };
  if (sha256hex(data) !== hash) return { why: 'sha256 mismatch' };
  return { data };
}

/** Decompresses a stored chunk and checks it is `length` bytes hashing to `hash`. */
export function decodeChunk(stored: Buffer, hash: string, length: number, uri: string): Buffer {
  const r = checkChunk(stored, hash, length);
  if ('why' in r) throw new CorruptChunkError(uri, r.why);
  return r.data;
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
