/**
 * core/v1 ServiceAccount: the identity a user of the platform gets (`hikube user create` makes
 * one per user in the tenant's namespace). Its `token` subresource (TokenRequest) issues signed,
 * expiring bearer tokens bound to the account's uid (src/apiserver/auth/tokens.ts).
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta, type KubeObject } from '../meta.js';
import { Obj, opt, Type } from '../schema.js';

const ref = Obj('A reference to an object in the same namespace.', { name: opt(Type.String()) });

export const serviceAccountKind: KindDefinition = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  shortNames: ['sa'],
  namespaced: true,
  deleteReturnsStatus: true,
  description:
    'ServiceAccount is an identity; tokens issued for it authenticate as system:serviceaccount:NAMESPACE:NAME.',
  schema: Obj('A service account.', {
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: ObjectMeta,
    secrets: opt(Type.Array(ref)),
    imagePullSecrets: opt(Type.Array(ref)),
    automountServiceAccountToken: opt(Type.Boolean()),
  }),
  statusSubresource: false,
  printerColumns: [
    {
      name: 'Secrets',
      type: 'integer',
      jsonPath: '.secrets',
      value: (o: KubeObject) => ((o['secrets'] as unknown[] | undefined) ?? []).length,
    },
  ],
};

/** kube-apiserver's spelling of a service account's user name. */
export const serviceAccountUser = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`;
