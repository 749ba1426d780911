/**
 * The worker-thread path of the backup repository against its single-thread path (`workers: 0`):
 * the same chunk names, the same stored frames, restores crossing paths byte-identical, and a
 * reader's buffer that is a view of a larger one is copied, never detached by a transfer; a reader
 * that fills given buffers (`readInto`) is handed memory the workers gave back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  BackupRepository,
  localTarget,
  type DiskSource,
  type FillingBlockReader,
  type Manifest,
  type Target,
} from '../../../src/backup/index.js';
import { sha256hex } from '../../../src/backup/chunks.js';
import { packKey, storedChunks } from '../../../src/backup/packs.js';
import { bufferDisk, bufferSink, scribble } from '../../support/backup-disks.js';

const CHUNK = 64 << 10;
/** Not a multiple of the chunk size: the last chunk is short. */
const SIZE = 20 * CHUNK + 12345;

/** Random chunks, a repeated chunk, a compressible chunk, zero chunks, and a short random tail. */
function image(): Buffer {
  const img = Buffer.alloc(SIZE);
  scribble(img, 0, 3 * CHUNK);
  img.copy(img, 5 * CHUNK, 0, CHUNK); // chunk 5 = chunk 0: stored once
  img.fill('hikube ', 7 * CHUNK, 8 * CHUNK);
  scribble(img, 9 * CHUNK + 100, 10);
  scribble(img, 20 * CHUNK, 12345);
  return img;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-bk-workers-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Every stored chunk's frame, by chunk name (read from its pack). */
async function frames(target: Target, app: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const stored = [...(await storedChunks(target, app)).entries()].sort((a, b) => a[0].localeCompare(b[0]));
  for (const [hash, at] of stored)
    out.set(hash, (await target.getRange(packKey(app, at.pack), at.offset, at.length)).toString('base64'));
  return out;
}
const names = (m: Manifest): [number, string][][] => m.disks.map((d) => d.chunks.map(([i, h]) => [i, h]));

test('worker threads give the same chunk names and objects as the single-thread path', async () => {
  const img = image();
  const single = localTarget(join(dir, 'single'));
  const pooled = localTarget(join(dir, 'pooled'));
  const r0 = await new BackupRepository(single, { chunkSize: CHUNK, workers: 0 }).write({
    key: 'ns/app/b1',
    disks: [bufferDisk('root', img)],
    spec: {},
  });
  const r2 = await new BackupRepository(pooled, { chunkSize: CHUNK, workers: 2 }).write({
    key: 'ns/app/b1',
    disks: [bufferDisk('root', img)],
    spec: {},
  });
  assert.equal(r2.chunksSent, r0.chunksSent);
  assert.equal(r2.chunksSent, 6); // chunks 0, 1, 2, 7, 9, 20 (5 is chunk 0 again)
  const m0 = await new BackupRepository(single, { chunkSize: CHUNK, workers: 0 }).read('ns/app/b1');
  const m2 = await new BackupRepository(pooled, { chunkSize: CHUNK, workers: 2 }).read('ns/app/b1');
  assert.deepEqual(names(m2), names(m0));
  assert.deepEqual(
    m2.disks[0]?.chunks.map(([i]) => i),
    [0, 1, 2, 5, 7, 9, 20],
  );
  assert.deepEqual(await frames(pooled, 'ns/app'), await frames(single, 'ns/app'));
  assert.equal((await frames(single, 'ns/app')).size, 6);

  // Each path restores what the other wrote.
  for (const [target, workers] of [
    [single, 2],
    [pooled, 0],
  ] as const) {
    const sink = bufferSink(SIZE);
    await new BackupRepository(target, { chunkSize: CHUNK, workers }).restoreDisk('ns/app/b1', 'root', sink);
    assert.equal(sink.state, 'finished');
    assert.ok(sink.image.equals(img), `restore with ${workers} workers differs`);
  }
});

test("a reader's view of a larger buffer is copied to the workers, not detached", async () => {
  const img = image();
  const copy = Buffer.from(img);
  const disk = bufferDisk('root', img);
  disk.reader.read = (offset, length) => Promise.resolve(img.subarray(offset, offset + length));
  await new BackupRepository(localTarget(join(dir, 'views')), { chunkSize: CHUNK, workers: 2 }).write({
    key: 'ns/views/b1',
    disks: [disk],
    spec: {},
  });
  assert.equal(img.length, SIZE);
  assert.ok(img.equals(copy));
});

/**
 * A disk whose reader only fills buffers it is given (its `read` fails), recording for each call
 * whether the buffer held, before it was filled, a chunk read earlier: memory that came back.
 */
function fillingDisk(
  img: Buffer,
): DiskSource & { reader: FillingBlockReader; calls: number; reused: number } {
  const seen = new Set<string>();
  const disk = {
    ...bufferDisk('root', img),
    calls: 0,
    reused: 0,
    reader: {
      read: () => Promise.reject(new Error('read() called on a reader that fills buffers')),
      readInto: (offset: number, into: Buffer): Promise<number> => {
        disk.calls++;
        if (seen.has(sha256hex(into))) disk.reused++;
        const n = img.copy(into, 0, offset, offset + into.length);
        seen.add(sha256hex(into));
        return Promise.resolve(n);
      },
      close: () => Promise.resolve(),
    },
  };
  return disk;
}

test('a reader that fills buffers gets the memory of chunks the workers are done with', async () => {
  const img = Buffer.alloc(40 * CHUNK + 999);
  scribble(img, 0, img.length); // 41 chunks to read, the last one short
  const plain = localTarget(join(dir, 'plain-reader'));
  await new BackupRepository(plain, { chunkSize: CHUNK, workers: 2 }).write({
    key: 'ns/app/b1',
    disks: [bufferDisk('root', img)],
    spec: {},
  });
  const want = names(await new BackupRepository(plain, { chunkSize: CHUNK }).read('ns/app/b1'));
  for (const workers of [2, 0]) {
    const target = localTarget(join(dir, `filling-${workers}`));
    const repo = new BackupRepository(target, { chunkSize: CHUNK, workers });
    const disk = fillingDisk(img);
    await repo.write({ key: 'ns/app/b1', disks: [disk], spec: {} });
    assert.equal(disk.calls, 41, `${workers} workers: every chunk read by readInto`);
    // 8 chunks are in flight at most: with workers, most reads go into memory that came back.
    if (workers > 0) assert.ok(disk.reused >= 41 - 10, `only ${disk.reused} of 41 reads reused memory`);
    assert.deepEqual(names(await repo.read('ns/app/b1')), want, `${workers} workers: same chunks`);
    const sink = bufferSink(img.length);
    await repo.restoreDisk('ns/app/b1', 'root', sink);
    assert.ok(sink.image.equals(img), `${workers} workers: restore differs`);
  }
});

test('a short readInto fails the backup, naming the disk and offset', async () => {
  const img = Buffer.alloc(4 * CHUNK);
  scribble(img, 0, img.length);
  const disk = fillingDisk(img);
  disk.reader.readInto = (offset, into) => Promise.resolve(offset === 2 * CHUNK ? 100 : into.length);
  await assert.rejects(
    new BackupRepository(localTarget(join(dir, 'short')), { chunkSize: CHUNK, workers: 2 }).write({
      key: 'ns/short/b1',
      disks: [disk],
      spec: {},
    }),
    { message: `disk "root": read 100 bytes at ${2 * CHUNK}, wanted ${CHUNK}` },
  );
});

test('the pack indexes load while the first chunks are read, not before', async () => {
  const img = Buffer.alloc(8 * CHUNK);
  scribble(img, 0, img.length);
  const inner = localTarget(join(dir, 'overlap'));
  await new BackupRepository(inner, { chunkSize: CHUNK, workers: 2 }).write({
    key: 'ns/app/b1',
    disks: [bufferDisk('root', img)],
    spec: {},
  });
  // Index reads wait for the disk's first read: a write that loads the indexes first never starts.
  let firstRead: () => void = () => undefined;
  const read = new Promise<void>((resolve) => (firstRead = resolve));
  const gated: Target = {
    uri: inner.uri,
    put: (key, data, signal) => inner.put(key, data, signal),
    get: async (key, signal) => {
      if (key.includes('/index/')) await read;
      return inner.get(key, signal);
    },
    getRange: (key, offset, length, signal) => inner.getRange(key, offset, length, signal),
    list: (prefix, signal) => inner.list(prefix, signal),
    delete: (keys, signal) => inner.delete(keys, signal),
  };
  const disk = bufferDisk('root', img);
  disk.reader.read = (offset, length) => {
    firstRead();
    return Promise.resolve(Buffer.from(img.subarray(offset, offset + length)));
  };
  const write = new BackupRepository(gated, { chunkSize: CHUNK, workers: 2 }).write({
    key: 'ns/app/b2',
    disks: [disk],
    spec: {},
  });
  // Old order: the gate opens only after 10 s, and the assertion below fails.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    firstRead();
  }, 10_000);
  try {
    const r = await write;
    assert.equal(timedOut, false, 'no chunk was read before the indexes were loaded');
    assert.equal(r.chunksSent, 0, 'every chunk found in the indexes of b1');
    assert.equal(r.chunksReused, 8);
  } finally {
    clearTimeout(timer);
  }
});
