/**
 * The snapshot schedule controller: at each time a SnapshotSchedule's cron expression names
 * (UTC), it creates one VirtualMachineSnapshot per VM its selector matches, then prunes the
 * schedule's own snapshots by retention. Status says when it last ran, when it runs next, how
 * the last run went and how many snapshots exist.
 *
 * Time is injected (clock and timers). The next run is kept in status.nextScheduleTime, so a run
 * missed while the platform was down is noticed on start: however many were missed, ONE catch-up
 * run is taken (for the latest missed time) and an Event says how many were skipped. A suspended
 * schedule has no next run; on resume (like any spec change) the next run is computed from now,
 * so suspension does not cause a catch-up. Snapshot names carry the scheduled time, so a run
 * retried after a crash finds its snapshots already there instead of taking them twice.
 * Where the platform does not serve VirtualMachineSnapshots, the schedule still shows its next
 * run, says so in its Ready condition, and counts each due run it had to skip as a failure.
 * Runs on the controller runtime (src/runtime): reads from the manager's cache.
 */
import { firingsBetween, lastFiringBetween, parseCron } from '../../api/hikube/cron.js';
import { parseDuration } from '../../api/duration.js';
import {
  SCHEDULE_LABEL,
  SCHEDULED_TIME_ANNOTATION,
  ScheduleCondition,
  ScheduleReason,
  snapshotScheduleKind,
  type SnapshotSchedule,
  type SnapshotScheduleStatus,
} from '../../api/hikube/snapshotschedule.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import type { Timers } from '../../runtime/queue.js';
import { timestamp } from '../../api/kubevirt/vmistatus.js';
import { nextExpiry, toPrune, type Retention } from './retention.js';
import { removeCondition, setCondition, snapshotName } from './status.js';
import {
  isFinal,
  SnapshotsUnavailable,
  succeeded,
  type ScheduleSnapshots,
  type ScheduledSnapshot,
} from './snapshots.js';

export interface ScheduleControllerOptions {
  manager: Manager;
  events: EventRecorder;
  snapshots: ScheduleSnapshots;
  now?: () => Date;
  timers?: Timers;
  log?: (message: string) => void;
}

/** Timers are re-armed at least this often, so a far-off run never overflows setTimeout. */
const MAX_WAIT_MS = 6 * 3_600_000;

export class ScheduleController extends Reconciler {
  private readonly api: Client;
  private readonly snapshots: ScheduleSnapshots;
  private readonly events: EventRecorder;
  private readonly now: () => Date;
  private unsubscribe: () => void = () => undefined;

  constructor(o: ScheduleControllerOptions) {
    super(o.manager, {
      name: 'snapshotschedule',
      ...(o.log !== undefined ? { log: o.log } : {}),
      ...(o.timers !== undefined ? { timers: o.timers } : {}),
    });
    this.snapshots = o.snapshots;
    this.events = o.events;
    this.now = o.now ?? (() => new Date());
    this.api = this.controller.client;
    // A deleted schedule's key comes too: its sync finds it gone and disarms its timer.
    this.controller.watch(snapshotScheduleKind).reads(virtualMachineKind);
  }

  override start(): void {
    this.unsubscribe = this.snapshots.watch((namespace, name) =>
      this.controller.queue.add(`${namespace}/${name}`),
    );
    this.controller.start();
  }

  override stop(): void {
    this.unsubscribe();
    this.controller.stop();
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const schedule = this.api.get<SnapshotSchedule>(snapshotScheduleKind, namespace, name);
    if (schedule === undefined || schedule.metadata.deletionTimestamp !== undefined) return this.disarm(key);
    const now = this.now();
    const status: SnapshotScheduleStatus = structuredClone(schedule.status ?? {});
    const generation = schedule.metadata.generation;
    let wake: Date | undefined;
    try {
      wake = await this.runDue(schedule, status, now);
    } catch (err) {
      if (!(err instanceof SnapshotsUnavailable)) throw err;
      setCondition(status, now, {
        type: ScheduleCondition.Ready,
        status: 'False',
        reason: ScheduleReason.SnapshotsUnavailable,
        message: `${err.message}: no snapshots are taken until they are`,
      });
    }
    if (generation !== undefined) status.observedGeneration = generation;
    await this.api.mutate<SnapshotSchedule>(
      snapshotScheduleKind,
      namespace,
      name,
      (current) => {
        if (current.metadata.uid !== schedule.metadata.uid) return false;
        if (JSON.stringify(current.status ?? {}) === JSON.stringify(status)) return false;
        current.status = status;
        return true;
      },
      true,
    );
    this.arm(key, wake, now);
  }

