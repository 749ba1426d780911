/**
 * The console's Backups tab logic, as table tests: which application a VM is (its VMInstance
 * owner, else itself), the application's backups newest first with their state and the bytes
 * sent, beside the runs that made none (under way, or failed with the reason), why a restore or a
 * delete may not run, the BackupClass picker's choice (default preselected, unfit classes and
 * the reasons nothing can be picked), the new application's name checked before a restore, the
 * restores with their progress, and the BackupJob, RestoreJob and Plan objects the console writes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  Backup,
  BackupClass,
  BackupJob,
  RestoreJob,
  VirtualMachine,
} from '../../../web/src/api/types.js';
import { buildPlan, planRetention } from '../../../web/src/catalog/plans.js';
import {
  applicationOf,
  backupRows,
  buildBackupJob,
  buildRestoreJob,
  classChoice,
  pickedClass,
  restoreRows,
  restoreTargetCauses,
  sentText,
  whyNoDelete,
  whyNoRestore,
} from '../../../web/src/vms/backups.js';

const vm = (name: string, owner?: string): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: {
    name,
    namespace: 'ns',
    ...(owner !== undefined
      ? {
          ownerReferences: [
            { apiVersion: 'apps.cozystack.io/v1alpha1', kind: 'VMInstance', name: owner, uid: 'u' },
          ],
        }
      : {}),
  },
  spec: { template: {} },
});

const backup = (
  name: string,
  app: string,
  takenAt: string,
  phase?: 'Ready' | 'Failed',
  kind = 'VMInstance',
): Backup => ({
  apiVersion: 'backups.cozystack.io/v1alpha1',
  kind: 'Backup',
  metadata: { name, namespace: 'ns' },
  spec: {
    applicationRef: { ...(kind === 'VirtualMachine' ? { apiGroup: 'kubevirt.io' } : {}), kind, name: app },
    strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name: 'default' },
    takenAt,
  },
  ...(phase !== undefined
    ? { status: { phase, artifact: { uri: `file:///${name}`, sizeBytes: 3 * 1024 * 1024 } } }
    : {}),
});

const job = (
  name: string,
  app: string,
  kind: string,
  phase?: 'Running' | 'Failed' | 'Succeeded',
  startedAt?: string,
  message?: string,
): BackupJob => ({
  apiVersion: 'backups.cozystack.io/v1alpha1',
  kind: 'BackupJob',
  metadata: { name, namespace: 'ns' },
  spec: {
    applicationRef: {
      apiGroup: kind === 'VMInstance' ? 'apps.cozystack.io' : 'kubevirt.io',
      kind,
      name: app,
    },
    backupClassName: 'default',
  },
  ...(phase !== undefined
    ? {
        status: {
          phase,
          ...(startedAt !== undefined ? { startedAt } : {}),
          ...(message !== undefined ? { message } : {}),
        },
      }
    : {}),
});

describe('console backups', () => {
  test('a VM made by a VMInstance is that VMInstance; another VM is itself', () => {
    assert.deepEqual(applicationOf(vm('vm-instance-web', 'web')), {
      apiGroup: 'apps.cozystack.io',
      kind: 'VMInstance',
      name: 'web',
    });
    assert.deepEqual(applicationOf(vm('db')), {
      apiGroup: 'kubevirt.io',
      kind: 'VirtualMachine',
      name: 'db',
    });
  });

  test("the application's backups and the runs that made none, newest first, with state, bytes and reason", () => {
    const app = applicationOf(vm('vm-instance-web', 'web'));
    const rows = backupRows(
      [
        backup('old', 'web', '2026-01-01T00:00:00Z', 'Ready'),
        backup('new', 'web', '2026-01-02T00:00:00Z'),
        backup('other', 'db', '2026-01-03T00:00:00Z', 'Ready'),
        backup('same-name-vm', 'web', '2026-01-03T00:00:00Z', 'Ready', 'VirtualMachine'),
      ],
      [
        job(
          'web-run',
          'web',
          'VMInstance',
          'Running',
          '2026-01-04T00:00:00Z',
          'sending the changed block(s)',
        ),
        job('web-bad', 'web', 'VMInstance', 'Failed', '2026-01-03T00:00:00Z', 'backup failed: no space'),
        job('old', 'web', 'VMInstance', 'Succeeded', '2026-01-01T00:00:00Z'),
        job('db-bad', 'db', 'VirtualMachine', 'Failed', '2026-01-05T00:00:00Z', 'backup failed: x'),
      ],
      app,
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.phase, sentText(r.sizeBytes), r.detail, whyNoRestore(r), whyNoDelete(r)]),
      [
        [
          'web-run',
          'Running',
          '',
          'sending the changed block(s)',
          'The backup is still being taken',
          'The run is under way',
        ],
        [
          'web-bad',
          'Failed',
          '',
          'backup failed: no space',
          'The backup run failed: it made no backup',
          undefined,
        ],
        ['new', 'Pending', '', '', 'The backup is Pending', undefined],
        ['old', 'Ready', '3Mi', '', undefined, undefined],
      ],
    );
  });

  test('bytes sent: binary units, plain bytes marked B', () => {
    assert.deepEqual([sentText(2235), sentText(3 * 1024 * 1024), sentText(undefined)], ['2235 B', '3Mi', '']);
  });

  test('the class picker: default preselected when it fits; unfit classes disabled; why nothing can be picked', () => {
    const cls = (name: string, ...kinds: string[]): BackupClass => ({
      apiVersion: 'backups.cozystack.io/v1alpha1',
      kind: 'BackupClass',
      metadata: { name },
      spec: {
        strategies: kinds.map((k) => ({
          strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name },
          application: k === 'VirtualMachine' ? { apiGroup: 'kubevirt.io', kind: k } : { kind: k },
        })),
      },
    });
    const vmi = { apiGroup: 'apps.cozystack.io', kind: 'VMInstance' };
    const kv = { apiGroup: 'kubevirt.io', kind: 'VirtualMachine' };
    const forbidden = Object.assign(new Error('user "u" cannot list backupclasses'), { code: 403 });
    const cases: [
      string,
      Parameters<typeof classChoice>[0],
      typeof vmi,
      string | undefined,
      string | undefined,
    ][] = [
      [
        'default fits',
        { items: [cls('s3', 'VMInstance'), cls('default', 'VMInstance')], loaded: true, error: undefined },
        vmi,
        'default',
        undefined,
      ],
      [
        'default does not fit',
        {
          items: [
            cls('zeta', 'VirtualMachine'),
            cls('default', 'VMInstance'),
            cls('alpha', 'VirtualMachine'),
          ],
          loaded: true,
          error: undefined,
        },
        kv,
        'alpha',
        undefined,
      ],
      [
        'none fits',
        { items: [cls('default', 'VMInstance')], loaded: true, error: undefined },
        kv,
        undefined,
        'No BackupClass backs up a VirtualMachine',
      ],
      [
        'none exists',
        { items: [], loaded: true, error: undefined },
        vmi,
        undefined,
        'No BackupClass exists: an administrator must create one',
      ],
      ['loading', { items: [], loaded: false, error: undefined }, vmi, undefined, 'Loading backup classes…'],
      [
        'forbidden',
        { items: [], loaded: false, error: forbidden },
        vmi,
        undefined,
        'You may not list BackupClasses: user "u" cannot list backupclasses',
      ],
      [
        'broken',
        { items: [], loaded: false, error: new Error('timeout') },
        vmi,
        undefined,
        'Cannot list BackupClasses: timeout',
      ],
    ];
    for (const [what, list, app, preselected, why] of cases) {
      const c = classChoice(list, app);
      assert.equal(c.preselected, preselected, what);
      assert.equal(c.why, why, what);
    }
    const c = classChoice(
      {
        items: [cls('default', 'VMInstance'), cls('kv', 'VirtualMachine'), cls('s3', 'VMInstance')],
        loaded: true,
        error: undefined,
      },
      vmi,
    );
    assert.deepEqual(c.options, [
      { name: 'default', why: undefined },
      { name: 'kv', why: 'No strategy for VMInstance' },
      { name: 's3', why: undefined },
    ]);
    assert.deepEqual(
      [pickedClass(c, 's3'), pickedClass(c, 'kv'), pickedClass(c, undefined), pickedClass(c, 'gone')],
      ['s3', 'default', 'default', 'default'],
    );
  });

  test('the new application name is checked before a restore is sent', () => {
    const existing = new Set(['web']);
    const cases: [string, string, string | undefined][] = [
      ['web-copy', 'VMInstance', undefined],
      ['', 'VMInstance', 'Required value: the new name'],
      ['Web_Copy', 'VMInstance', 'lowercase RFC 1123 label'],
      ['web', 'VMInstance', 'a VMInstance of this name exists'],
      ['a'.repeat(52), 'VMInstance', 'no more than 51 characters'],
      ['a'.repeat(52), 'VirtualMachine', undefined],
      ['a'.repeat(64), 'VirtualMachine', 'no more than 63 characters'],
    ];
    for (const [name, kind, message] of cases) {
      const causes = restoreTargetCauses(name, kind, existing);
      if (message === undefined) assert.deepEqual(causes, [], name);
      else {
        assert.equal(causes.length, 1, name);
        assert.equal(causes[0]?.field, 'spec.targetApplicationRef.name');
        assert.match(causes[0]?.message ?? '', new RegExp(message.replace(/[()]/g, '.')), name);
      }
    }
  });

  test("restores of the application's backups, newest first, with phase, message and progress", () => {
    const restore = (
      name: string,
      backupName: string,
      status?: RestoreJob['status'],
      target?: string,
    ): RestoreJob => ({
      apiVersion: 'backups.cozystack.io/v1alpha1',
      kind: 'RestoreJob',
      metadata: { name, namespace: 'ns', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        backupRef: { name: backupName },
        ...(target !== undefined ? { targetApplicationRef: { kind: 'VMInstance', name: target } } : {}),
      },
      ...(status !== undefined ? { status } : {}),
    });
    const rows = restoreRows(
      [
        restore(
          'r1',
          'b1',
          { phase: 'Succeeded', startedAt: '2026-01-02T00:00:00Z', message: 'restored 1 disk(s)' },
          'copy',
        ),
        restore('r2', 'b1', {
          phase: 'Running',
          startedAt: '2026-01-03T00:00:00Z',
          message: 'restoring disk data (1 of 2): 42%',
        }),
        restore('r3', 'b1'),
        restore('elsewhere', 'other', { phase: 'Running', message: '10%' }),
      ],
      new Set(['b1']),
      { apiGroup: 'apps.cozystack.io', kind: 'VMInstance', name: 'web' },
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.target, r.state, r.percent]),
      [
        ['r2', 'web', 'Running: restoring disk data (1 of 2): 42%', 42],
        ['r1', 'copy', 'Succeeded: restored 1 disk(s)', undefined],
        ['r3', 'web', 'Pending', undefined],
      ],
    );
  });

  test('the objects written: a BackupJob; a RestoreJob in place (stop annotation) or into a new application', () => {
    assert.deepEqual(buildBackupJob(vm('vm-instance-web', 'web'), 'web-1', 'default').spec, {
      applicationRef: { apiGroup: 'apps.cozystack.io', kind: 'VMInstance', name: 'web' },
      backupClassName: 'default',
    });
    const row = backup('b', 'web', '2026-01-01T00:00:00Z', 'Ready');
    const inPlace = buildRestoreJob(row, 'r1', undefined, true);
    assert.deepEqual(inPlace.metadata.annotations, { 'backups.hikube.io/stop-running-vm': 'true' });
    assert.deepEqual(inPlace.spec, { backupRef: { name: 'b' } });
    const copy = buildRestoreJob(row, 'r2', 'web-copy', false);
    assert.equal(copy.metadata.annotations, undefined);
    assert.deepEqual(copy.spec.targetApplicationRef, { kind: 'VMInstance', name: 'web-copy' });
  });

  test('the Plan the plans page writes: retention as the prefixed annotations; the retention shown', () => {
    const plan = buildPlan({
      name: ' nightly ',
      namespace: 'ns',
      kind: 'VirtualMachine',
      application: 'db',
      cron: '0 3 * * *',
      backupClassName: 'default',
      keep: '7',
      maxAge: '',
    });
    assert.deepEqual(plan.metadata, {
      name: 'nightly',
      namespace: 'ns',
      annotations: { 'backups.hikube.io/keep': '7' },
    });
    assert.deepEqual(plan.spec, {
      applicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'db' },
      backupClassName: 'default',
      schedule: { type: 'cron', cron: '0 3 * * *' },
    });
    assert.equal(planRetention(plan), 'newest 7');
    assert.equal(planRetention({ ...plan, metadata: { name: 'x' } }), 'all');
  });
});
