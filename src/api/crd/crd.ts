/**
 * apiextensions.k8s.io/v1 CustomResourceDefinition: how a user teaches the API server a new kind
 * (a Velero Backup, a ServiceMonitor, a Widget). The schema here is the CRD object's own; the rules
 * kube-apiserver applies to it live in crd-rules.ts, and what a CRD turns into (one served kind per
 * version) in custom-kinds.ts.
 */
import { nameColumn, type KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Preserve, StringEnum, Type, type Static, opt } from '../schema.js';
import { validateCrd } from './crd-rules.js';

export const CRD_GROUP = 'apiextensions.k8s.io';
/** Held by every CRD until its objects are gone, as kube-apiserver's own finalizer. */
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const Names = Obj('Names of the kind and its resource.', {
  plural: Type.String({ description: 'Plural resource name, used in URLs: `widgets`.' }),
  singular: opt(Type.String({ description: 'Singular resource name; the lower-case kind when empty.' })),
  kind: Type.String({ description: 'The kind, CamelCase: `Widget`.' }),
  listKind: opt(Type.String({ description: 'Kind of a list; `<kind>List` when empty.' })),
  shortNames: opt(Type.Array(Type.String(), { description: 'Short names for kubectl: `wd`.' })),
  categories: opt(Type.Array(Type.String(), { description: 'Groups of resources, such as `all`.' })),
});

const PrinterColumn = Obj('A column of `kubectl get`.', {
  name: Type.String(),
  type: Type.String({ description: 'integer, number, string, boolean or date.' }),
  format: opt(Type.String()),
  description: opt(Type.String()),
  priority: opt(Type.Integer()),
  jsonPath: Type.String({ description: 'Simple JSONPath into the object, such as `.spec.size`.' }),
});

const Version = Obj('One version of the kind.', {
  name: Type.String(),
  served: Type.Boolean(),
  storage: Type.Boolean(),
  deprecated: opt(Type.Boolean()),
  deprecationWarning: opt(Type.String()),
  schema: opt(
    Obj('The schema of objects in this version.', {
      openAPIV3Schema: opt(Preserve('A structural OpenAPI v3 schema.')),
    }),
  ),
  subresources: opt(
    Obj('Subresources served.', {
      status: opt(Preserve('Present (`{}`) to serve /status.')),
      scale: opt(
        Obj('Serves /scale.', {
          specReplicasPath: Type.String(),
          statusReplicasPath: Type.String(),
          labelSelectorPath: opt(Type.String()),
        }),
      ),
    }),
  ),
  additionalPrinterColumns: opt(Type.Array(PrinterColumn)),
  selectableFields: opt(Type.Array(Preserve())),
});

export const CustomResourceDefinitionSpec = Obj('The kind defined.', {
  group: Type.String(),
  names: Names,
  scope: StringEnum(['Namespaced', 'Cluster']),
  versions: Type.Array(Version),
  conversion: opt(
    Obj('How versions convert.', {
      strategy: Type.String({ description: 'None (only apiVersion changes); Webhook is refused here.' }),
      webhook: opt(Preserve()),
    }),
  ),
  preserveUnknownFields: opt(Type.Boolean()),
});

export const CustomResourceDefinitionSchema = Obj('A CustomResourceDefinition.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: CustomResourceDefinitionSpec,
  status: opt(Preserve('acceptedNames, conditions and storedVersions, set by the server.')),
});

export type CustomResourceDefinition = Static<typeof CustomResourceDefinitionSchema>;
export type CrdVersion = Static<typeof Version>;

export const customResourceDefinitionKind: KindDefinition = {
  group: CRD_GROUP,
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  namespaced: false,
  description: 'Defines a custom kind the API server serves.',
  schema: CustomResourceDefinitionSchema,
  statusSubresource: true,
  printerColumns: [
    nameColumn,
    { name: 'Created At', type: 'date', format: 'date-time', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (crd, old) =>
    validateCrd(crd as CustomResourceDefinition, old as CustomResourceDefinition | undefined),
  deleteReturnsStatus: false,
  defaults(object) {
    const crd = object as CustomResourceDefinition;
    const names = crd.spec.names;
    names.singular ??= names.kind.toLowerCase();
    names.listKind ??= `${names.kind}List`;
    crd.spec.conversion ??= { strategy: 'None' };
    const finalizers = crd.metadata.finalizers ?? [];
    if (crd.metadata.deletionTimestamp === undefined && !finalizers.includes(CRD_CLEANUP_FINALIZER))
      crd.metadata.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
  },
};
