/**
 * Every signed-in user may read the BackupClasses (the console's class picker lists them for
 * tenant users too), as cluster instance types are read: through a ClusterRole bound to
 * system:authenticated by the bootstrap policy. Reading is all: no write, and not the strategies
 * (which name the credentials Secrets).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from '../../../src/api/rbac/bootstrap.js';
import { kinds } from '../../../src/api/registry.js';
import type { RequestAttributes } from '../../../src/apiserver/auth/attributes.js';
import { ruleAllows } from '../../../src/apiserver/auth/authorizer.js';

/** The rules of the cluster roles bound to every authenticated user. */
function authenticatedRules() {
  const bound = bootstrapClusterRoleBindings()
    .filter((b) => b.subjects?.some((s) => s.kind === 'Group' && s.name === 'system:authenticated'))
    .map((b) => b.roleRef.name);
  return bootstrapClusterRoles(kinds)
    .filter((r) => bound.includes(r.metadata.name ?? ''))
    .flatMap((r) => r.rules ?? []);
}

const attempt = (verb: string, apiGroup: string, resource: string): RequestAttributes => ({
  verb,
  resourceRequest: true,
  namespace: '',
  apiGroup,
  apiVersion: 'v1alpha1',
  resource,
  subresource: '',
  name: '',
  path: '',
});

describe('BackupClasses are read by every authenticated user', () => {
  const rules = authenticatedRules();
  const cases: [string, string, string, boolean][] = [
    ['list', 'backups.cozystack.io', 'backupclasses', true],
    ['watch', 'backups.cozystack.io', 'backupclasses', true],
    ['get', 'backups.cozystack.io', 'backupclasses', true],
    ['create', 'backups.cozystack.io', 'backupclasses', false],
    ['delete', 'backups.cozystack.io', 'backupclasses', false],
    ['list', 'backups.hikube.io', 'backupstrategies', false],
    ['list', 'backups.cozystack.io', 'backups', false],
  ];
  for (const [verb, group, resource, allowed] of cases)
    test(`${verb} ${resource}.${group}: ${allowed ? 'allowed' : 'refused'}`, () =>
      assert.equal(
        rules.some((r) => ruleAllows(attempt(verb, group, resource), r)),
        allowed,
      ));
});
