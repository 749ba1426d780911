/**
 * Table tests for the VM's status as one pure function: which VM, VMI and controller facts give
 * which printableStatus (what `kubectl get vm` prints), and which conditions the VM carries.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Condition, PrintableStatus } from '../../../src/api/kubevirt/status.js';
import type { VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { printableStatus, vmStatusView, type VmFacts } from '../../../src/controllers/vm/printable.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');
const NOW_TEXT = '2024-05-01T12:00:00Z';

function vm(
  spec: Partial<VirtualMachine['spec']> = { runStrategy: 'Always' },
  deleting = false,
): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'vm-uid',
      ...(deleting ? { deletionTimestamp: '2024-05-01T11:59:00Z' } : {}),
    },
    spec: { template: { spec: { domain: { devices: {} } } }, ...spec },
  };
}

type Status = NonNullable<VirtualMachineInstance['status']>;

function vmi(status: Status | undefined, deleting = false): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'vmi-uid',
      ...(deleting ? { deletionTimestamp: '2024-05-01T11:59:00Z' } : {}),
    },
    spec: { domain: { devices: {} } },
    ...(status !== undefined ? { status } : {}),
  };
}

const cond = (type: string, status: 'True' | 'False', reason?: string, message?: string): Condition => ({
  type,
  status,
  ...(reason !== undefined ? { reason } : {}),
  ...(message !== undefined ? { message } : {}),
});

const facts = (f: Partial<VmFacts> = {}): VmFacts => ({
  missingPvcs: [],
  restartRequired: false,
  now: NOW,
  ...f,
});
const later = new Date(NOW.getTime() + 10_000);
const earlier = new Date(NOW.getTime() - 10_000);

describe('printableStatus', () => {
  const cases: [string, VirtualMachine, VirtualMachineInstance | undefined, VmFacts, PrintableStatus][] = [
    ['Halted, no VMI', vm({ runStrategy: 'Halted' }), undefined, facts(), 'Stopped'],
    ['running: false, no VMI', vm({ running: false }), undefined, facts(), 'Stopped'],
    ['Always, VMI not created yet', vm(), undefined, facts(), 'Stopped'],
    ['VMI with no status yet', vm(), vmi(undefined), facts(), 'Starting'],
    ['VMI Pending', vm(), vmi({ phase: 'Pending' }), facts(), 'Starting'],
    ['VMI Scheduling', vm(), vmi({ phase: 'Scheduling' }), facts(), 'Starting'],
    ['VMI Scheduled', vm(), vmi({ phase: 'Scheduled' }), facts(), 'Starting'],
    ['VMI Running', vm(), vmi({ phase: 'Running' }), facts(), 'Running'],
    [
      'VMI Running with Paused=False',
      vm(),
      vmi({ phase: 'Running', conditions: [cond('Paused', 'False')] }),
      facts(),
      'Running',
    ],
    [
      'VMI Running and paused',
      vm(),
      vmi({ phase: 'Running', conditions: [cond('Paused', 'True', 'PausedByUser')] }),
      facts(),
      'Paused',
    ],
    ['VMI being deleted', vm(), vmi({ phase: 'Running' }, true), facts(), 'Stopping'],
    [
      'VM being deleted, VMI running',
      vm({ runStrategy: 'Always' }, true),
      vmi({ phase: 'Running' }),
      facts(),
      'Terminating',
    ],
    ['VM being deleted, no VMI', vm({ runStrategy: 'Halted' }, true), undefined, facts(), 'Terminating'],
    ['VMI Succeeded', vm(), vmi({ phase: 'Succeeded' }), facts(), 'Stopped'],
    ['VMI Failed, no back-off', vm(), vmi({ phase: 'Failed' }), facts(), 'Stopped'],
    [
      'VMI Failed, back-off over',
      vm(),
      vmi({ phase: 'Failed' }),
      facts({ backoffUntil: earlier }),
      'Stopped',
    ],
    [
      'VMI Failed, backing off',
      vm(),
      vmi({ phase: 'Failed' }),
      facts({ backoffUntil: later }),
      'CrashLoopBackOff',
    ],
    ['no VMI, backing off', vm(), undefined, facts({ backoffUntil: later }), 'CrashLoopBackOff'],
    ['no VMI, back-off ends now', vm(), undefined, facts({ backoffUntil: NOW }), 'Stopped'],
    [
      'Pending and unschedulable',
      vm(),
      vmi({
        phase: 'Pending',
        conditions: [cond('PodScheduled', 'False', 'Unschedulable', 'insufficient memory')],
      }),
      facts(),
      'ErrorUnschedulable',
    ],
    [
      'Scheduling and unschedulable',
      vm(),
      vmi({ phase: 'Scheduling', conditions: [cond('PodScheduled', 'False', 'Unschedulable')] }),
      facts(),
      'ErrorUnschedulable',
    ],
    [
      'PodScheduled False for another reason',
      vm(),
      vmi({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'SchedulerError')] }),
      facts(),
      'Starting',
    ],
    [
      'image pull failed',
      vm(),
      vmi({
        phase: 'Scheduled',
        conditions: [cond('Synchronized', 'False', 'ErrImagePull', 'no such image')],
      }),
      facts(),
      'ErrImagePull',
    ],
    [
      'image pull backing off',
      vm(),
      vmi({ phase: 'Scheduled', conditions: [cond('Synchronized', 'False', 'ImagePullBackOff')] }),
      facts(),
      'ImagePullBackOff',
    ],
    [
      'Synchronized True with a pull reason is not an error',
      vm(),
      vmi({ phase: 'Scheduled', conditions: [cond('Synchronized', 'True', 'ErrImagePull')] }),
      facts(),
      'Starting',
    ],
    [
      'node agent found no PVC',
      vm(),
      vmi({ phase: 'Scheduled', conditions: [cond('Synchronized', 'False', 'PvcNotFound')] }),
      facts(),
      'ErrorPvcNotFound',
    ],
    ['Always, PVC missing', vm(), undefined, facts({ missingPvcs: ['data'] }), 'ErrorPvcNotFound'],
    [
      'running: true, PVC missing',
      vm({ running: true }),
      undefined,
      facts({ missingPvcs: ['data'] }),
      'ErrorPvcNotFound',
    ],
    [
      'RerunOnFailure, PVC missing',
      vm({ runStrategy: 'RerunOnFailure' }),
      undefined,
      facts({ missingPvcs: ['data'] }),
      'ErrorPvcNotFound',
    ],
    [
      'Once, PVC missing',
      vm({ runStrategy: 'Once' }),
      undefined,
      facts({ missingPvcs: ['data'] }),
      'ErrorPvcNotFound',
    ],
    [
      'Halted, PVC missing',
      vm({ runStrategy: 'Halted' }),
      undefined,
      facts({ missingPvcs: ['data'] }),
      'Stopped',
    ],
    [
      'Manual, PVC missing',
      vm({ runStrategy: 'Manual' }),
      undefined,
      facts({ missingPvcs: ['data'] }),
      'Stopped',
    ],
    [
      'PVC missing wins over back-off',
      vm(),
      undefined,
      facts({ missingPvcs: ['data'], backoffUntil: later }),
      'ErrorPvcNotFound',
    ],
    ['VMI phase Unknown', vm(), vmi({ phase: 'Unknown' }), facts(), 'Unknown'],
  ];
  for (const [name, v, i, f, want] of cases) {
    test(`${name} → ${want}`, () => {
      assert.equal(printableStatus(v, i, f), want);
      assert.equal(vmStatusView(v, i, f).printableStatus, want);
    });
  }
});

describe('vmStatusView: ready and created', () => {
  const cases: [string, VirtualMachineInstance | undefined, { ready: boolean; created: boolean }][] = [
    ['no VMI', undefined, { ready: false, created: false }],
    ['VMI Pending', vmi({ phase: 'Pending' }), { ready: false, created: true }],
    ['VMI Running, not ready', vmi({ phase: 'Running' }), { ready: false, created: true }],
    [
      'VMI Running and Ready',
      vmi({ phase: 'Running', conditions: [cond('Ready', 'True')] }),
      { ready: true, created: true },
    ],
    [
      'Ready=True on a Succeeded VMI is not ready',
      vmi({ phase: 'Succeeded', conditions: [cond('Ready', 'True')] }),
      { ready: false, created: true },
    ],
  ];
  for (const [name, i, want] of cases) {
    test(name, () => {
      const view = vmStatusView(vm(), i, facts());
      assert.deepEqual({ ready: view.ready, created: view.created }, want);
    });
  }
});

/** The conditions without their timestamps, keyed by type. */
function byType(
  conditions: Condition[],
): Record<string, { status: Condition['status']; reason: string | undefined; message: string | undefined }> {
  return Object.fromEntries(
    conditions.map((c) => [c.type, { status: c.status, reason: c.reason, message: c.message }]),
  );
}

