/**
 * A VM's status as one pure function of the VM, its VMI and what the controller found: KubeVirt's
 * printableStatus, the Ready/Paused/Failure/RestartRequired conditions, `ready` and `created`.
 * Reasons here are the ones events use too.
 */
import type { Condition, PrintableStatus, RunStrategy } from '../../api/kubevirt/status.js';
import type { VirtualMachine } from '../../api/kubevirt/vm.js';
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';

/** The Failure reason (and Event reason) of a VM waiting for a Secret or attachment it names. */
export const REFERENCE_NOT_FOUND = 'ReferenceNotFound';

export interface VmFacts {
  /** PVCs the VM's volumes name that do not exist. */
  missingPvcs: string[];
  /** Other objects the VM names that do not exist yet (`Secret "x"`, …): no VMI until they do. */
  missingReferences?: string[];
  /** A restart is delayed after failures until then. */
  backoffUntil?: Date;
  /** Creating the VMI failed (e.g. the instance type is missing). */
  createError?: { reason: string; message: string };
  /** The VM's template changed since the VMI was created. */
  restartRequired: boolean;
  /** Set when the VM's volumes use DataVolumes: those still being populated, and those that failed. */
  dataVolumes?: { pending: string[]; errors: string[] };
  /** Claims the volumes use that exist but are not bound yet. */
  unboundPvcs?: string[];
  now: Date;
}

export interface VmStatusView {
  printableStatus: PrintableStatus;
  ready: boolean;
  created: boolean;
  conditions: Condition[];
}

export const runStrategyOf = (vm: VirtualMachine): RunStrategy =>
  vm.spec.runStrategy ?? (vm.spec.running === true ? 'Always' : 'Halted');

export const condition = (vmi: VirtualMachineInstance | undefined, type: string): Condition | undefined =>
  vmi?.status?.conditions?.find((c) => c.type === type);

export const isFinal = (vmi: VirtualMachineInstance): boolean =>
  vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

export function printableStatus(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  facts: VmFacts,
): PrintableStatus {
  if (vm.metadata.deletionTimestamp !== undefined) return 'Terminating';
  const backingOff = facts.backoffUntil !== undefined && facts.backoffUntil > facts.now;
  if (vmi === undefined) {
    const wantsRun = runStrategyOf(vm) !== 'Halted' && runStrategyOf(vm) !== 'Manual';
    if (wantsRun && facts.missingPvcs.length > 0) return 'ErrorPvcNotFound';
    if ((facts.dataVolumes?.errors.length ?? 0) > 0) return 'DataVolumeError';
    if ((facts.dataVolumes?.pending.length ?? 0) > 0) return 'Provisioning';
    if (wantsRun && (facts.unboundPvcs?.length ?? 0) > 0) return 'WaitingForVolumeBinding';
    // KubeVirt's VMI would wait in a pod that cannot start: shown as starting.
    if (wantsRun && (facts.missingReferences?.length ?? 0) > 0) return 'Starting';
    if (backingOff) return 'CrashLoopBackOff';
    return 'Stopped';
  }
  if (vmi.metadata.deletionTimestamp !== undefined) return 'Stopping';
  const phase = vmi.status?.phase ?? 'Pending';
  const sync = condition(vmi, 'Synchronized');
  switch (phase) {
    case 'Pending':
    case 'Scheduling':
    case 'Scheduled': {
      const scheduled = condition(vmi, 'PodScheduled');
      if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') return 'ErrorUnschedulable';
      if ((facts.unboundPvcs?.length ?? 0) > 0) return 'WaitingForVolumeBinding';
      if (sync?.status === 'False' && (sync.reason === 'ErrImagePull' || sync.reason === 'ImagePullBackOff'))
        return sync.reason;
      if (sync?.status === 'False' && sync.reason === 'PvcNotFound') return 'ErrorPvcNotFound';
      return 'Starting';
    }
    case 'Running':
      return condition(vmi, 'Paused')?.status === 'True' ? 'Paused' : 'Running';
    case 'Succeeded':
    case 'Failed':
      return backingOff ? 'CrashLoopBackOff' : 'Stopped';
    default:
      return 'Unknown';
  }
}

