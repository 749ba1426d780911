/**
 * rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding, as
 * kube-apiserver serves them. They are what the authorizer (src/apiserver/auth/) reads; the
 * validation here keeps a rule or a binding it could not evaluate out of the store.
 */
import { ageColumn, type FieldError, type KindDefinition } from '../kind.js';
import { ObjectMeta, type KubeObject } from '../meta.js';
import { Obj, opt, StringEnum, Type, type Static } from '../schema.js';
import { LabelSelector } from '../core/refs.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
const rbac = { group: RBAC_GROUP, version: 'v1' } as const;
const envelope = { apiVersion: Type.String(), kind: Type.String(), metadata: ObjectMeta };

const strings = (description: string) => opt(Type.Array(Type.String(), { description }));

export const PolicyRule = Obj('What a role allows: verbs on resources, or on non-resource URLs.', {
  verbs: Type.Array(Type.String(), {
    description: 'get, list, watch, create, update, patch, delete, deletecollection, or *.',
  }),
  apiGroups: strings('API groups of the resources; "" is the core group, * every group.'),
  resources: strings('Resources, `resource/subresource`, `*/subresource` or *.'),
  resourceNames: strings('Names the rule is limited to; empty means every name.'),
  nonResourceURLs: strings('Paths such as /healthz or /apis/*; only in ClusterRoles bound cluster-wide.'),
});
export type PolicyRule = Static<typeof PolicyRule>;

const AggregationRule = Obj(
  'Rules of this ClusterRole are the union of those of the ClusterRoles selected.',
  {
    clusterRoleSelectors: opt(Type.Array(LabelSelector('Selects ClusterRoles by label.'))),
  },
);

export const Subject = Obj('Who a binding grants the role to.', {
  kind: StringEnum(['User', 'Group', 'ServiceAccount']),
  name: Type.String(),
  namespace: opt(Type.String()),
  apiGroup: opt(Type.String()),
});
export type Subject = Static<typeof Subject>;

export const RoleRef = Obj('The role a binding grants; cannot change once set.', {
  apiGroup: Type.String(),
  kind: StringEnum(['Role', 'ClusterRole']),
  name: Type.String(),
});
export type RoleRef = Static<typeof RoleRef>;

export interface RoleObject extends KubeObject {
  rules?: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: Static<ReturnType<typeof LabelSelector>>[] };
}
export interface BindingObject extends KubeObject {
  subjects?: Subject[];
  roleRef: RoleRef;
}

const VERB = /^([a-z]+|\*)$/;

function validateRules(rules: PolicyRule[] | undefined, clusterWide: boolean): FieldError[] {
  const errors: FieldError[] = [];
  (rules ?? []).forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (rule.verbs.length === 0)
      errors.push({
        path: `${at}.verbs`,
        message: 'Required value: verbs must contain at least one value',
        reason: 'FieldValueRequired',
      });
    rule.verbs.forEach((v, j) => {
      if (!VERB.test(v))
        errors.push({
          path: `${at}.verbs[${j}]`,
          message: `Invalid value: ${JSON.stringify(v)}: a verb is lower case letters, or *`,
        });
    });
    const urls = rule.nonResourceURLs ?? [];
    if (urls.length > 0) {
      if (!clusterWide)
        errors.push({
          path: `${at}.nonResourceURLs`,
          message: 'Forbidden: namespaced rules cannot apply to non-resource URLs',
          reason: 'FieldValueForbidden',
        });
      if ((rule.apiGroups ?? []).length > 0 || (rule.resources ?? []).length > 0)
        errors.push({
          path: `${at}.nonResourceURLs`,
          message: 'Invalid value: rules cannot apply to both regular resources and non-resource URLs',
        });
      urls.forEach((u, j) => {
        if (!u.startsWith('/') && u !== '*')
          errors.push({
            path: `${at}.nonResourceURLs[${j}]`,
            message: `Invalid value: ${JSON.stringify(u)}: must start with /`,
          });
      });
    } else {
      if ((rule.apiGroups ?? []).length === 0)
        errors.push({
          path: `${at}.apiGroups`,
          message: 'Required value: resource rules must supply at least one api group',
          reason: 'FieldValueRequired',
        });
      if ((rule.resources ?? []).length === 0)
        errors.push({
          path: `${at}.resources`,
          message: 'Required value: resource rules must supply at least one resource',
          reason: 'FieldValueRequired',
        });
    }
  });
  return errors;
}

