/**
 * hikube.io/v1alpha1 SnapshotSchedule: takes a VirtualMachineSnapshot of every VM its selector
 * matches on a cron schedule and prunes the older ones by count and age. KubeVirt has no such
 * kind (Harvester and Incus users rely on one); it lives in our own group, and the snapshots it
 * makes are ordinary `snapshot.kubevirt.io` objects labelled with the schedule's name.
 * Schedules are evaluated in UTC.
 */
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Conditions } from '../kubevirt/status.js';
import { Obj, StringEnum, StringMap, Type, type Static, opt } from '../schema.js';
import { labelSelectorFromObject, SelectorError } from '../selectors.js';
import { CronError, parseCron } from './cron.js';
import { parseDuration } from '../duration.js';

export const HIKUBE_GROUP = 'hikube.io';
export const HIKUBE_VERSION = 'v1alpha1';
/** Label on every snapshot a schedule made: its name. Retention only ever touches these. */
export const SCHEDULE_LABEL = 'hikube.io/snapshot-schedule';
/** Annotation on those snapshots: the scheduled time of the run that made it (RFC 3339, UTC). */
export const SCHEDULED_TIME_ANNOTATION = 'hikube.io/scheduled-time';

/** Condition types of a SnapshotSchedule; reasons are shared with its Events. */
export const ScheduleCondition = { Ready: 'Ready', Progressing: 'Progressing', Failure: 'Failure' } as const;
export const ScheduleReason = {
  Scheduled: 'Scheduled',
  Suspended: 'Suspended',
  SnapshotsUnavailable: 'SnapshotsUnavailable',
  SnapshotsInProgress: 'SnapshotsInProgress',
  SnapshotsSucceeded: 'SnapshotsSucceeded',
  SnapshotsCreated: 'SnapshotsCreated',
  SnapshotCreateFailed: 'SnapshotCreateFailed',
  SnapshotFailed: 'SnapshotFailed',
  SnapshotPruned: 'SnapshotPruned',
  MissedSchedule: 'MissedSchedule',
  NoVirtualMachines: 'NoVirtualMachines',
} as const;

const SELECTOR_OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const LabelSelectorRequirement = Obj('A label requirement.', {
  key: Type.String(),
  operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
  values: opt(Type.Array(Type.String())),
});

export const SnapshotScheduleSpec = Obj('When to snapshot which VMs, and how many snapshots to keep.', {
  schedule: Type.String({
    description:
      'Cron expression in UTC: five fields (minute hour day-of-month month day-of-week) with *, lists, ranges and steps, or @hourly, @daily, @weekly, @monthly, @yearly.',
  }),
  selector: Obj('VirtualMachines of this namespace to snapshot; {} selects all of them.', {
    matchLabels: opt(StringMap()),
    matchExpressions: opt(Type.Array(LabelSelectorRequirement)),
  }),
  retention: opt(
    Obj('Which of its snapshots the schedule keeps; without it, all of them.', {
      count: opt(Type.Integer({ description: 'Snapshots kept per VM, newest first (at least 1).' })),
      maxAge: opt(Type.String({ description: 'Snapshots older than this go, e.g. 7d, 36h, 1d12h, 2w.' })),
    }),
  ),
  suspend: opt(Type.Boolean({ description: 'No runs while true; missed runs are not made up on resume.' })),
  snapshotTemplate: opt(
    Obj('What each VirtualMachineSnapshot gets.', {
      labels: opt(StringMap()),
      annotations: opt(StringMap()),
      failureDeadline: opt(
        Type.String({ description: "The snapshot's spec.failureDeadline, e.g. 5m (Go duration)." }),
      ),
    }),
  ),
});
export type SnapshotScheduleSpec = Static<typeof SnapshotScheduleSpec>;

