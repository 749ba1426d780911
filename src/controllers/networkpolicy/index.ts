/**
 * Builds the NetworkPolicy controller from the node's network settings: only when the default
 * network is the routed pod network (`mode: pod`); with QEMU user networking there are no pod IPs
 * and NetworkPolicies are stored but not enforced (docs in src/network/README.md).
 */
import { formatIpv4 } from '../../api/network/cni.js';
import { nftFirewall, type PolicyFirewall } from '../../network/policy/nft.js';
import type { ResolvedNetworkOptions } from '../../network/options.js';
import type { Manager } from '../../runtime/manager.js';
import { NetworkPolicyController } from './controller.js';

/** What the controller needs of the node's network options. */
export type PolicyNetworkSettings = Pick<ResolvedNetworkOptions, 'mode' | 'podCidr'>;

export const policyTableName = (prefix: string): string => `${prefix}_policy`;

export function networkPolicyControllerFor(o: {
  manager: Manager;
  /** The data dir's prefix of kernel object names (Segments.prefix). */
  prefix: string;
  network: PolicyNetworkSettings;
  firewall?: PolicyFirewall;
  log?: (message: string) => void;
}): NetworkPolicyController | undefined {
  const cidr = o.network.podCidr;
  if (o.network.mode !== 'pod') return undefined;
  return new NetworkPolicyController({
    manager: o.manager,
    firewall: o.firewall ?? nftFirewall(),
    table: policyTableName(o.prefix),
    podNetwork: { cidr: `${formatIpv4(cidr.network)}/${cidr.prefix}`, gateway: formatIpv4(cidr.network + 1) },
    ...(o.log !== undefined ? { log: o.log } : {}),
  });
}
