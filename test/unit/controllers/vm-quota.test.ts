/**
 * A VM whose VMI a ResourceQuota refuses: the VM shows FailedCreate with the quota's message and an
 * event, and it starts by itself once the quota has room (no change to the VM needed). A real
 * Registry over in-memory SQLite, a fake clock.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { eventKind, namespaceKind, type Event } from '../../../src/api/core/core.js';
import { resourceQuotaKind } from '../../../src/api/core/quota.js';
import type { Condition } from '../../../src/api/kubevirt/status.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { VmController } from '../../../src/controllers/vm/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';

const NS = 'acme';
let time: FakeTime;
let store: SqliteStore;
let registry: Registry;
let manager: Manager;
let controller: VmController;

beforeEach(async () => {
  time = new FakeTime();
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store, { now: () => time.now });
  registry.create(namespaceKind, '', { metadata: { name: NS } });
  manager = new Manager(new RegistryTransport(registry));
  controller = new VmController({
    manager,
    events: recorderFor(manager, 'virtualmachine-controller', 'node-1', () => time.now),
    now: () => time.now,
    timers: time,
  });
  void manager.add(controller);
  await manager.start();
});

afterEach(() => {
  manager.stop();
  store.close();
});

test('a VM over its quota shows FailedCreate and an event, and starts once the quota has room', async () => {
  registry.create(resourceQuotaKind, NS, {
    metadata: { name: 'compute' },
    spec: { hard: { 'limits.cpu': '2' } },
  });
  registry.create(virtualMachineKind, NS, {
    metadata: { name: 'big' },
    spec: {
      runStrategy: 'Always',
      template: {
        spec: {
          domain: {
            cpu: { cores: 4 },
            memory: { guest: '128Mi' },
            devices: { disks: [{ name: 'root', disk: {} }] },
          },
          volumes: [{ name: 'root', containerDisk: { image: 'tiny' } }],
        },
      },
    },
  });
  await controller.idle();
  const vm = registry.get(virtualMachineKind, NS, 'big').object as VirtualMachine;
  const failure = (vm.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Failure');
  assert.equal(failure?.reason, 'FailedCreate');
  assert.match(
    failure?.message ?? '',
    /exceeded quota: compute, requested: limits.cpu=4, used: limits.cpu=0, limited: limits.cpu=2/,
  );
  const events = store.list(`/${eventKind.plural}`, NS).items.map((e) => e.object as unknown as Event);
  assert.ok(
    events.some((e) => e.reason === 'FailedCreate' && /exceeded quota: compute/.test(e.message ?? '')),
    JSON.stringify(events.map((e) => e.message)),
  );
  assert.equal(store.get('kubevirt.io/virtualmachineinstances', NS, 'big'), undefined);

  // Room in the quota: nothing about the VM changes, and still it starts.
  const quota = registry.get(resourceQuotaKind, NS, 'compute').object;
  registry.update(resourceQuotaKind, NS, 'compute', { ...quota, spec: { hard: { 'limits.cpu': '4' } } });
  await controller.idle();
  await time.advanceSettling(10_000, () => controller.idle());
  assert.ok(
    store.get(`${virtualMachineInstanceKind.group}/${virtualMachineInstanceKind.plural}`, NS, 'big'),
    'the VMI was created after the quota grew',
  );
});
