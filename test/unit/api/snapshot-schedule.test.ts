/**
 * SnapshotSchedule's pieces as tables: cron parsing and next-time computation (UTC), durations,
 * retention, and the Status causes bad specs get through the Registry (as kubectl would see them).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CronError, firingsBetween, lastFiringBetween, parseCron } from '../../../src/api/hikube/cron.js';
import { formatDuration, parseDuration } from '../../../src/api/duration.js';
import { snapshotScheduleKind } from '../../../src/api/hikube/snapshotschedule.js';
import type { FieldError } from '../../../src/api/kind.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { toPrune } from '../../../src/controllers/schedule/retention.js';
import type { ScheduledSnapshot } from '../../../src/controllers/schedule/snapshots.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const next = (expr: string, after: string): string | undefined =>
  parseCron(expr).next(new Date(after))?.toISOString().replace('.000Z', 'Z');

describe('cron: the next firing time (UTC)', () => {
  const cases: [expr: string, after: string, expected: string][] = [
    ['* * * * *', '2024-05-01T12:00:30Z', '2024-05-01T12:01:00Z'],
    ['* * * * *', '2024-05-01T12:01:00Z', '2024-05-01T12:02:00Z'], // strictly after
    ['*/5 * * * *', '2024-05-01T12:03:00Z', '2024-05-01T12:05:00Z'],
    ['*/5 * * * *', '2024-05-01T12:55:00Z', '2024-05-01T13:00:00Z'],
    ['5/15 * * * *', '2024-05-01T12:36:00Z', '2024-05-01T12:50:00Z'],
    ['15,45 9-17/4 * * *', '2024-05-01T13:46:00Z', '2024-05-01T17:15:00Z'],
    ['15,45 9-17/4 * * *', '2024-05-01T17:45:00Z', '2024-05-02T09:15:00Z'],
    ['0 0 31 * *', '2024-01-31T00:00:00Z', '2024-03-31T00:00:00Z'], // February and April have no 31st
    ['0 0 31 * *', '2024-05-31T00:00:00Z', '2024-07-31T00:00:00Z'],
    ['0 0 29 2 *', '2025-03-01T00:00:00Z', '2028-02-29T00:00:00Z'], // leap years only
    ['0 0 29 2 *', '2099-03-01T00:00:00Z', '2104-02-29T00:00:00Z'], // 2100 is not a leap year
    ['59 23 31 12 *', '2024-12-31T23:59:00Z', '2025-12-31T23:59:00Z'], // across the year
    ['0 0 1 JAN-MAR *', '2024-03-02T00:00:00Z', '2025-01-01T00:00:00Z'],
    ['0 12 * * MON-FRI', '2024-05-03T13:00:00Z', '2024-05-06T12:00:00Z'], // Friday afternoon → Monday
    ['0 0 * * 7', '2024-05-01T00:00:00Z', '2024-05-05T00:00:00Z'], // 7 is Sunday
    ['0 0 * * sun', '2024-05-01T00:00:00Z', '2024-05-05T00:00:00Z'],
    ['0 0 13 * 5', '2024-05-01T00:00:00Z', '2024-05-03T00:00:00Z'], // the 13th OR a Friday
    ['0 0 13 * 5', '2024-05-10T00:00:00Z', '2024-05-13T00:00:00Z'],
    ['0 0 */10 * *', '2024-02-21T00:00:00Z', '2024-03-01T00:00:00Z'], // days 1, 11, 21, 31
    ['@hourly', '2024-05-01T12:00:30Z', '2024-05-01T13:00:00Z'],
    ['@daily', '2024-05-01T12:00:00Z', '2024-05-02T00:00:00Z'],
    ['@midnight', '2024-02-28T23:59:59Z', '2024-02-29T00:00:00Z'],
    ['@weekly', '2024-05-01T12:00:00Z', '2024-05-05T00:00:00Z'],
    ['@monthly', '2024-01-31T12:00:00Z', '2024-02-01T00:00:00Z'],
    ['@yearly', '2024-05-01T12:00:00Z', '2025-01-01T00:00:00Z'],
    ['  0   6 * * *  ', '2024-05-01T12:00:00Z', '2024-05-02T06:00:00Z'],
  ];
  for (const [expr, after, expected] of cases)
    test(`${JSON.stringify(expr)} after ${after} → ${expected}`, () =>
      assert.equal(next(expr, after), expected));

  test('firings in a window, and the last of them found without walking every one', () => {
    const cron = parseCron('* * * * *');
    const from = new Date('2024-05-01T12:00:00Z');
    assert.equal(firingsBetween(cron, from, new Date('2024-05-01T12:10:30Z')).length, 10);
    assert.equal(firingsBetween(cron, from, new Date('2025-05-01T12:10:30Z')).length, 1000, 'counting stops');
    assert.deepEqual(
      lastFiringBetween(cron, from, new Date('2025-05-01T12:10:30Z')),
      new Date('2025-05-01T12:10:00Z'),
    );
    const monthly = parseCron('@monthly');
    assert.deepEqual(
      lastFiringBetween(monthly, from, new Date('2026-07-15T00:00:00Z')),
      new Date('2026-07-01T00:00:00Z'),
    );
    assert.equal(lastFiringBetween(monthly, from, new Date('2024-05-20T00:00:00Z')), undefined);
  });
});

