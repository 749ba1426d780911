/**
 * Guests outlive the control plane: after `kill -9` of `hikube up` and a new start, every running
 * VM is re-attached (same QEMU, no second one); a guest that died meanwhile is handled per
 * runStrategy, as after a host reboot: Always starts again, Manual stays stopped.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { guestPids, qemuPids, tinyVm, VMS, waitStatus } from '../support/guest.js';
import { raw } from '../support/http.js';
import { exited, up, type Child } from '../support/up.js';
import { eventually } from '../support/wait.js';

const dataDir = await mkdtemp(join(tmpdir(), 'hikube-survive-'));
let child: Child | undefined;
after(async () => {
  child?.proc.kill('SIGKILL');
  for (const pid of qemuPids(dataDir)) process.kill(pid, 'SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

const pidsOf = (name: string): number[] =>
  qemuPids(`guest=default/${name},`).filter((pid) => qemuPids(dataDir).includes(pid));

async function killControlPlane(): Promise<void> {
  const c = child;
  assert.ok(c !== undefined);
  c.proc.kill('SIGKILL');
  await exited(c.proc);
}

describe('guests survive the control plane', () => {
  test('kill -9 of hikube up and a restart re-attach to the running QEMUs without a second one', async () => {
    child = await up(dataDir);
    const p = child.platform;
    for (const [name, strategy] of [
      ['always', 'Always'],
      ['manual', 'Manual'],
    ] as const) {
      const r = await raw(p, 'POST', VMS, JSON.stringify(parse(tinyVm(name, { runStrategy: strategy }))));
      assert.equal(r.code, 201, r.body);
    }
    const start = await raw(
      p,
      'PUT',
      '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/manual/start',
      '{}',
    );
    assert.equal(start.code, 202, start.body);
    await waitStatus(p, 'always', 'Running');
    await waitStatus(p, 'manual', 'Running');
    const before = { always: pidsOf('always'), manual: pidsOf('manual') };
    assert.equal(before.always.length, 1);
    assert.equal(before.manual.length, 1);

    await killControlPlane();
    assert.deepEqual(pidsOf('always'), before.always, 'QEMU keeps running without the control plane');
    child = await up(dataDir);
    await eventually(
      () => child?.output().includes('re-attached to QEMU') === true,
      're-attach in the log',
      20_000,
    );
    await waitStatus(child.platform, 'always', 'Running');
    await waitStatus(child.platform, 'manual', 'Running');
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(pidsOf('always'), before.always, 'the same QEMU, not a second one');
    assert.deepEqual(pidsOf('manual'), before.manual);
  });

  test('a guest that died while the control plane was down: Always starts again, Manual stays stopped', async () => {
    await killControlPlane();
    const old = [...pidsOf('always'), ...pidsOf('manual')];
    for (const pid of old) process.kill(pid, 'SIGKILL');
    await eventually(
      () => pidsOf('always').length === 0 && pidsOf('manual').length === 0,
      'the guests to be gone',
      10_000,
    );
    child = await up(dataDir);
    const p = child.platform;
    await waitStatus(p, 'manual', 'Stopped', 30_000);
    await eventually(
      () => pidsOf('always').length === 1 && !old.includes(pidsOf('always')[0] ?? 0),
      'a new QEMU for the Always VM',
      30_000,
      100,
    );
    await waitStatus(p, 'always', 'Running');
    assert.equal(pidsOf('manual').length, 0, 'Manual is not restarted');
    const vmi = await raw(p, 'GET', '/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances/manual');
    assert.equal((vmi.json['status'] as { reason?: string }).reason, 'QEMUNotFound');
    assert.equal(guestPids({ dataDir } as never, 'always').length, 1);
  });
});