function validateBinding(
  b: BindingObject,
  old: BindingObject | undefined,
  clusterWide: boolean,
): FieldError[] {
  const errors: FieldError[] = [];
  const ref = b.roleRef;
  if (ref.apiGroup !== RBAC_GROUP)
    errors.push({
      path: 'roleRef.apiGroup',
      message: `Unsupported value: ${JSON.stringify(ref.apiGroup)}: supported values: "${RBAC_GROUP}"`,
      reason: 'FieldValueNotSupported',
    });
  if (clusterWide && ref.kind !== 'ClusterRole')
    errors.push({
      path: 'roleRef.kind',
      message: `Unsupported value: ${JSON.stringify(ref.kind)}: supported values: "ClusterRole"`,
      reason: 'FieldValueNotSupported',
    });
  if (ref.name === '')
    errors.push({ path: 'roleRef.name', message: 'Required value', reason: 'FieldValueRequired' });
  if (
    old !== undefined &&
    (old.roleRef.kind !== ref.kind || old.roleRef.name !== ref.name || old.roleRef.apiGroup !== ref.apiGroup)
  )
    errors.push({ path: 'roleRef', message: 'Invalid value: cannot change roleRef' });
  (b.subjects ?? []).forEach((s, i) => {
    const at = `subjects[${i}]`;
    if (s.name === '')
      errors.push({ path: `${at}.name`, message: 'Required value', reason: 'FieldValueRequired' });
    if (s.kind === 'ServiceAccount') {
      if ((s.apiGroup ?? '') !== '')
        errors.push({
          path: `${at}.apiGroup`,
          message: `Unsupported value: ${JSON.stringify(s.apiGroup)}: supported values: ""`,
          reason: 'FieldValueNotSupported',
        });
      if (clusterWide && (s.namespace ?? '') === '')
        errors.push({ path: `${at}.namespace`, message: 'Required value', reason: 'FieldValueRequired' });
    } else if ((s.apiGroup ?? RBAC_GROUP) !== RBAC_GROUP) {
      errors.push({
        path: `${at}.apiGroup`,
        message: `Unsupported value: ${JSON.stringify(s.apiGroup)}: supported values: "${RBAC_GROUP}"`,
        reason: 'FieldValueNotSupported',
      });
    }
  });
  return errors;
}

const roleSchema = (what: string, cluster: boolean) =>
  Obj(what, {
    ...envelope,
    rules: opt(Type.Array(PolicyRule)),
    ...(cluster ? { aggregationRule: opt(AggregationRule) } : {}),
  });

const bindingSchema = (what: string) =>
  Obj(what, { ...envelope, subjects: opt(Type.Array(Subject)), roleRef: RoleRef });

const created = { name: 'Created At', type: 'string' as const, jsonPath: '.metadata.creationTimestamp' };

const subjectsOf = (kind: string) => (o: KubeObject) =>
  ((o as BindingObject).subjects ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
    .join(', ');

const bindingColumns = [
  {
    name: 'Role',
    type: 'string' as const,
    jsonPath: '.roleRef.name',
    value: (o: KubeObject) => `${(o as BindingObject).roleRef.kind}/${(o as BindingObject).roleRef.name}`,
  },
  ageColumn,
  {
    name: 'Users',
    type: 'string' as const,
    jsonPath: '.subjects',
    priority: 1 as const,
    value: subjectsOf('User'),
  },
  {
    name: 'Groups',
    type: 'string' as const,
    jsonPath: '.subjects',
    priority: 1 as const,
    value: subjectsOf('Group'),
  },
  {
    name: 'ServiceAccounts',
    type: 'string' as const,
    jsonPath: '.subjects',
    priority: 1 as const,
    value: subjectsOf('ServiceAccount'),
  },
];

export const roleKind: KindDefinition = {
  ...rbac,
  kind: 'Role',
  plural: 'roles',
  singular: 'role',
  namespaced: true,
  deleteReturnsStatus: true,
  nameForm: 'path-segment',
  description: 'Role is a set of rules within one namespace, granted by RoleBindings.',
  schema: roleSchema('A role.', false),
  statusSubresource: false,
  printerColumns: [created],
  validate: (o) => validateRules((o as RoleObject).rules, false),
};

export const clusterRoleKind: KindDefinition = {
  ...rbac,
  kind: 'ClusterRole',
  plural: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  deleteReturnsStatus: true,
  nameForm: 'path-segment',
  description:
    'ClusterRole is a set of rules, granted cluster-wide by ClusterRoleBindings or in a namespace by RoleBindings.',
  schema: roleSchema('A cluster role.', true),
  statusSubresource: false,
  printerColumns: [created],
  validate: (o) => validateRules((o as RoleObject).rules, true),
};

export const roleBindingKind: KindDefinition = {
  ...rbac,
  kind: 'RoleBinding',
  plural: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  deleteReturnsStatus: true,
  nameForm: 'path-segment',
  description: 'RoleBinding grants a Role or ClusterRole to subjects within one namespace.',
  schema: bindingSchema('A role binding.'),
  statusSubresource: false,
  printerColumns: bindingColumns,
  validate: (o, old) => validateBinding(o as BindingObject, old as BindingObject | undefined, false),
};

export const clusterRoleBindingKind: KindDefinition = {
  ...rbac,
  kind: 'ClusterRoleBinding',
  plural: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  deleteReturnsStatus: true,
  nameForm: 'path-segment',
  description: 'ClusterRoleBinding grants a ClusterRole to subjects cluster-wide.',
  schema: bindingSchema('A cluster role binding.'),
  statusSubresource: false,
  printerColumns: bindingColumns,
  validate: (o, old) => validateBinding(o as BindingObject, old as BindingObject | undefined, true),
};

export const rbacKinds = [roleKind, clusterRoleKind, roleBindingKind, clusterRoleBindingKind];
