/**
 * The garbage collector over kinds served from a CustomResourceDefinition accepted while it runs:
 * custom resources are collected when their owner goes (background, foreground, orphan), and a
 * built-in object owned by a custom resource lives as long as its owner does. Run over both
 * transports of the controller runtime.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { customKinds } from '../../../src/api/crd/custom-kinds.js';
import type { CustomResourceDefinition } from '../../../src/api/crd/crd.js';
import type { KindDefinition } from '../../../src/api/kind.js';
import type { KubeObject, OwnerReference } from '../../../src/api/meta.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ServedKinds } from '../../../src/apiserver/served-kinds.js';
import { GarbageCollector } from '../../../src/controllers/garbagecollector/controller.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { widgetCrd } from '../../support/crd-fixtures.js';
import { namespaceKind, testKinds, widgetKind } from '../../support/kinds.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

function servedKind(): KindDefinition {
  const [def] = customKinds(widgetCrd as unknown as CustomResourceDefinition);
  if (def === undefined) throw new Error('the Widget CRD serves no kind');
  return def;
}
const gadgetKind = servedKind();
const GADGETS = 'example.test/widgets';
const BUILT_IN_WIDGETS = 'test.hikube.io/widgets';

const refTo = (o: KubeObject, def: KindDefinition): OwnerReference => ({
  apiVersion: def.group === '' ? def.version : `${def.group}/${def.version}`,
  kind: def.kind,
  name: o.metadata.name ?? '',
  uid: o.metadata.uid ?? '',
  blockOwnerDeletion: true,
});

for (const kind of transports) {
  describe(`garbage collector over custom resources (${kind.name})`, () => {
    let r: Registry;
    let served: ServedKinds;
    let open: TransportUnderTest;
    let manager: Manager;
    beforeEach(async () => {
      r = new Registry(new SqliteStore({ path: ':memory:' }));
      r.create(namespaceKind, '', { metadata: { name: 'default' } });
      served = new ServedKinds(testKinds);
      open = await kind.open(r, served);
      manager = new Manager(open.transport);
      void manager.add(new GarbageCollector(manager, served));
      await manager.start();
      // The CRD is accepted after the collector started, as when a user applies one.
      served.set('widgets.example.test', [gadgetKind]);
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
    });

    const exists = (resource: string, name: string): boolean =>
      r.store.get(resource, 'default', name) !== undefined;

    const gadget = (name: string, owners: OwnerReference[] = []): KubeObject =>
      r.create(gadgetKind, 'default', {
        metadata: { name, ...(owners.length > 0 ? { ownerReferences: owners } : {}) },
        spec: { color: 'red' },
      }).object;

    /** A custom owner with a custom dependent and a built-in one. */
    function family(): void {
      const owner = gadget('owner');
      gadget('child', [refTo(owner, gadgetKind)]);
      r.create(widgetKind, 'default', {
        metadata: { name: 'plain', ownerReferences: [refTo(owner, gadgetKind)] },
      });
    }

    test('background: custom and built-in dependents of a custom owner are collected', async () => {
      family();
      r.delete(gadgetKind, 'default', 'owner', { propagationPolicy: 'Background' });
      await eventually(
        () => !exists(GADGETS, 'child') && !exists(BUILT_IN_WIDGETS, 'plain'),
        'both dependents to be collected',
      );
    });

    test('foreground: the custom owner waits until its dependents are gone', async () => {
      family();
      const deleting = r.delete(gadgetKind, 'default', 'owner', { propagationPolicy: 'Foreground' });
      assert.deepEqual(deleting.metadata.finalizers, ['foregroundDeletion']);
      await eventually(
        () => !exists(GADGETS, 'child') && !exists(BUILT_IN_WIDGETS, 'plain') && !exists(GADGETS, 'owner'),
        'the dependents, then the owner, to be deleted',
      );
    });

    test('orphan: the dependents stay, without their owner reference', async () => {
      family();
      r.delete(gadgetKind, 'default', 'owner', { propagationPolicy: 'Orphan' });
      await eventually(() => !exists(GADGETS, 'owner'), 'the owner to be deleted');
      assert.equal(r.get(gadgetKind, 'default', 'child').object.metadata.ownerReferences, undefined);
      assert.equal(r.get(widgetKind, 'default', 'plain').object.metadata.ownerReferences, undefined);
    });

    test('a custom resource owned by a built-in object is collected when it goes', async () => {
      const owner = r.create(widgetKind, 'default', { metadata: { name: 'boss' } }).object;
      gadget('minion', [refTo(owner, widgetKind)]);
      r.delete(widgetKind, 'default', 'boss');
      await eventually(() => !exists(GADGETS, 'minion'), 'the custom dependent to be collected');
    });

    test('an object owned by a live custom resource, or one of an unserved kind, is kept', async () => {
      const owner = gadget('alive');
      r.create(widgetKind, 'default', {
        metadata: { name: 'kept', ownerReferences: [refTo(owner, gadgetKind)] },
      });
      const unknown = { ...refTo(owner, gadgetKind), apiVersion: 'nowhere.test/v1', kind: 'Ghost' };
      r.create(widgetKind, 'default', { metadata: { name: 'unresolved', ownerReferences: [unknown] } });
      // A sentinel whose owner is really gone: once it is collected, the two above were looked at.
      const gone = r.create(widgetKind, 'default', { metadata: { name: 'gone' } }).object;
      r.delete(widgetKind, 'default', 'gone');
      r.create(widgetKind, 'default', {
        metadata: { name: 'sentinel', ownerReferences: [refTo(gone, widgetKind)] },
      });
      await eventually(() => !exists(BUILT_IN_WIDGETS, 'sentinel'), 'the sentinel to be collected');
      await manager.idle();
      assert.ok(exists(BUILT_IN_WIDGETS, 'kept'), 'owned by a live custom resource');
      assert.ok(exists(BUILT_IN_WIDGETS, 'unresolved'), 'owned by a kind nobody serves');
    });
  });
}
