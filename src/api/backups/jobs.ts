/**
 * Cozystack's BackupJob (one run: Pending → Running → Succeeded/Failed with the reason in
 * status.message), Backup (the artifact a run left: status.artifact uri/sizeBytes/checksum, made
 * only once the artifact is complete) and RestoreJob (a Backup put back in place or into a new
 * application named by targetApplicationRef). Hikube extension on a RestoreJob: the annotation
 * `backups.hikube.io/stop-running-vm: "true"` lets an in-place restore stop a running VM.
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Conditions } from '../kubevirt/status.js';
import { Obj, Preserve, StringEnum, StringMap, Type, opt, type Static } from '../schema.js';
import {
  BACKUP_PHASES,
  BACKUPS_GROUP,
  BACKUPS_VERSION,
  Causes,
  JobStatus,
  LocalObjectReference,
  STOP_VM_ANNOTATION,
  TypedLocalObjectReference,
  checkApplicationRef,
} from './common.js';

const phaseColumn = { name: 'Phase', type: 'string', jsonPath: '.status.phase' } as const;
const ageColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' } as const;

export const BackupJob = Obj('A BackupJob.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('The backup to take.', {
    planRef: opt(LocalObjectReference('The Plan that asked for this run; absent for a manual backup.')),
    applicationRef: TypedLocalObjectReference('The application to back up.'),
    backupClassName: Type.String({ description: 'The BackupClass giving strategy and target; immutable.' }),
  }),
  status: opt(
    Obj('How the run goes.', {
      ...JobStatus('run').properties,
      backupRef: opt(LocalObjectReference('The Backup this run made.')),
    }),
  ),
});
export type BackupJob = Static<typeof BackupJob>;
export type JobStatusValue = NonNullable<BackupJob['status']>;

export function validateBackupJob(o: BackupJob, old: BackupJob | undefined): Causes['errors'] {
  const c = new Causes();
  checkApplicationRef(c, 'spec.applicationRef', o.spec.applicationRef);
  if (o.spec.backupClassName === '') c.required('spec.backupClassName', 'the BackupClass to use');
  if (old !== undefined && old.spec.backupClassName !== o.spec.backupClassName)
    c.invalid('spec.backupClassName', o.spec.backupClassName, 'backupClassName is immutable');
  if (old !== undefined && JSON.stringify(old.spec.applicationRef) !== JSON.stringify(o.spec.applicationRef))
    c.invalid('spec.applicationRef', o.spec.applicationRef, 'field is immutable');
  return c.errors;
}

export const backupJobKind: KindDefinition = {
  group: BACKUPS_GROUP,
  version: BACKUPS_VERSION,
  kind: 'BackupJob',
  plural: 'backupjobs',
  singular: 'backupjob',
  namespaced: true,
  description:
    'BackupJob is one run of a backup of an application; it makes a Backup when the artifact is complete.',
  schema: BackupJob,
  statusSubresource: true,
  printerColumns: [
    phaseColumn,
    { name: 'Application', type: 'string', jsonPath: '.spec.applicationRef.name' },
    { name: 'Backup', type: 'string', jsonPath: '.status.backupRef.name' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ageColumn,
  ],
  validate: (o, old) => validateBackupJob(o as unknown as BackupJob, old as unknown as BackupJob | undefined),
};

export const BackupArtifact = Obj('The stored artifact.', {
  uri: Type.String({
    description: 'Where the manifest is, e.g. s3://bucket/prefix/ns/app/backups/name.json.',
  }),
  sizeBytes: opt(
    Type.Integer({ description: 'Bytes this backup sent (an incremental one sends only changes).' }),
  ),
  checksum: opt(Type.String({ description: 'sha256:<hex> of the manifest.' })),
});

export const Backup = Obj('A Backup.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What was backed up.', {
    applicationRef: TypedLocalObjectReference('The application backed up.'),
    planRef: opt(LocalObjectReference('The Plan that made it, if any.')),
    strategyRef: TypedLocalObjectReference('The strategy used (and so the target holding the artifact).'),
    takenAt: Type.String({ format: 'date-time' }),
    driverMetadata: opt(StringMap('Opaque to the core: the repository key, boundary layers, sizes.')),
  }),
  status: opt(
    Obj('The artifact.', {
      phase: opt(StringEnum(BACKUP_PHASES, 'Pending, Ready or Failed.')),
      artifact: opt(BackupArtifact),
      underlyingResources: opt(Preserve('The application objects backed up (the spec restored).')),
      conditions: opt(Conditions),
    }),
  ),
});
export type Backup = Static<typeof Backup>;

export const backupKind: KindDefinition = {
  group: BACKUPS_GROUP,
  version: BACKUPS_VERSION,
  kind: 'Backup',
  plural: 'backups',
  singular: 'backup',
  namespaced: true,
  description: 'Backup is a stored backup artifact of an application; deleting it deletes the artifact.',
  schema: Backup,
  statusSubresource: true,
  printerColumns: [
    phaseColumn,
    { name: 'Application', type: 'string', jsonPath: '.spec.applicationRef.name' },
    { name: 'Size', type: 'integer', jsonPath: '.status.artifact.sizeBytes' },
    { name: 'Taken', type: 'date', jsonPath: '.spec.takenAt' },
    { name: 'URI', type: 'string', jsonPath: '.status.artifact.uri', priority: 1 },
    ageColumn,
  ],
  validate: (o, old) => {
    const b = o as unknown as Backup;
    const c = new Causes();
    checkApplicationRef(c, 'spec.applicationRef', b.spec.applicationRef);
    if (old !== undefined && JSON.stringify((old as unknown as Backup).spec) !== JSON.stringify(b.spec))
      c.invalid('spec', '…', 'a Backup is immutable');
    return c.errors;
  },
};

export const RestoreJob = Obj('A RestoreJob.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('The restore to run.', {
    backupRef: LocalObjectReference('The Backup to restore.'),
    targetApplicationRef: opt(
      TypedLocalObjectReference('Restore into this application (created; must not exist); absent: in place.'),
    ),
    options: opt(
      Preserve('Driver options (none read yet; see the backups.hikube.io/stop-running-vm annotation).'),
    ),
  }),
  status: opt(JobStatus('restore')),
});
export type RestoreJob = Static<typeof RestoreJob>;

export function validateRestoreJob(o: RestoreJob, old: RestoreJob | undefined): Causes['errors'] {
  const c = new Causes();
  if (o.spec.backupRef.name === '') c.required('spec.backupRef.name', 'the Backup to restore');
  const target = o.spec.targetApplicationRef;
  if (target !== undefined) {
    checkApplicationRef(c, 'spec.targetApplicationRef', target);
    checkNewApplicationName(c, 'spec.targetApplicationRef.name', target);
  }
  const stop = o.metadata.annotations?.[STOP_VM_ANNOTATION];
  if (stop !== undefined && stop !== 'true' && stop !== 'false')
    c.invalid(`metadata.annotations[${STOP_VM_ANNOTATION}]`, stop, 'must be "true" or "false"');
  if (old !== undefined && JSON.stringify(old.spec) !== JSON.stringify(o.spec))
    c.invalid('spec', '…', 'a RestoreJob cannot be changed once created');
  return c.errors;
}

/**
 * The application a restore creates is named by the user: its name (and the `vm-instance-<name>`
 * VM a VMInstance makes) must be a 63-character RFC 1123 label, as the labels and host names made
 * from it are, so a bad one is refused here rather than failing the restore half-way.
 */
