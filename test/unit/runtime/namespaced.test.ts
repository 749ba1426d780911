/**
 * A manager scoped to one namespace (`hikube operator --namespace`) over both transports: its
 * informers list and watch that namespace only, so objects elsewhere never reach its cache or its
 * reconcilers, and it asks the server for that namespace only (what a namespaced Role allows).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Registry } from '../../../src/apiserver/registry.js';
import { RecordingTransport } from '../../../src/operator/permissions.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { namespaceKind, testKinds, widgetKind } from '../../support/kinds.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

for (const kind of transports) {
  describe(`a manager scoped to one namespace (${kind.name})`, () => {
    let r: Registry;
    let open: TransportUnderTest;
    let recording: RecordingTransport;
    let manager: Manager;
    beforeEach(async () => {
      r = new Registry(new SqliteStore({ path: ':memory:' }));
      for (const name of ['mine', 'theirs']) r.create(namespaceKind, '', { metadata: { name } });
      open = await kind.open(r, testKinds);
      recording = new RecordingTransport(open.transport);
      manager = new Manager(recording, { namespace: 'mine' });
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
    });

    test('caches and hears of its namespace only, and asks for no other', async () => {
      r.create(widgetKind, 'mine', { metadata: { name: 'before' } });
      r.create(widgetKind, 'theirs', { metadata: { name: 'before' } });
      const heard: string[] = [];
      manager.informer(widgetKind).onChange((type, o) => heard.push(`${type} ${o.metadata.namespace ?? ''}`));
      await manager.start();
      r.create(widgetKind, 'theirs', { metadata: { name: 'after' } });
      r.create(widgetKind, 'mine', { metadata: { name: 'after' } });
      await eventually(() => manager.client.get(widgetKind, 'mine', 'after') !== undefined, 'the new widget');
      assert.deepEqual(
        manager.client.list(widgetKind).map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`),
        ['mine/after', 'mine/before'],
      );
      assert.deepEqual(heard, ['ADDED mine', 'ADDED mine']);
      const widgetCalls = recording
        .scopedPermissions()
        .filter((p) => p.resource === 'widgets')
        .map((p) => `${p.verb} @${p.namespace}`)
        .sort();
      assert.deepEqual(widgetCalls, ['list @mine', 'watch @mine']);
      // It knows what it cannot see: an object elsewhere is not "absent" to it.
      assert.equal(manager.client.sees(widgetKind, 'mine'), true);
      assert.equal(manager.client.sees(widgetKind, 'theirs'), false);
      assert.equal(
        manager.client.sees(namespaceKind, 'theirs'),
        true,
        'a cluster-scoped kind is cached whole',
      );
    });
  });
}
