/**
 * Restarting keeps every object; `kill -9` during a burst of creates loses no acknowledged one.
 * The server runs as a real `hikube up` child process so it can be killed for real.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exited, up } from '../support/up.js';
import { raw } from '../support/http.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const cm = (name: string): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: name } });
const CMS = '/api/v1/namespaces/default/configmaps';

describe('durability', () => {
  test('Ctrl-C stops cleanly and a restart keeps every object', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-dur-'));
    dirs.push(dir);
    const first = await up(dir);
    for (let i = 0; i < 20; i++)
      assert.equal((await raw(first.platform, 'POST', CMS, cm(`keep-${i}`))).code, 201);
    first.proc.kill('SIGINT');
    assert.equal(await exited(first.proc), 0);
    const second = await up(dir);
    try {
      const list = await raw(second.platform, 'GET', CMS);
      const names = (list.json['items'] as { metadata: { name: string } }[]).map((o) => o.metadata.name);
      for (let i = 0; i < 20; i++) assert.ok(names.includes(`keep-${i}`), `keep-${i} survived the restart`);
    } finally {
      second.proc.kill('SIGINT');
      await exited(second.proc);
    }
  });

  test('kill -9 during a burst of creates loses no acknowledged create', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-kill-'));
    dirs.push(dir);
    const first = await up(dir);
    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = `burst-${w}-${i}`;
        try {
          const r = await raw(first.platform, 'POST', CMS, cm(name));
          if (r.code === 201) acknowledged.push(name);
        } catch {
          return; // the server died mid-request: that create was never acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map((w) => writer(w));
    while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 5));
    first.proc.kill('SIGKILL');
    await exited(first.proc);
    stop = true;
    await Promise.all(writers);
    const second = await up(dir);
    try {
      const list = await raw(second.platform, 'GET', CMS);
      const names = new Set(
        (list.json['items'] as { metadata: { name: string } }[]).map((o) => o.metadata.name),
      );
      const lost = acknowledged.filter((n) => !names.has(n));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged creates were lost`);
      assert.ok(acknowledged.length >= 300);
    } finally {
      second.proc.kill('SIGINT');
      await exited(second.proc);
    }
  });
});
