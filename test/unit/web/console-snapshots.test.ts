/**
 * The console's snapshot logic, as table tests: a VM's snapshot rows (size from the content, newest
 * first), why a restore may not run (not ready to use, being deleted), the objects take and restore
 * write, restore rows; a schedule's selector both ways and the causes a form gets before sending.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  SnapshotSchedule,
  VirtualMachine,
  VirtualMachineRestore,
  VirtualMachineSnapshot,
  VirtualMachineSnapshotContent,
} from '../../../web/src/api/types.js';
import {
  buildSchedule,
  formCauses,
  parseSelector,
  retentionText,
  scheduleState,
  selectorText,
  type ScheduleForm,
} from '../../../web/src/catalog/schedules.js';
import {
  buildRestore,
  buildSnapshot,
  restoreRows,
  snapshotRows,
  whyNoDelete,
  whyNoRestore,
} from '../../../web/src/vms/snapshots.js';

const vm = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'web', namespace: 'ns' },
  spec: { template: {} },
} as unknown as VirtualMachine;

const snap = (
  name: string,
  source: string,
  status: VirtualMachineSnapshot['status'],
  extra: Partial<VirtualMachineSnapshot['metadata']> = {},
): VirtualMachineSnapshot => ({
  apiVersion: 'snapshot.kubevirt.io/v1beta1',
  kind: 'VirtualMachineSnapshot',
  metadata: { name, namespace: 'ns', ...extra },
  spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: source } },
  ...(status !== undefined ? { status } : {}),
});

const content = (name: string, sizes: string[]): VirtualMachineSnapshotContent => ({
  apiVersion: 'snapshot.kubevirt.io/v1beta1',
  kind: 'VirtualMachineSnapshotContent',
  metadata: { name, namespace: 'ns' },
  spec: {
    source: {},
    volumeBackups: sizes.map((s, i) => ({
      volumeName: `d${i}`,
      persistentVolumeClaim: { spec: { resources: { requests: { storage: s } } } },
    })),
  },
});

describe('console snapshots', () => {
  test("a VM's snapshots: its own only, newest first, sizes added up, restorable once ready", () => {
    const rows = snapshotRows(
      vm,
      [
        snap('old', 'web', {
          phase: 'Succeeded',
          readyToUse: true,
          creationTime: '2026-01-01T00:00:00Z',
          indications: ['Online', 'NoGuestAgent'],
          virtualMachineSnapshotContentName: 'c-old',
          snapshotVolumes: { includedVolumes: ['d0', 'd1'] },
        }),
        snap('new', 'web', { phase: 'InProgress', creationTime: '2026-02-01T00:00:00Z' }),
        snap('other', 'db', { phase: 'Succeeded', readyToUse: true }),
        snap(
          'going',
          'web',
          { phase: 'Succeeded', readyToUse: true, creationTime: '2025-01-01T00:00:00Z' },
          {
            deletionTimestamp: '2026-03-01T00:00:00Z',
          },
        ),
      ],
      [content('c-old', ['64Mi', '1Gi'])],
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.phase, r.ready, r.size, r.volumes.join(',')]),
      [
        ['new', 'InProgress', false, '', ''],
        ['old', 'Succeeded', true, '1088Mi', 'd0,d1'],
        ['going', 'Deleting', true, '', ''],
      ],
    );
    const [fresh, ready, going] = rows;
    assert.ok(fresh && ready && going);
    assert.equal(whyNoRestore(fresh), 'Not ready to use yet (phase InProgress)');
    assert.equal(whyNoRestore(ready), undefined);
    assert.equal(whyNoRestore(going), 'The snapshot is being deleted');
    assert.equal(whyNoDelete(going), 'The snapshot is being deleted');
    assert.equal(whyNoDelete(ready), undefined);
  });

  test('take and restore write KubeVirt objects; StopTarget only when asked', () => {
    const s = buildSnapshot(vm, 's1');
    assert.deepEqual(s.spec.source, { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'web' });
    assert.equal(s.metadata.namespace, 'ns');
    const r = buildRestore(s, 'web', 'r1', 'StopTarget');
    assert.deepEqual(r.spec, {
      target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'web' },
      virtualMachineSnapshotName: 's1',
      targetReadinessPolicy: 'StopTarget',
    });
    assert.equal(buildRestore(s, 'copy', 'r2').spec.targetReadinessPolicy, undefined);
  });

  test('restore rows: of its snapshots or onto it, with their state', () => {
    const restore = (
      name: string,
      target: string,
      snapshot: string,
      status: VirtualMachineRestore['status'],
    ) =>
      ({
        metadata: { name, namespace: 'ns', creationTimestamp: `2026-01-0${name.length}T00:00:00Z` },
        spec: { target: { kind: 'VirtualMachine', name: target }, virtualMachineSnapshotName: snapshot },
        status,
      }) as VirtualMachineRestore;
    const rows = restoreRows(
      vm,
      [
        restore('r1', 'copy', 's1', { complete: true }),
        restore('r22', 'web', 's9', {
          complete: false,
          conditions: [
            { type: 'Ready', status: 'False', reason: 'Stopping', message: 'waiting for the VM to stop' },
          ],
        }),
        restore('r333', 'db', 'x', { complete: true }),
        restore('r4444', 'copy2', 's1', {
          conditions: [{ type: 'Failure', status: 'True', message: 'no space' }],
        }),
      ],
      new Set(['s1']),
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.state]),
      [
        ['r4444', 'Failed: no space'],
        ['r22', 'In progress: waiting for the VM to stop'],
        ['r1', 'Complete'],
      ],
    );
  });
});

describe('console snapshot schedules', () => {
  test('selectors in kubectl notation, both ways', () => {
    assert.deepEqual(parseSelector(''), {});
    assert.deepEqual(parseSelector('app=web, tier==db,!legacy,backup,zone!=b'), {
      matchLabels: { app: 'web', tier: 'db' },
      matchExpressions: [
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'backup', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['b'] },
      ],
    });
    assert.equal(parseSelector('app in web'), undefined);
    assert.equal(
      selectorText({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 't', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'DoesNotExist' },
        ],
      }),
      'app=web, t in (a,b), !x',
    );
  });

  test('a form becomes a schedule, or causes on the fields it cannot read', () => {
    const form: ScheduleForm = {
      name: ' nightly ',
      namespace: 'default',
      schedule: ' 0 3 * * * ',
      selector: 'app=web',
      keep: '7',
      maxAge: '14d',
    };
    assert.deepEqual(formCauses(form), []);
    const s = buildSchedule(form);
    assert.equal(s.metadata.name, 'nightly');
    assert.deepEqual(s.spec, {
      schedule: '0 3 * * *',
      selector: { matchLabels: { app: 'web' } },
      retention: { count: 7, maxAge: '14d' },
    });
    assert.equal(buildSchedule({ ...form, keep: '', maxAge: '' }).spec.retention, undefined);
    assert.deepEqual(
      formCauses({ ...form, selector: 'a b', keep: 'seven' }).map((c) => c.field),
      ['spec.selector', 'spec.retention.count'],
    );
  });

  test('status and retention as the list shows them', () => {
    const base = {
      metadata: { name: 's' },
      spec: { schedule: '@daily', selector: {} },
    } as unknown as SnapshotSchedule;
    const cond = (type: string, status: 'True' | 'False', reason = '') => ({
      type,
      status,
      reason,
      message: 'm',
    });
    assert.equal(scheduleState({ ...base, spec: { ...base.spec, suspend: true } }), 'Suspended');
    assert.equal(scheduleState({ ...base, status: { conditions: [cond('Ready', 'True')] } }), 'Active');
    assert.equal(
      scheduleState({ ...base, status: { lastError: 'boom', conditions: [cond('Failure', 'True')] } }),
      'Failing: boom',
    );
    assert.equal(
      scheduleState({ ...base, status: { conditions: [cond('Ready', 'False', 'SnapshotsUnavailable')] } }),
      'SnapshotsUnavailable',
    );
    assert.equal(scheduleState(base), 'Pending');
    assert.equal(retentionText(base), 'all');
    assert.equal(
      retentionText({ ...base, spec: { ...base.spec, retention: { count: 3, maxAge: '7d' } } }),
      'newest 3, up to 7d old',
    );
  });
});
