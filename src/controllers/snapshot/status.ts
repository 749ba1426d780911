/**
 * What a VirtualMachineSnapshot's status says in each phase (waiting for its source, InProgress,
 * Failed, Succeeded), with the Event that goes with it, and the lock on the source VM
 * (status.snapshotInProgress) released when the snapshot ends.
 */
import type { VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineKind } from '../../api/kubevirt/vm.js';
import { setCondition } from '../../api/snapshot/common.js';
import {
  virtualMachineSnapshotKind,
  type Indication,
  type VirtualMachineSnapshot,
} from '../../api/snapshot/snapshot.js';
import type { SnapshotContext } from './context.js';

type Status = NonNullable<VirtualMachineSnapshot['status']>;

/** What a snapshot that succeeded records. */
export interface Taken {
  contentName: string;
  /** When the layers were recorded (ISO). */
  stamp: string;
  indications: Indication[];
  includedVolumes: string[];
  excludedVolumes: string[];
}

export function setSnapshotStatus(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  change: (st: Status) => void,
): Promise<unknown> {
  return ctx.api.mutate<VirtualMachineSnapshot>(
    virtualMachineSnapshotKind,
    snap.metadata.namespace ?? '',
    snap.metadata.name ?? '',
    (s) => {
      s.status ??= {};
      change(s.status);
    },
    true,
  );
}

/** Clears the source VM's status.snapshotInProgress when it names this snapshot. */
export function releaseVm(ctx: SnapshotContext, snap: VirtualMachineSnapshot): Promise<unknown> {
  return ctx.api.mutate<VirtualMachine>(
    virtualMachineKind,
    snap.metadata.namespace ?? '',
    snap.spec.source.name,
    (v) => {
      if (v.status === undefined || v.status.snapshotInProgress !== snap.metadata.name) return false;
      delete v.status.snapshotInProgress;
    },
    true,
  );
}

/** The source does not exist yet: conditions and one Event say so. */
export async function waitForSource(ctx: SnapshotContext, snap: VirtualMachineSnapshot): Promise<void> {
  const reason = 'SourceDoesNotExist';
  const message = `waiting for VirtualMachine ${JSON.stringify(snap.spec.source.name)}: it does not exist yet`;
  const progressing = snap.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === reason && progressing.message === message) return;
  const at = ctx.now().toISOString();
  await setSnapshotStatus(ctx, snap, (st) => {
    st.readyToUse = false;
    st.conditions = setCondition(st.conditions, 'Progressing', 'False', reason, message, at);
    st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, at);
  });
  ctx.events.record(snap, 'Warning', reason, message);
}

export async function markInProgress(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  vm: VirtualMachine,
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  await setSnapshotStatus(ctx, snap, (st) => {
    st.phase = 'InProgress';
    st.readyToUse = false;
    st.sourceUID = vm.metadata.uid ?? '';
    st.creationTime = null;
    const message = 'Source locked and operation in progress';
    st.conditions = setCondition(st.conditions, 'Progressing', 'True', 'InProgress', message, at);
    st.conditions = setCondition(st.conditions, 'Ready', 'False', 'NotReady', 'Not ready', at);
  });
}

/** Failed for good: conditions, a Warning Event, and the source VM unlocked. */
export async function markFailed(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  now: Date,
  reason: string,
  message: string,
): Promise<void> {
  const at = now.toISOString();
  await setSnapshotStatus(ctx, snap, (st) => {
    st.phase = 'Failed';
    st.readyToUse = false;
    st.error = { time: at, message };
    st.conditions = setCondition(st.conditions, 'Progressing', 'False', reason, message, at);
    st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, at);
    st.conditions = setCondition(st.conditions, 'Failure', 'True', reason, message, at);
  });
  ctx.events.record(snap, 'Warning', 'VirtualMachineSnapshotFailed', message);
  await releaseVm(ctx, snap);
}

/** Ready to use: the content it names, how it was taken, an Event, and the source VM unlocked. */
export async function markSucceeded(
  ctx: SnapshotContext,
  snap: VirtualMachineSnapshot,
  taken: Taken,
): Promise<void> {
  const { stamp } = taken;
  await setSnapshotStatus(ctx, snap, (st) => {
    st.phase = 'Succeeded';
    st.readyToUse = true;
    st.creationTime = stamp;
    st.virtualMachineSnapshotContentName = taken.contentName;
    st.indications = taken.indications;
    st.snapshotVolumes = {
      includedVolumes: taken.includedVolumes,
      excludedVolumes: taken.excludedVolumes,
    };
    const message = 'Operation complete';
    st.conditions = setCondition(st.conditions, 'Progressing', 'False', 'Succeeded', message, stamp);
    st.conditions = setCondition(st.conditions, 'Ready', 'True', 'Succeeded', message, stamp);
  });
  ctx.events.record(
    snap,
    'Normal',
    'SuccessfulVirtualMachineSnapshotContentCreate',
    `Successfully created VirtualMachineSnapshotContent ${taken.contentName}`,
  );
  await releaseVm(ctx, snap);
}
