/**
 * The controller runtime's contract, run against both transports (in process over the Registry,
 * and over HTTP to a real API server started here): lists and watches, resume after a dropped
 * watch, a fresh list after 410 Gone, bookmarks, indexes, conflict retries from a stale cache,
 * and errors as the same ApiError whichever way they travelled.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { KindDefinition } from '../../../src/api/kind.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { Manager } from '../../../src/runtime/manager.js';
import type { ApiTransport, WatchEvent, WatchHandlers } from '../../../src/runtime/transport.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { namespaceKind, testKinds, widgetKind } from '../../support/kinds.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

/** A real transport whose watches the test can cut, or hold back (a cache running behind). */
class Interruptible implements ApiTransport {
  readonly describe: string;
  held = false;
  private readonly heldEvents: (() => void)[] = [];
  private readonly live = new Set<{ stop: () => void; handlers: WatchHandlers }>();

  constructor(private readonly inner: ApiTransport) {
    this.describe = inner.describe;
  }

  list(def: KindDefinition, namespace?: string) {
    return this.inner.list(def, namespace);
  }
  get(def: KindDefinition, namespace: string, name: string) {
    return this.inner.get(def, namespace, name);
  }
  create(def: KindDefinition, object: KubeObject) {
    return this.inner.create(def, object);
  }
  update(def: KindDefinition, object: KubeObject, subresource?: 'status') {
    return this.inner.update(def, object, subresource);
  }
  delete(def: KindDefinition, namespace: string, name: string) {
    return this.inner.delete(def, namespace, name);
  }

  watch(def: KindDefinition, resourceVersion: string, handlers: WatchHandlers): () => void {
    // The in-process transport may end a watch before watch() returns (410 at once).
    const entry: { stop: () => void; handlers: WatchHandlers } = { handlers, stop: () => undefined };
    this.live.add(entry);
    entry.stop = this.inner.watch(def, resourceVersion, {
      event: (e: WatchEvent) => {
        if (this.held) this.heldEvents.push(() => handlers.event(e));
        else handlers.event(e);
      },
      end: (reason) => {
        this.live.delete(entry);
        handlers.end(reason);
      },
    });
    return () => {
      this.live.delete(entry);
      entry.stop();
    };
  }

  /** Drops every watch as a broken connection would; the informers resume by themselves. */
  cut(): void {
    for (const e of [...this.live]) {
      this.live.delete(e);
      e.stop();
      e.handlers.end({ gone: false, error: new Error('connection reset by the test') });
    }
  }

  release(): void {
    this.held = false;
    for (const deliver of this.heldEvents.splice(0)) deliver();
  }
}

const widget = (name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'test.hikube.io/v1',
  kind: 'Widget',
  metadata: { name, namespace: 'default', ...extra },
});

