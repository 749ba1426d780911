/**
 * The node's side of backups on a stopped VM's volume, with real qemu-img, qemu-io and qemu-nbd:
 * the first point is full, the next lists only what was written since (read back exactly through
 * NBD), snapshots taken and deleted between points or under the boundary keep the change set
 * exact, a restore from a snapshot newer than the boundary stays incremental while one from an
 * older snapshot makes the next point full with the reason, a deleted volume keeps its boundary
 * until it is released, and the restore sink writes a disk back byte for byte (raw and qcow2),
 * sparse, replacing the volume whole.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DiskSource, Extent, FillingBlockReader } from '../../../src/backup/types.js';
import { NodeBackupExecutor, type BackupPoint } from '../../../src/node/backups.js';
import {
  adopt,
  deleteLayer,
  removeVolume,
  restoreOffline,
  snapshotOffline,
} from '../../../src/storage/layers.js';
import { openNbd } from '../../../src/storage/nbd.js';
import { runQemuImg } from '../../../src/storage/qemu-img.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-backup-point-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const io = (file: string, format: string, command: string): string =>
  execFileSync('qemu-io', ['-f', format, '-c', command, file], { encoding: 'utf8' });
/** qemu-io reports a mismatch in its output, not in its exit code. */
const holds = (file: string, format: string, pattern: number, range: string): boolean =>
  !/verification failed/.test(io(file, format, `read -P ${pattern} ${range}`));
const noLive = (): Promise<boolean> => Promise.resolve(false);
const executor = new NodeBackupExecutor(() => [], runQemuImg);

const ext = (offsetMiB: number, lengthMiB: number): Extent => ({
  offset: offsetMiB * MiB,
  length: lengthMiB * MiB,
  zero: false,
});
const diskOf = (p: BackupPoint): DiskSource => {
  const d = p.disks[0];
  assert.ok(d !== undefined, 'one disk');
  return d;
};

