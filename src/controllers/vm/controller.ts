/**
 * The VM controller (KubeVirt's virt-controller role for VMs): keeps a VirtualMachineInstance
 * running or not according to the VM's runStrategy and its pending start/stop requests, creates
 * that VMI from the template expanded with the instance type and preference (recorded in a
 * ControllerRevision so later edits of the instance type do not resize a running VM), backs off
 * after failures, and writes the VM's status. It talks to nothing but API objects, on the
 * controller runtime (src/runtime): reads from the manager's cache, writes through its client.
 */
import { controllerRevisionKind, persistentVolumeClaimKind, secretKind } from '../../api/core/core.js';
import { networkAttachmentDefinitionKind } from '../../api/network/nad.js';
import { virtualMachineInstancePresetKind } from '../../api/kubevirt/preset.js';
import {
  virtualMachineClusterInstancetypeKind,
  virtualMachineClusterPreferenceKind,
  virtualMachineInstancetypeKind,
  virtualMachinePreferenceKind,
} from '../../api/instancetype/instancetype.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { dataVolumeKind } from '../../api/cdi/datavolume.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import type { Timers } from '../../runtime/queue.js';
import { objectKey } from '../../runtime/transport.js';
import { isFinal, runStrategyOf, type VmFacts } from './printable.js';
import {
  createVmi,
  templateHash,
  TEMPLATE_HASH_ANNOTATION,
  type RevisionRef,
  type RevisionRefs,
} from './launch.js';
import { followTrayMedia } from './trays.js';
import { writeStatus, type StartFailure, type StateChangeRequest } from './status.js';
import { ensureDataVolumes, missingPvcs, missingReferences, volumeFacts } from './volumes.js';
import { claimRef, referencesOf, ReferenceIndex, sourceRef } from './references.js';

export { TEMPLATE_HASH_ANNOTATION, VM_GENERATION_ANNOTATION, VM_NAME_LABEL } from './launch.js';

/** What each lifecycle phase reads and writes through: the cache-backed client and the event recorder. */
export interface VmContext {
  readonly api: Client;
  readonly events: EventRecorder;
}

/** A VMI that ran this long without failing resets the crash-loop back-off. */
const STABLE_RUN_MS = 60_000;
/** A VM refused by a ResourceQuota tries again this often. */
const QUOTA_RETRY_MS = 10_000;

export interface VmControllerOptions {
  manager: Manager;
  events: EventRecorder;
  log?: (message: string) => void;
  now?: () => Date;
  timers?: Timers;
}

export class VmController extends Reconciler implements VmContext {
  private readonly references = new ReferenceIndex();
  readonly api: Client;
  readonly events: EventRecorder;
  private readonly now: () => Date;

  constructor(options: VmControllerOptions) {
    super(options.manager, {
      name: 'virtualmachine',
      ...(options.log !== undefined ? { log: options.log } : {}),
      ...(options.timers !== undefined ? { timers: options.timers } : {}),
    });
    this.events = options.events;
    this.now = options.now ?? (() => new Date());
    this.api = this.controller.client;
    // The VM informer's changes keep the index of what each VM references (watched first, so a
    // claim or an instance type seen at start already finds its users).
    this.controller.watch(virtualMachineKind, (vm, type) => {
      const key = objectKey(vm);
      this.references.set(key, type === 'DELETED' ? new Set() : referencesOf(vm as VirtualMachine));
      return [key];
    });
    this.controller.watch(virtualMachineInstanceKind);
    for (const def of [persistentVolumeClaimKind, dataVolumeKind])
      this.controller.watch(def, (o) =>
        this.references.usersOf(claimRef(o.metadata.namespace ?? '', o.metadata.name ?? '')),
      );
    for (const def of [
      virtualMachineInstancetypeKind,
      virtualMachineClusterInstancetypeKind,
      virtualMachinePreferenceKind,
      virtualMachineClusterPreferenceKind,
      secretKind,
      networkAttachmentDefinitionKind,
    ])
      // An instance type, preference, Secret or attachment appeared or changed: the VMs naming it may start now.
      this.controller.watch(def, (o) =>
        this.references.usersOf(sourceRef(def.kind, o.metadata.namespace ?? '', o.metadata.name ?? '')),
      );
    this.controller.reads(controllerRevisionKind);
    this.controller.reads(virtualMachineInstancePresetKind);
  }

