/**
 * PriorityClass in the scheduler's queue: when capacity frees up, the pending VMI of the higher
 * class is placed first whatever its name or age; a VMI naming a missing class waits saying so,
 * until the class exists. Nothing placed is preempted.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { namespaceKind, nodeKind } from '../../../src/api/core/core.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import {
  priorityClassKind,
  priorityOf,
  type PriorityClass,
} from '../../../src/api/scheduling/priorityclass.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { Scheduler } from '../../../src/controllers/scheduler/controller.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

let store: SqliteStore;
let registry: Registry;
let api: ApiClient;
let scheduler: Scheduler;
let manager: Manager;

const vmi = (name: string, priorityClassName?: string): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name, namespace: 'default' },
  spec: {
    domain: { devices: {}, memory: { guest: '512Mi' } },
    ...(priorityClassName !== undefined ? { priorityClassName } : {}),
  },
});
const priorityClass = (name: string, value: number, globalDefault = false): PriorityClass => ({
  apiVersion: 'scheduling.k8s.io/v1',
  kind: 'PriorityClass',
  metadata: { name },
  value,
  globalDefault,
});
const get = (name: string): VirtualMachineInstance | undefined =>
  api.get<VirtualMachineInstance>(virtualMachineInstanceKind, 'default', name);
const nodeOf = (name: string): string => get(name)?.status?.nodeName ?? '';
const scheduledMessage = (name: string): string =>
  get(name)?.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message ?? '';

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store);
  registry.create(namespaceKind, '', { metadata: { name: 'default' } });
  api = new ApiClient(registry);
  api.create(nodeKind, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    status: { allocatable: { cpu: '16', memory: '1Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  api.create(priorityClassKind, priorityClass('high', 1000));
  manager = new Manager(new RegistryTransport(registry));
  scheduler = new Scheduler(manager, { cpuAllocationRatio: 10 });
  void manager.add(scheduler);
  await manager.start();
  for (const n of ['fill1', 'fill2']) {
    api.create(virtualMachineInstanceKind, vmi(n));
    await scheduler.idle();
  }
});
afterEach(() => {
  manager.stop();
  store.close();
});

describe('scheduler priority', () => {
  test('freed capacity goes to the higher class, not to the older or first-named VMI', async () => {
    api.create(virtualMachineInstanceKind, vmi('a-low'));
    await scheduler.idle();
    api.create(virtualMachineInstanceKind, vmi('z-high', 'high'));
    await scheduler.idle();
    assert.deepEqual(['fill1', 'fill2', 'a-low', 'z-high'].map(nodeOf), ['n1', 'n1', '', '']);

    api.delete(virtualMachineInstanceKind, 'default', 'fill1');
    await scheduler.idle();
    assert.equal(nodeOf('z-high'), 'n1', 'the higher class is placed first');
    assert.equal(nodeOf('a-low'), '', 'the lower one keeps waiting');
    assert.equal(nodeOf('fill2'), 'n1', 'nothing placed is preempted');
  });

  test('a VMI naming a missing class waits saying so, until the class exists', async () => {
    api.delete(virtualMachineInstanceKind, 'default', 'fill1');
    await scheduler.idle();
    api.create(virtualMachineInstanceKind, vmi('ghost', 'later'));
    await scheduler.idle();
    assert.equal(nodeOf('ghost'), '');
    assert.equal(scheduledMessage('ghost'), 'no PriorityClass with name "later" was found');
    api.create(priorityClassKind, priorityClass('later', 5));
    await scheduler.idle();
    assert.equal(nodeOf('ghost'), 'n1');
  });

  test('priority of a VMI: its class, else the global default, else 0; missing is undefined', () => {
    const classes = [priorityClass('high', 1000), priorityClass('base', 7, true)];
    assert.equal(priorityOf('high', classes), 1000);
    assert.equal(priorityOf(undefined, classes), 7);
    assert.equal(priorityOf(undefined, [priorityClass('high', 1000)]), 0);
    assert.equal(priorityOf('nope', classes), undefined);
    assert.equal(priorityOf('system-node-critical', []), 2_000_001_000);
  });

  test('bad PriorityClasses are refused with one cause per field', () => {
    let causes: string[] = [];
    try {
      registry.create(priorityClassKind, '', { ...priorityClass('system-mine', 2_000_000_001) });
    } catch (err) {
      causes = ((err as { details?: { causes?: { path: string }[] } }).details?.causes ?? []).map(
        (c) => c.path,
      );
    }
    assert.deepEqual(causes.sort(), ['metadata.name', 'value']);
    const current = registry.get(priorityClassKind, '', 'high').object;
    assert.throws(() => registry.update(priorityClassKind, '', 'high', { ...current, value: 1 }), /value/);
  });
});
