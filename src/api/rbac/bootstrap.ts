/**
 * The ClusterRoles and ClusterRoleBindings every start puts in place, as kube-apiserver's
 * bootstrap policy and KubeVirt's and Cozystack's installs do: cluster-admin (bound to
 * system:masters), system:discovery and system:basic-user (bound to every authenticated user),
 * the user-facing view, edit and admin (aggregated from labelled parts: one generated from every
 * kind this server serves, KubeVirt's `kubevirt.io:view|edit|admin`), and Cozystack's tenant
 * roles `cozy:tenant:view|use|admin|super-admin` with their `:base` parts. Every authenticated
 * user reads the cluster's instance types and BackupClasses: the menus they pick from.
 */
import type { KindDefinition } from '../kind.js';
import { RBAC_GROUP, type BindingObject, type PolicyRule, type RoleObject } from './rbac.js';
import { binding, clusterRole, labels, READ, SUB } from './builders.js';
import { cozystackRoles } from './cozystack-roles.js';

export { AUTOUPDATE } from './builders.js';

const AGG = 'rbac.authorization.k8s.io/aggregate-to-';
/** Every signed-in user reads the BackupClasses (names and strategies, never credentials). */
export const BACKUP_CLASSES_VIEW = 'backups.cozystack.io:backupclasses:view';

const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const ALL = [...READ, ...WRITE];

/** Groups whose rules come from KubeVirt's own roles rather than the generated ones. */
const KUBEVIRT_GROUPS = [
  'kubevirt.io',
  'snapshot.kubevirt.io',
  'clone.kubevirt.io',
  'instancetype.kubevirt.io',
  'export.kubevirt.io',
  'pool.kubevirt.io',
  'migrations.kubevirt.io',
];
/** Never in view: secrets (credentials), RBAC objects (who may do what is the admin's). */
const NOT_VIEWED = new Set([
  '/secrets',
  `${RBAC_GROUP}/roles`,
  `${RBAC_GROUP}/rolebindings`,
  `${RBAC_GROUP}/clusterroles`,
  `${RBAC_GROUP}/clusterrolebindings`,
]);
/** Cluster-scoped kinds a namespace's users may read (their binding is cluster-wide to matter). */
const VIEWED_CLUSTER_KINDS = new Set(['/namespaces']);

/** One rule per group, over the plurals given. */
function byGroup(defs: readonly KindDefinition[], verbs: string[]): PolicyRule[] {
  const groups = new Map<string, string[]>();
  for (const d of defs) groups.set(d.group, [...(groups.get(d.group) ?? []), d.plural]);
  return [...groups].map(([g, resources]) => ({ apiGroups: [g], resources: [...new Set(resources)], verbs }));
}

