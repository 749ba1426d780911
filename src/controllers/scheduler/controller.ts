/**
 * The scheduler: places each pending VMI on a node that is ready, matches its nodeSelector and
 * still has the CPU, memory and devices it asks for (allocatable minus what the VMIs already there
 * request). A VMI that fits nowhere stays Pending with a PodScheduled=False condition saying what
 * is short; it is retried whenever a node changes or capacity frees up. What each node's VMIs
 * request is kept in an index fed by the VMI informer (and by its own bindings, so a cache running
 * behind never places two VMIs on the same capacity), so placing a VMI costs no re-listing.
 * Pending VMIs are taken in the order of their PriorityClass's value (highest first); a VMI naming
 * a class that does not exist waits for it. Nothing is preempted.
 */
import { nodeKind } from '../../api/core/core.js';
import type { KubeObject } from '../../api/meta.js';
import { parseQuantity } from '../../api/quantity.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';
import { setCondition, setPhase } from '../../api/kubevirt/vmistatus.js';
import { priorityClassKind, priorityOf, type PriorityClass } from '../../api/scheduling/priorityclass.js';
import { requestsOf, shortages, sumResources, type Resources, type SchedulingPolicy } from './fit.js';

interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: { allocatable?: Record<string, string | number>; conditions?: { type: string; status: string }[] };
}

export class Scheduler extends Reconciler {
  /** node name → uid → requests, for the VMIs bound there and not finished. */
  private readonly placed = new Map<string, Map<string, Resources>>();
  private readonly nodeOf = new Map<string, string>();

  constructor(
    manager: Manager,
    private readonly policy: SchedulingPolicy,
    private readonly now: () => Date = () => new Date(),
    log: (message: string) => void = () => undefined,
  ) {
    super(manager, {
      name: 'scheduler',
      log,
      priority: (key) => this.priorityOfKey(key),
    });
    this.controller.watch(virtualMachineInstanceKind, (object, type) => {
      const vmi = object as VirtualMachineInstance;
      const freed = this.track(vmi, type === 'DELETED');
      // A placed VMI went away or finished: capacity freed up for the ones waiting.
      if (freed) return this.pending();
      return type !== 'DELETED' && isPending(vmi) ? [keyOf(vmi)] : [];
    });
    this.controller.watch(nodeKind, () => this.pending());
    // A class appearing releases the VMIs waiting for it.
    this.controller.watch(priorityClassKind, () => this.pending());
  }

  /** The priority of a pending VMI's class; one naming a missing class comes last (it will wait). */
  private priorityOfKey(key: string): number {
    const [namespace = '', name = ''] = key.split('/');
    const vmi = this.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    return this.priorityOfVmi(vmi) ?? Number.NEGATIVE_INFINITY;
  }

  private priorityOfVmi(vmi: VirtualMachineInstance | undefined): number | undefined {
    return priorityOf(vmi?.spec.priorityClassName, this.api.list<PriorityClass>(priorityClassKind));
  }

  private get api() {
    return this.controller.client;
  }

  override start(): void {
    // The cache is replayed as ADDED events: every VMI is tracked, every pending one queued.
    this.controller.start();
  }

  /** Keeps the index of placed VMIs; returns whether this change freed capacity on a node. */
  private track(vmi: VirtualMachineInstance, deleted: boolean): boolean {
    const uid = vmi.metadata.uid ?? '';
    const node = vmi.status?.nodeName ?? '';
    const before = this.nodeOf.get(uid);
    if (deleted || node === '' || isDone(vmi)) {
      if (before === undefined) return false;
      this.placed.get(before)?.delete(uid);
      this.nodeOf.delete(uid);
      return true;
    }
    if (before !== undefined && before !== node) this.placed.get(before)?.delete(uid);
    let onNode = this.placed.get(node);
    if (onNode === undefined) this.placed.set(node, (onNode = new Map<string, Resources>()));
    onNode.set(uid, requestsOf(vmi, this.policy));
    this.nodeOf.set(uid, node);
    return before !== undefined && before !== node;
  }

