/**
 * The node's NetworkSetup: every VMI gets user networking on the default network (outbound NAT,
 * 10.0.2.15), and a tap on an isolated segment for each secondary network it names (a
 * NetworkAttachmentDefinition of its own namespace or of `default`, with a `bridge` binding).
 * A host-bridge NetworkAttachmentDefinition puts the tap on an existing bridge of the host instead.
 * A secondary network that cannot be joined stops the launch with a NetworkError, which the node
 * agent reports as a condition on the VMI and retries; VMIs on the default network only never
 * touch bridges, so they run whatever the host allows.
 */
import type { Network } from '../api/kubevirt/volumes.js';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { checkHostBridge, parseCniConfig, BRIDGE_PLUGINS, type CniConfig } from '../api/network/cni.js';
import type { FieldError } from '../api/kind.js';
import { effectiveInterfaces } from '../hypervisor/configurators/nics.js';
import type { NicBackend } from '../hypervisor/machine.js';
import { DEFAULT_GUEST_ADDRESS, defaultBackend, podInterfaceName, secondaryNetworks } from './default.js';
import type { PodNetwork } from './pod/pod.js';
import { attachPod, joinPod } from './pod/setup.js';
import type { Segments } from './segments.js';
import {
  NetworkError,
  type InterfaceAddress,
  type NetworkSetup,
  type PreparedNetwork,
  type Undo,
} from './setup.js';

/** Namespaces whose NetworkAttachmentDefinitions every namespace may use (Multus' globalNamespaces). */
export const GLOBAL_NETWORK_NAMESPACES = ['default'];

export interface HostNetworkingOptions {
  /** Guests on the default network reach the outside through NAT (restrict=off). Default true. */
  outbound?: boolean;
  /** The routed pod network; absent: the default network is QEMU user networking. */
  pod?: PodNetwork;
  /** Secondary networks; absent: any VMI naming one gets NetworkUnavailable. */
  segments?: Segments;
  /** Why secondary networks are off here, when known without asking the host (e.g. disabled by option). */
  disabledReason?: string;
  /** The NetworkAttachmentDefinition's spec.config and mode, or undefined when it does not exist. */
  networkConfig(namespace: string, name: string): { config: string; hostBridge: boolean } | undefined;
  /** Why bridges cannot be made on this host; asked once, when a VMI first needs them. */
  unavailable?: () => Promise<string | undefined>;
}

export class HostNetworking implements NetworkSetup {
  private unavailableReason: Promise<string | undefined> | undefined;

  constructor(private readonly o: HostNetworkingOptions) {}

