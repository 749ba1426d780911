/**
 * The backup controller: Cozystack's Plan, BackupJob, Backup and RestoreJob in one work queue, on
 * the controller runtime. Reconciles are short: a BackupJob or RestoreJob that is due starts a
 * run in the background (job.ts, restore.ts) and the run reports in the job's status. A job found
 * Running with nobody working on it was under way when the platform stopped (kill -9, power cut):
 * a BackupJob is resumed, up to MAX_RESUMES times (the repository sends only the chunks the target
 * does not hold yet), a RestoreJob is failed with that reason. Runs of one application go one at
 * a time; deleting a job aborts its run; stopping the platform leaves its runs to resume.
 */
import { backupClassKind } from '../../api/backups/plan.js';
import {
  backupJobKind,
  backupKind,
  restoreJobKind,
  type Backup,
  type BackupJob,
  type RestoreJob,
} from '../../api/backups/jobs.js';
import { planKind, type Plan } from '../../api/backups/plan.js';
import { backupStrategyKind } from '../../api/backups/strategy.js';
import { persistentVolumeClaimKind, secretKind } from '../../api/core/core.js';
import { vmDiskKind } from '../../api/cozystack/vmdisk.js';
import { vmInstanceKind } from '../../api/cozystack/vminstance.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { virtualMachineKind } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../api/kubevirt/vmi.js';
import { dataVolumeKind } from '../../api/cdi/datavolume.js';
import { outboundPolicyFromEnv, type OutboundPolicy } from '../../network/outbound.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Timers } from '../../runtime/queue.js';
import { finalizeBackup } from './artifact.js';
import { PlatformStopping, setCondition, stamp, type BackupContext } from './context.js';
import { appKeyOf, runBackupJob, setJobStatus } from './job.js';
import type { Resolve } from './endpoint.js';
import type { BackupExecutor, Repositories } from './ports.js';
import { syncPlan } from './plan.js';
import { backupOf, runRestoreJob } from './restore.js';

export interface BackupControllerOptions {
  manager: Manager;
  events: EventRecorder;
  executor: BackupExecutor;
  repositories: Repositories;
  claimPath: (namespace: string, claim: string) => string | undefined;
  /** Where S3 endpoints may be (default: HIKUBE_ALLOW_PRIVATE_TARGETS, as imports). */
  targets?: OutboundPolicy;
  resolve?: Resolve;
  /** Directories a local BackupStrategy's path may lie under (local-path.ts). */
  localDirs: readonly string[];
  now?: () => Date;
  timers?: Timers;
  sleep?: (ms: number) => Promise<void>;
  log?: (message: string) => void;
}

const MAX_WAIT_MS = 6 * 3_600_000;
/** A BackupJob interrupted this many times fails instead (a run that crashes the platform must not loop). */
export const MAX_RESUMES = 3;
/** The condition a resumed BackupJob carries; its message starts with the count. */
export const RESUMED = 'Resumed';

/** How many times a job was resumed after a platform stop (from its Resumed condition). */
export const resumesOf = (job: BackupJob): number =>
  Number(
    /^resumed (\d+) /.exec(job.status?.conditions?.find((c) => c.type === RESUMED)?.message ?? '')?.[1] ?? 0,
  );