  /** Runs when due, follows the last run's snapshots, prunes; returns when to look again. */
  private async runDue(
    schedule: SnapshotSchedule,
    status: SnapshotScheduleStatus,
    now: Date,
  ): Promise<Date | undefined> {
    const namespace = schedule.metadata.namespace ?? '';
    const name = schedule.metadata.name ?? '';
    const cron = parseCron(schedule.spec.schedule);
    const unavailable = await this.unavailable(namespace, name);
    let next: Date | undefined;
    if (schedule.spec.suspend === true) {
      delete status.nextScheduleTime;
      setCondition(status, now, {
        type: ScheduleCondition.Ready,
        status: 'False',
        reason: ScheduleReason.Suspended,
        message: 'spec.suspend is true: no runs until it is false',
      });
    } else {
      const known = Date.parse(status.nextScheduleTime ?? '');
      const fresh = status.observedGeneration === schedule.metadata.generation && Number.isFinite(known);
      if (!fresh) next = cron.next(now);
      else if (known > now.getTime()) next = new Date(known);
      else {
        const from = new Date(known - 1);
        const due = firingsBetween(cron, from, now);
        const at = lastFiringBetween(cron, from, now) ?? new Date(known);
        if (due.length > 1)
          this.events.record(
            schedule,
            'Warning',
            ScheduleReason.MissedSchedule,
            `missed ${due.length - 1}${due.length >= 1000 ? ' or more' : ''} scheduled runs from ${timestamp(new Date(known))}; taking one catch-up run for ${timestamp(at)}`,
          );
        if (unavailable === undefined) await this.run(schedule, status, at, now);
        else this.skip(schedule, status, at, unavailable);
        next = cron.next(now);
      }
      if (next !== undefined) status.nextScheduleTime = timestamp(next);
      setCondition(
        status,
        now,
        unavailable !== undefined
          ? {
              type: ScheduleCondition.Ready,
              status: 'False',
              reason: ScheduleReason.SnapshotsUnavailable,
              message: `${unavailable}: runs are skipped until they are`,
            }
          : {
              type: ScheduleCondition.Ready,
              status: 'True',
              reason: ScheduleReason.Scheduled,
              message:
                next === undefined ? 'the schedule never fires again' : `next run at ${timestamp(next)}`,
            },
      );
    }
    if (unavailable !== undefined) {
      status.snapshots = 0;
      return next;
    }
    const snapshots = await this.snapshots.list(namespace, name);
    this.follow(schedule, status, snapshots, now);
    const retention: Retention = {
      count: schedule.spec.retention?.count,
      maxAgeMs: parseDuration(schedule.spec.retention?.maxAge ?? '', { days: true }),
    };
    const pruned = toPrune(snapshots, retention, now);
    for (const p of pruned) {
      await this.snapshots.delete(namespace, p.snapshot.name);
      this.events.record(
        schedule,
        'Normal',
        ScheduleReason.SnapshotPruned,
        `deleted snapshot ${p.snapshot.name}: ${p.why}`,
      );
    }
    const gone = new Set(pruned.map((p) => p.snapshot.name));
    status.snapshots = snapshots.filter((s) => !s.deleting && !gone.has(s.name)).length;
    const expiry = nextExpiry(snapshots, pruned, retention);
    return [next, expiry].reduce<Date | undefined>(
      (a, b) => (b === undefined ? a : a === undefined || b < a ? b : a),
      undefined,
    );
  }

  /** Why snapshots cannot be made here, or undefined when they can. */
  private async unavailable(namespace: string, name: string): Promise<string | undefined> {
    try {
      await this.snapshots.list(namespace, name);
      return undefined;
    } catch (err) {
      if (err instanceof SnapshotsUnavailable) return err.message;
      throw err;
    }
  }

  /** A due run that cannot be taken: it counts as a failure, and is not made up later. */
  private skip(schedule: SnapshotSchedule, status: SnapshotScheduleStatus, at: Date, why: string): void {
    status.failures = (status.failures ?? 0) + 1;
    status.lastError = `skipped the run of ${timestamp(at)}: ${why}`;
    this.events.record(schedule, 'Warning', ScheduleReason.SnapshotsUnavailable, status.lastError);
  }

