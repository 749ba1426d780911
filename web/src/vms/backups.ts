/**
 * Selectors of the VM detail's Backups tab: which application a VM is (the VMInstance a
 * `vm-instance-<name>` VM was made from, else the VirtualMachine itself), its Backups newest
 * first with their size and state, the jobs under way, and the BackupJob and RestoreJob the
 * tab creates (in place with the prefixed stop annotation, or into a new application).
 */
import { formatBytes } from '../../../src/api/quantity.js';
import type { Backup, BackupJob, Plan, RestoreJob, VirtualMachine } from '../api/types.js';
import { nameOf, namespaceOf } from './selectors.js';

export const STOP_VM_ANNOTATION = 'backups.hikube.io/stop-running-vm';
const API_VERSION = 'backups.cozystack.io/v1alpha1';

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

const sameApp = (a: { apiGroup?: string; kind: string; name: string }, b: AppRef): boolean =>
  (a.apiGroup ?? 'apps.cozystack.io') === b.apiGroup && a.kind === b.kind && a.name === b.name;

export interface BackupRow {
  name: string;
  phase: string;
  sizeBytes: number | undefined;
  takenAt: string;
  uri: string | undefined;
  backup: Backup;
}

export function backupRows(backups: readonly Backup[], app: AppRef): BackupRow[] {
  return backups
    .filter((b) => sameApp(b.spec.applicationRef, app))
    .map((b) => ({
      name: nameOf(b),
      phase: b.metadata.deletionTimestamp !== undefined ? 'Deleting' : (b.status?.phase ?? 'Pending'),
      sizeBytes: b.status?.artifact?.sizeBytes,
      takenAt: b.spec.takenAt,
      uri: b.status?.artifact?.uri,
      backup: b,
    }))
    .sort((x, y) => Date.parse(y.takenAt) - Date.parse(x.takenAt));
}

/** BackupJobs of the application not finished yet, and the last failed one (its reason shown). */
export function jobsOf(
  jobs: readonly BackupJob[],
  app: AppRef,
): { running: BackupJob[]; lastFailed?: BackupJob } {
  const mine = jobs.filter((j) => sameApp(j.spec.applicationRef, app));
  const running = mine.filter((j) => j.status?.phase !== 'Succeeded' && j.status?.phase !== 'Failed');
  const failed = mine
    .filter((j) => j.status?.phase === 'Failed')
    .sort((a, b) => Date.parse(b.status?.completedAt ?? '') - Date.parse(a.status?.completedAt ?? ''));
  return { running, ...(failed[0] !== undefined ? { lastFailed: failed[0] } : {}) };
}

export const whyNoRestore = (r: BackupRow): string | undefined =>
  r.phase === 'Ready' ? undefined : `The backup is ${r.phase}`;

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
  row: BackupRow,
  name: string,
  target: string | undefined,
  stop: boolean,
): RestoreJob {
  const source = row.backup.spec.applicationRef;
  return {
    apiVersion: API_VERSION,
    kind: 'RestoreJob',
    metadata: {
      name,
      namespace: namespaceOf(row.backup),
      ...(stop ? { annotations: { [STOP_VM_ANNOTATION]: 'true' } } : {}),
    },
    spec: {
      backupRef: { name: row.name },
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

/** The bytes a backup sent, as the console writes sizes; empty while unknown. */
export function sentText(n: number | undefined): string {
  if (n === undefined) return '';
  const text = formatBytes(n);
  return /^\d+$/.test(text) ? `${text} B` : text;
}

export const KEEP_ANNOTATION = 'backups.hikube.io/keep';
export const MAX_AGE_ANNOTATION = 'backups.hikube.io/max-age';

/** The Backup plans page's create form, as typed. */
export interface PlanForm {
  name: string;
  namespace: string;
  kind: string;
  application: string;
  cron: string;
  backupClassName: string;
  keep: string;
  maxAge: string;
}

/** The Plan the form makes; retention as Hikube's prefixed annotations (the server checks them). */
export function buildPlan(f: PlanForm): Plan {
  const keep = f.keep.trim();
  const maxAge = f.maxAge.trim();
  const annotations = {
    ...(keep !== '' ? { [KEEP_ANNOTATION]: keep } : {}),
    ...(maxAge !== '' ? { [MAX_AGE_ANNOTATION]: maxAge } : {}),
  };
  return {
    apiVersion: API_VERSION,
    kind: 'Plan',
    metadata: {
      name: f.name.trim(),
      namespace: f.namespace.trim(),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      applicationRef: {
        apiGroup: f.kind === 'VirtualMachine' ? 'kubevirt.io' : 'apps.cozystack.io',
        kind: f.kind,
        name: f.application.trim(),
      },
      backupClassName: f.backupClassName.trim(),
      schedule: { type: 'cron', cron: f.cron.trim() },
    },
  };
}

export function planRetention(p: Plan): string {
  const a = p.metadata.annotations ?? {};
  const parts = [
    ...(a[KEEP_ANNOTATION] !== undefined ? [`newest ${a[KEEP_ANNOTATION]}`] : []),
    ...(a[MAX_AGE_ANNOTATION] !== undefined ? [`≤ ${a[MAX_AGE_ANNOTATION]} old`] : []),
  ];
  return parts.length === 0 ? 'all' : parts.join(', ');
}