  private pending(): string[] {
    return this.api.list<VirtualMachineInstance>(virtualMachineInstanceKind).filter(isPending).map(keyOf);
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const vmi = this.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    if (vmi === undefined || !isPending(vmi)) return;
    if (this.priorityOfVmi(vmi) === undefined) {
      const className = vmi.spec.priorityClassName ?? '';
      await this.unschedulable(vmi, `no PriorityClass with name ${JSON.stringify(className)} was found`);
      return;
    }
    const request = requestsOf(vmi, this.policy);
    const nodes = this.api.list<NodeObject>(nodeKind);
    const reasons: string[] = [];
    for (const node of nodes) {
      const why = this.unfit(node, vmi, request);
      if (why.length === 0) {
        await this.bind(vmi, node.metadata.name ?? '');
        return;
      }
      reasons.push(`node ${JSON.stringify(node.metadata.name ?? '')}: ${why.join('; ')}`);
    }
    const message =
      nodes.length === 0
        ? '0/0 nodes are available: no node has registered'
        : `0/${nodes.length} nodes are available: ${reasons.join(', ')}`;
    await this.unschedulable(vmi, message);
  }

  private async unschedulable(vmi: VirtualMachineInstance, message: string): Promise<void> {
    const namespace = vmi.metadata.namespace ?? '';
    const name = vmi.metadata.name ?? '';
    await this.api.mutate<VirtualMachineInstance>(
      virtualMachineInstanceKind,
      namespace,
      name,
      (current) => {
        if (current.metadata.uid !== vmi.metadata.uid || !isPending(current)) return false;
        const status = current.status ?? {};
        const before = JSON.stringify(status);
        setPhase(status, 'Pending', this.now());
        setCondition(
          status,
          { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message },
          this.now(),
        );
        current.status = status;
        return JSON.stringify(status) !== before;
      },
      true,
    );
  }

  private unfit(node: NodeObject, vmi: VirtualMachineInstance, request: Resources): string[] {
    if (node.spec?.unschedulable === true) return ['node is cordoned (unschedulable)'];
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') return ['node is not ready'];
    const labels = node.metadata.labels ?? {};
    const selector = vmi.spec.nodeSelector ?? {};
    const mismatched = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
    if (mismatched.length > 0)
      return [`node does not match nodeSelector ${mismatched.map(([k, v]) => `${k}=${v}`).join(',')}`];
    const allocatable: Resources = {};
    for (const [k, q] of Object.entries(node.status?.allocatable ?? {}))
      allocatable[k] = parseQuantity(q)?.value ?? 0;
    const placed = [...(this.placed.get(node.metadata.name ?? '') ?? new Map<string, Resources>())]
      .filter(([uid]) => uid !== vmi.metadata.uid)
      .map(([, r]) => r);
    return shortages(request, allocatable, sumResources(placed));
  }

  private async bind(vmi: VirtualMachineInstance, nodeName: string): Promise<void> {
    const bound = await this.api.mutate<VirtualMachineInstance>(
      virtualMachineInstanceKind,
      vmi.metadata.namespace ?? '',
      vmi.metadata.name ?? '',
      (current) => {
        if (current.metadata.uid !== vmi.metadata.uid || !isPending(current)) return false;
        const status = current.status ?? {};
        status.nodeName = nodeName;
        setPhase(status, 'Scheduled', this.now());
        setCondition(
          status,
          {
            type: 'PodScheduled',
            status: 'True',
            reason: 'Scheduled',
            message: `assigned to node ${nodeName}`,
          },
          this.now(),
        );
        current.status = status;
        return true;
      },
      true,
    );
    // Counted at once: the next VMI must not be placed on this capacity before the cache has it.
    if (bound?.status?.nodeName === nodeName) this.track(bound, false);
  }
}

const keyOf = (vmi: VirtualMachineInstance): string =>
  `${vmi.metadata.namespace ?? ''}/${vmi.metadata.name ?? ''}`;

const isDone = (vmi: VirtualMachineInstance): boolean =>
  vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

const isPending = (vmi: VirtualMachineInstance): boolean =>
  vmi.metadata.deletionTimestamp === undefined && (vmi.status?.nodeName ?? '') === '' && !isDone(vmi);
