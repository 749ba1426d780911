import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { StoreError, type StoreEvent } from '../../../src/store/store.js';

const vm = (name: string, ns = 'default', extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: ns },
  spec: { running: false },
  ...extra,
});
const R = 'kubevirt.io/virtualmachines';

const storeError = (code: StoreError['code']) => (err: unknown) =>
  err instanceof StoreError && err.code === code;

describe('SqliteStore', () => {
  test('create assigns increasing resourceVersions and get/list return what was stored', () => {
    const s = new SqliteStore({ path: ':memory:' });
    const a = s.create(R, vm('b'));
    const b = s.create(R, vm('a'));
    const c = s.create(R, vm('a', 'other'));
    assert.deepEqual([a.rv, b.rv, c.rv], [1, 2, 3]);
    assert.equal(s.get(R, 'default', 'b')?.object.metadata.resourceVersion, '1');
    assert.deepEqual(
      s.list(R).items.map((o) => `${o.namespace}/${o.name}`),
      ['default/a', 'default/b', 'other/a'],
    );
    assert.deepEqual(
      s.list(R, 'other').items.map((o) => o.name),
      ['a'],
    );
    assert.equal(s.list(R).rv, 3);
    assert.throws(() => s.create(R, vm('a')), storeError('AlreadyExists'));
  });

  test('update and delete check the expected resourceVersion', () => {
    const s = new SqliteStore({ path: ':memory:' });
    const a = s.create(R, vm('a'));
    assert.throws(() => s.update(R, vm('a'), a.rv + 5), storeError('Conflict'));
    const updated = s.update(R, vm('a', 'default', { spec: { running: true } }), a.rv);
    assert.equal(updated.rv, 2);
    assert.throws(() => s.delete(R, 'default', 'a', 1), storeError('Conflict'));
    assert.throws(() => s.update(R, vm('zz'), undefined), storeError('NotFound'));
    const deleted = s.delete(R, 'default', 'a', 2);
    assert.equal(deleted.rv, 3);
    assert.equal(s.get(R, 'default', 'a'), undefined);
  });

  test('subscribers see every change in order, and changesSince replays them', () => {
    const s = new SqliteStore({ path: ':memory:' });
    const seen: StoreEvent[] = [];
    s.subscribe((e) => seen.push(e));
    s.create(R, vm('a'));
    s.update(R, vm('a', 'default', { spec: { running: true } }));
    s.delete(R, 'default', 'a');
    assert.deepEqual(
      seen.map((e) => `${e.type}@${e.rv}`),
      ['ADDED@1', 'MODIFIED@2', 'DELETED@3'],
    );
    assert.deepEqual(
      s.changesSince(1).map((e) => e.type),
      ['MODIFIED', 'DELETED'],
    );
    assert.deepEqual(s.changesSince(3), []);
  });

  test('history is compacted: too old a version is Gone, recent ones still replay', () => {
    const s = new SqliteStore({ path: ':memory:', historySize: 100 });
    for (let i = 0; i < 2500; i++) s.create(R, vm(`vm-${i}`));
    assert.throws(() => s.changesSince(10), storeError('Gone'));
    assert.equal(s.changesSince(2450).length, 50);
  });

  test('everything survives closing and reopening the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-store-'));
    try {
      const path = join(dir, 'state.db');
      const s = new SqliteStore({ path });
      s.create(R, vm('a'));
      s.create(R, vm('b'));
      s.delete(R, 'default', 'b');
      s.close();
      const again = new SqliteStore({ path });
      assert.equal(again.currentRv(), 3);
      assert.deepEqual(
        again.list(R).items.map((o) => o.name),
        ['a'],
      );
      assert.deepEqual(
        again.changesSince(0).map((e) => e.type),
        ['ADDED', 'ADDED', 'DELETED'],
      );
      assert.equal(again.create(R, vm('c')).rv, 4);
      again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
