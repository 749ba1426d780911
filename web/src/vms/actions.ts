/**
 * The lifecycle of a VM as action descriptors over KubeVirt's subresources
 * (PUT …/virtualmachines/NAME/start|stop|restart, …/virtualmachineinstances/NAME/pause|unpause)
 * and DELETE of the VM. The rules mirror what the API server accepts, so a disabled action says
 * what the server would have answered.
 */
import { api } from '../api/client';
import { resourcePath, subresourcePath, SUBRESOURCES, VMS } from '../api/resources';
import type { Attempt } from '../auth/rules';
import { gate, type Action } from '../components/actions';
import {
  isActive,
  isPaused,
  isRunning,
  isTerminating,
  nameOf,
  namespaceOf,
  runStrategy,
  type VmView,
} from './selectors';

const vmSub = (v: VmView, sub: string, body: unknown = {}) =>
  api.put(subresourcePath('virtualmachines', namespaceOf(v.vm), nameOf(v.vm), sub), body);
const vmiSub = (v: VmView, sub: string) =>
  api.put(subresourcePath('virtualmachineinstances', namespaceOf(v.vm), nameOf(v.vm), sub));

const deleting = (v: VmView): string | undefined =>
  isTerminating(v.vm) ? 'The VM is being deleted' : undefined;

export const startAction: Action<VmView> = {
  id: 'start',
  label: 'Start',
  enabled: (v) =>
    deleting(v) ??
    (isActive(v.vmi)
      ? 'The VM is already running'
      : runStrategy(v.vm) === 'Always'
        ? 'Its run strategy (Always) starts it by itself'
        : true),
  run: (v) => vmSub(v, 'start'),
};

const stoppable = (v: VmView): true | string => {
  const strategy = runStrategy(v.vm);
  if (isActive(v.vmi) || strategy === 'Always' || strategy === 'RerunOnFailure') return true;
  return 'The VM is not running';
};

export const stopAction: Action<VmView> = {
  id: 'stop',
  label: 'Stop',
  enabled: (v) => deleting(v) ?? (isTerminating(v.vmi) ? 'The VM is already stopping' : stoppable(v)),
  run: (v) => vmSub(v, 'stop'),
};

export const forceStopAction: Action<VmView> = {
  id: 'force-stop',
  label: 'Force stop',
  danger: true,
  confirm: { title: 'Force stop', verb: 'Force stop' },
  enabled: (v) => deleting(v) ?? (isTerminating(v.vmi) ? true : stoppable(v)),
  run: (v) => vmSub(v, 'stop', { gracePeriod: 0 }),
};

export const restartAction: Action<VmView> = {
  id: 'restart',
  label: 'Restart',
  enabled: (v) =>
    deleting(v) ?? (v.vmi === undefined || isTerminating(v.vmi) ? 'The VM is not running' : true),
  run: (v) => vmSub(v, 'restart'),
};

export const pauseAction: Action<VmView> = {
  id: 'pause',
  label: 'Pause',
  enabled: (v) =>
    deleting(v) ??
    (!isRunning(v.vmi) ? 'The VM is not running' : isPaused(v.vmi) ? 'The VM is already paused' : true),
  run: (v) => vmiSub(v, 'pause'),
};

export const unpauseAction: Action<VmView> = {
  id: 'unpause',
  label: 'Unpause',
  enabled: (v) => deleting(v) ?? (isPaused(v.vmi) ? true : 'The VM is not paused'),
  run: (v) => vmiSub(v, 'unpause'),
};

export const deleteAction: Action<VmView> = {
  id: 'delete',
  label: 'Delete',
  danger: true,
  confirm: { title: 'Delete', verb: 'Delete' },
  enabled: (v) => deleting(v) ?? true,
  run: (v) => api.delete(resourcePath(VMS, namespaceOf(v.vm), nameOf(v.vm))),
};

/** "Unknown" while discovery is asked, null when the server does not serve the group. */
type Served = string | null | undefined;

