/**
 * Small builders of the built-in RBAC objects (bootstrap.ts, cozystack-roles.ts): every one carries
 * kube-apiserver's bootstrapping label and the autoupdate annotation, so a later release may bring
 * it up to date unless the admin said not to.
 */
import { RBAC_GROUP, type BindingObject, type PolicyRule, type RoleObject } from './rbac.js';

export const AUTOUPDATE = 'rbac.authorization.kubernetes.io/autoupdate';
export const READ = ['get', 'list', 'watch'];
export const SUB = 'subresources.kubevirt.io';

export const labels = (...names: string[]): Record<string, string> =>
  Object.fromEntries(names.map((n) => [n, 'true']));

export function clusterRole(
  name: string,
  rules: PolicyRule[],
  extra: Partial<RoleObject['metadata']> = {},
  aggregate?: string[],
): RoleObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: {
      name,
      annotations: { [AUTOUPDATE]: 'true' },
      labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults', ...extra.labels },
    },
    ...(aggregate !== undefined
      ? {
          aggregationRule: { clusterRoleSelectors: aggregate.map((l) => ({ matchLabels: { [l]: 'true' } })) },
        }
      : {}),
    rules,
  };
}

export function binding(name: string, role: string, group: string): BindingObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: {
      name,
      annotations: { [AUTOUPDATE]: 'true' },
      labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'Group', apiGroup: RBAC_GROUP, name: group }],
  };
}