function checkNewApplicationName(c: Causes, path: string, ref: { kind: string; name: string }): void {
  if (ref.name === '') return;
  const max = ref.kind === 'VMInstance' ? 63 - 'vm-instance-'.length : 63;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ref.name))
    c.invalid(
      path,
      ref.name,
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    );
  else if (ref.name.length > max) c.invalid(path, ref.name, `must be no more than ${max} characters`);
}

export const restoreJobKind: KindDefinition = {
  group: BACKUPS_GROUP,
  version: BACKUPS_VERSION,
  kind: 'RestoreJob',
  plural: 'restorejobs',
  singular: 'restorejob',
  namespaced: true,
  description:
    'RestoreJob restores a Backup in place (the VM stopped, its disks replaced, its spec put back) or into a new application.',
  schema: RestoreJob,
  statusSubresource: true,
  printerColumns: [
    phaseColumn,
    { name: 'Backup', type: 'string', jsonPath: '.spec.backupRef.name' },
    { name: 'Target', type: 'string', jsonPath: '.spec.targetApplicationRef.name' },
    { name: 'Message', type: 'string', jsonPath: '.status.message' },
    ageColumn,
  ],
  validate: (o, old) =>
    validateRestoreJob(o as unknown as RestoreJob, old as unknown as RestoreJob | undefined),
};
