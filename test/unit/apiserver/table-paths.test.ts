/**
 * The printer-column JSONPath subset, parsed once per path and then evaluated against many
 * objects: each object gets its own value, and every form (fields, escaped dots, indexes, filters)
 * behaves as when it was parsed per call.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluatePath } from '../../../src/apiserver/tables.js';

const vm = (phase: string, ready: string): unknown => ({
  metadata: { annotations: { 'a.b/c': phase } },
  status: {
    printableStatus: phase,
    conditions: [
      { type: 'Paused', status: 'False' },
      { type: 'Ready', status: ready },
    ],
    volumes: ['root', 'data'],
  },
});

describe('printer column paths', () => {
  test('one path evaluated against several objects gives each its own value', () => {
    const objects = [vm('Running', 'True'), vm('Stopped', 'False'), vm('Starting', 'Unknown')];
    assert.deepEqual(
      objects.map((o) => evaluatePath(o, '.status.printableStatus')),
      ['Running', 'Stopped', 'Starting'],
    );
    assert.deepEqual(
      objects.map((o) => evaluatePath(o, '.status.conditions[?(@.type=="Ready")].status')),
      ['True', 'False', 'Unknown'],
    );
  });

  test('escaped dots, indexes, filters and missing parts', () => {
    const o = vm('Running', 'True');
    assert.equal(evaluatePath(o, '.metadata.annotations.a\\.b/c'), 'Running');
    assert.equal(evaluatePath(o, '.status.volumes[1]'), 'data');
    assert.equal(evaluatePath(o, '.status.volumes[5]'), undefined);
    assert.equal(evaluatePath(o, ".status.conditions[?(@.type=='Paused')].status"), 'False');
    assert.equal(evaluatePath(o, '.status.conditions[?(@.type=="Gone")].status'), undefined);
    assert.equal(evaluatePath(o, '.spec.running'), undefined);
    assert.equal(evaluatePath(o, '.status.printableStatus.length'), undefined);
    assert.equal(evaluatePath(null, '.status'), undefined);
    // the same paths again (now from the parsed cache) give the same answers
    assert.equal(evaluatePath(o, '.metadata.annotations.a\\.b/c'), 'Running');
    assert.equal(evaluatePath(o, '.status.volumes[1]'), 'data');
  });
});
