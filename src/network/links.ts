/**
 * Port for the host's network plumbing that secondary networks need: network namespaces, bridges,
 * taps, and the dnsmasq serving DHCP and DNS on a segment. The real adapter (linux.ts) runs `ip`
 * and dnsmasq; tests pass fakes that keep the same contract.
 */
export interface LinkTool {
  /** Why bridges and taps cannot be made on this host (not root, no `ip`…), or undefined when they can. */
  unavailable(): Promise<string | undefined>;
  namespaceExists(netns: string): boolean;
  /** A new network namespace with loopback up, no forwarding, and bridged frames kept out of netfilter. */
  addNamespace(netns: string): Promise<void>;
  /** Deletes the namespace and everything in it (its bridge, the taps moved into it). */
  deleteNamespace(netns: string): Promise<void>;
  /** A bridge in `netns`, up, with `address` (CIDR) on it when given. */
  addBridge(
    netns: string,
    bridge: string,
    address: string | undefined,
    mtu: number | undefined,
  ): Promise<void>;
  /** A persistent tap in the host namespace, where QEMU (which runs there) opens it. */
  addTap(name: string): Promise<void>;
  /** Moves a tap QEMU holds into `netns` and enslaves it to the bridge, up. */
  joinBridge(tap: string, netns: string, bridge: string): Promise<void>;
  /** Whether a bridge of this name exists in the host namespace (host-bridge networks). */
  hostBridgeExists(bridge: string): boolean;
  /** Enslaves a tap QEMU holds to a bridge of the host namespace, up (the tap stays there). */
  joinHostBridge(tap: string, bridge: string): Promise<void>;
  /** Deletes a tap wherever it is (the host namespace, or `netns` unless empty); no error when it is gone. */
  deleteTap(tap: string, netns: string): Promise<void>;
  /** Starts dnsmasq in `netns` (it daemonizes, writing `pidfile`); resolves once it serves. */
  startDnsmasq(netns: string, args: string[], pidfile: string): Promise<void>;
  /** Whether the process of `pidfile` runs and its command line contains `marker`. */
  running(pidfile: string, marker: string): boolean;
  /** Signals the process of `pidfile` (SIGHUP: reload hosts files; SIGTERM: stop). */
  signal(pidfile: string, signal: NodeJS.Signals): void;
}
