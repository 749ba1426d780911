/**
 * One behavioural suite for the backup repository, run against every target: a local directory and
 * a real S3-protocol server (s3rver on loopback, behind a counting proxy that can fail mid-upload).
 * Disks are in-memory images (test/support/backup-disks.ts); everything else is real.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import {
  BackupRepository,
  CorruptChunkError,
  LegacyManifestError,
  ManifestError,
  localTarget,
  s3Target,
  type Target,
} from '../../../src/backup/index.js';
import { encodeChunk, sha256hex } from '../../../src/backup/chunks.js';
import { packIdOfKey, packKey, storedChunks } from '../../../src/backup/packs.js';
import { allocatedExtents, bufferDisk, bufferSink, scribble } from '../../support/backup-disks.js';
import { startS3Server, type S3TestServer } from '../../support/s3server.js';

const CHUNK = 65536;
const DISK = 4 << 20; // 64 chunks
/** Packs close at 4 random chunks (a zstd frame of 64 KiB of random data is a few bytes more). */
const PACK = 4 * CHUNK;

interface Harness {
  target: Target;
  /** Bytes the target received since the last reset, where the target can count them. */
  received?: () => number;
  resetCount?: () => void;
  /** Makes the target fail after `bytes` more bytes (S3) or `bytes / CHUNK` more objects (local). */
  failAfter(bytes: number): Promise<void>;
  recover(): void;
  /** Overwrites a stored object behind the repository's back. */
  tamper(key: string, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** A local target whose puts start failing on demand, as a full or vanished disk would. */
function failingLocal(dir: string): Harness {
  const inner = localTarget(dir);
  let budget = Infinity;
  let tripped: (() => void) | undefined;
  const target: Target = {
    uri: inner.uri,
    put: async (key, data, signal) => {
      if (budget <= 0) throw new Error(`failed writing ${inner.uri}${key}: EIO`);
      budget -= data.length;
      if (budget <= 0) tripped?.();
      await inner.put(key, data, signal);
    },
    get: (key, signal) => inner.get(key, signal),
    getRange: (key, offset, length, signal) => inner.getRange(key, offset, length, signal),
    list: (prefix, signal) => inner.list(prefix, signal),
    delete: (keys, signal) => inner.delete(keys, signal),
  };
  return {
    target,
    failAfter: (bytes) =>
      new Promise<void>((resolve) => {
        budget = bytes;
        tripped = resolve;
      }),
    recover: () => {
      budget = Infinity;
    },
    tamper: (key, data) => inner.put(key, data),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

function s3Harness(server: S3TestServer): Harness {
  const o = {
    endpoint: server.endpoint,
    region: server.region,
    bucket: server.bucket,
    prefix: 'tenant-root',
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    targets: { allowPrivateTargets: true },
  };
  return {
    target: s3Target(o),
    received: () => server.bytesReceived(),
    resetCount: () => server.resetCount(),
    failAfter: (bytes) => server.failAfter(bytes),
    recover: () => server.recover(),
    tamper: (key, data) => s3Target(o).put(key, data),
    close: () => server.stop(),
  };
}

const implementations: [string, () => Promise<Harness>][] = [
  ['local directory', async () => failingLocal(await mkdtemp(join(tmpdir(), 'hikube-bk-local-')))],
  ['S3 (s3rver)', async () => s3Harness(await startS3Server())],
];

/** An image: 1 MiB of random data at 0, 512 KiB at 2 MiB, zeros elsewhere. */
function firstImage(): Buffer {
  const img = Buffer.alloc(DISK);
  scribble(img, 0, 1 << 20);
  scribble(img, 2 << 20, 512 << 10);
  return img;
}

async function restored(repo: BackupRepository, key: string, disk: string): Promise<Buffer> {
  const sink = bufferSink(DISK);
  await repo.restoreDisk(key, disk, sink);
  assert.equal(sink.state, 'finished');
  return sink.image;
}

for (const [name, make] of implementations) {
  describe(`backup repository on ${name}`, () => {
    let h: Harness;
    let repo: BackupRepository;
    let app = 0;
    /** A fresh application per test, so tests share one server without seeing each other. */
    const key = (backup: string): string => `ns1/app${app}/${backup}`;
    before(async () => {
      h = await make();
      repo = new BackupRepository(h.target, { chunkSize: CHUNK, packSize: PACK });
    });
    after(() => h.close());
    /** The ids of the application's packs, or of its pack indexes. */
    const ids = async (what: 'packs' | 'index'): Promise<string[]> =>
      (await h.target.list(`ns1/app${app}/${what}/`)).flatMap((k) => packIdOfKey(k) ?? []).sort();

    test('a full backup restores byte-identical; zero chunks are not stored', async () => {
      app++;
      const img = firstImage();
      const r = await repo.write({
        key: key('b1'),
        disks: [bufferDisk('root', img)],
        spec: { kind: 'VMInstance' },
      });
      assert.equal(r.chunksSent, 24); // 16 + 8 non-zero chunks of 64 KiB
      assert.equal(r.logicalSize, DISK);
      assert.match(r.checksum, /^sha256:[0-9a-f]{64}$/);
      assert.ok(r.uri.startsWith(h.target.uri) && r.uri.endsWith(`app${app}/backups/b1.json`), r.uri);
      assert.deepEqual(await repo.list(`ns1/app${app}`), [key('b1')]);
      assert.ok((await restored(repo, key('b1'), 'root')).equals(img));
      const m = await repo.read(key('b1'));
      assert.deepEqual(m.spec, { kind: 'VMInstance' });
      assert.equal(m.disks[0]?.chunks.length, 24);
      // 24 chunks in 6 packs of 4, each with its index: 12 objects, not 24.
      assert.equal(m.packs.length, 6);
      assert.deepEqual(await ids('packs'), [...m.packs].sort());
      assert.deepEqual(await ids('index'), [...m.packs].sort());
    });

    test('an incremental backup sends only the changed chunks; both points restore', async () => {
      app++;
      const img = firstImage();
      await repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      const before = Buffer.from(img);
      const changed = [scribble(img, 3 << 20, CHUNK), scribble(img, 100_000, 1000)]; // 2 chunks
      h.resetCount?.();
      const disk = bufferDisk('root', img, { changed });
      const r = await repo.write({ key: key('b2'), previous: key('b1'), disks: [disk], spec: {} });
      assert.equal(r.chunksSent, 2);
      assert.equal(disk.reads, 2, 'only the changed chunks are read');
      // Two random 64 KiB chunks, the manifest, a listing and the requests' headers.
      assert.ok(r.size < 2 * CHUNK + 8192, `sent ${r.size}`);
      const received = h.received?.();
      if (received !== undefined)
        assert.ok(received < 2 * CHUNK + 32768, `server received ${received} bytes`);
      assert.ok((await restored(repo, key('b2'), 'root')).equals(img));
      assert.ok((await restored(repo, key('b1'), 'root')).equals(before));
      assert.deepEqual(await repo.list(`ns1/app${app}/`), [key('b1'), key('b2')]);
    });

    test('blocks discarded since the previous backup restore as zeros', async () => {
      app++;
      const img = firstImage();
      await repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      img.fill(0, 2 << 20, (2 << 20) + (512 << 10));
      const changed = [{ offset: 2 << 20, length: 512 << 10, zero: true }];
      const r = await repo.write({
        key: key('b2'),
        previous: key('b1'),
        disks: [bufferDisk('root', img, { changed })],
        spec: {},
      });
      assert.equal(r.chunksSent, 0);
      assert.ok((await restored(repo, key('b2'), 'root')).equals(img));
    });

    test('deleting an old backup keeps the packs a newer one needs and collects the rest', async () => {
      app++;
      const img = firstImage();
      await repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      // Every non-zero chunk but chunk 0 rewritten: of b1's 6 packs only chunk 0's stays needed.
      const changed = [scribble(img, CHUNK, 15 * CHUNK), scribble(img, 2 << 20, 512 << 10)];
      await repo.write({
        key: key('b2'),
        previous: key('b1'),
        disks: [bufferDisk('root', img, { changed })],
        spec: {},
      });
      const b2 = await repo.read(key('b2'));
      assert.equal(b2.packs.length, 7, 'chunk 0 in a pack of b1, 23 new chunks in 6 packs');
      assert.equal((await ids('packs')).length, 12);
      await repo.delete(key('b1'));
      assert.deepEqual(await repo.list(`ns1/app${app}/`), [key('b2')]);
      assert.deepEqual(await ids('packs'), [...b2.packs].sort(), 'the 5 packs only b1 needed are gone');
      assert.deepEqual(await ids('index'), [...b2.packs].sort());
      assert.ok((await restored(repo, key('b2'), 'root')).equals(img));
      await repo.delete(key('b2'));
      assert.deepEqual(await ids('packs'), []);
      assert.deepEqual(await ids('index'), []);
    });

    test('a corrupted chunk fails the restore with an error naming it, and the sink is aborted', async () => {
      app++;
      const img = firstImage();
      await repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      const m = await repo.read(key('b1'));
      const [, hash, pack, offset, length] = m.disks[0]?.chunks[1] ?? [];
      assert.equal(hash, sha256hex(img.subarray(CHUNK, 2 * CHUNK)));
      const packObject = packKey(`ns1/app${app}`, m.packs[pack ?? -1] ?? '');
      // Another random chunk's frame, of the same length, in its place: it decompresses fine.
      const other = encodeChunk(randomBytes(CHUNK));
      assert.equal(other.length, length);
      const bytes = await h.target.get(packObject);
      other.copy(bytes, offset);
      await h.tamper(packObject, bytes);
      const sink = bufferSink(DISK);
      await assert.rejects(repo.restoreDisk(key('b1'), 'root', sink), (err: Error) => {
        assert.ok(err instanceof CorruptChunkError, err.message);
        for (const part of [hash ?? '', packObject, 'sha256 mismatch', `offset ${CHUNK})`])
          assert.ok(err.message.includes(part), `${err.message} does not say ${part}`);
        return true;
      });
      assert.equal(sink.state, 'aborted');
    });

    test('a pack index that does not verify is not trusted: its chunks are sent again', async () => {
      app++;
      const img = firstImage();
      await repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      const [first] = await h.target.list(`ns1/app${app}/index/`);
      assert.ok(first !== undefined);
      const text = (await h.target.get(first)).toString();
      await h.tamper(first, Buffer.from(text.replace(/"chunks":\[\["[0-9a-f]/, '"chunks":[["0')));
      // Another repository (another process): this one remembers the indexes it wrote.
      const other = new BackupRepository(h.target, { chunkSize: CHUNK, packSize: PACK });
      const r = await other.write({ key: key('b2'), disks: [bufferDisk('root', img)], spec: {} });
      assert.equal(r.chunksSent, 4, 'the 4 chunks of the pack whose index was edited');
      assert.equal(r.chunksReused, 20);
      assert.ok((await restored(repo, key('b2'), 'root')).equals(img));
    });

    test('a second write reads no pack index it wrote or read before; collected packs are forgotten', async () => {
      app++;
      const img = firstImage();
      const gets: string[] = [];
      const t = h.target;
      const counting: Target = {
        uri: t.uri,
        put: (k, data, signal) => t.put(k, data, signal),
        get: (k, signal) => (gets.push(k), t.get(k, signal)),
        getRange: (k, offset, length, signal) => t.getRange(k, offset, length, signal),
        list: (prefix, signal) => t.list(prefix, signal),
        delete: (keys, signal) => t.delete(keys, signal),
      };
      const mine = new BackupRepository(counting, { chunkSize: CHUNK, packSize: PACK });
      await mine.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      gets.length = 0;
      const b2 = await mine.write({ key: key('b2'), disks: [bufferDisk('root', img)], spec: {} });
      assert.equal(b2.chunksReused, 24, 'every chunk found stored');
      assert.deepEqual(
        gets.filter((k) => k.includes('/index/')),
        [],
        'no index read again',
      );
      // Both backups deleted: their packs are collected, and the next write stores everything again.
      await mine.delete(key('b1'));
      await mine.delete(key('b2'));
      assert.deepEqual(await ids('packs'), []);
      const b3 = await mine.write({ key: key('b3'), disks: [bufferDisk('root', img)], spec: {} });
      assert.equal(b3.chunksSent, 24, 'no chunk taken from a collected pack');
      assert.ok((await restored(mine, key('b3'), 'root')).equals(img));
    });

    test('a tampered manifest is refused', async () => {
      app++;
      await repo.write({ key: key('b1'), disks: [bufferDisk('root', firstImage())], spec: { a: 1 } });
      const mk = `ns1/app${app}/backups/b1.json`;
      const text = (await h.target.get(mk)).toString().replace('"a":1', '"a":2');
      await h.tamper(mk, Buffer.from(text));
      await assert.rejects(
        repo.read(key('b1')),
        (err: Error) => err instanceof ManifestError && /checksum mismatch/.test(err.message),
      );
    });

    test('a target failing mid-upload rejects the write and lists no backup; a retry skips the chunks already there', async () => {
      app++;
      const img = Buffer.alloc(DISK);
      scribble(img, 0, DISK); // 64 chunks of random data
      const down = h.failAfter(20 * CHUNK);
      await assert.rejects(repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} }));
      await down;
      assert.deepEqual(await repo.list(`ns1/app${app}/`).catch(() => []), []);
      h.recover();
      assert.deepEqual(await repo.list(`ns1/app${app}/`), [], 'no manifest of the failed backup');
      const stored = (await storedChunks(h.target, `ns1/app${app}`)).size;
      assert.ok(stored >= 8 && stored < 64, `${stored} chunks in complete packs before the failure`);
      const r = await repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      assert.equal(r.chunksReused, stored);
      assert.equal(r.chunksSent, 64 - stored);
      assert.ok((await restored(repo, key('b1'), 'root')).equals(img));
    });

    test('an aborted write rejects and lists nothing', async () => {
      app++;
      const ac = new AbortController();
      const img = firstImage();
      const disk = bufferDisk('root', img);
      const read = disk.reader.read.bind(disk.reader);
      disk.reader.read = (o, l) => {
        if (o >= 4 * CHUNK) ac.abort();
        return read(o, l);
      };
      await assert.rejects(repo.write({ key: key('b1'), disks: [disk], spec: {}, signal: ac.signal }), {
        name: 'AbortError',
      });
      assert.deepEqual(await repo.list(`ns1/app${app}/`), []);
    });

    test('a ranged read returns exactly its bytes; a short or missing object is an error', async () => {
      app++;
      const k = `ns1/app${app}/packs/00/${'0'.repeat(32)}`;
      const data = randomBytes(1000);
      await h.target.put(k, data);
      assert.ok((await h.target.getRange(k, 10, 20)).equals(data.subarray(10, 30)));
      assert.ok((await h.target.getRange(k, 0, 1000)).equals(data));
      await assert.rejects(h.target.getRange(k, 995, 10), /wanted 10|InvalidRange|Range Not Satisfiable/);
      await assert.rejects(h.target.getRange(`ns1/app${app}/packs/00/${'1'.repeat(32)}`, 0, 10), {
        name: 'ObjectNotFoundError',
      });
    });

    test('a listing goes past one page of 1000 keys', async () => {
      app++;
      const keys = Array.from(
        { length: 1003 },
        (_, i) => `ns1/app${app}/backups/b${String(i).padStart(4, '0')}.json`,
      );
      for (let i = 0; i < keys.length; i += 25)
        await Promise.all(keys.slice(i, i + 25).map((k) => h.target.put(k, Buffer.from('{}'))));
      assert.deepEqual(await h.target.list(`ns1/app${app}/`), keys);
    });

    test('a repository of the format before packs: its backups are refused clearly, and delete cleans them', async () => {
      app++;
      // What the previous code wrote: one object per chunk, and a version 1 manifest naming them.
      const data = randomBytes(CHUNK);
      const hash = sha256hex(data);
      const chunk = `ns1/app${app}/chunks/${hash.slice(0, 2)}/${hash}`;
      await h.target.put(chunk, encodeChunk(data));
      for (const name of ['old1', 'old2']) {
        const text = JSON.stringify({
          version: 1,
          key: key(name),
          created: '2026-12-06T00:00:00.000Z',
          chunkSize: CHUNK,
          disks: [{ name: 'root', virtualSize: DISK, full: true, chunks: [[0, hash]] }],
          spec: {},
        });
        const sum = sha256hex(Buffer.from(text));
        await h.target.put(
          `ns1/app${app}/backups/${name}.json`,
          Buffer.from(`${text.slice(0, -1)},"checksum":"sha256:${sum}"}`),
        );
      }
      const sink = bufferSink(DISK);
      await assert.rejects(
        repo.restoreDisk(key('old1'), 'root', sink),
        (err: Error) => err instanceof LegacyManifestError && /format version 1/.test(err.message),
      );
      assert.equal(sink.state, 'aborted');
      await assert.rejects(
        repo.write({
          key: key('new'),
          previous: key('old1'),
          disks: [bufferDisk('root', firstImage(), { changed: [] })],
          spec: {},
        }),
        LegacyManifestError,
      );
      // A new full backup beside them works; deleting them keeps it and, with the last one, the old chunks go.
      const img = firstImage();
      await repo.write({ key: key('new'), disks: [bufferDisk('root', img)], spec: {} });
      await repo.delete(key('old1'));
      assert.deepEqual(await h.target.list(`ns1/app${app}/chunks/`), [chunk], 'old2 still names it');
      await repo.delete(key('old2'));
      assert.deepEqual(await h.target.list(`ns1/app${app}/chunks/`), []);
      assert.deepEqual(await repo.list(`ns1/app${app}/`), [key('new')]);
      assert.ok((await restored(repo, key('new'), 'root')).equals(img));
    });

    test('an incremental disk with no previous map is refused, naming the disk', async () => {
      app++;
      const img = firstImage();
      await repo.write({ key: key('b1'), disks: [bufferDisk('root', img)], spec: {} });
      await assert.rejects(
        repo.write({
          key: key('b2'),
          previous: key('b1'),
          disks: [bufferDisk('data', img, { changed: allocatedExtents(img), full: false })],
          spec: {},
        }),
        /disk "data" is incremental but backup ns1\/app\d+\/b1 has no such disk/,
      );
    });
  });
}
