/**
 * What the policy compiler needs of the cluster's objects: each VMI on the pod network as a
 * PolicyPod (its pod IP from `status.interfaces[name == podInterfaceName(vmi)]`, the contract of
 * the pod network, and the named ports of that interface), and each Namespace's labels.
 */
import type { KubeObject } from '../../api/meta.js';
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { parseCidr, parseIpv4 } from '../../api/network/cni.js';
import { effectiveInterfaces } from '../../hypervisor/configurators/nics.js';
import { podInterfaceName } from '../../network/default.js';
import { podIpOf as podAddressOf } from '../../network/services/pods.js';
import type { PolicyNamespace, PolicyPod } from '../../network/policy/model.js';

/** The pod IP of a VMI when it has one inside `podCidr`, else undefined. */
export function podIpOf(vmi: VirtualMachineInstance, podCidr: string): string | undefined {
  const ip = podAddressOf(vmi);
  const n = ip === undefined ? undefined : parseIpv4(ip);
  const cidr = parseCidr(podCidr);
  if (n === undefined || cidr === undefined) return undefined;
  const size = 2 ** (32 - cidr.prefix);
  return n >= cidr.network && n < cidr.network + size ? ip : undefined;
}

/**
 * VMIs that hold a pod IP (not those that have finished) as the compiler's pods. An address
 * claimed twice (a VMI being deleted while its address already went to a new one) belongs to the
 * one not being deleted, else the newest: nftables refuses one address twice in a map.
 */
export function policyPods(vmis: readonly VirtualMachineInstance[], podCidr: string): PolicyPod[] {
  const rank = (v: VirtualMachineInstance): string =>
    `${v.metadata.deletionTimestamp === undefined ? 1 : 0}${v.metadata.creationTimestamp ?? ''}`;
  const ordered = [...vmis].sort((a, b) => (rank(a) < rank(b) ? 1 : rank(a) > rank(b) ? -1 : 0));
  const taken = new Set<string>();
  const out: PolicyPod[] = [];
  for (const vmi of ordered) {
    const phase = vmi.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const ip = podIpOf(vmi, podCidr);
    if (ip === undefined || taken.has(ip)) continue;
    taken.add(ip);
    const pod = podInterfaceName(vmi);
    const iface = effectiveInterfaces(vmi.spec).find(({ iface: i }) => i.name === pod)?.iface;
    out.push({
      namespace: vmi.metadata.namespace ?? 'default',
      name: vmi.metadata.name ?? '',
      labels: vmi.metadata.labels ?? {},
      ip,
      ports: (iface?.ports ?? []).flatMap((p) =>
        p.name === undefined ? [] : [{ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' }],
      ),
    });
  }
  return out;
}

export const policyNamespaces = (namespaces: readonly KubeObject[]): PolicyNamespace[] =>
  namespaces.map((ns) => ({ name: ns.metadata.name ?? '', labels: ns.metadata.labels ?? {} }));
