/**
 * Discovery documents: what kubectl reads to map `vm` to kubevirt.io/v1 virtualmachines.
 * Both the aggregated form (apidiscovery.k8s.io/v2, one request) and the legacy one
 * (APIGroupList, then one APIResourceList per group version) are served from the kind registry.
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
}

export function groupVersions(kinds: readonly KindDefinition[]): GroupVersion[] {
  const byKey = new Map<string, GroupVersion>();
  for (const def of kinds) {
    const key = `${def.group}/${def.version}`;
    let gv = byKey.get(key);
    if (gv === undefined) byKey.set(key, (gv = { group: def.group, version: def.version, kinds: [] }));
    gv.kinds.push(def);
  }
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
  const resources = gv.kinds.flatMap((def) => {
    const main = {
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: VERBS,
      ...(def.shortNames !== undefined ? { shortNames: def.shortNames } : {}),
      ...(def.categories !== undefined ? { categories: def.categories } : {}),
    };
    const subs = subresources(def).map((sub) => ({
      name: `${def.plural}/${sub}`,
      singularName: '',
      namespaced: def.namespaced,
      ...(sub === 'scale' ? { group: SCALE_KIND.group, version: SCALE_KIND.version } : {}),
      kind: sub === 'scale' ? SCALE_KIND.kind : def.kind,
      verbs: SUB_VERBS,
    }));
    return [main, ...subs];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvString(gv), resources };
}

function subresources(def: KindDefinition): string[] {
  const subs = def.statusSubresource ? ['status'] : [];
  if (def.kind === 'Namespace') subs.push('finalize');
  if (def.scaleSubresource === true) subs.push('scale');
  return subs;
}

/** What the scale subresource answers with. */
const SCALE_KIND = { group: 'autoscaling', version: 'v1', kind: 'Scale' };

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
          resources: gv.kinds.map((def) => {
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
                responseKind: subresource === 'scale' ? SCALE_KIND : responseKind,
                verbs: SUB_VERBS,
              })),
            };
          }),
        })),
    })),
  };
}
