/**
 * The status phase of the VM controller: the VM's status written from what the sync saw (printable
 * status, conditions, start failures, pending requests, revisions), with the events a change of it
 * calls for, and never over a newer version of the VM.
 */
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { REFERENCE_NOT_FOUND, runStrategyOf, vmStatusView, type VmFacts } from './printable.js';
import type { VmContext } from './controller.js';
import type { RevisionRefs } from './launch.js';

export async function writeStatus(
  ctx: VmContext,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  facts: VmFacts,
  failure: StartFailure,
  requests: StateChangeRequest[],
  revisions: RevisionRefs,
): Promise<void> {
  const previous = vm.status?.conditions ?? [];
  const view = vmStatusView(vm, vmi, facts, previous);
  const old = vm.status ?? {};
  const next: Record<string, unknown> = {
    ...old,
    printableStatus: view.printableStatus,
    ready: view.ready,
    created: view.created,
    runStrategy: runStrategyOf(vm),
    conditions: view.conditions,
    observedGeneration: vm.metadata.generation ?? 1,
    desiredGeneration: vm.metadata.generation ?? 1,
  };
  setOrDelete(next, 'startFailure', Object.keys(failure).length > 0 ? failure : undefined);
  setOrDelete(next, 'stateChangeRequests', requests.length > 0 ? requests : undefined);
  setOrDelete(next, 'instancetypeRef', revisions.instancetype);
  setOrDelete(next, 'preferenceRef', revisions.preference);
  if (old.printableStatus !== view.printableStatus && view.printableStatus === 'ErrorPvcNotFound') {
    ctx.events.record(
      vm,
      'Warning',
      'FailedPvcNotFound',
      `PVC ${facts.missingPvcs.join(', ')} not found: create it to start the VM`,
    );
  }
  const waiting = view.conditions.find((c) => c.type === 'Failure' && c.reason === REFERENCE_NOT_FOUND);
  const before = vm.status?.conditions?.find((c) => c.type === 'Failure');
  if (waiting !== undefined && before?.message !== waiting.message)
    ctx.events.record(vm, 'Warning', REFERENCE_NOT_FOUND, waiting.message ?? '');
  if (JSON.stringify(old) === JSON.stringify(next)) return;
  await ctx.api.mutate<VirtualMachine>(
    virtualMachineKind,
    vm.metadata.namespace ?? '',
    vm.metadata.name ?? '',
    (current) => {
      // Changed since this sync read it (a start request, a snapshot): its change event brings
      // the key back, and that sync writes from the new version instead of undoing it.
      if (
        current.metadata.uid !== vm.metadata.uid ||
        current.metadata.resourceVersion !== vm.metadata.resourceVersion
      )
        return false;
      current.status = next;
      return true;
    },
    true,
  );
}

function setOrDelete(o: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

export interface StartFailure {
  consecutiveFailCount?: number;
  retryAfterTimestamp?: string;
  lastFailedVMIUID?: string;
}

export interface StateChangeRequest {
  action: 'Start' | 'Stop';
  uid?: string;
  data?: Record<string, string>;
}
