/**
 * The object limits and the checks that enforce them before anything recurses: nesting at the
 * limit is accepted and one level more refused, on JSON and YAML text, decoded values, patches and
 * stored rows; protobuf decoding stays linear.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { measure, MAX_DEPTH, MAX_OBJECT_BYTES, jsonNestsDeeperThan } from '../../../src/api/limits.js';
import { checkYamlDepth, MAX_JSON_PATCH_OPERATIONS } from '../../../src/apiserver/body-limits.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { decodeBody } from '../../../src/apiserver/http.js';
import { applyPatch } from '../../../src/apiserver/patch/apply.js';
import { decodeProtobuf } from '../../../src/apiserver/protobuf.js';
import { Type } from '../../../src/api/schema.js';
import { configMapProto } from '../../support/protobuf.js';

/** `{"a":{"a":…{}}}` with `levels` objects. */
const nestedJson = (levels: number): string => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
const nested = (levels: number): unknown => JSON.parse(nestedJson(levels));
/** Block-style YAML mappings nested `levels` deep (the last level an empty flow mapping). */
const nestedBlockYaml = (levels: number): string =>
  Array.from({ length: levels - 1 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') +
  `\n${' '.repeat(levels - 1)}a: 1`;

const refused = (reason: string) => (err: unknown) => {
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.reason, reason, err.message);
  return true;
};

describe('measure', () => {
  test('counts levels of objects and arrays, and the JSON size', () => {
    const table: [unknown, number][] = [
      [1, 0],
      [{}, 1],
      [[[]], 2],
      [{ a: [{ b: 'x' }] }, 3],
      [nested(MAX_DEPTH), MAX_DEPTH],
    ];
    for (const [value, depth] of table) assert.equal(measure(value).depth, depth, JSON.stringify(value));
    const value = { a: 'bc', d: [1, true, null], e: {} };
    assert.equal(measure(value).bytes, JSON.stringify(value).length);
  });

  test('stops at the first limit passed, without recursion, even a million levels deep', () => {
    let deep: unknown = {};
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    assert.equal(measure(deep).exceeded, 'depth');
    assert.equal(measure(nested(MAX_DEPTH + 1)).exceeded, 'depth');
    assert.equal(measure({ s: 'x'.repeat(MAX_OBJECT_BYTES) }).exceeded, 'bytes');
    assert.equal(measure(nested(MAX_DEPTH)).exceeded, undefined);
  });
});

describe('nesting scans of raw text', () => {
  test('JSON: the limit passes, one more level fails; brackets inside strings do not count', () => {
    assert.equal(jsonNestsDeeperThan(Buffer.from(nestedJson(MAX_DEPTH)), MAX_DEPTH), false);
    assert.equal(jsonNestsDeeperThan(Buffer.from(nestedJson(MAX_DEPTH + 1)), MAX_DEPTH), true);
    const quoted = JSON.stringify({ a: '[{'.repeat(500) + '\\"[[' });
    assert.equal(jsonNestsDeeperThan(Buffer.from(quoted), 2), false);
  });

  test('YAML: block and flow nesting at the limit pass, one more level fails', () => {
    const flow = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    checkYamlDepth(flow(MAX_DEPTH), MAX_DEPTH);
    assert.throws(() => checkYamlDepth(flow(MAX_DEPTH + 1), MAX_DEPTH), refused('BadRequest'));
    checkYamlDepth(nestedBlockYaml(MAX_DEPTH), MAX_DEPTH);
    assert.throws(() => checkYamlDepth(nestedBlockYaml(MAX_DEPTH + 1), MAX_DEPTH), refused('BadRequest'));
    const dashes = (levels: number): string => '- '.repeat(levels) + 'x';
    checkYamlDepth(dashes(MAX_DEPTH), MAX_DEPTH);
    assert.throws(() => checkYamlDepth(dashes(MAX_DEPTH + 1), MAX_DEPTH), refused('BadRequest'));
  });

  test('YAML: quoted brackets, comments and block scalars do not count as nesting', () => {
    const text = [
      `a: "${'['.repeat(300)}"`,
      `b: '${'{'.repeat(300)}'`,
      `c: 1 # ${'['.repeat(300)}`,
      'd: |',
      ...Array.from({ length: 300 }, (_, i) => `  ${' '.repeat(i)}line`),
      'e: 2',
    ].join('\n');
    checkYamlDepth(text, 3);
  });
});

describe('decodeBody', () => {
  test('JSON and YAML bodies at the limit decode; one level more is a 400, even 6,000 levels deep', () => {
    for (const type of ['application/json', 'application/yaml']) {
      const ok = decodeBody(Buffer.from(nestedJson(MAX_DEPTH)), type);
      assert.equal(measure(ok).depth, MAX_DEPTH);
      for (const levels of [MAX_DEPTH + 1, 6000, 100_000])
        assert.throws(() => decodeBody(Buffer.from(nestedJson(levels)), type), refused('BadRequest'));
    }
    assert.throws(
      () => decodeBody(Buffer.from(nestedBlockYaml(MAX_DEPTH + 1)), 'application/yaml'),
      refused('BadRequest'),
    );
  });

  test('YAML aliases that nest past the limit are caught on the decoded value', () => {
    // Each anchor wraps the previous one in 60 more levels: the text itself nests 61 deep at most.
    const lines = [`a0: &a0 ${'['.repeat(60)}${']'.repeat(60)}`];
    for (let i = 1; i < 4; i++) lines.push(`a${i}: &a${i} ${'['.repeat(60)}*a${i - 1}${']'.repeat(60)}`);
    assert.throws(() => decodeBody(Buffer.from(lines.join('\n')), 'application/yaml'), refused('BadRequest'));
  });

  test('a JSON patch may wrap an object at the limit in its list of operations', () => {
    const patch = JSON.stringify([{ op: 'add', path: '/x', value: nested(MAX_DEPTH) }]);
    assert.ok(Array.isArray(decodeBody(Buffer.from(patch), 'application/json-patch+json')));
  });
});

describe('patch limits', () => {
  const schema = Type.Object({});
  const target = { metadata: { name: 'x' }, spec: { a: 'y'.repeat(64 * 1024) } };

  test(`more than ${MAX_JSON_PATCH_OPERATIONS} JSON patch operations are refused with 413`, () => {
    const ops = (n: number) =>
      Array.from({ length: n }, () => ({ op: 'test', path: '/metadata/name', value: 'x' }));
    applyPatch('application/json-patch+json', target, ops(MAX_JSON_PATCH_OPERATIONS), schema);
    assert.throws(
      () => applyPatch('application/json-patch+json', target, ops(MAX_JSON_PATCH_OPERATIONS + 1), schema),
      refused('RequestEntityTooLarge'),
    );
  });

  test('repeated copies that would blow the object up stop at the write budget', () => {
    const copies = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/c${i}` }));
    assert.throws(
      () => applyPatch('application/json-patch+json', target, copies, schema),
      (err: unknown) => err instanceof Error && /writes more than/.test(err.message),
    );
  });

  test('a copy of the document into itself cannot nest past the limit', () => {
    const copies = Array.from({ length: MAX_DEPTH + 5 }, () => ({
      op: 'copy',
      from: '',
      path: '/metadata/x',
    }));
    assert.throws(
      () => applyPatch('application/json-patch+json', { metadata: {} }, copies, schema),
      (err: unknown) => err instanceof Error && /nest deeper/.test(err.message),
    );
  });
});

describe('protobuf decoding', () => {
  const keys = (n: number): Record<string, string> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`key-${i}`, `value-${i}`]));
  /** CPU time of one decode, in ms: other processes on a busy machine do not count. */
  const cpuDecode = (body: Buffer): number => {
    const before = process.cpuUsage();
    decodeProtobuf(body);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  const best = (body: Buffer): number => Math.min(cpuDecode(body), cpuDecode(body), cpuDecode(body));

  test('an 8k-key ConfigMap decodes in well under a second, and 16k keys cost about 8 times 2k', () => {
    const big = configMapProto('big', keys(8192));
    const cm = decodeProtobuf(big);
    assert.equal(Object.keys(cm['data'] as object).length, 8192);
    assert.ok(best(big) < 1000);
    const ratio = best(configMapProto('large', keys(16_384))) / best(configMapProto('small', keys(2048)));
    // Linear is 8 (object growth and GC make it 10-16 here); the quadratic decoder was over 100.
    assert.ok(ratio < 32, `16k keys took ${ratio.toFixed(1)} times as long as 2k`);
  });

  test('a map key named __proto__ is an ordinary key', () => {
    const cm = decodeProtobuf(
      configMapProto(
        'p',
        Object.fromEntries([
          ['__proto__', 'x'],
          ['b', 'y'],
        ]),
      ),
    );
    const data = cm['data'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(data), ['__proto__', 'b']);
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
  });
});
