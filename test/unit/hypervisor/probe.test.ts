/**
 * The accelerator decision with a scripted QEMU: KVM only when /dev/kvm is there and a KVM guest
 * runs to its end in time; TCG otherwise, including when the probe hangs; one probe per process.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import {
  KVM_PROBE_ARGV,
  probeAccelerator,
  resetAcceleratorCache,
  type ProbeRun,
} from '../../../src/hypervisor/probe.js';

const present = () => Promise.resolve(true);
const absent = () => Promise.resolve(false);

function counting(result: ProbeRun): { run: ProbeRun; calls: (readonly string[])[] } {
  const calls: (readonly string[])[] = [];
  return {
    calls,
    run: (argv, timeoutMs) => {
      calls.push(argv);
      return result(argv, timeoutMs);
    },
  };
}

describe('probeAccelerator', () => {
  beforeEach(() => resetAcceleratorCache());

  test('KVM when /dev/kvm exists and the probe guest exits cleanly', async () => {
    const { run, calls } = counting(() => Promise.resolve({ ok: true }));
    assert.equal(await probeAccelerator(run, 100, { kvmPresent: present, env: {} }), 'kvm');
    assert.deepEqual(calls, [KVM_PROBE_ARGV]);
    assert.ok(KVM_PROBE_ARGV.join(' ').includes('-accel kvm -cpu host'));
  });

  test('TCG without /dev/kvm, and QEMU is not even started', async () => {
    const { run, calls } = counting(() => Promise.resolve({ ok: true }));
    const reasons: string[] = [];
    assert.equal(
      await probeAccelerator(run, 100, { kvmPresent: absent, env: {}, onReject: (r) => reasons.push(r) }),
      'tcg',
    );
    assert.deepEqual([calls.length, reasons], [0, ['/dev/kvm is absent or not accessible']]);
  });

  test('TCG when QEMU aborts or is killed at the timeout', async () => {
    const reasons: string[] = [];
    const run: ProbeRun = () => Promise.resolve({ ok: false, detail: 'killed by SIGKILL' });
    assert.equal(
      await probeAccelerator(run, 100, { kvmPresent: present, env: {}, onReject: (r) => reasons.push(r) }),
      'tcg',
    );
    assert.deepEqual(reasons, ['QEMU under KVM did not run a trivial guest: killed by SIGKILL']);
  });

  test('TCG when the runner itself never settles or throws', async () => {
    const started = Date.now();
    assert.equal(
      await probeAccelerator(() => new Promise(() => {}), 50, { kvmPresent: present, env: {} }),
      'tcg',
    );
    assert.ok(Date.now() - started < 3000);
    resetAcceleratorCache();
    assert.equal(
      await probeAccelerator(() => Promise.reject(new Error('spawn EACCES')), 50, {
        kvmPresent: present,
        env: {},
      }),
      'tcg',
    );
  });

  test('the answer is cached: concurrent and later callers share one probe', async () => {
    const { run, calls } = counting(() => Promise.resolve({ ok: true }));
    const opts = { kvmPresent: present, env: {} };
    const answers = await Promise.all([probeAccelerator(run, 100, opts), probeAccelerator(run, 100, opts)]);
    assert.deepEqual(answers, ['kvm', 'kvm']);
    assert.equal(await probeAccelerator(run, 100, opts), 'kvm');
    assert.equal(calls.length, 1);
  });

  test('HIKUBE_ACCEL overrides without probing; a bad value is an error', async () => {
    const { run, calls } = counting(() => Promise.resolve({ ok: true }));
    assert.equal(
      await probeAccelerator(run, 100, { kvmPresent: present, env: { HIKUBE_ACCEL: 'tcg' } }),
      'tcg',
    );
    assert.equal(
      await probeAccelerator(run, 100, { kvmPresent: absent, env: { HIKUBE_ACCEL: 'kvm' } }),
      'kvm',
    );
    assert.equal(calls.length, 0);
    await assert.rejects(
      probeAccelerator(run, 100, { kvmPresent: present, env: { HIKUBE_ACCEL: 'hvf' } }),
      /HIKUBE_ACCEL must be "kvm" or "tcg", not "hvf"/,
    );
  });
});
