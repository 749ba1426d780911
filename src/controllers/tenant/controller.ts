/**
 * The Tenant reconciler (what Cozystack's tenant chart does through Helm): the tenant's namespace
 * with its ancestor labels, and, when `resourceQuotas` is set, the ResourceQuota `tenant-quota` and
 * LimitRange `tenant-range-limits` in it; always Cozystack's `cozy:tenant:*` RoleBindings and the
 * egress isolation NetworkPolicy (tenant-root gets them at the first start), put back when changed
 * or deleted. A finalizer on the Tenant deletes its namespace when the
 * Tenant goes; the namespace's deletion takes the nested Tenants with it, and so their namespaces.
 */
import { namespaceKind } from '../../api/core/core.js';
import { limitRangeKind, resourceQuotaKind } from '../../api/core/quota.js';
import {
  ROOT_TENANT_NAMESPACE,
  tenantKind,
  tenantNamespace,
  type Tenant,
} from '../../api/cozystack/tenant.js';
import type { Condition } from '../../api/kubevirt/status.js';
import type { KubeObject } from '../../api/meta.js';
import { networkPolicyKind } from '../../api/network/networkpolicy.js';
import { DEFAULT_POD_CIDR } from '../../network/options.js';
import { DEFAULT_CPU_ALLOCATION_RATIO } from '../../api/quota/usage.js';
import { roleBindingKind } from '../../api/rbac/rbac.js';
import type { KindDefinition } from '../../api/kind.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { isAlreadyExists } from '../../runtime/transport.js';
import {
  TENANT_LABEL,
  TENANT_LIMIT_RANGE,
  TENANT_QUOTA,
  tenantLimitRange,
  tenantNamespaceLabels,
  tenantQuota,
  tenantRoleBindings,
} from './compile.js';
import { tenantNetworkPolicies } from './isolation.js';

export const TENANT_FINALIZER = 'tenant.hikube.io/namespace';

export interface TenantControllerOptions {
  manager: Manager;
  events: EventRecorder;
  cpuAllocationRatio?: number;
  /** The pod network's CIDR: tenant VMs reach the outside, every address but these. */
  podCidr?: string;
  log?: (message: string) => void;
  now?: () => Date;
}

const ownerKey = (o: KubeObject): string[] => {
  const v = o.metadata.labels?.[TENANT_LABEL];
  return v === undefined ? [] : [v.replace('.', '/')];
};

const ownerLabels = (tenant: Tenant): Record<string, string> => ({
  [TENANT_LABEL]: `${tenant.metadata.namespace ?? ''}.${tenant.metadata.name ?? ''}`,
});

const kindOf = (o: KubeObject): KindDefinition =>
  o.kind === 'RoleBinding' ? roleBindingKind : networkPolicyKind;

export class TenantController extends Reconciler {
  private readonly api: Client;
  private readonly ratio: number;
  private readonly now: () => Date;

  constructor(private readonly o: TenantControllerOptions) {
    super(o.manager, {
      name: 'tenant',
      ...(o.log !== undefined ? { log: o.log } : {}),
    });
    this.ratio = o.cpuAllocationRatio ?? DEFAULT_CPU_ALLOCATION_RATIO;
    this.now = o.now ?? (() => new Date());
    this.api = this.controller.client;
    this.controller.watch(tenantKind);
    for (const def of [namespaceKind, resourceQuotaKind, limitRangeKind, roleBindingKind, networkPolicyKind])
      this.controller.watch(def, ownerKey);
  }

