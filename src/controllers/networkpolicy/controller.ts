/**
 * NetworkPolicy controller (the node's policy agent, as Calico's Felix or kube-router are for
 * pods): any change of a NetworkPolicy, a VMI or a Namespace recomputes the whole ruleset from
 * the cache and, when it differs from the one applied, replaces the node's `inet PREFIX_policy`
 * table atomically. Runs only when the pod network is the default network: with QEMU user
 * networking there is no pod IP to filter. The table outlives the control plane, as guests do,
 * and is replaced whole at the next start.
 */
import { namespaceKind } from '../../api/core/core.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { networkPolicyKind, type NetworkPolicy } from '../../api/network/networkpolicy.js';
import { computeVerdicts } from '../../network/policy/model.js';
import type { PolicyFirewall } from '../../network/policy/nft.js';
import { renderPolicyRuleset } from '../../network/policy/render.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';
import { policyNamespaces, policyPods } from './pods.js';

export interface NetworkPolicyControllerOptions {
  manager: Manager;
  firewall: PolicyFirewall;
  /** `PREFIX_policy`, from the data dir's prefix. */
  table: string;
  /** The pod network: its CIDR (pod IPs outside it are ignored) and the node's gateway address. */
  podNetwork: { cidr: string; gateway: string };
  log?: (message: string) => void;
}

/** The one queue key: every change recomputes the whole ruleset. */
const RULESET = 'ruleset';

export class NetworkPolicyController extends Reconciler {
  private applied: string | undefined;

  constructor(private readonly o: NetworkPolicyControllerOptions) {
    super(o.manager, {
      name: 'networkpolicy',
      ...(o.log !== undefined ? { log: o.log } : {}),
      backoff: { baseMs: 500, maxMs: 30_000 },
    });
    const all = () => [RULESET];
    this.controller
      .watch(networkPolicyKind, all)
      .watch(virtualMachineInstanceKind, all)
      .watch(namespaceKind, all);
  }

  override start(): void {
    this.controller.start();
    this.controller.queue.add(RULESET);
  }

  /** The script now in the kernel (undefined before the first success). */
  get ruleset(): string | undefined {
    return this.applied;
  }

  protected async reconcile(): Promise<void> {
    const api = this.controller.client;
    const pods = policyPods(
      api.list<VirtualMachineInstance>(virtualMachineInstanceKind),
      this.o.podNetwork.cidr,
    );
    const verdicts = computeVerdicts(
      api.list<NetworkPolicy>(networkPolicyKind),
      pods,
      policyNamespaces(api.list(namespaceKind)),
    );
    const script = renderPolicyRuleset(verdicts, {
      table: this.o.table,
      nodeAddresses: [this.o.podNetwork.gateway],
    });
    if (script === this.applied) return;
    await this.o.firewall.apply(script);
    this.applied = script;
  }
}
