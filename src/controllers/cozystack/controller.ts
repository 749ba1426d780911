/**
 * The Cozystack reconciler: keeps the objects compiled from each VMDisk and VMInstance (compile.ts)
 * in step with them, and reports back. What Cozystack does with Helm releases and pre-upgrade Jobs
 * running `kubectl patch`, done as one controller: a VMDisk's DataVolume is created once (its spec
 * is immutable) and its PVC grown when the disk grows; a VMInstance's VirtualMachine, Secrets and
 * Service are created or updated on every change (a Service whose type changes is recreated, as
 * its cluster IP cannot change). Owner references make a deleted VMInstance take its VM, Service
 * and Secrets with it, never its VMDisks.
 */
import { mergeConditions, ownedBy, syncDisk, type DiskContext } from './disks.js';
import { isDeepStrictEqual } from 'node:util';
import { dataSourceKind } from '../../api/cdi/datasource.js';
import { dataVolumeKind, type DataVolume } from '../../api/cdi/datavolume.js';
import { persistentVolumeClaimKind, secretKind } from '../../api/core/core.js';
import { serviceKind, type Service } from '../../api/core/service.js';
import {
  diskObjectName,
  KERNEL_IMAGE_ANNOTATION,
  vmDiskKind,
  type VMDisk,
} from '../../api/cozystack/vmdisk.js';
import { instanceObjectName, vmInstanceKind, type VMInstance } from '../../api/cozystack/vminstance.js';
import type { Condition } from '../../api/kubevirt/status.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import type { KubeObject } from '../../api/meta.js';
import { ApiError } from '../../apiserver/errors.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { compileInstance } from './compile.js';

export interface CozystackControllerOptions {
  manager: Manager;
  events: EventRecorder;
  log?: (message: string) => void;
  now?: () => Date;
}

const INSTANCE_PREFIX = 'vm-instance-';
/** On the VM: the VMInstance runStrategy last written to it. */
export const APPLIED_RUN_STRATEGY = 'vm-instance.hikube.io/applied-run-strategy';
const DISK_PREFIX = 'vm-disk-';

export class CozystackController extends Reconciler {
  private readonly api: Client;
  private readonly now: () => Date;
  private readonly disks: DiskContext;

  constructor(private readonly o: CozystackControllerOptions) {
    super(o.manager, {
      name: 'cozystack',
      ...(o.log !== undefined ? { log: o.log } : {}),
    });
    this.now = o.now ?? (() => new Date());
    this.api = this.controller.client;
    this.disks = { api: this.api, events: o.events, now: this.now };
    const c = this.controller;
    c.watch(vmDiskKind, (d) => [`disk/${keyOf(d)}`, ...this.instancesIn(d.metadata.namespace ?? '')]);
    c.watch(vmInstanceKind, (i) => [`instance/${keyOf(i)}`]);
    for (const def of [dataVolumeKind, persistentVolumeClaimKind])
      c.watch(def, (o) => {
        const name = o.metadata.name ?? '';
        return name.startsWith(DISK_PREFIX)
          ? [`disk/${o.metadata.namespace ?? ''}/${name.slice(DISK_PREFIX.length)}`]
          : [];
      });
    c.watch(dataSourceKind, () => this.api.list<VMDisk>(vmDiskKind).map((d) => `disk/${keyOf(d)}`));
    for (const def of [virtualMachineKind, virtualMachineInstanceKind, serviceKind, secretKind])
      c.watch(def, (o) => {
        const ns = o.metadata.namespace ?? '';
        const name =
          o.metadata.labels?.['app.kubernetes.io/instance'] ??
          (o.metadata.ownerReferences ?? []).find((r) => r.kind === 'VMInstance')?.name;
        if (name?.startsWith(INSTANCE_PREFIX) === true)
          return [`instance/${ns}/${name.slice(INSTANCE_PREFIX.length)}`];
        return name !== undefined && def !== secretKind ? [`instance/${ns}/${name}`] : [];
      });
  }

