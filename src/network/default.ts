/**
 * The default network (KubeVirt's pod network with the masquerade binding): QEMU user networking.
 * Each guest has a private 10.0.2.0/24 of its own, gets 10.0.2.15 by DHCP from QEMU, and its
 * outbound connections are NATed by QEMU through the host (restrict=off, as a pod reaches the
 * outside); 10.0.2.2 is the host's loopback seen from the guest. Inbound traffic only comes
 * through host forwards on loopback (port-forward, services).
 */
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { effectiveInterfaces } from '../hypervisor/configurators/nics.js';
import type { NicBackend } from '../hypervisor/machine.js';

export const DEFAULT_GUEST_ADDRESS = '10.0.2.15';
export const DEFAULT_HOST_ADDRESS = '10.0.2.2';

/** QEMU user networking for an interface on the default network. */
export function defaultBackend(outbound: boolean): NicBackend {
  return { kind: 'user', restrict: !outbound, hostForwards: [] };
}

/** The interface on the default network, as the node agent names its QEMU netdev (`netdev-NAME`). */
export function podInterfaceName(vmi: VirtualMachineInstance): string | undefined {
  const pods = new Set((vmi.spec.networks ?? []).filter((n) => n.pod !== undefined).map((n) => n.name));
  const found = effectiveInterfaces(vmi.spec).find(({ iface }) => pods.size === 0 || pods.has(iface.name));
  return found?.iface.name;
}

/** The NetworkAttachmentDefinition each secondary interface joins, as `namespace/name`, keyed by interface. */
export function secondaryNetworks(
  vmi: VirtualMachineInstance,
): Record<string, { namespace: string; name: string }> {
  const out: Record<string, { namespace: string; name: string }> = {};
  const own = vmi.metadata.namespace ?? 'default';
  for (const { iface } of effectiveInterfaces(vmi.spec)) {
    const net = (vmi.spec.networks ?? []).find((n) => n.name === iface.name);
    const ref = net?.multus?.networkName;
    if (ref === undefined) continue;
    const [a = '', b] = ref.split('/');
    out[iface.name] = b === undefined ? { namespace: own, name: a } : { namespace: a, name: b };
  }
  return out;
}
