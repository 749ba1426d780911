/** Boolean query parameters as kube-apiserver reads them: false only when absent, `false` or `0`. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { queryBool } from '../../../src/apiserver/query.js';
import { classifyRequest } from '../../../src/metrics/registry.js';

const cases: [string, boolean][] = [
  ['', false],
  ['watch=true', true],
  ['watch=True', true],
  ['watch=TRUE', true],
  ['watch=1', true],
  ['watch=yes', true],
  ['watch=', true],
  ['watch', true],
  ['watch=false', false],
  ['watch=False', false],
  ['watch=FALSE', false],
  ['watch=0', false],
  ['watch=0&watch=1', false],
];

describe('queryBool', () => {
  for (const [query, expected] of cases) {
    test(`?${query} → ${String(expected)}`, () => {
      assert.equal(queryBool(new URLSearchParams(query), 'watch'), expected);
      // The request metrics classify the same request the same way.
      const verb = classifyRequest(
        'GET',
        '/api/v1/namespaces/default/configmaps',
        new URLSearchParams(query),
      ).verb;
      assert.equal(verb, expected ? 'watch' : 'list');
    });
  }
});
