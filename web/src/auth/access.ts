/**
 * The signed-in user's reach, asked of the API server: who they are (SelfSubjectReview), which
 * namespaces they can see, and the rules they hold in a namespace (SelfSubjectRulesReview).
 *
 * Namespaces: a user who may list namespaces sees them all. One who may not (a tenant's user) sees
 * the namespaces in their RoleBindings' reach, found without reading the bindings (which they
 * usually may not): the candidates are their ServiceAccount's own namespace (where
 * `hikube user create` binds them) and the namespace of the kubeconfig context they signed in
 * with; a candidate is kept when its rules review grants more than the cluster-wide rules do.
 */
import { api, ApiStatusError } from '../api/client';
import { inReach, serviceAccountNamespace, type ResourceRule } from './rules';

const AUTHN = '/apis/authentication.k8s.io/v1';
const AUTHZ = '/apis/authorization.k8s.io/v1';
const HINT = 'hikube.namespaceHint';

export interface Identity {
  username: string;
  groups: string[];
}

/** The namespace of the kubeconfig context the user signed in with, kept as a candidate. */
export function rememberNamespaceHint(namespace: string | undefined): void {
  if (namespace === undefined || namespace === '') sessionStorage.removeItem(HINT);
  else sessionStorage.setItem(HINT, namespace);
}

export async function whoAmI(): Promise<Identity> {
  const review = await api.create<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>(
    `${AUTHN}/selfsubjectreviews`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  );
  const info = review.status?.userInfo;
  return { username: info?.username ?? '(unknown)', groups: info?.groups ?? [] };
}

export async function rulesIn(namespace: string): Promise<ResourceRule[]> {
  const review = await api.create<{ status?: { resourceRules?: ResourceRule[] } }>(
    `${AUTHZ}/selfsubjectrulesreviews`,
    { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
  );
  return review.status?.resourceRules ?? [];
}

/** SelfSubjectAccessReview: may the user `verb` `resource` of `group` (in every namespace when none)? */
export async function canI(
  verb: string,
  group: string,
  resource: string,
  namespace?: string,
): Promise<boolean> {
  const review = await api.create<{ status?: { allowed?: boolean } }>(`${AUTHZ}/selfsubjectaccessreviews`, {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {
      resourceAttributes: { verb, group, resource, ...(namespace !== undefined ? { namespace } : {}) },
    },
  });
  return review.status?.allowed === true;
}

/** The namespaces the user can see, sorted; see the module comment for a user who cannot list them. */
export async function visibleNamespaces(user: Identity): Promise<string[]> {
  try {
    const list = await api.get<{ items: { metadata: { name: string } }[] }>('/api/v1/namespaces');
    return list.items.map((n) => n.metadata.name).sort();
  } catch (err) {
    if (!(err instanceof ApiStatusError) || err.code !== 403) throw err;
  }
  const candidates = new Set<string>();
  const own = serviceAccountNamespace(user.username);
  if (own !== undefined) candidates.add(own);
  const hint = sessionStorage.getItem(HINT);
  if (hint !== null) candidates.add(hint);
  const clusterWide = await rulesIn('');
  const kept = await Promise.all(
    [...candidates].map(async (ns) => (inReach(await rulesIn(ns), clusterWide) ? ns : undefined)),
  );
  return kept.filter((ns): ns is string => ns !== undefined).sort();
}
