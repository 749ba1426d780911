/**
 * cdi.kubevirt.io/v1beta1 DataVolume: a PVC together with where its content comes from (an HTTP
 * URL, an upload, another PVC, a blank disk, or a DataSource naming a golden image). The DataVolume
 * controller (src/controllers/datavolume) owns a PVC of the same name and fills it, reporting
 * CDI's phases, `status.progress` ("47.30%") and Bound/Ready/Running conditions.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import { PersistentVolumeClaimSpec } from '../core/core.js';
import { LabelSelector, TypedObjectReference } from '../core/refs.js';
import { MapOf, NoEffect, Obj, Quantity, StringEnum, Type, type Static, opt } from '../schema.js';
import { parseChecksum } from './checksum.js';

export const CDI_GROUP = 'cdi.kubevirt.io';
export const CDI_VERSION = 'v1beta1';

/** CDI's DataVolume phases, in the order an import walks them. */
export const DATA_VOLUME_PHASES = [
  'Pending',
  'PVCBound',
  'ImportScheduled',
  'ImportInProgress',
  'CloneScheduled',
  'CloneInProgress',
  'UploadScheduled',
  'UploadReady',
  'WaitForFirstConsumer',
  'PendingPopulation',
  'Paused',
  'Succeeded',
  'Failed',
  'Unknown',
] as const;
export type DataVolumePhase = (typeof DATA_VOLUME_PHASES)[number];

export const DataVolumeConditionType = { Bound: 'Bound', Ready: 'Ready', Running: 'Running' } as const;

const SecretName = (what: string) => Type.String({ description: what });

export const DataVolumeSource = Obj('Where the content comes from; exactly one member is set.', {
  http: opt(
    Obj('An http(s) URL.', {
      url: Type.String({ description: 'The image URL: qcow2, raw, ISO, VMDK, VHD(X), optionally gz or xz.' }),
      secretRef: opt(SecretName('A Secret with accessKeyId (user) and secretKey (password) for basic auth.')),
      certConfigMap: opt(SecretName('A ConfigMap whose values are PEM CA certificates to trust.')),
      extraHeaders: opt(Type.Array(Type.String({ description: '`Name: value`' }))),
      secretExtraHeaders: opt(Type.Array(SecretName('A Secret whose values are `Name: value` headers.'))),
      checksum: opt(
        Type.String({
          description: '`algorithm:hex` of the file as served (md5, sha1, sha256, sha512); empty: none.',
        }),
      ),
      insecureSkipVerify: opt(Type.Boolean()),
    }),
  ),
  registry: opt(
    Obj('A containerDisk image in an OCI registry.', {
      url: opt(Type.String({ description: 'docker://REGISTRY/IMAGE:TAG or @sha256:DIGEST' })),
      imageStream: opt(Type.String()),
      pullMethod: opt(StringEnum(['pod', 'node'])),
      secretRef: opt(Type.String()),
      certConfigMap: opt(Type.String()),
      platform: opt(Obj('Which image of a multi-platform index.', { architecture: opt(Type.String()) })),
    }),
  ),
  pvc: opt(
    Obj('Clone another PVC.', {
      namespace: opt(Type.String({ description: 'Defaults to the DataVolume namespace.' })),
      name: Type.String(),
    }),
  ),
  upload: opt(Obj('Content uploaded through the upload endpoint.', {})),
  blank: opt(Obj('A blank disk.', {})),
  s3: opt(
    Obj('An object in S3.', {
      url: Type.String(),
      secretRef: opt(SecretName('A Secret with accessKeyId and secretKey.')),
      certConfigMap: opt(SecretName('A ConfigMap of CA certificates.')),
    }),
  ),
  gcs: opt(
    Obj('An object in Google Cloud Storage.', {
      url: Type.String(),
      secretRef: opt(SecretName('A Secret with the service account key.')),
    }),
  ),
  imageio: opt(
    Obj('A disk of an oVirt engine.', {
      url: Type.String(),
      diskId: Type.String(),
      secretRef: opt(SecretName('A Secret with accessKeyId and secretKey.')),
      certConfigMap: opt(SecretName('A ConfigMap of CA certificates.')),
      insecureSkipVerify: opt(Type.Boolean()),
    }),
  ),
  vddk: opt(
    Obj('A disk of a VMware VM.', {
      url: opt(Type.String()),
      uuid: opt(Type.String()),
      backingFile: opt(Type.String()),
      thumbprint: opt(Type.String()),
      certConfigMap: opt(NoEffect(Type.String())),
      secretRef: opt(SecretName('A Secret with the vCenter credentials.')),
      initImageURL: opt(Type.String()),
      extraArgs: opt(Type.String()),
    }),
  ),
  snapshot: opt(Obj('A VolumeSnapshot to clone.', { namespace: opt(Type.String()), name: Type.String() })),
});
export type DataVolumeSource = Static<typeof DataVolumeSource>;

