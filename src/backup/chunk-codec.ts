/**
 * The CPU work of a backup, per chunk: zero check + sha256 + zstd on write, zstd + length + sha256
 * check on restore. A profile of a full backup showed it all in one Node thread (zstd, sha256 and
 * the GC of their buffers), so it runs in a small pool of worker threads (`chunk-worker.ts`) while
 * the main thread reads and uploads. Buffers cross to a worker by transfer, not copy: a chunk the
 * reader returned is handed over (and detached here) when it owns its whole ArrayBuffer. Frames come
 * back through slots of one SharedArrayBuffer made per codec, reused chunk after chunk: fresh
 * memory for every frame cost as much CPU in page faults as zstd itself on these machines.
 * `workers: 0` runs the same pure functions inline; both paths give identical chunks.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CorruptChunkError, checkChunk, frameBound, inspectChunk } from './chunks.js';

/**
 * A chunk inspected: zeros, or its name and zstd frame. The frame may live in memory the codec
 * reuses: copy it, then call release().
 */
export type InspectResult =
  { zero: true } | { zero: false; hash: string; stored: Buffer; release: () => void };

export interface ChunkCodec {
  /** Zero check, then sha256 and zstd of a chunk. The buffer is handed over. */
  inspect(data: Buffer): Promise<InspectResult>;
  /** Decompresses and verifies a stored chunk (CorruptChunkError naming `uri`). */
  decode(stored: Buffer, hash: string, length: number, uri: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** Workers by default: one per core, at most 4 (the main thread reads and uploads meanwhile). */
export const defaultWorkers = (): number => Math.max(1, Math.min(4, availableParallelism()));

/**
 * `chunkSize` and `slots` (how many chunks may be inspected and not yet released at once) size the
 * shared memory the workers write frames into; a restore, which only decodes, passes 0 slots.
 */
export function chunkCodec(workers: number, o: { chunkSize: number; slots: number }): ChunkCodec {
  return workers <= 0 ? inlineCodec : new WorkerCodec(workers, o.chunkSize, o.slots);
}

const noop = (): void => undefined;
const inlineCodec: ChunkCodec = {
  inspect: (data) => {
    const r = inspectChunk(data);
    return Promise.resolve(r.zero ? r : { ...r, release: noop });
  },
  decode: (stored, hash, length, uri) => {
    const r = checkChunk(stored, hash, length);
    return 'why' in r ? Promise.reject(new CorruptChunkError(uri, r.why)) : Promise.resolve(r.data);
  },
  close: () => Promise.resolve(),
};

/** Messages to and from chunk-worker.ts. */
export type WorkerRequest =
  | { id: number; op: 'inspect'; buf: ArrayBuffer; offset: number; length: number; slot: number }
  | {
      id: number;
      op: 'decode';
      buf: ArrayBuffer;
      offset: number;
      length: number;
      hash: string;
      size: number;
    };
export type WorkerReply =
  | { id: number; zero: true }
  | { id: number; hash: string; frame: number }
  | { id: number; hash: string; buf: ArrayBuffer; offset: number; length: number }
  | { id: number; why: string }
  | { id: number; error: string };

/**
 * The ArrayBuffer to transfer for a Buffer: its own when the Buffer spans it whole (or `owned`: the
 * caller made it and holds no other view), else a copy's. Never Node's shared pool of small buffers.
 */
export function transferable(b: Buffer, owned = false): { buf: ArrayBuffer; offset: number; length: number } {
  const ab = b.buffer;
  const mine =
    ab instanceof ArrayBuffer &&
    ab.byteLength > Buffer.poolSize &&
    (owned || (b.byteOffset === 0 && b.byteLength === ab.byteLength));
  const own = mine ? b : Buffer.from(Uint8Array.prototype.slice.call(b).buffer);
  return { buf: own.buffer as ArrayBuffer, offset: own.byteOffset, length: own.byteLength };
}

interface Pending {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

/** What a worker is given at start: the shared memory it writes frames into, in slots. */
export interface WorkerSetup {
  frames: SharedArrayBuffer;
  slotSize: number;
}

class WorkerCodec implements ChunkCodec {
  private readonly workers: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, Pending & { slot: { busy: number } }>();
  private nextId = 0;
  private failure: Error | undefined;
  /** Frames are written here by the workers, one slot per chunk in flight (no fresh memory each). */
  private readonly frames: SharedArrayBuffer;
  private readonly slotSize: number;
  private readonly freeSlots: number[];
  private readonly slotWaiters: (() => void)[] = [];

  constructor(count: number, chunkSize: number, slots: number) {
    this.slotSize = frameBound(chunkSize);
    this.frames = new SharedArrayBuffer(slots * this.slotSize);
    this.freeSlots = Array.from({ length: slots }, (_, i) => i);
    const setup: WorkerSetup = { frames: this.frames, slotSize: this.slotSize };
    const script = new URL('./chunk-worker.js', import.meta.url);
    for (let i = 0; i < count; i++) {
      const slot = { worker: new Worker(script, { workerData: setup }), busy: 0 };
      slot.worker.on('message', (r: WorkerReply) => {
        const p = this.pending.get(r.id);
        if (p === undefined) return;
        this.pending.delete(r.id);
        p.slot.busy--;
        p.resolve(r);
      });
      slot.worker.on('error', (err) => this.fail(err));
      slot.worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`chunk worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const wake of this.slotWaiters.splice(0)) wake();
  }

  private send(req: WorkerRequest): Promise<WorkerReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let slot = this.workers[0];
    for (const w of this.workers) if (slot === undefined || w.busy < slot.busy) slot = w;
    if (slot === undefined) return Promise.reject(new Error('no chunk worker'));
    const s = slot;
    s.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject, slot: s });
      s.worker.postMessage(req, [req.buf]);
    });
  }

  private async takeSlot(): Promise<number> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const slot = this.freeSlots.pop();
      if (slot !== undefined) return slot;
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
  }

  private releaseSlot(slot: number): void {
    this.freeSlots.push(slot);
    this.slotWaiters.shift()?.();
  }

  async inspect(data: Buffer): Promise<InspectResult> {
    if (this.frames.byteLength === 0)
      throw new Error('chunk codec: made with no frame slots, to decode only');
    const slot = await this.takeSlot();
    let r: WorkerReply;
    try {
      r = await this.send({ id: this.nextId++, op: 'inspect', ...transferable(data), slot });
    } catch (err) {
      this.releaseSlot(slot);
      throw err;
    }
    if ('frame' in r) {
      const stored = Buffer.from(this.frames, slot * this.slotSize, r.frame);
      let released = false;
      const release = (): void => {
        if (!released) this.releaseSlot(slot);
        released = true;
      };
      return { zero: false, hash: r.hash, stored, release };
    }
    this.releaseSlot(slot);
    if ('error' in r) throw new Error(r.error);
    if ('zero' in r) return { zero: true };
    throw new Error(`chunk worker: unexpected reply to inspect`);
  }

  async decode(stored: Buffer, hash: string, size: number, uri: string): Promise<Buffer> {
    const r = await this.send({ id: this.nextId++, op: 'decode', ...transferable(stored), hash, size });
    if ('error' in r) throw new Error(r.error);
    if ('why' in r) throw new CorruptChunkError(uri, r.why);
    if ('buf' in r) return Buffer.from(r.buf, r.offset, r.length);
    throw new Error(`chunk worker: unexpected reply to decode`);
  }

  async close(): Promise<void> {
    this.fail(new Error('chunk codec closed'));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
