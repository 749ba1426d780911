/**
 * Backup points of a running guest (hikube/tiny on a PVC data disk): the point goes through the
 * guest's QEMU (one QMP transaction), the guest writes 4 MiB between two points, and the second
 * point lists that write and not the whole disk; the reader returns what the guest reads; a
 * released boundary in the middle of the chain is merged live (block-stream) while the guest
 * keeps its data, and the next point still lists only the newer write.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { DiskSource } from '../../src/backup/types.js';
import { NodeBackupExecutor, type BackupPoint } from '../../src/node/backups.js';
import { runQemuImg } from '../../src/storage/qemu-img.js';
import { boot, DEV, sh, tinyOnClaim } from '../support/disk-guest.js';
import type { Console } from '../support/guest.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';

const MiB = 1024 * 1024;
let p: TestPlatform;
let c: Console | undefined;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  c?.close();
  await p.cleanup();
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const diskOf = (point: BackupPoint): DiskSource => {
  const d = point.disks[0];
  assert.ok(d !== undefined, 'one disk');
  return d;
};
/** The md5 the guest computes of `count` MiB of its data disk from `skip` MiB. */
const guestMd5 = async (con: Console, skip: number, count: number): Promise<string> =>
  (await sh(con, `dd if=${DEV} bs=1M skip=${skip} count=${count} 2>/dev/null | md5sum`)).split(/\s+/)[0] ??
  '';

describe('backup points of a running guest', () => {
  test('the second point covers what the guest wrote and not the whole disk', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 64Mi}}\n`,
    );
    await kubectl(['apply', '-f', '-'], tinyOnClaim('bk', 'data'));
    c = await boot(p, 'bk');
    const pv = (await kubectl(['get', 'pvc', 'data', '-o', 'jsonpath={.spec.volumeName}'])).trim();
    const path = (await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}'])).trim();
    const executor = new NodeBackupExecutor(() => p.agent.running(), runQemuImg);
    const take = (previous?: string): Promise<BackupPoint> =>
      executor.takePoint({
        namespace: 'default',
        vmName: 'bk',
        volumes: [{ name: 'data', path }],
        freeze: false,
        running: true,
        ...(previous !== undefined ? { previous: { data: previous } } : {}),
      });

    await sh(c, `dd if=/dev/urandom of=${DEV} bs=1M count=2 seek=2 conv=fsync 2>/dev/null`);
    const p1 = await take();
    const b1 = p1.boundary['data'] ?? '';
    assert.equal(diskOf(p1).full, true);
    assert.equal(diskOf(p1).fullReason, 'first backup');
    assert.deepEqual(p1.indications, ['Online', 'NoGuestAgent']);
    await p1.close();

    await sh(c, `dd if=/dev/urandom of=${DEV} bs=1M count=4 seek=16 conv=fsync 2>/dev/null`);
    const written = await guestMd5(c, 16, 4);
    const p2 = await take(b1);
    const d2 = diskOf(p2);
    assert.equal(d2.full, false);
    const from = Math.min(...d2.changed.map((e) => e.offset));
    const to = Math.max(...d2.changed.map((e) => e.offset + e.length));
    const total = d2.changed.reduce((n, e) => n + e.length, 0);
    assert.ok(from <= 16 * MiB && to >= 20 * MiB, `the write is covered: ${JSON.stringify(d2.changed)}`);
    assert.ok(total < 8 * MiB, `not the whole disk: ${total} bytes changed of ${d2.virtualSize}`);
    const read = await d2.reader.read(16 * MiB, 4 * MiB);
    assert.equal(
      createHash('md5').update(read).digest('hex'),
      written,
      'the reader sees what the guest wrote',
    );
    await p2.close();

    // The first boundary is the bottom of the chain: released, it stays for the layers over it.
    await executor.releaseBoundary(b1);
    assert.ok(existsSync(b1));
    // A boundary in the middle is merged into the layer over it inside the running QEMU.
    await sh(c, `dd if=/dev/urandom of=${DEV} bs=1M count=1 seek=40 conv=fsync 2>/dev/null`);
    const b2 = p2.boundary['data'] ?? '';
    const p3 = await take(b2);
    await p3.close();
    const d3 = diskOf(p3);
    assert.equal(d3.full, false);
    assert.ok(
      d3.changed.some((e) => e.offset <= 40 * MiB && e.offset + e.length >= 41 * MiB),
      `the second write is covered: ${JSON.stringify(d3.changed)}`,
    );
    assert.ok(
      !d3.changed.some((e) => e.offset < 20 * MiB && e.offset + e.length > 16 * MiB),
      'not the first',
    );
    await executor.releaseBoundary(b2);
    assert.equal(existsSync(b2), false);
    assert.equal(await guestMd5(c, 16, 4), written, 'the guest did not notice');
    await executor.releaseBoundary(p3.boundary['data'] ?? '');
  });
});
