/**
 * meta.k8s.io/v1 shapes shared by every kind: ObjectMeta, ListMeta, OwnerReference, Status.
 */
import { Type, StringMap, Obj, type Static } from './schema.js';

export const OwnerReference = Obj(
  'Information to let you identify an owning object. The owner must be in the same namespace, or cluster-scoped.',
  {
    apiVersion: Type.String({ description: 'API version of the referent.' }),
    kind: Type.String({ description: 'Kind of the referent.' }),
    name: Type.String({ description: 'Name of the referent.' }),
    uid: Type.String({ description: 'UID of the referent.' }),
    controller: Type.Optional(
      Type.Boolean({ description: 'If true, this reference points to the managing controller.' }),
    ),
    blockOwnerDeletion: Type.Optional(
      Type.Boolean({
        description:
          'If true, the owner cannot be deleted from the key-value store until this reference is removed (foreground deletion).',
      }),
    ),
  },
);
export type OwnerReference = Static<typeof OwnerReference>;

export const ObjectMeta = Obj('Standard object metadata.', {
  name: Type.Optional(Type.String({ description: 'Name must be unique within a namespace.' })),
  generateName: Type.Optional(
    Type.String({ description: 'Prefix the server uses to generate a unique name when name is empty.' }),
  ),
  namespace: Type.Optional(
    Type.String({ description: 'Namespace defines the space within which each name must be unique.' }),
  ),
  uid: Type.Optional(
    Type.String({
      description: 'UID is the unique in time and space value for this object. Set by the server.',
    }),
  ),
  resourceVersion: Type.Optional(
    Type.String({
      description: 'An opaque value for optimistic concurrency and watches. Set by the server.',
    }),
  ),
  generation: Type.Optional(
    Type.Integer({
      description: 'A sequence number representing a specific generation of the desired state.',
    }),
  ),
  creationTimestamp: Type.Optional(
    Type.String({ format: 'date-time', description: 'When this object was created. Set by the server.' }),
  ),
  deletionTimestamp: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'When this object will be deleted; set when deletion was requested and finalizers remain.',
    }),
  ),
  deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
  labels: Type.Optional(
    StringMap('Map of string keys and values that can be used to organize and categorize objects.'),
  ),
  annotations: Type.Optional(StringMap('Unstructured key value map stored with a resource.')),
  ownerReferences: Type.Optional(
    Type.Array(OwnerReference, {
      'x-kubernetes-patch-merge-key': 'uid',
      'x-kubernetes-patch-strategy': 'merge',
    }),
  ),
  finalizers: Type.Optional(
    Type.Array(Type.String(), {
      'x-kubernetes-patch-strategy': 'merge',
      description: 'Must be empty before the object is deleted from the registry.',
    }),
  ),
  managedFields: Type.Optional(
    Type.Array(
      Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
    ),
  ),
});
export type ObjectMeta = Static<typeof ObjectMeta>;

/** Any API object as stored and served: the server only relies on these fields. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface Status {
  apiVersion: 'v1';
  kind: 'Status';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  code: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}
