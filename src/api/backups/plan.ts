/**
 * Cozystack's BackupClass (cluster-scoped: which strategy backs up which application kind) and
 * Plan (an application, a class and a cron schedule in UTC). Cozystack's Plan has no retention;
 * ours reads two prefixed annotations, `backups.hikube.io/keep` (newest N of the plan's Backups)
 * and `backups.hikube.io/max-age` (older ones go), and, as CronJob's history limits, how many of
 * its finished BackupJobs stay (`backups.hikube.io/successful-jobs-history-limit`, default 3;
 * `backups.hikube.io/failed-jobs-history-limit`, default 1); checked here so a bad value is refused.
 */
import type { KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Conditions } from '../kubevirt/status.js';
import { Obj, StringEnum, StringMap, Type, opt, type Static } from '../schema.js';
import { CronError, parseCron } from '../hikube/cron.js';
import { parseDuration } from '../duration.js';
import {
  BACKUPS_GROUP,
  BACKUPS_VERSION,
  Causes,
  FAILED_JOBS_ANNOTATION,
  KEEP_ANNOTATION,
  MAX_AGE_ANNOTATION,
  SUCCESSFUL_JOBS_ANNOTATION,
  TypedLocalObjectReference,
  checkApplicationRef,
} from './common.js';

export const BackupClassStrategy = Obj('The strategy used for one application kind.', {
  strategyRef: TypedLocalObjectReference(
    'The driver strategy object, e.g. a backups.hikube.io BackupStrategy.',
  ),
  application: Obj('Which applications the strategy applies to.', {
    apiGroup: opt(Type.String({ description: 'API group; apps.cozystack.io when absent.' })),
    kind: Type.String({ description: 'Kind, e.g. VMInstance or VirtualMachine.' }),
  }),
  parameters: opt(StringMap('Strategy parameters; never credentials (tenants read Backups).')),
});

export const BackupClass = Obj('A BackupClass.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('The strategies of the class.', { strategies: Type.Array(BackupClassStrategy) }),
  status: opt(Obj('What the class is.', { conditions: opt(Conditions) })),
});
export type BackupClass = Static<typeof BackupClass>;

function validateBackupClass(o: BackupClass): Causes['errors'] {
  const c = new Causes();
  if (o.spec.strategies.length === 0) c.required('spec.strategies', 'at least one strategy');
  o.spec.strategies.forEach((s, i) => {
    if (s.strategyRef.name === '')
      c.required(`spec.strategies[${i}].strategyRef.name`, 'the strategy object');
    if (s.application.kind === '')
      c.required(`spec.strategies[${i}].application.kind`, 'the application kind');
  });
  return c.errors;
}

export const backupClassKind: KindDefinition = {
  group: BACKUPS_GROUP,
  version: BACKUPS_VERSION,
  kind: 'BackupClass',
  plural: 'backupclasses',
  singular: 'backupclass',
  namespaced: false,
  description:
    'BackupClass says which backup strategy (and so which storage target) serves each application kind.',
  schema: BackupClass,
  statusSubresource: true,
  printerColumns: [
    { name: 'Strategies', type: 'string', jsonPath: '.spec.strategies[*].strategyRef.name' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validateBackupClass(o as unknown as BackupClass),
};

export const Plan = Obj('A backup Plan.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What to back up, how and when.', {
    applicationRef: TypedLocalObjectReference(
      'The application to back up (VMInstance or kubevirt.io VirtualMachine).',
    ),
    backupClassName: Type.String({ description: 'The BackupClass that gives the strategy and target.' }),
    schedule: Obj('When backups are taken.', {
      type: opt(StringEnum(['cron'] as const, 'Only cron; the default.')),
      cron: opt(Type.String({ description: 'Five-field cron expression in UTC, or @daily, @hourly…' })),
    }),
  }),
  status: opt(
    Obj('What the plan did.', {
      lastScheduleTime: opt(
        Type.String({ format: 'date-time', description: 'Scheduled time of the last run.' }),
      ),
      nextScheduleTime: opt(Type.String({ format: 'date-time', description: 'When the next run is due.' })),
      conditions: opt(Conditions),
    }),
  ),
});
export type Plan = Static<typeof Plan>;

