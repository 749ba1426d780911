/**
 * The console's Backups tab logic, as table tests: which application a VM is (its VMInstance
 * owner, else itself), the application's backups newest first with their state and the bytes
 * sent, the runs under way and the last failure, why a restore may not run, and the BackupJob
 * and RestoreJob objects the tab writes (the stop annotation only in place on a running VM).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backup, BackupJob, VirtualMachine } from '../../../web/src/api/types.js';
import {
  applicationOf,
  backupRows,
  buildBackupJob,
  buildRestoreJob,
  buildPlan,
  jobsOf,
  planRetention,
  sentText,
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

  test("the application's backups, newest first, with state and bytes sent", () => {
    const app = applicationOf(vm('vm-instance-web', 'web'));
    const rows = backupRows(
      [
        backup('old', 'web', '2026-01-01T00:00:00Z', 'Ready'),
        backup('new', 'web', '2026-01-02T00:00:00Z'),
        backup('other', 'db', '2026-01-03T00:00:00Z', 'Ready'),
        backup('same-name-vm', 'web', '2026-01-03T00:00:00Z', 'Ready', 'VirtualMachine'),
      ],
      app,
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.phase, sentText(r.sizeBytes), whyNoRestore(r)]),
      [
        ['new', 'Pending', '', 'The backup is Pending'],
        ['old', 'Ready', '3Mi', undefined],
      ],
    );
  });

  test('bytes sent: binary units, plain bytes marked B', () => {
    assert.deepEqual([sentText(2235), sentText(3 * 1024 * 1024), sentText(undefined)], ['2235 B', '3Mi', '']);
  });

  test('runs under way and the last failure of the application', () => {
    const app = applicationOf(vm('db'));
    const job = (
      name: string,
      phase?: 'Running' | 'Failed' | 'Succeeded',
      completedAt?: string,
    ): BackupJob => ({
      apiVersion: 'backups.cozystack.io/v1alpha1',
      kind: 'BackupJob',
      metadata: { name, namespace: 'ns' },
      spec: {
        applicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'db' },
        backupClassName: 'default',
      },
      ...(phase !== undefined ? { status: { phase, ...(completedAt ? { completedAt } : {}) } } : {}),
    });
    const r = jobsOf(
      [
        job('a', 'Failed', '2026-01-01T00:00:00Z'),
        job('b', 'Failed', '2026-01-02T00:00:00Z'),
        job('c', 'Running'),
        job('d'),
        job('e', 'Succeeded'),
      ],
      app,
    );
    assert.deepEqual(
      r.running.map((j) => j.metadata.name),
      ['c', 'd'],
    );
    assert.equal(r.lastFailed?.metadata.name, 'b');
  });

  test('the objects written: a BackupJob; a RestoreJob in place (stop annotation) or into a new application', () => {
    assert.deepEqual(buildBackupJob(vm('vm-instance-web', 'web'), 'web-1', 'default').spec, {
      applicationRef: { apiGroup: 'apps.cozystack.io', kind: 'VMInstance', name: 'web' },
      backupClassName: 'default',
    });
    const [row] = backupRows(
      [backup('b', 'web', '2026-01-01T00:00:00Z', 'Ready')],
      applicationOf(vm('vm-instance-web', 'web')),
    );
    assert.ok(row);
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