const unavailable = (version: Served, what: string): string | undefined =>
  version === undefined
    ? 'Checking what this server serves…'
    : version === null
      ? `${what} are not available on this server`
      : undefined;

/** A UTC timestamp for generated names: 20261127t181500. */
export const stamp = (): string =>
  new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase();

/** VirtualMachineSnapshot (snapshot.kubevirt.io), when discovery finds the group. */
export const snapshotAction = (version: Served): Action<VmView> => ({
  id: 'snapshot',
  label: 'Take snapshot',
  enabled: (v) => unavailable(version, 'snapshots') ?? deleting(v) ?? true,
  run: (v) =>
    api.create(
      resourcePath(
        { group: 'snapshot.kubevirt.io', version: version ?? '', plural: 'virtualmachinesnapshots' },
        namespaceOf(v.vm),
      ),
      {
        apiVersion: `snapshot.kubevirt.io/${version ?? ''}`,
        kind: 'VirtualMachineSnapshot',
        metadata: { name: `${nameOf(v.vm)}-snapshot-${stamp()}` },
        spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: nameOf(v.vm) } },
      },
    ),
});

/** VirtualMachineClone (clone.kubevirt.io), which works through snapshots: it needs both groups. */
export const cloneAction = (version: Served, snapshots: Served): Action<VmView> => ({
  id: 'clone',
  label: 'Clone',
  enabled: (v) =>
    unavailable(snapshots, 'snapshots') ?? unavailable(version, 'clones') ?? deleting(v) ?? true,
  run: (v) => {
    const ref = (name: string) => ({ apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name });
    return api.create(
      resourcePath(
        { group: 'clone.kubevirt.io', version: version ?? '', plural: 'virtualmachineclones' },
        namespaceOf(v.vm),
      ),
      {
        apiVersion: `clone.kubevirt.io/${version ?? ''}`,
        kind: 'VirtualMachineClone',
        metadata: { name: `${nameOf(v.vm)}-clone-${stamp()}` },
        spec: { source: ref(nameOf(v.vm)), target: ref(`${nameOf(v.vm)}-clone`) },
      },
    );
  },
});

export const VM_ACTIONS: readonly Action<VmView>[] = [
  startAction,
  stopAction,
  restartAction,
  pauseAction,
  unpauseAction,
  forceStopAction,
  deleteAction,
];

export const BULK_ACTIONS: readonly Action<VmView>[] = [startAction, stopAction, deleteAction];

/** The request each VM action makes, as RBAC sees it (KubeVirt's subresources are `update`s). */
const ATTEMPTS: Record<string, Attempt> = {
  start: { verb: 'update', group: SUBRESOURCES.group, resource: 'virtualmachines/start' },
  stop: { verb: 'update', group: SUBRESOURCES.group, resource: 'virtualmachines/stop' },
  'force-stop': { verb: 'update', group: SUBRESOURCES.group, resource: 'virtualmachines/stop' },
  restart: { verb: 'update', group: SUBRESOURCES.group, resource: 'virtualmachines/restart' },
  pause: { verb: 'update', group: SUBRESOURCES.group, resource: 'virtualmachineinstances/pause' },
  unpause: { verb: 'update', group: SUBRESOURCES.group, resource: 'virtualmachineinstances/unpause' },
  delete: { verb: 'delete', group: 'kubevirt.io', resource: 'virtualmachines' },
  snapshot: { verb: 'create', group: 'snapshot.kubevirt.io', resource: 'virtualmachinesnapshots' },
  clone: { verb: 'create', group: 'clone.kubevirt.io', resource: 'virtualmachineclones' },
};

/** VM actions disabled, with the reason, where the user's RBAC rules do not allow their request. */
export const permitted = (
  actions: readonly Action<VmView>[],
  may: (attempt: Attempt, namespace: string) => true | string,
): Action<VmView>[] =>
  actions.map((action) => {
    const attempt = ATTEMPTS[action.id];
    return attempt === undefined
      ? action
      : gate(action, (v) => may({ ...attempt, name: nameOf(v.vm) }, namespaceOf(v.vm)));
  });
