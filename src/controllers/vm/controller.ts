/**
 * The VM controller (KubeVirt's virt-controller role for VMs): keeps a VirtualMachineInstance
 * running or not according to the VM's runStrategy and its pending start/stop requests, creates
 * that VMI from the template expanded with the instance type and preference (recorded in a
 * ControllerRevision so later edits of the instance type do not resize a running VM), backs off
 * after failures, and writes the VM's status. It talks to nothing but API objects, on the
 * controller runtime (src/runtime): reads from the manager's cache, writes through its client.
 */
import { createHash } from 'node:crypto';
import {
  controllerRevisionKind,
  persistentVolumeClaimKind,
  secretKind,
  type ControllerRevision,
} from '../../api/core/core.js';
import { networkAttachmentDefinitionKind } from '../../api/network/nad.js';
import {
  applyPresets,
  PRESET_ANNOTATION_PREFIX,
  virtualMachineInstancePresetKind,
  type VirtualMachineInstancePreset,
} from '../../api/kubevirt/preset.js';
import {
  virtualMachineClusterInstancetypeKind,
  virtualMachineClusterPreferenceKind,
  virtualMachineInstancetypeKind,
  virtualMachinePreferenceKind,
  type InstancetypeSpec,
  type PreferenceSpec,
} from '../../api/instancetype/instancetype.js';
import { canonicalMatcherKind } from '../../api/instancetype/matcher.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { dataVolumeKind, type DataVolume } from '../../api/cdi/datavolume.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import type { Timers } from '../../runtime/queue.js';
import { isAlreadyExists, objectKey } from '../../runtime/transport.js';
import { ExpansionError, expandSpec } from './expand.js';
import { isFinal, REFERENCE_NOT_FOUND, runStrategyOf, vmStatusView, type VmFacts } from './printable.js';
import { attachmentsOf, claimRef, referencesOf, ReferenceIndex, secretsOf, sourceRef } from './references.js';

export const VM_NAME_LABEL = 'vm.kubevirt.io/name';
export const VM_GENERATION_ANNOTATION = 'kubevirt.io/vm-generation';
export const TEMPLATE_HASH_ANNOTATION = 'hikube.io/template-hash';
/** A VMI that ran this long without failing resets the crash-loop back-off. */
const STABLE_RUN_MS = 60_000;
/** A VM refused by a ResourceQuota tries again this often. */
const QUOTA_RETRY_MS = 10_000;

interface StartFailure {
  consecutiveFailCount?: number;
  retryAfterTimestamp?: string;
  lastFailedVMIUID?: string;
}

interface StateChangeRequest {
  action: 'Start' | 'Stop';
  uid?: string;
  data?: Record<string, string>;
}

export interface VmControllerOptions {
  manager: Manager;
  events: EventRecorder;
  log?: (message: string) => void;
  now?: () => Date;
  timers?: Timers;
}

