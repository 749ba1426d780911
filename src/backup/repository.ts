/**
 * The backup repository: turns the disks of a backup point into content-addressed chunks and one
 * manifest in a target, reads them back for a restore, and deletes backups while keeping what newer
 * ones need. Layout under the target, per application ('<namespace>/<application>'):
 *
 *   <app>/chunks/ab/ab12…   zstd-compressed chunks, named by the sha256 of their bytes
 *   <app>/backups/<name>.json   one manifest per backup, written last
 *
 * A failed or interrupted backup therefore lists nothing; the chunks it sent stay and the next
 * attempt does not send them again (every write starts by listing the chunks present).
 * Writes and deletes of one application are serialized in this process, so garbage collection
 * never removes a chunk that a backup in progress has just found present.
 */
import { chunkCodec, defaultWorkers, type ChunkCodec } from './chunk-codec.js';
import { chunkKey, chunkLength, DEFAULT_CHUNK_SIZE, hashOfChunkKey, touchedChunks } from './chunks.js';
import {
  decodeManifest,
  encodeManifest,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestDisk,
} from './manifest.js';
import { restoreChunks } from './restore.js';
import { checkKey, ObjectNotFoundError, type Target } from './target.js';
import type { DiskSink, DiskSource } from './types.js';

export type Progress = (done: number, total: number) => void;

export interface WriteRequest {
  /** '<namespace>/<application>/<backup name>' */
  key: string;
  /** The key of the previous backup of the same application, for incremental disks. */
  previous?: string;
  disks: DiskSource[];
  /** The application's manifest(s) to put back on restore. */
  spec: unknown;
  signal?: AbortSignal;
  onProgress?: Progress;
}

export interface WriteResult {
  /** The manifest's URI. */
  uri: string;
  /** Bytes sent (compressed chunks and the manifest). */
  size: number;
  /** Bytes of the disks' virtual sizes. */
  logicalSize: number;
  /** 'sha256:…' of the manifest. */
  checksum: string;
  chunksSent: number;
  chunksReused: number;
}

export class BackupNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`backup ${key} not found`);
    this.name = 'BackupNotFoundError';
  }
}

/** How many chunk uploads (or downloads) are in flight at once. */
const CONCURRENCY = 4;
/** How many chunks are read ahead of their upload (hashing and compressing in the workers). */
const WINDOW = 2 * CONCURRENCY;

/** Splits '<namespace>/<application>/<name>' into the application prefix and the name. */
function parseKey(key: string): { app: string; name: string } {
  const parts = checkKey(key).split('/');
  if (parts.length !== 3)
    throw new Error(`backup key ${JSON.stringify(key)} is not <namespace>/<application>/<name>`);
  return { app: `${parts[0]}/${parts[1]}`, name: parts[2] ?? '' };
}
const manifestKey = (key: string): string => {
  const { app, name } = parseKey(key);
  return `${app}/backups/${name}.json`;
};

