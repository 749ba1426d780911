/**
 * The backup repository: turns the disks of a backup point into content-addressed chunks, stored
 * in packs, and one manifest in a target, reads them back for a restore, and deletes backups while
 * keeping what newer ones need. Layout under the target, per application ('<namespace>/<application>'):
 *
 *   <app>/packs/ab/ab12…          zstd frames of many chunks, each named by the sha256 of its bytes
 *   <app>/index/ab/ab12….json     which chunk is where in that pack, written after the pack
 *   <app>/backups/<name>.json     one manifest per backup, written last
 *
 * A failed or interrupted backup therefore lists nothing; the packs it completed stay, and the next
 * attempt does not send their chunks again (every write starts by reading the pack indexes).
 * Writes and deletes of one application are serialized in this process, so garbage collection
 * never removes a pack that a backup in progress has just found a chunk in.
 */
import { chunkCodec, defaultWorkers, type ChunkCodec } from './chunk-codec.js';
import { chunkLength, DEFAULT_CHUNK_SIZE, frameBound, touchedChunks } from './chunks.js';
import {
  decodeManifest,
  encodeManifest,
  LegacyManifestError,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestChunk,
  type ManifestDisk,
} from './manifest.js';
import {
  DEFAULT_PACK_SIZE,
  PackIndexCache,
  packIdOfKey,
  PackWriter,
  storedChunks,
  type ChunkLocation,
} from './packs.js';
import { restoreChunks } from './restore.js';
import { checkKey, ObjectNotFoundError, type Target } from './target.js';
import type { BlockReader, DiskSink, DiskSource, FillingBlockReader } from './types.js';

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

const fills = (r: BlockReader): r is FillingBlockReader =>
  typeof (r as Partial<FillingBlockReader>).readInto === 'function';

/** One chunk's bytes from a disk, into reused memory when the reader can fill a buffer. */
async function readChunk(
  disk: DiskSource,
  offset: number,
  length: number,
  codec: ChunkCodec,
): Promise<Buffer> {
  const r = disk.reader;
  let data: Buffer;
  if (fills(r)) {
    const into = codec.readBuffer(length);
    data = into.subarray(0, await r.readInto(offset, into));
  } else data = await r.read(offset, length);
  if (data.length !== length)
    throw new Error(`disk "${disk.name}": read ${data.length} bytes at ${offset}, wanted ${length}`);
  return data;
}

export class BackupNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`backup ${key} not found`);
    this.name = 'BackupNotFoundError';
  }
}

/** How many chunk downloads are in flight at once on restore. */
const CONCURRENCY = 4;
/** How many chunks are between read and packed (hashing and compressing in the workers). */
const WINDOW = 8;
/** How many packs are uploading at once. */
const PACK_UPLOADS = 2;

/** A disk's map while it is written: chunk index → the chunk's name and location. */
type ChunkMap = Map<number, { hash: string } & ChunkLocation>;

