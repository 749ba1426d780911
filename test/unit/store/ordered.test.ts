import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { upperBound } from '../../../src/store/ordered.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const vm = (name: string, ns: string, running = false): KubeObject => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: ns },
  spec: { running },
});
const R = 'kubevirt.io/virtualmachines';
const keys = (s: SqliteStore, ns?: string): string[] =>
  s.list(R, ns).items.map((o) => `${o.namespace}/${o.name}`);

/** What every LIST must equal: all objects sorted by (namespace, name), computed from scratch. */
function expected(live: Map<string, boolean>, ns?: string): string[] {
  return [...live.keys()]
    .filter((k) => ns === undefined || k.startsWith(`${ns}/`))
    .sort((a, b) => {
      const [an = '', bn = ''] = [a.split('/')[0], b.split('/')[0]];
      return an === bn ? (a < b ? -1 : a > b ? 1 : 0) : an < bn ? -1 : 1;
    });
}

describe('store LIST order kept between writes', () => {
  test('after a LIST, adds, updates and deletes leave every later LIST sorted and complete', () => {
    const s = new SqliteStore({ path: ':memory:' });
    const live = new Map<string, boolean>();
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    for (let step = 0; step < 600; step++) {
      const ns = ['a', 'b', 'b-x', 'c'][rand(4)] ?? 'a';
      const name = `vm-${rand(40)}`;
      const k = `${ns}/${name}`;
      if (!live.has(k)) {
        s.create(R, vm(name, ns));
        live.set(k, false);
      } else if (rand(3) === 0) {
        s.delete(R, ns, name);
        live.delete(k);
      } else {
        const running = !(live.get(k) ?? false);
        s.update(R, vm(name, ns, running));
        live.set(k, running);
      }
      if (step % 7 === 0) {
        assert.deepEqual(keys(s), expected(live), `step ${step}`);
        assert.deepEqual(keys(s, 'b'), expected(live, 'b'), `step ${step} namespace b`);
      }
    }
    // an update is visible through the kept order (the new object, not the old one)
    for (const o of s.list(R).items) {
      assert.equal((o.object['spec'] as { running: boolean }).running, live.get(`${o.namespace}/${o.name}`));
    }
  });

  test('a LIST result is a copy: changing it does not change the next LIST', () => {
    const s = new SqliteStore({ path: ':memory:' });
    s.create(R, vm('x', 'a'));
    s.create(R, vm('y', 'a'));
    s.list(R).items.pop();
    s.list(R, 'a').items.length = 0;
    assert.deepEqual(keys(s), ['a/x', 'a/y']);
  });

  test('upperBound finds the first object after a key, present or not', () => {
    const sorted = ['a/1', 'a/3', 'b/0', 'b/2'].map((k) => {
      const [namespace = '', name = ''] = k.split('/');
      return { namespace, name };
    });
    assert.equal(upperBound(sorted, 'a', '1'), 1);
    assert.equal(upperBound(sorted, 'a', '2'), 1);
    assert.equal(upperBound(sorted, 'a', 'z'), 2);
    assert.equal(upperBound(sorted, '', ''), 0);
    assert.equal(upperBound(sorted, 'b', '2'), 4);
  });
});
