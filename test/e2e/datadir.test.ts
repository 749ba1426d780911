/**
 * The data dir with real `hikube up` processes: one holder at a time (a second start exits at once
 * naming the holder; after `kill -9` of the holder the next start succeeds at once), private modes
 * whatever the admin left, token files that are empty are refused, and a data dir of a newer
 * release is refused. Unique temp dirs and free ports: safe beside other e2e tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { raw } from '../support/http.js';
import { repoRoot } from '../support/platform.js';
import { exited, up, type Child } from '../support/up.js';

const root = await mkdtemp(join(tmpdir(), 'hikube-datadir-'));
const children: Child[] = [];
after(async () => {
  for (const c of children) c.proc.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

async function start(dir: string): Promise<Child> {
  const c = await up(dir);
  children.push(c);
  return c;
}

/** `hikube up` expected to refuse: its exit code, output and how long it took. */
function refusedStart(dir: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const began = Date.now();
  const proc = spawn(join(repoRoot, 'bin', 'hikube'), ['up', '--data-dir', dir, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  return exited(proc).then((code) => {
    clearTimeout(killer);
    return { code, stderr, ms: Date.now() - began };
  });
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('the data dir', () => {
  const dir = join(root, 'shared');

  test('a second hikube up on a held data dir exits at once naming the holder; the holder goes on', async () => {
    const first = await start(dir);
    const second = await refusedStart(dir);
    assert.equal(second.code, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `data dir ${dir} is in use by another hikube up \\(pid ${String(first.proc.pid)}, listening on ${first.platform.url.replace(/[.]/g, '\\.')}\\)`,
      ),
    );
    assert.doesNotMatch(second.stderr, /listening on https:\/\/127\.0\.0\.1:\d+\n/, 'it never served');
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-second' }, data: { a: 'b' } };
    const r = await raw(first.platform, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify(cm));
    assert.equal(r.code, 201, `the holder still writes: ${r.body}`);
  });

  test('after kill -9 of the holder the next start succeeds at once, with the objects written', async () => {
    const first = children.at(-1);
    assert.ok(first !== undefined);
    first.proc.kill('SIGKILL');
    await exited(first.proc);
    const next = await start(dir); // fails the test when the stale lock held it back
    const r = await raw(next.platform, 'GET', '/api/v1/namespaces/default/configmaps/after-second');
    assert.equal(r.code, 200, r.body);
  });

  test('`Authorization: Bearer \\xa0` (and an empty bearer) is 401', async () => {
    const p = children.at(-1)?.platform;
    assert.ok(p !== undefined);
    for (const token of ['\u00a0', '', ' ']) {
      const r = await raw(p, 'GET', '/api/v1/namespaces/default/secrets', undefined, {}, token);
      assert.equal(r.code, 401, `Bearer ${JSON.stringify(token)}: ${r.body}`);
    }
  });
});

describe('data dir modes', () => {
  test('a data dir left 0755 with world-readable files is 0700 after start; the store’s files are 0600', async () => {
    const dir = join(root, 'modes');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'kubeconfig'), 'stale', { mode: 0o644 });
    await chmod(join(dir, 'kubeconfig'), 0o644);
    const c = await start(dir);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-password' },
      stringData: { password: 'hunter2' },
    };
    const r = await raw(c.platform, 'POST', '/api/v1/namespaces/default/secrets', JSON.stringify(secret));
    assert.equal(r.code, 201, r.body);
    assert.equal(await modeOf(dir), 0o700);
    const names = await readdir(dir);
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm', 'kubeconfig', 'VERSION', 'lock'])
      assert.ok(names.includes(f), `${f} in ${names.join(' ')}`);
    for (const name of names) {
      const s = await stat(join(dir, name));
      assert.equal(s.mode & 0o077, 0, `${name} is ${(s.mode & 0o777).toString(8)}: others may read it`);
    }
    for (const name of await readdir(join(dir, 'pki')))
      assert.equal((await modeOf(join(dir, 'pki', name))) & 0o077, 0, `pki/${name}`);
  });
});

describe('refused starts', () => {
  test('a 0-byte admin.token stops the start with a clear message', async () => {
    const dir = join(root, 'empty-token');
    await mkdir(join(dir, 'pki'), { recursive: true });
    await writeFile(join(dir, 'pki', 'admin.token'), '');
    const r = await refusedStart(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /token file .*admin\.token holds 0 characters, fewer than the 32 required: refusing to start/,
    );
  });

  test('a data dir of a newer release is refused with a clear message', async () => {
    const dir = join(root, 'newer');
    await mkdir(dir);
    await writeFile(join(dir, 'VERSION'), '99\n');
    const r = await refusedStart(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /has format version 99, written by a newer release of hikube; this release reads versions up to \d+/,
    );
    assert.deepEqual(
      (await readdir(dir)).sort(),
      ['VERSION', 'lock', 'lock.holder'],
      'nothing else was written',
    );
  });
});