describe('cron: expressions refused, with the reason', () => {
  const cases: [expr: string, message: RegExp][] = [
    ['', /empty expression/],
    ['* * * *', /expected 5 fields .* found 4/],
    ['* * * * * *', /found 6/],
    ['61 * * * *', /minute "61": 61 is out of range 0-59/],
    ['* 24 * * *', /hour "24": 24 is out of range 0-23/],
    ['* * 0 * *', /day of month "0": 0 is out of range 1-31/],
    ['* * * 13 *', /month "13"/],
    ['* * * * 8', /day of week "8"/],
    ['*/0 * * * *', /step must be at least 1/],
    ['*/x * * * *', /step "x" is not a positive number/],
    ['5-1 * * * *', /range 5-1 runs backwards/],
    ['1,,2 * * * *', /empty list item/],
    ['a * * * *', /"a" is not a number/],
    ['* * * FOO *', /"FOO" is not a number or a name/],
    ['1-2-3 * * * *', /not a value or a range/],
    ['0 0 30 2 *', /never occur together/],
    ['0 0 31 4,6 *', /never occur together/],
    ['@every 5m', /unknown macro/],
    ['@fortnightly', /unknown macro/],
  ];
  for (const [expr, message] of cases)
    test(JSON.stringify(expr), () =>
      assert.throws(
        () => parseCron(expr),
        (err: unknown) => err instanceof CronError && message.test(err.message),
      ),
    );
});

