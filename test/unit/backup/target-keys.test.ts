/**
 * Keys cannot leave a target's root: every bad key is refused before any file or request is made,
 * and the local target writes objects whole (no temp file is left or listed).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidKeyError, localTarget } from '../../../src/backup/index.js';

const bad: [string, RegExp][] = [
  ['../escape', /"\.\." is not allowed/],
  ['a/../../escape', /"\.\." is not allowed/],
  ['/etc/passwd', /empty path segment/],
  ['a//b', /empty path segment/],
  ['a/./b', /"\." is not allowed/],
  ['a\\..\\b', /only letters/],
  ['a/b\0c', /only letters/],
  ['a/ b', /only letters/],
  ['', /1 to 1024/],
];

test('the local target refuses keys that could leave its root', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'hikube-bk-keys-'));
  const target = localTarget(join(parent, 'root'));
  try {
    for (const [key, why] of bad) {
      await assert.rejects(
        target.put(key, Buffer.from('x')),
        (err: Error) => err instanceof InvalidKeyError && why.test(err.message),
        key,
      );
      await assert.rejects(target.get(key), InvalidKeyError, key);
    }
    await assert.rejects(target.list('../'), InvalidKeyError);
    assert.deepEqual(await readdir(parent), [], 'nothing was created');
    assert.equal(existsSync(join(parent, 'escape')), false);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

test('the local target replaces an object whole and lists no temp file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hikube-bk-keys-'));
  const target = localTarget(dir);
  try {
    await target.put('ns/app/backups/b.json', Buffer.from('one'));
    await target.put('ns/app/backups/b.json', Buffer.from('two'));
    assert.equal((await target.get('ns/app/backups/b.json')).toString(), 'two');
    assert.deepEqual(await readdir(join(dir, 'ns/app/backups')), ['b.json']);
    assert.deepEqual(await target.list('ns/'), ['ns/app/backups/b.json']);
    await target.delete(['ns/app/backups/b.json', 'ns/app/backups/missing.json']);
    assert.deepEqual(await target.list(''), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
