/**
 * The pod network's port at the kernel boundary: the host's gateway link and nftables table, and
 * each pod sandbox (a network namespace with a veth to the host, the guest's bridge, its own
 * nftables table and a dnsmasq). The real adapter (linux.ts) runs `ip`, `sysctl`, `nft` and
 * dnsmasq; unit tests pass a recording fake with the same contract.
 */

import type { SysctlLedger } from '../host-sysctls.js';

export interface HostSide {
  /** A port-less bridge in the host namespace holding the gateway address (no dummy driver here). */
  gatewayLink: string;
  /** The gateway with the CIDR's prefix, e.g. 10.244.0.1/16. */
  gatewayCidr: string;
  /** nft script of the host table (rules.ts). */
  rules: string;
  /** Records the host's settings before they are changed (host-sysctls.ts); none: just set them. */
  ledger?: SysctlLedger | undefined;
}

export type PodBinding = 'masquerade' | 'bridge';

export interface Sandbox {
  /** masquerade: the pod IP on eth0, NAT to the guest; bridge: the pod IP in the guest, proxy ARP both ways. */
  binding: PodBinding;
  netns: string;
  /** Host-side veth (<= 15 characters). */
  veth: string;
  podIp: string;
  gateway: string;
  /** The bridge the guest's tap joins, with its address (CIDR; bridge binding: no prefix route). */
  bridge: string;
  bridgeCidr: string;
  /** nft script run inside the namespace (none with the bridge binding). */
  rules: string | undefined;
}

export interface PodLinks {
  /** Why the pod network cannot run here (not root, a tool missing), or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** Forwarding on, the gateway link up with its address, the host table in place (idempotent). */
  ensureHost(h: HostSide): Promise<void>;
  /** Removes the gateway link and the host table (the last pod is gone), giving forwarding back. */
  removeHost(gatewayLink: string, emptyRules: string, ledger?: SysctlLedger): Promise<void>;
  namespaceExists(netns: string): boolean;
  /** Creates the sandbox: namespace, veth pair, pod IP, routes both ways, bridge, nft table. */
  createSandbox(s: Sandbox): Promise<void>;
  /** Deletes the namespace (and with it the veth pair, the bridge and the tap moved into it). */
  deleteSandbox(netns: string, veth: string): Promise<void>;
  /**
   * Removes the network namespaces and host links whose names `leftover` picks (a crashed run's:
   * the caller decides from the names); returns the names removed.
   */
  sweep(leftover: { netns(name: string): boolean; link(name: string): boolean }): Promise<string[]>;
}
