/**
 * The scheduler over a real registry (SQLite in memory): VMIs fill a node up to its allocatable
 * memory, the next one waits with a message saying what is short, and it is placed as soon as a
 * placed VMI finishes or is deleted, or the node grows. Pending VMIs going away free nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { namespaceKind, nodeKind } from '../../../src/api/core/core.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { Scheduler } from '../../../src/controllers/scheduler/controller.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

let store: SqliteStore;
let api: ApiClient;
let scheduler: Scheduler;
let manager: Manager;

const node = (memory: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n1' },
  status: {
    allocatable: { cpu: '16', memory, 'nvidia.com/gpu': '0' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});

const vmi = (name: string): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name, namespace: 'default' },
  spec: { domain: { devices: {}, memory: { guest: '512Mi' } } },
});

const get = (name: string): VirtualMachineInstance | undefined =>
  api.get<VirtualMachineInstance>(virtualMachineInstanceKind, 'default', name);
const nodeOf = (name: string): string => get(name)?.status?.nodeName ?? '';

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  registry.create(namespaceKind, '', { metadata: { name: 'default' } });
  api = new ApiClient(registry);
  api.create(nodeKind, node('1Gi'));
  manager = new Manager(new RegistryTransport(registry));
  scheduler = new Scheduler(manager, { cpuAllocationRatio: 10 });
  void manager.add(scheduler);
  await manager.start();
  for (const n of ['a', 'b', 'c']) {
    api.create(virtualMachineInstanceKind, vmi(n));
    await scheduler.idle();
  }
});
afterEach(() => {
  manager.stop();
  store.close();
});

describe('scheduler', () => {
  test('a node fills up to its allocatable memory; the next VMI waits saying what is short', () => {
    assert.deepEqual(['a', 'b', 'c'].map(nodeOf), ['n1', 'n1', '']);
    const c = get('c');
    assert.equal(c?.status?.phase, 'Pending');
    const cond = c?.status?.conditions?.find((x) => x.type === 'PodScheduled');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'Unschedulable');
    assert.match(cond?.message ?? '', /0\/1 nodes are available: node "n1": insufficient memory/);
  });

  test('a placed VMI finishing frees its share and the waiting one is placed', async () => {
    api.mutate<VirtualMachineInstance>(
      virtualMachineInstanceKind,
      'default',
      'a',
      (v) => {
        v.status = { ...v.status, phase: 'Succeeded' };
        return true;
      },
      true,
    );
    await scheduler.idle();
    assert.equal(nodeOf('c'), 'n1');
    assert.equal(get('c')?.status?.phase, 'Scheduled');
  });

  test('a placed VMI deleted frees its share; a pending one deleted frees nothing', async () => {
    api.create(virtualMachineInstanceKind, vmi('d'));
    await scheduler.idle();
    api.delete(virtualMachineInstanceKind, 'default', 'c');
    await scheduler.idle();
    assert.equal(nodeOf('d'), '', 'deleting the pending c made no room');
    api.delete(virtualMachineInstanceKind, 'default', 'b');
    await scheduler.idle();
    assert.equal(nodeOf('d'), 'n1');
  });

  test('the node growing places the waiting VMI', async () => {
    api.mutate<KubeObject>(
      nodeKind,
      '',
      'n1',
      (n) => {
        (n as KubeObject & { status: { allocatable: Record<string, string> } }).status.allocatable['memory'] =
          '2Gi';
        return true;
      },
      true,
    );
    await scheduler.idle();
    assert.equal(nodeOf('c'), 'n1');
  });
});
