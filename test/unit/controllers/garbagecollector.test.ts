import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { GarbageCollector } from '../../../src/controllers/garbagecollector/controller.js';
import { NamespaceController } from '../../../src/controllers/namespace/controller.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { namespaceKind, testKinds, widgetKind } from '../../support/kinds.js';
import { eventually } from '../../support/wait.js';

let r: Registry;
let gc: GarbageCollector;
let ns: NamespaceController;
beforeEach(() => {
  r = new Registry(new SqliteStore({ path: ':memory:' }));
  r.create(namespaceKind, '', { metadata: { name: 'default' } });
  gc = new GarbageCollector(r, testKinds);
  ns = new NamespaceController(r, testKinds);
  gc.start();
  ns.start();
});
afterEach(() => {
  gc.stop();
  ns.stop();
});

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
    gc.stop();
    ownerAndChild();
    r.delete(widgetKind, 'default', 'owner');
    assert.ok(exists('child'));
    gc = new GarbageCollector(r, testKinds);
    gc.start();
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