export function vmStatusView(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  facts: VmFacts,
  previous: Condition[] = [],
): VmStatusView {
  const ready =
    vmi !== undefined && vmi.status?.phase === 'Running' && condition(vmi, 'Ready')?.status === 'True';
  const at = facts.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const wanted: Omit<Condition, 'lastTransitionTime' | 'lastProbeTime'>[] = [];
  const vmiReady = condition(vmi, 'Ready');
  wanted.push(
    ready
      ? { type: 'Ready', status: 'True', reason: 'Ready', message: '' }
      : {
          type: 'Ready',
          status: 'False',
          reason: vmi === undefined ? 'VMINotExists' : (vmiReady?.reason ?? 'NotReady'),
          message: vmi === undefined ? 'VMI does not exist' : (vmiReady?.message ?? ''),
        },
  );
  const paused = condition(vmi, 'Paused');
  if (paused?.status === 'True')
    wanted.push({
      type: 'Paused',
      status: 'True',
      reason: paused.reason ?? 'PausedByUser',
      message: paused.message ?? 'VMI was paused by user',
    });
  const failure = failureOf(vmi, facts);
  if (failure !== undefined) wanted.push({ type: 'Failure', status: 'True', ...failure });
  if (facts.restartRequired) {
    wanted.push({
      type: 'RestartRequired',
      status: 'True',
      reason: 'RestartRequired',
      message: 'a non-live-updatable field was changed in the template spec',
    });
  }
  const dvs = facts.dataVolumes;
  if (dvs !== undefined) {
    const notReady = [...dvs.errors, ...dvs.pending];
    wanted.push(
      notReady.length === 0
        ? {
            type: 'DataVolumesReady',
            status: 'True',
            reason: 'AllDVsReady',
            message: "All of the VMI's DVs are bound and ready",
          }
        : {
            type: 'DataVolumesReady',
            status: 'False',
            reason: 'NotAllDVsReady',
            message: `Not all of the VMI's DVs are ready: ${notReady.join('; ')}`,
          },
    );
  }
  const scheduled = condition(vmi, 'PodScheduled');
  if (scheduled?.status === 'False')
    wanted.push({
      type: 'PodScheduled',
      status: 'False',
      reason: scheduled.reason ?? 'Unschedulable',
      message: scheduled.message ?? '',
    });
  const conditions = wanted.map((c): Condition => {
    const old = previous.find((p) => p.type === c.type);
    const same = old !== undefined && old.status === c.status;
    return { ...c, lastProbeTime: null, lastTransitionTime: same ? (old.lastTransitionTime ?? at) : at };
  });
  return { printableStatus: printableStatus(vm, vmi, facts), ready, created: vmi !== undefined, conditions };
}

function failureOf(
  vmi: VirtualMachineInstance | undefined,
  facts: VmFacts,
): { reason: string; message: string } | undefined {
  if (facts.createError !== undefined) return facts.createError;
  const dvErrors = facts.dataVolumes?.errors ?? [];
  if (dvErrors.length > 0) return { reason: 'DataVolumeError', message: dvErrors.join('; ') };
  if (facts.missingPvcs.length > 0) {
    return {
      reason: 'FailedPvcNotFound',
      message: `PVC ${facts.missingPvcs.map((n) => JSON.stringify(n)).join(', ')} not found`,
    };
  }
  const missing = facts.missingReferences ?? [];
  if (vmi === undefined && missing.length > 0)
    return { reason: REFERENCE_NOT_FOUND, message: `waiting for ${missing.join(', ')}: not found` };
  const sync = condition(vmi, 'Synchronized');
  if (sync?.status === 'False') return { reason: sync.reason ?? 'FailedSync', message: sync.message ?? '' };
  return undefined;
}
