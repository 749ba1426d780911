/**
 * Cozystack's tenant roles, as its cozystack-basics chart defines them: `cozy:tenant:view`, `use`,
 * `admin` and `super-admin` aggregate their `:base` part and the role below them (view < use <
 * admin < super-admin), and `cozy:tenant` is what a tenant's own ServiceAccounts get.
 */
import { RBAC_GROUP, type PolicyRule, type RoleObject } from './rbac.js';
import { clusterRole, labels, READ, SUB } from './builders.js';

const COZY = 'rbac.cozystack.io/aggregate-to-';

/** Cozystack's tenant roles (packages/system/cozystack-basics), each the union of its `:base` and the ones below it. */
export function cozystackRoles(): RoleObject[] {
  const appsAll: PolicyRule = { apiGroups: ['apps.cozystack.io'], resources: ['*'], verbs: ['*'] };
  const observed: PolicyRule[] = [
    {
      apiGroups: [''],
      resources: ['pods', 'services', 'persistentvolumes', 'endpoints', 'events', 'resourcequotas'],
      verbs: READ,
    },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: READ },
    { apiGroups: [RBAC_GROUP], resources: ['roles'], verbs: ['get'] },
  ];
  const monitors: PolicyRule = {
    apiGroups: ['cozystack.io'],
    resources: ['workloadmonitors', 'workloads'],
    verbs: READ,
  };
  const agg = (n: string): string => `${COZY}${n}`;
  return [
    clusterRole('cozy:tenant', [], {}, [agg('tenant')]),
    clusterRole(
      'cozy:tenant:base',
      [
        ...observed,
        appsAll,
        { apiGroups: ['sdn.cozystack.io'], resources: ['securitygroups'], verbs: ['*'] },
        monitors,
        {
          apiGroups: ['core.cozystack.io'],
          resources: ['tenantmodules', 'tenantsecrets', 'options'],
          verbs: READ,
        },
      ],
      { labels: labels(agg('tenant')) },
    ),
    clusterRole(
      'cozy:tenant:view',
      [],
      { labels: labels(agg('tenant-use'), agg('tenant-admin'), agg('tenant-super-admin')) },
      [agg('tenant-view')],
    ),
    clusterRole(
      'cozy:tenant:view:base',
      [
        { apiGroups: [RBAC_GROUP], resources: ['roles'], verbs: ['get'] },
        { apiGroups: ['apps.cozystack.io'], resources: ['*'], verbs: READ },
        { apiGroups: ['sdn.cozystack.io'], resources: ['securitygroups'], verbs: READ },
        ...observed.slice(0, 3),
        monitors,
        { apiGroups: ['core.cozystack.io'], resources: ['options'], verbs: READ },
      ],
      { labels: labels(agg('tenant-view')) },
    ),
    clusterRole('cozy:tenant:use', [], { labels: labels(agg('tenant-admin'), agg('tenant-super-admin')) }, [
      agg('tenant-use'),
    ]),
    clusterRole(
      'cozy:tenant:use:base',
      [
        {
          apiGroups: [SUB],
          resources: ['virtualmachineinstances/console', 'virtualmachineinstances/vnc'],
          verbs: ['get', 'list'],
        },
        { apiGroups: [SUB], resources: ['virtualmachineinstances/portforward'], verbs: ['get', 'update'] },
        {
          apiGroups: [SUB],
          resources: ['virtualmachines/start', 'virtualmachines/stop', 'virtualmachines/restart'],
          verbs: ['update'],
        },
        { apiGroups: ['core.cozystack.io'], resources: ['tenantmodules', 'tenantsecrets'], verbs: READ },
      ],
      { labels: labels(agg('tenant-use')) },
    ),
    clusterRole('cozy:tenant:admin', [], { labels: labels(agg('tenant-super-admin')) }, [
      agg('tenant-admin'),
    ]),
    clusterRole(
      'cozy:tenant:admin:base',
      [
        {
          apiGroups: [''],
          resources: ['pods', 'services', 'persistentvolumes', 'endpoints', 'events'],
          verbs: ['delete'],
        },
        { apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get', 'list'] },
        {
          apiGroups: ['apps.cozystack.io'],
          resources: [
            'buckets',
            'clickhouses',
            'foos',
            'foundationdbs',
            'harbors',
            'httpcaches',
            'kafkas',
            'kuberneteses',
            'mariadbs',
            'mongodbs',
            'natses',
            'openbaos',
            'opensearches',
            'postgreses',
            'qdrants',
            'rabbitmqs',
            'redises',
            'seaweedfses',
            'tcpbalancers',
            'virtualmachines',
            'vmdisks',
            'vminstances',
            'vpns',
            'infos',
            'virtualprivateclouds',
          ],
          verbs: ['create', 'update', 'patch', 'delete'],
        },
        {
          apiGroups: ['sdn.cozystack.io'],
          resources: ['securitygroups'],
          verbs: ['create', 'update', 'patch', 'delete'],
        },
      ],
      { labels: labels(agg('tenant-admin')) },
    ),
    clusterRole('cozy:tenant:super-admin', [], {}, [agg('tenant-super-admin')]),
    clusterRole(
      'cozy:tenant:super-admin:base',
      [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['*'] }, appsAll],
      { labels: labels(agg('tenant-super-admin')) },
    ),
  ];
}
