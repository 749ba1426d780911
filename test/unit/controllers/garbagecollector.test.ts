import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { GarbageCollector } from '../../../src/controllers/garbagecollector/controller.js';
import { NamespaceController } from '../../../src/controllers/namespace/controller.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { namespaceKind, testKinds, widgetKind } from '../../support/kinds.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

// One suite, run on the controller runtime over each transport: in process and over HTTP.
for (const kind of transports) {
  describe(`garbage collector and namespaces (${kind.name})`, () => {
    let r: Registry;
    let open: TransportUnderTest;
    let manager: Manager;
    beforeEach(async () => {
      r = new Registry(new SqliteStore({ path: ':memory:' }));
      r.create(namespaceKind, '', { metadata: { name: 'default' } });
      open = await kind.open(r, testKinds);
      manager = await startCollectors(open);
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
    });

    async function startCollectors(t: TransportUnderTest): Promise<Manager> {
      const m = new Manager(t.transport);
      void m.add(new GarbageCollector(m, testKinds));
      void m.add(new NamespaceController(m, testKinds));
      await m.start();
      return m;
    }

    const exists = (name: string, namespace = 'default'): boolean =>
      r.store.get('test.hikube.io/widgets', namespace, name) !== undefined;

    function ownerAndChild(): { owner: KubeObject; child: KubeObject } {
      const owner = r.create(widgetKind, 'default', { metadata: { name: 'owner' } }).object;
      const ref = {
        apiVersion: 'test.hikube.io/v1',
        kind: 'Widget',
        name: 'owner',
        uid: owner.metadata.uid ?? '',
        blockOwnerDeletion: true,
      };
      const child = r.create(widgetKind, 'default', {
        metadata: { name: 'child', ownerReferences: [ref] },
      }).object;
      return { owner, child };
    }

    describe('garbage collector', () => {
      test('background: the owner goes at once, its dependents right after', async () => {
        ownerAndChild();
        r.delete(widgetKind, 'default', 'owner', { propagationPolicy: 'Background' });
        assert.equal(exists('owner'), false);
        await eventually(() => !exists('child'), 'the dependent to be collected');
      });

      test('foreground: the owner waits, marked deleting, until its dependents are gone', async () => {
        ownerAndChild();
        const deleting = r.delete(widgetKind, 'default', 'owner', { propagationPolicy: 'Foreground' });
        assert.deepEqual(deleting.metadata.finalizers, ['foregroundDeletion']);
        await eventually(() => !exists('child') && !exists('owner'), 'dependent then owner to be deleted');
      });

      test('orphan: the dependent stays, without its owner reference', async () => {
        ownerAndChild();
        r.delete(widgetKind, 'default', 'owner', { propagationPolicy: 'Orphan' });
        await eventually(() => !exists('owner'), 'the owner to be deleted');
        const child = r.get(widgetKind, 'default', 'child').object;
        assert.equal(child.metadata.ownerReferences, undefined);
      });

      test('a dependent whose owner vanished while nothing watched is collected at start', async () => {
        manager.stop();
        ownerAndChild();
        r.delete(widgetKind, 'default', 'owner');
        assert.ok(exists('child'));
        manager = await startCollectors(open);
        await eventually(() => !exists('child'), 'the orphaned dependent to be collected');
      });
    });

    describe('namespace controller', () => {
      test('deleting a namespace deletes its contents, then the namespace', async () => {
        r.create(namespaceKind, '', { metadata: { name: 'team' } });
        r.create(widgetKind, 'team', { metadata: { name: 'a' } });
        r.create(widgetKind, 'team', { metadata: { name: 'b', finalizers: ['example.com/slow'] } });
        r.delete(namespaceKind, '', 'team');
        await eventually(() => !exists('a', 'team'), 'a to be deleted');
        assert.ok(r.get(namespaceKind, '', 'team'), 'the namespace waits for b');
        const b = r.get(widgetKind, 'team', 'b').object;
        r.update(widgetKind, 'team', 'b', { ...b, metadata: { ...b.metadata, finalizers: [] } });
        await eventually(
          () => r.store.get('/namespaces', '', 'team') === undefined,
          'the namespace to be deleted',
        );
        assert.ok(exists('owner') === false);
      });
    });
  });
}
