/**
 * A namespace's usage summed over its objects, and the verdict on one more object: the pure half of
 * quota admission and of the ResourceQuota status controller, worded as kube-apiserver words it
 * (`exceeded quota: NAME, requested: limits.cpu=4, used: limits.cpu=0, limited: limits.cpu=2`).
 */
import type { KubeObject } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import { canonicalQuotaName, formatQuotaAmount } from './names.js';
import { EVALUATED_RESOURCES, usageOf, type Usage, type UsagePolicy } from './usage.js';

export interface QuotaSpec {
  name: string;
  /** As written in spec.hard. */
  hard: Record<string, string | number>;
}

/** The resource key a `count/<plural>.<group>` name counts, e.g. `kubevirt.io/virtualmachines`. */
export function countedResource(name: string): string | undefined {
  if (!name.startsWith('count/')) return undefined;
  const rest = name.slice('count/'.length);
  const dot = rest.indexOf('.');
  return dot < 0 ? `/${rest}` : `${rest.slice(dot + 1)}/${rest.slice(0, dot)}`;
}

/** Every resource key whose objects a quota with these names must look at. */
export function resourcesFor(hardNames: Iterable<string>): string[] {
  const out = new Set<string>(EVALUATED_RESOURCES);
  for (const n of hardNames) {
    const r = countedResource(n);
    if (r !== undefined) out.add(r);
  }
  return [...out];
}

export interface NamespaceObjects {
  /** Objects of one resource key in the namespace. */
  list(resource: string): readonly KubeObject[];
  /** Whether a PVC of this name exists (a DataVolume's claim). */
  claimed(name: string): boolean;
}

/** The namespace's usage of the names quotas track, by canonical name. */
export function namespaceUsage(
  objects: NamespaceObjects,
  names: Iterable<string>,
  policy: UsagePolicy,
  /** Whether the quota counts this object (its scopes, src/api/quota/scopes.ts); all when absent. */
  counts: (resource: string, object: KubeObject) => boolean = () => true,
): Usage {
  const wanted = new Set([...names].map(canonicalQuotaName));
  const total: Usage = {};
  for (const resource of resourcesFor(wanted)) {
    for (const o of objects.list(resource)) {
      if (!counts(resource, o)) continue;
      for (const [k, v] of Object.entries(usageOf(resource, o, policy, (_ns, n) => objects.claimed(n)))) {
        if (wanted.has(k)) total[k] = (total[k] ?? 0) + v;
      }
    }
  }
  return total;
}

const hardValue = (q: string | number): number => parseQuantity(q)?.value ?? 0;

/** `status.used` of a quota: every hard name, as written, with its amount formatted. */
export function usedFor(quota: QuotaSpec, usage: Usage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(quota.hard).sort())
    out[name] = formatQuotaAmount(name, usage[canonicalQuotaName(name)] ?? 0);
  return out;
}

const list = (names: string[], amount: (name: string) => number): string =>
  names.map((n) => `${n}=${formatQuotaAmount(n, amount(n))}`).join(',');

/**
 * Why adding `delta` to a namespace at `usage` breaks `quota`, or undefined when it does not. Only
 * what grows is judged: a write that frees or keeps a resource is never refused by it.
 */
export function exceededMessage(quota: QuotaSpec, usage: Usage, delta: Usage): string | undefined {
  const over = Object.keys(quota.hard)
    .filter((n) => {
      const d = delta[canonicalQuotaName(n)] ?? 0;
      if (d <= 0) return false;
      return (usage[canonicalQuotaName(n)] ?? 0) + d > hardValue(quota.hard[n] ?? 0) + 1e-9;
    })
    .sort();
  if (over.length === 0) return undefined;
  const of = (u: Usage) => (n: string) => u[canonicalQuotaName(n)] ?? 0;
  return (
    `exceeded quota: ${quota.name}, requested: ${list(over, of(delta))}, ` +
    `used: ${list(over, of(usage))}, limited: ${list(over, (n) => hardValue(quota.hard[n] ?? 0))}`
  );
}

/** What a write changes in usage: new minus old (old absent on create). */
export function usageDelta(next: Usage, old: Usage | undefined): Usage {
  const out: Usage = { ...next };
  for (const [k, v] of Object.entries(old ?? {})) out[k] = (out[k] ?? 0) - v;
  return out;
}