for (const kind of transports) {
  describe(`controller runtime (${kind.name})`, () => {
    let registry: Registry;
    let open: TransportUnderTest;
    let transport: Interruptible;
    let manager: Manager;
    const names = (): string[] =>
      manager
        .informer(widgetKind)
        .list('default')
        .map((o) => o.metadata.name ?? '');

    beforeEach(async () => {
      registry = new Registry(new SqliteStore({ path: ':memory:', historySize: 5 }));
      registry.create(namespaceKind, '', { metadata: { name: 'default' } });
      open = await kind.open(registry, testKinds);
      transport = new Interruptible(open.transport);
      manager = new Manager(transport);
      manager
        .informer(widgetKind)
        .addIndex('colour', (o) => [String((o['spec'] as { colour?: string } | undefined)?.colour ?? '')]);
      registry.create(widgetKind, 'default', widget('before'));
      await manager.start();
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
    });

    test('lists at start, then sees creates, updates and deletes', async () => {
      assert.deepEqual(names(), ['before']);
      const seen: string[] = [];
      manager.informer(widgetKind).onChange((type, o) => seen.push(`${type} ${o.metadata.name ?? ''}`));
      await manager.client.create(widgetKind, widget('w1'));
      await manager.client.mutate<KubeObject>(widgetKind, 'default', 'before', (o) => {
        o.metadata.labels = { touched: 'yes' };
      });
      await manager.client.delete(widgetKind, 'default', 'w1');
      await eventually(() => seen.length === 3, 'three changes to reach the cache');
      assert.deepEqual(seen, ['ADDED w1', 'MODIFIED before', 'DELETED w1']);
      assert.equal(
        manager.client.get<KubeObject>(widgetKind, 'default', 'before')?.metadata.labels?.['touched'],
        'yes',
      );
    });

    test('an index follows the objects as they change', async () => {
      await manager.client.create(widgetKind, { ...widget('r'), spec: { colour: 'red' } });
      await eventually(() => manager.client.byIndex(widgetKind, 'colour', 'red').length === 1, 'r under red');
      await manager.client.mutate<KubeObject>(widgetKind, 'default', 'r', (o) => {
        o['spec'] = { colour: 'blue' };
      });
      await eventually(
        () => manager.client.byIndex(widgetKind, 'colour', 'blue').length === 1,
        'r under blue',
      );
      assert.deepEqual(manager.client.byIndex(widgetKind, 'colour', 'red'), []);
    });

    test('a dropped watch resumes from the last version seen: nothing lost, nothing twice', async () => {
      const seen: string[] = [];
      manager.informer(widgetKind).onChange((type, o) => seen.push(`${type} ${o.metadata.name ?? ''}`));
      transport.cut();
      registry.create(widgetKind, 'default', widget('while-away'));
      await eventually(() => seen.includes('ADDED while-away'), 'the change made while the watch was down');
      registry.create(widgetKind, 'default', widget('after'));
      await eventually(() => seen.includes('ADDED after'), 'a change after the watch resumed');
      assert.deepEqual(seen, ['ADDED while-away', 'ADDED after']);
    });

    test('a version older than the history (410 Gone) lists again and reports what changed', async () => {
      const seen: string[] = [];
      manager.informer(widgetKind).onChange((type, o) => seen.push(`${type} ${o.metadata.name ?? ''}`));
      transport.held = true;
      transport.cut();
      // More changes than the store's history (5) keeps, while no watch runs: it compacts every
      // 1,000 versions.
      registry.delete(widgetKind, 'default', 'before');
      for (let i = 0; i < 1000; i++)
        registry.create(namespaceKind, '', { metadata: { name: `filler-${i}` } });
      assert.throws(() => registry.store.changesSince(2), /too old/, 'the history was compacted');
      registry.create(widgetKind, 'default', widget('new'));
      transport.release();
      await eventually(() => names().join() === 'new', 'the cache to hold only the new widget');
      assert.deepEqual(seen.sort(), ['ADDED new', 'DELETED before']);
    });

    test('mutate on a cache running behind retries on the server’s copy', async () => {
      transport.held = true;
      registry.update(widgetKind, 'default', 'before', {
        ...registry.get(widgetKind, 'default', 'before').object,
        spec: { count: 1 },
      });
      const stale = manager.client.get<KubeObject>(widgetKind, 'default', 'before');
      assert.equal(stale?.['spec'], undefined, 'the cache is behind');
      const done = await manager.client.mutate<KubeObject>(widgetKind, 'default', 'before', (o) => {
        o.metadata.labels = { seen: String((o['spec'] as { count?: number } | undefined)?.count) };
      });
      assert.equal(done?.metadata.labels?.['seen'], '1', 'the change was applied to the current object');
      transport.release();
    });

    test('a reconciler starts on a synced cache, also when added to a running manager', async () => {
      registry.create(widgetKind, 'default', widget('second'));
      const late = new Manager(transport);
      await late.start();
      const seenAtStart: { synced: boolean; widgets: number; namespaces: number }[] = [];
      // Declared by a reconciler added to the running manager: informers created after its start.
      const widgets = late.informer(widgetKind);
      const namespaces = late.informer(namespaceKind);
      await late.add({
        name: 'observer',
        start: () =>
          seenAtStart.push({
            synced: widgets.hasSynced && namespaces.hasSynced,
            widgets: widgets.list().length,
            namespaces: namespaces.list().length,
          }),
        stop: () => undefined,
      });
      late.stop();
      assert.deepEqual(seenAtStart, [{ synced: true, widgets: 2, namespaces: 1 }]);
    });

    test('errors arrive as the same ApiError: reason, code, one cause per bad field', async () => {
      await assert.rejects(manager.client.create(widgetKind, widget('before')), (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.reason, 'AlreadyExists');
        return true;
      });
      await assert.rejects(
        manager.client.create(widgetKind, { ...widget('bad'), spec: { colour: 'green', count: 'x' } }),
        (err: unknown) => {
          assert.ok(err instanceof ApiError);
          assert.equal(err.code, 422);
          assert.deepEqual(err.details.causes?.map((c) => c.path).sort(), ['spec.colour', 'spec.count']);
          return true;
        },
      );
      await manager.client.delete(widgetKind, 'default', 'never-existed');
    });
  });
}

describe('controller runtime (http)', () => {
  test('bookmarks move the resourceVersion on without events', async () => {
    const registry = new Registry(new SqliteStore({ path: ':memory:' }));
    registry.create(namespaceKind, '', { metadata: { name: 'default' } });
    const open = await (transports.find((t) => t.name === 'http') ?? assert.fail('no http')).open(
      registry,
      testKinds,
    );
    try {
      const events: WatchEvent[] = [];
      registry.create(namespaceKind, '', { metadata: { name: 'moves-rv' } });
      const stop = open.transport.watch(widgetKind, '1', {
        event: (e) => events.push(e),
        end: () => undefined,
      });
      const bookmark = await eventually(
        () => events.find((e) => e.type === 'BOOKMARK' && Number(e.resourceVersion) >= 2),
        'a bookmark past the namespace write',
      );
      stop();
      assert.equal(events.filter((e) => e.type !== 'BOOKMARK').length, 0);
      assert.ok(bookmark);
    } finally {
      await open.close();
    }
  });
});
