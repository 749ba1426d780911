/**
 * Start-up survives any stored object: rows that the store cannot load (3,500 levels deep, not
 * JSON, not an object with the row's name) are written straight into SQLite, and a real `hikube
 * up` still starts, serves every other object, reports each bad one (log and Event), and lets
 * `kubectl delete` remove it for good.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { raw } from '../support/http.js';
import { run } from '../support/platform.js';
import { exited, up, type Child } from '../support/up.js';
import { eventually } from '../support/wait.js';

const dataDir = await mkdtemp(join(tmpdir(), 'hikube-poison-'));
let child: Child | undefined;
after(async () => {
  child?.proc.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

const VMS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';
const CMS = '/api/v1/namespaces/default/configmaps';

const vm = (name: string, spec: unknown): Record<string, unknown> => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: '2026-12-01T00:00:00Z' },
  spec,
});

/** A VM as the issue found it: a sysprep volume nested `levels` deep. */
function deepVm(name: string, levels: number): string {
  let nest: unknown = {};
  for (let i = 0; i < levels; i++) nest = { a: nest };
  const spec = {
    runStrategy: 'Halted',
    template: { spec: { domain: { devices: {} }, volumes: [{ name: 'sys', sysprep: nest }] } },
  };
  return JSON.stringify(vm(name, spec));
}

async function stop(): Promise<void> {
  const c = child;
  assert.ok(c !== undefined);
  c.proc.kill('SIGKILL');
  await exited(c.proc);
  child = undefined;
}

const kubectl = (args: string[]) =>
  run(
    'kubectl',
    ['--kubeconfig', join(dataDir, 'kubeconfig'), '--cache-dir', join(dataDir, 'kc'), ...args],
    undefined,
    {
      HOME: dataDir,
    },
  );

describe('poison objects in the store', () => {
  test('start-up skips and reports rows it cannot load; kubectl delete removes them', async () => {
    child = await up(dataDir);
    const good = await raw(
      child.platform,
      'POST',
      CMS,
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'good' }, data: { a: 'b' } }),
    );
    assert.equal(good.code, 201, good.body);
    await stop();

    const db = new Database(join(dataDir, 'state.db'));
    const rv = (db.prepare("SELECT value FROM meta WHERE key = 'rv'").get() as { value: number }).value;
    const insert = db.prepare(
      'INSERT INTO objects (resource, namespace, name, rv, json) VALUES (?, ?, ?, ?, ?)',
    );
    const rows: [string, string, string][] = [
      ['kubevirt.io/virtualmachines', 'deep', deepVm('deep', 3500)],
      ['kubevirt.io/virtualmachines', 'garbage', '{"metadata": {"name": "garbage"'],
      ['kubevirt.io/virtualmachines', 'array', '[1, 2, 3]'],
      ['kubevirt.io/virtualmachines', 'renamed', JSON.stringify(vm('other-name', {}))],
      [
        '/configmaps',
        'huge',
        JSON.stringify({
          metadata: { name: 'huge', namespace: 'default' },
          data: { a: 'x'.repeat(4 << 20) },
        }),
      ],
    ];
    // Loadable but mistyped: served as stored (controllers must cope), and deletable like any other.
    const mistyped: [string, string, string][] = [
      ['kubevirt.io/virtualmachines', 'mistyped', JSON.stringify(vm('mistyped', 'x'))],
      [
        'kubevirt.io/virtualmachineinstances',
        'odd-vmi',
        JSON.stringify({ ...vm('odd-vmi', { domain: 5 }), kind: 'VirtualMachineInstance', status: [] }),
      ],
    ];
    [...rows, ...mistyped].forEach(([resource, name, json], i) =>
      insert.run(resource, 'default', name, rv + i + 1, json),
    );
    db.prepare("UPDATE meta SET value = ? WHERE key = 'rv'").run(rv + rows.length + mistyped.length);
    db.close();

    child = await up(dataDir);
    const p = child.platform;
    assert.equal((await raw(p, 'GET', `${CMS}/good`)).code, 200, 'the other objects are served');
    const list = await raw(p, 'GET', VMS);
    assert.equal(list.code, 200, list.body);
    const served = (list.json['items'] as { metadata: { name: string } }[]).map((o) => o.metadata.name);
    assert.deepEqual(served, ['mistyped'], 'rows that cannot be loaded are not served');
    for (const [, name] of rows) assert.match(child.output(), new RegExp(`"default/${name}" was not loaded`));
    const events = await eventually(async () => {
      const r = await raw(p, 'GET', '/api/v1/namespaces/default/events');
      const items =
        (r.json['items'] as { reason: string; involvedObject: { name: string } }[] | undefined) ?? [];
      const failed = items.filter((e) => e.reason === 'FailedLoad').map((e) => e.involvedObject.name);
      return failed.length === rows.length ? failed.sort() : undefined;
    }, 'a FailedLoad event per bad row');
    assert.deepEqual(events, rows.map(([, name]) => name).sort());

    const deleted = await kubectl(['delete', 'vm', 'deep', 'garbage', 'array', 'renamed']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const loaded = await kubectl(['delete', 'vm', 'mistyped']);
    assert.equal(loaded.code, 0, loaded.stderr);
    const vmi = await kubectl(['delete', 'vmi', 'odd-vmi', '--wait=false']);
    assert.equal(vmi.code, 0, vmi.stderr);
    const cm = await kubectl(['delete', 'configmap', 'huge']);
    assert.equal(cm.code, 0, cm.stderr);
    assert.equal((await raw(p, 'DELETE', `${VMS}/deep`)).code, 404, 'deleted for good');

    // The rows are gone from disk: the next start reports nothing.
    await stop();
    child = await up(dataDir);
    assert.doesNotMatch(child.output(), /was not loaded/);
    assert.equal((await raw(child.platform, 'GET', `${CMS}/good`)).code, 200);
  });
});
