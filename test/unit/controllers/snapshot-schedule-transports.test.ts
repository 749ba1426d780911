/**
 * The snapshot schedule controller on the controller runtime over both transports (in process,
 * and HTTP to a real API server), with a fake clock and the in-memory ScheduleSnapshots: a
 * schedule shows its next run, and when that time comes one snapshot per selected VM is taken
 * and the run is recorded in status. Over HTTP every read polls: the cache is a moment behind.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { snapshotScheduleKind, type SnapshotSchedule } from '../../../src/api/hikube/snapshotschedule.js';
import { virtualMachineKind } from '../../../src/api/kubevirt/vm.js';
import { kinds } from '../../../src/api/registry.js';
import { Registry, resourceKey } from '../../../src/apiserver/registry.js';
import { ScheduleController } from '../../../src/controllers/schedule/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { FakeScheduleSnapshots } from '../../support/schedule-snapshots.js';
import { eventually } from '../../support/wait.js';

const NS = 'sched-rt';
const MINUTE = 60_000;

for (const kind of transports) {
  describe(`the snapshot schedule controller (${kind.name})`, () => {
    let store: SqliteStore;
    let registry: Registry;
    let open: TransportUnderTest;
    let manager: Manager;
    let time: FakeTime;
    let snapshots: FakeScheduleSnapshots;
    const failures: string[] = [];

    beforeEach(async () => {
      time = new FakeTime(new Date('2024-05-01T12:00:30.000Z'));
      store = new SqliteStore({ path: ':memory:' });
      registry = new Registry(store, { now: () => time.now });
      registry.create(namespaceKind, '', { metadata: { name: NS } });
      open = await kind.open(registry, kinds);
      snapshots = new FakeScheduleSnapshots(() => time.now);
      failures.length = 0;
      manager = new Manager(open.transport);
      void manager.add(
        new ScheduleController({
          manager,
          events: recorderFor(manager, 'snapshot-schedule-controller', 'node-1', () => time.now),
          snapshots,
          now: () => time.now,
          timers: time,
          log: (m) => failures.push(m),
        }),
      );
      await manager.start();
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
      store.close();
    });

    const schedule = (): SnapshotSchedule | undefined =>
      registry.store.get(resourceKey(snapshotScheduleKind), NS, 'every')?.object as
        SnapshotSchedule | undefined;

    test('a due run takes a snapshot of each selected VM and says so in status', async () => {
      for (const name of ['web', 'db'])
        registry.create(virtualMachineKind, NS, {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachine',
          metadata: { name, namespace: NS, labels: { app: name } },
          spec: {
            runStrategy: 'Halted',
            template: { spec: { domain: { devices: {}, resources: { requests: { memory: '64Mi' } } } } },
          },
        });
      registry.create(snapshotScheduleKind, NS, {
        apiVersion: 'hikube.io/v1alpha1',
        kind: 'SnapshotSchedule',
        metadata: { name: 'every', namespace: NS },
        spec: { schedule: '* * * * *', selector: { matchLabels: { app: 'web' } } },
      });
      await eventually(
        () => schedule()?.status?.nextScheduleTime === '2024-05-01T12:01:00Z',
        'the next run in status',
      );
      await eventually(() => time.armed > 0, 'the wake-up for the next run');
      time.advance(MINUTE);
      await eventually(
        () => schedule()?.status?.lastScheduleTime === '2024-05-01T12:01:00Z',
        'the run recorded in status',
      );
      assert.deepEqual(
        snapshots.snapshotsOf(NS, 'every').map((s) => s.name),
        ['web-every-202405011201'],
      );
      assert.equal(schedule()?.status?.nextScheduleTime, '2024-05-01T12:02:00Z');
      assert.deepEqual(failures, []);
    });
  });
}