describe('backup points of a stopped VM', () => {
  test('full, then only the changed extents, through snapshots, merges and restores', async () => {
    const volume = join(dir, 'pvc-b.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '64M']);
    io(volume, 'qcow2', 'write -P 0x11 0 2M');
    await adopt(volume);
    const old = await snapshotOffline(runQemuImg, volume); // a snapshot older than every backup
    const take = (previous?: string): Promise<BackupPoint> =>
      executor.takePoint({
        namespace: 'ns',
        vmName: 'vm',
        volumes: [{ name: 'data', path: volume }],
        freeze: false,
        running: false,
        ...(previous !== undefined ? { previous: { data: previous } } : {}),
      });

    // 1: the first point is full.
    const p1 = await take();
    const b1 = p1.boundary['data'] ?? '';
    const d1 = diskOf(p1);
    assert.equal(d1.full, true);
    assert.equal(d1.fullReason, 'first backup');
    assert.equal(d1.virtualSize, 64 * MiB);
    assert.deepEqual(d1.changed, [ext(0, 2)]);
    assert.ok((await d1.reader.read(0, 2 * MiB)).equals(Buffer.alloc(2 * MiB, 0x11)));
    await p1.close();

    // 2: 4 MiB written at 20 MiB (then frozen in a snapshot): only that extent, read back exactly.
    io(volume, 'qcow2', 'write -P 0x22 20M 4M');
    const under = await snapshotOffline(runQemuImg, volume);
    const p2 = await take(b1);
    const b2 = p2.boundary['data'] ?? '';
    const d2 = diskOf(p2);
    assert.equal(d2.full, false);
    assert.equal(d2.fullReason, undefined);
    assert.deepEqual(d2.changed, [ext(20, 4)]);
    assert.ok((await d2.reader.read(20 * MiB, 4 * MiB)).equals(Buffer.alloc(4 * MiB, 0x22)));
    assert.ok((await d2.reader.read(0, MiB)).equals(Buffer.alloc(MiB, 0x11)), 'older data reads through');
    const parallel = await Promise.all([0, 1, 2, 3].map((i) => d2.reader.read((20 + i) * MiB - 4096, 8192)));
    for (const [i, b] of parallel.entries())
      assert.ok(b.equals(Buffer.concat([Buffer.alloc(4096, i === 0 ? 0 : 0x22), Buffer.alloc(4096, 0x22)])));
    // Filling given memory (what backups use) reads the same bytes, across the 8 MiB request split
    // and interleaved with plain reads on the one connection.
    const reader = d2.reader as FillingBlockReader;
    const into = [Buffer.alloc(12 * MiB, 0xff), Buffer.alloc(MiB, 0xff)];
    const [n0, plain, n1] = await Promise.all([
      reader.readInto(16 * MiB, into[0] as Buffer),
      reader.read(16 * MiB, 12 * MiB),
      reader.readInto(0, into[1] as Buffer),
    ]);
    assert.equal(n0, 12 * MiB);
    assert.equal(n1, MiB);
    assert.ok((into[0] as Buffer).equals(plain), 'readInto and read agree');
    assert.ok((into[0] as Buffer).subarray(4 * MiB, 8 * MiB).equals(Buffer.alloc(4 * MiB, 0x22)));
    assert.ok((into[1] as Buffer).equals(Buffer.alloc(MiB, 0x11)));
    await assert.rejects(d2.reader.read(64 * MiB - 512, 1024), /NBD request failed/);
    await p2.close();
    await executor.releaseBoundary(b1);
    assert.equal(existsSync(b1), false, 'the released boundary is merged away');

    // 3: a snapshot under the boundary is deleted (merged into it), another is taken and deleted
    // between the points: the change set is still exactly what was written.
    await deleteLayer(runQemuImg, under, noLive);
    io(volume, 'qcow2', 'write -P 0x33 30M 1M');
    const between = await snapshotOffline(runQemuImg, volume);
    io(volume, 'qcow2', 'write -P 0x44 40M 1M');
    io(volume, 'qcow2', 'write -z 1M 1M'); // zeroed: a change the backup must record as zeros
    await deleteLayer(runQemuImg, between, noLive);
    const p3 = await take(b2);
    const b3 = p3.boundary['data'] ?? '';
    const d3 = diskOf(p3);
    assert.equal(d3.full, false);
    assert.deepEqual(d3.changed, [{ ...ext(1, 1), zero: true }, ext(30, 1), ext(40, 1)]);
    assert.ok((await d3.reader.read(30 * MiB, MiB)).equals(Buffer.alloc(MiB, 0x33)));
    await p3.close();
    await executor.releaseBoundary(b2);

    // 4: a restore from a snapshot newer than the boundary: what was written after the snapshot
    // is undone, so it is not part of the change; the point stays incremental.
    io(volume, 'qcow2', 'write -P 0x66 44M 1M');
    const newer = await snapshotOffline(runQemuImg, volume);
    io(volume, 'qcow2', 'write -P 0x55 50M 1M');
    await restoreOffline(runQemuImg, volume, newer);
    const p4 = await take(b3);
    const b4 = p4.boundary['data'] ?? '';
    assert.equal(diskOf(p4).full, false);
    assert.deepEqual(diskOf(p4).changed, [ext(44, 1)]);
    await p4.close();
    await executor.releaseBoundary(b3);

    // 5: a restore from a snapshot older than the boundary breaks the chain: full, with why.
    await restoreOffline(runQemuImg, volume, old);
    const p5 = await take(b4);
    const d5 = diskOf(p5);
    assert.equal(d5.full, true);
    assert.equal(
      d5.fullReason,
      'chain broken: the disk was restored from a snapshot older than the previous backup',
    );
    assert.deepEqual(d5.changed, [ext(0, 2)]);
    assert.ok((await d5.reader.read(20 * MiB, MiB)).equals(Buffer.alloc(MiB)), 'the older content');
    await p5.close();
    await executor.releaseBoundary(b4);

    // Deleting the volume keeps the boundary the application's backups hold, until released.
    const b5 = p5.boundary['data'] ?? '';
    await removeVolume(volume);
    assert.ok(existsSync(b5), 'the boundary outlives its volume');
    const other = join(dir, 'pvc-other.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', other, '1M']);
    const volumes = [
      { name: 'other', path: other },
      { name: 'data', path: volume },
    ];
    const p6 = await executor
      .takePoint({ namespace: 'ns', vmName: 'vm', volumes, freeze: false, running: false })
      .then(
        () => 'taken',
        (err: unknown) => String(err),
      );
    assert.match(p6, /volume "data" has no file: .*pvc-b\.qcow2 is missing/, 'no point of a missing volume');
    assert.ok(lstatSync(other).isFile(), 'and the other disk was left alone');
    await executor.releaseBoundary(b5);
    assert.equal(existsSync(b5), false);
  });

  test('releasing the boundary at the bottom of the chain copies nothing; it goes with its last child', async () => {
    const volume = join(dir, 'pvc-u.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '64M']);
    io(volume, 'qcow2', 'write -P 0x11 0 16M');
    const base = await adopt(volume);
    const take = (previous?: string): Promise<BackupPoint> =>
      executor.takePoint({
        namespace: 'ns',
        vmName: 'vm',
        volumes: [{ name: 'data', path: volume }],
        freeze: false,
        running: false,
        ...(previous !== undefined ? { previous: { data: previous } } : {}),
      });
    const p1 = await take();
    await p1.close();
    assert.equal(p1.boundary['data'], base, 'the first point freezes the adopted file');
    io(volume, 'qcow2', 'write -P 0x22 20M 1M');
    const p2 = await take(base);
    await p2.close();
    const b2 = p2.boundary['data'] ?? '';
    await executor.releaseBoundary(base);
    assert.ok(existsSync(base), 'the bottom stays: its children read it');
    assert.ok(
      statSync(b2).blocks * 512 < 4 * MiB,
      'the 16 MiB under it were not copied into the next boundary',
    );
    io(volume, 'qcow2', 'write -P 0x33 30M 1M');
    const p3 = await take(b2);
    await p3.close();
    assert.deepEqual(diskOf(p3).changed, [ext(30, 1)]);
    await executor.releaseBoundary(b2);
    assert.equal(existsSync(b2), false, 'a boundary in the middle is merged away');
    assert.ok(holds(volume, 'qcow2', 0x11, '0 16M') && holds(volume, 'qcow2', 0x22, '20M 1M'));

    // The volume goes, then its last boundary: the unowned bottom goes with it, and the directory.
    await removeVolume(volume);
    assert.ok(existsSync(base));
    await executor.releaseBoundary(p3.boundary['data'] ?? '');
    assert.equal(existsSync(base), false);
    assert.equal(existsSync(`${volume}.layers`), false);
  });
});

describe('the restore sink', () => {
  for (const format of ['raw', 'qcow2'] as const) {
    test(`writes a ${format} volume back byte for byte, sparse, replacing it whole`, async () => {
      const source = join(dir, `src-${format}.qcow2`);
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', source, '48M']);
      io(source, 'qcow2', 'write -P 0x5a 1M 3M');
      io(source, 'qcow2', 'write -P 0xa5 33M 64k');
      io(source, 'qcow2', 'write -P 0x01 47M 1M');
      const target = join(dir, `pvc-r.${format === 'raw' ? 'img' : 'qcow2'}`);
      execFileSync('qemu-img', ['create', '-q', '-f', format, target, '48M']);
      io(target, format, 'write -P 0x77 0 48M'); // what the restore replaces

      // An aborted restore leaves the volume as it was and no intermediate behind.
      const aborted = await executor.openRestoreSink({ path: target, format, virtualSize: 48 * MiB });
      await aborted.write(0, Buffer.alloc(MiB, 1));
      await aborted.abort();
      assert.ok(holds(target, format, 0x77, '0 48M'), 'the aborted restore left the volume alone');
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.includes('.restore.part')),
        [],
      );

      const src = await openNbd(source, 'qcow2');
      const sink = await executor.openRestoreSink({ path: target, format, virtualSize: 48 * MiB });
      await assert.rejects(sink.write(47 * MiB, Buffer.alloc(2 * MiB)), /passes the disk/);
      for (let at = 0; at < 48 * MiB; at += 4 * MiB) await sink.write(at, await src.client.read(at, 4 * MiB));
      await src.close();
      await sink.finish();

      const same = execFileSync('qemu-img', ['compare', '-q', '-f', 'qcow2', '-F', format, source, target]);
      assert.equal(same.length, 0);
      assert.ok(lstatSync(target).isFile());
      const used = statSync(target).blocks * 512;
      assert.ok(used < 8 * MiB, `sparse: ${used} bytes used for 4.1 MiB of data in 48 MiB`);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.includes('.restore.part')),
        [],
      );
    });
  }

  test('a layered volume is replaced whole and its former active layer goes', async () => {
    const volume = join(dir, 'pvc-l.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '8M']);
    const active = await adopt(volume);
    const sink = await executor.openRestoreSink({ path: volume, format: 'qcow2', virtualSize: 8 * MiB });
    await sink.write(0, Buffer.alloc(MiB, 9));
    await sink.finish();
    assert.ok(lstatSync(volume).isFile(), 'a plain file, adopted again before a guest opens it');
    assert.equal(existsSync(active), false);
    assert.ok(holds(volume, 'qcow2', 9, '0 1M'));
  });
});
