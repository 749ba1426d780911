/**
 * KubeVirt's lifecycle subresources: `start`, `stop`, `restart` on a VM and `pause`, `unpause`,
 * `softreboot` on a VMI, under `subresources.kubevirt.io/v1`. Like KubeVirt, start and stop change
 * the runStrategy when it is Always or Halted and queue a state change request otherwise;
 * restart queues a stop of the current VMI then a start. Acting on the guest itself is the node
 * agent's job, reached through the GuestControl port.
 */
import type { VirtualMachine } from '../api/kubevirt/vm.js';
import { virtualMachineKind } from '../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { ApiError } from './errors.js';
import type { Registry } from './registry.js';
import { StreamUnavailable } from './streams.js';
import type { Subresource, SubresourceRequest } from './subresources.js';

export interface GuestControl {
  pause(namespace: string, name: string): Promise<void>;
  unpause(namespace: string, name: string): Promise<void>;
  softReboot(namespace: string, name: string): Promise<void>;
}

const GROUP = 'subresources.kubevirt.io';
const VERSION = 'v1';

export function actionSubresources(registry: Registry, guests: GuestControl): Subresource[] {
  const vmAction = (name: string, run: (r: SubresourceRequest) => void): Subresource => ({
    group: GROUP,
    version: VERSION,
    resource: 'virtualmachines',
    name,
    handle: (r) => {
      if (
        r.query.getAll('dryRun').includes('All') ||
        (Array.isArray(r.body['dryRun']) && r.body['dryRun'].includes('All'))
      ) {
        getVm(registry, r);
        return Promise.resolve(undefined);
      }
      run(r);
      return Promise.resolve(undefined);
    },
  });
  const vmiAction = (name: string, run: (ns: string, n: string) => Promise<void>): Subresource => ({
    group: GROUP,
    version: VERSION,
    resource: 'virtualmachineinstances',
    name,
    handle: async (r) => {
      try {
        await run(r.namespace, r.name);
      } catch (err) {
        if (err instanceof StreamUnavailable) throw new ApiError(err.reason, err.message);
        throw err;
      }
      return undefined;
    },
  });
  return [
    vmAction('start', (r) => start(registry, r)),
    vmAction('stop', (r) => stop(registry, r)),
    vmAction('restart', (r) => restart(registry, r)),
    vmiAction('pause', (ns, n) => guests.pause(ns, n)),
    vmiAction('unpause', (ns, n) => guests.unpause(ns, n)),
    vmiAction('softreboot', (ns, n) => guests.softReboot(ns, n)),
  ];
}

function getVm(registry: Registry, r: SubresourceRequest): VirtualMachine {
  return structuredClone(
    registry.get(virtualMachineKind, r.namespace, r.name).object,
  ) as unknown as VirtualMachine;
}

function getVmi(registry: Registry, r: SubresourceRequest): VirtualMachineInstance | undefined {
  try {
    return registry.get(virtualMachineInstanceKind, r.namespace, r.name)
      .object as unknown as VirtualMachineInstance;
  } catch {
    return undefined;
  }
}

const strategyOf = (vm: VirtualMachine): string =>
  vm.spec.runStrategy ?? (vm.spec.running === true ? 'Always' : 'Halted');

const active = (vmi: VirtualMachineInstance | undefined): boolean =>
  vmi !== undefined &&
  vmi.metadata.deletionTimestamp === undefined &&
  vmi.status?.phase !== 'Succeeded' &&
  vmi.status?.phase !== 'Failed';

function setStrategy(registry: Registry, vm: VirtualMachine, strategy: 'Always' | 'Halted'): void {
  if (vm.spec.running !== undefined) vm.spec.running = strategy === 'Always';
  else vm.spec.runStrategy = strategy;
  registry.update(virtualMachineKind, vm.metadata.namespace ?? '', vm.metadata.name ?? '', vm);
}

function queueRequests(
  registry: Registry,
  vm: VirtualMachine,
  requests: { action: 'Start' | 'Stop'; uid?: string; data?: Record<string, string> }[],
): void {
  const status = { ...(vm.status ?? {}) };
  if ((status.stateChangeRequests ?? []).length > 0) {
    throw new ApiError(
      'Conflict',
      `a start or stop request is already pending on VM ${JSON.stringify(vm.metadata.name ?? '')}; try again when it completes`,
    );
  }
  status.stateChangeRequests = requests;
  vm.status = status;
  registry.update(virtualMachineKind, vm.metadata.namespace ?? '', vm.metadata.name ?? '', vm, {
    subresource: 'status',
  });
}

function start(registry: Registry, r: SubresourceRequest): void {
  const vm = getVm(registry, r);
  const vmi = getVmi(registry, r);
  const strategy = strategyOf(vm);
  if (strategy === 'Always' || active(vmi))
    throw new ApiError(
      'Conflict',
      `Operation cannot be fulfilled on virtualmachine.kubevirt.io "${r.name}": VM is already running`,
    );
  if (strategy === 'Halted') setStrategy(registry, vm, 'Always');
  else queueRequests(registry, vm, [{ action: 'Start' }]);
}

function stop(registry: Registry, r: SubresourceRequest): void {
  const vm = getVm(registry, r);
  const vmi = getVmi(registry, r);
  const strategy = strategyOf(vm);
  const grace = typeof r.body['gracePeriod'] === 'number' ? r.body['gracePeriod'] : undefined;
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) {
    throw new ApiError('Invalid', 'gracePeriod must be a non-negative integer', {
      causes: [{ path: 'gracePeriod', message: `Invalid value: ${grace}` }],
    });
  }
  if (!active(vmi) && strategy !== 'Always' && strategy !== 'RerunOnFailure') {
    // A force stop (gracePeriod 0) of a VMI already shutting down is allowed: it shortens the wait.
    if (!(grace !== undefined && vmi !== undefined && vmi.metadata.deletionTimestamp !== undefined)) {
      throw new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on virtualmachine.kubevirt.io "${r.name}": VM is not running`,
      );
    }
  }
  if (strategy === 'Manual' && active(vmi))
    queueRequests(registry, vm, [{ action: 'Stop', uid: vmi?.metadata.uid ?? '' }]);
  else if (strategy !== 'Halted') setStrategy(registry, vm, 'Halted');
  if (grace !== undefined && vmi !== undefined) {
    registry.delete(virtualMachineInstanceKind, r.namespace, r.name, { gracePeriodSeconds: grace });
  }
}

function restart(registry: Registry, r: SubresourceRequest): void {
  const vm = getVm(registry, r);
  const vmi = getVmi(registry, r);
  if (vmi === undefined || vmi.metadata.deletionTimestamp !== undefined) {
    throw new ApiError(
      'Conflict',
      `Operation cannot be fulfilled on virtualmachine.kubevirt.io "${r.name}": VM is not running`,
    );
  }
  queueRequests(registry, vm, [{ action: 'Stop', uid: vmi.metadata.uid ?? '' }, { action: 'Start' }]);
  const grace = r.body['gracePeriodSeconds'];
  if (typeof grace === 'number')
    registry.delete(virtualMachineInstanceKind, r.namespace, r.name, { gracePeriodSeconds: grace });
}
