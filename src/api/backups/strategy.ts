/**
 * backups.hikube.io/v1alpha1 BackupStrategy: our driver's strategy object, the one a BackupClass's
 * strategyRef names (in Cozystack the storage target lives in the driver's strategy). Cluster-
 * scoped like the class. Its target is an S3-compatible bucket (endpoint, region, bucket, prefix,
 * path-style, a CA bundle, credentials from a Secret in a namespace tenants cannot read) or a
 * local directory of the node (the default with no bucket, under DATA_DIR/backups).
 */
import { X509Certificate } from 'node:crypto';
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Conditions } from '../kubevirt/status.js';
import { Obj, StringEnum, Type, opt, type Static } from '../schema.js';
import { Causes, STRATEGY_GROUP, STRATEGY_VERSION } from './common.js';

/** Namespaces that tenant users are never given: a credentials Secret must live in one of them. */
export const CREDENTIALS_NAMESPACES: readonly string[] = ['hikube-system', 'cozy-system', 'kube-system'];

export const BackupStrategySpec = Obj('Where and how backups are stored.', {
  target: StringEnum(
    ['s3', 'local'] as const,
    's3: an S3-compatible bucket; local: a directory of the node.',
  ),
  endpoint: opt(Type.String({ description: 's3: the endpoint URL, http(s)://host[:port].' })),
  region: opt(Type.String({ description: 's3: the region signed for (default us-east-1).' })),
  bucket: opt(Type.String({ description: 's3: the bucket.' })),
  prefix: opt(Type.String({ description: 'Key prefix before <namespace>/<application>/…' })),
  forcePathStyle: opt(Type.Boolean({ description: 's3: path-style addressing (most self-hosted servers).' })),
  credentialsSecretRef: opt(
    Obj('s3: a Secret with accessKeyId and secretAccessKey, in a namespace tenants cannot read.', {
      namespace: Type.String(),
      name: Type.String(),
    }),
  ),
  caBundle: opt(Type.String({ description: 's3: PEM certificates trusted for the endpoint.' })),
  path: opt(Type.String({ description: 'local: an absolute directory of the node.' })),
});
export type BackupStrategySpec = Static<typeof BackupStrategySpec>;

export const BackupStrategy = Obj('A BackupStrategy.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: BackupStrategySpec,
  status: opt(Obj('What the strategy is.', { conditions: opt(Conditions) })),
});
export type BackupStrategy = Static<typeof BackupStrategy>;

const MAX_CA_BUNDLE = 256 * 1024;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/** Why a CA bundle is not one or more PEM certificates (each parsed), or undefined. */
export function caBundleProblem(pem: string): string | undefined {
  if (pem.length > MAX_CA_BUNDLE) return `must be at most ${MAX_CA_BUNDLE} bytes`;
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) return 'must hold PEM certificates (-----BEGIN CERTIFICATE-----)';
  const rest = pem.replace(PEM_BLOCK, '').trim();
  if (rest !== '') return 'must hold only PEM certificates';
  for (const [i, b] of blocks.entries()) {
    if (b[1] !== 'CERTIFICATE') return `block ${i + 1} is a ${b[1] ?? '?'}, not a CERTIFICATE`;
    try {
      new X509Certificate(b[0]);
    } catch (err) {
      return `certificate ${i + 1} does not parse: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return undefined;
}

export function validateBackupStrategy(o: BackupStrategy): Causes['errors'] {
  const c = new Causes();
  const s = o.spec;
  if (s.target === 's3') {
    if (s.endpoint === undefined || s.endpoint === '') c.required('spec.endpoint', 'the S3 endpoint URL');
    else if (!/^https?:\/\/[^/\s]+\/?$/.test(s.endpoint))
      c.invalid('spec.endpoint', s.endpoint, 'must be http(s)://host[:port] with no path');
    if (s.bucket === undefined || s.bucket === '') c.required('spec.bucket', 'the bucket');
    else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket))
      c.invalid('spec.bucket', s.bucket, 'must be 3-63 lowercase letters, digits, dots and dashes');
    const ref = s.credentialsSecretRef;
    if (ref === undefined) c.required('spec.credentialsSecretRef', 'the Secret holding the access keys');
    else if (!CREDENTIALS_NAMESPACES.includes(ref.namespace))
      c.invalid(
        'spec.credentialsSecretRef.namespace',
        ref.namespace,
        `must be a namespace tenants cannot read: ${CREDENTIALS_NAMESPACES.join(', ')}`,
      );
    if (s.path !== undefined) c.invalid('spec.path', s.path, 'only for target local');
    if (s.caBundle !== undefined) {
      const why = caBundleProblem(s.caBundle);
      if (why !== undefined) c.invalid('spec.caBundle', '…', why);
    }
  } else if (s.target === 'local') {
    if (s.path === undefined || s.path === '') c.required('spec.path', 'the directory (target local)');
    else if (!s.path.startsWith('/') || s.path.split('/').includes('..'))
      c.invalid('spec.path', s.path, 'must be an absolute path without ..');
    for (const f of ['endpoint', 'bucket', 'credentialsSecretRef', 'caBundle'] as const)
      if (s[f] !== undefined) c.invalid(`spec.${f}`, s[f], 'only for target s3');
  }
  if (s.prefix !== undefined && (s.prefix.startsWith('/') || s.prefix.split('/').includes('..')))
    c.invalid('spec.prefix', s.prefix, 'must be relative, without ..');
  return c.errors;
}

export const backupStrategyKind: KindDefinition = {
  group: STRATEGY_GROUP,
  version: STRATEGY_VERSION,
  kind: 'BackupStrategy',
  plural: 'backupstrategies',
  singular: 'backupstrategy',
  namespaced: false,
  description:
    "BackupStrategy is Hikube's backup driver strategy: the target (an S3-compatible bucket or a local directory) that a BackupClass's strategyRef points at.",
  schema: BackupStrategy,
  statusSubresource: true,
  printerColumns: [
    { name: 'Target', type: 'string', jsonPath: '.spec.target' },
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoint' },
    { name: 'Bucket', type: 'string', jsonPath: '.spec.bucket' },
    { name: 'Path', type: 'string', jsonPath: '.spec.path', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validateBackupStrategy(o as unknown as BackupStrategy),
};
