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
 * Every chunk stored in the application's complete packs (those with an index), by sha256. An
 * index that does not verify is skipped: its chunks are simply sent again.
 */
export async function storedChunks(
  target: Target,
  app: string,
  signal?: AbortSignal,
): Promise<Map<string, ChunkLocation>> {
  const ids = (await target.list(`${app}/index/`, signal)).flatMap((k) => {
    const id = packIdOfKey(k);
    return id === undefined ? [] : [id];
  });
  const out = new Map<string, ChunkLocation>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] ?? '';
      let data: Buffer;
      try {
        data = await target.get(packIndexKey(app, id), signal);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) continue; // collected meanwhile by another process
        throw err;
      }
      for (const [hash, offset, length] of decodePackIndex(data, id) ?? [])
        out.set(hash, { pack: id, offset, length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
  return out;
}

interface OpenPack {
  id: string;
  frames: Buffer[];
  size: number;
  entries: IndexEntry[];
}

/**
 * Fills packs with frames and uploads each (then its index) when full, `maxUploads` at once; the
 * caller waits for `room()` before reading more, so memory stays near (maxUploads + 1) × packSize.
 */
export class PackWriter {
  /** Bytes of packs and indexes stored. */
  bytesSent = 0;
  private open: OpenPack | undefined;
  private readonly uploads = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(
    private readonly target: Target,
    private readonly app: string,
    private readonly packSize: number,
    private readonly maxUploads: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Adds a chunk's frame to the open pack and says where it will be; seals the pack when full. */
  add(hash: string, frame: Buffer): ChunkLocation {
    if (this.failure !== undefined) throw this.failure;
    const pack = (this.open ??= { id: newPackId(), frames: [], size: 0, entries: [] });
    const at: ChunkLocation = { pack: pack.id, offset: pack.size, length: frame.length };
    pack.frames.push(frame);
    pack.entries.push([hash, at.offset, at.length]);
    pack.size += frame.length;
    if (pack.size >= this.packSize) this.seal();
    return at;
  }

  /** Resolves when fewer than maxUploads packs are in flight; throws an upload's failure. */
  async room(): Promise<void> {
    while (this.uploads.size >= this.maxUploads) await Promise.race(this.uploads);
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
    const data = pack.frames.length === 1 ? (pack.frames[0] ?? Buffer.alloc(0)) : Buffer.concat(pack.frames);
    pack.frames = [];
    await this.target.put(packKey(this.app, pack.id), data, this.signal);
    this.bytesSent += data.length;
    const index = encodePackIndex(pack.id, pack.entries);
    await this.target.put(packIndexKey(this.app, pack.id), index, this.signal);
    this.bytesSent += index.length;
  }
}
