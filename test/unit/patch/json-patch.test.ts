/**
 * JSON patch: the RFC 6902 appendix examples, the RFC 6901 pointer examples, and every way a patch
 * can fail, each with the message the API server will return.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyJsonPatch, PatchError } from '../../../src/apiserver/patch/json-patch.js';
import { cloneJson } from '../../../src/apiserver/patch/merge-patch.js';

const patchError = (message: string) => (err: unknown) => {
  assert.ok(err instanceof PatchError, String(err));
  assert.equal(err.name, 'PatchError');
  assert.equal(err.message, message);
  return true;
};

describe('applyJsonPatch: RFC 6902 appendix A', () => {
  const cases: { name: string; doc: unknown; patch: unknown[]; result: unknown }[] = [
    {
      name: 'A.1 adding an object member',
      doc: { foo: 'bar' },
      patch: [{ op: 'add', path: '/baz', value: 'qux' }],
      result: { baz: 'qux', foo: 'bar' },
    },
    {
      name: 'A.2 adding an array element',
      doc: { foo: ['bar', 'baz'] },
      patch: [{ op: 'add', path: '/foo/1', value: 'qux' }],
      result: { foo: ['bar', 'qux', 'baz'] },
    },
    {
      name: 'A.3 removing an object member',
      doc: { baz: 'qux', foo: 'bar' },
      patch: [{ op: 'remove', path: '/baz' }],
      result: { foo: 'bar' },
    },
    {
      name: 'A.4 removing an array element',
      doc: { foo: ['bar', 'qux', 'baz'] },
      patch: [{ op: 'remove', path: '/foo/1' }],
      result: { foo: ['bar', 'baz'] },
    },
    {
      name: 'A.5 replacing a value',
      doc: { baz: 'qux', foo: 'bar' },
      patch: [{ op: 'replace', path: '/baz', value: 'boo' }],
      result: { baz: 'boo', foo: 'bar' },
    },
    {
      name: 'A.6 moving a value',
      doc: { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      patch: [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      result: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    },
    {
      name: 'A.7 moving an array element',
      doc: { foo: ['all', 'grass', 'cows', 'eat'] },
      patch: [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      result: { foo: ['all', 'cows', 'eat', 'grass'] },
    },
    {
      name: 'A.8 testing a value: success',
      doc: { baz: 'qux', foo: ['a', 2, 'c'] },
      patch: [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      result: { baz: 'qux', foo: ['a', 2, 'c'] },
    },
    {
      name: 'A.10 adding a nested member object',
      doc: { foo: 'bar' },
      patch: [{ op: 'add', path: '/child', value: { grandchild: {} } }],
      result: { foo: 'bar', child: { grandchild: {} } },
    },
    {
      name: 'A.11 ignoring unrecognized elements',
      doc: { foo: 'bar' },
      patch: [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }],
      result: { foo: 'bar', baz: 'qux' },
    },
    {
      name: 'A.14 ~ escape ordering',
      doc: { '/': 9, '~1': 10 },
      patch: [{ op: 'test', path: '/~01', value: 10 }],
      result: { '/': 9, '~1': 10 },
    },
    {
      name: 'A.16 adding an array value',
      doc: { foo: ['bar'] },
      patch: [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
      result: { foo: ['bar', ['abc', 'def']] },
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(applyJsonPatch(c.doc, c.patch), c.result));
  }

  test('A.9 testing a value: error', () => {
    assert.throws(
      () => applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]),
      patchError('operation 0 (test /baz): test failed: expected "bar", found "qux"'),
    );
  });

  test('A.12 adding to a nonexistent target', () => {
    assert.throws(
      () => applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]),
      patchError('operation 0 (add /baz/bat): path not found'),
    );
  });

  test('A.13 invalid JSON patch document: JSON.parse keeps the last "op", so it is a remove of a missing key', () => {
    const patch = JSON.parse(
      '[{ "op": "add", "path": "/baz", "value": "qux", "op": "remove" }]',
    ) as unknown[];
    assert.throws(
      () => applyJsonPatch({ foo: 'bar' }, patch),
      patchError('operation 0 (remove /baz): path not found'),
    );
  });

  test('A.15 comparing strings and numbers', () => {
    assert.throws(
      () => applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]),
      patchError('operation 0 (test /~01): test failed: expected "10", found 10'),
    );
  });
});

describe('applyJsonPatch: RFC 6901 pointers', () => {
  const doc = {
    foo: ['bar', 'baz'],
    '': 0,
    'a/b': 1,
    'c%d': 2,
    'e^f': 3,
    'g|h': 4,
    'i\\j': 5,
    'k"l': 6,
    ' ': 7,
    'm~n': 8,
  };
  const pointers: [string, unknown][] = [
    ['', doc],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ];
  for (const [path, value] of pointers) {
    test(`${JSON.stringify(path)} points at ${JSON.stringify(value)}`, () => {
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'test', path, value }]), doc);
    });
  }
});

describe('applyJsonPatch: more operations', () => {
  const cases: { name: string; doc: unknown; patch: unknown[]; result: unknown }[] = [
    {
      name: 'kubectl patch --type json: add a label, replace a field, remove a disk',
      doc: {
        metadata: { labels: { app: 'web' } },
        spec: { running: false, disks: [{ name: 'root' }, { name: 'cd' }] },
      },
      patch: [
        { op: 'add', path: '/metadata/labels/example.com~1tier', value: 'db' },
        { op: 'replace', path: '/spec/running', value: true },
        { op: 'remove', path: '/spec/disks/1' },
      ],
      result: {
        metadata: { labels: { app: 'web', 'example.com/tier': 'db' } },
        spec: { running: true, disks: [{ name: 'root' }] },
      },
    },
    {
      name: 'add replaces an existing member',
      doc: { a: 1 },
      patch: [{ op: 'add', path: '/a', value: 2 }],
      result: { a: 2 },
    },
    { name: 'add at the end index', doc: [1], patch: [{ op: 'add', path: '/1', value: 2 }], result: [1, 2] },
    {
      name: 'add with an empty path replaces the document',
      doc: { a: 1 },
      patch: [{ op: 'add', path: '', value: [1] }],
      result: [1],
    },
    {
      name: 'replace the document',
      doc: { a: 1 },
      patch: [{ op: 'replace', path: '', value: { b: 2 } }],
      result: { b: 2 },
    },
    {
      name: 'replace with null',
      doc: { a: 1 },
      patch: [{ op: 'replace', path: '/a', value: null }],
      result: { a: null },
    },
    {
      name: 'replace an array element',
      doc: { l: [1, 2] },
      patch: [{ op: 'replace', path: '/l/1', value: 3 }],
      result: { l: [1, 3] },
    },
    {
      name: 'copy is a deep copy',
      doc: { a: { b: [1] } },
      patch: [
        { op: 'copy', from: '/a', path: '/c' },
        { op: 'add', path: '/c/b/-', value: 2 },
      ],
      result: { a: { b: [1] }, c: { b: [1, 2] } },
    },
    {
      name: 'move to the same place',
      doc: { a: 1 },
      patch: [{ op: 'move', from: '/a', path: '/a' }],
      result: { a: 1 },
    },
    {
      name: 'test an object regardless of key order',
      doc: { a: { x: 1, y: [2] } },
      patch: [{ op: 'test', path: '/a', value: { y: [2], x: 1 } }],
      result: { a: { x: 1, y: [2] } },
    },
    { name: 'an empty patch', doc: { a: 1 }, patch: [], result: { a: 1 } },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(applyJsonPatch(c.doc, c.patch), c.result));
  }

  test('leaves the document as it was, also when an operation fails half-way', () => {
    const doc = { spec: { a: [1, 2], b: { c: 1 } } };
    const before = cloneJson(doc);
    applyJsonPatch(doc, [
      { op: 'remove', path: '/spec/a/0' },
      { op: 'add', path: '/spec/b/d', value: 1 },
    ]);
    assert.deepEqual(doc, before);
    assert.throws(
      () =>
        applyJsonPatch(doc, [
          { op: 'remove', path: '/spec/a/0' },
          { op: 'remove', path: '/nope' },
        ]),
      PatchError,
    );
    assert.deepEqual(doc, before);
  });
});

describe('applyJsonPatch: errors', () => {
  const doc = { spec: { x: 1, list: ['a', 'b', 'c'], name: 'n' } };
  const cases: { name: string; patch: unknown; message: string }[] = [
    { name: 'not a list', patch: { op: 'add' }, message: 'a JSON patch must be an array of operations' },
    {
      name: 'operation not an object',
      patch: ['add'],
      message: 'operation 0: must be an object with "op" and "path"',
    },
    {
      name: 'missing op',
      patch: [{ path: '/a' }],
      message: 'operation 0: "op" must be one of add, remove, replace, move, copy, test, not missing',
    },
    {
      name: 'unknown op',
      patch: [{ op: 'merge', path: '/a', value: 1 }],
      message:
        'operation 0 (merge /a): "op" must be one of add, remove, replace, move, copy, test, not "merge"',
    },
    {
      name: 'missing path',
      patch: [{ op: 'add', value: 1 }],
      message: 'operation 0 (add): "path" must be a string',
    },
    {
      name: 'add without value',
      patch: [{ op: 'add', path: '/a' }],
      message: 'operation 0 (add /a): "value" is required',
    },
    {
      name: 'replace without value',
      patch: [{ op: 'replace', path: '/spec/x' }],
      message: 'operation 0 (replace /spec/x): "value" is required',
    },
    {
      name: 'test without value',
      patch: [{ op: 'test', path: '/spec/x' }],
      message: 'operation 0 (test /spec/x): "value" is required',
    },
    {
      name: 'move without from',
      patch: [{ op: 'move', path: '/a' }],
      message: 'operation 0 (move /a): "from" must be a string',
    },
    {
      name: 'copy with a numeric from',
      patch: [{ op: 'copy', from: 1, path: '/a' }],
      message: 'operation 0 (copy /a): "from" must be a string',
    },
    {
      name: 'pointer without a leading slash',
      patch: [{ op: 'add', path: 'spec/y', value: 1 }],
      message: 'operation 0 (add spec/y): invalid JSON pointer "spec/y": must start with "/"',
    },
    {
      name: 'pointer with a bad escape',
      patch: [{ op: 'remove', path: '/spec/a~2b' }],
      message:
        'operation 0 (remove /spec/a~2b): invalid JSON pointer "/spec/a~2b": "~" must be followed by 0 or 1',
    },
    {
      name: 'pointer ending with ~',
      patch: [{ op: 'remove', path: '/spec~' }],
      message: 'operation 0 (remove /spec~): invalid JSON pointer "/spec~": "~" must be followed by 0 or 1',
    },
    {
      name: 'replace of a missing member, reported with its index',
      patch: [
        { op: 'test', path: '/spec/x', value: 1 },
        { op: 'add', path: '/spec/y', value: 2 },
        { op: 'replace', path: '/spec/z', value: 3 },
      ],
      message: 'operation 2 (replace /spec/z): path not found',
    },
    {
      name: 'remove of a missing member',
      patch: [{ op: 'remove', path: '/spec/y' }],
      message: 'operation 0 (remove /spec/y): path not found',
    },
    {
      name: 'remove of the document',
      patch: [{ op: 'remove', path: '' }],
      message: 'operation 0 (remove ""): cannot remove the whole document',
    },
    {
      name: 'add below a scalar',
      patch: [{ op: 'add', path: '/spec/x/y', value: 1 }],
      message: 'operation 0 (add /spec/x/y): path not found',
    },
    {
      name: 'add below a missing parent',
      patch: [{ op: 'add', path: '/status/phase', value: 'Running' }],
      message: 'operation 0 (add /status/phase): path not found',
    },
    {
      name: 'test of a missing member',
      patch: [{ op: 'test', path: '/spec/y', value: 1 }],
      message: 'operation 0 (test /spec/y): path not found',
    },
    {
      name: 'array index with a leading zero',
      patch: [{ op: 'replace', path: '/spec/list/01', value: 'x' }],
      message: 'operation 0 (replace /spec/list/01): invalid array index "01"',
    },
    {
      name: 'array index that is not a number',
      patch: [{ op: 'remove', path: '/spec/list/first' }],
      message: 'operation 0 (remove /spec/list/first): invalid array index "first"',
    },
    {
      name: 'add past the end of an array',
      patch: [{ op: 'add', path: '/spec/list/4', value: 'x' }],
      message: 'operation 0 (add /spec/list/4): index 4 is out of bounds (array length 3)',
    },
    {
      name: 'remove at the end of an array',
      patch: [{ op: 'remove', path: '/spec/list/3' }],
      message: 'operation 0 (remove /spec/list/3): index 3 is out of bounds (array length 3)',
    },
    {
      name: 'replace at "-"',
      patch: [{ op: 'replace', path: '/spec/list/-', value: 'x' }],
      message: 'operation 0 (replace /spec/list/-): "-" (the end of the array) can only be the target of add',
    },
    {
      name: 'test through "-"',
      patch: [{ op: 'test', path: '/spec/list/-/x', value: 'x' }],
      message: 'operation 0 (test /spec/list/-/x): "-" (the end of the array) can only be the target of add',
    },
    {
      name: 'move into its own child',
      patch: [{ op: 'move', from: '/spec', path: '/spec/inner' }],
      message: 'operation 0 (move /spec/inner): cannot move a location into one of its own children',
    },
    {
      name: 'move from a missing member',
      patch: [{ op: 'move', from: '/spec/y', path: '/spec/z' }],
      message: 'operation 0 (move /spec/z): from /spec/y: path not found',
    },
    {
      name: 'copy from a missing member',
      patch: [{ op: 'copy', from: '/spec/list/7', path: '/spec/z' }],
      message: 'operation 0 (copy /spec/z): from /spec/list/7: index 7 is out of bounds (array length 3)',
    },
    {
      name: 'copy from an invalid pointer',
      patch: [{ op: 'copy', from: 'spec', path: '/spec/z' }],
      message: 'operation 0 (copy /spec/z): from spec: invalid JSON pointer "spec": must start with "/"',
    },
    {
      name: 'failed test of an object',
      patch: [{ op: 'test', path: '/spec', value: { x: 2 } }],
      message:
        'operation 0 (test /spec): test failed: expected {"x":2}, found {"x":1,"list":["a","b","c"],"name":"n"}',
    },
    {
      name: 'failed test shows long values shortened',
      patch: [{ op: 'test', path: '/spec/name', value: 'y'.repeat(100) }],
      message: `operation 0 (test /spec/name): test failed: expected ${'"' + 'y'.repeat(76)}..., found "n"`,
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.throws(() => applyJsonPatch(doc, c.patch), patchError(c.message)));
  }
});