describe('vmStatusView: conditions', () => {
  test('no VMI: Ready is False with VMINotExists, nothing else', () => {
    const view = vmStatusView(vm(), undefined, facts());
    assert.deepEqual(byType(view.conditions), {
      Ready: { status: 'False', reason: 'VMINotExists', message: 'VMI does not exist' },
    });
  });

  test('running and ready VMI: Ready True', () => {
    const view = vmStatusView(vm(), vmi({ phase: 'Running', conditions: [cond('Ready', 'True')] }), facts());
    assert.deepEqual(byType(view.conditions), { Ready: { status: 'True', reason: 'Ready', message: '' } });
  });

  test("a VMI that is not ready passes on the VMI's Ready reason and message", () => {
    const i = vmi({ phase: 'Running', conditions: [cond('Ready', 'False', 'GuestNotRunning', 'booting')] });
    assert.deepEqual(byType(vmStatusView(vm(), i, facts()).conditions)['Ready'], {
      status: 'False',
      reason: 'GuestNotRunning',
      message: 'booting',
    });
  });

  test('a VMI with no Ready condition: Ready False, NotReady', () => {
    assert.deepEqual(byType(vmStatusView(vm(), vmi({ phase: 'Scheduled' }), facts()).conditions)['Ready'], {
      status: 'False',
      reason: 'NotReady',
      message: '',
    });
  });

  test('paused VMI: Paused True with the VMI reason; default message when the VMI gives none', () => {
    const i = vmi({
      phase: 'Running',
      conditions: [cond('Ready', 'True'), cond('Paused', 'True', 'PausedByUser')],
    });
    const view = vmStatusView(vm(), i, facts());
    assert.deepEqual(byType(view.conditions)['Paused'], {
      status: 'True',
      reason: 'PausedByUser',
      message: 'VMI was paused by user',
    });
  });

  test('a VMI with Paused False gives the VM no Paused condition', () => {
    const i = vmi({ phase: 'Running', conditions: [cond('Paused', 'False')] });
    assert.equal(byType(vmStatusView(vm(), i, facts()).conditions)['Paused'], undefined);
  });

  const failures: [
    string,
    VirtualMachineInstance | undefined,
    Partial<VmFacts>,
    { reason: string; message: string },
  ][] = [
    [
      'create error',
      undefined,
      { createError: { reason: 'FailedCreate', message: 'VirtualMachineClusterInstancetype "x" not found' } },
      { reason: 'FailedCreate', message: 'VirtualMachineClusterInstancetype "x" not found' },
    ],
    [
      'missing PVCs, each named',
      undefined,
      { missingPvcs: ['data', 'logs'] },
      { reason: 'FailedPvcNotFound', message: 'PVC "data", "logs" not found' },
    ],
    [
      'VMI not synchronized',
      vmi({
        phase: 'Scheduled',
        conditions: [cond('Synchronized', 'False', 'ErrImagePull', 'image "x" not found')],
      }),
      {},
      { reason: 'ErrImagePull', message: 'image "x" not found' },
    ],
    [
      'create error wins over missing PVCs',
      undefined,
      { createError: { reason: 'FailedCreate', message: 'boom' }, missingPvcs: ['data'] },
      { reason: 'FailedCreate', message: 'boom' },
    ],
  ];
  for (const [name, i, f, want] of failures) {
    test(`Failure: ${name}`, () => {
      const failure = byType(vmStatusView(vm(), i, facts(f)).conditions)['Failure'];
      assert.deepEqual(failure, { status: 'True', ...want });
    });
  }

  test('no failure: no Failure condition', () => {
    const i = vmi({ phase: 'Running', conditions: [cond('Synchronized', 'True')] });
    assert.equal(byType(vmStatusView(vm(), i, facts()).conditions)['Failure'], undefined);
  });

  test('RestartRequired only when the template changed', () => {
    const i = vmi({ phase: 'Running', conditions: [cond('Ready', 'True')] });
    assert.equal(byType(vmStatusView(vm(), i, facts()).conditions)['RestartRequired'], undefined);
    assert.deepEqual(
      byType(vmStatusView(vm(), i, facts({ restartRequired: true })).conditions)['RestartRequired'],
      {
        status: 'True',
        reason: 'RestartRequired',
        message: 'a non-live-updatable field was changed in the template spec',
      },
    );
  });

  test('every condition is stamped with now, without milliseconds, and lastProbeTime null', () => {
    const view = vmStatusView(vm(), undefined, facts({ missingPvcs: ['data'], restartRequired: true }));
    assert.deepEqual(
      view.conditions.map((c) => [c.type, c.lastTransitionTime, c.lastProbeTime]),
      [
        ['Ready', NOW_TEXT, null],
        ['Failure', NOW_TEXT, null],
        ['RestartRequired', NOW_TEXT, null],
      ],
    );
  });
});

