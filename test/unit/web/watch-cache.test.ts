/**
 * The console's shared list-watches: components asking for the same resource and query share one
 * watch; the last one leaving stops it (after a turn, so a remount keeps it); what they read is one
 * stable, sorted list that events replace.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '../../../web/src/api/types.js';
import { EMPTY_LIST, WatchCache, type WatchQuery, type WatchSink } from '../../../web/src/api/watchCache.js';

interface Started {
  path: string;
  query: WatchQuery;
  sink: WatchSink;
  stopped: boolean;
}

const VMS = '/apis/kubevirt.io/v1/virtualmachines';
const obj = (name: string, namespace = 'default', rv = '1'): KubeObject => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace, resourceVersion: rv },
});
const names = (items: KubeObject[]): string[] =>
  items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

let started: Started[];
let deferred: (() => void)[];
let cache: WatchCache;
const runDeferred = (): void => {
  for (const fn of deferred.splice(0)) fn();
};

beforeEach(() => {
  started = [];
  deferred = [];
  cache = new WatchCache(
    (path, query, sink) => {
      const s: Started = { path, query, sink, stopped: false };
      started.push(s);
      return () => (s.stopped = true);
    },
    (fn) => deferred.push(fn),
  );
});

describe('WatchCache', () => {
  test('components asking for the same list share one watch and read the same list', () => {
    let a = 0;
    let b = 0;
    cache.subscribe(VMS, {}, () => (a += 1));
    cache.subscribe(VMS, {}, () => (b += 1));
    assert.equal(started.length, 1);
    started[0]?.sink.sync([obj('b'), obj('a', 'other'), obj('a')]);
    assert.deepEqual(names(cache.snapshot(VMS).items), ['default/a', 'default/b', 'other/a']);
    assert.equal(cache.snapshot(VMS).loaded, true);
    assert.deepEqual([a, b], [1, 1]);
  });

  test('another query or another path is another watch', () => {
    cache.subscribe(VMS, {}, () => undefined);
    cache.subscribe(VMS, { fieldSelector: 'metadata.name=a' }, () => undefined);
    cache.subscribe(VMS, { labelSelector: 'app=web' }, () => undefined);
    cache.subscribe('/api/v1/namespaces', {}, () => undefined);
    cache.subscribe(VMS, { fieldSelector: 'metadata.name=a' }, () => undefined);
    assert.equal(started.length, 4);
    assert.equal(cache.size, 4);
    assert.deepEqual(started[1]?.query, { fieldSelector: 'metadata.name=a' });
  });

  test('the watch stops once the last subscriber has left, not before', () => {
    const first = cache.subscribe(VMS, {}, () => undefined);
    const second = cache.subscribe(VMS, {}, () => undefined);
    first();
    runDeferred();
    assert.equal(started[0]?.stopped, false, 'one subscriber is left');
    second();
    assert.equal(started[0]?.stopped, false, 'the stop waits a turn');
    runDeferred();
    assert.equal(started[0]?.stopped, true);
    assert.equal(cache.size, 0);
    assert.equal(cache.snapshot(VMS), EMPTY_LIST);
  });

  test('a remount within the same turn keeps the watch and its data', () => {
    const leave = cache.subscribe(VMS, {}, () => undefined);
    started[0]?.sink.sync([obj('a')]);
    leave();
    cache.subscribe(VMS, {}, () => undefined);
    runDeferred();
    assert.equal(started.length, 1);
    assert.equal(started[0]?.stopped, false);
    assert.deepEqual(names(cache.snapshot(VMS).items), ['default/a']);
  });

  test('a subscription after the stop lists again', () => {
    cache.subscribe(VMS, {}, () => undefined)();
    runDeferred();
    cache.subscribe(VMS, {}, () => undefined);
    assert.equal(started.length, 2);
    assert.equal(cache.snapshot(VMS).loaded, false);
  });

  test('events replace the list; the same list is returned until something changes', () => {
    cache.subscribe(VMS, {}, () => undefined);
    const sink = started[0]?.sink;
    assert.ok(sink !== undefined);
    assert.equal(cache.snapshot(VMS), cache.snapshot(VMS), 'stable before the list');
    sink.sync([obj('a')]);
    const listed = cache.snapshot(VMS);
    assert.equal(cache.snapshot(VMS), listed, 'stable between changes');
    sink.event('ADDED', obj('b'));
    sink.event('MODIFIED', obj('a', 'default', '7'));
    const changed = cache.snapshot(VMS);
    assert.notEqual(changed, listed);
    assert.deepEqual(names(listed.items), ['default/a'], 'an old list is never mutated');
    assert.deepEqual(
      changed.items.map((o) => o.metadata.resourceVersion),
      ['7', '1'],
    );
    sink.event('DELETED', obj('a'));
    assert.deepEqual(names(cache.snapshot(VMS).items), ['default/b']);
  });

  test('an error keeps the list and is cleared by the next change', () => {
    let calls = 0;
    cache.subscribe(VMS, {}, () => (calls += 1));
    const sink = started[0]?.sink;
    assert.ok(sink !== undefined);
    sink.sync([obj('a')]);
    sink.error(new Error('connection reset'));
    assert.equal(cache.snapshot(VMS).error?.message, 'connection reset');
    assert.deepEqual(names(cache.snapshot(VMS).items), ['default/a']);
    sink.event('ADDED', obj('b'));
    assert.equal(cache.snapshot(VMS).error, undefined);
    assert.equal(calls, 3);
  });
});
