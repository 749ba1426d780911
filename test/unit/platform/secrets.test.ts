/**
 * Secrets on disk and on the wire: token files too short or empty stop the start; files are
 * replaced whole (temp + rename), private, never half-written; bearer credentials are visible
 * ASCII only, so `Bearer \xa0` names no one, even where a token was empty.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { bearerToken, TokenSet } from '../../../src/apiserver/bearer.js';
import { writeFileAtomic } from '../../../src/platform/atomic.js';
import { ensureToken, MIN_TOKEN_LENGTH, TokenFileError } from '../../../src/platform/tokens.js';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'hikube-secrets-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('token files', () => {
  test('a new token is generated, 43 characters, mode 0600, and read back the same', async () => {
    const path = join(dir, 'admin.token');
    const token = await ensureToken(path);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await ensureToken(path), token);
  });

  for (const [what, content] of [
    ['empty', ''],
    ['a newline only', '\n'],
    ['short', 'x'.repeat(MIN_TOKEN_LENGTH - 1)],
    ['invisible characters', `${'x'.repeat(MIN_TOKEN_LENGTH)}\u00a0y`],
  ] as const) {
    test(`a token file that is ${what} is refused, and kept for the admin to look at`, async () => {
      const path = join(dir, 'admin.token');
      await writeFile(path, content);
      await assert.rejects(
        ensureToken(path),
        (err: unknown) => err instanceof TokenFileError && err.message.includes(`token file ${path} holds`),
      );
      assert.equal(await readFile(path, 'utf8'), content);
    });
  }
});

describe('atomic writes', () => {
  test('replaces the file whole, with the mode asked, and leaves no temporary file', async () => {
    const path = join(dir, 'ca.key');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeFileAtomic(path, 'new');
    assert.equal(await readFile(path, 'utf8'), 'new');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await writeFileAtomic(join(dir, 'ca.crt'), 'cert', 0o644);
    assert.equal((await stat(join(dir, 'ca.crt'))).mode & 0o777, 0o644);
    assert.deepEqual((await readdir(dir)).sort(), ['ca.crt', 'ca.key']);
  });

  test('a failed write keeps the old file and leaves no temporary file', async () => {
    const path = join(dir, 'admin.token');
    await writeFile(path, 'old');
    const bad = { [Symbol.iterator]: () => assert.fail('not reached') } as unknown as Uint8Array;
    await assert.rejects(writeFileAtomic(path, bad));
    assert.equal(await readFile(path, 'utf8'), 'old');
    assert.deepEqual(await readdir(dir), ['admin.token']);
  });
});

describe('bearer credentials', () => {
  const good = 'a'.repeat(43);
  for (const [header, expected] of [
    [`Bearer ${good}`, good],
    [`bearer ${good}`, good],
    [`Bearer  ${good} `, good],
    ['Bearer \u00a0', undefined],
    ['Bearer ', undefined],
    ['Bearer', undefined],
    ['Bearer \t', undefined],
    [`Bearer ${good}\u00a0`, undefined],
    [`Bearer a b`, undefined],
    [`Basic ${good}`, undefined],
    [undefined, undefined],
  ] as const) {
    test(`${JSON.stringify(header)} → ${expected === undefined ? 'no credential' : 'the token'}`, () => {
      assert.equal(bearerToken(header), expected);
    });
  }

  test('a token set never holds an empty or invisible token, and matches only whole tokens', () => {
    assert.throws(() => new TokenSet(['']), /visible ASCII/);
    assert.throws(() => new TokenSet(['\u00a0']), /visible ASCII/);
    const set = new TokenSet([good, 'b'.repeat(40)]);
    assert.equal(set.has(good), true);
    assert.equal(set.has('b'.repeat(40)), true);
    assert.equal(set.has(good.slice(1)), false);
    assert.equal(set.has(`${good}a`), false);
    assert.equal(set.has(''), false);
    assert.equal(set.has(undefined), false);
  });
});