/** The manifest of a write: the maps sorted by index, their packs numbered in a table. */
function manifestOf(
  req: WriteRequest,
  chunkSize: number,
  disks: { disk: DiskSource; map: ChunkMap }[],
): Manifest {
  const packs: string[] = [];
  const number = new Map<string, number>();
  const out: ManifestDisk[] = disks.map(({ disk, map }) => {
    const chunks = [...map.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, c]): ManifestChunk => {
        let n = number.get(c.pack);
        if (n === undefined) {
          n = packs.push(c.pack) - 1;
          number.set(c.pack, n);
        }
        return [i, c.hash, n, c.offset, c.length];
      });
    return {
      name: disk.name,
      virtualSize: disk.virtualSize,
      full: disk.full,
      ...(disk.fullReason === undefined ? {} : { fullReason: disk.fullReason }),
      chunks,
    };
  });
  return {
    version: MANIFEST_VERSION,
    key: req.key,
    created: new Date().toISOString(),
    ...(req.previous === undefined ? {} : { previous: req.previous }),
    chunkSize,
    packs,
    disks: out,
    spec: req.spec,
  };
}

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
  private readonly packSize: number;
  private readonly workers: number;
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Pack indexes already read (see PackIndexCache): an incremental GETs only new ones. */
  private readonly indexes = new PackIndexCache();

  constructor(
    private readonly target: Target,
    /**
     * workers: threads that hash and (de)compress chunks; 0 does it in this thread. packSize: the
     * bytes of frames a pack is filled to before it is uploaded.
     */
    o: { chunkSize?: number; packSize?: number; workers?: number } = {},
  ) {
    this.chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.packSize = o.packSize ?? DEFAULT_PACK_SIZE;
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
      const codec = chunkCodec(this.workers, { chunkSize: this.chunkSize, slots: WINDOW });
      try {
        return await this.writeLocked(app, req, codec);
      } finally {
        await codec.close();
      }
    });
  }

  private async writeLocked(app: string, req: WriteRequest, codec: ChunkCodec): Promise<WriteResult> {
    const signal = req.signal;
    // The pack indexes load (one GET each) while the previous manifest is read and the first chunks
    // are read and hashed: a chunk is looked up only once it is hashed. For an incremental they were
    // a third of its time, in series before.
    const loading = storedChunks(this.target, app, signal, this.indexes);
    loading.catch(() => undefined); // awaited below; a failure surfaces there
    let previous: Manifest | undefined;
    try {
      previous = req.previous === undefined ? undefined : await this.read(req.previous);
      if (previous !== undefined && previous.chunkSize !== this.chunkSize)
        throw new Error(
          `previous backup ${req.previous ?? ''} has chunk size ${previous.chunkSize}, not ${this.chunkSize}`,
        );
    } catch (err) {
      await loading.catch(() => undefined);
      throw err;
    }
    const packs = new PackWriter(this.target, app, {
      packSize: this.packSize,
      maxFrame: frameBound(this.chunkSize),
      maxUploads: PACK_UPLOADS,
      indexes: this.indexes,
      ...(signal === undefined ? {} : { signal }),
    });

    const plans = req.disks.map((d) => this.plan(d, previous));
    const total = plans.reduce((n, p) => n + p.indexes.length, 0);
    let done = 0;
    let chunksSent = 0;
    let chunksReused = 0;
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    /** Hash + compress in a worker, then pack unless present; the map is sorted at the end. */
    const store = async (map: ChunkMap, index: number, data: Buffer): Promise<void> => {
      const r = await codec.inspect(data);
      if (r.zero) return void map.delete(index);
      let present: Map<string, ChunkLocation>;
      try {
        present = await loading;
      } catch (err) {
        r.release();
        throw err;
      }
      let at = present.get(r.hash);
      try {
        if (at !== undefined) chunksReused++;
        else {
          at = packs.add(r.hash, r.stored); // copies the frame
          present.set(r.hash, at);
          chunksSent++;
        }
      } finally {
        r.release();
      }
      map.set(index, { hash: r.hash, ...at });
    };
    const track = (p: Promise<void>): void => {
      const q = p
        .catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
        })
        .finally(() => inFlight.delete(q));
      inFlight.add(q);
    };

    const disks: { disk: DiskSource; map: ChunkMap }[] = [];
    try {
      for (const { disk, map, indexes } of plans) {
        for (const i of indexes) {
          signal?.throwIfAborted();
          if (failure !== undefined) throw failure;
          const length = chunkLength(i, this.chunkSize, disk.virtualSize);
          track(store(map, i, await readChunk(disk, i * this.chunkSize, length, codec)));
          while (inFlight.size >= WINDOW) await Promise.race(inFlight);
          await packs.room();
          req.onProgress?.(++done * this.chunkSize, total * this.chunkSize);
        }
        await Promise.all(inFlight); // this disk's map is complete only when its chunks are in
        if (failure !== undefined) throw failure;
        disks.push({ disk, map });
      }
      await loading; // its failure, even when no chunk was read
      await packs.flush(); // every pack the maps name is stored, with its index
    } catch (err) {
      await Promise.allSettled([...inFlight, loading]);
      await packs.settle();
      throw err;
    }
    signal?.throwIfAborted();

    const { data, checksum } = encodeManifest(manifestOf(req, this.chunkSize, disks));
    await this.target.put(manifestKey(req.key), data, signal);
    return {
      uri: this.target.uri + manifestKey(req.key),
      size: packs.bytesSent + data.length,
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
  ): { disk: DiskSource; map: ChunkMap; indexes: number[] } {
    const cs = this.chunkSize;
    if (disk.full)
      return { disk, map: new Map(), indexes: touchedChunks(disk.changed, cs, disk.virtualSize, false) };
    const before = previous?.disks.find((d) => d.name === disk.name);
    if (previous === undefined || before === undefined)
      throw new Error(
        `disk "${disk.name}" is incremental but ${previous === undefined ? 'no previous backup was given' : `backup ${previous.key} has no such disk`}`,
      );
    const count = Math.ceil(disk.virtualSize / cs);
    const map: ChunkMap = new Map();
    for (const [i, hash, pack, offset, length] of before.chunks)
      if (i < count) map.set(i, { hash, pack: previous.packs[pack] ?? '', offset, length });
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
      const codec = chunkCodec(this.workers, { chunkSize: manifest.chunkSize, slots: 0 });
      try {
        await restoreChunks(this.target, codec, app, manifest, d, sink, CONCURRENCY, o);
      } finally {
        await codec.close();
      }
    } catch (err) {
      await sink.abort();
      throw err;
    }
    await sink.finish();
  }

  /**
   * Deletes a backup, then the packs that no remaining backup of its application names: a pack is
   * kept whole while any remaining backup needs one of its chunks (README.md, "Delete and garbage
   * collection"). Packs of failed backups go too.
   */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    const { app } = parseKey(key);
    await this.exclusive(app, async () => {
      await this.target.delete([manifestKey(key)], signal);
      const live = new Set<string>();
      let legacy = false;
      for (const other of await this.list(`${app}/`, signal)) {
        try {
          for (const id of (await this.read(other, signal)).packs) live.add(id);
        } catch (err) {
          if (!(err instanceof LegacyManifestError)) throw err;
          legacy = true; // its chunks are objects of their own, under chunks/
        }
      }
      const dead = (keys: string[]): string[] =>
        keys.filter((k) => {
          const id = packIdOfKey(k);
          return id !== undefined && !live.has(id);
        });
      // Indexes first: an index never names a pack that is gone.
      await this.target.delete(dead(await this.target.list(`${app}/index/`, signal)), signal);
      await this.target.delete(dead(await this.target.list(`${app}/packs/`, signal)), signal);
      if (!legacy) await this.target.delete(await this.target.list(`${app}/chunks/`, signal), signal);
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
