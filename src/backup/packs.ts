/**
 * Packs: many stored chunks (zstd frames) concatenated into one object of ~32 MiB, plus a small
 * index object per pack listing which chunk is where. One object per chunk cost an S3 request, and
 * the server's per-object work, for every MiB backed up; a pack pays them once per ~32 MiB.
 *
 *   <app>/packs/ab/ab12…      the frames, back to back (id: 16 random bytes, hex)
 *   <app>/index/ab/ab12….json [sha256, offset, length] of each frame, with its own checksum
 *
 * A pack's index is written only after the pack is stored whole, so an index names only complete
 * packs: a backup that failed mid-upload leaves packs without index, which nothing reads and the
 * next collection deletes, and packs with an index, whose chunks the next attempt reuses.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ObjectNotFoundError, type Target } from './target.js';

/** Frames are added to a pack until it holds at least this many bytes. */
export const DEFAULT_PACK_SIZE = 32 << 20;

const PACK_ID = /^[0-9a-f]{32}$/;
export const isPackId = (id: string): boolean => PACK_ID.test(id);
export const newPackId = (): string => randomBytes(16).toString('hex');

export const packKey = (app: string, id: string): string => `${app}/packs/${id.slice(0, 2)}/${id}`;
export const packIndexKey = (app: string, id: string): string => `${app}/index/${id.slice(0, 2)}/${id}.json`;

/** The pack id a pack or pack index key names, or undefined for anything else. */
export function packIdOfKey(key: string): string | undefined {
  const m = /\/(?:packs\/[0-9a-f]{2}\/([0-9a-f]{32})|index\/[0-9a-f]{2}\/([0-9a-f]{32})\.json)$/.exec(key);
  return m?.[1] ?? m?.[2];
}

/** Where a stored chunk is: its pack, and its frame's offset and length in it. */
export interface ChunkLocation {
  pack: string;
  offset: number;
  length: number;
}

type IndexEntry = [hash: string, offset: number, length: number];

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function encodePackIndex(id: string, entries: IndexEntry[]): Buffer {
  const text = JSON.stringify({ version: 1, pack: id, chunks: entries });
  return Buffer.from(`${text.slice(0, -1)},"checksum":"sha256:${sha256(text)}"}`);
}

/** The entries of a pack index, or undefined if it is not one (truncated, edited, another pack's). */
export function decodePackIndex(data: Buffer, id: string): IndexEntry[] | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null) return undefined;
  const { checksum, ...rest } = obj as Record<string, unknown>;
  if (checksum !== `sha256:${sha256(JSON.stringify(rest))}` || rest.version !== 1 || rest.pack !== id)
    return undefined;
  if (!Array.isArray(rest.chunks)) return undefined;
  const ok = (rest.chunks as unknown[]).every(
    (c) =>
      Array.isArray(c) &&
      c.length === 3 &&
      typeof c[0] === 'string' &&
      /^[0-9a-f]{64}$/.test(c[0]) &&
      Number.isSafeInteger(c[1]) &&
      Number.isSafeInteger(c[2]),
  );
  return ok ? (rest.chunks as IndexEntry[]) : undefined;
}

/**
 * The pack indexes a repository has read, by application and pack id. A stored index never
 * changes (its pack id is random, its content checksummed), so a later write of the same
 * application GETs only the indexes it has not read yet: for an incremental, reading every index
 * again was a fixed cost of one GET per 32 MiB stored. Ids the listing no longer shows (packs
 * collected) are dropped. Bounded in chunk entries (~100 bytes each): past the bound the least
 * recently written application is forgotten, and read in full again next time.
 */
export class PackIndexCache {
  private readonly apps = new Map<string, Map<string, readonly IndexEntry[]>>();
  private entries = 0;

  constructor(private readonly maxEntries = 1 << 18) {}

  /** The cached indexes of `app`, trimmed to the ids `listed`; the app becomes the most recent. */
  retain(app: string, listed: readonly string[]): Map<string, readonly IndexEntry[]> {
    const cached = this.apps.get(app) ?? new Map<string, readonly IndexEntry[]>();
    const keep = new Set(listed);
    for (const [id, entries] of cached)
      if (!keep.has(id)) {
        cached.delete(id);
        this.entries -= entries.length;
      }
    this.apps.delete(app);
    this.apps.set(app, cached);
    return cached;
  }

  add(app: string, id: string, entries: readonly IndexEntry[]): void {
    const cached = this.apps.get(app);
    if (cached === undefined || cached.has(id)) return;
    cached.set(id, entries);
    this.entries += entries.length;
    for (const [other, indexes] of this.apps) {
      if (this.entries <= this.maxEntries) break;
      this.apps.delete(other);
      for (const e of indexes.values()) this.entries -= e.length;
    }
  }