  /** One run: a snapshot of every selected VM, named after the scheduled time `at`. */
  private async run(
    schedule: SnapshotSchedule,
    status: SnapshotScheduleStatus,
    at: Date,
    now: Date,
  ): Promise<void> {
    const namespace = schedule.metadata.namespace ?? '';
    const name = schedule.metadata.name ?? '';
    const selector = labelSelectorFromObject(schedule.spec.selector);
    const vms = this.api
      .list<VirtualMachine>(virtualMachineKind, namespace)
      .filter((vm) => vm.metadata.deletionTimestamp === undefined && selector.matches(vm.metadata.labels))
      .map((vm) => vm.metadata.name ?? '')
      .sort();
    status.lastScheduleTime = timestamp(at);
    removeCondition(status, ScheduleCondition.Failure);
    if (vms.length === 0) {
      removeCondition(status, ScheduleCondition.Progressing);
      this.events.record(
        schedule,
        'Normal',
        ScheduleReason.NoVirtualMachines,
        `no VirtualMachine in ${namespace} matches the selector ${selector.toString() || '{}'}: nothing to snapshot`,
      );
      return;
    }
    const template = schedule.spec.snapshotTemplate;
    const created: string[] = [];
    const errors: string[] = [];
    for (const vm of vms) {
      const snapshot = snapshotName(vm, name, at);
      try {
        await this.snapshots.create(namespace, {
          name: snapshot,
          vm,
          labels: { ...template?.labels, [SCHEDULE_LABEL]: name },
          annotations: { ...template?.annotations, [SCHEDULED_TIME_ANNOTATION]: timestamp(at) },
          ...(template?.failureDeadline !== undefined ? { failureDeadline: template.failureDeadline } : {}),
        });
        created.push(snapshot);
      } catch (err) {
        if (err instanceof SnapshotsUnavailable) throw err;
        errors.push(
          `failed creating snapshot ${snapshot} of VM ${vm}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (created.length > 0)
      this.events.record(
        schedule,
        'Normal',
        ScheduleReason.SnapshotsCreated,
        `created snapshots ${created.join(', ')}`,
      );
    if (errors.length > 0) {
      status.lastError = errors.join('; ');
      this.events.record(schedule, 'Warning', ScheduleReason.SnapshotCreateFailed, status.lastError);
      setCondition(status, now, {
        type: ScheduleCondition.Failure,
        status: 'True',
        reason: ScheduleReason.SnapshotCreateFailed,
        message: status.lastError,
      });
    }
    setCondition(status, now, {
      type: ScheduleCondition.Progressing,
      status: 'True',
      reason: ScheduleReason.SnapshotsInProgress,
      message: `run of ${timestamp(at)}: ${created.length} snapshot(s) in progress`,
    });
  }

  /** Once every snapshot of the last run is final, the run's outcome goes into status, once. */
  private follow(
    schedule: SnapshotSchedule,
    status: SnapshotScheduleStatus,
    snapshots: readonly ScheduledSnapshot[],
    now: Date,
  ): void {
    const progressing = status.conditions?.find((c) => c.type === ScheduleCondition.Progressing);
    if (progressing?.status !== 'True' || status.lastScheduleTime === undefined) return;
    const at = Date.parse(status.lastScheduleTime);
    const run = snapshots.filter((s) => !s.deleting && s.scheduledTime.getTime() === at);
    if (!run.every(isFinal)) return;
    const failed = run.filter((s) => !succeeded(s));
    const refused = status.conditions?.some(
      (c) => c.type === ScheduleCondition.Failure && c.status === 'True',
    );
    if (failed.length > 0) {
      const detail = failed.map(
        (s) => `snapshot ${s.name} of VM ${s.vm} failed${s.error !== undefined ? `: ${s.error}` : ''}`,
      );
      status.lastError = detail.join('; ');
      this.events.record(schedule, 'Warning', ScheduleReason.SnapshotFailed, status.lastError);
      setCondition(status, now, {
        type: ScheduleCondition.Failure,
        status: 'True',
        reason: ScheduleReason.SnapshotFailed,
        message: status.lastError,
      });
    }
    if (failed.length > 0 || refused === true) {
      status.failures = (status.failures ?? 0) + 1;
    } else {
      status.failures = 0;
      status.lastSuccessfulTime = status.lastScheduleTime;
      setCondition(status, now, {
        type: ScheduleCondition.Failure,
        status: 'False',
        reason: ScheduleReason.SnapshotsSucceeded,
        message: `every snapshot of the run of ${status.lastScheduleTime} succeeded`,
      });
    }
    setCondition(status, now, {
      type: ScheduleCondition.Progressing,
      status: 'False',
      reason:
        failed.length > 0 || refused === true
          ? ScheduleReason.SnapshotFailed
          : ScheduleReason.SnapshotsSucceeded,
      message: `run of ${status.lastScheduleTime}: ${run.length - failed.length} of ${run.length} snapshot(s) succeeded`,
    });
  }

  private arm(key: string, wake: Date | undefined, now: Date): void {
    if (wake === undefined) this.disarm(key);
    else this.controller.queue.addAfter(key, Math.min(MAX_WAIT_MS, wake.getTime() - now.getTime()));
  }

  private disarm(key: string): void {
    this.controller.queue.cancelWake(key);
  }
}
