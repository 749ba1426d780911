/**
 * storage.k8s.io/v1 StorageClass: how claims of a class are provisioned. Here one provisioner,
 * `hikube.io/local-pool`, keeps thin qcow2 (Filesystem) or sparse raw (Block) files in a pool
 * directory: the data dir's `volumes/` unless the class names another with `parameters.path`.
 * The class marked with the default-class annotation serves claims that name no class.
 */
import { ageColumn, nameColumn, type FieldError, type KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Preserve, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const LOCAL_POOL_PROVISIONER = 'hikube.io/local-pool';
/** `parameters.path`: an absolute directory holding this class's volumes (e.g. a separate disk). */
export const POOL_PATH_PARAMETER = 'path';

export const StorageClass = Obj('A class of storage: its provisioner and what its volumes allow.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  provisioner: Type.String({
    description: 'Who provisions volumes of this class, e.g. hikube.io/local-pool.',
  }),
  parameters: opt(StringMap('Provisioner settings; hikube.io/local-pool reads `path` (the pool directory).')),
  reclaimPolicy: opt(StringEnum(['Delete', 'Retain'], 'What happens to a volume when its claim goes.')),
  allowVolumeExpansion: opt(Type.Boolean({ description: 'Claims of this class may grow.' })),
  volumeBindingMode: opt(StringEnum(['Immediate', 'WaitForFirstConsumer'])),
  mountOptions: opt(Type.Array(Type.String())),
  allowedTopologies: opt(Type.Array(Preserve())),
});
export type StorageClass = Static<typeof StorageClass>;

const IMMUTABLE = ['provisioner', 'parameters', 'reclaimPolicy', 'volumeBindingMode'] as const;

function validateStorageClass(sc: StorageClass, old: StorageClass | undefined): FieldError[] {
  const errors: FieldError[] = [];
  if (sc.provisioner === '')
    errors.push({ path: 'provisioner', reason: 'FieldValueRequired', message: 'Required value' });
  const path = sc.parameters?.[POOL_PATH_PARAMETER];
  if (sc.provisioner === LOCAL_POOL_PROVISIONER && path !== undefined && !path.startsWith('/'))
    errors.push({
      path: `parameters.${POOL_PATH_PARAMETER}`,
      message: `Invalid value: ${JSON.stringify(path)}: must be an absolute directory`,
    });
  if (old !== undefined) {
    for (const field of IMMUTABLE) {
      if (JSON.stringify(sc[field] ?? null) !== JSON.stringify(old[field] ?? null))
        errors.push({
          path: field,
          reason: 'FieldValueForbidden',
          message: 'Forbidden: updates to this field are forbidden',
        });
    }
  }
  return errors;
}

export const storageClassKind: KindDefinition = {
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  singular: 'storageclass',
  shortNames: ['sc'],
  namespaced: false,
  description:
    'StorageClass describes a class of storage: the provisioner of its volumes, their reclaim policy and whether they may grow.',
  schema: StorageClass,
  statusSubresource: false,
  printerColumns: [
    // kube marks the default class in the NAME cell: `local (default)`.
    {
      ...nameColumn,
      value: (o) => `${o.metadata.name ?? ''}${isDefaultClass(o as StorageClass) ? ' (default)' : ''}`,
    },
    { name: 'Provisioner', type: 'string', jsonPath: '.provisioner' },
    {
      name: 'ReclaimPolicy',
      type: 'string',
      jsonPath: '.reclaimPolicy',
      value: (o) => o['reclaimPolicy'] ?? 'Delete',
    },
    {
      name: 'VolumeBindingMode',
      type: 'string',
      jsonPath: '.volumeBindingMode',
      value: (o) => o['volumeBindingMode'] ?? 'Immediate',
    },
    {
      name: 'AllowVolumeExpansion',
      type: 'string',
      jsonPath: '.allowVolumeExpansion',
      value: (o) => String(o['allowVolumeExpansion'] === true),
    },
    ageColumn,
  ],
  validate: (o, old) =>
    validateStorageClass(o as unknown as StorageClass, old as unknown as StorageClass | undefined),
  defaults: (o) => {
    o['reclaimPolicy'] ??= 'Delete';
    o['volumeBindingMode'] ??= 'Immediate';
  },
};

export const isDefaultClass = (sc: StorageClass): boolean =>
  sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';

/** The storage class seeded at first start: the node's local pool, default, expandable. */
export const DEFAULT_STORAGE_CLASS = 'local';

export function defaultStorageClass(): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: DEFAULT_STORAGE_CLASS,
      annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' },
    },
    provisioner: LOCAL_POOL_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: true,
  };
}

/**
 * Hikube's clusters call their default class `replicated`, and its manifests name it. Here it is
 * the same local pool under that name (nothing is replicated on one machine), so those manifests
 * apply unchanged; the description annotation says so.
 */
export function replicatedStorageClass(): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: 'replicated',
      annotations: {
        'storageclass.kubernetes.io/description':
          "Hikube's class name, served by this machine's local pool: not replicated on a single node",
      },
    },
    provisioner: LOCAL_POOL_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: true,
  };
}
