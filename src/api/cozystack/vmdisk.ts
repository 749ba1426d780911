/**
 * apps.cozystack.io/v1alpha1 VMDisk: Hikube's disk, with a lifecycle of its own (a VM may go, its
 * disks stay; a disk may move to another VM). The Cozystack reconciler (src/controllers/cozystack)
 * compiles it to a CDI DataVolume `vm-disk-<name>` (and so a PVC of that name) and reports the
 * DataVolume's phase and progress here. Field names and defaults are Cozystack's vm-disk chart's.
 */
import { storageClassKind } from '../storage/storageclass.js';
import type { FieldError, KindDefinition, ObjectLookup } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import { Conditions } from '../kubevirt/status.js';
import { Obj, Quantity, Type, type Static, opt } from '../schema.js';

export const COZYSTACK_GROUP = 'apps.cozystack.io';
export const COZYSTACK_VERSION = 'v1alpha1';
/** Where the golden images live as DataSources, named as Hikube names them (`debian-12`, `ubuntu-2204`…). */
export const GOLDEN_IMAGES_NAMESPACE = 'kubevirt-os-images';
export const DEFAULT_DISK_SIZE = '5Gi';
/** DataVolume annotation Cozystack's chart writes: the disk is a cdrom (an ISO). */
export const OPTICAL_ANNOTATION = 'vm-disk.cozystack.io/optical';
/**
 * Hikube extension: the node image (`debian:12`) whose kernel and initrd boot this disk, for disk
 * images that are a bare root filesystem without a boot loader (the platform's built images are).
 * On a VMDisk, or on the DataSource of a golden image (copied to the disks cloned from it).
 */
export const KERNEL_IMAGE_ANNOTATION = 'vm-disk.hikube.io/kernel-image';

export const diskObjectName = (name: string): string => `vm-disk-${name}`;

export const VMDiskSource = Obj('Where the content comes from: at most one member; none is a blank disk.', {
  image: opt(
    Obj('Clone a golden image of the catalog.', {
      name: Type.String({
        description:
          "Name of the image, e.g. debian-12 or ubuntu-2204 (Cozystack's names, such as ubuntu-22.04, too).",
      }),
    }),
  ),
  http: opt(
    Obj('Download an image over http(s).', { url: Type.String({ description: 'URL of the image.' }) }),
  ),
  upload: opt(Obj('Upload a local image (hikube disk upload / virtctl image-upload).', {})),
  disk: opt(
    Obj('Clone another VMDisk of the namespace.', {
      name: Type.String({ description: 'Name of the VMDisk to clone.' }),
    }),
  ),
});
export type VMDiskSource = Static<typeof VMDiskSource>;

export const VMDiskSpec = Obj('The disk wanted.', {
  source: opt(VMDiskSource),
  optical: opt(Type.Boolean({ description: 'The disk is attached as a cdrom (ISO images).' })),
  storage: opt(Quantity('Size of the disk (default 5Gi); it may grow, never shrink.')),
  storageClass: opt(
    Type.String({ description: 'StorageClass of the disk (default: the default class); immutable.' }),
  ),
});
export type VMDiskSpec = Static<typeof VMDiskSpec>;

export const VMDisk = Obj('A VMDisk.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: opt(VMDiskSpec),
  status: opt(
    Obj('What the disk is, as its DataVolume and PVC say.', {
      phase: opt(
        Type.String({ description: "The DataVolume's phase: Pending, ImportInProgress, Succeeded…" }),
      ),
      progress: opt(Type.String({ description: 'Import progress, e.g. "47.30%".' })),
      claimName: opt(Type.String({ description: 'The PVC holding the disk (vm-disk-<name>).' })),
      capacity: opt(Type.String({ description: 'Size of the provisioned volume.' })),
      storageClass: opt(Type.String({ description: 'The class the volume came from.' })),
      observedGeneration: opt(Type.Integer()),
      conditions: opt(Conditions),
    }),
  ),
});
export type VMDisk = Static<typeof VMDisk>;

export const SOURCE_KINDS = ['image', 'http', 'upload', 'disk'] as const;
export type VMDiskSourceKind = (typeof SOURCE_KINDS)[number] | 'blank';

export function sourceKindOf(spec: VMDiskSpec | undefined): VMDiskSourceKind {
  return SOURCE_KINDS.find((k) => spec?.source?.[k] !== undefined) ?? 'blank';
}

