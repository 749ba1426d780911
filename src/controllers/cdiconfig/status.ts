/**
 * What CDIConfig's and the StorageProfiles' status say about our storage, as pure functions: the
 * controller only compares and writes.
 */
import type { CDIConfig } from '../../api/cdi/cdiconfig.js';
import type { ClaimPropertySet, StorageProfile } from '../../api/cdi/storageprofile.js';
import { isDefaultClass, LOCAL_POOL_PROVISIONER, type StorageClass } from '../../api/storage/storageclass.js';

/**
 * The local pool makes thin qcow2 files (Filesystem) or sparse raw files (Block) on this one node:
 * ReadWriteOnce either way. Other provisioners are not run here, so nothing is claimed for them.
 */
export function claimPropertySets(sc: StorageClass): ClaimPropertySet[] {
  if (sc.provisioner !== LOCAL_POOL_PROVISIONER) return [];
  return [
    { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' },
    { accessModes: ['ReadWriteOnce'], volumeMode: 'Block' },
  ];
}

export function storageProfileStatus(sc: StorageClass): NonNullable<StorageProfile['status']> {
  return {
    storageClass: sc.metadata.name ?? '',
    provisioner: sc.provisioner,
    claimPropertySets: claimPropertySets(sc),
    // Our clones are qemu-img copies of the source volume.
    cloneStrategy: 'copy',
  };
}

/**
 * Uploads go to the API server (CDI's upload proxy role: src/storage/upload.ts, upload-proxy.ts); scratch space is
 * the class the spec names when it exists, else the default class. `defaultPodResourceRequirements`
 * is omitted: no importer pods run here.
 */
export function cdiConfigStatus(
  config: CDIConfig,
  classes: readonly StorageClass[],
  apiServerURL: string,
): NonNullable<CDIConfig['status']> {
  const wanted = config.spec?.scratchSpaceStorageClass;
  const scratch =
    classes.find((c) => wanted !== undefined && wanted !== '' && c.metadata.name === wanted) ??
    classes.find(isDefaultClass);
  const override = config.spec?.uploadProxyURLOverride;
  return {
    uploadProxyURL: override !== undefined && override !== '' ? override : apiServerURL,
    ...(scratch !== undefined ? { scratchSpaceStorageClass: scratch.metadata.name ?? '' } : {}),
    ...(config.spec?.preallocation !== undefined ? { preallocation: config.spec.preallocation } : {}),
  };
}