  /** The root tenant's namespace, there from the first start. */
  async ensureRoot(): Promise<void> {
    if ((await this.api.getLive(namespaceKind, '', ROOT_TENANT_NAMESPACE)) !== undefined) return;
    await this.create(namespaceKind, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ROOT_TENANT_NAMESPACE, labels: tenantNamespaceLabels(ROOT_TENANT_NAMESPACE) },
    });
    for (const object of this.accessObjects(ROOT_TENANT_NAMESPACE, {}))
      if (
        (await this.api.getLive(kindOf(object), ROOT_TENANT_NAMESPACE, object.metadata.name ?? '')) ===
        undefined
      )
        await this.create(kindOf(object), object);
  }

  /** The RoleBindings and NetworkPolicies of a tenant namespace, labelled with their owner. */
  private accessObjects(namespace: string, labels: Record<string, string>): KubeObject[] {
    return [
      ...tenantRoleBindings(namespace),
      ...tenantNetworkPolicies(namespace, this.o.podCidr ?? DEFAULT_POD_CIDR),
    ].map((o) => ({ ...o, metadata: { ...o.metadata, labels } }));
  }

  /** Creates what is missing and puts back what was changed (everything but metadata). */
  private async ensureAccess(tenant: Tenant, namespace: string): Promise<void> {
    for (const object of this.accessObjects(namespace, ownerLabels(tenant))) {
      const def = kindOf(object);
      const name = object.metadata.name ?? '';
      if (this.api.get(def, namespace, name) === undefined) {
        await this.create(def, object);
        continue;
      }
      await this.api.mutate(def, namespace, name, (have) => {
        const body = (o: KubeObject) => JSON.stringify({ ...o, metadata: {}, apiVersion: '', kind: '' });
        if (body(have) === body(object) && have.metadata.labels?.[TENANT_LABEL] !== undefined) return false;
        for (const [k, v] of Object.entries(object)) if (k !== 'metadata') have[k] = v;
        have.metadata.labels = { ...have.metadata.labels, ...object.metadata.labels };
      });
    }
  }

  protected async reconcile(key: string): Promise<void> {
    const [parent = '', name = ''] = key.split('/');
    const tenant = this.api.get<Tenant>(tenantKind, parent, name);
    if (tenant === undefined) return;
    const namespace = tenantNamespace(parent, name);
    if (tenant.metadata.deletionTimestamp !== undefined) {
      await this.api.delete(namespaceKind, '', namespace, { propagationPolicy: 'Background' });
      await this.api.mutate<Tenant>(tenantKind, parent, name, (t) => {
        const rest = (t.metadata.finalizers ?? []).filter((f) => f !== TENANT_FINALIZER);
        if (rest.length === (t.metadata.finalizers ?? []).length) return false;
        t.metadata.finalizers = rest;
      });
      return;
    }
    let failure: string | undefined;
    try {
      await this.api.mutate<Tenant>(tenantKind, parent, name, (t) => {
        if ((t.metadata.finalizers ?? []).includes(TENANT_FINALIZER)) return false;
        t.metadata.finalizers = [...(t.metadata.finalizers ?? []), TENANT_FINALIZER];
      });
      await this.ensureNamespace(tenant, namespace);
      await this.ensureQuota(tenant, namespace);
      await this.ensureAccess(tenant, namespace);
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    await this.updateStatus(tenant, namespace, failure);
    if (failure !== undefined) throw new Error(failure);
  }

  private async ensureNamespace(tenant: Tenant, namespace: string): Promise<void> {
    const labels = { ...tenantNamespaceLabels(namespace), ...ownerLabels(tenant) };
    const current =
      this.api.get(namespaceKind, '', namespace) ?? (await this.api.getLive(namespaceKind, '', namespace));
    if (current === undefined) {
      await this.create(namespaceKind, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels },
      });
      return;
    }
    if (current.metadata.deletionTimestamp !== undefined)
      throw new Error(`namespace ${namespace} is being deleted: the tenant gets it back once it is gone`);
    await this.api.mutate(namespaceKind, '', namespace, (ns) => {
      const have = ns.metadata.labels ?? {};
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) return false;
      ns.metadata.labels = { ...have, ...labels };
    });
  }

  private async ensureQuota(tenant: Tenant, namespace: string): Promise<void> {
    const wanted = Object.keys(tenant.spec?.resourceQuotas ?? {}).length > 0;
    const quota = tenantQuota(tenant, namespace, this.ratio);
    const have = this.api.get(resourceQuotaKind, namespace, TENANT_QUOTA);
    if (!wanted) {
      for (const [def, n] of [
        [resourceQuotaKind, TENANT_QUOTA],
        [limitRangeKind, TENANT_LIMIT_RANGE],
      ] as const)
        if (this.api.get(def, namespace, n)?.metadata.labels?.[TENANT_LABEL] !== undefined)
          await this.api.delete(def, namespace, n);
      return;
    }
    if (have === undefined) await this.create(resourceQuotaKind, quota);
    else
      await this.api.mutate(resourceQuotaKind, namespace, TENANT_QUOTA, (q) => {
        if (JSON.stringify(q['spec']) === JSON.stringify(quota['spec'])) return false;
        q['spec'] = quota['spec'];
      });
    if (this.api.get(limitRangeKind, namespace, TENANT_LIMIT_RANGE) === undefined)
      await this.create(limitRangeKind, tenantLimitRange(tenant, namespace));
  }

  private async create(def: KindDefinition, object: KubeObject): Promise<void> {
    try {
      await this.api.create(def, object);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  private async updateStatus(tenant: Tenant, namespace: string, failure: string | undefined): Promise<void> {
    const old = (tenant.status?.conditions ?? []).find((c) => c.type === 'Ready');
    const status = failure === undefined ? 'True' : 'False';
    const ready: Condition = {
      type: 'Ready',
      status,
      reason: failure === undefined ? 'Ready' : 'ReconcileFailed',
      message: failure ?? `namespace ${namespace}`,
      lastProbeTime: null,
      lastTransitionTime:
        old !== undefined && old.status === status
          ? (old.lastTransitionTime ?? null)
          : this.now()
              .toISOString()
              .replace(/\.\d{3}Z$/, 'Z'),
    };
    if (
      old !== undefined &&
      old.status === ready.status &&
      old.message === ready.message &&
      old.reason === ready.reason
    )
      return;
    if (failure !== undefined) this.o.events.record(tenant, 'Warning', 'ReconcileFailed', failure);
    await this.api.mutate<Tenant>(
      tenantKind,
      tenant.metadata.namespace ?? '',
      tenant.metadata.name ?? '',
      (t) => {
        t.status = {
          ...t.status,
          conditions: [...(t.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), ready],
        };
      },
      true,
    );
  }
}