/** The requested size in bytes (the default when unset). */
export const diskBytes = (spec: VMDiskSpec | undefined): number | undefined =>
  parseQuantity(spec?.storage ?? DEFAULT_DISK_SIZE)?.value;

export function validateVMDisk(disk: VMDisk, old: VMDisk | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const spec = disk.spec ?? {};
  const set = SOURCE_KINDS.filter((k) => spec.source?.[k] !== undefined);
  if (set.length > 1)
    errors.push({
      path: 'spec.source',
      message: `Invalid value: ${JSON.stringify(set)}: exactly one type of source is expected`,
    });
  if (spec.source?.image !== undefined && spec.source.image.name === '')
    errors.push({ path: 'spec.source.image.name', reason: 'FieldValueRequired', message: 'Required value' });
  if (spec.source?.disk !== undefined) {
    if (spec.source.disk.name === '')
      errors.push({ path: 'spec.source.disk.name', reason: 'FieldValueRequired', message: 'Required value' });
    else if (spec.source.disk.name === disk.metadata.name)
      errors.push({
        path: 'spec.source.disk.name',
        message: 'Invalid value: a disk cannot be cloned from itself',
      });
  }
  const url = spec.source?.http?.url;
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url))
    errors.push({
      path: 'spec.source.http.url',
      message: `Invalid value: ${JSON.stringify(url)}: must be an http or https URL`,
    });
  const bytes = diskBytes(spec);
  if (!((bytes ?? 0) > 0))
    errors.push({
      path: 'spec.storage',
      message: `Invalid value: ${JSON.stringify(spec.storage)}: must be a positive size such as 20Gi`,
    });
  if (old === undefined) return errors;
  const before = old.spec ?? {};
  const had = diskBytes(before);
  if (bytes !== undefined && had !== undefined && bytes < had)
    errors.push({
      path: 'spec.storage',
      reason: 'FieldValueForbidden',
      message: `Forbidden: a disk can only grow: ${JSON.stringify(spec.storage ?? DEFAULT_DISK_SIZE)} is smaller than ${JSON.stringify(before.storage ?? DEFAULT_DISK_SIZE)}`,
    });
  if ((spec.storageClass ?? '') !== (before.storageClass ?? ''))
    errors.push({
      path: 'spec.storageClass',
      reason: 'FieldValueForbidden',
      message: `Forbidden: field is immutable: the disk stays in storage class ${JSON.stringify(before.storageClass ?? '(default)')}`,
    });
  if (JSON.stringify(spec.source ?? {}) !== JSON.stringify(before.source ?? {}))
    errors.push({
      path: 'spec.source',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: field is immutable: the content of a disk is filled once, at creation',
    });
  return errors;
}

/**
 * A named storage class must exist when the disk is created. A golden image not in the catalog yet
 * is accepted: the disk waits for it (its DataVolume's DataSource), as Cozystack's would.
 */
export function admitVMDisk(disk: VMDisk, old: VMDisk | undefined, lookup: ObjectLookup): FieldError[] {
  if (old !== undefined) return [];
  const errors: FieldError[] = [];
  const sc = disk.spec?.storageClass;
  if (sc !== undefined && sc !== '' && lookup(storageClassKind, '', sc) === undefined)
    errors.push({
      path: 'spec.storageClass',
      reason: 'FieldValueNotFound',
      message: `Not found: ${JSON.stringify(sc)}: no such StorageClass (kubectl get storageclass)`,
    });
  return errors;
}

export const vmDiskKind: KindDefinition = {
  group: COZYSTACK_GROUP,
  version: COZYSTACK_VERSION,
  kind: 'VMDisk',
  plural: 'vmdisks',
  singular: 'vmdisk',
  categories: ['all', 'cozy'],
  namespaced: true,
  description:
    "VMDisk is Hikube's disk for a VMInstance: a golden image clone, an http import, an upload, a clone of another disk, or a blank disk; it outlives the VMs using it.",
  schema: VMDisk,
  statusSubresource: true,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase of the DataVolume' },
    { name: 'Progress', type: 'string', jsonPath: '.status.progress', priority: 1 },
    { name: 'Size', type: 'string', jsonPath: '.spec.storage', description: 'Requested size' },
    { name: 'StorageClass', type: 'string', jsonPath: '.status.storageClass' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o, old) => validateVMDisk(o, old),
  admit: (o, old, lookup) => admitVMDisk(o, old, lookup),
  defaults: (o) => {
    const spec = ((o as unknown as VMDisk).spec ??= {});
    spec.storage ??= DEFAULT_DISK_SIZE;
  },
};
