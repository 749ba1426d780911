/**
 * What the backups kinds share: Cozystack's group (`backups.cozystack.io/v1alpha1`, whose kinds
 * and field names we serve as its api/backups/v1alpha1 declares them), our strategy group
 * (`backups.hikube.io/v1alpha1`), the applications a backup may name, and the Hikube extensions
 * that Cozystack's kinds have no field for. Extensions are annotations prefixed `backups.hikube.io/`,
 * so a Cozystack client reads and writes the objects unchanged.
 */
import type { FieldError } from '../kind.js';
import { Obj, StringEnum, Type, opt, type Static } from '../schema.js';
import { Conditions } from '../kubevirt/status.js';

export const BACKUPS_GROUP = 'backups.cozystack.io';
export const BACKUPS_VERSION = 'v1alpha1';
export const STRATEGY_GROUP = 'backups.hikube.io';
export const STRATEGY_VERSION = 'v1alpha1';

/** Cozystack's default group of an applicationRef without apiGroup. */
export const DEFAULT_APPLICATION_GROUP = 'apps.cozystack.io';

/** The applications backed up here: a Hikube VMInstance and a KubeVirt VirtualMachine. */
export const APPLICATIONS: readonly { group: string; kind: string }[] = [
  { group: 'apps.cozystack.io', kind: 'VMInstance' },
  { group: 'kubevirt.io', kind: 'VirtualMachine' },
];

/** Plan extension: how many of the plan's Backups to keep, newest first (an integer ≥ 1). */
export const KEEP_ANNOTATION = 'backups.hikube.io/keep';
/** Plan extension: the plan's Backups older than this go (7d, 36h, 2w…). */
export const MAX_AGE_ANNOTATION = 'backups.hikube.io/max-age';
/** Plan extension, as CronJob's successfulJobsHistoryLimit: finished Succeeded BackupJobs kept (default 3). */
export const SUCCESSFUL_JOBS_ANNOTATION = 'backups.hikube.io/successful-jobs-history-limit';
/** Plan extension, as CronJob's failedJobsHistoryLimit: Failed BackupJobs kept (default 1). */
export const FAILED_JOBS_ANNOTATION = 'backups.hikube.io/failed-jobs-history-limit';
/** RestoreJob extension: "true" lets an in-place restore stop a running VM (and start it after). */
export const STOP_VM_ANNOTATION = 'backups.hikube.io/stop-running-vm';
/** Label on a BackupJob or Backup a Plan made: the plan's name (retention only touches these). */
export const PLAN_LABEL = 'backups.hikube.io/plan';
/** Finalizer on a Backup: its artifact is deleted from the target before the object goes. */
export const BACKUP_FINALIZER = 'backups.hikube.io/artifact';

export const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type JobPhase = (typeof PHASES)[number];
export const BACKUP_PHASES = ['Pending', 'Ready', 'Failed'] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

export const TypedLocalObjectReference = (description: string) =>
  Obj(description, {
    apiGroup: opt(Type.String({ description: `API group; ${DEFAULT_APPLICATION_GROUP} when absent.` })),
    kind: Type.String(),
    name: Type.String(),
  });
export type TypedLocalObjectReference = Static<ReturnType<typeof TypedLocalObjectReference>>;

export const LocalObjectReference = (description: string) => Obj(description, { name: Type.String() });

export const JobStatus = (what: string) =>
  Obj(`How the ${what} goes.`, {
    phase: opt(StringEnum(PHASES, 'Pending, Running, Succeeded or Failed.')),
    startedAt: opt(Type.String({ format: 'date-time' })),
    completedAt: opt(Type.String({ format: 'date-time' })),
    message: opt(Type.String({ description: 'Why the run is in its phase (the reason of a failure).' })),
    conditions: opt(Conditions),
  });

/** The group an applicationRef means (Cozystack's NormalizeApplicationRef). */
export const applicationGroup = (ref: { apiGroup?: string | undefined }): string =>
  ref.apiGroup === undefined || ref.apiGroup === '' ? DEFAULT_APPLICATION_GROUP : ref.apiGroup;

/** Collects field errors with Kubernetes' message shape. */
export class Causes {
  readonly errors: FieldError[] = [];
  invalid(path: string, value: unknown, message: string): void {
    this.errors.push({
      path,
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
    });
  }
  required(path: string, message: string): void {
    this.errors.push({ path, reason: 'FieldValueRequired', message: `Required value: ${message}` });
  }
  notSupported(path: string, value: unknown, supported: readonly string[]): void {
    this.errors.push({
      path,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
    });
  }
}

/** An applicationRef names a kind we back up. */
export function checkApplicationRef(c: Causes, path: string, ref: TypedLocalObjectReference): void {
  const group = applicationGroup(ref);
  if (!APPLICATIONS.some((a) => a.group === group && a.kind === ref.kind))
    c.notSupported(
      `${path}.kind`,
      `${group}/${ref.kind}`,
      APPLICATIONS.map((a) => `${a.group}/${a.kind}`),
    );
  if (ref.name === '') c.required(`${path}.name`, 'the application to back up');
}
