/**
 * A chain of snapshots of a real guest (hikube/tiny, a PVC disk): deleting the middle one of three
 * frees its space while the guest runs and keeps the other two restorable; snapshots taken while
 * the guest writes leave every layer sound (qemu-img check).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { boot as bootOn, DEV, gone as goneOn, read, sh, tinyOnClaim, write } from '../support/disk-guest.js';
import type { Console } from '../support/guest.js';
import { kubectlOk, hikubeOk, startTestPlatform, type TestPlatform } from '../support/platform.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);

/** The layer directory of a claim's volume, and the bytes its files take. */
async function layerDir(claim: string): Promise<string> {
  const pv = (await kubectl(['get', 'pvc', claim, '-o', 'jsonpath={.spec.volumeName}'])).trim();
  const file = (await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}'])).trim();
  return `${file}.layers`;
}
const usedBytes = (dir: string): number =>
  readdirSync(dir).reduce((sum, f) => sum + lstatSync(join(dir, f)).blocks * 512, 0);

const boot = (name: string): Promise<Console> => bootOn(p, name);
const gone = (kind: string, name: string): Promise<void> => goneOn(p, kind, name);

describe('a chain of snapshots', () => {
  test('deleting the middle of three snapshots frees its space; the others stay restorable; live snapshots under writes are sound', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 64Mi}}\n`,
    );
    await kubectl(['apply', '-f', '-'], tinyOnClaim('src', 'data'));
    const c = await boot('src');
    const dir = await layerDir('data');
    const chunk = (text: string): string =>
      `dd if=/dev/urandom of=${DEV} bs=1M count=4 seek=8 conv=fsync 2>/dev/null; ${write(text)}`;
    await sh(c, chunk('alpha'));
    await hikube(['snapshot', 'create', 'src', '--name', 'a1', '--wait']);
    await sh(c, chunk('beta'));
    await hikube(['snapshot', 'create', 'src', '--name', 'a2', '--wait']);
    await sh(c, chunk('gamma'));
    await hikube(['snapshot', 'create', 'src', '--name', 'a3', '--wait']);
    await sh(c, write('delta'));
    const before = usedBytes(dir);
    const files = readdirSync(dir).length;
    await hikube(['snapshot', 'delete', 'a2', '--wait']);
    const after = usedBytes(dir);
    assert.equal(readdirSync(dir).length, files - 1, 'one layer less');
    assert.ok(before - after >= 3 * 1024 * 1024, `about 4 MiB freed (before ${before}, after ${after})`);
    assert.equal(await sh(c, read), 'delta', 'the running guest did not notice');

    // Writes during live snapshots: every layer stays sound.
    c.send(
      `while true; do dd if=/dev/urandom of=${DEV} bs=64k count=16 seek=$((RANDOM % 800)) 2>/dev/null; done &\n`,
    );
    for (const n of ['w1', 'w2', 'w3']) await hikube(['snapshot', 'create', 'src', '--name', n, '--wait']);
    await sh(c, 'kill %1; wait; sync');
    for (const f of readdirSync(dir)) {
      const out = execFileSync('qemu-img', ['check', '-U', join(dir, f)], { encoding: 'utf8' });
      assert.match(out, /No errors were found/, `${f}: ${out}`);
    }

    // a1 and a3 still restore: a3 onto a new VM, a1 onto src.
    await hikube(['restore', 'src', 'a3', '--to', 'third', '--wait']);
    const third = await boot('third');
    assert.equal(await sh(third, read), 'gamma');
    third.close();
    c.close();
    await hikube(['restore', 'src', 'a1', '--stop', '--wait']);
    await gone('vmi', 'src');
    await hikube(['start', 'src']);
    const again = await boot('src');
    assert.equal(await sh(again, read), 'alpha');
    again.close();
  });
});
