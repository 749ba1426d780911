/**
 * The snapshot schedule controller against a real Registry over an in-memory SQLite store, with
 * a fake clock and the in-memory ScheduleSnapshots (held to the API adapter's behaviour by the
 * contract suite). The test plays the snapshot controller by completing snapshots.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { eventKind, type Event } from '../../../src/api/core/core.js';
import {
  SCHEDULE_LABEL,
  SCHEDULED_TIME_ANNOTATION,
  snapshotScheduleKind,
  type SnapshotSchedule,
  type SnapshotScheduleSpec,
} from '../../../src/api/hikube/snapshotschedule.js';
import type { Condition } from '../../../src/api/kubevirt/status.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ScheduleController } from '../../../src/controllers/schedule/controller.js';
import { snapshotName } from '../../../src/controllers/schedule/status.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';
import { FakeScheduleSnapshots } from '../../support/schedule-snapshots.js';

const NS = 'default';
const MINUTE = 60_000;
const DAY = 1440 * MINUTE;

let time: FakeTime;
let store: SqliteStore;
let api: ApiClient;
let snapshots: FakeScheduleSnapshots;
let controller: ScheduleController;
let registry: Registry;
let manager: Manager;
let errors: string[];

async function newController(): Promise<ScheduleController> {
  manager = new Manager(new RegistryTransport(registry));
  const c = new ScheduleController({
    manager,
    events: recorderFor(manager, 'snapshot-schedule-controller', 'node-1', () => time.now),
    snapshots,
    now: () => time.now,
    timers: time,
    log: (m) => errors.push(m),
  });
  void manager.add(c);
  await manager.start();
  return c;
}

beforeEach(async () => {
  time = new FakeTime(new Date('2024-05-01T12:00:30.000Z'));
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store, { now: () => time.now });
  const nsDef = findKindByGvk('v1', 'Namespace');
  if (nsDef === undefined) throw new Error('Namespace kind missing');
  registry.create(nsDef, '', { metadata: { name: NS } });
  api = new ApiClient(registry);
  snapshots = new FakeScheduleSnapshots(() => time.now);
  errors = [];
  controller = await newController();
});

afterEach(() => {
  manager.stop();
  store.close();
});

async function settle(): Promise<void> {
  await controller.idle();
  assert.deepEqual(errors, [], 'the controller failed');
}

const advance = (ms: number): Promise<void> => time.advanceSettling(ms, settle);

function createVm(name: string, labels: Record<string, string> = { app: name }): void {
  api.create<VirtualMachine>(virtualMachineKind, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS, labels },
    spec: {
      runStrategy: 'Halted',
      template: { spec: { domain: { devices: {}, resources: { requests: { memory: '64Mi' } } } } },
    },
  });
}

async function createSchedule(name: string, spec: SnapshotScheduleSpec): Promise<void> {
  api.create<SnapshotSchedule>(snapshotScheduleKind, {
    apiVersion: 'hikube.io/v1alpha1',
    kind: 'SnapshotSchedule',
    metadata: { name, namespace: NS },
    spec,
  });
  await settle();
}

async function updateSpec(name: string, change: (spec: SnapshotScheduleSpec) => void): Promise<void> {
  api.mutate<SnapshotSchedule>(snapshotScheduleKind, NS, name, (s) => {
    change(s.spec);
  });
  await settle();
}

function schedule(name: string): SnapshotSchedule {
  const s = api.get<SnapshotSchedule>(snapshotScheduleKind, NS, name);
  assert.ok(s, `schedule ${name}`);
  return s;
}

const condition = (name: string, type: string): Condition | undefined =>
  schedule(name).status?.conditions?.find((c) => c.type === type);

const names = (scheduleName: string): string[] =>
  snapshots
    .snapshotsOf(NS, scheduleName)
    .map((s) => s.name)
    .sort();

const eventsOf = (reason: string): Event[] =>
  api
    .list<Event>(eventKind, NS)
    .filter((e) => e.reason === reason && e.involvedObject.kind === 'SnapshotSchedule');

describe('snapshot schedule controller', () => {
  test('a schedule with retention 3 running every minute keeps exactly 3', async () => {
    createVm('web');
    await createSchedule('minutely', {
      schedule: '* * * * *',
      selector: { matchLabels: { app: 'web' } },
      retention: { count: 3 },
    });
    assert.equal(schedule('minutely').status?.nextScheduleTime, '2024-05-01T12:01:00Z');
    assert.deepEqual(names('minutely'), []);
    for (let i = 0; i < 10; i++) {
      await advance(MINUTE);
      snapshots.completeAll();
      await settle();
      assert.equal(names('minutely').length, Math.min(i + 1, 3), `after run ${i + 1}`);
    }
    // It is 12:10:30: the runs of 12:08, 12:09 and 12:10 remain.
    assert.deepEqual(names('minutely'), [
      'web-minutely-202405011208',
      'web-minutely-202405011209',
      'web-minutely-202405011210',
    ]);
    const status = schedule('minutely').status;
    assert.equal(status?.snapshots, 3);
    assert.equal(status?.lastScheduleTime, '2024-05-01T12:10:00Z');
    assert.equal(status?.lastSuccessfulTime, '2024-05-01T12:10:00Z');
    assert.equal(status?.nextScheduleTime, '2024-05-01T12:11:00Z');
    assert.equal(status?.failures, 0);
    assert.equal(condition('minutely', 'Ready')?.status, 'True');
    assert.equal(condition('minutely', 'Progressing')?.status, 'False');
    assert.equal(eventsOf('SnapshotPruned').length, 7);
    const request = snapshots.requestOf(NS, 'web-minutely-202405011210');
    assert.deepEqual(request?.labels, { [SCHEDULE_LABEL]: 'minutely' });
    assert.deepEqual(request?.annotations, { [SCHEDULED_TIME_ANNOTATION]: '2024-05-01T12:10:00Z' });
  });

  test("retention counts per VM and only the schedule's own snapshots; template labels are passed on", async () => {
    createVm('web', { tier: 'front' });
    createVm('api', { tier: 'front' });
    createVm('db', { tier: 'back' });
    await createSchedule('front', {
      schedule: '*/5 * * * *',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] },
      retention: { count: 2 },
      snapshotTemplate: { labels: { team: 'a' }, annotations: { note: 'x' }, failureDeadline: '3m' },
    });
    await snapshots.create(NS, {
      name: 'manual',
      vm: 'web',
      labels: { other: 'x' },
      annotations: {},
    });
    for (let i = 0; i < 4; i++) {
      await advance(5 * MINUTE);
      snapshots.completeAll();
      await settle();
    }
    assert.deepEqual(names('front'), [
      'api-front-202405011215',
      'api-front-202405011220',
      'web-front-202405011215',
      'web-front-202405011220',
    ]);
    assert.ok(snapshots.requestOf(NS, 'manual'), 'a snapshot the schedule did not make is never pruned');
    const request = snapshots.requestOf(NS, 'web-front-202405011220');
    assert.deepEqual(request?.labels, { team: 'a', [SCHEDULE_LABEL]: 'front' });
    assert.equal(request?.annotations['note'], 'x');
    assert.equal(request?.failureDeadline, '3m');
    assert.equal(schedule('front').status?.snapshots, 4);
  });

  test('a snapshot still in progress is never pruned, even beyond the count', async () => {
    createVm('web');
    await createSchedule('slow', { schedule: '* * * * *', selector: {}, retention: { count: 1 } });
    await advance(3 * MINUTE);
    assert.equal(names('slow').length, 3, 'none is final yet: all stay');
    assert.equal(condition('slow', 'Progressing')?.status, 'True');
    snapshots.setStatus(NS, 'web-slow-202405011201', { phase: 'InProgress' });
    snapshots.setStatus(NS, 'web-slow-202405011202', { phase: 'Succeeded', readyToUse: true });
    snapshots.setStatus(NS, 'web-slow-202405011203', { phase: 'Succeeded', readyToUse: true });
    await settle();
    assert.deepEqual(names('slow'), ['web-slow-202405011201', 'web-slow-202405011203']);
  });

  test('age retention: @daily with maxAge 3d keeps the snapshots of the last three days', async () => {
    createVm('web');
    await createSchedule('daily', { schedule: '@daily', selector: {}, retention: { maxAge: '3d' } });
    assert.equal(schedule('daily').status?.nextScheduleTime, '2024-05-02T00:00:00Z');
    await advance(DAY / 2 - 30_000); // 2024-05-02T00:00:00Z
    for (let day = 0; day < 10; day++) {
      snapshots.completeAll();
      await settle();
      if (day < 9) await advance(DAY);
    }
    // 2024-05-11T00:00: 05-08 is exactly 3 days old (kept), 05-07 is older (gone).
    assert.deepEqual(names('daily'), [
      'web-daily-202405080000',
      'web-daily-202405090000',
      'web-daily-202405100000',
      'web-daily-202405110000',
    ]);
    await advance(1); // 05-08 turns older than 3d: its expiry timer prunes it.
    assert.deepEqual(names('daily'), [
      'web-daily-202405090000',
      'web-daily-202405100000',
      'web-daily-202405110000',
    ]);
    assert.match(
      eventsOf('SnapshotPruned')
        .map((e) => e.message)
        .join('\n'),
      /older than 3d \(retention.maxAge\)/,
    );
  });

  test('suspend stops runs; resume schedules from now without a catch-up', async () => {
    createVm('web');
    await createSchedule('s', { schedule: '* * * * *', selector: {} });
    await advance(2 * MINUTE);
    assert.equal(names('s').length, 2);
    await updateSpec('s', (spec) => {
      spec.suspend = true;
    });
    assert.equal(schedule('s').status?.nextScheduleTime, undefined);
    assert.equal(condition('s', 'Ready')?.reason, 'Suspended');
    await advance(10 * MINUTE);
    assert.equal(names('s').length, 2, 'no runs while suspended');
    await updateSpec('s', (spec) => {
      spec.suspend = false;
    });
    assert.equal(names('s').length, 2, 'no catch-up for runs skipped while suspended');
    assert.equal(schedule('s').status?.nextScheduleTime, '2024-05-01T12:13:00Z');
    assert.equal(eventsOf('MissedSchedule').length, 0);
    await advance(MINUTE);
    assert.equal(names('s').length, 3);
  });

  test('after downtime: one catch-up run for the latest missed time, recorded in an Event', async () => {
    createVm('web');
    await createSchedule('c', { schedule: '* * * * *', selector: {} });
    await advance(MINUTE);
    assert.deepEqual(names('c'), ['web-c-202405011201']);
    manager.stop();
    assert.equal(time.armed, 0, 'a stopped controller leaves no timer');
    time.advance(10 * MINUTE); // 12:11:30, nobody watching: the runs of 12:02 to 12:11 are missed
    controller = await newController();
    await settle();
    assert.deepEqual(names('c'), ['web-c-202405011201', 'web-c-202405011211'], 'one catch-up, not a burst');
    const [missed, ...more] = eventsOf('MissedSchedule');
    assert.deepEqual(more, []);
    assert.equal(missed?.type, 'Warning');
    assert.equal(
      missed?.message,
      'missed 9 scheduled runs from 2024-05-01T12:02:00Z; taking one catch-up run for 2024-05-01T12:11:00Z',
    );
    assert.equal(schedule('c').status?.lastScheduleTime, '2024-05-01T12:11:00Z');
    assert.equal(schedule('c').status?.nextScheduleTime, '2024-05-01T12:12:00Z');
    await advance(MINUTE);
    assert.equal(names('c').length, 3, 'back to the normal pace');
  });

  test('a restart before the due time takes no extra run, and a retried run does not take two', async () => {
    createVm('web');
    await createSchedule('r', { schedule: '*/10 * * * *', selector: {} });
    manager.stop();
    controller = await newController();
    await settle();
    assert.deepEqual(names('r'), []);
    // A crash after the snapshots were made but before status said so: the run is retried.
    await snapshots.create(NS, {
      name: snapshotName('web', 'r', new Date('2024-05-01T12:10:00Z')),
      vm: 'web',
      labels: { [SCHEDULE_LABEL]: 'r' },
      annotations: { [SCHEDULED_TIME_ANNOTATION]: '2024-05-01T12:10:00Z' },
    });
    await advance(10 * MINUTE);
    assert.deepEqual(names('r'), ['web-r-202405011210']);
  });

  test('failures: a refused create and a failed snapshot count; a good run resets them', async () => {
    createVm('web');
    await createSchedule('f', { schedule: '* * * * *', selector: {} });
    snapshots.refuse = () => 'admission denied: VM is being deleted';
    await advance(MINUTE);
    let status = schedule('f').status;
    assert.equal(status?.failures, 1);
    assert.match(
      status?.lastError ?? '',
      /failed creating snapshot web-f-202405011201 of VM web: admission denied/,
    );
    assert.equal(condition('f', 'Failure')?.reason, 'SnapshotCreateFailed');
    assert.equal(eventsOf('SnapshotCreateFailed').length, 1);
    snapshots.refuse = undefined;
    await advance(MINUTE);
    snapshots.setStatus(NS, 'web-f-202405011202', { phase: 'Failed', error: 'guest agent froze too long' });
    await settle();
    status = schedule('f').status;
    assert.equal(status?.failures, 2);
    assert.equal(
      status?.lastError,
      'snapshot web-f-202405011202 of VM web failed: guest agent froze too long',
    );
    assert.equal(condition('f', 'Failure')?.reason, 'SnapshotFailed');
    assert.equal(status?.lastSuccessfulTime, undefined);
    await advance(MINUTE);
    snapshots.completeAll();
    await settle();
    status = schedule('f').status;
    assert.equal(status?.failures, 0);
    assert.equal(status?.lastSuccessfulTime, '2024-05-01T12:03:00Z');
    assert.equal(condition('f', 'Failure')?.status, 'False');
  });

  test('no VM matches: the run is recorded with an Event and nothing is created', async () => {
    createVm('web', { app: 'web' });
    await createSchedule('n', { schedule: '* * * * *', selector: { matchLabels: { app: 'db' } } });
    await advance(MINUTE);
    assert.deepEqual(names('n'), []);
    assert.equal(schedule('n').status?.lastScheduleTime, '2024-05-01T12:01:00Z');
    assert.match(eventsOf('NoVirtualMachines')[0]?.message ?? '', /matches the selector app=db/);
  });

  test('without the snapshot kind the schedule says so, and due runs are skipped as failures', async () => {
    snapshots.available = false;
    manager.stop();
    controller = await newController();
    createVm('web');
    await createSchedule('u', { schedule: '* * * * *', selector: {} });
    const ready = condition('u', 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'SnapshotsUnavailable');
    assert.match(ready?.message ?? '', /not served/);
    assert.equal(schedule('u').status?.nextScheduleTime, '2024-05-01T12:01:00Z');
    await advance(3 * MINUTE);
    const status = schedule('u').status;
    assert.equal(status?.lastScheduleTime, undefined);
    assert.equal(status?.nextScheduleTime, '2024-05-01T12:04:00Z');
    assert.equal(status?.failures, 3);
    assert.match(status?.lastError ?? '', /^skipped the run of 2024-05-01T12:03:00Z: .*not served/);
    assert.equal(eventsOf('SnapshotsUnavailable').length, 3);
  });

  test('snapshot names stay valid object names for long VM names', () => {
    const vm = 'v'.repeat(250);
    const name = snapshotName(vm, 'nightly', new Date('2024-05-01T12:00:00Z'));
    assert.ok(name.length <= 253, `${name.length}`);
    assert.match(name, /-[0-9a-f]{8}-202405011200$/);
    assert.equal(
      snapshotName('web', 'nightly', new Date('2024-12-31T23:59:00Z')),
      'web-nightly-202412312359',
    );
  });
});
