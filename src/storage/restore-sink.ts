/**
 * Writes a restored disk as a new pool volume file, replaced whole as imports do (README.md): a
 * temporary file next to it in the same pool (so "no space" is the pool's), renamed over the
 * volume once complete, removed whatever else happens. The file has the pool's format: raw is
 * written with plain positioned writes, qcow2 through qemu-nbd on a fresh image. Zero blocks are
 * not written, so what the backup did not hold stays a hole (raw) or unallocated (qcow2).
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import type { DiskSink } from '../backup/types.js';
import { childrenOf, dropLayer, type QemuImgRunner } from './layers.js';
import { openNbd, type NbdExport } from './nbd.js';
import type { PoolFormat } from './ports.js';

/** Zero detection granularity: a zero block of this size is left unwritten. */
const BLOCK = 64 * 1024;

export interface RestoreTarget {
  path: string;
  format: PoolFormat;
  virtualSize: number;
}

export async function openRestoreSink(qemuImg: QemuImgRunner, t: RestoreTarget): Promise<DiskSink> {
  if (!Number.isSafeInteger(t.virtualSize) || t.virtualSize <= 0)
    throw new Error(`restoring ${t.path}: bad virtual size ${t.virtualSize}`);
  const tmp = `${t.path}.${randomBytes(4).toString('hex')}.restore.part`;
  let writeAt: (offset: number, data: Buffer) => Promise<void>;
  let complete: () => Promise<void>;
  let release: () => Promise<void>;
  if (t.format === 'raw') {
    const fh: FileHandle = await open(tmp, 'wx', 0o600);
    await fh.truncate(t.virtualSize);
    writeAt = async (offset, data) => {
      await fh.write(data, 0, data.length, offset);
    };
    complete = () => fh.sync();
    release = () => fh.close();
  } else {
    await qemuImg(['create', '-q', '-f', 'qcow2', tmp, String(t.virtualSize)]);
    let nbd: NbdExport;
    try {
      nbd = await openNbd(tmp, 'qcow2', { writable: true });
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    writeAt = (offset, data) => nbd.client.write(offset, data);
    complete = () => nbd.client.flush();
    release = () => nbd.close();
  }
  let state: 'open' | 'done' = 'open';
  const cleanup = async (): Promise<void> => {
    await release().catch(() => undefined);
    await rm(tmp, { force: true });
  };
  return {
    async write(offset, data) {
      if (state !== 'open') throw new Error(`restoring ${t.path}: the sink is closed`);
      if (offset < 0 || offset + data.length > t.virtualSize)
        throw new Error(
          `restoring ${t.path}: a write at ${offset} of ${data.length} bytes passes the disk's ${t.virtualSize}`,
        );
      for (const [at, piece] of nonZeroRuns(data)) await writeAt(offset + at, piece);
    },
    async finish() {
      if (state !== 'open') throw new Error(`restoring ${t.path}: the sink is closed`);
      state = 'done';
      try {
        await complete();
        await release();
        await replace(t.path, tmp);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    async abort() {
      if (state !== 'open') return;
      state = 'done';
      await cleanup();
    },
  };
}

/** The runs of `data` that are not whole zero blocks, as [offset, bytes]. */
function nonZeroRuns(data: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let start = -1;
  for (let at = 0; at < data.length; at += BLOCK) {
    const end = Math.min(data.length, at + BLOCK);
    const zero = isZero(data, at, end);
    if (!zero && start < 0) start = at;
    if (zero && start >= 0) {
      out.push([start, data.subarray(start, at)]);
      start = -1;
    }
  }
  if (start >= 0) out.push([start, data.subarray(start)]);
  return out;
}

const ZEROS = Buffer.alloc(BLOCK);
const isZero = (data: Buffer, from: number, to: number): boolean =>
  data.subarray(from, to).equals(ZEROS.subarray(0, to - from));

/**
 * Renames the finished file over the volume. A layered volume (a symlink to its active layer)
 * becomes a plain file the node agent adopts again; its former active layer goes when nothing is
 * built on it, as after a restore from a snapshot (frozen layers stay with their owners).
 */
async function replace(path: string, tmp: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  const old = st?.isSymbolicLink() === true ? await realpath(path).catch(() => undefined) : undefined;
  await rename(tmp, path);
  if (old !== undefined && (await childrenOf(old)).length === 0) await dropLayer(old);
}