describe('durations', () => {
  test('retention ages take days and weeks; failureDeadline is a Go duration', () => {
    assert.equal(parseDuration('7d', { days: true }), 7 * 86_400_000);
    assert.equal(parseDuration('2w', { days: true }), 14 * 86_400_000);
    assert.equal(parseDuration('1d12h', { days: true }), 36 * 3_600_000);
    assert.equal(parseDuration('24h', { days: true }), 86_400_000);
    assert.equal(parseDuration('1h30m'), 90 * 60_000);
    assert.equal(parseDuration('1.5h'), 90 * 60_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5m0s'), 300_000);
    assert.equal(parseDuration('0'), 0);
    for (const bad of ['', '7', 'd', '-1h', '1x', '1h ', ' 1h', 'abc', '1d'])
      assert.equal(parseDuration(bad), undefined, JSON.stringify(bad));
    assert.equal(parseDuration('7x', { days: true }), undefined);
    assert.equal(formatDuration(3 * 86_400_000), '3d');
    assert.equal(formatDuration(90 * 60_000), '90m');
  });
});

describe('retention', () => {
  const at = (minute: number): Date => new Date(Date.UTC(2024, 4, 1, 12, minute));
  const snap = (name: string, vm: string, minute: number, phase?: 'InProgress' | 'Succeeded' | 'Failed') =>
    ({
      name,
      vm,
      scheduledTime: at(minute),
      phase,
      readyToUse: phase === 'Succeeded',
      error: undefined,
      deleting: false,
    }) satisfies ScheduledSnapshot;

  test('count is per VM, newest first; only final snapshots go', () => {
    const list = [
      snap('w1', 'web', 1, 'Succeeded'),
      snap('w2', 'web', 2, 'Failed'),
      snap('w3', 'web', 3, 'Succeeded'),
      snap('w4', 'web', 4, 'InProgress'),
      snap('d1', 'db', 1, undefined),
      snap('d2', 'db', 2, 'Succeeded'),
    ];
    assert.deepEqual(
      toPrune(list, { count: 2 }, at(5)).map((p) => p.snapshot.name),
      ['w2', 'w1'],
      'w4 in progress still counts as one of the two kept; d1 has no status yet and stays',
    );
    assert.deepEqual(
      toPrune(list, { count: 1 }, at(5)).map((p) => p.snapshot.name),
      ['w3', 'w2', 'w1'],
    );
    assert.deepEqual(
      toPrune(list, { maxAgeMs: 3 * 60_000 }, at(5)).map((p) => p.snapshot.name),
      ['w1'],
      'w2 is exactly 3 minutes old and stays; d1 is older but has no status',
    );
    assert.deepEqual(toPrune(list, {}, at(500)), []);
  });
});

describe('Status causes for bad SnapshotSchedules', () => {
  const causesOf = (spec: Record<string, unknown>, name = 'nightly'): FieldError[] => {
    const store = new SqliteStore({ path: ':memory:' });
    try {
      const registry = new Registry(store);
      const nsDef = findKindByGvk('v1', 'Namespace');
      if (nsDef === undefined) throw new Error('Namespace kind missing');
      registry.create(nsDef, '', { metadata: { name: 'default' } });
      const body = { apiVersion: 'hikube.io/v1alpha1', kind: 'SnapshotSchedule', metadata: { name }, spec };
      try {
        registry.create(snapshotScheduleKind, 'default', body);
      } catch (err) {
        assert.ok(err instanceof ApiError, String(err));
        assert.equal(err.reason, 'Invalid');
        assert.equal(err.code, 422);
        assert.deepEqual(
          registry.store.list('hikube.io/snapshotschedules', 'default').items,
          [],
          'nothing half-created',
        );
        return err.details.causes ?? [];
      }
      return [];
    } finally {
      store.close();
    }
  };
  const fields = (causes: FieldError[]): string[] => causes.map((c) => c.path).sort();

  test('a good one is accepted', () => {
    assert.deepEqual(
      causesOf({
        schedule: '*/5 * * * *',
        selector: { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
        retention: { count: 3, maxAge: '7d' },
        snapshotTemplate: { failureDeadline: '5m' },
      }),
      [],
    );
  });

  test('bad cron: one cause on spec.schedule with the reason', () => {
    const causes = causesOf({ schedule: '*/5 * * *', selector: {} });
    assert.deepEqual(fields(causes), ['spec.schedule']);
    assert.equal(causes[0]?.reason, 'FieldValueInvalid');
    assert.match(causes[0]?.message ?? '', /Invalid value: "\*\/5 \* \* \*": expected 5 fields/);
  });

  test('negative or zero count, bad durations, a bad selector: one cause each, all at once', () => {
    const causes = causesOf({
      schedule: '0 99 * * *',
      selector: { matchLabels: { 'bad key!': 'x' } },
      retention: { count: -1, maxAge: 'a week' },
      snapshotTemplate: { failureDeadline: '1d' },
    });
    assert.deepEqual(fields(causes), [
      'spec.retention.count',
      'spec.retention.maxAge',
      'spec.schedule',
      'spec.selector',
      'spec.snapshotTemplate.failureDeadline',
    ]);
    const byPath = new Map(causes.map((c) => [c.path, c.message]));
    assert.match(byPath.get('spec.retention.count') ?? '', /must be greater than or equal to 1/);
    assert.match(byPath.get('spec.retention.maxAge') ?? '', /not a duration such as 7d/);
    assert.match(byPath.get('spec.schedule') ?? '', /hour "99"/);
    assert.match(byPath.get('spec.selector') ?? '', /key "bad key!" is invalid/);
    assert.deepEqual(fields(causesOf({ schedule: '@daily', selector: {}, retention: { count: 0 } })), [
      'spec.retention.count',
    ]);
    assert.deepEqual(fields(causesOf({ schedule: '@daily', selector: {}, retention: { maxAge: '30s' } })), [
      'spec.retention.maxAge',
    ]);
  });

  test('a bad selector operator is one cause, on the operator', () => {
    assert.deepEqual(
      fields(
        causesOf({ schedule: '@daily', selector: { matchExpressions: [{ key: 'a', operator: 'Has' }] } }),
      ),
      ['spec.selector.matchExpressions[0].operator'],
    );
  });

  test('missing fields and a name too long to be a label value', () => {
    assert.deepEqual(fields(causesOf({})), ['spec.schedule', 'spec.selector']);
    assert.deepEqual(fields(causesOf({ schedule: '@daily', selector: {} }, 'n'.repeat(64))), [
      'metadata.name',
    ]);
  });
});
