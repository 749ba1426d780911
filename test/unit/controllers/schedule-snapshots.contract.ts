/**
 * The behaviour every ScheduleSnapshots must have, run against the API adapter and the in-memory
 * fake (schedule-snapshots.test.ts), so the controller's unit tests on the fake say something
 * about the real thing.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { SCHEDULE_LABEL, SCHEDULED_TIME_ANNOTATION } from '../../../src/api/hikube/snapshotschedule.js';
import {
  SnapshotsUnavailable,
  type ScheduleSnapshots,
  type SnapshotRequest,
} from '../../../src/controllers/schedule/snapshots.js';
import type { SnapshotStatus } from '../../support/schedule-snapshots.js';

/** VMs the harness has in namespaces `default` and `other`; any other name does not exist (yet). */
export const CONTRACT_VMS = ['web', 'db'];

export interface ContractHarness {
  port: ScheduleSnapshots;
  /** The same implementation where the snapshot kind is not served. */
  unavailable: ScheduleSnapshots;
  /** Plays the snapshot controller. */
  setStatus(namespace: string, name: string, status: SnapshotStatus): void;
  close(): void | Promise<void>;
}

const request = (name: string, vm: string, schedule: string, at: string): SnapshotRequest => ({
  name,
  vm,
  labels: { [SCHEDULE_LABEL]: schedule, team: 'a' },
  annotations: { [SCHEDULED_TIME_ANNOTATION]: at },
});

export function scheduleSnapshotsContract(
  name: string,
  make: () => ContractHarness | Promise<ContractHarness>,
): void {
  describe(`ScheduleSnapshots contract: ${name}`, () => {
    let h: ContractHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close();
    });

    test('a created snapshot is listed with its VM and scheduled time, and no status yet', async () => {
      assert.deepEqual(await h.port.list('default', 'nightly'), []);
      assert.equal(
        await h.port.create(
          'default',
          request('web-nightly-202405011200', 'web', 'nightly', '2024-05-01T12:00:00Z'),
        ),
        'created',
      );
      const [s, ...rest] = await h.port.list('default', 'nightly');
      assert.deepEqual(rest, []);
      assert.deepEqual(s, {
        name: 'web-nightly-202405011200',
        vm: 'web',
        scheduledTime: new Date('2024-05-01T12:00:00Z'),
        phase: undefined,
        readyToUse: false,
        error: undefined,
        deleting: false,
      });
    });

    test('list only returns the snapshots of that schedule in that namespace', async () => {
      await h.port.create('default', request('a', 'web', 'nightly', '2024-05-01T12:00:00Z'));
      await h.port.create('default', request('b', 'web', 'hourly', '2024-05-01T12:00:00Z'));
      await h.port.create('other', request('c', 'web', 'nightly', '2024-05-01T12:00:00Z'));
      assert.deepEqual(
        (await h.port.list('default', 'nightly')).map((s) => s.name),
        ['a'],
      );
      assert.deepEqual(
        (await h.port.list('other', 'nightly')).map((s) => s.name),
        ['c'],
      );
    });

    test('creating a name that exists says so and changes nothing', async () => {
      await h.port.create('default', request('a', 'web', 'nightly', '2024-05-01T12:00:00Z'));
      assert.equal(
        await h.port.create('default', request('a', 'db', 'nightly', '2024-05-02T12:00:00Z')),
        'exists',
      );
      const [s] = await h.port.list('default', 'nightly');
      assert.equal(s?.vm, 'web');
    });

    test('status phase, readyToUse and error are read back', async () => {
      await h.port.create('default', request('a', 'web', 'nightly', '2024-05-01T12:00:00Z'));
      await h.port.create('default', request('b', 'db', 'nightly', '2024-05-01T12:00:00Z'));
      h.setStatus('default', 'a', { phase: 'Succeeded', readyToUse: true });
      h.setStatus('default', 'b', { phase: 'Failed', readyToUse: false, error: 'disk gone' });
      const byName = new Map((await h.port.list('default', 'nightly')).map((s) => [s.name, s]));
      assert.equal(byName.get('a')?.phase, 'Succeeded');
      assert.equal(byName.get('a')?.readyToUse, true);
      assert.equal(byName.get('b')?.phase, 'Failed');
      assert.equal(byName.get('b')?.error, 'disk gone');
    });

    test('delete removes it; deleting what is gone is no error', async () => {
      await h.port.create('default', request('a', 'web', 'nightly', '2024-05-01T12:00:00Z'));
      await h.port.delete('default', 'a');
      assert.deepEqual(await h.port.list('default', 'nightly'), []);
      await h.port.delete('default', 'a');
    });

    test('watch names the schedule of each created, changed or deleted snapshot', async () => {
      const seen: string[] = [];
      const stop = h.port.watch((ns, schedule) => seen.push(`${ns}/${schedule}`));
      await h.port.create('default', request('a', 'web', 'nightly', '2024-05-01T12:00:00Z'));
      h.setStatus('default', 'a', { phase: 'InProgress' });
      await h.port.delete('default', 'a');
      stop();
      await h.port.create('default', request('b', 'web', 'nightly', '2024-05-01T12:00:00Z'));
      assert.deepEqual(seen, ['default/nightly', 'default/nightly', 'default/nightly']);
    });

    test('a snapshot of a VM that does not exist yet is accepted, as KubeVirt accepts it (it waits)', async () => {
      await h.port.create('default', request('g', 'ghost', 'nightly', '2024-05-01T12:00:00Z'));
      assert.deepEqual(
        (await h.port.list('default', 'nightly')).map((s) => [s.name, s.vm, s.phase]),
        [['g', 'ghost', undefined]],
      );
    });

    test('without the snapshot kind every call says SnapshotsUnavailable and watch is a no-op', async () => {
      const u = h.unavailable;
      await assert.rejects(u.list('default', 'nightly'), SnapshotsUnavailable);
      await assert.rejects(
        u.create('default', request('a', 'web', 'nightly', '2024-05-01T12:00:00Z')),
        SnapshotsUnavailable,
      );
      await assert.rejects(u.delete('default', 'a'), SnapshotsUnavailable);
      u.watch(() => assert.fail('no events without the kind'))();
    });
  });
}
