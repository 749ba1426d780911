/**
 * The qcow2 layer chains behind snapshots, on real files with real qemu-img and qemu-io: a
 * volume becomes a symlink to its active layer, snapshots freeze layers, a restore reads what the
 * snapshot held, deleting a middle snapshot keeps what every other layer reads and frees its
 * space, and removing the volume leaves the snapshots' layers alone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  activeLayer,
  adopt,
  allocatedBytes,
  backingOf,
  childrenOf,
  deleteLayer,
  removeVolume,
  restoreOffline,
  snapshotOffline,
} from '../../../src/storage/layers.js';
import { runQemuImg } from '../../../src/storage/qemu-img.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-layers-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const io = (file: string, command: string): string =>
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', command, file], { encoding: 'utf8' });
/** Writes 4 MiB of `pattern` at 8 MiB (the same clusters every time) and one sector at 0. */
const fill = (file: string, pattern: number): void => {
  io(file, `write -P ${pattern} 8M 4M`);
  io(file, `write -P ${pattern} 0 512`);
};
const reads = (file: string, pattern: number): boolean =>
  !/Pattern verification failed/.test(
    io(file, `read -P ${pattern} 8M 4M`) + io(file, `read -P ${pattern} 0 512`),
  );

describe('qcow2 layer chains', () => {
  test('snapshots, restore, deleting the middle of three, removing the volume', async () => {
    const volume = join(dir, 'pvc-1.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '64M']);
    fill(volume, 0x11);

    const base = await adopt(volume);
    assert.ok(lstatSync(volume).isSymbolicLink());
    assert.equal(readlinkSync(volume), base);
    assert.equal(await adopt(volume), base, 'adopting twice changes nothing');
    assert.ok(reads(volume, 0x11));

    const s1 = await snapshotOffline(runQemuImg, volume);
    assert.equal(s1, base);
    fill(volume, 0x22);
    const s2 = await snapshotOffline(runQemuImg, volume);
    fill(volume, 0x33);
    const s3 = await snapshotOffline(runQemuImg, volume);
    fill(volume, 0x44);
    const active = await activeLayer(volume);
    assert.equal(await backingOf(active), s3);
    assert.equal(await backingOf(s3), s2);
    assert.deepEqual(await childrenOf(s2), [s3]);
    assert.ok(reads(volume, 0x44));
    for (const [layer, p] of [
      [s1, 0x11],
      [s2, 0x22],
      [s3, 0x33],
    ] as const)
      assert.ok(reads(layer, p), `${layer} holds ${p}`);

    // Deleting the middle one: its clusters were all overwritten above it, so its space goes.
    const used = (await allocatedBytes(s2)) + (await allocatedBytes(s3));
    await deleteLayer(runQemuImg, s2, () => Promise.resolve(false));
    assert.ok(!existsSync(s2));
    assert.equal(await backingOf(s3), s1);
    assert.ok(used - (await allocatedBytes(s3)) >= 3 * MiB, 'about 4 MiB freed');
    assert.ok(reads(s1, 0x11) && reads(s3, 0x33) && reads(volume, 0x44), 'every other layer reads the same');

    // Restore in place: a new layer over s1; the replaced active goes.
    await restoreOffline(runQemuImg, volume, s1);
    assert.ok(!existsSync(active));
    assert.ok(reads(volume, 0x11));
    fill(volume, 0x55);
    assert.ok(reads(s1, 0x11), 'the snapshot is not written through');

    // A linked clone in another volume, then deleting the root layer it is built on.
    const other = join(dir, 'pvc-2.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', other, '64M']);
    await restoreOffline(runQemuImg, other, s3);
    assert.ok(reads(other, 0x33));
    await deleteLayer(runQemuImg, s1, () => Promise.resolve(false));
    assert.ok(reads(other, 0x33) && reads(volume, 0x55) && reads(s3, 0x33));
    for (const f of [s3, await activeLayer(volume), await activeLayer(other)])
      assert.match(execFileSync('qemu-img', ['check', f], { encoding: 'utf8' }), /No errors were found/);

    // Removing the volume keeps the layer the other volume still reads.
    await removeVolume(volume);
    assert.ok(!existsSync(volume));
    assert.ok(existsSync(s3));
    assert.ok(reads(other, 0x33));
  });

  test('a full copy has no backing file', async () => {
    const volume = join(dir, 'pvc-3.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '16M']);
    fill(volume, 0x66);
    const frozen = await snapshotOffline(runQemuImg, volume);
    const target = join(dir, 'pvc-4.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', target, '16M']);
    const layer = await restoreOffline(runQemuImg, target, frozen, true);
    assert.equal(await backingOf(layer), undefined);
    assert.ok(reads(target, 0x66));
  });

  test('a restore or a delete naming a file that is not a pool layer is refused, and the file is left alone', async () => {
    const hostFile = join(dir, 'host-secret');
    writeFileSync(hostFile, 'host secret\n');
    const volume = join(dir, 'pvc-9.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '16M']);
    await adopt(volume);
    const before = readlinkSync(volume);
    // A qcow2 outside any layer directory, and one linked into a layer directory from outside.
    const stray = join(dir, 'stray.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', stray, '16M']);
    symlinkSync(hostFile, join(dir, 'pvc-9.qcow2.layers', 'evil.qcow2'));
    for (const layer of [hostFile, stray, join(dir, 'pvc-9.qcow2.layers', 'evil.qcow2'), '/etc/passwd']) {
      await assert.rejects(restoreOffline(runQemuImg, volume, layer), /is not a snapshot layer/, layer);
      await assert.rejects(
        deleteLayer(runQemuImg, layer, () => Promise.resolve(false)),
        /is not a snapshot layer/,
      );
    }
    assert.equal(readlinkSync(volume), before, 'the volume still points at its own layer');
    assert.equal(await backingOf(before), undefined, 'no layer was put over the host file');
    assert.equal(readFileSync(hostFile, 'utf8'), 'host secret\n');
    assert.ok(existsSync(stray));
  });
});
