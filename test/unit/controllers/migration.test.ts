/**
 * Migrations on one node: accepted, then Failed at once with reason NoTargetNode, a condition and a
 * FailedMigration Event naming the VMI; a MigrationPolicy is kept and answered with the NoEffect
 * warning.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { eventKind, namespaceKind, type Event } from '../../../src/api/core/core.js';
import {
  migrationPolicyKind,
  virtualMachineInstanceMigrationKind as migrationKind,
  type VirtualMachineInstanceMigration,
} from '../../../src/api/kubevirt/migration.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { noEffectWarning } from '../../../src/api/schema.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { MigrationController } from '../../../src/controllers/migration/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const NS = 'default';
let store: SqliteStore;
let registry: Registry;
let api: ApiClient;
let manager: Manager;
let controller: MigrationController;

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store);
  registry.create(namespaceKind, '', { metadata: { name: NS } });
  api = new ApiClient(registry);
  manager = new Manager(new RegistryTransport(registry));
  controller = new MigrationController(manager, recorderFor(manager, 'migration-controller', 'node-1'));
  void manager.add(controller);
  await manager.start();
});
afterEach(() => {
  manager.stop();
  store.close();
});

const migrate = (name: string, vmi: string): VirtualMachineInstanceMigration =>
  api.create<VirtualMachineInstanceMigration>(migrationKind, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstanceMigration',
    metadata: { name, namespace: NS },
    spec: { vmiName: vmi },
  });

describe('VirtualMachineInstanceMigration on one node', () => {
  test('fails at once with NoTargetNode, a condition and an Event', async () => {
    api.create(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'web', namespace: NS },
      spec: { domain: { memory: { guest: '128Mi' }, devices: {} } },
    });
    const m = migrate('move-web', 'web');
    migrate('move-ghost', 'ghost');
    await controller.idle();
    const got = api.get<VirtualMachineInstanceMigration>(migrationKind, NS, 'move-web');
    assert.equal(got?.status?.phase, 'Failed');
    const failed = got?.status?.conditions?.[0] as { type?: string; reason?: string; message?: string };
    assert.equal(failed.reason, 'NoTargetNode');
    assert.match(failed.message ?? '', /no other node to migrate VirtualMachineInstance "web" to/);
    const events = api.list<Event>(eventKind, NS).filter((e) => e.involvedObject.uid === m.metadata.uid);
    assert.deepEqual(
      events.map((e) => e.reason),
      ['FailedMigration'],
    );
    assert.equal(
      api.get<VirtualMachineInstanceMigration>(migrationKind, NS, 'move-ghost')?.status?.phase,
      'Failed',
    );
  });

  test('a MigrationPolicy is kept, with the NoEffect warning', () => {
    const { warnings } = registry.create(migrationPolicyKind, '', {
      apiVersion: 'migrations.kubevirt.io/v1alpha1',
      kind: 'MigrationPolicy',
      metadata: { name: 'fast' },
      spec: { allowAutoConverge: true, selectors: { namespaceSelector: { team: 'a' } } },
    });
    assert.deepEqual(warnings, [noEffectWarning('spec')]);
  });
});
