import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { namespaceKind, widgetKind } from '../../support/kinds.js';

let r: Registry;
beforeEach(() => {
  r = new Registry(new SqliteStore({ path: ':memory:' }), {
    now: () => new Date('2026-11-24T10:00:00.123Z'),
  });
  r.create(namespaceKind, '', { metadata: { name: 'default' } });
});

const apiError = (reason: string, fields?: string[]) => (err: unknown) => {
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.reason, reason, err.message);
  if (fields !== undefined)
    assert.deepEqual((err.details.causes ?? []).map((c) => c.path).sort(), fields.sort());
  return true;
};

const widget = (spec: Record<string, unknown> = {}, name = 'w') => ({
  apiVersion: 'test.hikube.io/v1',
  kind: 'Widget',
  metadata: { name },
  spec,
});

describe('Registry', () => {
  test('create fills server fields and refuses a duplicate', () => {
    const { object } = r.create(widgetKind, 'default', widget({ count: 1 }));
    assert.equal(object.metadata.namespace, 'default');
    assert.equal(object.metadata.generation, 1);
    assert.equal(object.metadata.creationTimestamp, '2026-11-24T10:00:00Z');
    assert.match(object.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.throws(() => r.create(widgetKind, 'default', widget()), apiError('AlreadyExists'));
  });

  test("an empty namespace in the body means the request's; another one is refused", () => {
    const { object } = r.create(widgetKind, 'default', { metadata: { name: 'e', namespace: '' } });
    assert.equal(object.metadata.namespace, 'default');
    assert.throws(
      () => r.create(widgetKind, 'default', { metadata: { name: 'o', namespace: 'other' } }),
      apiError('Invalid', ['metadata.namespace']),
    );
  });

  test('generateName makes a unique name', () => {
    const a = r.create(widgetKind, 'default', { metadata: { generateName: 'w-' } }).object;
    const b = r.create(widgetKind, 'default', { metadata: { generateName: 'w-' } }).object;
    assert.match(a.metadata.name ?? '', /^w-[a-z0-9]{5}$/);
    assert.notEqual(a.metadata.name, b.metadata.name);
  });

  test('all schema and semantic errors come back together, with their paths', () => {
    assert.throws(
      () =>
        r.create(widgetKind, 'default', widget({ size: '4Gx', colour: 'green', count: 'many' }, 'Bad_Name')),
      apiError('Invalid', ['metadata.name', 'spec.colour', 'spec.count', 'spec.size']),
    );
    assert.throws(
      () => r.create(widgetKind, 'default', widget({ count: -1 })),
      apiError('Invalid', ['spec.count']),
    );
  });

  test('unknown fields: Strict refuses, Warn warns and drops, Ignore drops; preserved subtrees keep everything', () => {
    const body = widget({ shape: 'round', extra: { anything: { goes: 1 } } });
    assert.throws(
      () => r.create(widgetKind, 'default', body, { fieldValidation: 'Strict' }),
      apiError('BadRequest', ['spec.shape']),
    );
    const warned = r.create(widgetKind, 'default', body, { fieldValidation: 'Warn' });
    assert.deepEqual(warned.warnings, ['unknown field "spec.shape"']);
    assert.deepEqual(warned.object['spec'], { extra: { anything: { goes: 1 } } });
  });

  test('generation bumps on spec changes only; status goes through the status subresource only', () => {
    const created = r.create(widgetKind, 'default', widget({ count: 1 })).object;
    const labelled = r.update(widgetKind, 'default', 'w', {
      ...created,
      metadata: { ...created.metadata, labels: { a: 'b' } },
      status: { phase: 'Ignored' },
    }).object;
    assert.equal(labelled.metadata.generation, 1);
    assert.equal(labelled['status'], undefined, 'status is ignored on the main resource');
    const statused = r.update(
      widgetKind,
      'default',
      'w',
      { ...labelled, spec: { count: 9 }, status: { phase: 'Ready' } },
      { subresource: 'status' },
    ).object;
    assert.deepEqual(statused['status'], { phase: 'Ready' });
    assert.deepEqual(statused['spec'], { count: 1 }, 'spec is ignored on the status subresource');
    const respec = r.update(widgetKind, 'default', 'w', { ...statused, spec: { count: 2 } }).object;
    assert.equal(respec.metadata.generation, 2);
    assert.deepEqual(respec['status'], { phase: 'Ready' });
  });

  test('an update that changes nothing keeps the resourceVersion', () => {
    const created = r.create(widgetKind, 'default', widget({ count: 1 })).object;
    const same = r.update(widgetKind, 'default', 'w', created).object;
    assert.equal(same.metadata.resourceVersion, created.metadata.resourceVersion);
  });

  test('a stale resourceVersion is a Conflict', () => {
    const created = r.create(widgetKind, 'default', widget({ count: 1 })).object;
    r.update(widgetKind, 'default', 'w', { ...created, spec: { count: 2 } });
    assert.throws(
      () => r.update(widgetKind, 'default', 'w', { ...created, spec: { count: 3 } }),
      apiError('Conflict'),
    );
  });

  test('finalizers hold a deletion until the last one is removed', () => {
    r.create(widgetKind, 'default', {
      ...widget(),
      metadata: { name: 'w', finalizers: ['example.com/hold'] },
    });
    const deleting = r.delete(widgetKind, 'default', 'w');
    assert.equal(deleting.metadata.deletionTimestamp, '2026-11-24T10:00:00Z');
    assert.ok(r.get(widgetKind, 'default', 'w'));
    const { finalizers: _f, ...meta } = deleting.metadata;
    r.update(widgetKind, 'default', 'w', { ...deleting, metadata: meta });
    assert.throws(() => r.get(widgetKind, 'default', 'w'), apiError('NotFound'));
  });

  test('namespaces: missing is NotFound, terminating is Forbidden', () => {
    assert.throws(() => r.create(widgetKind, 'nope', widget()), apiError('NotFound'));
    r.create(namespaceKind, '', { metadata: { name: 'going' } });
    r.create(widgetKind, 'going', widget());
    const ns = r.delete(namespaceKind, '', 'going');
    assert.equal((ns['status'] as { phase: string }).phase, 'Terminating');
    assert.throws(() => r.create(widgetKind, 'going', widget({}, 'w2')), apiError('Forbidden'));
  });
});
