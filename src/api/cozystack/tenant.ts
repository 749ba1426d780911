/**
 * apps.cozystack.io/v1alpha1 Tenant: a customer's (or a team's) namespace, its quota and, after the
 * merge with RBAC and network policies, its roles and isolation. Field names are Cozystack's tenant
 * chart's values; the naming rule is its `tenant.name` helper: `acme` in `tenant-root` lives in
 * `tenant-acme`, `dev` in `tenant-acme` in `tenant-acme-dev`. src/controllers/tenant makes the
 * namespace, ResourceQuota and LimitRange.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import type { KubeObject } from '../meta.js';
import { ObjectMeta } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import { Conditions } from '../kubevirt/status.js';
import { MapOf, NoEffect, Obj, Quantity, Type, type Static, opt } from '../schema.js';
import { quotaNameProblem } from '../quota/names.js';
import { COZYSTACK_GROUP, COZYSTACK_VERSION } from './vmdisk.js';

export const ROOT_TENANT_NAMESPACE = 'tenant-root';
const TENANT_NAME = /^[a-z0-9]+$/;

export const TenantSpec = Obj("The tenant's services and limits (Cozystack's tenant chart values).", {
  host: opt(NoEffect(Type.String({ description: 'Host name of the tenant’s services.' }))),
  etcd: opt(NoEffect(Type.Boolean({ description: 'Deploy an own etcd.' }))),
  monitoring: opt(NoEffect(Type.Boolean({ description: 'Deploy an own monitoring stack.' }))),
  ingress: opt(NoEffect(Type.Boolean({ description: 'Deploy an own ingress controller.' }))),
  gateway: opt(NoEffect(Type.Boolean({ description: 'Deploy an own Gateway API gateway.' }))),
  seaweedfs: opt(NoEffect(Type.Boolean({ description: 'Deploy an own SeaweedFS.' }))),
  computeplane: opt(NoEffect(Type.Boolean({ description: 'Deploy an own compute plane.' }))),
  schedulingClass: opt(NoEffect(Type.String({ description: 'SchedulingClass of the tenant’s workloads.' }))),
  resourceQuotas: opt(
    MapOf(
      Quantity(),
      'Quotas of the tenant namespace: cpu (vCPUs; requests are cpu ÷ the CPU allocation ratio), memory, storage, counts such as services.loadbalancers.',
    ),
  ),
});
export type TenantSpec = Static<typeof TenantSpec>;

export const Tenant = Obj('A tenant: a namespace of its own with quotas.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(TenantSpec),
  status: opt(Obj('What the tenant has.', { conditions: opt(Conditions) })),
});
export type Tenant = Static<typeof Tenant>;

/** The namespace of tenant `name` created in `parentNamespace` (Cozystack's `tenant.name`). */
export function tenantNamespace(parentNamespace: string, name: string): string {
  return parentNamespace === ROOT_TENANT_NAMESPACE ? `tenant-${name}` : `${parentNamespace}-${name}`;
}

/** tenant-root, then every ancestor namespace of `namespace`, then itself (`tenant-a-b` → root, tenant-a, tenant-a-b). */
export function tenantLineage(namespace: string): string[] {
  const parts = namespace.split('-');
  const out = [ROOT_TENANT_NAMESPACE];
  for (let i = 2; i <= parts.length; i++) {
    const ns = parts.slice(0, i).join('-');
    if (!out.includes(ns)) out.push(ns);
  }
  return out;
}

function validateTenant(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const name = o.metadata.name ?? '';
  const parent = o.metadata.namespace ?? '';
  if (name !== '' && !TENANT_NAME.test(name))
    errors.push({
      path: 'metadata.name',
      message: `Invalid value: ${JSON.stringify(name)}: a tenant name is lower case letters and digits only (no dashes: the namespace is the parent's name, a dash, and this name)`,
    });
  if (!parent.startsWith('tenant-'))
    errors.push({
      path: 'metadata.namespace',
      message: `Invalid value: ${JSON.stringify(parent)}: a tenant is created in a tenant's namespace (tenant-root or tenant-…)`,
    });
  else if (tenantNamespace(parent, name).length > 63)
    errors.push({
      path: 'metadata.name',
      message: `Invalid value: ${JSON.stringify(name)}: the tenant namespace ${tenantNamespace(parent, name)} would be longer than 63 characters`,
    });
  const quotas = (o['spec'] as TenantSpec | undefined)?.resourceQuotas ?? {};
  for (const [key, q] of Object.entries(quotas)) {
    const path = `spec.resourceQuotas[${key}]`;
    const problem = quotaNameProblem(key);
    if (problem !== undefined || key.startsWith('limits.') || key.startsWith('requests.'))
      errors.push({
        path,
        message: `Invalid value: ${JSON.stringify(key)}: name a resource as cpu, memory, storage, nvidia.com/gpu or a count such as services.loadbalancers`,
      });
    const v = parseQuantity(q);
    if (v !== undefined && v.value < 0)
      errors.push({
        path,
        message: `Invalid value: ${JSON.stringify(String(q))}: must be greater than or equal to 0`,
      });
  }
  return errors;
}

export const tenantKind: KindDefinition = {
  group: COZYSTACK_GROUP,
  version: COZYSTACK_VERSION,
  kind: 'Tenant',
  plural: 'tenants',
  singular: 'tenant',
  categories: ['cozy'],
  namespaced: true,
  description:
    'Tenant is a namespace of its own (tenant-<name>, nested as tenant-<parent>-<name>) with quotas, as Cozystack has it.',
  schema: Tenant,
  statusSubresource: true,
  printerColumns: [
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      value: (o) =>
        ((o['status'] as Tenant['status'])?.conditions ?? []).find((c) => c.type === 'Ready')?.status ??
        'Unknown',
    },
    {
      name: 'Tenant Namespace',
      type: 'string',
      jsonPath: '.metadata.name',
      description: 'The namespace of the tenant',
      value: (o) => tenantNamespace(o.metadata.namespace ?? '', o.metadata.name ?? ''),
    },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validateTenant(o),
};
