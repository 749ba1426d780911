/**
 * The estimated cost of CEL rules when a CRD is written, as kube-apiserver estimates it: a rule
 * whose loops over lists, maps and strings of unbounded size could cost too much is refused with
 * upstream's hint, and so is a schema whose cheap rules add up, times the places they can run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { declarationErrors } from '../../../src/api/crd/cel/declared.js';
import { schemaErrors } from '../../../src/api/crd/crd-rules.js';
import type { JsonSchema } from '../../../src/api/validate.js';

const node = (rules: Record<string, unknown>[], properties: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: 'object',
  properties,
  'x-kubernetes-validations': rules,
});

describe('the estimated cost of a rule, when the CRD is written', () => {
  const list = (maxItems?: number): JsonSchema => ({
    type: 'array',
    items: { type: 'integer' },
    ...(maxItems !== undefined ? { maxItems } : {}),
  });
  const nested = 'self.l.all(x, self.l.all(y, x + y >= 0))';
  const refused = (rule: string, l: JsonSchema): string[] =>
    declarationErrors(node([{ rule }], { l }), 'x', false).map((e) => `${e.path}: ${e.message}`);

  test('a loop inside a loop over an unbounded list is refused, with the hint', () => {
    assert.deepEqual(refused(nested, list()), [
      'x.x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)',
    ]);
    assert.deepEqual(refused(nested, list(100)), [], 'bounded by maxItems, it is accepted');
    assert.deepEqual(
      refused('self.l.all(x, x > 0)', list()),
      [],
      'one loop over an unbounded list is accepted',
    );
  });

  test('cheap rules on the items of a huge list add up to the schema total', () => {
    const item = node([{ rule: 'self.s.matches("^a+$")' }], { s: { type: 'string', maxLength: 100_000 } });
    const schema: JsonSchema = {
      type: 'object',
      properties: { spec: { type: 'object', properties: { l: { type: 'array', items: item } } } },
    };
    const errors = schemaErrors(schema, 'v');
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
    assert.equal(errors[0]?.path, 'v');
    assert.match(
      errors[0]?.message ?? '',
      /estimated rule cost total for entire OpenAPIv3 schema exceeds budget/,
    );
    const bounded = structuredClone(schema);
    const l = bounded.properties?.['spec']?.properties?.['l'];
    if (l !== undefined) l['maxItems'] = 10;
    assert.deepEqual(schemaErrors(bounded, 'v'), []);
  });
});