const keyOf = (def: KindDefinition, o: KubeObject): string =>
  `${def.kind}:${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

interface Run {
  uid: string;
  app: string;
  abort: AbortController;
  done: Promise<void>;
}

export class BackupController extends Reconciler {
  private readonly ctx: BackupContext;
  /** Runs under way, by job key. */
  private readonly runs = new Map<string, Run>();

  constructor(o: BackupControllerOptions) {
    super(o.manager, {
      name: 'backup-controller',
      backoff: { baseMs: 500, maxMs: 30_000 },
      ...(o.log !== undefined ? { log: o.log } : {}),
      ...(o.timers !== undefined ? { timers: o.timers } : {}),
    });
    const timers = o.timers;
    this.ctx = {
      api: this.controller.client,
      events: o.events,
      executor: o.executor,
      repositories: o.repositories,
      claimPath: o.claimPath,
      targets: o.targets ?? outboundPolicyFromEnv(),
      ...(o.resolve !== undefined ? { resolve: o.resolve } : {}),
      localDirs: o.localDirs,
      now: o.now ?? (() => new Date()),
      sleep: o.sleep ?? ((ms) => new Promise((r) => (timers ?? globalThis).setTimeout(r, ms))),
      log: o.log ?? (() => undefined),
    };
    const own = (def: KindDefinition) => (o: KubeObject) => [keyOf(def, o)];
    const planOf = (j: KubeObject): string[] => {
      const job = j as BackupJob;
      const plan = job.spec.planRef?.name;
      const done = job.status?.phase === 'Succeeded' || job.status?.phase === 'Failed';
      return plan === undefined || !done ? [] : [`${planKind.kind}:${job.metadata.namespace ?? ''}/${plan}`];
    };
    // A Backup that became Ready wakes the restores waiting for it.
    const restoresOf = (b: KubeObject): string[] =>
      this.ctx.api
        .list<RestoreJob>(restoreJobKind, b.metadata.namespace)
        .filter((r) => r.spec.backupRef.name === b.metadata.name)
        .map((r) => keyOf(restoreJobKind, r));
    this.controller
      .watch(planKind, own(planKind))
      // A plan's job that finished wakes the plan, which keeps its job history to the limits.
      .watch(backupJobKind, (j) => [keyOf(backupJobKind, j), ...planOf(j)])
      .watch(backupKind, (b) => [keyOf(backupKind, b), ...restoresOf(b)])
      .watch(restoreJobKind, own(restoreJobKind))
      .reads(
        backupClassKind,
        backupStrategyKind,
        secretKind,
        vmInstanceKind,
        vmDiskKind,
        virtualMachineKind,
        virtualMachineInstanceKind,
        persistentVolumeClaimKind,
        dataVolumeKind,
      );
  }

  /** Aborts the runs under way (not a cancellation: each leaves its job Running, to be resumed at
   * the next start), then stops the queue. */
  override stop(): void {
    for (const run of this.runs.values()) run.abort.abort(new PlatformStopping());
    super.stop();
  }

  /** Resolves when no run is under way (tests). */
  async settled(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs.values()].map((r) => r.done));
  }

  protected async reconcile(key: string): Promise<void> {
    const [kind = '', rest = ''] = key.split(':');
    const [ns = '', name = ''] = rest.split('/');
    const api = this.ctx.api;
    if (kind === planKind.kind) await this.schedulePlan(key, api.get<Plan>(planKind, ns, name));
    else if (kind === backupJobKind.kind)
      this.syncBackupJob(key, api.get<BackupJob>(backupJobKind, ns, name));
    else if (kind === backupKind.kind) await this.syncBackup(api.get<Backup>(backupKind, ns, name));
    else if (kind === restoreJobKind.kind)
      this.syncRestoreJob(key, api.get<RestoreJob>(restoreJobKind, ns, name));
  }

  /** Runs the plan's due jobs and comes back when the next one is due. */
  private async schedulePlan(key: string, plan: Plan | undefined): Promise<void> {
    if (plan === undefined || plan.metadata.deletionTimestamp !== undefined)
      return this.controller.queue.cancelWake(key);
    const next = await syncPlan(this.ctx, plan);
    if (next !== undefined)
      this.controller.queue.addAfter(key, Math.min(MAX_WAIT_MS, next.getTime() - this.ctx.now().getTime()));
  }

  /** A Backup being deleted: its artifact goes before its finalizer. */
  private async syncBackup(backup: Backup | undefined): Promise<void> {
    if (backup?.metadata.deletionTimestamp !== undefined) await finalizeBackup(this.ctx, backup);
  }

  private syncBackupJob(key: string, found: BackupJob | undefined): void {
    const job = this.waiting(key, found, 'backup');
    if (job === undefined) return;
    const app = appKeyOf(job.metadata.namespace ?? '', job.spec.applicationRef);
    if (this.busy(app)) {
      void setJobStatus(this.ctx, job, (s) => {
        s.phase = 'Pending';
        s.message = `waiting for another run on ${job.spec.applicationRef.kind} ${job.spec.applicationRef.name}`;
      }).catch(() => undefined);
      return;
    }
    this.launch(key, job, app, (signal) => runBackupJob(this.ctx, job, signal));
  }

  private syncRestoreJob(key: string, found: RestoreJob | undefined): void {
    const job = this.waiting(key, found, 'restore');
    if (job === undefined) return;
    const backup = backupOf(this.ctx, job);
    const wait = (message: string): void =>
      void this.setRestoreStatus(job, 'Pending', message).catch(() => undefined);
    if (backup === undefined) return wait(`waiting for Backup ${job.spec.backupRef.name} to exist`);
    if (backup.status?.phase !== 'Ready')
      return wait(`waiting for Backup ${job.spec.backupRef.name} to be Ready`);
    const app = appKeyOf(
      job.metadata.namespace ?? '',
      job.spec.targetApplicationRef ?? backup.spec.applicationRef,
    );
    if (this.busy(app)) return wait('waiting for another run on the same application');
    this.launch(key, job, app, (signal) => runRestoreJob(this.ctx, job, backup, signal));
  }

  /**
   * The job when it waits for a run here; undefined when there is none to start: it is gone,
   * deleted or made again (its run is aborted), running here, finished, or interrupted (failed now).
   */
  private waiting<J extends BackupJob | RestoreJob>(
    key: string,
    job: J | undefined,
    what: 'backup' | 'restore',
  ): J | undefined {
    const run = this.runs.get(key);
    if (
      job === undefined ||
      job.metadata.deletionTimestamp !== undefined ||
      (run && run.uid !== job.metadata.uid)
    ) {
      run?.abort.abort();
      return undefined;
    }
    if (run !== undefined) return undefined;
    const phase = job.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;
    if (phase === 'Running') {
      this.interrupted(job, what);
      return undefined;
    }
    return job;
  }

  private busy(app: string): boolean {
    return [...this.runs.values()].some((r) => r.app === app);
  }

  private launch(
    key: string,
    job: KubeObject,
    app: string,
    work: (signal: AbortSignal) => Promise<void>,
  ): void {
    const abort = new AbortController();
    const done = work(abort.signal)
      .catch((err: unknown) => this.ctx.log(`${key}: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.runs.delete(key);
        // Jobs of the same namespace waiting their turn go on.
        for (const def of [backupJobKind, restoreJobKind])
          for (const o of this.ctx.api.list(def, job.metadata.namespace))
            this.controller.queue.add(keyOf(def, o));
      });
    this.runs.set(key, { uid: job.metadata.uid ?? '', app, abort, done });
  }

  /**
   * A job Running with nobody running it: the platform stopped during its run. A BackupJob goes
   * back to Pending and runs again (its status change wakes it); a RestoreJob, or a BackupJob
   * interrupted MAX_RESUMES times already, fails with the reason.
   */
  private interrupted(job: KubeObject, what: 'backup' | 'restore'): void {
    const def = what === 'backup' ? backupJobKind : restoreJobKind;
    let resumed: string | undefined;
    void this.ctx.api
      .mutate<BackupJob>(
        def,
        job.metadata.namespace ?? '',
        job.metadata.name ?? '',
        (j) => {
          if (j.status?.phase !== 'Running') return false;
          const now = this.ctx.now();
          const resumes = resumesOf(j);
          if (what === 'backup' && resumes < MAX_RESUMES) {
            const message = `resumed ${resumes + 1} time(s) after the platform stopped during the run`;
            j.status = {
              ...j.status,
              phase: 'Pending',
              message: 'resuming: the platform stopped during the run',
              conditions: setCondition(j.status.conditions, now, {
                type: RESUMED,
                status: 'True',
                reason: 'PlatformStopped',
                message,
              }),
            };
            resumed = message;
            return true;
          }
          const message =
            what === 'backup'
              ? `backup failed: interrupted ${resumes + 1} times (the platform stopped during the run); create a new job`
              : 'restore failed: interrupted (the platform stopped during the run); create a new job';
          j.status = { ...j.status, phase: 'Failed', completedAt: stamp(now), message };
          resumed = undefined;
          return true;
        },
        true,
      )
      .then(() => {
        if (resumed !== undefined) this.ctx.events.record(job, 'Normal', 'BackupResumed', resumed);
      })
      .catch(() => undefined);
  }

  private async setRestoreStatus(job: RestoreJob, phase: 'Pending', message: string): Promise<void> {
    await this.ctx.api.mutate<RestoreJob>(
      restoreJobKind,
      job.metadata.namespace ?? '',
      job.metadata.name ?? '',
      (j) => {
        if (j.status?.phase === phase && j.status.message === message) return false;
        j.status = { ...(j.status ?? {}), phase, message };
        return true;
      },
      true,
    );
  }
}