/** The retention a Plan's annotations ask for; both absent: keep every backup. */
export interface Retention {
  keep?: number;
  maxAgeMs?: number;
}

export function retentionOf(plan: Pick<Plan, 'metadata'>, c: Causes = new Causes()): Retention {
  const a = plan.metadata.annotations ?? {};
  const r: Retention = {};
  const keep = a[KEEP_ANNOTATION];
  if (keep !== undefined) {
    if (/^\d+$/.test(keep) && Number(keep) >= 1) r.keep = Number(keep);
    else c.invalid(`metadata.annotations[${KEEP_ANNOTATION}]`, keep, 'must be an integer of at least 1');
  }
  const maxAge = a[MAX_AGE_ANNOTATION];
  if (maxAge !== undefined) {
    const ms = parseDuration(maxAge, { days: true });
    if (ms === undefined)
      c.invalid(
        `metadata.annotations[${MAX_AGE_ANNOTATION}]`,
        maxAge,
        'not a duration such as 7d, 36h or 2w',
      );
    else if (ms < 60_000)
      c.invalid(`metadata.annotations[${MAX_AGE_ANNOTATION}]`, maxAge, 'must be at least 1m');
    else r.maxAgeMs = ms;
  }
  return r;
}

/** How many of a Plan's finished BackupJobs are kept, newest first (CronJob's defaults: 3 and 1). */
export interface JobHistory {
  succeeded: number;
  failed: number;
}
export const DEFAULT_JOB_HISTORY: JobHistory = { succeeded: 3, failed: 1 };

export function jobHistoryOf(plan: Pick<Plan, 'metadata'>, c: Causes = new Causes()): JobHistory {
  const a = plan.metadata.annotations ?? {};
  const limit = (annotation: string, fallback: number): number => {
    const v = a[annotation];
    if (v === undefined) return fallback;
    if (/^\d{1,4}$/.test(v)) return Number(v);
    c.invalid(`metadata.annotations[${annotation}]`, v, 'must be an integer from 0 to 9999');
    return fallback;
  };
  return {
    succeeded: limit(SUCCESSFUL_JOBS_ANNOTATION, DEFAULT_JOB_HISTORY.succeeded),
    failed: limit(FAILED_JOBS_ANNOTATION, DEFAULT_JOB_HISTORY.failed),
  };
}

export function validatePlan(o: Plan): Causes['errors'] {
  const c = new Causes();
  checkApplicationRef(c, 'spec.applicationRef', o.spec.applicationRef);
  if (o.spec.backupClassName === '') c.required('spec.backupClassName', 'the BackupClass to use');
  const cron = o.spec.schedule.cron;
  if (cron === undefined || cron === '') c.required('spec.schedule.cron', 'a cron expression (type cron)');
  else
    try {
      parseCron(cron);
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      c.invalid('spec.schedule.cron', cron, err.message);
    }
  retentionOf(o, c);
  jobHistoryOf(o, c);
  return c.errors;
}

export const planKind: KindDefinition = {
  group: BACKUPS_GROUP,
  version: BACKUPS_VERSION,
  kind: 'Plan',
  plural: 'plans',
  singular: 'plan',
  namespaced: true,
  description:
    'Plan backs an application up on a cron schedule (UTC) with a BackupClass; Hikube extensions: retention by the backups.hikube.io/keep and backups.hikube.io/max-age annotations, finished BackupJobs kept by backups.hikube.io/successful-jobs-history-limit (default 3) and failed-jobs-history-limit (default 1).',
  schema: Plan,
  statusSubresource: true,
  printerColumns: [
    { name: 'Kind', type: 'string', jsonPath: '.spec.applicationRef.kind' },
    { name: 'Application', type: 'string', jsonPath: '.spec.applicationRef.name' },
    { name: 'Class', type: 'string', jsonPath: '.spec.backupClassName' },
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule.cron' },
    { name: 'Next', type: 'string', jsonPath: '.status.nextScheduleTime', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validatePlan(o as unknown as Plan),
  defaults: (o) => {
    (o as unknown as Plan).spec.schedule.type ??= 'cron';
  },
};