  async prepare(
    vmi: VirtualMachineInstance,
    macs: Record<string, string>,
    undo: Undo,
  ): Promise<PreparedNetwork> {
    const backends: Record<string, NicBackend> = {};
    const addresses: Record<string, InterfaceAddress> = {};
    const pod = podInterfaceName(vmi);
    const secondary = secondaryNetworks(vmi);
    const joins: { ref: { namespace: string; name: string }; iface: string }[] = [];
    const uid = vmi.metadata.uid ?? '';
    let podJoin = false;
    for (const { iface } of effectiveInterfaces(vmi.spec)) {
      const ref = secondary[iface.name];
      const podNetwork = this.o.pod;
      if (ref === undefined && iface.name === pod && podNetwork !== undefined) {
        const mac = iface.macAddress?.toLowerCase().replaceAll('-', ':') ?? macs[iface.name] ?? '';
        const sandbox = await attachPod(podNetwork, vmi, iface, mac, undo);
        backends[iface.name] = { kind: 'tap', ifname: sandbox.tap };
        addresses[iface.name] = { ipAddress: sandbox.ip, ipAddresses: [sandbox.ip] };
        podJoin = true;
        continue;
      }
      if (ref === undefined) {
        backends[iface.name] = defaultBackend(this.o.outbound !== false);
        if (iface.name === pod)
          addresses[iface.name] = { ipAddress: DEFAULT_GUEST_ADDRESS, ipAddresses: [DEFAULT_GUEST_ADDRESS] };
        continue;
      }
      const network = (vmi.spec.networks ?? []).find((n) => n.name === iface.name) as Network;
      // Bridge is the binding of secondary networks, and the one an interface without a binding gets.
      const others = [iface.masquerade, iface.sriov, iface.passt, iface.binding].some((b) => b !== undefined);
      const { config, segments } = await this.secondary(
        vmi,
        iface.name,
        network,
        ref,
        iface.bridge !== undefined || !others,
      );
      const names = [vmi.metadata.name ?? '', vmi.spec.hostname].filter(
        (n, i, all): n is string => n !== undefined && n !== '' && all.indexOf(n) === i,
      );
      undo.push(`release the secondary networks of ${vmi.metadata.name ?? ''}`, () => segments.release(uid));
      let attachment;
      try {
        attachment = await segments.attach(ref, config, {
          uid,
          iface: iface.name,
          mac: iface.macAddress?.toLowerCase().replaceAll('-', ':') ?? macs[iface.name] ?? '',
          names,
        });
      } catch (err) {
        throw new NetworkError(
          'NetworkUnavailable',
          `failed joining network ${JSON.stringify(iface.name)} (NetworkAttachmentDefinition ${ref.namespace}/${ref.name}): ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      backends[iface.name] = { kind: 'tap', ifname: attachment.tap };
      if (attachment.ip !== undefined)
        addresses[iface.name] = { ipAddress: attachment.ip, ipAddresses: [attachment.ip] };
      joins.push({ ref, iface: iface.name });
    }
    return {
      backends,
      addresses,
      started: async () => {
        if (podJoin && this.o.pod !== undefined) await joinPod(this.o.pod, uid);
        const segments = this.o.segments;
        if (segments === undefined) return;
        for (const j of joins) {
          try {
            await segments.join(j.ref, uid, j.iface);
          } catch (err) {
            throw new NetworkError(
              'NetworkUnavailable',
              `failed connecting interface ${JSON.stringify(j.iface)} to network ${j.ref.namespace}/${j.ref.name}: ${err instanceof Error ? err.message : String(err)}`,
            );
          }
        }
      },
    };
  }

  async release(uid: string): Promise<void> {
    await this.o.pod?.release(uid);
    await this.o.segments?.release(uid);
  }

  /** The pod IP of a VMI whose default interface is on the routed pod network. */
  podAddress(uid: string): string | undefined {
    return this.o.pod?.addressOf(uid);
  }

  /** Checks a secondary network can be joined here; returns its parsed configuration and the segments. */
  private async secondary(
    vmi: VirtualMachineInstance,
    iface: string,
    network: Network,
    ref: { namespace: string; name: string },
    bridgeBinding: boolean,
  ): Promise<{ config: CniConfig; segments: Segments }> {
    const what = `network ${JSON.stringify(iface)} (NetworkAttachmentDefinition ${ref.namespace}/${ref.name})`;
    const own = vmi.metadata.namespace ?? 'default';
    if (ref.namespace !== own && !GLOBAL_NETWORK_NAMESPACES.includes(ref.namespace))
      throw new NetworkError(
        'NetworkNotFound',
        `${what}: a VM may only use NetworkAttachmentDefinitions of its own namespace or of ${GLOBAL_NETWORK_NAMESPACES.join(', ')}`,
      );
    if (network.multus?.default === true)
      throw new NetworkError(
        'NetworkNotSupported',
        `${what}: replacing the default network (multus.default) is not supported`,
      );
    if (!bridgeBinding)
      throw new NetworkError(
        'NetworkNotSupported',
        `${what}: secondary networks take the bridge binding (bridge: {})`,
      );
    const nad = this.o.networkConfig(ref.namespace, ref.name);
    if (nad === undefined)
      throw new NetworkError('NetworkNotFound', `${what}: the NetworkAttachmentDefinition does not exist`);
    const errors: FieldError[] = [];
    const config = parseCniConfig(nad.config, errors);
    if (config !== undefined && nad.hostBridge) {
      config.hostBridge = true;
      checkHostBridge(config, errors);
    }
    if (config === undefined || errors.length > 0)
      throw new NetworkError('NetworkNotSupported', `${what}: ${errors.map((e) => e.message).join('; ')}`);
    if (!(BRIDGE_PLUGINS as readonly string[]).includes(config.type))
      throw new NetworkError(
        'NetworkNotSupported',
        `${what}: CNI plugin ${JSON.stringify(config.type)} is not supported on this node; use "bridge"`,
      );
    const segments = this.o.segments;
    const reason =
      this.o.disabledReason ??
      (segments === undefined ? 'secondary networks are not enabled on this node' : await this.hostReason());
    if (reason !== undefined || segments === undefined)
      throw new NetworkError(
        'NetworkUnavailable',
        `${what} cannot be set up on this node: ${reason ?? 'secondary networks are not enabled on this node'}`,
      );
    return { config, segments };
  }

  private hostReason(): Promise<string | undefined> {
    this.unavailableReason ??= (this.o.unavailable ?? (() => Promise.resolve(undefined)))();
    return this.unavailableReason;
  }
}

/** User networking only: what the node agent uses when no network component is wired in. */
export const userNetworking: NetworkSetup = new HostNetworking({ networkConfig: () => undefined });
