/**
 * Selectors of the VM detail's Backups tab: which application a VM is (the VMInstance a
 * `vm-instance-<name>` VM was made from, else the VirtualMachine itself); its Backups and the runs
 * that have not made one (under way, or failed with the reason) newest first; its restores with
 * their progress; the BackupClasses it may use (the picker's choice, or why there is none); and the
 * BackupJob and RestoreJob the tab creates (in place with the prefixed stop annotation, or into a
 * new application whose name is checked before it is sent).
 */
import { formatBytes } from '../../../src/api/quantity.js';
import type {
  Backup,
  BackupClass,
  BackupJob,
  RestoreJob,
  StatusCause,
  VirtualMachine,
} from '../api/types.js';
import { nameOf, namespaceOf } from './selectors.js';

/** The RestoreJob extension that lets an in-place restore stop a running VM (src/api/backups). */
export const STOP_VM_ANNOTATION = 'backups.hikube.io/stop-running-vm';
export const API_VERSION = 'backups.cozystack.io/v1alpha1';
/** The class `hikube up` makes (a local directory of the node): preselected when it fits. */
export const DEFAULT_CLASS = 'default';

export interface AppRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export function applicationOf(vm: VirtualMachine): AppRef {
  const owner = (vm.metadata.ownerReferences ?? []).find(
    (o) => o.kind === 'VMInstance' && o.apiVersion.startsWith('apps.cozystack.io/'),
  );
  return owner !== undefined
    ? { apiGroup: 'apps.cozystack.io', kind: 'VMInstance', name: owner.name }
    : { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: nameOf(vm) };
}

const groupOf = (a: { apiGroup?: string | undefined }): string =>
  a.apiGroup === undefined || a.apiGroup === '' ? 'apps.cozystack.io' : a.apiGroup;
const sameKind = (a: { apiGroup?: string | undefined; kind: string }, b: Omit<AppRef, 'name'>): boolean =>
  groupOf(a) === b.apiGroup && a.kind === b.kind;
const sameApp = (a: { apiGroup?: string; kind: string; name: string }, b: AppRef): boolean =>
  sameKind(a, b) && a.name === b.name;

/** A Backup, or a run that made none yet (its job: under way, or failed). */
export interface BackupRow {
  name: string;
  phase: string;
  /** What the run is doing, or why it or the backup failed. */
  detail: string;
  sizeBytes: number | undefined;
  takenAt: string | undefined;
  backup: Backup | undefined;
  job: BackupJob | undefined;
}

export function backupRows(backups: readonly Backup[], jobs: readonly BackupJob[], app: AppRef): BackupRow[] {
  const made: BackupRow[] = backups
    .filter((b) => sameApp(b.spec.applicationRef, app))
    .map((b) => ({
      name: nameOf(b),
      phase: b.metadata.deletionTimestamp !== undefined ? 'Deleting' : (b.status?.phase ?? 'Pending'),
      detail:
        b.status?.phase === 'Failed'
          ? (b.status.conditions?.find((c) => c.message !== undefined && c.message !== '')?.message ?? '')
          : '',
      sizeBytes: b.status?.artifact?.sizeBytes,
      takenAt: b.spec.takenAt,
      backup: b,
      job: undefined,
    }));
  const names = new Set(made.map((r) => r.name));
  const runs: BackupRow[] = jobs
    .filter((j) => sameApp(j.spec.applicationRef, app) && j.status?.phase !== 'Succeeded')
    .filter((j) => !names.has(nameOf(j)))
    .map((j) => ({
      name: nameOf(j),
      phase: j.metadata.deletionTimestamp !== undefined ? 'Deleting' : (j.status?.phase ?? 'Pending'),
      detail: j.status?.message ?? (j.status?.phase === undefined ? 'waiting to start' : ''),
      sizeBytes: undefined,
      takenAt: j.status?.startedAt ?? j.metadata.creationTimestamp ?? undefined,
      backup: undefined,
      job: j,
    }));
  return [...made, ...runs].sort((x, y) => Date.parse(y.takenAt ?? '') - Date.parse(x.takenAt ?? ''));
}

export function whyNoRestore(r: BackupRow): string | undefined {
  if (r.backup === undefined)
    return r.phase === 'Failed'
      ? 'The backup run failed: it made no backup'
      : 'The backup is still being taken';
  return r.phase === 'Ready' ? undefined : `The backup is ${r.phase}`;
}

export const whyNoDelete = (r: BackupRow): string | undefined =>
  r.phase === 'Deleting'
    ? 'It is being deleted'
    : r.backup === undefined && r.phase !== 'Failed'
      ? 'The run is under way'
      : undefined;

/** The bytes a backup sent, as the console writes sizes; empty while unknown. */
export function sentText(n: number | undefined): string {
  if (n === undefined) return '';
  const text = formatBytes(n);
  return /^\d+$/.test(text) ? `${text} B` : text;
}

