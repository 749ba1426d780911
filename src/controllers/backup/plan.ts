/**
 * A Plan's schedule: at each time its cron expression names (UTC) it creates one BackupJob
 * (`<plan>-<unix minutes>`, so a retried run finds its job instead of making two), labelled with the
 * plan; runs missed while the platform was down are made up by one job. Then it applies the
 * plan's retention annotations to the Ready Backups the plan made: beyond the newest `keep`, and
 * older than `max-age`, they are deleted (their finalizer deletes the artifact), and keeps its
 * finished BackupJobs to the history limits (newest Succeeded and Failed ones; a job's Backup is
 * not touched: it lives by retention). Returns when to look again.
 */
import { PLAN_LABEL } from '../../api/backups/common.js';
import { backupJobKind, backupKind, type Backup, type BackupJob } from '../../api/backups/jobs.js';
import { jobHistoryOf, planKind, retentionOf, type Plan } from '../../api/backups/plan.js';
import { lastFiringBetween, parseCron } from '../../api/hikube/cron.js';
import { ApiError } from '../../apiserver/errors.js';
import { setCondition, stamp, type BackupContext } from './context.js';

export const planJobName = (plan: string, at: Date): string => `${plan}-${Math.floor(at.getTime() / 60_000)}`;

export async function syncPlan(ctx: BackupContext, plan: Plan): Promise<Date | undefined> {
  const ns = plan.metadata.namespace ?? '';
  const name = plan.metadata.name ?? '';
  const now = ctx.now();
  const cron = parseCron(plan.spec.schedule.cron ?? '');
  const status = structuredClone(plan.status ?? {});
  const since = new Date(
    Date.parse(status.lastScheduleTime ?? plan.metadata.creationTimestamp ?? stamp(now)),
  );
  const due = lastFiringBetween(cron, since, now);
  if (due !== undefined) {
    const job: BackupJob = {
      apiVersion: `${backupJobKind.group}/${backupJobKind.version}`,
      kind: 'BackupJob',
      metadata: { name: planJobName(name, due), namespace: ns, labels: { [PLAN_LABEL]: name } },
      spec: {
        planRef: { name },
        applicationRef: plan.spec.applicationRef,
        backupClassName: plan.spec.backupClassName,
      },
    };
    try {
      await ctx.api.create(backupJobKind, job);
      ctx.events.record(
        plan,
        'Normal',
        'BackupJobCreated',
        `created BackupJob ${job.metadata.name ?? ''} for ${stamp(due)}`,
      );
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
    }
    status.lastScheduleTime = stamp(due);
  }
  await prune(ctx, plan, now);
  await pruneJobs(ctx, plan);
  const next = cron.next(now);
  if (next !== undefined) status.nextScheduleTime = stamp(next);
  else delete status.nextScheduleTime;
  status.conditions = setCondition(status.conditions, now, {
    type: 'Ready',
    status: 'True',
    reason: 'Scheduled',
    message: next === undefined ? 'the schedule never fires again' : `next backup at ${stamp(next)}`,
  });
  await ctx.api.mutate<Plan>(
    planKind,
    ns,
    name,
    (current) => {
      if (current.metadata.uid !== plan.metadata.uid) return false;
      if (JSON.stringify(current.status ?? {}) === JSON.stringify(status)) return false;
      current.status = status;
      return true;
    },
    true,
  );
  return next;
}

/** The plan's Ready Backups that retention deletes: beyond the newest `keep`, or older than max-age. */
export function toPrune(backups: readonly Backup[], plan: Pick<Plan, 'metadata'>, now: Date): Backup[] {
  const r = retentionOf(plan);
  const ready = backups
    .filter((b) => b.status?.phase === 'Ready' && b.metadata.deletionTimestamp === undefined)
    .sort((a, b) => Date.parse(b.spec.takenAt) - Date.parse(a.spec.takenAt));
  return ready.filter(
    (b, i) =>
      (r.keep !== undefined && i >= r.keep) ||
      (r.maxAgeMs !== undefined && now.getTime() - Date.parse(b.spec.takenAt) > r.maxAgeMs),
  );
}

async function prune(ctx: BackupContext, plan: Plan, now: Date): Promise<void> {
  const ns = plan.metadata.namespace ?? '';
  const mine = ctx.api
    .list<Backup>(backupKind, ns)
    .filter((b) => b.metadata.labels?.[PLAN_LABEL] === plan.metadata.name);
  for (const b of toPrune(mine, plan, now)) {
    await ctx.api.delete(backupKind, ns, b.metadata.name ?? '');
    ctx.events.record(plan, 'Normal', 'BackupPruned', `deleted Backup ${b.metadata.name ?? ''} (retention)`);
  }
}

/** The plan's finished BackupJobs beyond its history limits, newest kept (by completion time). */
export function jobsToPrune(jobs: readonly BackupJob[], plan: Pick<Plan, 'metadata'>): BackupJob[] {
  const limits = jobHistoryOf(plan);
  const finishedAt = (j: BackupJob): number =>
    Date.parse(j.status?.completedAt ?? j.metadata.creationTimestamp ?? '') || 0;
  const beyond = (phase: 'Succeeded' | 'Failed', keep: number): BackupJob[] =>
    jobs
      .filter((j) => j.status?.phase === phase && j.metadata.deletionTimestamp === undefined)
      .sort((a, b) => finishedAt(b) - finishedAt(a))
      .slice(keep);
  return [...beyond('Succeeded', limits.succeeded), ...beyond('Failed', limits.failed)];
}

async function pruneJobs(ctx: BackupContext, plan: Plan): Promise<void> {
  const ns = plan.metadata.namespace ?? '';
  const mine = ctx.api
    .list<BackupJob>(backupJobKind, ns)
    .filter(
      (j) =>
        j.metadata.labels?.[PLAN_LABEL] === plan.metadata.name && j.spec.planRef?.name === plan.metadata.name,
    );
  for (const j of jobsToPrune(mine, plan)) {
    try {
      await ctx.api.delete(backupJobKind, ns, j.metadata.name ?? '');
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
}
