/**
 * The schedule controller's port to snapshots: what it needs of VirtualMachineSnapshots (list its
 * own, create one, delete one, hear about changes) and nothing more. The real adapter
 * (api-snapshots.ts) goes through the controller runtime; unit tests use an in-memory fake, and one contract
 * suite (test/unit/controllers/schedule-snapshots.contract.ts) holds both to the same behaviour.
 */

/** KubeVirt's VirtualMachineSnapshot phases. */
export type SnapshotPhase = 'InProgress' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ScheduledSnapshot {
  name: string;
  /** spec.source.name: the VM it is a snapshot of. */
  vm: string;
  /** The scheduled time of the run that made it (its annotation), else its creation time. */
  scheduledTime: Date;
  /** status.phase; undefined until the snapshot controller has looked at it. */
  phase: SnapshotPhase | undefined;
  /** status.readyToUse. */
  readyToUse: boolean;
  /** status.error.message, when it failed. */
  error: string | undefined;
  /** Deletion requested (finalizers still pending). */
  deleting: boolean;
}

export interface SnapshotRequest {
  name: string;
  vm: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** spec.failureDeadline (a Go duration such as 5m). */
  failureDeadline?: string;
}

export interface ScheduleSnapshots {
  /** The snapshots in `namespace` labelled with this schedule's name, in no particular order. */
  list(namespace: string, scheduleName: string): Promise<ScheduledSnapshot[]>;
  /** 'exists' when a snapshot of that name is already there (a run retried after a crash). */
  create(namespace: string, request: SnapshotRequest): Promise<'created' | 'exists'>;
  /** Deleting a snapshot that is gone is not an error. */
  delete(namespace: string, name: string): Promise<void>;
  /** Calls `onChange` with the schedule a changed snapshot belongs to. Returns the unsubscribe. */
  watch(onChange: (namespace: string, scheduleName: string) => void): () => void;
}

/** The snapshot kind is not served here (yet): schedules wait with a condition saying so. */
export class SnapshotsUnavailable extends Error {
  override readonly name = 'SnapshotsUnavailable';
}

/** A snapshot is final once Succeeded or Failed; only final snapshots are ever pruned. */
export const isFinal = (s: ScheduledSnapshot): boolean => s.phase === 'Succeeded' || s.phase === 'Failed';
export const succeeded = (s: ScheduledSnapshot): boolean => s.phase === 'Succeeded' || s.readyToUse;
