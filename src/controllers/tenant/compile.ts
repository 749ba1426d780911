/**
 * What a Tenant becomes, as pure functions: its namespace (with Cozystack's ancestor labels and
 * memory limits ratio), its ResourceQuota `tenant-quota` (Cozystack's flattening of
 * `resourceQuotas`: cpu N is limits.cpu N and requests.cpu N ÷ the CPU allocation ratio), its
 * LimitRange `tenant-range-limits`, and its RoleBindings (isolation.ts has its NetworkPolicies).
 */
import { parseQuantity, formatCpu } from '../../api/quantity.js';
import { MEMORY_LIMITS_RATIO_LABEL } from '../../api/quota/usage.js';
import { tenantLineage, type Tenant } from '../../api/cozystack/tenant.js';
import type { KubeObject } from '../../api/meta.js';

export const TENANT_QUOTA = 'tenant-quota';
export const TENANT_LIMIT_RANGE = 'tenant-range-limits';
/** On objects the tenant controller made: the Tenant (namespace/name) they belong to. */
export const TENANT_LABEL = 'tenant.hikube.io/owner';
/** Cozystack's namespace label of each ancestor tenant (and the tenant itself). */
export const ANCESTOR_LABEL_PREFIX = 'tenant.cozystack.io/';

/** Keys Cozystack passes through as they are (its `rawQuotaKeys`), and object counts. */
const RAW_KEYS = new Set([
  'pods',
  'services',
  'services.loadbalancers',
  'services.nodeports',
  'configmaps',
  'secrets',
  'persistentvolumeclaims',
  'replicationcontrollers',
  'resourcequotas',
]);
const MEMORY_ALLOCATION_RATIO = 1;
const EPHEMERAL_STORAGE_ALLOCATION_RATIO = 40;

const bytes = (v: number): string => String(Math.floor(v));

/** `resourceQuotas` of a Tenant as a ResourceQuota's `spec.hard`. */
export function tenantQuotaHard(
  quotas: Record<string, string | number>,
  cpuAllocationRatio: number,
): Record<string, string> {
  const hard: Record<string, string> = {};
  for (const [key, q] of Object.entries(quotas)) {
    const v = parseQuantity(q)?.value ?? 0;
    const text = String(q);
    if (key === 'cpu') {
      hard['limits.cpu'] = text;
      hard['requests.cpu'] = formatCpu(Math.ceil((v / cpuAllocationRatio) * 1000) / 1000);
    } else if (key === 'memory') {
      hard['limits.memory'] = text;
      hard['requests.memory'] = MEMORY_ALLOCATION_RATIO === 1 ? text : bytes(v / MEMORY_ALLOCATION_RATIO);
    } else if (key === 'ephemeral-storage') {
      hard['limits.ephemeral-storage'] = text;
      hard['requests.ephemeral-storage'] = bytes(v / EPHEMERAL_STORAGE_ALLOCATION_RATIO);
    } else if (key === 'storage') {
      hard['requests.storage'] = text;
    } else if (RAW_KEYS.has(key) || key.startsWith('count/')) {
      hard[key] = text;
    } else {
      hard[`requests.${key}`] = text;
      hard[`limits.${key}`] = text;
    }
  }
  return hard;
}

/** Labels of a tenant namespace: every ancestor's, and the memory limit ratio Cozystack sets. */
export function tenantNamespaceLabels(namespace: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const ns of tenantLineage(namespace)) labels[`${ANCESTOR_LABEL_PREFIX}${ns}`] = '';
  labels[MEMORY_LIMITS_RATIO_LABEL] = '1.0';
  return labels;
}

const ownerLabel = (tenant: Tenant): Record<string, string> => ({
  [TENANT_LABEL]: `${tenant.metadata.namespace ?? ''}.${tenant.metadata.name ?? ''}`,
});

export function tenantQuota(tenant: Tenant, namespace: string, cpuAllocationRatio: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: TENANT_QUOTA, namespace, labels: ownerLabel(tenant) },
    spec: { hard: tenantQuotaHard(tenant.spec?.resourceQuotas ?? {}, cpuAllocationRatio) },
  };
}

/** Cozystack's LimitRange beside a tenant quota: defaults for what sets no requests or limits. */
export function tenantLimitRange(tenant: Tenant, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: TENANT_LIMIT_RANGE, namespace, labels: ownerLabel(tenant) },
    spec: {
      limits: [
        {
          type: 'Container',
          default: { cpu: '250m', memory: '128Mi', 'ephemeral-storage': '2Gi' },
          defaultRequest: { cpu: '25m', memory: '128Mi', 'ephemeral-storage': '50Mi' },
        },
      ],
    },
  };
}

export const TENANT_ACCESS_LEVELS = ['view', 'use', 'admin', 'super-admin'] as const;
export type TenantAccessLevel = (typeof TENANT_ACCESS_LEVELS)[number];

/**
 * The RoleBindings a tenant namespace should hold, as Cozystack's chart binds them: for each access
 * level, ClusterRole `cozy:tenant:<level>` to the groups `<t>-<level or above>` of the tenant and
 * of every ancestor tenant, and to each of those tenants' ServiceAccount (named as its namespace).
 */
export function tenantRoleBindings(namespace: string): KubeObject[] {
  const tenants = tenantLineage(namespace);
  return TENANT_ACCESS_LEVELS.map((level, i) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `cozy:tenant:${level}`, namespace },
    subjects: tenants.flatMap((t) => [
      { kind: 'ServiceAccount', name: t, namespace: t },
      ...TENANT_ACCESS_LEVELS.slice(i).map((l) => ({
        kind: 'Group',
        name: `${t}-${l}`,
        apiGroup: 'rbac.authorization.k8s.io',
      })),
    ]),
    roleRef: { kind: 'ClusterRole', name: `cozy:tenant:${level}`, apiGroup: 'rbac.authorization.k8s.io' },
  }));
}
