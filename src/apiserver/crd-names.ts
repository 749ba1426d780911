/**
 * Whether a CRD's names may be served beside what is already served, as kube-apiserver's naming
 * controller decides: within one group, no plural, singular or short name may be another
 * resource's plural, singular or short name, and no kind or list kind another's (NamesAccepted
 * False with PluralConflict, SingularConflict, ShortNamesConflict, KindConflict or
 * ListKindConflict). Across groups Kubernetes accepts everything; one stricter rule is added here:
 * a plural or singular that is another group's short name is refused, because kubectl prefers an
 * exact resource name to a short name, so `kubectl get vm` would silently switch to the new CRD.
 * A short name already used in another group is accepted, as upstream: discovery lists what was
 * served first before it (built-in kinds, then CRDs in the order they were accepted), so kubectl
 * keeps resolving the short name as before and warns of the other match.
 */
import type { KindDefinition } from '../api/kind.js';
import type { CustomResourceDefinition } from '../api/crd/crd.js';

export type NamesConflictReason =
  'PluralConflict' | 'SingularConflict' | 'ShortNamesConflict' | 'KindConflict' | 'ListKindConflict';

export interface NamesConflict {
  reason: NamesConflictReason;
  message: string;
}

const resourceName = (d: KindDefinition): string => (d.group === '' ? d.plural : `${d.plural}.${d.group}`);

/** The conflicts of `crd`'s names with `others` (every served kind not of this CRD). */
export function namesConflict(
  crd: CustomResourceDefinition,
  others: readonly KindDefinition[],
): NamesConflict | undefined {
  const { group, names } = crd.spec;
  const singular = names.singular ?? names.kind.toLowerCase();
  const listKind = names.listKind ?? `${names.kind}List`;
  const sameGroup = others.filter((d) => d.group === group);
  const used = new Set(sameGroup.flatMap((d) => [d.plural, d.singular, ...(d.shortNames ?? [])]));
  const kinds = new Set(sameGroup.flatMap((d) => [d.kind, `${d.kind}List`]));
  /** Short names of other groups, with the resource each names. */
  const elsewhere = new Map<string, string>();
  for (const d of others)
    if (d.group !== group) for (const s of d.shortNames ?? []) elsewhere.set(s, resourceName(d));

  const inUse = (name: string): string | undefined => {
    if (used.has(name)) return `"${name}" is already in use`;
    const holder = elsewhere.get(name);
    return holder === undefined ? undefined : `"${name}" is already in use as a short name of ${holder}`;
  };
  const found: NamesConflict[] = [];
  const plural = inUse(names.plural);
  if (plural !== undefined) found.push({ reason: 'PluralConflict', message: plural });
  if (kinds.has(names.kind))
    found.push({ reason: 'KindConflict', message: `"${names.kind}" is already in use` });
  const single = inUse(singular);
  if (single !== undefined) found.push({ reason: 'SingularConflict', message: single });
  const shorts = (names.shortNames ?? []).filter((s) => used.has(s));
  if (shorts.length > 0)
    found.push({
      reason: 'ShortNamesConflict',
      message: shorts.map((s) => `"${s}" is already in use`).join(', '),
    });
  if (kinds.has(listKind))
    found.push({ reason: 'ListKindConflict', message: `"${listKind}" is already in use` });
  // The reason is the first conflict (a kind in use makes its default singular and list kind
  // collide too: the kind is the cause); the message lists every name in use.
  const first = found[0];
  const messages = [...new Set(found.map((f) => f.message))];
  return first === undefined ? undefined : { reason: first.reason, message: messages.join('; ') };
}

/**
 * The order in which stored CRDs are served at start: those whose names were accepted before
 * first, oldest first, so that a restart never hands a name to the CRD that was refused it.
 */
export function servingOrder(crds: readonly CustomResourceDefinition[]): CustomResourceDefinition[] {
  const accepted = (c: CustomResourceDefinition): number => {
    const conditions = ((c.status ?? {}) as { conditions?: { type: string; status: string }[] }).conditions;
    return conditions?.some((x) => x.type === 'NamesAccepted' && x.status === 'True') === true ? 0 : 1;
  };
  const created = (c: CustomResourceDefinition): string => c.metadata.creationTimestamp ?? '';
  return [...crds].sort(
    (a, b) =>
      accepted(a) - accepted(b) ||
      created(a).localeCompare(created(b)) ||
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
}
