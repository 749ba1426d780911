/**
 * Real guests under QEMU, driven the way users drive them: kubectl applies a VM of the tiny image,
 * the console WebSocket reaches its shell, user data ran, and each lifecycle verb changes what the
 * guest and the VM's status show. Crashes are handled per runStrategy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { guestPids, openConsole, tinyVm, vm, waitStatus } from '../support/guest.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);

describe('runtime: the tiny guest under QEMU', () => {
  test('a VM applied with kubectl runs; its console shell answers; user data set the hostname and ran', async () => {
    await ok(
      ['apply', '-f', '-'],
      tinyVm('tiny', { hostname: 'tiny-host', userData: '#!/bin/sh\necho "user-data says $(hostname)"' }),
    );
    await waitStatus(p, 'tiny', 'Running');
    const vmi = JSON.parse(await ok(['get', 'vmi', 'tiny', '-o', 'json'])) as {
      status: { phase: string; nodeName: string; accelerator: string; interfaces: { mac: string }[] };
    };
    assert.equal(vmi.status.phase, 'Running');
    assert.equal(vmi.status.nodeName, p.nodeName);
    assert.equal(vmi.status.accelerator, p.accel);
    assert.match(vmi.status.interfaces[0]?.mac ?? '', /^02(:[0-9a-f]{2}){5}$/);
    assert.equal(guestPids(p, 'tiny').length, 1, 'one QEMU process, named after the VM');

    const console = await openConsole(p, 'tiny');
    try {
      await console.waitFor(/user-data says tiny-host/);
      await console.waitFor(/hikube-tiny: ready/);
      const mark = console.output().length;
      console.send('\necho sum=$((40+2)); hostname\n');
      await console.waitFor(/sum=42\s+tiny-host/, 20_000, mark);
    } finally {
      console.close();
    }
    assert.match(await ok(['get', 'vm', 'tiny']), /tiny\s+\S+\s+Running\s+True/);
  });

  test('pause and unpause freeze and resume the guest; stop powers it off; start boots it again', async () => {
    await hikube(['pause', 'tiny']);
    await waitStatus(p, 'tiny', 'Paused');
    const paused = await openConsole(p, 'tiny');
    const mark = paused.output().length;
    paused.send('echo still-$((1+1))\n');
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(paused.output().slice(mark), /still-2/, 'a paused guest runs nothing');
    await hikube(['unpause', 'tiny']);
    await waitStatus(p, 'tiny', 'Running');
    await paused.waitFor(/still-2/, 20_000, mark);
    paused.close();
    const vmiBefore = JSON.parse(await ok(['get', 'vmi', 'tiny', '-o', 'json'])) as {
      metadata: { uid: string };
    };

    await hikube(['stop', 'tiny']);
    await waitStatus(p, 'tiny', 'Stopped');
    assert.equal(guestPids(p, 'tiny').length, 0, 'QEMU is gone after stop');
    const stopped = JSON.parse(await ok(['get', 'vm', 'tiny', '-o', 'json'])) as {
      spec: { runStrategy: string };
    };
    assert.equal(stopped.spec.runStrategy, 'Halted');
    const events = await ok(['describe', 'vm', 'tiny']);
    assert.match(events, /SuccessfulDelete/);

    await hikube(['start', 'tiny']);
    await waitStatus(p, 'tiny', 'Running');
    const vmiAfter = JSON.parse(await ok(['get', 'vmi', 'tiny', '-o', 'json'])) as {
      metadata: { uid: string };
    };
    assert.notEqual(vmiAfter.metadata.uid, vmiBefore.metadata.uid, 'start creates a new VMI');
  });

  test('restart replaces the guest with a new QEMU', async () => {
    const [before] = guestPids(p, 'tiny');
    assert.ok(before !== undefined);
    await hikube(['restart', 'tiny']);
    await eventually(
      () => {
        const pids = guestPids(p, 'tiny');
        return pids.length === 1 && pids[0] !== before;
      },
      'a new QEMU after restart',
      30_000,
      100,
    );
    await waitStatus(p, 'tiny', 'Running');
  });

  test('a forced stop kills at once; a crash under Always restarts the guest, and repeated crashes back off', async () => {
    const [first] = guestPids(p, 'tiny');
    assert.ok(first !== undefined);
    process.kill(first, 'SIGKILL');
    await eventually(
      () => {
        const pids = guestPids(p, 'tiny');
        return pids.length === 1 && pids[0] !== first ? pids[0] : undefined;
      },
      'QEMU to be started again after a crash',
      30_000,
      100,
    );
    await waitStatus(p, 'tiny', 'Running');
    const [second] = guestPids(p, 'tiny');
    assert.ok(second !== undefined);
    process.kill(second, 'SIGKILL');
    await waitStatus(p, 'tiny', 'CrashLoopBackOff', 15_000);
    const v = await vm(p, 'tiny');
    assert.equal(
      (v.status?.startFailure as { consecutiveFailCount?: number } | undefined)?.consecutiveFailCount,
      2,
    );
    await waitStatus(p, 'tiny', 'Running', 30_000);

    const started = Date.now();
    await hikube(['stop', 'tiny', '--force']);
    await waitStatus(p, 'tiny', 'Stopped');
    assert.ok(Date.now() - started < 8000, 'a forced stop does not wait for the grace period');
  });

  test('a crash under Manual or Halted is not restarted', async () => {
    await ok(['apply', '-f', '-'], tinyVm('manual', { runStrategy: 'Manual' }));
    await waitStatus(p, 'manual', 'Stopped');
    assert.equal(guestPids(p, 'manual').length, 0, 'Manual does not start by itself');
    await hikube(['start', 'manual']);
    await waitStatus(p, 'manual', 'Running');
    const [pid] = guestPids(p, 'manual');
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    await waitStatus(p, 'manual', 'Stopped');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(guestPids(p, 'manual').length, 0, 'no restart under Manual');
    const vmi = JSON.parse(await ok(['get', 'vmi', 'manual', '-o', 'json'])) as {
      status: { phase: string; reason: string };
    };
    assert.equal(vmi.status.phase, 'Failed');
    assert.equal(vmi.status.reason, 'Crashed');

    await ok(['apply', '-f', '-'], tinyVm('halted', { runStrategy: 'Halted' }));
    await waitStatus(p, 'halted', 'Stopped');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(guestPids(p, 'halted').length, 0, 'Halted never starts');
    await ok(['delete', 'vm', 'manual', 'halted']);
  });

  test('a guest that powers itself off is Succeeded, and Always boots it again', async () => {
    await waitStatus(p, 'tiny', 'Stopped');
    await hikube(['start', 'tiny']);
    await waitStatus(p, 'tiny', 'Running');
    const console = await openConsole(p, 'tiny');
    await console.waitFor(/hikube-tiny: ready/);
    const [before] = guestPids(p, 'tiny');
    console.send('\npoweroff -f\n');
    console.close();
    await eventually(
      () => {
        const pids = guestPids(p, 'tiny');
        return pids.length === 1 && pids[0] !== before;
      },
      'the guest to be booted again after it powered off',
      30_000,
      100,
    );
    const v = await vm(p, 'tiny');
    assert.equal(v.status?.startFailure, undefined, 'a clean power-off is not a failure');
    await waitStatus(p, 'tiny', 'Running');
    await ok(['delete', 'vm', 'tiny']);
    await eventually(
      () => guestPids(p, 'tiny').length === 0,
      'QEMU to stop when the VM is deleted',
      30_000,
      100,
    );
  });
});
