/**
 * Quota and LimitRange admission: a create or update that would take a namespace past one of its
 * ResourceQuotas is refused with 403 `exceeded quota: …`, and a VMI or claim outside a LimitRange's
 * bounds with 403 as LimitRanger words it. Usage is summed from the store itself, in the same
 * synchronous step as the write that follows (the Registry does not yield between this check and
 * the store's transaction), so two racing creates cannot both take the last unit.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import type { LimitRange, ResourceQuota } from '../api/core/quota.js';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { exceededMessage, namespaceUsage, usageDelta, type QuotaSpec } from '../api/quota/evaluate.js';
import {
  applyLimitDefaults,
  claimViolations,
  limitRangeViolations,
  type Asked,
} from '../api/quota/limitrange.js';
import {
  DEFAULT_CPU_ALLOCATION_RATIO,
  memoryLimitsRatioOf,
  usageOf,
  vmiUsage,
  type UsagePolicy,
} from '../api/quota/usage.js';
import { parseQuantity } from '../api/quantity.js';
import { quotaCounts } from '../api/quota/scopes.js';
import type { Store } from '../store/store.js';
import { ApiError, qualifiedName } from './errors.js';

const QUOTAS = '/resourcequotas';
const LIMIT_RANGES = '/limitranges';
const VMIS = 'kubevirt.io/virtualmachineinstances';
const CLAIMS = '/persistentvolumeclaims';

export class QuotaAdmission {
  constructor(
    private readonly store: Store,
    private readonly cpuAllocationRatio: number = DEFAULT_CPU_ALLOCATION_RATIO,
  ) {}

  /** The counting policy in `namespace` (its memory limits ratio label). */
  policy(namespace: string): UsagePolicy {
    return {
      cpuAllocationRatio: this.cpuAllocationRatio,
      memoryLimitsRatio: memoryLimitsRatioOf(this.store.get('/namespaces', '', namespace)?.object),
    };
  }

  /** Throws Forbidden when writing `object` (replacing `old`) breaks a LimitRange or a quota. */
  admit(def: KindDefinition, object: KubeObject, old: KubeObject | undefined): void {
    if (!def.namespaced) return;
    const namespace = object.metadata.namespace ?? '';
    const resource = `${def.group}/${def.plural}`;
    const forbid = (message: string): ApiError =>
      new ApiError(
        'Forbidden',
        `${qualifiedName(def.plural, def.group, object.metadata.name ?? '')} is forbidden: ${message}`,
        {
          name: object.metadata.name ?? '',
          group: def.group,
          kind: def.plural,
        },
      );
    const quotas = this.objects<ResourceQuota>(QUOTAS, namespace);
    const policy = this.policy(namespace);
    this.checkLimitRanges(resource, object, old, quotas, policy, forbid);
    if (quotas.length === 0) return;
    // A claim being created takes the place of its DataVolume: the two are never counted together.
    const creatingClaim = resource === CLAIMS ? object.metadata.name : undefined;
    const claimed = (_ns: string, name: string): boolean =>
      name === creatingClaim || this.store.get(CLAIMS, namespace, name) !== undefined;
    const delta = usageDelta(
      usageOf(resource, object, policy, claimed),
      old === undefined ? undefined : usageOf(resource, old, policy, claimed),
    );
    if (!Object.values(delta).some((v) => v > 0)) return;
    for (const quota of quotas) {
      // A scoped quota charges only what is in its scopes (a VMI of its priority class…).
      if (!quotaCounts(quota.spec, resource, object)) continue;
      const spec: QuotaSpec = { name: quota.metadata.name ?? '', hard: quota.spec?.hard ?? {} };
      const usage = namespaceUsage(
        {
          list: (r) => this.objects(r, namespace),
          claimed: (name) => claimed(namespace, name),
        },
        Object.keys(spec.hard),
        policy,
        (r, o) => quotaCounts(quota.spec, r, o),
      );
      const message = exceededMessage(spec, usage, delta);
      if (message !== undefined) throw forbid(message);
    }
  }

  private checkLimitRanges(
    resource: string,
    object: KubeObject,
    old: KubeObject | undefined,
    quotas: readonly ResourceQuota[],
    policy: UsagePolicy,
    forbid: (message: string) => ApiError,
  ): void {
    if (resource !== VMIS && resource !== CLAIMS) return;
    const ranges = this.objects<LimitRange>(LIMIT_RANGES, object.metadata.namespace ?? '');
    if (ranges.length === 0) return;
    let problems: string[];
    if (resource === VMIS) {
      // Bounds are judged when the VMI is made; its later status writes change nothing it asks.
      if (old !== undefined) return;
      problems = limitRangeViolations(
        applyLimitDefaults(askedOf(object as VirtualMachineInstance, quotas, policy), ranges),
        ranges,
      );
    } else {
      const spec = object['spec'] as
        { resources?: { requests?: Record<string, string | number> } } | undefined;
      const raw = spec?.resources?.requests?.['storage'];
      problems = claimViolations(raw === undefined ? 0 : (parseQuantity(raw)?.value ?? 0), ranges);
    }
    if (problems.length === 1) throw forbid(problems[0] ?? '');
    if (problems.length > 1) throw forbid(`[${problems.join(', ')}]`);
  }

  private objects<T extends KubeObject>(resource: string, namespace: string): T[] {
    return this.store.list(resource, namespace).items.map((o) => o.object as T);
  }
}

/**
 * What the launcher container of a VMI asks: its requests always; its limits when the VMI sets
 * them, or when a quota tracks them (KubeVirt's AutoResourceLimits fills them in then).
 */
function askedOf(vmi: VirtualMachineInstance, quotas: readonly ResourceQuota[], policy: UsagePolicy): Asked {
  const usage = vmiUsage(vmi, policy);
  const limits = vmi.spec.domain.resources?.limits ?? {};
  const tracked = (name: string): boolean =>
    quotas.some((q) => Object.keys(q.spec?.hard ?? {}).includes(`limits.${name}`));
  const asked: Asked = {};
  for (const [k, v] of Object.entries(usage)) {
    if (!k.startsWith('limits.')) asked[k] = v;
    else {
      const name = k.slice('limits.'.length);
      if (limits[name] !== undefined || tracked(name)) asked[k] = v;
    }
  }
  return asked;
}
