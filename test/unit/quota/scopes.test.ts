/**
 * ResourceQuota scopes at admission, against the real registry and SQLite store: a scoped quota
 * charges only the VMIs (virt-launcher pods) in its scopes, one test per scope; bad scopes, bad
 * selector expressions and names a scope cannot track are refused with one cause each.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { resourceQuotaKind } from '../../../src/api/core/quota.js';
import { serviceKind } from '../../../src/api/core/service.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

let r: Registry;
beforeEach(() => {
  r = new Registry(new SqliteStore({ path: ':memory:' }));
  r.create(namespaceKind, '', { metadata: { name: 'acme' } });
});

const quota = (spec: Record<string, unknown>) =>
  r.create(resourceQuotaKind, 'acme', { metadata: { name: 'scoped' }, spec });
const vmi = (name: string, priorityClassName?: string) => ({
  metadata: { name },
  spec: {
    ...(priorityClassName !== undefined ? { priorityClassName } : {}),
    domain: {
      cpu: { cores: 1 },
      memory: { guest: '128Mi' },
      devices: { disks: [{ name: 'root', disk: {} }] },
    },
    volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
  },
});
const create = (name: string, priorityClassName?: string) =>
  r.create(virtualMachineInstanceKind, 'acme', vmi(name, priorityClassName));
const over = (err: unknown) => {
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.code, 403, err.message);
  assert.match(
    err.message,
    /exceeded quota: scoped, requested: count\/virtualmachineinstances\.kubevirt\.io=1/,
  );
  return true;
};
const ONE = { hard: { 'count/virtualmachineinstances.kubevirt.io': 1 } };

describe('ResourceQuota scopes (a VMI counted as its launcher pod)', () => {
  test('NotTerminating: every VMI (a launcher pod has no activeDeadlineSeconds)', () => {
    quota({ ...ONE, scopes: ['NotTerminating'] });
    create('a');
    assert.throws(() => create('b'), over);
  });
  test('Terminating: no VMI is charged', () => {
    quota({ ...ONE, scopes: ['Terminating'] });
    create('a');
    create('b');
  });
  test('NotBestEffort: every VMI (a launcher pod always requests memory)', () => {
    quota({ ...ONE, scopes: ['NotBestEffort'] });
    create('a');
    assert.throws(() => create('b'), over);
  });
  test('BestEffort: no VMI is charged, and only the count may be tracked', () => {
    quota({ ...ONE, scopes: ['BestEffort'] });
    create('a');
    create('b');
  });
  test('PriorityClass In: only the VMIs of the listed classes', () => {
    quota({
      ...ONE,
      scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] },
    });
    create('a', 'high');
    create('low-1', 'low');
    create('none');
    assert.throws(() => create('b', 'high'), over);
  });
  test('PriorityClass NotIn, Exists and DoesNotExist', () => {
    quota({
      ...ONE,
      scopeSelector: {
        matchExpressions: [{ scopeName: 'PriorityClass', operator: 'NotIn', values: ['high'] }],
      },
    });
    create('h1', 'high');
    create('low-1', 'low');
    assert.throws(() => create('none'), over);
    r.delete(resourceQuotaKind, 'acme', 'scoped');
    quota({
      ...ONE,
      scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'Exists' }] },
    });
    // h1 and low-1 are already two in scope: any VMI with a class is refused, one without passes.
    create('none-2');
    assert.throws(() => create('c', 'any'), over);
    r.delete(resourceQuotaKind, 'acme', 'scoped');
    quota({
      ...ONE,
      scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'DoesNotExist' }] },
    });
    create('h2', 'high');
    assert.throws(() => create('none-3'), over);
  });
  test('a scoped quota does not charge what is not a pod (a LoadBalancer)', () => {
    quota({ hard: { 'requests.cpu': 1 }, scopes: ['NotTerminating'] });
    r.create(serviceKind, 'acme', {
      metadata: { name: 'lb' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: 'x' } },
    });
  });
  test('bad scopes: one cause per field', () => {
    assert.throws(
      () =>
        quota({
          hard: { 'services.loadbalancers': 1, pods: 2 },
          scopes: ['Sometimes', 'Terminating', 'NotTerminating'],
          scopeSelector: {
            matchExpressions: [
              { scopeName: 'PriorityClass', operator: 'In' },
              { scopeName: 'BestEffort', operator: 'In', values: ['x'] },
              { scopeName: 'PriorityClass', operator: 'Near' },
            ],
          },
        }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError, String(err));
        assert.equal(err.code, 422);
        assert.deepEqual((err.details.causes ?? []).map((c) => c.path).sort(), [
          'spec.hard[services.loadbalancers]',
          'spec.scopeSelector.matchExpressions[0].values',
          'spec.scopeSelector.matchExpressions[1].operator',
          'spec.scopeSelector.matchExpressions[2].operator',
          'spec.scopes',
          'spec.scopes[0]',
        ]);
        return true;
      },
    );
    assert.throws(
      () => quota({ hard: { 'requests.cpu': 1 }, scopes: ['BestEffort'] }),
      /unsupported scope applied to resource/,
    );
  });
});
