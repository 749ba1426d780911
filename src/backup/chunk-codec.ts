/**
 * The CPU work of a backup, per chunk: zero check + sha256 + zstd on write, zstd + length + sha256
 * check on restore. A profile of a full backup showed it all in one Node thread (zstd, sha256 and
 * the GC of their buffers), so it runs in a small pool of worker threads (`chunk-worker.ts`) while
 * the main thread reads and uploads. Buffers cross to a worker by transfer, not copy: a chunk the
 * reader returned is handed over (and detached here) when it owns its whole ArrayBuffer. Frames come
 * back in frame buffers that travel to the worker and back (by transfer) and are reused chunk after
 * chunk: fresh memory for every frame cost as much CPU in page faults as zstd itself on these
 * machines. (Not a SharedArrayBuffer: copying out of shared memory is a slow, atomic-safe copy.)
 * The chunk buffers come back too, for `readBuffer`: a reader that fills a buffer it is given then
 * reads every chunk into memory already touched.
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
  /**
   * A buffer of `length` bytes to read a chunk into before `inspect`: the memory of a chunk a worker
   * has finished with when there is one (no page faults), else new memory.
   */
  readBuffer(length: number): Buffer;
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
 * frame buffers the workers write into; a restore, which only decodes, passes 0 slots.
 */
export function chunkCodec(workers: number, o: { chunkSize: number; slots: number }): ChunkCodec {
  return workers <= 0 ? inlineCodec : new WorkerCodec(workers, o.chunkSize, o.slots);
}

const noop = (): void => undefined;
const inlineCodec: ChunkCodec = {
  readBuffer: (length) => Buffer.allocUnsafe(length),
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
  | { id: number; op: 'inspect'; buf: ArrayBuffer; offset: number; length: number; out: ArrayBuffer }
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
  | { id: number; zero: true; out: ArrayBuffer; in: ArrayBuffer }
  | { id: number; hash: string; frame: number; out: ArrayBuffer; in: ArrayBuffer }
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

class WorkerCodec implements ChunkCodec {
  private readonly workers: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, Pending & { slot: { busy: number } }>();
  private nextId = 0;
  private failure: Error | undefined;
  /** Frame buffers not in use, and how many more may be made (one per chunk in flight at most). */
  private readonly freeFrames: ArrayBuffer[] = [];
  private framesLeft: number;
  private madeFrames = false;
  private readonly frameSize: number;
  private readonly frameWaiters: (() => void)[] = [];
  /** Chunk buffers the workers gave back, for readBuffer; `ours` marks them, to transfer views whole. */
  private readonly freeInputs: ArrayBuffer[] = [];
  private readonly ours = new WeakSet<ArrayBuffer>();

  constructor(
    count: number,
    private readonly chunkSize: number,
    private readonly slots: number,
  ) {
    this.frameSize = frameBound(chunkSize);
    this.framesLeft = slots;
    const script = new URL('./chunk-worker.js', import.meta.url);
    for (let i = 0; i < count; i++) {
      const slot = { worker: new Worker(script), busy: 0 };
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
    for (const wake of this.frameWaiters.splice(0)) wake();
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
      s.worker.postMessage(req, req.op === 'inspect' ? [req.buf, req.out] : [req.buf]);
    });
  }

  private async takeFrame(): Promise<ArrayBuffer> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const free = this.freeFrames.pop();
      if (free !== undefined) return free;
      if (this.framesLeft > 0) {
        this.framesLeft--;
        this.madeFrames = true;
        return new ArrayBuffer(this.frameSize);
      }
      await new Promise<void>((resolve) => this.frameWaiters.push(resolve));
    }
  }

  private giveFrame(frame: ArrayBuffer): void {
    this.freeFrames.push(frame);
    this.frameWaiters.shift()?.();
  }

  readBuffer(length: number): Buffer {
    const ab = length <= this.chunkSize ? this.freeInputs.pop() : undefined;
    if (ab !== undefined) return Buffer.from(ab, 0, length);
    const fresh = new ArrayBuffer(Math.max(length, this.chunkSize));
    this.ours.add(fresh);
    return Buffer.from(fresh, 0, length);
  }

  /** Keeps a chunk buffer a worker sent back, up to one per chunk in flight. */
  private giveInput(ab: ArrayBuffer): void {
    if (ab.byteLength < this.chunkSize || this.freeInputs.length >= this.slots) return;
    this.ours.add(ab);
    this.freeInputs.push(ab);
  }

  async inspect(data: Buffer): Promise<InspectResult> {
    if (this.framesLeft + this.freeFrames.length + this.frameWaiters.length === 0 && !this.madeFrames)
      throw new Error('chunk codec: made with no frame buffers, to decode only');
    const out = await this.takeFrame();
    let r: WorkerReply;
    try {
      const owned = data.buffer instanceof ArrayBuffer && this.ours.has(data.buffer);
      r = await this.send({ id: this.nextId++, op: 'inspect', ...transferable(data, owned), out });
    } catch (err) {
      this.framesLeft++; // transferred away with the failed request: a new one may be made
      throw err;
    }
    if ('in' in r) this.giveInput(r.in);
    if ('out' in r && !('frame' in r)) this.giveFrame(r.out);
    if ('frame' in r) {
      const frame = r.out;
      let released = false;
      const release = (): void => {
        if (!released) this.giveFrame(frame);
        released = true;
      };
      return { zero: false, hash: r.hash, stored: Buffer.from(frame, 0, r.frame), release };
    }
    if ('error' in r) {
      this.framesLeft++; // not sent back
      throw new Error(r.error);
    }
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
