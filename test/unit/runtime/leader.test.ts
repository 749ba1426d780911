/**
 * Leader election over a real Lease in the Registry, with a fake clock: one of two candidates
 * leads and the Lease names it; a holder cut off from the server stops leading at its renew
 * deadline, before the other may take over after the lease duration; a released Lease is taken at
 * the next retry; a holder that finds another identity on the Lease stops at once.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { leaseKind, type Lease } from '../../../src/api/coordination/lease.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import {
  checkLeaderElectionConfig,
  LeaderElector,
  type LeaderElectionConfig,
} from '../../../src/runtime/leader.js';
import type { ApiTransport } from '../../../src/runtime/transport.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

const config = (identity: string): LeaderElectionConfig => ({
  namespace: 'default',
  name: 'hikube-operator',
  identity,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

/** A transport that can be cut off from the server, as a partitioned replica is. */
function cuttable(inner: ApiTransport): { transport: ApiTransport; cut: () => void } {
  let down = false;
  const fail = (): Promise<never> => Promise.reject(new Error('connection refused'));
  const transport: ApiTransport = {
    describe: inner.describe,
    list: (d, ns) => (down ? fail() : inner.list(d, ns)),
    watch: (d, rv, h) => inner.watch(d, rv, h),
    get: (d, ns, n) => (down ? fail() : inner.get(d, ns, n)),
    create: (d, o) => (down ? fail() : inner.create(d, o)),
    update: (d, o, s) => (down ? fail() : inner.update(d, o, s)),
    delete: (d, ns, n, o) => (down ? fail() : inner.delete(d, ns, n, o)),
  };
  return { transport, cut: () => (down = true) };
}

describe('leader election over a Lease', () => {
  let registry: Registry;
  let time: FakeTime;
  let timeline: string[];
  beforeEach(() => {
    registry = new Registry(new SqliteStore({ path: ':memory:' }));
    registry.create(namespaceKind, '', { metadata: { name: 'default' } });
    time = new FakeTime(new Date('2026-12-07T12:00:00Z'));
    timeline = [];
  });

  const lease = (): NonNullable<Lease['spec']> =>
    (registry.get(leaseKind, 'default', 'hikube-operator').object as unknown as Lease).spec ?? {};

  function candidate(identity: string, transport: ApiTransport = new RegistryTransport(registry)) {
    return new LeaderElector(
      transport,
      config(identity),
      {
        onStartedLeading: () => timeline.push(`${identity} leads at ${time.now.toISOString()}`),
        onStoppedLeading: () => timeline.push(`${identity} stops at ${time.now.toISOString()}`),
      },
      { now: () => time.now.getTime(), timers: time },
    );
  }

  test('one of two candidates leads; cut off, it stops before the other takes over', async () => {
    const link = cuttable(new RegistryTransport(registry));
    const a = candidate('a', link.transport);
    const b = candidate('b');
    a.start();
    await settle();
    b.start();
    await time.advanceSettling(5_000, settle);
    assert.equal(a.isLeader, true);
    assert.equal(b.isLeader, false);
    assert.equal(b.observedHolder, 'a');
    assert.deepEqual(
      {
        holder: lease().holderIdentity,
        duration: lease().leaseDurationSeconds,
        transitions: lease().leaseTransitions,
      },
      { holder: 'a', duration: 15, transitions: 0 },
    );
    assert.equal(lease().renewTime, '2026-12-07T12:00:04.000000Z', 'renewed every retry period');

    link.cut();
    await time.advanceSettling(30_000, settle);
    assert.equal(a.isLeader, false);
    assert.equal(b.isLeader, true);
    assert.deepEqual(timeline, [
      'a leads at 2026-12-07T12:00:00.000Z',
      // The last renewal at 12:00:04; the renew deadline (10 s) passes at 12:00:14.
      'a stops at 2026-12-07T12:00:14.000Z',
      // b's retries (every 2 s) first saw the 12:00:04 renewal at 12:00:06, and it waits the lease
      // duration (15 s) from then, on its own clock: its first retry after 12:00:21.
      'b leads at 2026-12-07T12:00:22.000Z',
    ]);
    assert.equal(lease().holderIdentity, 'b');
    assert.equal(lease().leaseTransitions, 1);
    await a.release();
    await b.release();
  });

  test('a released Lease is taken at the next retry, not after the lease duration', async () => {
    const a = candidate('a');
    const b = candidate('b');
    a.start();
    await settle();
    b.start();
    await time.advanceSettling(3_000, settle);
    await a.release();
    assert.equal(lease().holderIdentity, '');
    await time.advanceSettling(2_000, settle);
    assert.equal(b.isLeader, true);
    assert.equal(lease().holderIdentity, 'b');
    assert.equal(lease().leaseTransitions, 1);
    assert.deepEqual(timeline, [
      'a leads at 2026-12-07T12:00:00.000Z',
      'b leads at 2026-12-07T12:00:04.000Z',
    ]);
    await b.release();
  });

  test('a holder that finds another identity on the Lease stops at its next renewal', async () => {
    const a = candidate('a');
    a.start();
    await settle();
    await time.advanceSettling(1_000, settle);
    const current = registry.get(leaseKind, 'default', 'hikube-operator').object as unknown as Lease;
    registry.update(leaseKind, 'default', 'hikube-operator', {
      ...current,
      spec: { ...current.spec, holderIdentity: 'intruder' },
    });
    await time.advanceSettling(1_000, settle);
    assert.equal(a.isLeader, false);
    assert.deepEqual(timeline, [
      'a leads at 2026-12-07T12:00:00.000Z',
      'a stops at 2026-12-07T12:00:02.000Z',
    ]);
    await a.release();
    assert.equal(lease().holderIdentity, 'intruder', 'a release by a non-holder leaves the Lease alone');
  });

  test('durations where a holder could outlive its lease are refused', () => {
    assert.deepEqual(checkLeaderElectionConfig(config('a')), []);
    assert.deepEqual(checkLeaderElectionConfig({ ...config('a'), renewDeadlineMs: 15_000 }), [
      'the lease duration must exceed the renew deadline',
    ]);
    assert.deepEqual(checkLeaderElectionConfig({ ...config('a'), retryPeriodMs: 10_000 }), [
      'the renew deadline must exceed the retry period',
    ]);
    assert.throws(() => candidate(''), /the identity must not be empty/);
  });
});