describe('vmStatusView: lastTransitionTime', () => {
  const oneMinuteLater = facts({ now: new Date(NOW.getTime() + 60_000) });

  test('kept while the status of a condition does not change', () => {
    const first = vmStatusView(vm(), undefined, facts()).conditions;
    const second = vmStatusView(vm(), vmi({ phase: 'Pending' }), oneMinuteLater, first).conditions;
    const ready = second.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'NotReady', 'the reason follows the VMI even without a transition');
    assert.equal(ready?.lastTransitionTime, NOW_TEXT);
  });

  test('moved to now when the status flips', () => {
    const first = vmStatusView(vm(), vmi({ phase: 'Pending' }), facts()).conditions;
    const running = vmi({ phase: 'Running', conditions: [cond('Ready', 'True')] });
    const second = vmStatusView(vm(), running, oneMinuteLater, first).conditions;
    assert.deepEqual(
      second.map((c) => [c.type, c.status, c.lastTransitionTime]),
      [['Ready', 'True', '2024-05-01T12:01:00Z']],
    );
  });

  test('a condition that appears is stamped now; one that disappears is dropped', () => {
    const first = vmStatusView(vm(), undefined, facts({ missingPvcs: ['data'] })).conditions;
    assert.ok(first.some((c) => c.type === 'Failure'));
    const paused = vmi({ phase: 'Running', conditions: [cond('Paused', 'True', 'PausedByUser')] });
    const second = vmStatusView(vm(), paused, oneMinuteLater, first).conditions;
    assert.deepEqual(
      second.map((c) => [c.type, c.lastTransitionTime]),
      [
        ['Ready', NOW_TEXT],
        ['Paused', '2024-05-01T12:01:00Z'],
      ],
    );
  });

  test('a previous condition without a time is stamped now', () => {
    const previous: Condition[] = [{ type: 'Ready', status: 'False', reason: 'VMINotExists' }];
    const view = vmStatusView(vm(), undefined, facts(), previous);
    assert.equal(view.conditions[0]?.lastTransitionTime, NOW_TEXT);
  });
});
