/**
 * Protobuf field tables of the kinds kubectl sends as protobuf for access control: ServiceAccount
 * (`kubectl create serviceaccount`), the RBAC kinds (`kubectl create role|clusterrole|
 * rolebinding|clusterrolebinding`), TokenRequest (`kubectl create token`) and the reviews
 * (`kubectl auth can-i`, `kubectl auth whoami`). Field numbers are those of k8s.io/api's
 * generated.proto; protobuf.ts reads them.
 */
import type { MessageTable } from './protobuf.js';

export const authApiVersions: Record<string, string[]> = {
  Role: ['rbac.authorization.k8s.io/v1'],
  ClusterRole: ['rbac.authorization.k8s.io/v1'],
  RoleBinding: ['rbac.authorization.k8s.io/v1'],
  ClusterRoleBinding: ['rbac.authorization.k8s.io/v1'],
  TokenRequest: ['authentication.k8s.io/v1'],
  SelfSubjectReview: [
    'authentication.k8s.io/v1',
    'authentication.k8s.io/v1beta1',
    'authentication.k8s.io/v1alpha1',
  ],
  SelfSubjectAccessReview: ['authorization.k8s.io/v1'],
  SelfSubjectRulesReview: ['authorization.k8s.io/v1'],
  SubjectAccessReview: ['authorization.k8s.io/v1'],
  LocalSubjectAccessReview: ['authorization.k8s.io/v1'],
};

const strings = (name: string) => ({ name, type: 'string' as const, repeated: true });
const str = (name: string) => ({ name, type: 'string' as const });

const PolicyRule: MessageTable = {
  1: strings('verbs'),
  2: strings('apiGroups'),
  3: strings('resources'),
  4: strings('resourceNames'),
  5: strings('nonResourceURLs'),
};
const LabelSelector: MessageTable = {
  1: { name: 'matchLabels', type: { map: 'string' } },
  2: {
    name: 'matchExpressions',
    type: { message: { 1: str('key'), 2: str('operator'), 3: strings('values') } },
    repeated: true,
  },
};
const Subject: MessageTable = { 1: str('kind'), 2: str('apiGroup'), 3: str('name'), 4: str('namespace') };
const RoleRef: MessageTable = { 1: str('apiGroup'), 2: str('kind'), 3: str('name') };
const ResourceAttributes: MessageTable = {
  1: str('namespace'),
  2: str('verb'),
  3: str('group'),
  4: str('version'),
  5: str('resource'),
  6: str('subresource'),
  7: str('name'),
};
const NonResourceAttributes: MessageTable = { 1: str('path'), 2: str('verb') };
const SubjectAccessReviewSpec: MessageTable = {
  1: { name: 'resourceAttributes', type: { message: ResourceAttributes } },
  2: { name: 'nonResourceAttributes', type: { message: NonResourceAttributes } },
  3: str('user'),
  4: strings('groups'),
  6: str('uid'),
};

/** The tables, given protobuf.ts's ObjectMeta (passed in: the two modules would import each other). */
export function authKinds(ObjectMeta: MessageTable): Record<string, MessageTable> {
  const meta = { 1: { name: 'metadata', type: { message: ObjectMeta } } };
  const binding: MessageTable = {
    ...meta,
    2: { name: 'subjects', type: { message: Subject }, repeated: true },
    3: { name: 'roleRef', type: { message: RoleRef } },
  };
  const sar: MessageTable = { ...meta, 2: { name: 'spec', type: { message: SubjectAccessReviewSpec } } };
  return {
    ServiceAccount: {
      ...meta,
      2: {
        name: 'secrets',
        type: { message: { 1: str('kind'), 2: str('namespace'), 3: str('name') } },
        repeated: true,
      },
      3: { name: 'imagePullSecrets', type: { message: { 1: str('name') } }, repeated: true },
      4: { name: 'automountServiceAccountToken', type: 'bool' },
    },
    Role: { ...meta, 2: { name: 'rules', type: { message: PolicyRule }, repeated: true } },
    ClusterRole: {
      ...meta,
      2: { name: 'rules', type: { message: PolicyRule }, repeated: true },
      3: {
        name: 'aggregationRule',
        type: {
          message: { 1: { name: 'clusterRoleSelectors', type: { message: LabelSelector }, repeated: true } },
        },
      },
    },
    RoleBinding: binding,
    ClusterRoleBinding: binding,
    TokenRequest: {
      ...meta,
      2: {
        name: 'spec',
        type: {
          message: {
            1: strings('audiences'),
            3: {
              name: 'boundObjectRef',
              type: { message: { 1: str('kind'), 2: str('apiVersion'), 3: str('name'), 4: str('uid') } },
            },
            4: { name: 'expirationSeconds', type: 'int' },
          },
        },
      },
    },
    SelfSubjectReview: { ...meta },
    SelfSubjectAccessReview: {
      ...meta,
      2: {
        name: 'spec',
        type: {
          message: {
            1: { name: 'resourceAttributes', type: { message: ResourceAttributes } },
            2: { name: 'nonResourceAttributes', type: { message: NonResourceAttributes } },
          },
        },
      },
    },
    SelfSubjectRulesReview: { ...meta, 2: { name: 'spec', type: { message: { 1: str('namespace') } } } },
    SubjectAccessReview: sar,
    LocalSubjectAccessReview: sar,
  };
}