  /** Chunk entries held (for tests). */
  get size(): number {
    return this.entries;
  }
}

/**
 * Every chunk stored in the application's complete packs (those with an index), by sha256. An
 * index that does not verify is skipped: its chunks are simply sent again. With a cache, only the
 * indexes it does not hold are read.
 */
export async function storedChunks(
  target: Target,
  app: string,
  signal?: AbortSignal,
  cache: PackIndexCache = new PackIndexCache(0),
): Promise<Map<string, ChunkLocation>> {
  const ids = (await target.list(`${app}/index/`, signal)).flatMap((k) => {
    const id = packIdOfKey(k);
    return id === undefined ? [] : [id];
  });
  const known = cache.retain(app, ids);
  const out = new Map<string, ChunkLocation>();
  const take = (id: string, entries: readonly IndexEntry[]): void => {
    for (const [hash, offset, length] of entries) out.set(hash, { pack: id, offset, length });
  };
  const missing: string[] = [];
  for (const id of ids) {
    const entries = known.get(id);
    if (entries !== undefined) take(id, entries);
    else missing.push(id);
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const id = missing[next++] ?? '';
      let data: Buffer;
      try {
        data = await target.get(packIndexKey(app, id), signal);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) continue; // collected meanwhile by another process
        throw err;
      }
      const entries = decodePackIndex(data, id);
      if (entries === undefined) continue;
      cache.add(app, id, entries);
      take(id, entries);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, missing.length) }, worker));
  return out;
}

interface OpenPack {
  id: string;
  /** Frames are copied in here, back to back; `size` bytes are used. */
  buf: Buffer;
  size: number;
  entries: IndexEntry[];
}

/**
 * Fills packs with frames and uploads each (then its index) when full, `maxUploads` at once; the
 * caller waits for `room()` before reading more, so memory stays near (maxUploads + 1) packs. A
 * pack's buffer is reused for a later pack once uploaded: fresh memory costs page faults, which on
 * these machines cost as much as compressing.
 */
export class PackWriter {
  /** Bytes of packs and indexes stored. */
  bytesSent = 0;
  private open: OpenPack | undefined;
  private readonly spare: Buffer[] = [];
  private readonly uploads = new Set<Promise<void>>();
  private failure: Error | undefined;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly target: Target,
    private readonly app: string,
    /** maxFrame: the largest frame `add` is given; indexes: where a stored pack's index is remembered. */
    private readonly o: {
      packSize: number;
      maxFrame: number;
      maxUploads: number;
      signal?: AbortSignal;
      indexes?: PackIndexCache;
    },
  ) {
    this.signal = o.signal;
  }

  /** Copies a chunk's frame into the open pack and says where it will be; seals the pack when full. */
  add(hash: string, frame: Buffer): ChunkLocation {
    if (this.failure !== undefined) throw this.failure;
    if (frame.length > this.o.maxFrame)
      throw new Error(`a frame of ${frame.length} bytes is over ${this.o.maxFrame}`);
    const pack = (this.open ??= {
      id: newPackId(),
      buf: this.spare.pop() ?? Buffer.allocUnsafeSlow(this.o.packSize + this.o.maxFrame),
      size: 0,
      entries: [],
    });
    const at: ChunkLocation = { pack: pack.id, offset: pack.size, length: frame.length };
    frame.copy(pack.buf, pack.size);
    pack.entries.push([hash, at.offset, at.length]);
    pack.size += frame.length;
    if (pack.size >= this.o.packSize) this.seal();
    return at;
  }

  /** Resolves when fewer than maxUploads packs are in flight; throws an upload's failure. */
  async room(): Promise<void> {
    while (this.uploads.size >= this.o.maxUploads) await Promise.race(this.uploads);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Uploads the open pack, waits for every upload, and throws the first failure. */
  async flush(): Promise<void> {
    this.seal();
    await Promise.all(this.uploads);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for the uploads in flight to settle (after a failure elsewhere). */
  async settle(): Promise<void> {
    this.open = undefined;
    await Promise.allSettled(this.uploads);
  }

  private seal(): void {
    const pack = this.open;
    if (pack === undefined) return;
    this.open = undefined;
    const upload = this.upload(pack)
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
  }

  private async upload(pack: OpenPack): Promise<void> {
    try {
      await this.target.put(packKey(this.app, pack.id), pack.buf.subarray(0, pack.size), this.signal);
    } finally {
      this.spare.push(pack.buf); // the put has ended: nothing reads the buffer any more
    }
    this.bytesSent += pack.size;
    const index = encodePackIndex(pack.id, pack.entries);
    await this.target.put(packIndexKey(this.app, pack.id), index, this.signal);
    this.bytesSent += index.length;
    this.o.indexes?.add(this.app, pack.id, pack.entries);
  }
}
