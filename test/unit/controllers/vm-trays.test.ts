/**
 * The VM controller and live CD-ROM media (src/controllers/vm/trays.ts), against a real Registry
 * over an in-memory SQLite store: a medium added to a running VM's empty cdrom reaches its VMI
 * (same VMI, no RestartRequired), and its removal too; another edit still waits for a restart.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { findKindByGvk } from '../../../src/api/registry.js';
import type { Condition } from '../../../src/api/kubevirt/status.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { VmController } from '../../../src/controllers/vm/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';

const NS = 'default';
let time: FakeTime;
let store: SqliteStore;
let api: ApiClient;
let controller: VmController;
let manager: Manager;
let errors: string[];

beforeEach(async () => {
  time = new FakeTime();
  store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store, { now: () => time.now });
  const nsDef = findKindByGvk('v1', 'Namespace');
  if (nsDef === undefined) throw new Error('Namespace kind missing');
  registry.create(nsDef, '', { metadata: { name: NS } });
  api = new ApiClient(registry);
  errors = [];
  manager = new Manager(new RegistryTransport(registry));
  controller = new VmController({
    manager,
    events: recorderFor(manager, 'virtualmachine-controller', 'node-1', () => time.now),
    now: () => time.now,
    timers: time,
    log: (message) => errors.push(message),
  });
  void manager.add(controller);
  await manager.start();
});

afterEach(() => {
  manager.stop();
  store.close();
});

const settle = async (): Promise<void> => {
  await controller.idle();
  assert.deepEqual(errors, []);
};
const vmi = (): VirtualMachineInstance => {
  const got = api.get<VirtualMachineInstance>(virtualMachineInstanceKind, NS, 'cd');
  if (got === undefined) throw new Error('no VMI');
  return got;
};
const restartRequired = (): Condition | undefined =>
  (
    api.get<VirtualMachine>(virtualMachineKind, NS, 'cd')?.status?.conditions as Condition[] | undefined
  )?.find((c) => c.type === 'RestartRequired');
const editTemplate = (
  change: (spec: NonNullable<VirtualMachine['spec']['template']['spec']>) => void,
): void => {
  api.mutate<VirtualMachine>(virtualMachineKind, NS, 'cd', (vm) => {
    if (vm.spec.template.spec !== undefined) change(vm.spec.template.spec);
  });
};
const medium = { name: 'installer', containerDisk: { image: 'installer-iso' } };

describe('VM controller: CD-ROM media', { timeout: 20_000 }, () => {
  test('a medium added to and removed from a running VM reaches its VMI without a restart', async () => {
    api.create<VirtualMachine>(virtualMachineKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'cd', namespace: NS },
      spec: {
        runStrategy: 'Always',
        template: {
          spec: {
            domain: {
              devices: {
                disks: [
                  { name: 'root', disk: {} },
                  { name: 'installer', cdrom: { bus: 'sata' } },
                ],
              },
              resources: { requests: { memory: '128Mi' } },
            },
            volumes: [{ name: 'root', containerDisk: { image: 'tiny' } }],
          },
        },
      },
    });
    await settle();
    const uid = vmi().metadata.uid;
    assert.deepEqual(
      vmi().spec.volumes?.map((v) => v.name),
      ['root'],
    );

    editTemplate((spec) => spec.volumes?.push(medium));
    await settle();
    assert.equal(vmi().metadata.uid, uid);
    assert.deepEqual(vmi().spec.volumes?.at(-1), medium);
    assert.equal(restartRequired(), undefined);

    editTemplate((spec) => {
      spec.volumes = spec.volumes?.filter((v) => v.name !== 'installer') ?? [];
    });
    await settle();
    assert.equal(vmi().metadata.uid, uid);
    assert.deepEqual(
      vmi().spec.volumes?.map((v) => v.name),
      ['root'],
    );
    assert.equal(restartRequired(), undefined);

    // Another edit still waits for a restart; a medium added with it goes in live all the same.
    editTemplate((spec) => {
      spec.volumes?.push(medium);
      spec.hostname = 'other';
    });
    await settle();
    assert.equal(vmi().spec.hostname, undefined);
    assert.deepEqual(vmi().spec.volumes?.at(-1), medium);
    assert.equal(restartRequired()?.status, 'True');
  });
});
