/**
 * Discovery documents: what kubectl reads to map `vm` to kubevirt.io/v1 virtualmachines.
 * Both the aggregated form (apidiscovery.k8s.io/v2, one request) and the legacy one
 * (APIGroupList, then one APIResourceList per group version) are served from the kind registry,
 * plus the review endpoints (create-only, answered by src/apiserver/auth/reviews.ts), listed as
 * kube-apiserver lists them so `kubectl api-resources` shows them.
 */
import type { KindDefinition } from '../api/kind.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUB_VERBS = ['get', 'patch', 'update'];

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export const wantsAggregated = (accept: string | undefined): boolean =>
  (accept ?? '')
    .split(',')
    .some(
      (part) =>
        part.includes('as=APIGroupDiscoveryList') && part.includes('v=v2') && !part.includes('v=v2beta1'),
    );

export interface GroupVersion {
  group: string;
  version: string;
  kinds: KindDefinition[];
  /** Resources that only answer a POST and store nothing (the reviews). */
  endpoints?: CreateOnly[];
}

export interface CreateOnly {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
}

const authn = (version: string): CreateOnly => ({
  group: 'authentication.k8s.io',
  version,
  plural: 'selfsubjectreviews',
  singular: 'selfsubjectreview',
  kind: 'SelfSubjectReview',
  namespaced: false,
});
const authz = (plural: string, kind: string, namespaced = false): CreateOnly => ({
  group: 'authorization.k8s.io',
  version: 'v1',
  plural,
  singular: plural.slice(0, -1),
  kind,
  namespaced,
});

/** The access reviews the server answers (src/apiserver/auth/reviews.ts), in discovery order. */
export const REVIEW_ENDPOINTS: readonly CreateOnly[] = [
  authn('v1'),
  authn('v1beta1'),
  authz('localsubjectaccessreviews', 'LocalSubjectAccessReview', true),
  authz('selfsubjectaccessreviews', 'SelfSubjectAccessReview'),
  authz('selfsubjectrulesreviews', 'SelfSubjectRulesReview'),
  authz('subjectaccessreviews', 'SubjectAccessReview'),
];

export function groupVersions(
  kinds: readonly KindDefinition[],
  endpoints: readonly CreateOnly[] = [],
): GroupVersion[] {
  const byKey = new Map<string, GroupVersion>();
  const entry = (group: string, version: string): GroupVersion => {
    const key = `${group}/${version}`;
    let gv = byKey.get(key);
    if (gv === undefined) byKey.set(key, (gv = { group, version, kinds: [] }));
    return gv;
  };
  for (const def of kinds) entry(def.group, def.version).kinds.push(def);
  for (const e of endpoints) (entry(e.group, e.version).endpoints ??= []).push(e);
  return [...byKey.values()];
}

const gvString = (gv: { group: string; version: string }): string =>
  gv.group === '' ? gv.version : `${gv.group}/${gv.version}`;

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(name: string, gvs: GroupVersion[]): Record<string, unknown> {
  const versions = gvs.map((gv) => ({ groupVersion: gvString(gv), version: gv.version }));
  return { name, versions, preferredVersion: versions[0] };
}

export function apiGroupList(all: GroupVersion[]): unknown {
  const groups = [...new Set(all.filter((gv) => gv.group !== '').map((gv) => gv.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((g) =>
      apiGroup(
        g,
        all.filter((gv) => gv.group === g),
      ),
    ),
  };
}

export function apiGroupDoc(group: string, all: GroupVersion[]): unknown {
  const gvs = all.filter((gv) => gv.group === group);
  return gvs.length === 0 ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, gvs) };
}

export function apiResourceList(gv: GroupVersion): unknown {
  const resources: Record<string, unknown>[] = gv.kinds.flatMap((def) => {
    const main = {
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: VERBS,
      ...(def.shortNames !== undefined ? { shortNames: def.shortNames } : {}),
      ...(def.categories !== undefined ? { categories: def.categories } : {}),
    };
    const subs = subresources(def).map((sub) => {
      const other = OTHER_KIND[sub];
      return {
        name: `${def.plural}/${sub}`,
        singularName: '',
        namespaced: def.namespaced,
        ...(other !== undefined ? { group: other.group, version: other.version } : {}),
        kind: other?.kind ?? def.kind,
        verbs: subVerbs(sub),
      };
    });
    return [main, ...subs];
  });
  for (const e of gv.endpoints ?? [])
    resources.push({
      name: e.plural,
      singularName: e.singular,
      namespaced: e.namespaced,
      kind: e.kind,
      verbs: ['create'],
    });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvString(gv), resources };
}

function subresources(def: KindDefinition): string[] {
  const subs = def.statusSubresource ? ['status'] : [];
  if (def.kind === 'Namespace') subs.push('finalize');
  if (def.scaleSubresource === true) subs.push('scale');
  if (def.group === '' && def.kind === 'ServiceAccount') subs.push('token');
  return subs;
}

/** What the scale subresource answers with. */
const SCALE_KIND = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
/** Subresources answering with a kind of their own: scale, and TokenRequest (`kubectl create token`). */
const OTHER_KIND: Partial<Record<string, { group: string; version: string; kind: string }>> = {
  scale: SCALE_KIND,
  token: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
};
const subVerbs = (sub: string): string[] => (sub === 'token' ? ['create'] : SUB_VERBS);

/** The aggregated discovery document for `/api` (core: true) or `/apis`. */
export function aggregatedDiscovery(all: GroupVersion[], core: boolean): unknown {
  const gvs = all.filter((gv) => (gv.group === '') === core);
  const groups = [...new Set(gvs.map((gv) => gv.group))];
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group },
      versions: gvs
        .filter((gv) => gv.group === group)
        .map((gv) => ({
          version: gv.version,
          freshness: 'Current',
          resources: [
            ...gv.kinds.map((def) => {
              const responseKind = { group: def.group, version: def.version, kind: def.kind };
              return {
                resource: def.plural,
                responseKind,
                scope: def.namespaced ? 'Namespaced' : 'Cluster',
                singularResource: def.singular,
                verbs: VERBS,
                ...(def.shortNames !== undefined ? { shortNames: def.shortNames } : {}),
                ...(def.categories !== undefined ? { categories: def.categories } : {}),
                subresources: subresources(def).map((subresource) => ({
                  subresource,
                  responseKind: OTHER_KIND[subresource] ?? responseKind,
                  verbs: subVerbs(subresource),
                })),
              };
            }),
            ...(gv.endpoints ?? []).map((e) => ({
              resource: e.plural,
              responseKind: { group: e.group, version: e.version, kind: e.kind },
              scope: e.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: e.singular,
              verbs: ['create'],
            })),
          ],
        })),
    })),
  };
}
