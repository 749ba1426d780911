/**
 * RBAC's guard against privilege escalation, as kube-apiserver's: a user may write a Role or
 * ClusterRole only with rules they already hold where it applies (or the `escalate` verb on it),
 * and bind a role only when they hold its rules there (or the `bind` verb on it, by name).
 * Aggregated ClusterRoles take their rules from others, so writing one needs `escalate`.
 * Without this, whoever may write RoleBindings could grant themselves `cluster-admin` in a namespace.
 */
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { RBAC_GROUP, type BindingObject, type PolicyRule, type RoleObject } from '../../api/rbac/rbac.js';
import { ApiError } from '../errors.js';
import type { RequestAttributes } from './attributes.js';
import { ruleAllows, type Authorizer } from './authorizer.js';
import type { PolicyIndex } from './policy-index.js';
import type { UserInfo } from './user.js';

/** Checks an RBAC object about to be written; throws Forbidden when it would grant more than its writer holds. */
export type WriteGuard = (def: KindDefinition, object: KubeObject, namespace: string) => void;

const base = (namespace: string): RequestAttributes => ({
  verb: '',
  resourceRequest: true,
  namespace,
  apiGroup: '',
  apiVersion: '',
  resource: '',
  subresource: '',
  name: '',
  path: '',
});

/** The parts of `rules` no rule of `held` covers, one atomic rule each. */
export function uncovered(
  rules: readonly PolicyRule[],
  held: readonly PolicyRule[],
  namespace: string,
): PolicyRule[] {
  const missing: PolicyRule[] = [];
  const covered = (a: RequestAttributes): boolean => held.some((h) => ruleAllows(a, h));
  for (const rule of rules) {
    for (const verb of rule.verbs) {
      for (const path of rule.nonResourceURLs ?? [])
        if (!covered({ ...base(''), resourceRequest: false, verb, path }))
          missing.push({ verbs: [verb], nonResourceURLs: [path] });
      for (const apiGroup of rule.apiGroups ?? [])
        for (const combined of rule.resources ?? []) {
          const [resource = '', ...sub] = combined.split('/');
          const names =
            rule.resourceNames !== undefined && rule.resourceNames.length > 0 ? rule.resourceNames : [''];
          for (const name of names) {
            const a = { ...base(namespace), verb, apiGroup, resource, subresource: sub.join('/'), name };
            if (!covered(a))
              missing.push({
                verbs: [verb],
                apiGroups: [apiGroup],
                resources: [combined],
                ...(name !== '' ? { resourceNames: [name] } : {}),
              });
          }
        }
    }
  }
  return missing;
}

export function escalationGuard(authorizer: Authorizer, index: PolicyIndex, user: UserInfo): WriteGuard {
  const may = (verb: string, resource: string, name: string, namespace: string): boolean =>
    authorizer.authorize({ ...base(namespace), verb, apiGroup: RBAC_GROUP, resource, name, user }).allowed;
  const refuse = (def: KindDefinition, name: string, why: string): never => {
    throw new ApiError(
      'Forbidden',
      `${def.plural}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: user ${JSON.stringify(user.username)} (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${why}`,
      { name, group: RBAC_GROUP, kind: def.plural },
    );
  };
  return (def, object, namespace) => {
    if (def.group !== RBAC_GROUP) return;
    const name = object.metadata.name ?? '';
    const scope = def.namespaced ? namespace : '';
    if (def.kind === 'Role' || def.kind === 'ClusterRole') {
      if (may('escalate', def.plural, name, scope)) return;
      const role = object as RoleObject;
      if (role.aggregationRule !== undefined)
        refuse(
          def,
          name,
          'an aggregationRule takes rules from other roles: writing one needs the escalate verb',
        );
      const missing = uncovered(role.rules ?? [], authorizer.rulesFor(user, scope), scope);
      if (missing.length > 0) refuse(def, name, missing.map((r) => JSON.stringify(r)).join('\n'));
      return;
    }
    const ref = (object as BindingObject).roleRef;
    const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
    if (may('bind', refResource, ref.name, scope)) return;
    const role = ref.kind === 'Role' ? index.role(scope, ref.name) : index.clusterRoles.get(ref.name);
    const missing = uncovered(role?.rules ?? [], authorizer.rulesFor(user, scope), scope);
    if (missing.length > 0)
      refuse(
        def,
        name,
        `${ref.kind} ${JSON.stringify(ref.name)}: ${missing.map((r) => JSON.stringify(r)).join('\n')}`,
      );
  };
}
