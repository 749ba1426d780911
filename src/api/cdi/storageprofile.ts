/**
 * cdi.kubevirt.io/v1beta1 StorageProfile: one per StorageClass, same name, saying which access
 * and volume modes a claim of that class can have, so a DataVolume's `storage:` (without modes)
 * gets sensible ones. Kept in sync with the classes by src/controllers/cdiconfig; `spec` takes
 * CDI's overrides.
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, StringEnum, Type, type Static, opt } from '../schema.js';
import { CDI_GROUP, CDI_VERSION } from './datavolume.js';

export const ClaimPropertySet = Obj('A combination of modes a claim of the class can have.', {
  accessModes: Type.Array(StringEnum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'])),
  volumeMode: StringEnum(['Filesystem', 'Block']),
});
export type ClaimPropertySet = Static<typeof ClaimPropertySet>;

export const StorageProfile = Obj('What claims of a storage class can be.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(
    Obj(
      'Overrides of what the platform reports.',
      {
        claimPropertySets: opt(Type.Array(ClaimPropertySet)),
        cloneStrategy: opt(StringEnum(['copy', 'snapshot', 'csi-clone'])),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
  status: opt(
    Obj('The class and the modes its claims support.', {
      storageClass: opt(Type.String()),
      provisioner: opt(Type.String()),
      claimPropertySets: opt(Type.Array(ClaimPropertySet)),
      cloneStrategy: opt(Type.String()),
    }),
  ),
});
export type StorageProfile = Static<typeof StorageProfile>;

export const storageProfileKind: KindDefinition = {
  group: CDI_GROUP,
  version: CDI_VERSION,
  kind: 'StorageProfile',
  plural: 'storageprofiles',
  singular: 'storageprofile',
  namespaced: false,
  description:
    'StorageProfile says which access and volume modes claims of the StorageClass of the same name support.',
  schema: StorageProfile,
  statusSubresource: true,
  printerColumns: [
    { name: 'Provisioner', type: 'string', jsonPath: '.status.provisioner', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
