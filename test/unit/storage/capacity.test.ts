/**
 * The pool's thin-provisioning limit: the rule itself (table), and the provisioner refusing a claim
 * (Pending, a ProvisioningFailed event naming the limit) and an expansion past it, against a real
 * Registry over in-memory SQLite and real qemu-img; the filesystem's size is the one thing faked.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  eventKind,
  namespaceKind,
  persistentVolumeClaimKind,
  type Event,
} from '../../../src/api/core/core.js';
import { defaultStorageClass, storageClassKind } from '../../../src/api/storage/storageclass.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { refusal, type PoolSpace } from '../../../src/storage/capacity.js';
import type { Claim } from '../../../src/storage/claims.js';
import { Provisioner } from '../../../src/storage/provisioner.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;

describe('refusal', () => {
  const policy = { overcommit: 10, lowBytes: 64 * Mi };
  const cases: [string, number, number, PoolSpace, RegExp | undefined][] = [
    ['within 10× the filesystem', 5 * Gi, 4 * Gi, { size: Gi, free: Gi }, undefined],
    ['exactly at the limit', 6 * Gi, 4 * Gi, { size: Gi, free: Gi }, undefined],
    ['one MiB past the limit', 6 * Gi + Mi, 4 * Gi, { size: Gi, free: Gi }, /over its limit of 10Gi/],
    ['a nearly full filesystem', Mi, 0, { size: 4 * Gi, free: 63 * Mi }, /63Mi free, under the 64Mi/],
    ['a small filesystem keeps 5 % free', Mi, 0, { size: 16 * Mi, free: 12 * Mi }, undefined],
    ['a small nearly full filesystem', Mi, 0, { size: 20 * Mi, free: Mi / 2 }, /512Ki free, under the 1Mi/],
  ];
  for (const [what, growth, provisioned, space, expected] of cases)
    test(what, () => {
      const why = refusal('/pool', growth, provisioned, space, policy);
      if (expected === undefined) assert.equal(why, undefined);
      else assert.match(why ?? '', expected);
    });
});

describe('the provisioner under the limit', () => {
  const NS = 'default';
  let pool: string;
  let store: SqliteStore;
  let api: ApiClient;
  let provisioner: Provisioner;
  let manager: Manager;

  beforeEach(async () => {
    pool = await mkdtemp(join(tmpdir(), 'hikube-capacity-'));
    store = new SqliteStore({ path: ':memory:' });
    const registry = new Registry(store);
    registry.create(namespaceKind, '', { metadata: { name: NS } });
    registry.create(storageClassKind, '', { ...defaultStorageClass(), allowVolumeExpansion: true });
    api = new ApiClient(registry);
    manager = new Manager(new RegistryTransport(registry));
    provisioner = new Provisioner({
      manager,
      events: recorderFor(manager, 'persistentvolume-controller', 'node-1'),
      images: qemuImgTool,
      dir: pool,
      // A 1 GiB filesystem with room: 10 GiB of thin volumes at most.
      capacity: { overcommit: 10, lowBytes: 0, space: () => Promise.resolve({ size: Gi, free: Gi }) },
    });
    void manager.add(provisioner);
    await manager.start();
  });
  afterEach(async () => {
    manager.stop();
    store.close();
    await rm(pool, { recursive: true, force: true });
  });

  const claim = (name: string): Claim | undefined => api.get<Claim>(persistentVolumeClaimKind, NS, name);
  const ask = (name: string, storage: string): void =>
    void api.create<Claim>(persistentVolumeClaimKind, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    });
  const eventsOf = (name: string): Event[] =>
    api.list<Event>(eventKind, NS).filter((e) => e.involvedObject.name === name);

  test('claims fit until the pool would pass 10× its filesystem; then Pending with the reason', async () => {
    ask('fits', '8Gi');
    await eventually(() => claim('fits')?.status?.phase === 'Bound', 'the first claim bound');
    ask('toomuch', '3Gi');
    const event = await eventually(
      () => eventsOf('toomuch').find((e) => e.reason === 'ProvisioningFailed'),
      'a ProvisioningFailed event',
    );
    assert.match(event.message ?? '', /over its limit of 10Gi/);
    assert.equal(claim('toomuch')?.status?.phase, 'Pending');
    assert.deepEqual(
      readdirSync(pool).filter((f) => f.includes(claim('toomuch')?.metadata.uid ?? '?')),
      [],
      'no disk file made for the refused claim',
    );
  });

  test('an expansion past the limit is refused and the claim keeps its size', async () => {
    ask('grow', '8Gi');
    await eventually(() => claim('grow')?.status?.phase === 'Bound', 'claim bound');
    const path = provisioner.volumePath(NS, 'grow');
    assert.ok(path !== undefined && existsSync(path));
    api.mutate<Claim>(persistentVolumeClaimKind, NS, 'grow', (c) => {
      c.spec.resources = { requests: { storage: '12Gi' } };
    });
    const event = await eventually(
      () => eventsOf('grow').find((e) => e.reason === 'VolumeResizeFailed'),
      'a VolumeResizeFailed event',
    );
    assert.match(event.message ?? '', /not growing volume .* to 12Gi: .*over its limit of 10Gi/);
    assert.equal(claim('grow')?.status?.capacity?.['storage'], '8Gi');
  });
});
