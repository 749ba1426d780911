/**
 * A full data dir (a 64 MiB tmpfs the test mounts): /readyz says why it is not ready, creates are
 * refused with a 503 Status naming the cause, deletes still work, and once space is freed writes
 * work again. Runs a real platform (real SQLite, real API server) on that filesystem.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { raw } from '../support/http.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const CMS = '/api/v1/namespaces/default/configmaps';
const cm = (name: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { n: name } });

/** Writes zeros into `path` until the filesystem refuses more (ENOSPC). */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(256 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

describe('disk full', () => {
  let fs: Tmpfs | undefined;
  let dataDir: string;
  let p: TestPlatform;
  let started: TestPlatform | undefined;

  before(async () => {
    fs = await mountTmpfs('hikube-full-', 64);
    dataDir = fs.dir;
    started = p = await startTestPlatform({ dataDir });
  });

  after(async () => {
    try {
      await started?.stop();
    } finally {
      await fs?.remove();
    }
  });

  test('readyz 503 with the reason, create 503, delete works, writes come back when space is freed', async () => {
    assert.equal((await raw(p, 'GET', '/readyz')).code, 200);
    assert.equal((await raw(p, 'POST', CMS, cm('before'))).code, 201);
    // One being deleted behind a finalizer: finishing it takes an update, then the delete.
    const held = await raw(p, 'POST', CMS, cm('held', { finalizers: ['example.com/hold'] }));
    assert.equal(held.code, 201);

    // Enough deletes that SQLite itself runs out of room for them on the full disk.
    const bulk = Array.from({ length: 120 }, (_, i) => `bulk-${i}`);
    for (const name of bulk) {
      const r = await raw(
        p,
        'POST',
        CMS,
        JSON.stringify({ metadata: { name }, data: { pad: 'x'.repeat(4000) } }),
      );
      assert.equal(r.code, 201, r.body);
    }
    assert.ok(existsSync(join(dataDir, 'store.reserve')), 'the store keeps a reserve on the data dir');
    const filler = join(dataDir, 'filler');
    fill(filler);

    const ready = await raw(p, 'GET', '/readyz');
    assert.equal(ready.code, 503);
    assert.match(ready.body, /data dir full: \d+ bytes free/);

    const refused = await raw(p, 'POST', CMS, cm('refused'));
    assert.equal(refused.code, 503, refused.body);
    assert.equal(refused.json['kind'], 'Status');
    assert.equal(refused.json['reason'], 'ServiceUnavailable');
    assert.match(String(refused.json['message']), /data dir full: \d+ bytes free/);
    const update = await raw(p, 'PATCH', `${CMS}/before`, JSON.stringify({ data: { more: 'x' } }), {
      'Content-Type': 'application/merge-patch+json',
    });
    assert.equal(update.code, 503, update.body);

    const deleted = await raw(p, 'DELETE', `${CMS}/before`);
    assert.equal(deleted.code, 200, deleted.body);
    assert.equal((await raw(p, 'GET', `${CMS}/before`)).code, 404);
    for (const name of bulk) {
      const r = await raw(p, 'DELETE', `${CMS}/${name}`);
      assert.equal(r.code, 200, `deleting ${name} on a full disk: ${r.body}`);
    }
    const marked = await raw(p, 'DELETE', `${CMS}/held`);
    assert.equal(marked.code, 200, marked.body);
    const released = await raw(
      p,
      'PATCH',
      `${CMS}/held`,
      JSON.stringify({ metadata: { finalizers: null } }),
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(released.code, 200, released.body);
    assert.equal((await raw(p, 'GET', `${CMS}/held`)).code, 404);

    await rm(filler);
    await eventually(async () => (await raw(p, 'GET', '/readyz')).code === 200, 'readyz 200 again');
    const again = await raw(p, 'POST', CMS, cm('after'));
    assert.equal(again.code, 201, again.body);
  });
});
