/**
 * The VM controller on the controller runtime over both transports (in process, and HTTP to a real
 * API server): a VM that should run gets one VMI, and a controller restarted with a fresh cache
 * finds it rather than making another. Then, in process, a VMI informer held behind the VM's (as
 * separate HTTP streams can be): the controller asks the server and reports no failed create.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { seedObjects } from '../../../src/api/catalog.js';
import { eventKind, namespaceKind, type Event } from '../../../src/api/core/core.js';
import type { KindDefinition } from '../../../src/api/kind.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { findKindByGvk, kinds } from '../../../src/api/registry.js';
import { Registry, resourceKey } from '../../../src/apiserver/registry.js';
import { VmController } from '../../../src/controllers/vm/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import type { ApiTransport, WatchHandlers } from '../../../src/runtime/transport.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

const NS = 'vm-rt';

function seeded(): { store: SqliteStore; registry: Registry } {
  const store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  registry.create(namespaceKind, '', { metadata: { name: NS } });
  for (const object of seedObjects()) {
    const def = findKindByGvk(object.apiVersion, object.kind) ?? assert.fail(object.kind);
    registry.create(def, object.metadata.namespace ?? '', object);
  }
  return { store, registry };
}

function createVm(registry: Registry, name: string): VirtualMachine {
  return registry.create(virtualMachineKind, NS, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS },
    spec: {
      runStrategy: 'Always',
      template: {
        spec: {
          domain: { devices: {}, resources: { requests: { memory: '128Mi' } } },
          volumes: [{ name: 'root', containerDisk: { image: 'tiny' } }],
        },
      },
    },
  }).object as VirtualMachine;
}

const stored = (registry: Registry, def: KindDefinition): string[] =>
  registry.store.list(resourceKey(def), NS).items.map((o) => o.name);

function startController(transport: ApiTransport, failures: string[]): Manager {
  const manager = new Manager(transport);
  void manager.add(
    new VmController({
      manager,
      events: recorderFor(manager, 'virtualmachine-controller', 'node-1'),
      log: (m) => failures.push(m),
    }),
  );
  void manager.start();
  return manager;
}

for (const kind of transports) {
  describe(`the VM controller (${kind.name})`, () => {
    let store: SqliteStore;
    let registry: Registry;
    let open: TransportUnderTest;
    let manager: Manager | undefined;
    const failures: string[] = [];

    beforeEach(async () => {
      ({ store, registry } = seeded());
      open = await kind.open(registry, kinds);
      failures.length = 0;
    });
    afterEach(async () => {
      manager?.stop();
      await open.close();
      store.close();
    });

    test('a running VM gets one VMI; a restarted controller (fresh cache) makes no second', async () => {
      manager = startController(open.transport, failures);
      const vm = createVm(registry, 'web');
      await eventually(() => stored(registry, virtualMachineInstanceKind).length === 1, 'the VMI');
      await eventually(() => {
        const got = registry.store.get(resourceKey(virtualMachineKind), NS, 'web')?.object as
          VirtualMachine | undefined;
        return got?.status?.created === true;
      }, 'the VM status to say created');
      manager.stop();
      manager = startController(open.transport, failures);
      createVm(registry, 'db');
      await eventually(() => stored(registry, virtualMachineInstanceKind).length === 2, 'the second VMI');
      await manager.idle();
      assert.deepEqual(stored(registry, virtualMachineInstanceKind), ['db', 'web']);
      const vmi = registry.store.get(resourceKey(virtualMachineInstanceKind), NS, 'web')?.object;
      assert.equal(vmi?.metadata.ownerReferences?.[0]?.uid, vm.metadata.uid);
      assert.deepEqual(failures, []);
    });
  });
}

/** A transport whose VMI watch delivers nothing: the VMI cache stays as first listed. */
class LaggingVmis implements ApiTransport {
  readonly describe = 'in-process, VMI watch held';
  constructor(private readonly inner: RegistryTransport) {}
  list: ApiTransport['list'] = (def, ns) => this.inner.list(def, ns);
  get: ApiTransport['get'] = (def, ns, name) => this.inner.get(def, ns, name);
  create: ApiTransport['create'] = (def, o) => this.inner.create(def, o);
  update: ApiTransport['update'] = (def, o, sub) => this.inner.update(def, o, sub);
  delete: ApiTransport['delete'] = (def, ns, name, opts) => this.inner.delete(def, ns, name, opts);
  watch(def: KindDefinition, rv: string, handlers: WatchHandlers): () => void {
    if (def === virtualMachineInstanceKind) return () => undefined;
    return this.inner.watch(def, rv, handlers);
  }
}

describe('the VM controller with a VMI cache behind the VM cache', () => {
  test('it finds the VMI on the server instead of failing to create a second', async () => {
    const { store, registry } = seeded();
    const failures: string[] = [];
    const manager = startController(new LaggingVmis(new RegistryTransport(registry)), failures);
    try {
      const vm = createVm(registry, 'web');
      await eventually(() => stored(registry, virtualMachineInstanceKind).length === 1, 'the VMI');
      // Another change of the VM: a sync that does not see the VMI in its cache.
      registry.update(virtualMachineKind, NS, 'web', {
        ...(registry.store.get(resourceKey(virtualMachineKind), NS, 'web')?.object as VirtualMachine),
        metadata: {
          ...(registry.store.get(resourceKey(virtualMachineKind), NS, 'web')?.object.metadata ?? {}),
          labels: { touched: 'yes' },
        },
      });
      await eventually(
        () =>
          (registry.store.get(resourceKey(virtualMachineKind), NS, 'web')?.object as VirtualMachine).status
            ?.created === true,
        'the VM status to say created',
      );
      await manager.idle();
      const events = registry.store
        .list(resourceKey(eventKind), NS)
        .items.map((o) => o.object as Event)
        .filter((e) => e.involvedObject.uid === vm.metadata.uid);
      assert.deepEqual(
        events.filter((e) => e.reason === 'FailedCreate').map((e) => e.message),
        [],
      );
      const status = (
        registry.store.get(resourceKey(virtualMachineKind), NS, 'web')?.object as VirtualMachine
      ).status;
      assert.equal(
        (status?.conditions ?? []).some((c) => c.reason === 'FailedCreate'),
        false,
      );
      assert.deepEqual(failures, []);
    } finally {
      manager.stop();
      store.close();
    }
  });
});
