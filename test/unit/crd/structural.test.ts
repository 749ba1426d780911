/**
 * Custom resources read through a CRD's structural schema: one cause per bad field, defaults,
 * pruning, nullable, list types, embedded resources; and hostile schemas and values bounded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_READ_STEPS, readCustomResource } from '../../../src/api/crd/structural.js';
import { MAX_SCHEMA_DEPTH, schemaErrors } from '../../../src/api/crd/crd-rules.js';
import type { JsonSchema } from '../../../src/api/validate.js';

const spec = (properties: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema => ({
  type: 'object',
  properties: { spec: { type: 'object', properties, ...extra } },
});

const causes = (schema: JsonSchema, value: unknown): string[] =>
  readCustomResource({ spec: value }, schema).errors.map((e) => `${e.path}: ${e.message}`);

describe('custom resource values', () => {
  const table: [string, Record<string, JsonSchema>, unknown, RegExp[]][] = [
    [
      'type',
      { n: { type: 'integer' } },
      { n: 'x' },
      [/^spec.n: Invalid value: "string": spec.n in body must be of type integer/],
    ],
    ['enum', { c: { type: 'string', enum: ['a'] } }, { c: 'b' }, [/^spec.c: Unsupported value: "b"/]],
    ['minimum', { n: { type: 'integer', minimum: 2 } }, { n: 1 }, [/greater than or equal to 2/]],
    [
      'exclusive maximum',
      { n: { type: 'number', maximum: 2, exclusiveMaximum: true } },
      { n: 2 },
      [/less than 2/],
    ],
    [
      'maxLength',
      { s: { type: 'string', maxLength: 2 } },
      { s: 'abc' },
      [/^spec.s: Too long: may not be more than 2/],
    ],
    ['pattern', { s: { type: 'string', pattern: '^a+$' } }, { s: 'b' }, [/should match '\^a\+\$'/]],
    [
      'date-time',
      { t: { type: 'string', format: 'date-time' } },
      { t: 'yesterday' },
      [/must be of type date-time/],
    ],
    ['int32', { n: { type: 'integer', format: 'int32' } }, { n: 2 ** 31 }, [/must be of type int32/]],
    [
      'maxItems',
      { l: { type: 'array', maxItems: 1, items: { type: 'string' } } },
      { l: ['a', 'b'] },
      [/^spec.l: Too many: 2/],
    ],
    [
      'set',
      { l: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } } },
      { l: ['a', 'a'] },
      [/^spec.l\[1\]: Duplicate value/],
    ],
    [
      'map keys',
      {
        l: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['k'],
          items: { type: 'object', properties: { k: { type: 'string' }, v: { type: 'string' } } },
        },
      },
      {
        l: [
          { k: 'a', v: '1' },
          { k: 'a', v: '2' },
        ],
      },
      [/^spec.l\[1\]: Duplicate value/],
    ],
    [
      'int-or-string',
      { p: { 'x-kubernetes-int-or-string': true } },
      { p: true },
      [/must be of type integer or string/],
    ],
    ['null', { s: { type: 'string' } }, { s: null }, [/^spec.s: Invalid value: "null"/]],
    ['required', { s: { type: 'string' } }, {}, []],
    [
      'embedded',
      {
        e: {
          type: 'object',
          'x-kubernetes-embedded-resource': true,
          properties: { spec: { type: 'object' } },
        },
      },
      { e: { spec: {} } },
      [/^spec.e.apiVersion: Required value/, /^spec.e.kind: Required value/],
    ],
  ];
  for (const [name, properties, value, expected] of table) {
    test(name, () => {
      const got = causes(spec(properties), value);
      assert.equal(got.length, expected.length, got.join('\n'));
      expected.forEach((re, i) => assert.match(got[i] ?? '', re));
    });
  }

  test('every bad field is reported in one pass', () => {
    const got = causes(
      spec({ a: { type: 'integer' }, b: { type: 'string', enum: ['x'] } }, { required: ['c'] }),
      {
        a: 'x',
        b: 'y',
      },
    );
    assert.deepEqual(
      got.map((c) => c.split(':')[0]),
      ['spec.a', 'spec.b', 'spec.c'],
    );
  });

  test('defaults fill absent fields, nulls of defaulted fields, and nested objects', () => {
    const schema = spec({
      size: { type: 'integer', default: 3 },
      inner: { type: 'object', default: {}, properties: { mode: { type: 'string', default: 'fast' } } },
      note: { type: 'string', nullable: true },
    });
    const r = readCustomResource({ spec: { size: null, note: null } }, schema);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.value, { spec: { size: 3, note: null, inner: { mode: 'fast' } } });
  });

  test('unknown fields are pruned and reported; preserved subtrees are kept', () => {
    const schema = spec({ keep: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } });
    const r = readCustomResource({ spec: { keep: { a: { b: 1 } }, drop: 1 }, other: 2 }, schema);
    assert.deepEqual(r.value, { spec: { keep: { a: { b: 1 } } } });
    assert.deepEqual(r.unknownFields, ['spec.drop', 'other']);
  });

  test('anyOf / oneOf / not are value checks over the same value', () => {
    const schema = spec({
      v: {
        'x-kubernetes-int-or-string': true,
        anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\d+%$' }],
      },
      w: { type: 'string', not: { enum: ['forbidden'] } },
    });
    assert.deepEqual(causes(schema, { v: '50%', w: 'ok' }), []);
    assert.equal(causes(schema, { v: 'half', w: 'forbidden' }).length, 2);
  });
});

describe('hostile schemas and values', () => {
  test('a backtracking pattern on a long value answers at once', () => {
    const schema = spec({ s: { type: 'string', pattern: '^(a|a)*b$' } });
    const started = performance.now();
    const got = causes(schema, { s: `${'a'.repeat(100_000)}!` });
    assert.equal(got.length, 1);
    assert.ok(performance.now() - started < 2000, 'the pattern ran in linear time');
  });

  test('patterns that need backtracking are refused in the CRD', () => {
    const errors = schemaErrors(spec({ s: { type: 'string', pattern: '(a)\\1' } }), 'schema');
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /must be a regular expression that runs in linear time/);
  });

  test('a schema nested past the limit is refused without walking it all', () => {
    let deep: JsonSchema = { type: 'string' };
    for (let i = 0; i < 10_000; i++) deep = { type: 'object', properties: { x: deep } };
    const errors = schemaErrors(deep, 'schema');
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', new RegExp(`deeper than ${MAX_SCHEMA_DEPTH} levels`));
  });

  test('a schema with too many nodes is refused', () => {
    const properties: Record<string, JsonSchema> = {};
    for (let i = 0; i < 25_000; i++) properties[`f${i}`] = { type: 'string' };
    const errors = schemaErrors({ type: 'object', properties }, 'schema');
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /more than 20000 nodes/);
  });

  test('structural rules: a type everywhere, no $ref, list-map keys required, CEL rules that compile', () => {
    const errors = schemaErrors(
      spec({
        a: {},
        b: { $ref: '#/x', type: 'object' },
        c: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['k'],
          items: { type: 'object', properties: { k: { type: 'string' } } },
        },
        d: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self != ""' }, { rule: 'self.nope()' }] },
      }),
      's',
    ).map((e) => e.path);
    assert.deepEqual(errors, [
      's.properties[spec].properties[a].type',
      's.properties[spec].properties[b].$ref',
      's.properties[spec].properties[c].x-kubernetes-list-map-keys',
      's.properties[spec].properties[d].x-kubernetes-validations[1].rule',
    ]);
  });

  test('nested anyOf over a large list is cut off by the read budget, not left to run', () => {
    let branch: JsonSchema = { type: 'string', pattern: '^x$' };
    for (let i = 0; i < 12; i++) branch = { anyOf: [branch, { ...branch }] };
    const schema = spec({ l: { type: 'array', items: { type: 'string', ...branch } } });
    const started = performance.now();
    const r = readCustomResource({ spec: { l: Array.from({ length: 50_000 }, () => 'y') } }, schema);
    assert.ok(performance.now() - started < 5000, 'the read stopped early');
    assert.ok(r.errors.some((e) => e.message.includes(`more than ${MAX_READ_STEPS} schema checks`)));
  });
});
