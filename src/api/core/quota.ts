/**
 * core/v1 ResourceQuota and LimitRange: how much a namespace (a tenant) may hold, and the defaults
 * and bounds of what one VM asks. The rules that count objects live in src/api/quota; admission
 * enforces them (src/apiserver/quota.ts) and a controller keeps `status.used` current
 * (src/controllers/resourcequota).
 */
import { ageColumn, type FieldError, type KindDefinition } from '../kind.js';
import type { KubeObject } from '../meta.js';
import { ObjectMeta } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import { MapOf, Obj, Preserve, Quantity, StringEnum, Type, type Static, opt } from '../schema.js';
import { canonicalQuotaName, quotaNameProblem } from '../quota/names.js';
import { validateLimitRange } from '../quota/limitrange.js';
import { scopeProblems } from '../quota/scopes.js';

const core = { group: '', version: 'v1' } as const;
const envelope = { apiVersion: Type.String(), kind: Type.String(), metadata: ObjectMeta };
const ResourceList = (description: string) => MapOf(Quantity(), description);

export const ResourceQuota = Obj('Limits on what a namespace may hold.', {
  ...envelope,
  spec: opt(
    Obj('What the namespace may hold.', {
      hard: opt(
        ResourceList('Amount per resource name: requests.cpu, limits.memory, count/<resource>.<group>…'),
      ),
      scopes: opt(
        Type.Array(Type.String(), {
          description:
            'Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass: what the quota counts (src/api/quota/scopes.ts).',
        }),
      ),
      scopeSelector: opt(Preserve()),
    }),
  ),
  status: opt(
    Obj('What the namespace holds.', {
      hard: opt(ResourceList('The enforced amounts.')),
      used: opt(ResourceList('What the namespace uses now.')),
    }),
  ),
});
export type ResourceQuota = Static<typeof ResourceQuota>;

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function validateHard(hard: Record<string, unknown>, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, string>();
  for (const [name, q] of Object.entries(hard)) {
    const path = `${at}[${name}]`;
    const problem = quotaNameProblem(name);
    if (problem !== undefined)
      errors.push({ path, message: `Invalid value: ${JSON.stringify(name)}: ${problem}` });
    const v = typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : undefined;
    if (v !== undefined && v.value < 0)
      errors.push({
        path,
        message: `Invalid value: ${JSON.stringify(String(q))}: must be greater than or equal to 0`,
      });
    const canonical = canonicalQuotaName(name);
    const twin = seen.get(canonical);
    if (twin !== undefined && twin !== name)
      errors.push({
        path,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${JSON.stringify(name)}: names the same resource as ${JSON.stringify(twin)}`,
      });
    seen.set(canonical, name);
  }
  return errors;
}

const cellText = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

/** `requests.cpu: 100m/1, secrets: 2/10`: kube's REQUEST and LIMIT cells, used/hard per name. */
export function quotaCell(o: KubeObject, limits: boolean): string {
  const status = rec(o['status']);
  const hard = rec(status['hard'] ?? rec(o['spec'])['hard']);
  const used = rec(status['used']);
  return Object.keys(hard)
    .filter((n) => n.startsWith('limits.') === limits)
    .sort()
    .map((n) => `${n}: ${cellText(used[n] ?? 0)}/${cellText(hard[n])}`)
    .join(', ');
}

export const resourceQuotaKind: KindDefinition = {
  ...core,
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  shortNames: ['quota'],
  namespaced: true,
  description: 'ResourceQuota limits what a namespace may hold: VM CPU and memory, storage, object counts.',
  schema: ResourceQuota,
  statusSubresource: true,
  printerColumns: [
    ageColumn,
    { name: 'Request', type: 'string', jsonPath: '.status.used', value: (o) => quotaCell(o, false) },
    { name: 'Limit', type: 'string', jsonPath: '.status.used', value: (o) => quotaCell(o, true) },
  ],
  validate: (o) => [...validateHard(rec(rec(o['spec'])['hard']), 'spec.hard'), ...scopeProblems(o['spec'])],
};

export const LIMIT_TYPES = ['Pod', 'Container', 'PersistentVolumeClaim'] as const;

export const LimitRangeItem = Obj('Bounds and defaults for one type of object.', {
  type: StringEnum(LIMIT_TYPES, 'Container and Pod bound what a VMI asks; PersistentVolumeClaim a claim.'),
  max: opt(ResourceList('Most a single object may ask.')),
  min: opt(ResourceList('Least a single object may ask.')),
  default: opt(ResourceList('Limits given to an object that sets none.')),
  defaultRequest: opt(ResourceList('Requests given to an object that sets none.')),
  maxLimitRequestRatio: opt(ResourceList('Largest limit ÷ request.')),
});
export type LimitRangeItem = Static<typeof LimitRangeItem>;

export const LimitRange = Obj('Defaults and bounds of what one object in the namespace asks.', {
  ...envelope,
  spec: Obj('The limits.', { limits: Type.Array(LimitRangeItem) }),
});
export type LimitRange = Static<typeof LimitRange>;

export const limitRangeKind: KindDefinition = {
  ...core,
  kind: 'LimitRange',
  plural: 'limitranges',
  singular: 'limitrange',
  shortNames: ['limits'],
  namespaced: true,
  description:
    'LimitRange sets the default and the bounds of the CPU, memory and storage a VM or claim asks.',
  schema: LimitRange,
  statusSubresource: false,
  printerColumns: [
    {
      name: 'Created At',
      type: 'string',
      jsonPath: '.metadata.creationTimestamp',
      value: (o) => o.metadata.creationTimestamp ?? '',
    },
  ],
  validate: (o) => validateLimitRange(o as LimitRange),
};
