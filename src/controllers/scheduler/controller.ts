/**
 * The scheduler: places each pending VMI on a node that is ready, matches its nodeSelector and
 * still has the CPU, memory and devices it asks for (allocatable minus what the VMIs already there
 * request). A VMI that fits nowhere stays Pending with a PodScheduled=False condition saying what
 * is short; it is retried whenever a node changes or capacity frees up. What each node's VMIs
 * request is kept in an index fed by the (synchronous) change feed, so placing a VMI costs no
 * re-listing of every VMI.
 */
import { nodeKind } from '../../api/core/core.js';
import type { KubeObject } from '../../api/meta.js';
import { parseQuantity } from '../../api/quantity.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import type { ApiClient } from '../../runtime/registry-client.js';
import { WorkQueue } from '../../runtime/queue.js';
import { setCondition, setPhase } from '../vmistatus.js';
import { requestsOf, shortages, sumResources, type Resources, type SchedulingPolicy } from './fit.js';

interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: { allocatable?: Record<string, string | number>; conditions?: { type: string; status: string }[] };
}

export class Scheduler {
  private readonly queue: WorkQueue;
  private unsubscribe: () => void = () => undefined;
  /** node name → uid → requests, for the VMIs bound there and not finished. */
  private readonly placed = new Map<string, Map<string, Resources>>();
  private readonly nodeOf = new Map<string, string>();

  constructor(
    private readonly api: ApiClient,
    private readonly policy: SchedulingPolicy,
    private readonly now: () => Date = () => new Date(),
    log: (message: string) => void = () => undefined,
  ) {
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) =>
        log(`scheduler: failed scheduling ${key}: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.queue.name = 'scheduler';
  }

  start(): void {
    this.unsubscribe = this.api.watch([virtualMachineInstanceKind, nodeKind], (e, def) => {
      if (def === virtualMachineInstanceKind) {
        const vmi = e.object as VirtualMachineInstance;
        const freed = this.track(vmi, e.type === 'DELETED');
        if (e.type !== 'DELETED' && isPending(vmi)) this.queue.add(`${e.namespace}/${e.name}`);
        // A placed VMI went away or finished: capacity freed up for the ones waiting.
        if (freed) this.requeuePending();
        return;
      }
      this.requeuePending();
    });
    for (const vmi of this.api.list<VirtualMachineInstance>(virtualMachineInstanceKind))
      this.track(vmi, false);
    this.requeuePending();
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

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private requeuePending(): void {
    for (const vmi of this.api.list<VirtualMachineInstance>(virtualMachineInstanceKind)) {
      if (isPending(vmi)) this.queue.add(`${vmi.metadata.namespace ?? ''}/${vmi.metadata.name ?? ''}`);
    }
  }

  private sync(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const vmi = this.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    if (vmi === undefined || !isPending(vmi)) return;
    const request = requestsOf(vmi, this.policy);
    const nodes = this.api.list<NodeObject>(nodeKind);
    const reasons: string[] = [];
    for (const node of nodes) {
      const why = this.unfit(node, vmi, request);
      if (why.length === 0) {
        this.bind(vmi, node.metadata.name ?? '');
        return;
      }
      reasons.push(`node ${JSON.stringify(node.metadata.name ?? '')}: ${why.join('; ')}`);
    }
    const message =
      nodes.length === 0
        ? '0/0 nodes are available: no node has registered'
        : `0/${nodes.length} nodes are available: ${reasons.join(', ')}`;
    this.api.mutate<VirtualMachineInstance>(
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

  private bind(vmi: VirtualMachineInstance, nodeName: string): void {
    this.api.mutate<VirtualMachineInstance>(
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
  }
}

const isDone = (vmi: VirtualMachineInstance): boolean =>
  vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

const isPending = (vmi: VirtualMachineInstance): boolean =>
  vmi.metadata.deletionTimestamp === undefined && (vmi.status?.nodeName ?? '') === '' && !isDone(vmi);
