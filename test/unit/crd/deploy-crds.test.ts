/**
 * deploy/crds/ holds the CRDs of our own kinds, generated from their schema: the checked-in files
 * must be what the generator writes now, and each must pass the rules this server applies to any
 * CRD (structural schema, names, one storage version).
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import type { CustomResourceDefinition } from '../../../src/api/crd/crd.js';
import { validateCrd } from '../../../src/api/crd/crd-rules.js';
import { crdFileName, ownKinds, renderCrd } from '../../../src/api/crd/generate.js';

const dir = join(import.meta.dirname, '..', '..', '..', '..', 'deploy', 'crds');
const regenerate = 'run `npm run build && node dist/src/api/crd/generate.js deploy/crds`';

describe('deploy/crds', () => {
  test('holds exactly one file per own kind', async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(files, ownKinds.map(crdFileName).sort(), regenerate);
  });

  for (const def of ownKinds) {
    test(`${crdFileName(def)} is fresh and a valid CRD`, async () => {
      const text = await readFile(join(dir, crdFileName(def)), 'utf8');
      assert.equal(text, renderCrd(def), `${crdFileName(def)} is stale: ${regenerate}`);
      const crd = parse(text) as CustomResourceDefinition;
      assert.deepEqual(validateCrd(crd, undefined), []);
    });
  }
});