  private wakeAt(key: string, at: Date): void {
    this.controller.queue.addAfter(key, at.getTime() - this.now().getTime() + 10);
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const vm = this.api.get<VirtualMachine>(virtualMachineKind, namespace, name);
    if (vm === undefined) return;
    let vmi = this.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    if (vmi !== undefined && !ownedBy(vmi, vm)) vmi = undefined;
    const status = vm.status ?? {};
    const failure: StartFailure = { ...(status.startFailure as StartFailure | undefined) };
    const requests: StateChangeRequest[] = [
      ...((status.stateChangeRequests as StateChangeRequest[] | undefined) ?? []),
    ];
    if (vm.metadata.deletionTimestamp === undefined) await ensureDataVolumes(this, vm);
    const facts: VmFacts = {
      missingPvcs: missingPvcs(this, vm),
      missingReferences: missingReferences(this, vm),
      restartRequired: false,
      now: this.now(),
      ...volumeFacts(this, vm),
    };
    let revisions: RevisionRefs = {
      instancetype: status.instancetypeRef as RevisionRef | undefined,
      preference: status.preferenceRef as RevisionRef | undefined,
    };

    if (vmi !== undefined) this.observeFailure(vm, vmi, failure, key);
    const backoffUntil =
      failure.retryAfterTimestamp !== undefined ? new Date(failure.retryAfterTimestamp) : undefined;
    if (backoffUntil !== undefined) facts.backoffUntil = backoffUntil;
    const backingOff = backoffUntil !== undefined && backoffUntil > facts.now;
    if (backingOff) this.wakeAt(key, backoffUntil);

    const create = async (): Promise<void> => {
      if (facts.missingPvcs.length > 0 || (facts.missingReferences?.length ?? 0) > 0 || backingOff) return;
      // As KubeVirt: no VMI before its DataVolumes are populated.
      if ((facts.dataVolumes?.pending.length ?? 0) + (facts.dataVolumes?.errors.length ?? 0) > 0) return;
      // As KubeVirt: no new VMI while a snapshot or a restore holds the VM (src/controllers/snapshot).
      if (status.snapshotInProgress !== undefined || status.restoreInProgress !== undefined) return;
      // The VMI cache may be behind the VM's (a VMI created a moment ago): ask the server before
      // starting a second guest.
      const live = await this.api.getLive<VirtualMachineInstance>(
        virtualMachineInstanceKind,
        namespace,
        name,
      );
      if (live !== undefined && ownedBy(live, vm)) {
        vmi = live;
        return;
      }
      try {
        const made = await createVmi(this, vm, revisions);
        revisions = made.revisions;
        vmi = made.vmi;
      } catch (err) {
        const reason = 'FailedCreate';
        const message = err instanceof Error ? err.message : String(err);
        facts.createError = { reason, message };
        this.events.record(
          vm,
          'Warning',
          reason,
          `Error creating VirtualMachineInstance ${name}: ${message}`,
        );
        // Room in a quota comes back with no change to this VM: look again, as a ReplicaSet does.
        if (message.includes('exceeded quota')) this.controller.queue.addAfter(key, QUOTA_RETRY_MS);
      }
    };
    const stop = async (why: string, grace?: number): Promise<void> => {
      if (vmi === undefined || vmi.metadata.deletionTimestamp !== undefined) return;
      await this.api.delete(
        virtualMachineInstanceKind,
        namespace,
        name,
        grace !== undefined ? { gracePeriodSeconds: grace } : {},
      );
      this.events.record(
        vm,
        'Normal',
        'SuccessfulDelete',
        `Stopped the virtual machine by deleting the virtual machine instance ${vmi.metadata.uid ?? ''}${why}`,
      );
      vmi = await this.api.getLive<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    };

    if (vm.metadata.deletionTimestamp !== undefined) {
      await stop('');
    } else if (requests.length > 0) {
      const request = requests[0];
      if (request?.action === 'Stop') {
        const grace = request.data?.['gracePeriod'];
        if (vmi !== undefined && (request.uid === undefined || request.uid === vmi.metadata.uid)) {
          await stop('', grace === undefined ? undefined : Number(grace));
          if (grace !== undefined && vmi?.metadata.deletionTimestamp !== undefined) {
            await this.api.delete(virtualMachineInstanceKind, namespace, name, {
              gracePeriodSeconds: Number(grace),
            });
          }
        } else {
          requests.shift();
        }
      } else if (request?.action === 'Start') {
        if (vmi === undefined) {
          await create();
          if (vmi !== undefined) requests.shift();
        } else if (isFinal(vmi)) {
          await stop('');
        } else {
          requests.shift();
        }
      }
      if (
        requests.length > 0 &&
        requests.length !== (status.stateChangeRequests as unknown[] | undefined)?.length
      )
        this.controller.queue.add(key);
    } else {
      const strategy = runStrategyOf(vm);
      if (strategy === 'Halted') {
        await stop('');
        // A VM the user stopped starts afresh: past crashes no longer delay it.
        if (vmi === undefined) for (const k of Object.keys(failure)) delete failure[k as keyof StartFailure];
      } else if (strategy === 'Always') {
        if (vmi === undefined) await create();
        else if (isFinal(vmi))
          await stop(vmi.status?.phase === 'Failed' ? ' after it failed' : ' after the guest shut down');
      } else if (strategy === 'RerunOnFailure') {
        if (vmi === undefined) await create();
        else if (vmi.status?.phase === 'Failed') await stop(' after it failed');
      } else if (strategy === 'Once') {
        if (vmi === undefined && status.created !== true && status.printableStatus !== 'Stopped')
          await create();
      }
    }

    if (vmi !== undefined && vm.metadata.deletionTimestamp === undefined)
      vmi = await followTrayMedia(this.api, vm, vmi);
    if (vmi !== undefined) {
      facts.restartRequired = vmi.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] !== templateHash(vm);
      const running = runningSince(vmi);
      if (running !== undefined && failure.consecutiveFailCount !== undefined) {
        if (facts.now.getTime() - running.getTime() >= STABLE_RUN_MS) {
          delete failure.consecutiveFailCount;
          delete failure.retryAfterTimestamp;
        } else this.wakeAt(key, new Date(running.getTime() + STABLE_RUN_MS));
      }
    }
    await writeStatus(this, vm, vmi, facts, failure, requests, revisions);
  }

  /** Counts a failed VMI once, and sets when the next start may happen. */
  private observeFailure(
    vm: VirtualMachine,
    vmi: VirtualMachineInstance,
    failure: StartFailure,
    key: string,
  ): void {
    if (vmi.status?.phase !== 'Failed' || failure.lastFailedVMIUID === vmi.metadata.uid) return;
    const count = (failure.consecutiveFailCount ?? 0) + 1;
    failure.consecutiveFailCount = count;
    failure.lastFailedVMIUID = vmi.metadata.uid ?? '';
    const delayS = count <= 1 ? 0 : Math.min(300, 5 * 2 ** (count - 2));
    const at = new Date(this.now().getTime() + delayS * 1000);
    failure.retryAfterTimestamp = at.toISOString();
    if (delayS > 0) {
      this.events.record(
        vm,
        'Warning',
        'CrashLoopBackOff',
        `the virtual machine failed ${count} times in a row; next start in ${delayS}s`,
      );
      this.wakeAt(key, at);
    }
  }
}

const ownedBy = (vmi: VirtualMachineInstance, vm: VirtualMachine): boolean =>
  (vmi.metadata.ownerReferences ?? []).some((r) => r.uid === vm.metadata.uid && r.controller === true);

function runningSince(vmi: VirtualMachineInstance): Date | undefined {
  if (vmi.status?.phase !== 'Running') return undefined;
  const t = vmi.status.phaseTransitionTimestamps?.find(
    (p) => p.phase === 'Running',
  )?.phaseTransitionTimestamp;
  return t === undefined ? undefined : new Date(t);
}
