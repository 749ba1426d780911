/**
 * Block access to a pool's own images through `qemu-nbd` on a unix socket in a private 0700
 * directory, and a small NBD client (fixed newstyle handshake, NBD_OPT_GO, simple replies) that
 * pipelines reads and writes over one connection. Backups read a frozen layer at any offset and
 * restores write a new qcow2 volume this way: one process per disk, never one per extent, and
 * qemu-nbd decodes the qcow2 chain so no code of ours parses cluster tables.
 *
 * Hand-written because no kept npm NBD client exists; the protocol subset is ~150 lines.
 * qemu-nbd is only ever given a file the platform made, with its format (`-f`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PoolFormat } from './ports.js';

const NBD_MAGIC = Buffer.from('NBDMAGIC', 'latin1');
const IHAVEOPT = 0x49484156454f5054n;
const OPT_REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const INFO_EXPORT = 0;
const CMD_READ = 0;
const CMD_WRITE = 1;
const CMD_DISC = 2;
const CMD_FLUSH = 3;
const EXPORT = 'disk';
/** Requests are split to stay far below qemu-nbd's 32 MiB limit. */
const MAX_REQUEST = 8 * 1024 * 1024;

interface Pending {
  length: number;
  /** Where a read's payload goes, when the caller gave memory to fill. */
  into?: Buffer;
  resolve: (data: Buffer) => void;
  reject: (err: Error) => void;
}

