/**
 * The store's headroom guard, as logic: which writes are refused under the low-water mark, and the
 * order in which room is made for a delete (a WAL checkpoint, then the reserve). The inner store is
 * real SQLite in memory; only "the disk is full" is played by a wrapper that fails commits with
 * SQLite's own SQLITE_FULL until room is made. test/e2e/disk-full.test.ts does it on a real tmpfs.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { GuardedStore, type CheckpointingStore } from '../../../src/store/guarded.js';
import { Headroom } from '../../../src/store/headroom.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { StoreError, type ResourceKey, type StoredObject } from '../../../src/store/store.js';

const R = '/configmaps';
const cm = (name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', ...extra },
});
const MiB = 1024 * 1024;

/** SQLite that answers SQLITE_FULL to writes until `room` says there is some. */
class FullDisk extends SqliteStore implements CheckpointingStore {
  room: () => boolean = () => true;
  checkpoints = 0;
  private fail(): void {
    if (!this.room()) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  }
  override create(resource: ResourceKey, object: KubeObject): StoredObject {
    this.fail();
    return super.create(resource, object);
  }
  override update(resource: ResourceKey, object: KubeObject, rv?: number): StoredObject {
    this.fail();
    return super.update(resource, object, rv);
  }
  override delete(resource: ResourceKey, ns: string, name: string, rv?: number): StoredObject {
    this.fail();
    return super.delete(resource, ns, name, rv);
  }
  override checkpoint(): void {
    this.checkpoints++;
  }
}

const full = (err: unknown): boolean =>
  err instanceof StoreError && err.code === 'Full' && /data dir full: \d+ bytes free/.test(err.message);

describe('GuardedStore', () => {
  let dir: string;
  let free: number;
  let inner: FullDisk;
  let headroom: Headroom;
  let store: GuardedStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hikube-guard-'));
    free = 100 * MiB;
    inner = new FullDisk({ path: ':memory:' });
    headroom = new Headroom({ dir, reserveBytes: MiB, lowBytes: 8 * MiB, free: () => free });
    store = new GuardedStore(inner, headroom);
  });
  afterEach(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('under the low-water mark: creates and updates refused, deletes and finishing updates pass', () => {
    store.create(R, cm('a'));
    store.create(R, cm('b', { finalizers: ['x'] }));
    assert.ok(existsSync(headroom.reservePath), 'the reserve is made while there is room');
    free = 4 * MiB;
    assert.match(store.shortage() ?? '', /data dir full: 4194304 bytes free/);
    assert.throws(() => store.create(R, cm('c')), full);
    assert.throws(() => store.update(R, cm('a', { labels: { l: 'v' } })), full);
    const deleting = cm('b', { finalizers: [], deletionTimestamp: '2026-01-01T00:00:00Z' });
    assert.equal(store.update(R, deleting).object.metadata.deletionTimestamp, '2026-01-01T00:00:00Z');
    store.delete(R, 'default', 'a');
    assert.equal(store.get(R, 'default', 'a'), undefined);
    assert.ok(existsSync(headroom.reservePath), 'the reserve is kept while SQLite still has room');
  });

  test('a delete on a disk SQLite finds full: a checkpoint first, then the reserve', () => {
    store.create(R, cm('a'));
    store.create(R, cm('b'));
    free = 0;
    // The checkpoint makes no room: the reserve has to go.
    inner.room = () => !existsSync(headroom.reservePath);
    store.delete(R, 'default', 'a');
    assert.equal(inner.checkpoints, 1);
    assert.equal(existsSync(headroom.reservePath), false);
    // Nothing left to give: the next delete is refused with the reason, and the store is intact.
    inner.room = () => false;
    assert.throws(() => store.delete(R, 'default', 'b'), full);
    assert.ok(store.get(R, 'default', 'b') !== undefined);
  });

  test('once closed, the reserve is not made again (the data dir may be being removed)', () => {
    assert.ok(existsSync(headroom.reservePath));
    store.close();
    rmSync(headroom.reservePath);
    assert.equal(headroom.shortage(), undefined);
    assert.equal(existsSync(headroom.reservePath), false);
    assert.deepEqual(readdirSync(dir), []);
    store = new GuardedStore(new FullDisk({ path: ':memory:' }), new Headroom({ dir, free: () => free }));
  });

  test('a checkpoint that makes room spares the reserve; space freed brings writes back', () => {
    store.create(R, cm('a'));
    free = 0;
    let checkpointed = false;
    inner.room = () => checkpointed;
    const checkpoint = inner.checkpoint.bind(inner);
    inner.checkpoint = () => {
      checkpoint();
      checkpointed = true;
    };
    store.delete(R, 'default', 'a');
    assert.ok(existsSync(headroom.reservePath));
    free = 100 * MiB;
    assert.equal(store.shortage(), undefined);
    assert.equal(store.create(R, cm('again')).name, 'again');
  });
});
