/**
 * An in-memory ScheduleSnapshots for unit tests of the schedule controller. It behaves as the API
 * adapter does (the contract suite in test/unit/controllers/schedule-snapshots.contract.ts runs
 * against both); the test plays the snapshot controller with setStatus().
 */
import { SCHEDULE_LABEL, SCHEDULED_TIME_ANNOTATION } from '../../src/api/hikube/snapshotschedule.js';
import {
  SnapshotsUnavailable,
  type ScheduleSnapshots,
  type ScheduledSnapshot,
  type SnapshotPhase,
  type SnapshotRequest,
} from '../../src/controllers/schedule/snapshots.js';

interface Stored {
  namespace: string;
  request: SnapshotRequest;
  created: Date;
  phase?: SnapshotPhase;
  readyToUse?: boolean;
  error?: string;
}

export interface SnapshotStatus {
  phase?: SnapshotPhase;
  readyToUse?: boolean;
  error?: string;
}

export class FakeScheduleSnapshots implements ScheduleSnapshots {
  /** False plays a platform without the snapshot kind. */
  available = true;
  /** Set to make create() refuse, as the API refuses an invalid object. */
  refuse: ((request: SnapshotRequest) => string | undefined) | undefined;
  private readonly objects = new Map<string, Stored>();
  private readonly listeners = new Set<(namespace: string, schedule: string) => void>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  list(namespace: string, scheduleName: string): Promise<ScheduledSnapshot[]> {
    return this.settled(() => this.snapshotsOf(namespace, scheduleName));
  }

  /** What list() resolves to, at once (for assertions). */
  snapshotsOf(namespace: string, scheduleName: string): ScheduledSnapshot[] {
    this.check();
    return [...this.objects.values()]
      .filter((o) => o.namespace === namespace && o.request.labels[SCHEDULE_LABEL] === scheduleName)
      .map((o) => {
        const stamped = Date.parse(o.request.annotations[SCHEDULED_TIME_ANNOTATION] ?? '');
        return {
          name: o.request.name,
          vm: o.request.vm,
          scheduledTime: Number.isFinite(stamped) ? new Date(stamped) : o.created,
          phase: o.phase,
          readyToUse: o.readyToUse === true,
          error: o.error,
          deleting: false,
        };
      });
  }

  create(namespace: string, request: SnapshotRequest): Promise<'created' | 'exists'> {
    return this.settled(() => this.createNow(namespace, request));
  }

  private createNow(namespace: string, request: SnapshotRequest): 'created' | 'exists' {
    this.check();
    const key = `${namespace}/${request.name}`;
    if (this.objects.has(key)) return 'exists';
    const refusal = this.refuse?.(request);
    if (refusal !== undefined) throw new Error(refusal);
    this.objects.set(key, { namespace, request: structuredClone(request), created: this.now() });
    this.notify(namespace, request);
    return 'created';
  }

  delete(namespace: string, name: string): Promise<void> {
    return this.settled(() => this.deleteNow(namespace, name));
  }

  private deleteNow(namespace: string, name: string): void {
    this.check();
    const o = this.objects.get(`${namespace}/${name}`);
    if (o === undefined) return;
    this.objects.delete(`${namespace}/${name}`);
    this.notify(namespace, o.request);
  }

  watch(onChange: (namespace: string, scheduleName: string) => void): () => void {
    if (!this.available) return () => undefined;
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /** The snapshot controller's part: sets status.phase, readyToUse, error. */
  setStatus(namespace: string, name: string, status: SnapshotStatus): void {
    const o = this.objects.get(`${namespace}/${name}`);
    if (o === undefined) throw new Error(`no snapshot ${namespace}/${name}`);
    Object.assign(o, status);
    this.notify(namespace, o.request);
  }

  /** Every snapshot not yet final becomes Succeeded and ready to use. */
  completeAll(phase: SnapshotPhase = 'Succeeded'): void {
    for (const o of this.objects.values())
      if (o.phase !== 'Succeeded' && o.phase !== 'Failed')
        this.setStatus(o.namespace, o.request.name, { phase, readyToUse: phase === 'Succeeded' });
  }

  /** The request a snapshot was created with. */
  requestOf(namespace: string, name: string): SnapshotRequest | undefined {
    return this.objects.get(`${namespace}/${name}`)?.request;
  }

  /** A result or a failure as a promise, as the API adapter gives them. */
  private settled<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private check(): void {
    if (!this.available) throw new SnapshotsUnavailable('VirtualMachineSnapshots are not served (fake)');
  }

  private notify(namespace: string, request: SnapshotRequest): void {
    const schedule = request.labels[SCHEDULE_LABEL];
    if (schedule === undefined) return;
    for (const l of this.listeners) l(namespace, schedule);
  }
}
