/**
 * The Cozystack reconciler on the controller runtime over both transports: in process, and over
 * HTTP to a real API server (what an operator outside `hikube up` would use). A VMDisk and a
 * VMInstance become a DataVolume, a VirtualMachine, Secrets and a Service; a reconciler stopped
 * mid-way and started again (a fresh cache) converges on the same objects, with no duplicates.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { seedObjects } from '../../../src/api/catalog.js';
import { dataVolumeKind } from '../../../src/api/cdi/datavolume.js';
import { namespaceKind, secretKind } from '../../../src/api/core/core.js';
import { serviceKind } from '../../../src/api/core/service.js';
import { GOLDEN_IMAGES_NAMESPACE, vmDiskKind } from '../../../src/api/cozystack/vmdisk.js';
import { vmInstanceKind, type VMInstance } from '../../../src/api/cozystack/vminstance.js';
import type { KindDefinition } from '../../../src/api/kind.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { findKindByGvk, kinds } from '../../../src/api/registry.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { CozystackController } from '../../../src/controllers/cozystack/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

const NS = 'tenant';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDw2kDYpdyHo5SgmCzLSIbYtUAyyWjgcIHAQT6jfLOuD alice@example';

for (const kind of transports) {
  describe(`the Cozystack reconciler (${kind.name})`, () => {
    let store: SqliteStore;
    let registry: Registry;
    let open: TransportUnderTest;
    let manager: Manager | undefined;
    const failures: string[] = [];

    async function startReconciler(): Promise<void> {
      const m = new Manager(open.transport);
      void m.add(
        new CozystackController({
          manager: m,
          events: recorderFor(m, 'cozystack-controller', 'node-1'),
          log: (message) => failures.push(message),
        }),
      );
      await m.start();
      manager = m;
    }

    const names = (def: KindDefinition): string[] =>
      registry.store.list(`${def.group}/${def.plural}`, NS).items.map((o) => o.name);
    const vm = (): VirtualMachine | undefined =>
      registry.store.get(`${virtualMachineKind.group}/${virtualMachineKind.plural}`, NS, 'vm-instance-web')
        ?.object as VirtualMachine | undefined;

    beforeEach(async () => {
      store = new SqliteStore({ path: ':memory:' });
      registry = new Registry(store);
      registry.create(namespaceKind, '', { metadata: { name: NS } });
      registry.create(namespaceKind, '', { metadata: { name: GOLDEN_IMAGES_NAMESPACE } });
      for (const object of seedObjects()) {
        const def = findKindByGvk(object.apiVersion, object.kind) ?? assert.fail(object.kind);
        registry.create(def, object.metadata.namespace ?? '', object);
      }
      open = await kind.open(registry, kinds);
      failures.length = 0;
      await startReconciler();
    });
    afterEach(async () => {
      manager?.stop();
      await open.close();
      store.close();
    });

    test('a VMInstance gets its objects; a restart mid-way converges without duplicates', async () => {
      registry.create(vmDiskKind, NS, { metadata: { name: 'system' }, spec: { source: { blank: {} } } });
      registry.create(vmInstanceKind, NS, {
        metadata: { name: 'web' },
        spec: { disks: [{ name: 'system' }], instanceType: 'u1.small', external: true, sshKeys: [KEY] },
      });
      await eventually(() => vm()?.spec.instancetype?.name === 'u1.small', 'the VM');
      await eventually(() => names(serviceKind).includes('vm-instance-web'), 'the Service');
      // The VMDisk is its own key: its DataVolume may come after the VMInstance's objects.
      await eventually(() => names(dataVolumeKind).includes('vm-disk-system'), 'the DataVolume');
      assert.deepEqual(names(dataVolumeKind), ['vm-disk-system']);
      await eventually(() => names(secretKind).includes('vm-instance-web-ssh-keys'), 'the Secrets');
      const uid = vm()?.metadata.uid;

      // Stopped mid-way; the user edits meanwhile; a new reconciler (an empty cache) takes over.
      manager?.stop();
      manager = undefined;
      const inst = registry.get(vmInstanceKind, NS, 'web').object as VMInstance;
      registry.update(vmInstanceKind, NS, 'web', {
        ...inst,
        spec: { ...inst.spec, instanceType: 'u1.large' },
      });
      await startReconciler();
      await eventually(() => vm()?.spec.instancetype?.name === 'u1.large', 'the VM to follow the edit');
      await eventually(
        () =>
          (registry.get(vmInstanceKind, NS, 'web').object as VMInstance).status?.virtualMachine ===
          'vm-instance-web',
        'the VMInstance status',
      );
      assert.equal(vm()?.metadata.uid, uid, 'the same VM, updated');
      assert.deepEqual(names(virtualMachineKind), ['vm-instance-web'], 'one VM');
      assert.deepEqual(names(dataVolumeKind), ['vm-disk-system'], 'one DataVolume');
      assert.deepEqual(names(serviceKind), ['vm-instance-web'], 'one Service');
      assert.deepEqual(
        names(secretKind).filter((n) => n.startsWith('vm-instance-web')),
        ['vm-instance-web-cloud-init', 'vm-instance-web-ssh-keys'],
        'the Secrets once each',
      );
    });
  });
}
