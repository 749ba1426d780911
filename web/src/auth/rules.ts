/**
 * What the signed-in user may do, read from the server's own answers: the rules of a
 * SelfSubjectRulesReview, matched as RBAC matches them, and the user of a SelfSubjectReview.
 * Pure functions (no imports), so the table tests run them without a browser.
 */

/** One `status.resourceRules` entry of a SelfSubjectRulesReview. */
export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

/** A request the console may make: verb, API group, resource (with `/subresource`), object name. */
export interface Attempt {
  verb: string;
  group: string;
  resource: string;
  name?: string;
}

const has = (list: readonly string[] | undefined, value: string): boolean =>
  (list ?? []).some((v) => v === '*' || v === value);

/** RBAC's resource match: `*`, the exact `resource/sub`, or `*\/sub` for any resource's subresource. */
function resourceMatches(list: readonly string[] | undefined, resource: string): boolean {
  const sub = resource.includes('/') ? resource.slice(resource.indexOf('/')) : undefined;
  return (list ?? []).some((r) => r === '*' || r === resource || (sub !== undefined && r === `*${sub}`));
}

/** True when one of `rules` allows `attempt`, by Kubernetes' evaluation of verbs, groups, resources, names. */
export function allows(rules: readonly ResourceRule[], attempt: Attempt): boolean {
  return rules.some(
    (r) =>
      has(r.verbs, attempt.verb) &&
      has(r.apiGroups, attempt.group) &&
      resourceMatches(r.resources, attempt.resource) &&
      (r.resourceNames === undefined ||
        r.resourceNames.length === 0 ||
        (attempt.name !== undefined && r.resourceNames.includes(attempt.name))),
  );
}

/** The reason an action is disabled when RBAC does not allow it, naming the verb, resource and namespace. */
export function deniedReason(user: string, attempt: Attempt, namespace: string): string {
  const group = attempt.group === '' ? '' : ` in API group "${attempt.group}"`;
  return `Not allowed: ${user} cannot ${attempt.verb} "${attempt.resource}"${group} in namespace "${namespace}"`;
}

/** The namespace of a ServiceAccount user (`system:serviceaccount:NS:NAME`), else undefined. */
export function serviceAccountNamespace(username: string): string | undefined {
  const m = /^system:serviceaccount:([^:]+):[^:]+$/.exec(username);
  return m?.[1];
}

/**
 * Whether a namespace is in the user's reach: its rules review grants something beyond the rules
 * every namespace gets (the cluster-wide ones, answered for namespace "").
 */
export function inReach(namespaced: readonly ResourceRule[], clusterWide: readonly ResourceRule[]): boolean {
  const key = (r: ResourceRule): string =>
    JSON.stringify([r.verbs, r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? []]);
  const base = new Set(clusterWide.map(key));
  return namespaced.some((r) => !base.has(key(r)));
}