  private instancesIn(namespace: string): string[] {
    return this.api.list<VMInstance>(vmInstanceKind, namespace).map((i) => `instance/${keyOf(i)}`);
  }

  protected async reconcile(key: string): Promise<void> {
    const [what, namespace = '', name = ''] = key.split('/');
    if (what === 'disk') await syncDisk(this.disks, namespace, name);
    else await this.syncInstance(namespace, name);
  }

  // --- VMInstance -----------------------------------------------------------------------------

  private async syncInstance(namespace: string, name: string): Promise<void> {
    const inst = this.api.get<VMInstance>(vmInstanceKind, namespace, name);
    if (inst === undefined || inst.metadata.deletionTimestamp !== undefined) return;
    const full = instanceObjectName(name);
    const disks = new Map<string, VMDisk>();
    const missing: string[] = [];
    for (const d of inst.spec?.disks ?? []) {
      const found = this.api.get<VMDisk>(vmDiskKind, namespace, d.name);
      if (found === undefined) missing.push(d.name);
      else disks.set(d.name, found);
    }
    const bootDisk = inst.spec?.disks?.[0]?.name;
    const kernelImage =
      bootDisk === undefined
        ? undefined
        : this.api.get<DataVolume>(dataVolumeKind, namespace, diskObjectName(bootDisk))?.metadata
            .annotations?.[KERNEL_IMAGE_ANNOTATION];
    const existing = this.api.get<VirtualMachine>(virtualMachineKind, namespace, full);
    if (existing !== undefined && !ownedBy(existing, inst)) return; // another object's VM; the GC removes it first
    const existingUuid = existing?.spec.template.spec?.domain.firmware?.uuid;
    const compiled = compileInstance(inst, {
      disks,
      ...(kernelImage !== undefined ? { kernelImage } : {}),
      ...(existingUuid !== undefined ? { existingUuid } : {}),
    });
    // start/stop on the VM change its runStrategy (KubeVirt's subresources): that stands until the
    // VMInstance's own runStrategy changes, which the annotation records.
    const desiredRun = compiled.vm.spec.runStrategy ?? 'Always';
    if (
      existing?.metadata.annotations?.[APPLIED_RUN_STRATEGY] === desiredRun &&
      existing.spec.runStrategy !== undefined
    )
      compiled.vm.spec.runStrategy = existing.spec.runStrategy;
    compiled.vm.metadata.annotations = { [APPLIED_RUN_STRATEGY]: desiredRun };

    let vm: VirtualMachine;
    let service: Service | undefined;
    try {
      ({ vm, service } = await this.write(compiled, inst));
    } catch (err) {
      // A compiled object the API refuses (e.g. resources below the profile's requirements).
      if (!(err instanceof ApiError) || err.reason === 'Conflict') throw err;
      this.o.events.record(inst, 'Warning', 'FailedCreate', err.message);
      await this.setFailure(inst, err.message);
      throw err;
    }

    const vmi = this.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, full);
    const before = inst.status?.conditions?.find((c) => c.type === 'Ready');
    if (missing.length > 0 && before?.message !== missingDisksMessage(missing))
      this.o.events.record(inst, 'Warning', 'DiskNotFound', missingDisksMessage(missing));
    await this.setInstanceStatus(inst, vm, vmi, service, missing);
  }

  /** Writes the compiled Secrets, VM and Service; returns the VM and Service as stored. */
  private async write(
    compiled: ReturnType<typeof compileInstance>,
    inst: VMInstance,
  ): Promise<{ vm: VirtualMachine; service: Service | undefined }> {
    const namespace = inst.metadata.namespace ?? '';
    const full = compiled.vm.metadata.name ?? '';
    for (const suffix of ['ssh-keys', 'cloud-init']) {
      const secretName = `${full}-${suffix}`;
      const want = compiled.secrets.find((s) => s.metadata.name === secretName);
      if (want === undefined) await this.deleteOwned(secretKind, namespace, secretName, inst);
      else
        await this.apply(
          secretKind,
          want,
          (cur, next) => isDeepStrictEqual(cur.data, next.data),
          (cur, next) => {
            cur.data = next.data ?? {};
          },
        );
    }
    const vm = await this.apply(
      virtualMachineKind,
      compiled.vm,
      // The VM controller adds revisionName to the matchers: compare without it.
      (cur, next) =>
        isDeepStrictEqual(withoutRevisions(cur.spec), next.spec) &&
        isDeepStrictEqual(cur.metadata.labels, next.metadata.labels) &&
        cur.metadata.annotations?.[APPLIED_RUN_STRATEGY] ===
          next.metadata.annotations?.[APPLIED_RUN_STRATEGY],
      (cur, next) => {
        // The VM controller writes revisionName into the matchers: an unchanged name keeps its revision.
        const spec = structuredClone(next.spec);
        if (spec.instancetype !== undefined && cur.spec.instancetype?.name === spec.instancetype.name)
          spec.instancetype = { ...cur.spec.instancetype, ...spec.instancetype };
        if (spec.preference !== undefined && cur.spec.preference?.name === spec.preference.name)
          spec.preference = { ...cur.spec.preference, ...spec.preference };
        cur.spec = spec;
        cur.metadata.labels = next.metadata.labels ?? {};
        cur.metadata.annotations = { ...cur.metadata.annotations, ...next.metadata.annotations };
      },
    );
    const service = await this.applyService(compiled.service, inst);
    return { vm, service };
  }

  private async setFailure(inst: VMInstance, message: string): Promise<void> {
    await this.api.mutate<VMInstance>(
      vmInstanceKind,
      inst.metadata.namespace ?? '',
      inst.metadata.name ?? '',
      (i) => {
        const before = i.status ?? {};
        const ready: Condition = { type: 'Ready', status: 'False', reason: 'FailedCreate', message };
        const conditions = mergeConditions(before.conditions, [ready], this.now());
        if (isDeepStrictEqual(before.conditions, conditions)) return false;
        i.status = { ...before, conditions };
        return true;
      },
      true,
    );
  }

  /** Creates the object, or updates it when `same` says it differs; returns what is stored. */
  private async apply<T extends KubeObject>(
    def: typeof secretKind,
    want: T,
    same: (cur: T, next: T) => boolean,
    change: (cur: T, next: T) => void,
  ): Promise<T> {
    const namespace = want.metadata.namespace ?? '';
    const name = want.metadata.name ?? '';
    const cur = this.api.get<T>(def, namespace, name);
    if (cur === undefined) return this.api.create<T>(def, want);
    if (same(cur, want)) return cur;
    return (
      (await this.api.mutate<T>(def, namespace, name, (c) => {
        change(c, want);
        c.metadata.ownerReferences = want.metadata.ownerReferences ?? [];
      })) ?? cur
    );
  }

  private async applyService(want: Service, inst: VMInstance): Promise<Service | undefined> {
    const namespace = want.metadata.namespace ?? '';
    const name = want.metadata.name ?? '';
    const cur = this.api.get<Service>(serviceKind, namespace, name);
    if (cur !== undefined && !ownedBy(cur, inst)) return undefined;
    if (cur !== undefined && (cur.spec?.type ?? 'ClusterIP') !== want.spec?.type) {
      // A headless service cannot become a load balancer in place (the cluster IP is immutable).
      await this.api.delete(serviceKind, namespace, name);
      this.o.events.record(
        inst,
        'Normal',
        'ServiceRecreated',
        `Service ${name} is now ${want.spec?.type ?? ''}`,
      );
    } else if (cur !== undefined) {
      const ours = (s: Service): unknown => ({
        annotations: s.metadata.annotations ?? {},
        selector: s.spec?.selector,
        ports: (s.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort })),
        policy: s.spec?.externalTrafficPolicy,
      });
      if (isDeepStrictEqual(ours(cur), ours(want))) return cur;
      return this.api.mutate<Service>(serviceKind, namespace, name, (s) => {
        s.metadata.annotations = want.metadata.annotations ?? {};
        if (want.metadata.annotations === undefined) delete s.metadata.annotations;
        const keep = new Map((s.spec?.ports ?? []).map((p) => [p.port, p.nodePort]));
        s.spec = {
          ...s.spec,
          ...want.spec,
          ports: (want.spec?.ports ?? []).map((p) => {
            const nodePort = keep.get(p.port);
            return nodePort === undefined ? p : { ...p, nodePort };
          }),
        };
      });
    }
    return this.api.create<Service>(serviceKind, want);
  }

  private async deleteOwned(
    def: typeof secretKind,
    namespace: string,
    name: string,
    owner: KubeObject,
  ): Promise<void> {
    const cur = this.api.get(def, namespace, name);
    if (cur !== undefined && ownedBy(cur, owner)) await this.api.delete(def, namespace, name);
  }

  private async setInstanceStatus(
    inst: VMInstance,
    vm: VirtualMachine,
    vmi: VirtualMachineInstance | undefined,
    service: Service | undefined,
    missing: string[],
  ): Promise<void> {
    const vmReady = vm.status?.conditions?.find((c) => c.type === 'Ready');
    const restart = vm.status?.conditions?.find((c) => c.type === 'RestartRequired');
    const conditions: Condition[] = [
      missing.length > 0
        ? {
            type: 'Ready',
            status: 'False',
            reason: 'DiskNotFound',
            message: missingDisksMessage(missing),
          }
        : vmReady?.status === 'True'
          ? { type: 'Ready', status: 'True', reason: 'Ready', message: '' }
          : {
              type: 'Ready',
              status: 'False',
              reason: vmReady?.reason ?? 'NotReady',
              message: vmReady?.message ?? `VirtualMachine ${vm.metadata.name ?? ''} is not ready`,
            },
    ];
    if (restart?.status === 'True')
      conditions.push({
        type: 'RestartRequired',
        status: 'True',
        reason: 'RestartRequired',
        message: `the change needs a restart of the VM: hikube restart ${vm.metadata.name ?? ''} (or virtctl restart)`,
      });
    const ips = (vmi?.status?.interfaces ?? []).flatMap(
      (i) => i.ipAddresses ?? (i.ipAddress !== undefined ? [i.ipAddress] : []),
    );
    const ingress =
      service?.spec?.type === 'LoadBalancer' ? service.status?.loadBalancer?.ingress?.[0] : undefined;
    const endpoints =
      ingress?.ip === undefined ? [] : (ingress.ports ?? []).map((p) => `${ingress.ip ?? ''}:${p.port}`);
    await this.api.mutate<VMInstance>(
      vmInstanceKind,
      inst.metadata.namespace ?? '',
      inst.metadata.name ?? '',
      (i) => {
        const before = i.status ?? {};
        const printable = vm.status?.printableStatus;
        const uuid = vm.spec.template.spec?.domain.firmware?.uuid;
        const next: NonNullable<VMInstance['status']> = {
          ...(printable !== undefined ? { printableStatus: printable } : {}),
          ...(ips[0] !== undefined ? { ipAddress: ips[0], ipAddresses: ips } : {}),
          ...(ingress?.ip !== undefined ? { externalAddress: ingress.ip } : {}),
          ...(endpoints.length > 0 ? { externalEndpoints: endpoints } : {}),
          virtualMachine: vm.metadata.name ?? '',
          ...(uuid !== undefined ? { firmwareUUID: uuid } : {}),
          observedGeneration: i.metadata.generation ?? 1,
          conditions: mergeConditions(before.conditions, conditions, this.now()),
        };
        if (isDeepStrictEqual(before, next)) return false;
        i.status = next;
        return true;
      },
      true,
    );
  }
}

const missingDisksMessage = (missing: string[]): string =>
  `waiting for VMDisk ${missing.map((m) => JSON.stringify(m)).join(', ')}: not found`;

function withoutRevisions(spec: VirtualMachine['spec']): VirtualMachine['spec'] {
  const out = structuredClone(spec);
  if (out.instancetype !== undefined) delete out.instancetype.revisionName;
  if (out.preference !== undefined) delete out.preference.revisionName;
  return out;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
