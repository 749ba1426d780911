/**
 * The worker-thread path of the backup repository against its single-thread path (`workers: 0`):
 * the same chunk names, the same stored frames, restores crossing paths byte-identical, and a
 * reader's buffer that is a view of a larger one is copied, never detached by a transfer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BackupRepository, localTarget, type Manifest, type Target } from '../../../src/backup/index.js';
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