/** Buffered reads of exact byte counts from a socket, for the handshake and the replies. */
class Incoming {
  private chunks: Buffer[] = [];
  private size = 0;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      this.wake();
    });
    socket.on('close', () => this.fail(new Error('the NBD server closed the connection')));
    socket.on('error', (err) => this.fail(err));
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async take(n: number): Promise<Buffer> {
    while (this.size < n) {
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((r) => (this.waiter = r));
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return Buffer.from(out);
  }

  /** Fills `into` with the next `into.length` bytes, copying each received piece once. */
  async takeInto(into: Buffer): Promise<Buffer> {
    let filled = 0;
    while (filled < into.length) {
      while (this.size === 0) {
        if (this.failure !== undefined) throw this.failure;
        await new Promise<void>((r) => (this.waiter = r));
      }
      const head = this.chunks[0] as Buffer;
      const n = Math.min(head.length, into.length - filled);
      head.copy(into, filled, 0, n);
      filled += n;
      this.size -= n;
      if (n === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
    }
    return into;
  }
}

/** One NBD connection in transmission phase; requests may be in flight together. */
export class NbdClient {
  private next = 1n;
  private readonly pending = new Map<bigint, Pending>();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly incoming: Incoming,
    readonly size: number,
  ) {
    void this.receive();
  }

  static async connect(socketPath: string): Promise<NbdClient> {
    const socket = connect(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const incoming = new Incoming(socket);
    try {
      const size = await handshake(socket, incoming);
      return new NbdClient(socket, incoming, size);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const parts: Promise<Buffer>[] = [];
    for (let at = 0; at < length; at += MAX_REQUEST)
      parts.push(this.request(CMD_READ, offset + at, Math.min(MAX_REQUEST, length - at)));
    return Buffer.concat(await Promise.all(parts));
  }

  /**
   * Reads `into.length` bytes at `offset` into the given memory (no buffer allocated per read: the
   * backup reuses its chunk buffers this way). Returns the bytes read.
   */
  async readInto(offset: number, into: Buffer): Promise<number> {
    const parts: Promise<Buffer>[] = [];
    for (let at = 0; at < into.length; at += MAX_REQUEST) {
      const piece = into.subarray(at, Math.min(into.length, at + MAX_REQUEST));
      parts.push(this.request(CMD_READ, offset + at, piece.length, undefined, piece));
    }
    await Promise.all(parts);
    return into.length;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    const parts: Promise<Buffer>[] = [];
    for (let at = 0; at < data.length; at += MAX_REQUEST) {
      const piece = data.subarray(at, Math.min(data.length, at + MAX_REQUEST));
      parts.push(this.request(CMD_WRITE, offset + at, piece.length, piece));
    }
    await Promise.all(parts);
  }

  async flush(): Promise<void> {
    await this.request(CMD_FLUSH, 0, 0);
  }

  /** Ends the session politely (the server then exits, as qemu-nbd does without --persistent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const header = requestHeader(CMD_DISC, this.next++, 0, 0);
    await new Promise<void>((resolve) => this.socket.end(header, resolve));
    this.socket.destroy();
  }

  private request(
    type: number,
    offset: number,
    length: number,
    payload?: Buffer,
    into?: Buffer,
  ): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('the NBD connection is closed'));
    const handle = this.next++;
    const done = new Promise<Buffer>((resolve, reject) =>
      this.pending.set(handle, {
        length: type === CMD_READ ? length : 0,
        ...(into !== undefined ? { into } : {}),
        resolve,
        reject,
      }),
    );
    this.socket.write(requestHeader(type, handle, offset, length));
    if (payload !== undefined) this.socket.write(payload);
    return done;
  }

  private async receive(): Promise<void> {
    try {
      for (;;) {
        const head = await this.incoming.take(16);
        if (head.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw new Error('bad NBD reply magic');
        const error = head.readUInt32BE(4);
        const handle = head.readBigUInt64BE(8);
        const p = this.pending.get(handle);
        if (p === undefined) throw new Error(`NBD reply for an unknown request ${handle}`);
        this.pending.delete(handle);
        if (error !== 0) {
          p.reject(new Error(`NBD request failed with error ${error}`));
          continue;
        }
        if (p.length === 0) p.resolve(Buffer.alloc(0));
        else
          p.resolve(
            await (p.into !== undefined ? this.incoming.takeInto(p.into) : this.incoming.take(p.length)),
          );
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.closed = true;
    }
  }
}

function requestHeader(type: number, handle: bigint, offset: number, length: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(0, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(handle, 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length, 24);
  return b;
}

/** Fixed newstyle negotiation with NBD_OPT_GO on our export; returns the export size. */
async function handshake(socket: Socket, incoming: Incoming): Promise<number> {
  const hello = await incoming.take(18);
  if (!hello.subarray(0, 8).equals(NBD_MAGIC) || hello.readBigUInt64BE(8) !== IHAVEOPT)
    throw new Error('not an NBD newstyle server');
  const serverFlags = hello.readUInt16BE(16);
  if ((serverFlags & FLAG_FIXED_NEWSTYLE) === 0) throw new Error('the NBD server is not fixed newstyle');
  const clientFlags = Buffer.alloc(4);
  clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
  const name = Buffer.from(EXPORT, 'utf8');
  const data = Buffer.alloc(4 + name.length + 2);
  data.writeUInt32BE(name.length, 0);
  name.copy(data, 4);
  data.writeUInt16BE(0, 4 + name.length);
  const opt = Buffer.alloc(16);
  opt.writeBigUInt64BE(IHAVEOPT, 0);
  opt.writeUInt32BE(OPT_GO, 8);
  opt.writeUInt32BE(data.length, 12);
  socket.write(Buffer.concat([clientFlags, opt, data]));
  let size: number | undefined;
  for (;;) {
    const head = await incoming.take(20);
    if (head.readBigUInt64BE(0) !== OPT_REPLY_MAGIC) throw new Error('bad NBD option reply magic');
    const type = head.readUInt32BE(12);
    const body = await incoming.take(head.readUInt32BE(16));
    if (type >= 0x80000000)
      throw new Error(`the NBD server refused the export: ${body.subarray(0).toString('utf8') || type}`);
    if (type === REP_INFO && body.length >= 12 && body.readUInt16BE(0) === INFO_EXPORT)
      size = Number(body.readBigUInt64BE(2));
    if (type === REP_ACK) break;
  }
  if (size === undefined) throw new Error('the NBD server sent no export size');
  return size;
}

/** A qemu-nbd serving one image and our client connected to it. */
export interface NbdExport {
  client: NbdClient;
  /** Disconnects, waits for qemu-nbd to exit (it flushes writes first), removes the socket dir; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `file` (a platform-made image of format `format`) with qemu-nbd on a private unix socket
 * and connects to it. Read-only unless `writable`.
 */
export async function openNbd(
  file: string,
  format: PoolFormat,
  o: { writable?: boolean; timeoutMs?: number } = {},
): Promise<NbdExport> {
  const dir = await mkdtemp(join(tmpdir(), 'hikube-nbd-'));
  const socket = join(dir, 's');
  const args = ['-f', format, '-x', EXPORT, '-k', socket, '--cache=writeback'];
  if (o.writable !== true) args.push('--read-only');
  else args.push('--discard=unmap', '--detect-zeroes=unmap');
  const proc = spawn('qemu-nbd', [...args, file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => resolve(code));
    proc.on('error', (err) => {
      stderr += err.message;
      resolve(-1);
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const cleanup = async (): Promise<void> => {
    if (!gone) proc.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    try {
      const client = await NbdClient.connect(socket);
      let closing: Promise<void> | undefined;
      return { client, close: () => (closing ??= closeExport(client, proc, exited, cleanup)) };
    } catch (err) {
      if (gone || Date.now() > deadline) {
        await cleanup();
        const why = stderr.trim().split('\n').slice(-2).join(' ') || String(err);
        throw new Error(`failed serving ${file} over NBD: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function closeExport(
  client: NbdClient,
  proc: ChildProcess,
  exited: Promise<number | null>,
  cleanup: () => Promise<void>,
): Promise<void> {
  await client.close().catch(() => undefined);
  // Without --persistent qemu-nbd exits once its only client leaves; give it time to flush.
  const timer = setTimeout(() => proc.kill('SIGTERM'), 30_000);
  await exited;
  clearTimeout(timer);
  await cleanup();
}