export class BackupRepository {
  private readonly chunkSize: number;
  private readonly workers: number;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly target: Target,
    /** workers: threads that hash and (de)compress chunks; 0 does it in this thread. */
    o: { chunkSize?: number; workers?: number } = {},
  ) {
    this.chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.workers = o.workers ?? defaultWorkers();
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize < 4096)
      throw new Error(`chunk size ${this.chunkSize} is below 4096 bytes`);
  }

  /** Runs fn after every earlier write/delete of the same application has settled. */
  private async exclusive<T>(app: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(app) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(app, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(app) === settled) this.locks.delete(app);
    }
  }

  async write(req: WriteRequest): Promise<WriteResult> {
    const { app } = parseKey(req.key);
    if (req.previous !== undefined && parseKey(req.previous).app !== app)
      throw new Error(`previous backup ${req.previous} is not of the application ${app}`);
    return this.exclusive(app, async () => {
      const codec = chunkCodec(this.workers);
      try {
        return await this.writeLocked(app, req, codec);
      } finally {
        await codec.close();
      }
    });
  }

  private async writeLocked(app: string, req: WriteRequest, codec: ChunkCodec): Promise<WriteResult> {
    const signal = req.signal;
    const previous = req.previous === undefined ? undefined : await this.read(req.previous);
    if (previous !== undefined && previous.chunkSize !== this.chunkSize)
      throw new Error(
        `previous backup ${req.previous ?? ''} has chunk size ${previous.chunkSize}, not ${this.chunkSize}`,
      );
    const present = new Set<string>();
    for (const k of await this.target.list(`${app}/chunks/`, signal)) {
      const h = hashOfChunkKey(k);
      if (h !== undefined) present.add(h);
    }

    const plans = req.disks.map((d) => this.plan(d, previous));
    const total = plans.reduce((n, p) => n + p.indexes.length, 0);
    let done = 0;
    let size = 0;
    let chunksSent = 0;
    let chunksReused = 0;
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    /** Hash + compress in a worker, then put unless present; the map is sorted at the end. */
    const store = async (map: Map<number, string>, index: number, data: Buffer): Promise<void> => {
      const r = await codec.inspect(data);
      if (r.zero) return void map.delete(index);
      map.set(index, r.hash);
      if (present.has(r.hash)) return void chunksReused++;
      present.add(r.hash);
      await this.target.put(chunkKey(app, r.hash), r.stored, signal);
      chunksSent++;
      size += r.stored.length;
    };
    const track = (p: Promise<void>): void => {
      const q = p
        .catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
        })
        .finally(() => inFlight.delete(q));
      inFlight.add(q);
    };

    const disks: ManifestDisk[] = [];
    try {
      for (const { disk, map, indexes } of plans) {
        for (const i of indexes) {
          signal?.throwIfAborted();
          if (failure !== undefined) throw failure;
          const length = chunkLength(i, this.chunkSize, disk.virtualSize);
          const data = await disk.reader.read(i * this.chunkSize, length);
          if (data.length !== length)
            throw new Error(
              `disk "${disk.name}": read ${data.length} bytes at ${i * this.chunkSize}, wanted ${length}`,
            );
          track(store(map, i, data));
          while (inFlight.size >= WINDOW) await Promise.race(inFlight);
          req.onProgress?.(++done * this.chunkSize, total * this.chunkSize);
        }
        await Promise.all(inFlight); // this disk's map is complete only when its chunks are in
        if (failure !== undefined) throw failure;
        disks.push({
          name: disk.name,
          virtualSize: disk.virtualSize,
          full: disk.full,
          ...(disk.fullReason === undefined ? {} : { fullReason: disk.fullReason }),
          chunks: [...map.entries()].sort((a, b) => a[0] - b[0]),
        });
      }
    } catch (err) {
      await Promise.allSettled(inFlight);
      throw err;
    }
    signal?.throwIfAborted();

    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      key: req.key,
      created: new Date().toISOString(),
      ...(req.previous === undefined ? {} : { previous: req.previous }),
      chunkSize: this.chunkSize,
      disks,
      spec: req.spec,
    };
    const { data, checksum } = encodeManifest(manifest);
    await this.target.put(manifestKey(req.key), data, signal);
    size += data.length;
    return {
      uri: this.target.uri + manifestKey(req.key),
      size,
      logicalSize: req.disks.reduce((n, d) => n + d.virtualSize, 0),
      checksum,
      chunksSent,
      chunksReused,
    };
  }

  /** Which chunks of a disk to read, and the map they update (the previous one, or empty). */
  private plan(
    disk: DiskSource,
    previous: Manifest | undefined,
  ): { disk: DiskSource; map: Map<number, string>; indexes: number[] } {
    const cs = this.chunkSize;
    if (disk.full)
      return { disk, map: new Map(), indexes: touchedChunks(disk.changed, cs, disk.virtualSize, false) };
    const before = previous?.disks.find((d) => d.name === disk.name);
    if (before === undefined)
      throw new Error(
        `disk "${disk.name}" is incremental but ${previous === undefined ? 'no previous backup was given' : `backup ${previous.key} has no such disk`}`,
      );
    const count = Math.ceil(disk.virtualSize / cs);
    const map = new Map(before.chunks.filter(([i]) => i < count));
    const indexes = touchedChunks(disk.changed, cs, disk.virtualSize, true);
    if (before.virtualSize !== disk.virtualSize) {
      // The chunk that held the old end changed length: read it again.
      const tail = Math.floor((Math.min(before.virtualSize, disk.virtualSize) - 1) / cs);
      if (tail >= 0 && !indexes.includes(tail)) indexes.push(tail);
      indexes.sort((a, b) => a - b);
    }
    return { disk, map, indexes };
  }

  /** Reads and verifies a backup's manifest. */
  async read(key: string, signal?: AbortSignal): Promise<Manifest> {
    const mk = manifestKey(key);
    let data: Buffer;
    try {
      data = await this.target.get(mk, signal);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new BackupNotFoundError(key);
      throw err;
    }
    return decodeManifest(data, this.target.uri + mk).manifest;
  }

  /** Writes one disk of a backup into a sink, verifying every chunk; the sink is finished or aborted. */
  async restoreDisk(
    key: string,
    disk: string,
    sink: DiskSink,
    o: { signal?: AbortSignal; onProgress?: Progress } = {},
  ): Promise<void> {
    const { app } = parseKey(key);
    try {
      const manifest = await this.read(key, o.signal);
      const d = manifest.disks.find((x) => x.name === disk);
      if (d === undefined) throw new Error(`backup ${key} has no disk "${disk}"`);
      const codec = chunkCodec(this.workers);
      try {
        await restoreChunks(this.target, codec, app, manifest.chunkSize, d, sink, CONCURRENCY, o);
      } finally {
        await codec.close();
      }
    } catch (err) {
      await sink.abort();
      throw err;
    }
    await sink.finish();
  }

  /** Deletes a backup, then the chunks that no remaining backup of its application names. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    const { app } = parseKey(key);
    await this.exclusive(app, async () => {
      await this.target.delete([manifestKey(key)], signal);
      const keep = new Set<string>();
      for (const other of await this.list(`${app}/`, signal))
        for (const d of (await this.read(other, signal)).disks) for (const [, h] of d.chunks) keep.add(h);
      const garbage = (await this.target.list(`${app}/chunks/`, signal)).filter((k) => {
        const h = hashOfChunkKey(k);
        return h !== undefined && !keep.has(h);
      });
      await this.target.delete(garbage, signal);
    });
  }

  /** The keys of the backups under a prefix ('<namespace>/', '<namespace>/<application>/' or ''). */
  async list(prefix: string, signal?: AbortSignal): Promise<string[]> {
    let p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    // One application: list its manifests only, not its (many) chunks.
    if (p.split('/').length === 3) p += 'backups/';
    const out: string[] = [];
    for (const k of await this.target.list(p, signal)) {
      const m = /^([^/]+\/[^/]+)\/backups\/([^/]+)\.json$/.exec(k);
      if (m !== null) out.push(`${m[1] ?? ''}/${m[2] ?? ''}`);
    }
    return out;
  }
}
