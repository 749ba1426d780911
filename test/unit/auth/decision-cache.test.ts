/**
 * The authorizer remembers its decisions, and forgets them all the moment a role or binding
 * changes: a RoleBinding deleted, a Role's rules narrowed, a ClusterRoleBinding added or removed
 * each decide the very next request. Users differing only in their groups never share a decision.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { serviceAccountKind } from '../../../src/api/core/serviceaccount.js';
import {
  clusterRoleBindingKind,
  clusterRoleKind,
  roleBindingKind,
  roleKind,
} from '../../../src/api/rbac/rbac.js';
import type { RequestAttributes } from '../../../src/apiserver/auth/attributes.js';
import { Authorizer } from '../../../src/apiserver/auth/authorizer.js';
import { PolicyIndex } from '../../../src/apiserver/auth/policy-index.js';
import type { UserInfo } from '../../../src/apiserver/auth/user.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const attrs = (over: Partial<RequestAttributes>): RequestAttributes => ({
  verb: 'get',
  resourceRequest: true,
  namespace: 'a',
  apiGroup: 'kubevirt.io',
  apiVersion: 'v1',
  resource: 'virtualmachines',
  subresource: '',
  name: 'vm1',
  path: '/apis/kubevirt.io/v1/namespaces/a/virtualmachines/vm1',
  ...over,
});

function world() {
  const registry = new Registry(new SqliteStore({ path: ':memory:' }));
  registry.create(namespaceKind, '', { metadata: { name: 'a' } });
  const index = new PolicyIndex(registry.store);
  const authz = new Authorizer(index);
  const can = (user: UserInfo, over: Partial<RequestAttributes> = {}): boolean =>
    authz.authorize({ ...attrs(over), user }).allowed;
  return { registry, index, can };
}

const role = (rules: unknown[]) => ({ metadata: { name: 'vm-reader', namespace: 'a' }, rules });
const readVms = { apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get', 'list'] };
const bob: UserInfo = { username: 'bob', groups: ['system:authenticated'] };

describe('authorization decisions, cached', () => {
  test('a RoleBinding deleted: the next request is refused; re-created: allowed again', () => {
    const { registry, index, can } = world();
    registry.create(roleKind, 'a', role([readVms]));
    assert.equal(can(bob), false, 'no binding yet');
    registry.create(roleBindingKind, 'a', {
      metadata: { name: 'bob-reads', namespace: 'a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vm-reader' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    assert.equal(can(bob), true);
    assert.equal(can(bob), true, 'again, from the cache');
    registry.delete(roleBindingKind, 'a', 'bob-reads');
    assert.equal(can(bob), false, 'the binding is gone');
    registry.create(roleBindingKind, 'a', {
      metadata: { name: 'bob-reads-again', namespace: 'a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vm-reader' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    assert.equal(can(bob), true, 'bound again');
    index.close();
  });

  test("a Role's rules narrowed or the Role deleted: refused at once", () => {
    const { registry, index, can } = world();
    registry.create(roleKind, 'a', role([readVms]));
    registry.create(roleBindingKind, 'a', {
      metadata: { name: 'bob-reads', namespace: 'a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vm-reader' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    assert.equal(can(bob, { verb: 'list', name: '' }), true);
    assert.equal(can(bob), true);
    registry.update(roleKind, 'a', 'vm-reader', role([{ ...readVms, verbs: ['get'] }]));
    assert.equal(can(bob, { verb: 'list', name: '' }), false, 'list is no longer granted');
    assert.equal(can(bob), true, 'get still is');
    registry.delete(roleKind, 'a', 'vm-reader');
    assert.equal(can(bob), false, 'the role is gone');
    index.close();
  });

  test('a ClusterRoleBinding to a group: granted and revoked for the next request', () => {
    const { registry, index, can } = world();
    registry.create(clusterRoleKind, '', { metadata: { name: 'vm-reader' }, rules: [readVms] });
    const dev: UserInfo = { username: 'bob', groups: ['devs', 'system:authenticated'] };
    assert.equal(can(dev), false);
    registry.create(clusterRoleBindingKind, '', {
      metadata: { name: 'devs-read' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'vm-reader' },
      subjects: [{ kind: 'Group', name: 'devs' }],
    });
    assert.equal(can(dev), true);
    assert.equal(can(bob), false, 'the same name without the group: its own decision');
    registry.delete(clusterRoleBindingKind, '', 'devs-read');
    assert.equal(can(dev), false, 'the binding is gone');
    index.close();
  });

  test('decisions differ by verb, namespace, name and subresource; a service account change keeps them', () => {
    const { registry, index, can } = world();
    registry.create(namespaceKind, '', { metadata: { name: 'b' } });
    registry.create(roleKind, 'a', role([{ ...readVms, resourceNames: ['vm1'] }]));
    registry.create(roleBindingKind, 'a', {
      metadata: { name: 'bob-reads', namespace: 'a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vm-reader' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    assert.equal(can(bob), true);
    assert.equal(can(bob, { verb: 'delete' }), false);
    assert.equal(can(bob, { name: 'vm2' }), false);
    assert.equal(can(bob, { namespace: 'b' }), false);
    assert.equal(can(bob, { subresource: 'status' }), false);
    const before = index.generation;
    registry.create(serviceAccountKind, 'a', { metadata: { name: 'sa', namespace: 'a' } });
    assert.equal(index.generation, before, 'accounts do not touch RBAC decisions');
    assert.equal(can(bob), true);
    index.close();
  });
});
