/**
 * RBAC as kube-apiserver evaluates it: a request is allowed when a rule of a role bound to its
 * user or one of its groups matches it (ClusterRoleBindings everywhere, RoleBindings in their
 * namespace only, non-resource URLs only through ClusterRoleBindings); nothing denies. Members of
 * system:masters are allowed before any rule is read. Rules read: verbs, apiGroups, resources
 * (`resource/sub`, `*\/sub`, `*`), resourceNames, nonResourceURLs (exact, `prefix*`, `*`).
 * Decisions are remembered until a role or binding changes (a watch asks again per event).
 */
import type { BindingObject, PolicyRule, RoleObject } from '../../api/rbac/rbac.js';
import type { Attributes } from './attributes.js';
import type { PolicyIndex } from './policy-index.js';
import { MASTERS, type UserInfo } from './user.js';

export interface Decision {
  allowed: boolean;
  reason: string;
}

const has = (list: readonly string[] | undefined, value: string): boolean =>
  list !== undefined && (list.includes('*') || list.includes(value));

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource !== '' && r === `*/${subresource}`) return true;
  }
  return false;
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(a: Omit<Attributes, 'user'>, rule: PolicyRule): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  if (!has(rule.apiGroups, a.apiGroup) || !resourceMatches(rule, a.resource, a.subresource)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name);
}

const subjectKeys = (user: UserInfo): string[] => [`u:${user.username}`, ...user.groups.map((g) => `g:${g}`)];

/** Decisions kept at most; past it the cache starts over. */
const DECISION_CACHE_SIZE = 10_000;

/** Everything a decision depends on, unambiguously (names may hold any character). */
const decisionKey = (a: Attributes): string =>
  JSON.stringify([
    a.user.username,
    a.user.groups,
    a.verb,
    a.resourceRequest,
    a.apiGroup,
    a.resource,
    a.subresource,
    a.namespace,
    a.name,
    a.resourceRequest ? '' : a.path,
  ]);

export class Authorizer {
  /**
   * Decisions by decisionKey, made under the policy index's generation `cachedGeneration`: any
   * change to a role or binding bumps it, and the next request finds the cache emptied.
   */
  private readonly decisions = new Map<string, Decision>();
  private cachedGeneration = -1;

  constructor(private readonly index: PolicyIndex) {}

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes(MASTERS)) return { allowed: true, reason: `member of ${MASTERS}` };
    if (this.index.generation !== this.cachedGeneration) {
      this.decisions.clear();
      this.cachedGeneration = this.index.generation;
    }
    const key = decisionKey(a);
    let decision = this.decisions.get(key);
    if (decision === undefined) {
      decision = this.decide(a);
      if (this.decisions.size >= DECISION_CACHE_SIZE) this.decisions.clear();
      this.decisions.set(key, decision);
    }
    return decision;
  }

  private decide(a: Attributes): Decision {
    for (const key of subjectKeys(a.user)) {
      for (const b of this.index.clusterBindingsFor(key)) {
        if (this.rulesOf(b, '').some((r) => ruleAllows(a, r)))
          return {
            allowed: true,
            reason: `RBAC: allowed by ClusterRoleBinding "${b.metadata.name ?? ''}" of ClusterRole "${b.roleRef.name}" to ${describe(key)}`,
          };
      }
      if (!a.resourceRequest || a.namespace === '') continue;
      for (const b of this.index.bindingsFor(a.namespace, key)) {
        if (this.rulesOf(b, a.namespace).some((r) => ruleAllows(a, r)))
          return {
            allowed: true,
            reason: `RBAC: allowed by RoleBinding "${b.metadata.name ?? ''}/${a.namespace}" of ${b.roleRef.kind} "${b.roleRef.name}" to ${describe(key)}`,
          };
      }
    }
    return { allowed: false, reason: '' };
  }

  /** Every rule that applies to `user` in `namespace` (what SelfSubjectRulesReview lists). */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    if (user.groups.includes(MASTERS))
      return [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ];
    const rules: PolicyRule[] = [];
    for (const key of subjectKeys(user)) {
      for (const b of this.index.clusterBindingsFor(key)) rules.push(...this.rulesOf(b, ''));
      if (namespace === '') continue;
      for (const b of this.index.bindingsFor(namespace, key))
        rules.push(...this.rulesOf(b, namespace).filter((r) => (r.nonResourceURLs ?? []).length === 0));
    }
    return rules;
  }

  private rulesOf(b: BindingObject, namespace: string): readonly PolicyRule[] {
    const role: RoleObject | undefined =
      b.roleRef.kind === 'ClusterRole'
        ? this.index.clusterRoles.get(b.roleRef.name)
        : this.index.role(namespace, b.roleRef.name);
    return role?.rules ?? [];
  }
}

function describe(key: string): string {
  const name = key.slice(2);
  if (key.startsWith('g:')) return `Group "${name}"`;
  const sa = /^system:serviceaccount:([^:]+):(.+)$/.exec(name);
  return sa !== null ? `ServiceAccount "${sa[2] ?? ''}/${sa[1] ?? ''}"` : `User "${name}"`;
}
