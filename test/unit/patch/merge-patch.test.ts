/**
 * JSON merge patch: the RFC 7386 examples, what kubectl sends with `--type merge`, and
 * createMergePatch round trips.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyMergePatch,
  cloneJson,
  createMergePatch,
  jsonEqual,
} from '../../../src/apiserver/patch/merge-patch.js';

describe('applyMergePatch', () => {
  // RFC 7386, Appendix A, in order: [target, patch, result].
  const appendixA: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [i, [target, patch, result]] of appendixA.entries()) {
    test(`RFC 7386 appendix A example ${i + 1}: ${JSON.stringify(patch)}`, () => {
      assert.deepEqual(applyMergePatch(target, patch), result);
    });
  }

  test('RFC 7386 section 3 example', () => {
    const target = {
      title: 'Goodbye!',
      author: { givenName: 'John', familyName: 'Doe' },
      tags: ['example', 'sample'],
      content: 'This will be unchanged',
    };
    const patch = {
      title: 'Hello!',
      phoneNumber: '+01-123-456-7890',
      author: { familyName: null },
      tags: ['example'],
    };
    assert.deepEqual(applyMergePatch(target, patch), {
      title: 'Hello!',
      author: { givenName: 'John' },
      tags: ['example'],
      content: 'This will be unchanged',
      phoneNumber: '+01-123-456-7890',
    });
  });

  const kubectl: { name: string; target: unknown; patch: unknown; result: unknown }[] = [
    {
      name: 'kubectl patch --type merge sets a label and removes another',
      target: { metadata: { name: 'vm', labels: { app: 'web', tier: 'db' } }, spec: { running: false } },
      patch: { metadata: { labels: { tier: null, env: 'prod' } } },
      result: { metadata: { name: 'vm', labels: { app: 'web', env: 'prod' } }, spec: { running: false } },
    },
    {
      name: 'a list is replaced whole, not merged',
      target: { spec: { disks: [{ name: 'root' }, { name: 'data' }] } },
      patch: { spec: { disks: [{ name: 'root', bus: 'virtio' }] } },
      result: { spec: { disks: [{ name: 'root', bus: 'virtio' }] } },
    },
    {
      name: 'nulls inside a new subtree are dropped',
      target: { spec: {} },
      patch: { spec: { domain: { cpu: { cores: 2, threads: null } } } },
      result: { spec: { domain: { cpu: { cores: 2 } } } },
    },
    {
      name: 'removing a key that is not there changes nothing',
      target: { data: { a: '1' } },
      patch: { data: { b: null } },
      result: { data: { a: '1' } },
    },
  ];
  for (const c of kubectl) {
    test(c.name, () => assert.deepEqual(applyMergePatch(c.target, c.patch), c.result));
  }

  test('leaves target and patch as they were, and shares nothing with them', () => {
    const target = { spec: { a: { b: 1 }, list: [1] } };
    const patch = { spec: { a: { c: 2 }, added: { d: [3] } } };
    const before = [cloneJson(target), cloneJson(patch)];
    const result = applyMergePatch(target, patch) as {
      spec: { a: object; list: number[]; added: { d: number[] } };
    };
    assert.deepEqual([target, patch], before);
    result.spec.list.push(9);
    result.spec.added.d.push(9);
    assert.deepEqual([target, patch], before);
  });

  test('a "__proto__" key is data, not a prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
    assert.deepEqual(Object.keys(result), ['__proto__', 'a']);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

describe('createMergePatch', () => {
  const cases: { name: string; from: unknown; to: unknown; patch: unknown }[] = [
    { name: 'no change', from: { a: 1, b: { c: [1] } }, to: { b: { c: [1] }, a: 1 }, patch: {} },
    { name: 'changed scalar', from: { a: 1 }, to: { a: 2 }, patch: { a: 2 } },
    { name: 'removed key', from: { a: 1, b: 2 }, to: { a: 1 }, patch: { b: null } },
    { name: 'added key', from: { a: 1 }, to: { a: 1, b: { c: 1 } }, patch: { b: { c: 1 } } },
    {
      name: 'nested change',
      from: { spec: { x: 1, y: 2 } },
      to: { spec: { x: 1, y: 3 } },
      patch: { spec: { y: 3 } },
    },
    { name: 'changed list is given whole', from: { l: [1, 2] }, to: { l: [1, 3] }, patch: { l: [1, 3] } },
    { name: 'object to scalar', from: { a: { b: 1 } }, to: { a: 'x' }, patch: { a: 'x' } },
    { name: 'not objects: the new document', from: [1], to: [2], patch: [2] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const patch = createMergePatch(c.from, c.to);
      assert.deepEqual(patch, c.patch);
      assert.deepEqual(applyMergePatch(c.from, patch), c.to);
    });
  }
});

describe('jsonEqual', () => {
  const cases: [unknown, unknown, boolean][] = [
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [[1, 2], [2, 1], false],
    [{ a: undefined }, { b: undefined }, false],
    [1, '1', false],
    [null, {}, false],
    [{ a: [{ b: null }] }, { a: [{ b: null }] }, true],
  ];
  for (const [a, b, equal] of cases) {
    test(`${JSON.stringify(a)} ${equal ? '==' : '!='} ${JSON.stringify(b)}`, () =>
      assert.equal(jsonEqual(a, b), equal));
  }
});