export class VmController extends Reconciler {
  private readonly references = new ReferenceIndex();
  private readonly api: Client;
  private readonly events: EventRecorder;
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
    if (vm.metadata.deletionTimestamp === undefined) await this.ensureDataVolumes(vm);
    const facts: VmFacts = {
      missingPvcs: this.missingPvcs(vm),
      missingReferences: this.missingReferences(vm),
      restartRequired: false,
      now: this.now(),
      ...this.volumeFacts(vm),
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
        const made = await this.createVmi(vm, revisions);
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
    await this.writeStatus(vm, vmi, facts, failure, requests, revisions);
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

  private missingPvcs(vm: VirtualMachine): string[] {
    const namespace = vm.metadata.namespace ?? '';
    const templates = new Set((vm.spec.dataVolumeTemplates ?? []).map((t) => t.metadata?.name));
    const claims = (vm.spec.template.spec?.volumes ?? []).flatMap((v) => {
      if (v.persistentVolumeClaim !== undefined) return [v.persistentVolumeClaim.claimName];
      if (
        v.dataVolume !== undefined &&
        !templates.has(v.dataVolume.name) &&
        this.api.get(dataVolumeKind, namespace, v.dataVolume.name) === undefined
      )
        return [v.dataVolume.name];
      return [];
    });
    return claims.filter((c) => this.api.get(persistentVolumeClaimKind, namespace, c) === undefined);
  }

  /** Secrets and network attachment definitions the VM names that do not exist (yet). */
  private missingReferences(vm: VirtualMachine): string[] {
    const namespace = vm.metadata.namespace ?? '';
    const secrets = secretsOf(vm)
      .filter((n) => this.api.get(secretKind, namespace, n) === undefined)
      .map((n) => `Secret ${JSON.stringify(n)}`);
    const nads = attachmentsOf(vm)
      .filter(([ns, n]) => this.api.get(networkAttachmentDefinitionKind, ns, n) === undefined)
      .map(([ns, n]) => `NetworkAttachmentDefinition ${JSON.stringify(`${ns}/${n}`)}`);
    return [...secrets, ...nads];
  }

  /** Creates the DataVolumes of spec.dataVolumeTemplates that do not exist yet, owned by the VM. */
  private async ensureDataVolumes(vm: VirtualMachine): Promise<void> {
    const namespace = vm.metadata.namespace ?? '';
    for (const t of vm.spec.dataVolumeTemplates ?? []) {
      const name = t.metadata?.name;
      if (name === undefined || this.api.get(dataVolumeKind, namespace, name) !== undefined) continue;
      try {
        await this.api.create<DataVolume>(dataVolumeKind, {
          apiVersion: 'cdi.kubevirt.io/v1beta1',
          kind: 'DataVolume',
          metadata: {
            name,
            namespace,
            ...(t.metadata?.labels !== undefined ? { labels: t.metadata.labels } : {}),
            ...(t.metadata?.annotations !== undefined ? { annotations: t.metadata.annotations } : {}),
            ownerReferences: [
              {
                apiVersion: 'kubevirt.io/v1',
                kind: 'VirtualMachine',
                name: vm.metadata.name ?? '',
                uid: vm.metadata.uid ?? '',
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: t.spec,
        });
        this.events.record(vm, 'Normal', 'SuccessfulDataVolumeCreate', `Created DataVolume ${name}`);
      } catch (err) {
        // Created a moment ago, not in the cache yet.
        if (isAlreadyExists(err)) continue;
        const message = err instanceof Error ? err.message : String(err);
        this.events.record(
          vm,
          'Warning',
          'FailedDataVolumeCreate',
          `Error creating DataVolume ${name}: ${message}`,
        );
      }
    }
  }

  /** DataVolumes not populated yet or failed, and claims not bound yet, among the VM's volumes. */
  private volumeFacts(vm: VirtualMachine): Pick<VmFacts, 'dataVolumes' | 'unboundPvcs'> {
    const namespace = vm.metadata.namespace ?? '';
    const templates = new Set((vm.spec.dataVolumeTemplates ?? []).map((t) => t.metadata?.name));
    const pending: string[] = [];
    const errors: string[] = [];
    const unbound: string[] = [];
    let usesDataVolumes = false;
    const checkDv = (name: string, dv: DataVolume | undefined): void => {
      usesDataVolumes = true;
      if (dv === undefined) {
        if (templates.has(name)) pending.push(`${name} (not created yet)`);
        return;
      }
      const phase = dv.status?.phase ?? 'Pending';
      const running = dv.status?.conditions?.find((c) => c.type === 'Running');
      if (phase === 'Failed') errors.push(`DataVolume ${name} failed: ${running?.message ?? ''}`);
      else if (
        running?.status === 'False' &&
        running.reason !== undefined &&
        !['Pending', 'Completed'].includes(running.reason)
      )
        errors.push(`DataVolume ${name}: ${running.message ?? running.reason}`);
      else if (phase !== 'Succeeded') pending.push(`${name} (${phase})`);
    };
    for (const v of vm.spec.template.spec?.volumes ?? []) {
      const name = v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName;
      if (name === undefined) continue;
      const dv = this.api.get<DataVolume>(dataVolumeKind, namespace, name);
      const claim = this.api.get<KubeObject & { status?: { phase?: string } }>(
        persistentVolumeClaimKind,
        namespace,
        name,
      );
      const owner = claim?.metadata.ownerReferences?.find(
        (r) => r.kind === 'DataVolume' && r.controller === true,
      );
      if (v.dataVolume !== undefined && (dv !== undefined || claim === undefined)) checkDv(name, dv);
      else if (owner !== undefined && dv?.metadata.uid === owner.uid) checkDv(name, dv);
      else if (claim?.status?.phase === 'Pending') unbound.push(name);
    }
    return {
      ...(usesDataVolumes ? { dataVolumes: { pending, errors } } : {}),
      ...(unbound.length > 0 ? { unboundPvcs: unbound } : {}),
    };
  }

  private async createVmi(
    vm: VirtualMachine,
    refs: RevisionRefs,
  ): Promise<{ vmi: VirtualMachineInstance; revisions: RevisionRefs }> {
    const namespace = vm.metadata.namespace ?? '';
    const name = vm.metadata.name ?? '';
    const template = vm.spec.template;
    if (template.spec === undefined) throw new Error('the VM template has no spec');
    const it = await this.revision<InstancetypeSpec>(vm, 'instancetype', refs.instancetype);
    const pref = await this.revision<PreferenceSpec>(vm, 'preference', refs.preference);
    const spec = expandSpec(template.spec, it?.spec, pref?.spec);
    spec.domain.firmware = { ...spec.domain.firmware, uuid: spec.domain.firmware?.uuid ?? firmwareUuid(vm) };
    // Deprecated VirtualMachineInstancePresets, merged as KubeVirt merged them into new VMIs.
    const labels = { ...template.metadata?.labels, [VM_NAME_LABEL]: name };
    const presets = applyPresets(
      spec.domain,
      labels,
      this.api.list<VirtualMachineInstancePreset>(virtualMachineInstancePresetKind, namespace),
    );
    spec.domain = presets.domain;
    for (const c of presets.conflicts)
      this.events.record(
        vm,
        'Warning',
        'PresetFailed',
        `Unable to apply VirtualMachineInstancePreset ${c.preset}: it conflicts with ${c.paths.join(', ')}`,
      );
    const vmi: VirtualMachineInstance = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name,
        namespace,
        labels,
        annotations: {
          ...template.metadata?.annotations,
          ...Object.fromEntries(
            presets.applied.map((p) => [`${PRESET_ANNOTATION_PREFIX}${p}`, 'kubevirt.io/v1']),
          ),
          [VM_GENERATION_ANNOTATION]: String(vm.metadata.generation ?? 1),
          [TEMPLATE_HASH_ANNOTATION]: templateHash(vm),
        },
        ownerReferences: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name,
            uid: vm.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec,
      status: { phase: 'Pending' },
    };
    const created = await this.api.create(virtualMachineInstanceKind, vmi);
    this.events.record(
      vm,
      'Normal',
      'SuccessfulCreate',
      `Started the virtual machine by creating the new virtual machine instance ${name}`,
    );
    return { vmi: created, revisions: { instancetype: it?.ref, preference: pref?.ref } };
  }

  /** The instance type or preference the VM runs with: the recorded revision if any, else the current object, recorded now. */
  private async revision<S>(
    vm: VirtualMachine,
    which: 'instancetype' | 'preference',
    recorded: RevisionRef | undefined,
  ): Promise<{ spec: S; ref: RevisionRef } | undefined> {
    const matcher = vm.spec[which];
    if (matcher?.name === undefined) return undefined;
    const namespace = vm.metadata.namespace ?? '';
    const kind = canonicalMatcherKind(which, matcher.kind);
    if (kind === undefined)
      throw new ExpansionError(`spec.${which}.kind`, `unsupported kind ${JSON.stringify(matcher.kind)}`);
    if (recorded !== undefined && recorded.name === matcher.name && recorded.kind === kind) {
      const rev = this.api.get<ControllerRevision>(
        controllerRevisionKind,
        namespace,
        recorded.controllerRevisionRef.name,
      );
      const data = rev?.data as { spec?: S } | undefined;
      if (data?.spec !== undefined) return { spec: data.spec, ref: recorded };
    }
    const def = kindFor(which, kind);
    const source = this.api.get<KubeObject & { spec: S }>(def, namespace, matcher.name);
    if (source === undefined) {
      throw new ExpansionError(`spec.${which}.name`, `${kind} ${JSON.stringify(matcher.name)} not found`);
    }
    const revName = `${vm.metadata.name ?? ''}-${matcher.name}-${(source.metadata.uid ?? '').slice(0, 8)}-${source.metadata.generation ?? 1}`;
    if (this.api.get(controllerRevisionKind, namespace, revName) === undefined) {
      // Named after the source's uid and generation: one already there (a stale cache) is this one.
      await this.api
        .create<ControllerRevision>(controllerRevisionKind, {
          apiVersion: 'apps/v1',
          kind: 'ControllerRevision',
          metadata: {
            name: revName,
            namespace,
            labels: { [VM_NAME_LABEL]: vm.metadata.name ?? '' },
            ownerReferences: [
              {
                apiVersion: 'kubevirt.io/v1',
                kind: 'VirtualMachine',
                name: vm.metadata.name ?? '',
                uid: vm.metadata.uid ?? '',
                controller: true,
              },
            ],
          },
          data: {
            apiVersion: source.apiVersion,
            kind: source.kind,
            metadata: { name: matcher.name },
            spec: source.spec,
          },
          revision: source.metadata.generation ?? 1,
        })
        .catch((err: unknown) => {
          if (!isAlreadyExists(err)) throw err;
        });
    }
    return { spec: source.spec, ref: { name: matcher.name, kind, controllerRevisionRef: { name: revName } } };
  }

  private async writeStatus(
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
      this.events.record(
        vm,
        'Warning',
        'FailedPvcNotFound',
        `PVC ${facts.missingPvcs.join(', ')} not found: create it to start the VM`,
      );
    }
    const waiting = view.conditions.find((c) => c.type === 'Failure' && c.reason === REFERENCE_NOT_FOUND);
    const before = vm.status?.conditions?.find((c) => c.type === 'Failure');
    if (waiting !== undefined && before?.message !== waiting.message)
      this.events.record(vm, 'Warning', REFERENCE_NOT_FOUND, waiting.message ?? '');
    if (JSON.stringify(old) === JSON.stringify(next)) return;
    await this.api.mutate<VirtualMachine>(
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
}

interface RevisionRef {
  name: string;
  kind: string;
  controllerRevisionRef: { name: string };
}
interface RevisionRefs {
  instancetype: RevisionRef | undefined;
  preference: RevisionRef | undefined;
}

function kindFor(which: 'instancetype' | 'preference', kind: string): KindDefinition {
  if (which === 'instancetype')
    return kind === 'VirtualMachineInstancetype'
      ? virtualMachineInstancetypeKind
      : virtualMachineClusterInstancetypeKind;
  return kind === 'VirtualMachinePreference'
    ? virtualMachinePreferenceKind
    : virtualMachineClusterPreferenceKind;
}

const ownedBy = (vmi: VirtualMachineInstance, vm: VirtualMachine): boolean =>
  (vmi.metadata.ownerReferences ?? []).some((r) => r.uid === vm.metadata.uid && r.controller === true);

function setOrDelete(o: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

/** What the VMI was made from: a change means the running guest no longer matches the VM. */
function templateHash(vm: VirtualMachine): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        vm.spec.template,
        vm.spec.instancetype?.name,
        vm.spec.instancetype?.kind,
        vm.spec.preference?.name,
        vm.spec.preference?.kind,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
}

/** A stable firmware UUID per VM (SMBIOS system UUID), derived from the VM's uid. */
function firmwareUuid(vm: VirtualMachine): string {
  const h = createHash('sha1')
    .update(`hikube-vm-firmware:${vm.metadata.uid ?? ''}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

function runningSince(vmi: VirtualMachineInstance): Date | undefined {
  if (vmi.status?.phase !== 'Running') return undefined;
  const t = vmi.status.phaseTransitionTimestamps?.find(
    (p) => p.phase === 'Running',
  )?.phaseTransitionTimestamp;
  return t === undefined ? undefined : new Date(t);
}
