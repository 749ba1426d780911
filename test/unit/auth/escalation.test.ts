/**
 * No privilege escalation through RBAC writes: a user who may write Roles and RoleBindings in a
 * namespace may grant only what they hold there, unless given `escalate` or `bind`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { clusterRoleKind, roleBindingKind, roleKind } from '../../../src/api/rbac/rbac.js';
import { Authorizer } from '../../../src/apiserver/auth/authorizer.js';
import { escalationGuard, uncovered } from '../../../src/apiserver/auth/escalation.js';
import { PolicyIndex } from '../../../src/apiserver/auth/policy-index.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const RBAC = 'rbac.authorization.k8s.io';

describe('uncovered', () => {
  const held = [
    { apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get', 'list'] },
    { apiGroups: ['subresources.kubevirt.io'], resources: ['*/start'], verbs: ['update'] },
  ];
  const cases: [string, Parameters<typeof uncovered>[0], number][] = [
    ['held exactly', [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get'] }], 0],
    [
      'a narrower name',
      [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], resourceNames: ['a'], verbs: ['list'] }],
      0,
    ],
    [
      'a verb not held',
      [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get', 'delete'] }],
      1,
    ],
    ['the * verb', [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['*'] }], 1],
    ['every resource', [{ apiGroups: ['kubevirt.io'], resources: ['*'], verbs: ['get'] }], 1],
    [
      'a subresource through */sub',
      [{ apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/start'], verbs: ['update'] }],
      0,
    ],
    ['a URL', [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }], 1],
  ];
  for (const [what, rules, want] of cases)
    test(what, () => assert.equal(uncovered(rules, held, 'a').length, want));
});

describe('escalationGuard over the store', () => {
  const registry = new Registry(new SqliteStore({ path: ':memory:' }));
  const index = new PolicyIndex(registry.store);
  const authz = new Authorizer(index);
  const carol = { username: 'carol', groups: ['system:authenticated'] };
  const guard = escalationGuard(authz, index, carol);
  const as = { guard };
  const binding = (name: string, kind: 'Role' | 'ClusterRole', role: string, user = 'dave') => ({
    metadata: { name, namespace: 'a' },
    roleRef: { apiGroup: RBAC, kind, name: role },
    subjects: [{ kind: 'User', apiGroup: RBAC, name: user }],
  });
  const forbidden = (f: () => unknown, pattern: RegExp): void =>
    assert.throws(
      f,
      (err: unknown) => err instanceof ApiError && err.code === 403 && pattern.test(err.message),
    );

  before(() => {
    registry.create(namespaceKind, '', { metadata: { name: 'a' } });
    registry.create(roleKind, 'a', {
      metadata: { name: 'carol-powers', namespace: 'a' },
      rules: [
        { apiGroups: [RBAC], resources: ['roles', 'rolebindings'], verbs: ['create', 'update'] },
        { apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get', 'list'] },
      ],
    });
    registry.create(roleKind, 'a', {
      metadata: { name: 'vm-reader', namespace: 'a' },
      rules: [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get'] }],
    });
    registry.create(roleBindingKind, 'a', binding('carol', 'Role', 'carol-powers', 'carol'));
    registry.create(clusterRoleKind, '', {
      metadata: { name: 'everything' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    });
  });
  after(() => index.close());

  test('binding a role whose rules the writer holds is allowed', () =>
    assert.doesNotThrow(() =>
      registry.create(roleBindingKind, 'a', binding('dave-reads', 'Role', 'vm-reader'), as),
    ));

  test('binding a role with more than the writer holds is refused, naming what is missing', () =>
    forbidden(
      () => registry.create(roleBindingKind, 'a', binding('dave-all', 'ClusterRole', 'everything'), as),
      /attempting to grant RBAC permissions not currently held/,
    ));

  test('writing a role with rules not held is refused; with rules held, allowed', () => {
    forbidden(
      () =>
        registry.create(
          roleKind,
          'a',
          {
            metadata: { name: 'wide', namespace: 'a' },
            rules: [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['delete'] }],
          },
          as,
        ),
      /"verbs":\["delete"\]/,
    );
    assert.doesNotThrow(() =>
      registry.create(
        roleKind,
        'a',
        {
          metadata: { name: 'narrow', namespace: 'a' },
          rules: [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['list'] }],
        },
        as,
      ),
    );
  });

  test('the bind verb on the role, by name, allows binding it', () => {
    registry.create(roleKind, 'a', {
      metadata: { name: 'may-bind', namespace: 'a' },
      rules: [
        { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: ['everything'], verbs: ['bind'] },
      ],
    });
    registry.create(roleBindingKind, 'a', binding('carol-bind', 'Role', 'may-bind', 'carol'));
    assert.doesNotThrow(() =>
      registry.create(roleBindingKind, 'a', binding('dave-all', 'ClusterRole', 'everything'), as),
    );
  });
});
