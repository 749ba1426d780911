/**
 * ResourceQuota status: keeps `status.hard` equal to `spec.hard` and `status.used` equal to what
 * the namespace holds, counted by the rules admission uses (src/api/quota), recomputed whenever an
 * object of the namespace changes. Admission does not read `status.used` (it counts the store at
 * the write), so this is what users and the console see, not what decides.
 */
import { namespaceKind } from '../../api/core/core.js';
import { resourceQuotaKind, type ResourceQuota } from '../../api/core/quota.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { namespaceUsage, usedFor } from '../../api/quota/evaluate.js';
import { canonicalQuotaName } from '../../api/quota/names.js';
import { quotaCounts } from '../../api/quota/scopes.js';
import { DEFAULT_CPU_ALLOCATION_RATIO, memoryLimitsRatioOf } from '../../api/quota/usage.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';

export interface ResourceQuotaControllerOptions {
  manager: Manager;
  kinds: readonly KindDefinition[];
  cpuAllocationRatio?: number;
  log?: (message: string) => void;
}

export class ResourceQuotaController extends Reconciler {
  private readonly byResource = new Map<string, KindDefinition>();
  private readonly ratio: number;

  constructor(options: ResourceQuotaControllerOptions) {
    super(options.manager, {
      name: 'resourcequota',
      ...(options.log !== undefined ? { log: options.log } : {}),
    });
    this.ratio = options.cpuAllocationRatio ?? DEFAULT_CPU_ALLOCATION_RATIO;
    const quotasOf = (o: KubeObject): string[] => {
      const ns = o.metadata.namespace ?? '';
      return this.controller.client.list(resourceQuotaKind, ns).map((q) => `${ns}/${q.metadata.name ?? ''}`);
    };
    this.controller.watch(resourceQuotaKind);
    for (const def of options.kinds.filter((k) => k.namespaced && k !== resourceQuotaKind)) {
      this.byResource.set(`${def.group}/${def.plural}`, def);
      this.controller.watch(def, quotasOf);
    }
    this.byResource.set('/resourcequotas', resourceQuotaKind);
    // The memory limit ratio is a namespace label: a change of it recounts the namespace.
    this.controller.watch(namespaceKind, (ns) =>
      this.controller.client
        .list(resourceQuotaKind, ns.metadata.name ?? '')
        .map((q) => `${ns.metadata.name ?? ''}/${q.metadata.name ?? ''}`),
    );
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const client = this.controller.client;
    const quota = client.get<ResourceQuota>(resourceQuotaKind, namespace, name);
    if (quota === undefined || quota.metadata.deletionTimestamp !== undefined) return;
    const hard = quota.spec?.hard ?? {};
    const policy = {
      cpuAllocationRatio: this.ratio,
      memoryLimitsRatio: memoryLimitsRatioOf(client.get(namespaceKind, '', namespace)),
    };
    const list = (resource: string): KubeObject[] => {
      const def = this.byResource.get(resource);
      return def === undefined ? [] : client.list(def, namespace);
    };
    const claims = this.byResource.get('/persistentvolumeclaims');
    const usage = namespaceUsage(
      {
        list,
        claimed: (n) => claims !== undefined && client.get(claims, namespace, n) !== undefined,
      },
      Object.keys(hard).map(canonicalQuotaName),
      policy,
      (r, o) => quotaCounts(quota.spec, r, o),
    );
    const next = { hard: { ...hard }, used: usedFor({ name, hard }, usage) };
    if (JSON.stringify(quota.status ?? {}) === JSON.stringify(next)) return;
    await client.mutate<ResourceQuota>(
      resourceQuotaKind,
      namespace,
      name,
      (copy) => {
        copy.status = next;
      },
      true,
    );
  }
}