/** What the class picker offers for one application kind. */
export interface ClassChoice {
  /** Every class, with why it cannot back this kind up (no strategy for it). */
  options: { name: string; why: string | undefined }[];
  /** `default` when it fits, else the first that does. */
  preselected: string | undefined;
  /** Why nothing can be picked (the list is forbidden, not loaded, empty, or none fits). */
  why: string | undefined;
}

export function classChoice(
  list: { items: readonly BackupClass[]; loaded: boolean; error: Error | undefined },
  app: Omit<AppRef, 'name'>,
): ClassChoice {
  const options = list.items
    .map((c) => ({
      name: nameOf(c),
      why: c.spec.strategies.some((s) => sameKind(s.application, app))
        ? undefined
        : `No strategy for ${app.kind}`,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const fitting = options.filter((o) => o.why === undefined).map((o) => o.name);
  const preselected = fitting.includes(DEFAULT_CLASS) ? DEFAULT_CLASS : fitting[0];
  const status = (list.error as { code?: unknown } | undefined)?.code;
  const why =
    list.error !== undefined && options.length === 0
      ? status === 403
        ? `You may not list BackupClasses: ${list.error.message}`
        : `Cannot list BackupClasses: ${list.error.message}`
      : !list.loaded
        ? 'Loading backup classes…'
        : options.length === 0
          ? 'No BackupClass exists: an administrator must create one'
          : preselected === undefined
            ? `No BackupClass backs up a ${app.kind}`
            : undefined;
  return { options, preselected, why };
}

/** The class to use: the one picked if it still fits, else the preselected one. */
export const pickedClass = (choice: ClassChoice, picked: string | undefined): string | undefined =>
  choice.options.some((o) => o.name === picked && o.why === undefined) ? picked : choice.preselected;

export function buildBackupJob(vm: VirtualMachine, name: string, backupClassName: string): BackupJob {
  return {
    apiVersion: API_VERSION,
    kind: 'BackupJob',
    metadata: { name, namespace: namespaceOf(vm) },
    spec: { applicationRef: applicationOf(vm), backupClassName },
  };
}

/** In place when `target` is undefined; `stop` lets it stop the running VM. */
export function buildRestoreJob(
  backup: Backup,
  name: string,
  target: string | undefined,
  stop: boolean,
): RestoreJob {
  const source = backup.spec.applicationRef;
  return {
    apiVersion: API_VERSION,
    kind: 'RestoreJob',
    metadata: {
      name,
      namespace: namespaceOf(backup),
      ...(stop ? { annotations: { [STOP_VM_ANNOTATION]: 'true' } } : {}),
    },
    spec: {
      backupRef: { name: nameOf(backup) },
      ...(target !== undefined
        ? {
            targetApplicationRef: {
              ...(source.apiGroup !== undefined ? { apiGroup: source.apiGroup } : {}),
              kind: source.kind,
              name: target,
            },
          }
        : {}),
    },
  };
}

const TARGET_FIELD = 'spec.targetApplicationRef.name';
/** A VMInstance's VM is `vm-instance-<name>`, which must stay a 63-character label. */
const maxName = (kind: string): number => (kind === 'VMInstance' ? 63 - 'vm-instance-'.length : 63);

/** Why the new application's name cannot be used, as Status causes on its field; [] when it can. */
export function restoreTargetCauses(
  name: string,
  kind: string,
  existing: ReadonlySet<string>,
): StatusCause[] {
  const invalid = (message: string): StatusCause[] => [
    {
      reason: 'FieldValueInvalid',
      field: TARGET_FIELD,
      message: `Invalid value: ${JSON.stringify(name)}: ${message}`,
    },
  ];
  if (name === '')
    return [{ reason: 'FieldValueRequired', field: TARGET_FIELD, message: 'Required value: the new name' }];
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
    return invalid(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    );
  if (name.length > maxName(kind)) return invalid(`must be no more than ${maxName(kind)} characters`);
  if (existing.has(name)) return invalid(`a ${kind} of this name exists: restore into a new name`);
  return [];
}

export interface RestoreRow {
  name: string;
  backup: string;
  target: string;
  /** The phase, then what it is doing or why it failed. */
  state: string;
  /** How far the disks are restored, while it runs and says so. */
  percent: number | undefined;
  time: string | undefined;
}

/** The restores of the application's backups, newest first. */
export function restoreRows(
  restores: readonly RestoreJob[],
  backupNames: ReadonlySet<string>,
  app: AppRef,
): RestoreRow[] {
  return restores
    .filter((r) => backupNames.has(r.spec.backupRef.name))
    .map((r) => {
      const phase = r.status?.phase ?? 'Pending';
      const message = r.status?.message ?? '';
      const pct = phase === 'Running' ? /(\d{1,3})%/.exec(message)?.[1] : undefined;
      return {
        name: nameOf(r),
        backup: r.spec.backupRef.name,
        target: r.spec.targetApplicationRef?.name ?? app.name,
        state: message === '' ? phase : `${phase}: ${message}`,
        percent: pct === undefined ? undefined : Math.min(100, Number(pct)),
        time: r.status?.startedAt ?? r.metadata.creationTimestamp ?? undefined,
      };
    })
    .sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''));
}
