/**
 * The node agent's network port: before QEMU starts, the host side of every interface of a VMI is
 * prepared (a user-mode network for the default network, a tap on an isolated segment for each
 * secondary network); once QEMU holds its taps they are attached; when the VMI stops everything is
 * released. Each step that creates something pushes its undo, so a failed launch leaves nothing.
 */
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { NicBackend } from '../hypervisor/machine.js';

/** Something the setup can undo (the node agent's UndoStack). */
export interface Undo {
  push(what: string, run: () => Promise<void> | void): void;
}

export interface InterfaceAddress {
  ipAddress: string;
  ipAddresses: string[];
}

export interface PreparedNetwork {
  /** Host side of each interface, keyed by interface name. */
  backends: Record<string, NicBackend>;
  /** Addresses known before the guest runs (the default network's DHCP lease, IPAM leases), by interface name. */
  addresses: Record<string, InterfaceAddress>;
  /** QEMU runs and holds its taps: join them to their segments. */
  started(): Promise<void>;
}

export interface NetworkSetup {
  /**
   * @param macs the MAC of each interface (the spec's, or the stable one the agent derived).
   * @throws NetworkError when a network cannot be joined (the VMI gets a condition; retried).
   */
  prepare(vmi: VirtualMachineInstance, macs: Record<string, string>, undo: Undo): Promise<PreparedNetwork>;
  /** Releases what prepare created for the VMI with this uid; safe to call again, or for a VMI that had nothing. */
  release(uid: string): Promise<void>;
  /** The pod IP of a VMI whose default interface is on the routed pod network (undefined on user networking). */
  podAddress?(uid: string): string | undefined;
}

/** A network the VMI asks for cannot be set up here; `reason` is shared by its condition and event. */
export class NetworkError extends Error {
  constructor(
    readonly reason: 'NetworkUnavailable' | 'NetworkNotFound' | 'NetworkNotSupported',
    message: string,
  ) {
    super(message);
  }
}
