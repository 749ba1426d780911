/**
 * export.kubevirt.io/v1 VirtualMachineExport (v1beta1 served too), as KubeVirt v1.9 serves it: a
 * token-protected link to download the disks of a stopped VM, of a VirtualMachineSnapshot or of
 * one PersistentVolumeClaim, in KubeVirt's formats (`raw`, `gzip`, `dir`, `tar.gz`) plus `qcow2`,
 * this platform's extension, and the VM's manifests. The export controller
 * (src/controllers/export) fills the status; the download server is src/storage/export.
 */
import { parseDuration } from '../duration.js';
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, StringEnum, Type, type Static, opt } from '../schema.js';
import { TypedLocalObjectReference, checkSpecUnchanged } from '../snapshot/common.js';

export const EXPORT_GROUP = 'export.kubevirt.io';
export const EXPORT_VERSION = 'v1';
export const EXPORT_API_VERSION = `${EXPORT_GROUP}/${EXPORT_VERSION}`;

/** KubeVirt's header (or query parameter) carrying the token on every download. */
export const EXPORT_TOKEN_HEADER = 'x-kubevirt-export-token';
/** The key of the token in the token Secret, as KubeVirt reads it. */
export const TOKEN_KEY = 'token';
/** KubeVirt's default time to live of an export. */
export const DEFAULT_TTL_MS = 2 * 60 * 60 * 1000;

export const EXPORT_PHASES = ['Pending', 'Ready', 'Terminated', 'Skipped'] as const;
export type ExportPhase = (typeof EXPORT_PHASES)[number];

/**
 * `raw` (disk.img), `gzip` (disk.img.gz), `dir` (a listing holding disk.img), `tar.gz` (a tarball
 * holding disk.img) are KubeVirt's; `qcow2` (disk.qcow2) is this platform's extension.
 */
