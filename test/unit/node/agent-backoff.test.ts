/**
 * The node agent against a store that refuses every write (a full disk, a broken database): each
 * failed start is tried again after a growing wait, not at once. It once retried in a hot loop
 * (3,600 log lines in about a second). Real Registry over in-memory SQLite behind a store that
 * fails writes on demand; time is a fake clock, so the test counts attempts per second of it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { NodeAgent } from '../../../src/node/agent.js';
import { FailingStore } from '../../support/failing-store.js';
import { FakeTime } from '../../support/fake-time.js';
import { eventually } from '../../support/wait.js';

const unused = (): never => {
  throw new Error('not reached: the first store write of a start fails');
};

let time: FakeTime;
let store: FailingStore;
let api: ApiClient;
let dataDir: string;
let agent: NodeAgent;
let manager: Manager;
let logged: string[];

beforeEach(async () => {
  time = new FakeTime();
  dataDir = await mkdtemp(join(tmpdir(), 'hikube-agent-backoff-'));
  store = new FailingStore(() => time.now.getTime());
  const registry = new Registry(store, { now: () => time.now });
  registry.create(namespaceKind, '', { metadata: { name: 'default' } });
  api = new ApiClient(registry);
  const vmi: VirtualMachineInstance = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'tiny', namespace: 'default' },
    spec: { domain: { devices: {}, memory: { guest: '128Mi' } } },
  };
  const created = api.create(virtualMachineInstanceKind, vmi);
  created.status = { phase: 'Scheduled', nodeName: 'n1' };
  api.updateStatus(virtualMachineInstanceKind, created);
  logged = [];
  manager = new Manager(new RegistryTransport(registry), { timers: time });
  agent = new NodeAgent({
    manager,
    events: recorderFor(manager, 'virt-handler', 'n1', () => time.now),
    nodeName: 'n1',
    dataDir,
    accel: 'tcg',
    images: { resolve: unused } as never,
    disks: { createOverlay: unused, createBlank: unused, info: unused, resize: unused },
    iso: { build: unused },
    processes: { launch: unused, alive: () => false, kill: unused },
    claimPath: () => undefined,
    log: (m) => logged.push(m),
    now: () => time.now,
    timers: time,
  });
  // Added, not started: each test starts the manager (and with it the agent) when it is ready.
  void manager.add(agent);
});
afterEach(async () => {
  manager.stop();
  store.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Lets the agent react to a fired timer (a queue drain, a background start and its failure). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('node agent retries with backoff', () => {
  test('a start whose store write fails is retried after growing waits, not in a hot loop', async () => {
    store.failing = () => true;
    await manager.start();
    await eventually(() => store.refused.length >= 1, 'the first start to fail', 5000);
    // Time stands still: a hot loop would retry hundreds of times in this real-time window.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(store.refused.length, 1, `retried without waiting: ${logged.slice(0, 3).join('\n')}`);
    assert.match(logged[0] ?? '', /failed starting default\/tiny \(next try in 1s\): disk I\/O error/);

    await time.advanceSettling(60_000, settle);
    const start = store.refused[0] ?? 0;
    const at = store.refused.map((t) => (t - start) / 1000);
    // 1 s, doubling: tries at 0, 1, 3, 7, 15, 31 s of fake time, then every 60 s at most.
    assert.deepEqual(at, [0, 1, 3, 7, 15, 31]);
    for (let s = 0; s < 60; s++) {
      const inSecond = at.filter((t) => t >= s && t < s + 1).length;
      assert.ok(inSecond <= 1, `${inSecond} attempts in second ${s}`);
    }
  });

  test('a store that heals ends the waits: the next start goes on to the guest', async () => {
    store.failing = () => true;
    await manager.start();
    await eventually(() => store.refused.length >= 1, 'the first start to fail', 5000);
    store.failing = () => false;
    await time.advanceSettling(1000, settle);
    // The start got past the store, to launching QEMU (the fake refuses): the VMI says so.
    const failed = await eventually(
      () => {
        const v = api.get<VirtualMachineInstance>(virtualMachineInstanceKind, 'default', 'tiny');
        return v?.status?.phase === 'Failed' ? v : undefined;
      },
      'the retried start to reach QEMU',
      5000,
    );
    assert.equal(failed.status?.reason, 'SyncFailed', JSON.stringify(failed.status));
    assert.equal(store.refused.length, 1);
  });
});