/** The parts of view, edit and admin for every kind served outside KubeVirt's groups. */
function generatedParts(kinds: readonly KindDefinition[]): RoleObject[] {
  const own = kinds.filter((k) => !KUBEVIRT_GROUPS.includes(k.group));
  const key = (k: KindDefinition): string => `${k.group}/${k.plural}`;
  const viewed = own.filter(
    (k) => !NOT_VIEWED.has(key(k)) && (k.namespaced || VIEWED_CLUSTER_KINDS.has(key(k))),
  );
  const edited = own.filter((k) => k.namespaced && k.group !== RBAC_GROUP);
  const view = [
    ...byGroup(viewed, READ),
    {
      apiGroups: ['metrics.hikube.io'],
      resources: ['virtualmachineinstances', 'virtualmachineinstances/series'],
      verbs: READ,
    },
  ];
  const edit = [
    ...byGroup(edited, ALL),
    { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
    { apiGroups: ['upload.cdi.kubevirt.io'], resources: ['datavolumes/upload'], verbs: ['create', 'update'] },
  ];
  const admin = [
    { apiGroups: [RBAC_GROUP], resources: ['roles', 'rolebindings'], verbs: ALL },
    { apiGroups: ['authorization.k8s.io'], resources: ['localsubjectaccessreviews'], verbs: ['create'] },
  ];
  return [
    clusterRole('system:aggregate-to-view', view, {
      labels: labels(`${AGG}view`, `${AGG}edit`, `${AGG}admin`),
    }),
    clusterRole('system:aggregate-to-edit', edit, { labels: labels(`${AGG}edit`, `${AGG}admin`) }),
    clusterRole('system:aggregate-to-admin', admin, { labels: labels(`${AGG}admin`) }),
  ];
}

const KUBEVIRT_KINDS = [
  'virtualmachines',
  'virtualmachineinstances',
  'virtualmachineinstancepresets',
  'virtualmachineinstancereplicasets',
  'virtualmachineinstancemigrations',
];
const KUBEVIRT_OTHERS: PolicyRule[] = [
  {
    apiGroups: ['snapshot.kubevirt.io'],
    resources: ['virtualmachinesnapshots', 'virtualmachinesnapshotcontents', 'virtualmachinerestores'],
    verbs: [],
  },
  { apiGroups: ['export.kubevirt.io'], resources: ['virtualmachineexports'], verbs: [] },
  { apiGroups: ['clone.kubevirt.io'], resources: ['virtualmachineclones'], verbs: [] },
  {
    apiGroups: ['instancetype.kubevirt.io'],
    resources: [
      'virtualmachineinstancetypes',
      'virtualmachineclusterinstancetypes',
      'virtualmachinepreferences',
      'virtualmachineclusterpreferences',
    ],
    verbs: [],
  },
  { apiGroups: ['pool.kubevirt.io'], resources: ['virtualmachinepools'], verbs: [] },
  { apiGroups: ['migrations.kubevirt.io'], resources: ['migrationpolicies'], verbs: [] },
];

/** KubeVirt's `kubevirt.io:view|edit|admin`, labelled into view, edit and admin. */
function kubevirtRoles(): RoleObject[] {
  const inspect = {
    apiGroups: [SUB],
    resources: [
      'virtualmachines/expand-spec',
      'virtualmachineinstances/guestosinfo',
      'virtualmachineinstances/filesystemlist',
      'virtualmachineinstances/userlist',
      'virtualmachineinstances/sev/fetchcertchain',
    ],
    verbs: ['get'],
  };
  const view: PolicyRule[] = [
    inspect,
    { apiGroups: ['kubevirt.io'], resources: ['kubevirts', ...KUBEVIRT_KINDS], verbs: READ },
    ...KUBEVIRT_OTHERS.map((r) => ({ ...r, verbs: READ })),
  ];
  const edit: PolicyRule[] = [
    {
      apiGroups: [SUB],
      resources: [
        'virtualmachineinstances/console',
        'virtualmachineinstances/vnc',
        'virtualmachineinstances/vnc/screenshot',
        'virtualmachineinstances/portforward',
        'virtualmachineinstances/guestosinfo',
        'virtualmachineinstances/filesystemlist',
        'virtualmachineinstances/userlist',
        'virtualmachineinstances/sev/fetchcertchain',
        'virtualmachines/expand-spec',
        'virtualmachines/portforward',
      ],
      verbs: ['get'],
    },
    {
      apiGroups: [SUB],
      resources: [
        'virtualmachineinstances/pause',
        'virtualmachineinstances/unpause',
        'virtualmachineinstances/addvolume',
        'virtualmachineinstances/removevolume',
        'virtualmachineinstances/freeze',
        'virtualmachineinstances/unfreeze',
        'virtualmachineinstances/softreboot',
        'virtualmachineinstances/reset',
        'virtualmachineinstances/sev/setupsession',
        'virtualmachineinstances/sev/injectlaunchsecret',
      ],
      verbs: ['update'],
    },
    {
      apiGroups: [SUB],
      resources: [
        'virtualmachines/start',
        'virtualmachines/stop',
        'virtualmachines/restart',
        'virtualmachines/addvolume',
        'virtualmachines/removevolume',
        'virtualmachines/migrate',
        'virtualmachines/memorydump',
      ],
      verbs: ['update'],
    },
    { apiGroups: ['kubevirt.io'], resources: KUBEVIRT_KINDS, verbs: ALL },
    { apiGroups: ['kubevirt.io'], resources: ['kubevirts'], verbs: READ },
    ...KUBEVIRT_OTHERS.map((r) => ({ ...r, verbs: ALL })),
  ];
  return [
    clusterRole('kubevirt.io:view', view, { labels: labels(`${AGG}view`) }),
    clusterRole('kubevirt.io:edit', edit, { labels: labels(`${AGG}edit`) }),
    clusterRole('kubevirt.io:admin', edit, { labels: labels(`${AGG}admin`) }),
    clusterRole('instancetype.kubevirt.io:view', [
      {
        apiGroups: ['instancetype.kubevirt.io'],
        resources: ['virtualmachineclusterinstancetypes', 'virtualmachineclusterpreferences'],
        verbs: READ,
      },
    ]),
  ];
}

export function bootstrapClusterRoles(kinds: readonly KindDefinition[]): RoleObject[] {
  return [
    clusterRole('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    clusterRole('system:discovery', [
      {
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/readyz',
          '/version',
          '/version/',
          '/openapi',
          '/openapi/*',
        ],
        verbs: ['get'],
      },
    ]),
    clusterRole('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
      { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
    ]),
    clusterRole('admin', [], {}, [`${AGG}admin`]),
    clusterRole('edit', [], { labels: labels(`${AGG}admin`) }, [`${AGG}edit`]),
    clusterRole('view', [], { labels: labels(`${AGG}edit`) }, [`${AGG}view`]),
    ...generatedParts(kinds),
    ...kubevirtRoles(),
    ...cozystackRoles(),
    // Like cluster instance types: the classes a user picks from when backing up (no credentials).
    clusterRole(BACKUP_CLASSES_VIEW, [
      { apiGroups: ['backups.cozystack.io'], resources: ['backupclasses'], verbs: READ },
    ]),
  ];
}

export function bootstrapClusterRoleBindings(): BindingObject[] {
  return [
    binding('cluster-admin', 'cluster-admin', 'system:masters'),
    binding('system:discovery', 'system:discovery', 'system:authenticated'),
    binding('system:basic-user', 'system:basic-user', 'system:authenticated'),
    binding('instancetype.kubevirt.io:view', 'instancetype.kubevirt.io:view', 'system:authenticated'),
    binding(BACKUP_CLASSES_VIEW, BACKUP_CLASSES_VIEW, 'system:authenticated'),
  ];
}