export const SnapshotScheduleStatus = Obj('What the schedule did and will do.', {
  observedGeneration: opt(Type.Integer()),
  lastScheduleTime: opt(Type.String({ format: 'date-time', description: 'Scheduled time of the last run.' })),
  lastSuccessfulTime: opt(
    Type.String({
      format: 'date-time',
      description: 'Scheduled time of the last run whose snapshots all succeeded.',
    }),
  ),
  nextScheduleTime: opt(Type.String({ format: 'date-time', description: 'When the next run is due.' })),
  snapshots: opt(Type.Integer({ description: 'Snapshots of this schedule that exist now.' })),
  failures: opt(Type.Integer({ description: 'Consecutive runs that did not fully succeed.' })),
  lastError: opt(Type.String({ description: 'The last failure, e.g. a refused or failed snapshot.' })),
  conditions: opt(Conditions),
});
export type SnapshotScheduleStatus = Static<typeof SnapshotScheduleStatus>;

export const SnapshotSchedule = Obj('A snapshot schedule.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: SnapshotScheduleSpec,
  status: opt(SnapshotScheduleStatus),
});
export type SnapshotSchedule = Static<typeof SnapshotSchedule>;

export function validateSnapshotSchedule(s: SnapshotSchedule): FieldError[] {
  const errors: FieldError[] = [];
  const invalid = (path: string, value: unknown, message: string): void => {
    errors.push({
      path,
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
    });
  };
  const name = s.metadata.name ?? '';
  // The name is the value of the label on its snapshots.
  if (name.length > 63)
    invalid('metadata.name', name, 'must be no more than 63 characters (it labels the snapshots)');
  try {
    parseCron(s.spec.schedule);
  } catch (err) {
    if (!(err instanceof CronError)) throw err;
    invalid('spec.schedule', s.spec.schedule, err.message);
  }
  // A bad operator is the schema's cause (spec.selector.matchExpressions[i].operator) already.
  const operators = (s.spec.selector.matchExpressions ?? []).map((e) => e.operator);
  try {
    if (operators.every((o) => SELECTOR_OPERATORS.includes(o))) labelSelectorFromObject(s.spec.selector);
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    invalid('spec.selector', s.spec.selector, err.message);
  }
  const count = s.spec.retention?.count;
  if (count !== undefined && count < 1)
    invalid('spec.retention.count', count, 'must be greater than or equal to 1');
  const maxAge = s.spec.retention?.maxAge;
  if (maxAge !== undefined) {
    const ms = parseDuration(maxAge, { days: true });
    if (ms === undefined)
      invalid('spec.retention.maxAge', maxAge, 'not a duration such as 7d, 36h, 1d12h or 2w');
    else if (ms < 60_000) invalid('spec.retention.maxAge', maxAge, 'must be at least 1m');
  }
  const deadline = s.spec.snapshotTemplate?.failureDeadline;
  if (deadline !== undefined && parseDuration(deadline) === undefined)
    invalid('spec.snapshotTemplate.failureDeadline', deadline, 'not a duration such as 5m or 1h30m');
  return errors;
}

export const snapshotScheduleKind: KindDefinition = {
  group: HIKUBE_GROUP,
  version: HIKUBE_VERSION,
  kind: 'SnapshotSchedule',
  plural: 'snapshotschedules',
  singular: 'snapshotschedule',
  shortNames: ['snapsched'],
  namespaced: true,
  description:
    'SnapshotSchedule takes a VirtualMachineSnapshot of the VMs its selector matches on a cron schedule (UTC) and keeps the newest by count and age.',
  schema: SnapshotSchedule,
  statusSubresource: true,
  printerColumns: [
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
    { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend' },
    { name: 'Snapshots', type: 'integer', jsonPath: '.status.snapshots' },
    { name: 'Last Schedule', type: 'date', jsonPath: '.status.lastScheduleTime' },
    { name: 'Next Schedule', type: 'string', jsonPath: '.status.nextScheduleTime' },
    { name: 'Keep', type: 'integer', jsonPath: '.spec.retention.count', priority: 1 },
    { name: 'Max Age', type: 'string', jsonPath: '.spec.retention.maxAge', priority: 1 },
    { name: 'Failures', type: 'integer', jsonPath: '.status.failures', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  validate: (o) => validateSnapshotSchedule(o as unknown as SnapshotSchedule),
  defaults: (o) => {
    const s = o as unknown as SnapshotSchedule;
    s.spec.suspend ??= false;
  },
};