export const EXPORT_FORMATS = ['raw', 'gzip', 'dir', 'tar.gz', 'qcow2'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const MANIFEST_TYPES = ['all', 'auth-header-secret'] as const;
export type ManifestType = (typeof MANIFEST_TYPES)[number];

export const SOURCE_KINDS = ['VirtualMachine', 'VirtualMachineSnapshot', 'PersistentVolumeClaim'] as const;
const SOURCE_GROUPS: Readonly<Record<string, string>> = {
  VirtualMachine: 'kubevirt.io',
  VirtualMachineSnapshot: 'snapshot.kubevirt.io',
  PersistentVolumeClaim: '',
};

const ExportCondition = Obj('An observation of the export.', {
  type: StringEnum(['Ready', 'PVCReady', 'VolumesCreated'] as const),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  lastProbeTime: opt(Type.Union([Type.String(), Type.Null()])),
  lastTransitionTime: opt(Type.Union([Type.String(), Type.Null()])),
  reason: opt(Type.String()),
  message: opt(Type.String()),
});
export type ExportCondition = Static<typeof ExportCondition>;

const ExportLink = Obj('Where to download the exported volumes and manifests.', {
  cert: Type.String({ description: 'PEM of the CA that signed the download server certificate.' }),
  volumes: opt(
    Type.Array(
      Obj('One exported volume.', {
        name: Type.String(),
        formats: opt(
          Type.Array(
            Obj('One format of the volume and its URL.', {
              format: StringEnum(EXPORT_FORMATS),
              url: Type.String(),
            }),
          ),
        ),
      }),
    ),
  ),
  manifests: opt(
    Type.Array(Obj('A manifest and its URL.', { type: StringEnum(MANIFEST_TYPES), url: Type.String() })),
  ),
  // KubeVirt v1.9's endpoints of a VirtualMachineBackup export: accepted, never filled here (that kind is not served).
  backups: opt(
    Type.Array(
      Obj('An exported backup and its endpoints (never filled here).', {
        name: Type.String(),
        endpoints: opt(
          Type.Array(
            Obj('One endpoint of a backup export and its URL.', {
              endpoint: Type.String(),
              url: Type.String(),
            }),
          ),
        ),
      }),
    ),
  ),
});
export type ExportLink = Static<typeof ExportLink>;

export const VirtualMachineExport = Obj('An export of the disks of a VM, a snapshot or a claim.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What to export.', {
    source: TypedLocalObjectReference,
    tokenSecretRef: opt(
      Type.String({
        description: 'Secret whose `token` key downloads need; generated when not given.',
      }),
    ),
    ttlDuration: opt(Type.String({ description: 'How long the export lives (a Go duration, default 2h).' })),
  }),
  status: opt(
    Obj('Where the export stands and its links.', {
      phase: opt(StringEnum(EXPORT_PHASES)),
      links: opt(
        Obj('Internal and external links.', { internal: opt(ExportLink), external: opt(ExportLink) }),
      ),
      tokenSecretRef: opt(Type.String()),
      ttlExpirationTime: opt(Type.String()),
      serviceName: opt(Type.String()),
      virtualMachineName: opt(Type.String()),
      conditions: opt(Type.Array(ExportCondition)),
    }),
  ),
});
export type VirtualMachineExport = Static<typeof VirtualMachineExport>;

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function validateExport(e: VirtualMachineExport, old: VirtualMachineExport | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const src = e.spec.source;
  if (!(SOURCE_KINDS as readonly string[]).includes(src.kind))
    errors.push({
      path: 'spec.source.kind',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(src.kind)}: supported values: ${SOURCE_KINDS.map((k) => JSON.stringify(k)).join(', ')}`,
    });
  const group = SOURCE_GROUPS[src.kind];
  if (group !== undefined && (src.apiGroup ?? '') !== group)
    errors.push({
      path: 'spec.source.apiGroup',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(src.apiGroup ?? '')}: supported values: ${JSON.stringify(group)}`,
    });
  if (src.name === '')
    errors.push({ path: 'spec.source.name', reason: 'FieldValueRequired', message: 'Required value' });
  else if (!NAME.test(src.name) || src.name.length > 253)
    errors.push({
      path: 'spec.source.name',
      message: `Invalid value: ${JSON.stringify(src.name)}: not a DNS subdomain name`,
    });
  const secret = e.spec.tokenSecretRef;
  if (secret !== undefined && (!NAME.test(secret) || secret.length > 253))
    errors.push({
      path: 'spec.tokenSecretRef',
      message: `Invalid value: ${JSON.stringify(secret)}: not a DNS subdomain name`,
    });
  const ttl = e.spec.ttlDuration;
  if (ttl !== undefined) {
    const ms = parseDuration(ttl);
    if (ms === undefined || ms <= 0)
      errors.push({
        path: 'spec.ttlDuration',
        message: `Invalid value: ${JSON.stringify(ttl)}: a positive duration such as 30m or 2h`,
      });
  }
  checkSpecUnchanged(old, e, errors);
  return errors;
}

/** The export's lifetime in milliseconds (its ttlDuration, else KubeVirt's default). */
export const ttlOf = (e: VirtualMachineExport): number =>
  (e.spec.ttlDuration === undefined ? undefined : parseDuration(e.spec.ttlDuration)) ?? DEFAULT_TTL_MS;

/** The generated token Secret's name when spec.tokenSecretRef is not given (KubeVirt's). */
export const generatedTokenSecretName = (exportName: string): string => `export-token-${exportName}`;

export const virtualMachineExportKind: KindDefinition = {
  group: EXPORT_GROUP,
  version: EXPORT_VERSION,
  kind: 'VirtualMachineExport',
  plural: 'virtualmachineexports',
  singular: 'virtualmachineexport',
  shortNames: ['vmexport', 'vmexports'],
  categories: ['all'],
  namespaced: true,
  description:
    'VirtualMachineExport publishes the disks of a stopped VM, a VM snapshot or a claim for download.',
  schema: VirtualMachineExport,
  statusSubresource: true,
  printerColumns: [
    { name: 'SourceKind', type: 'string', jsonPath: '.spec.source.kind' },
    { name: 'SourceName', type: 'string', jsonPath: '.spec.source.name' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  ],
  validate: (o, old) =>
    validateExport(o as unknown as VirtualMachineExport, old as unknown as VirtualMachineExport | undefined),
};
