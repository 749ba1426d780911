/**
 * The backup controller: Cozystack's Plan, BackupJob, Backup and RestoreJob in one work queue, on
 * the controller runtime. Reconciles are short: a BackupJob or RestoreJob that is due starts a
 * run in the background (job.ts, restore.ts) and the run reports in the job's status; a run that
 * was under way when the platform stopped is found Running with nobody working on it and is
 * failed with that reason. Runs of one application go one at a time; deleting a job aborts its run.
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
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Timers } from '../../runtime/queue.js';
import { finalizeBackup } from './artifact.js';
import { stamp, type BackupContext } from './context.js';
import { appKeyOf, runBackupJob, setJobStatus } from './job.js';
import type { BackupExecutor, Repositories } from './ports.js';
import { syncPlan } from './plan.js';
import { backupOf, runRestoreJob } from './restore.js';

export interface BackupControllerOptions {
  manager: Manager;
  events: EventRecorder;
  executor: BackupExecutor;
  repositories: Repositories;
  claimPath: (namespace: string, claim: string) => string | undefined;
  now?: () => Date;
  timers?: Timers;
  sleep?: (ms: number) => Promise<void>;
  log?: (message: string) => void;
}

const MAX_WAIT_MS = 6 * 3_600_000;
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
      now: o.now ?? (() => new Date()),
      sleep: o.sleep ?? ((ms) => new Promise((r) => (timers ?? globalThis).setTimeout(r, ms))),
      log: o.log ?? (() => undefined),
    };
    const own = (def: KindDefinition) => (o: KubeObject) => [keyOf(def, o)];
    // A Backup that became Ready wakes the restores waiting for it.
    const restoresOf = (b: KubeObject): string[] =>
      this.ctx.api
        .list<RestoreJob>(restoreJobKind, b.metadata.namespace)
        .filter((r) => r.spec.backupRef.name === b.metadata.name)
        .map((r) => keyOf(restoreJobKind, r));
    this.controller
      .watch(planKind, own(planKind))
      .watch(backupJobKind, own(backupJobKind))
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

  /** Aborts the runs under way, then stops the queue. */
  override stop(): void {
    for (const run of this.runs.values()) run.abort.abort();
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

  /** A job Running with nobody running it: the platform stopped during its run. */
  private interrupted(job: KubeObject, what: 'backup' | 'restore'): void {
    const message = `${what} failed: interrupted (the platform stopped during the run); create a new job`;
    const def = what === 'backup' ? backupJobKind : restoreJobKind;
    void this.ctx.api
      .mutate<BackupJob>(
        def,
        job.metadata.namespace ?? '',
        job.metadata.name ?? '',
        (j) => {
          if (j.status?.phase !== 'Running') return false;
          j.status = { ...j.status, phase: 'Failed', completedAt: stamp(this.ctx.now()), message };
          return true;
        },
        true,
      )
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
