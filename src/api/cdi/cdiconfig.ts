/**
 * cdi.kubevirt.io/v1beta1 CDIConfig: the cluster's one CDI configuration, named `config`. Read
 * mostly: its status says where uploads go and which class holds scratch space, kept in sync with
 * our storage by src/controllers/cdiconfig. `spec` takes CDI's overrides of those two.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Preserve, Type, type Static, opt } from '../schema.js';
import { CDI_GROUP, CDI_VERSION } from './datavolume.js';

/** The singleton's name, as CDI's operator creates it. */
export const CDI_CONFIG_NAME = 'config';

export const CDIConfig = Obj('The CDI configuration of the cluster.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(
    Obj(
      'Overrides; what is not set follows the platform.',
      {
        uploadProxyURLOverride: opt(Type.String({ description: 'Published instead of the upload URL.' })),
        scratchSpaceStorageClass: opt(
          Type.String({ description: 'The class for scratch space instead of the default class.' }),
        ),
        featureGates: opt(Type.Array(Type.String())),
        filesystemOverhead: opt(Preserve()),
        preallocation: opt(Type.Boolean()),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
  status: opt(
    Obj('What the platform uses.', {
      uploadProxyURL: opt(
        Type.String({
          description: 'Where DataVolume uploads go: the API server, which serves the upload path.',
        }),
      ),
      scratchSpaceStorageClass: opt(Type.String({ description: 'The class holding scratch space.' })),
      preallocation: opt(Type.Boolean()),
    }),
  ),
});
export type CDIConfig = Static<typeof CDIConfig>;

function validateCdiConfig(c: CDIConfig): FieldError[] {
  if (c.metadata.name === CDI_CONFIG_NAME) return [];
  return [
    {
      path: 'metadata.name',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(c.metadata.name ?? '')}: supported values: "${CDI_CONFIG_NAME}" (the one CDIConfig)`,
    },
  ];
}

export const cdiConfigKind: KindDefinition = {
  group: CDI_GROUP,
  version: CDI_VERSION,
  kind: 'CDIConfig',
  plural: 'cdiconfigs',
  singular: 'cdiconfig',
  namespaced: false,
  description:
    'CDIConfig is the cluster-wide CDI configuration (one object, `config`); its status reflects the storage in use.',
  schema: CDIConfig,
  statusSubresource: true,
  printerColumns: [
    { name: 'UploadProxyURL', type: 'string', jsonPath: '.status.uploadProxyURL', priority: 1 },
    { name: 'ScratchSpace', type: 'string', jsonPath: '.status.scratchSpaceStorageClass', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validateCdiConfig(o),
};