export const StorageSpec = Obj('Like a PVC spec, with every field optional (sizes may be inferred).', {
  accessModes: opt(Type.Array(Type.String())),
  resources: opt(
    Obj('Requested size.', { requests: opt(MapOf(Quantity())), limits: opt(MapOf(Quantity())) }),
  ),
  storageClassName: opt(Type.String()),
  volumeMode: opt(StringEnum(['Filesystem', 'Block'])),
  volumeName: opt(Type.String()),
  selector: opt(LabelSelector('Labels of the volumes the claim may bind.')),
  dataSource: opt(TypedObjectReference('An object to populate the claim from.', false)),
  dataSourceRef: opt(TypedObjectReference('An object to populate the claim from (any namespace).', true)),
});

export const DataVolumeSpec = Obj('What to provision and from where.', {
  source: opt(DataVolumeSource),
  sourceRef: opt(
    Obj('A DataSource naming the source (a golden image).', {
      kind: StringEnum(['DataSource']),
      namespace: opt(Type.String()),
      name: Type.String(),
    }),
  ),
  pvc: opt(PersistentVolumeClaimSpec),
  storage: opt(StorageSpec),
  contentType: opt(StringEnum(['kubevirt', 'archive'])),
  preallocation: opt(Type.Boolean()),
  priorityClassName: opt(Type.String()),
  checkpoints: opt(
    Type.Array(Obj('A warm-migration checkpoint.', { previous: Type.String(), current: Type.String() })),
  ),
  finalCheckpoint: opt(Type.Boolean()),
  serviceAccountName: opt(
    NoEffect(Type.String({ description: 'The service account the importer pod runs as (no pods here).' })),
  ),
});
export type DataVolumeSpec = Static<typeof DataVolumeSpec>;

export const DataVolumeCondition = Obj('An observation of the DataVolume.', {
  type: Type.String(),
  status: StringEnum(['True', 'False', 'Unknown']),
  reason: opt(Type.String()),
  message: opt(Type.String()),
  lastTransitionTime: opt(Type.String()),
  lastHeartbeatTime: opt(Type.String()),
});
export type DataVolumeCondition = Static<typeof DataVolumeCondition>;

