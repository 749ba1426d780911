/**
 * SnapshotSchedules end to end: the real hikube CLI and the real kubectl against a real platform.
 * A schedule shows its next run (UTC, on the cron's grid) in status and in `kubectl get`; bad
 * input comes back as a 422 Status naming the field; suspend and resume go through the API.
 * Where the platform serves VirtualMachineSnapshots the schedule is Ready; where it does not, it
 * says SnapshotsUnavailable (both are asserted, whichever this build is).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findKindByGvk } from '../../src/api/registry.js';
import { raw } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const SNAPSHOTS_SERVED =
  findKindByGvk('snapshot.kubevirt.io/v1beta1', 'VirtualMachineSnapshot') !== undefined;

interface Schedule {
  spec: { schedule: string; suspend?: boolean; retention?: { count?: number; maxAge?: string } };
  status?: {
    nextScheduleTime?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

async function getSchedule(name: string): Promise<Schedule | undefined> {
  const r = await p.kubectl(['get', 'snapshotschedule', name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Schedule) : undefined;
}

const ready = (s: Schedule | undefined) => s?.status?.conditions?.find((c) => c.type === 'Ready');

describe('snapshot schedules', () => {
  test('created with the CLI, the schedule shows its next run in status and in kubectl get', async () => {
    const created = await p.hikube([
      'snapshot',
      'schedule',
      'create',
      'nightly',
      '--schedule',
      '*/5 * * * *',
      '--selector',
      'app=web,tier in (front)',
      '--keep',
      '3',
      '--max-age',
      '7d',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'snapshotschedule.hikube.io/nightly created\n');
    const s = await eventually(async () => {
      const got = await getSchedule('nightly');
      return got?.status?.nextScheduleTime !== undefined ? got : undefined;
    }, 'status.nextScheduleTime');
    const next = new Date(s.status?.nextScheduleTime ?? '');
    assert.ok(next.getTime() > Date.now() - 1000, `${s.status?.nextScheduleTime} is ahead`);
    assert.ok(next.getTime() <= Date.now() + 5 * 60_000, `${s.status?.nextScheduleTime} within 5 minutes`);
    assert.equal(next.getUTCMinutes() % 5, 0);
    assert.equal(next.getUTCSeconds(), 0);
    assert.deepEqual(s.spec.retention, { count: 3, maxAge: '7d' });
    const condition = ready(s);
    if (SNAPSHOTS_SERVED) assert.equal(condition?.status, 'True', JSON.stringify(condition));
    else {
      assert.equal(condition?.status, 'False');
      assert.equal(condition?.reason, 'SnapshotsUnavailable');
    }

    const table = await p.kubectl(['get', 'snapshotschedules']);
    assert.equal(table.code, 0, table.stderr);
    const [header = '', row = ''] = table.stdout.split('\n');
    assert.match(header, /^NAME\s+SCHEDULE\s+SUSPEND\s+SNAPSHOTS\s+LAST SCHEDULE\s+NEXT SCHEDULE\s+AGE$/);
    assert.match(
      row,
      /^nightly\s+\*\/5 \* \* \* \*\s+false\s+0\s+<unknown>\s+\d{4}-\d\d-\d\dT\d\d:\d\d:00Z\s+\d+s$/,
    );
    const short = await p.kubectl(['get', 'snapsched', 'nightly', '-o', 'name']);
    assert.equal(short.stdout.trim(), 'snapshotschedule.hikube.io/nightly');
    const listed = await p.hikube(['snapshot', 'schedule', 'list', '-o', 'wide']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /KEEP\s+MAX AGE\s+FAILURES/);
    assert.match(listed.stdout, /^nightly\s+\*\/5 \* \* \* \*/m);
    const explained = await p.kubectl(['explain', 'snapshotschedule.spec.schedule']);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /Cron expression in UTC/);
  });

  test('the selector is stored as a LabelSelector', async () => {
    const s = (await p.kubectl(['get', 'snapshotschedule', 'nightly', '-o', 'jsonpath={.spec.selector}']))
      .stdout;
    assert.deepEqual(JSON.parse(s), {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }],
    });
  });

  test('a bad cron is refused with a Status cause on spec.schedule (kubectl, HTTP and CLI)', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'hikube.io/v1alpha1',
      kind: 'SnapshotSchedule',
      metadata: { name: 'bad' },
      spec: { schedule: '*/5 * * *', selector: {} },
    });
    const applied = await p.kubectl(['apply', '-f', '-'], manifest);
    assert.notEqual(applied.code, 0);
    assert.match(
      applied.stderr,
      /SnapshotSchedule.* "bad" is invalid: spec.schedule: Invalid value: "\*\/5 \* \* \*": expected 5 fields/,
    );

    const r = await raw(p, 'POST', '/apis/hikube.io/v1alpha1/namespaces/default/snapshotschedules', manifest);
    assert.equal(r.code, 422, r.body);
    assert.equal(r.json['reason'], 'Invalid');
    const causes = (r.json['details'] as { causes: { field: string; reason: string }[] }).causes;
    assert.deepEqual(
      causes.map((c) => [c.field, c.reason]),
      [['spec.schedule', 'FieldValueInvalid']],
    );

    const cli = await p.hikube([
      'snapshot',
      'schedule',
      'create',
      'bad',
      '--schedule',
      '61 * * * *',
      '--selector',
      '',
      '--keep=-1',
      '--max-age',
      'a week',
    ]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /Error from server \(Invalid\)/);
    assert.match(
      cli.stderr,
      /^ {2}spec\.schedule: Invalid value: "61 \* \* \* \*": minute "61": 61 is out of range 0-59$/m,
    );
    assert.match(cli.stderr, /^ {2}spec\.retention\.count: .*must be greater than or equal to 1$/m);
    assert.match(cli.stderr, /^ {2}spec\.retention\.maxAge: .*not a duration/m);
    assert.equal(await getSchedule('bad'), undefined, 'nothing was created');
  });

  test('suspend and resume through the CLI', async () => {
    const suspended = await p.hikube(['snapshot', 'schedule', 'suspend', 'nightly']);
    assert.equal(suspended.code, 0, suspended.stderr);
    await eventually(
      async () => ready(await getSchedule('nightly'))?.reason === 'Suspended',
      'Ready=False Suspended',
    );
    assert.equal((await getSchedule('nightly'))?.status?.nextScheduleTime, undefined);
    assert.match(
      (await p.kubectl(['get', 'snapsched', 'nightly'])).stdout,
      /^nightly\s+\S+ \S+ \S+ \S+ \S+\s+true\s/m,
    );
    const resumed = await p.hikube(['snapshot', 'schedule', 'resume', 'nightly']);
    assert.equal(resumed.code, 0, resumed.stderr);
    await eventually(
      async () => (await getSchedule('nightly'))?.status?.nextScheduleTime !== undefined,
      'a next run again',
    );
  });

  test('delete through the CLI', async () => {
    const deleted = await p.hikube(['snapshot', 'schedule', 'delete', 'nightly']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'snapshotschedule.hikube.io "nightly" deleted (its snapshots are kept)\n');
    assert.equal(await getSchedule('nightly'), undefined);
    const empty = await p.hikube(['snapshot', 'schedule', 'list']);
    assert.match(empty.stderr, /No snapshot schedules found in default namespace/);
  });
});