export const DataVolume = Obj('A DataVolume.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: DataVolumeSpec,
  status: opt(
    Obj(
      'Progress of the population.',
      {
        phase: opt(StringEnum(DATA_VOLUME_PHASES)),
        progress: opt(Type.String({ description: '"N/A" or a percentage such as "47.30%".' })),
        restartCount: opt(Type.Integer()),
        claimName: opt(Type.String()),
        conditions: opt(Type.Array(DataVolumeCondition)),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
});
export type DataVolume = Static<typeof DataVolume>;

const SOURCES = [
  'http',
  'registry',
  'pvc',
  'upload',
  'blank',
  's3',
  'gcs',
  'imageio',
  'vddk',
  'snapshot',
] as const;
const SUPPORTED: readonly string[] = ['http', 'registry', 'pvc', 'upload', 'blank'];

/** The requested size of a DataVolume, in bytes, if one is given. */
export function requestedBytes(spec: DataVolumeSpec): number | undefined {
  const raw = (spec.storage ?? spec.pvc)?.resources?.requests?.['storage'];
  return raw === undefined ? undefined : parseQuantity(raw)?.value;
}

/** The one source member that is set, if exactly one is. */
export function sourceKind(spec: DataVolumeSpec): (typeof SOURCES)[number] | undefined {
  const set = SOURCES.filter((k) => spec.source?.[k] !== undefined);
  return set.length === 1 ? set[0] : undefined;
}

/** CDI's admission rules for a DataVolume, every cause at once. */
export function validateDataVolume(dv: DataVolume, old: DataVolume | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const spec = dv.spec;
  if (old !== undefined && JSON.stringify(old.spec) !== JSON.stringify(spec))
    errors.push({
      path: 'spec',
      reason: 'FieldValueForbidden',
      message: 'Forbidden: a DataVolume spec is immutable',
    });
  const set = SOURCES.filter((k) => spec.source?.[k] !== undefined);
  if (spec.sourceRef !== undefined && spec.source !== undefined)
    errors.push({
      path: 'spec.sourceRef',
      message: 'Invalid value: set either source or sourceRef, not both',
    });
  else if (spec.sourceRef === undefined && set.length !== 1)
    errors.push({
      path: 'spec.source',
      reason: set.length === 0 ? 'FieldValueRequired' : 'FieldValueInvalid',
      message:
        set.length === 0
          ? 'Required value: one of http, registry, pvc, upload, blank (or spec.sourceRef)'
          : `Invalid value: only one source may be set, got ${set.join(', ')}`,
    });
  const kind = set.length === 1 ? set[0] : undefined;
  if (kind !== undefined && !SUPPORTED.includes(kind))
    errors.push({
      path: `spec.source.${kind}`,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(kind)}: this platform imports from http, registry, upload, pvc and blank`,
    });
  if ((spec.pvc === undefined) === (spec.storage === undefined))
    errors.push({
      path: 'spec.storage',
      reason: spec.pvc === undefined ? 'FieldValueRequired' : 'FieldValueInvalid',
      message:
        spec.pvc === undefined
          ? 'Required value: spec.storage or spec.pvc'
          : 'Invalid value: set spec.storage or spec.pvc, not both',
    });
  const sized = spec.storage ?? spec.pvc;
  const at = spec.storage !== undefined ? 'spec.storage' : 'spec.pvc';
  const raw = sized?.resources?.requests?.['storage'];
  const inferable = kind === 'pvc' || spec.sourceRef !== undefined;
  if (sized !== undefined && raw === undefined && !(inferable && spec.storage !== undefined))
    errors.push({
      path: `${at}.resources.requests.storage`,
      reason: 'FieldValueRequired',
      message: 'Required value: the size of the volume',
    });
  if (raw !== undefined && !((parseQuantity(raw)?.value ?? 0) > 0))
    errors.push({
      path: `${at}.resources.requests.storage`,
      message: `Invalid value: ${JSON.stringify(raw)}: must be a positive size`,
    });
  const http = spec.source?.http;
  if (http !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(http.url);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      errors.push({
        path: 'spec.source.http.url',
        message: `Invalid value: ${JSON.stringify(http.url)}: must be an http or https URL`,
      });
    // As CDI: an empty checksum means none.
    if (http.checksum !== undefined && http.checksum !== '') {
      const parsed = parseChecksum(http.checksum);
      if (typeof parsed === 'string')
        errors.push({ path: 'spec.source.http.checksum', message: `Invalid value: ${parsed}` });
    }
    (http.extraHeaders ?? []).forEach((h, i) => {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(h))
        errors.push({
          path: `spec.source.http.extraHeaders[${i}]`,
          message: 'Invalid value: must be `Name: value`',
        });
    });
  }
  const registry = spec.source?.registry;
  if (registry !== undefined) {
    if (registry.imageStream !== undefined)
      errors.push({
        path: 'spec.source.registry.imageStream',
        reason: 'FieldValueNotSupported',
        message: 'Unsupported value: image streams are OpenShift objects: use url',
      });
    else if (registry.url === undefined || !/^docker:\/\/[^/]+/.test(registry.url))
      errors.push({
        path: 'spec.source.registry.url',
        reason: registry.url === undefined ? 'FieldValueRequired' : 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(registry.url ?? '')}: must be docker://REGISTRY/IMAGE[:TAG|@DIGEST]`,
      });
  }
  if (spec.source?.pvc !== undefined && spec.source.pvc.name === '')
    errors.push({ path: 'spec.source.pvc.name', reason: 'FieldValueRequired', message: 'Required value' });
  return errors;
}

export const dataVolumeKind: KindDefinition = {
  group: CDI_GROUP,
  version: CDI_VERSION,
  kind: 'DataVolume',
  plural: 'datavolumes',
  singular: 'datavolume',
  shortNames: ['dv', 'dvs'],
  categories: ['all'],
  namespaced: true,
  description:
    'DataVolume is a PVC with the source of its content: an http(s) image, an upload, a clone of another PVC, a blank disk, or a DataSource.',
  schema: DataVolume,
  statusSubresource: true,
  printerColumns: [
    {
      name: 'Phase',
      type: 'string',
      jsonPath: '.status.phase',
      description: 'The phase the data volume is in',
    },
    {
      name: 'Progress',
      type: 'string',
      jsonPath: '.status.progress',
      description: 'Transfer progress in percentage if known, N/A otherwise',
    },
    {
      name: 'Restarts',
      type: 'integer',
      jsonPath: '.status.restartCount',
      description: 'The number of times the transfer has been restarted.',
    },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o, old) =>
    validateDataVolume(o as unknown as DataVolume, old as unknown as DataVolume | undefined),
};
