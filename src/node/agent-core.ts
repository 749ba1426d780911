/**
 * What the node agent's phases share (agent.ts dispatches; agent-launch.ts starts guests,
 * agent-terminate.ts stops and forgets them, agent-status.ts reports on them): the options, the
 * runtime's client and work queue, and the QEMU runtimes this agent holds. One object, passed to
 * each phase, so that the phases are plain functions over it rather than one long class.
 */
import { join } from 'node:path';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { Accel } from '../hypervisor/machine.js';
import type { Client } from '../runtime/client.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Manager } from '../runtime/manager.js';
import type { Timers, WorkQueue } from '../runtime/queue.js';
import type { ImageSource } from '../storage/containerdisk.js';
import type { CapacityPolicy } from '../storage/capacity.js';
import type { NetworkSetup } from '../network/setup.js';
import type { DiskTool, IsoTool, QemuProcesses } from './ports.js';
import type { Runtime } from './runtime.js';

export const NODE_AGENT_FINALIZER = 'kubevirt.io/virtualMachineControllerFinalize';

export interface NodeAgentOptions {
  /** The controller runtime: VMIs and Secrets are read from its cache, status written through it. */
  manager: Manager;
  events: EventRecorder;
  nodeName: string;
  dataDir: string;
  accel: Accel;
  images: ImageSource;
  disks: DiskTool;
  iso: IsoTool;
  processes: QemuProcesses;
  /** Where PVC disk files live (the storage pool). */
  claimPath: (namespace: string, claim: string) => string | undefined;
  /** Host side of the NICs (src/network); user networking only when absent. */
  network?: NetworkSetup;
  /** How big emptyDisks may be on the data dir's filesystem (default: 10× its size). */
  capacity?: CapacityPolicy;
  log?: (message: string) => void;
  now?: () => Date;
  /** Timers of the work queue and its retries (tests move time themselves). */
  timers?: Timers;
}

export interface AgentCore {
  readonly o: NodeAgentOptions;
  readonly api: Client;
  readonly queue: WorkQueue;
  readonly log: (message: string) => void;
  readonly now: () => Date;
  readonly network: NetworkSetup;
  /** The QEMU runtimes this agent holds, by VMI uid, and the queue key of each. */
  readonly runtimes: Map<string, Runtime>;
  readonly keys: Map<string, string>;
  /** Set once the agent stops: guests still starting are left running for the next agent. */
  stopped: boolean;
}

/** Retry later without it counting as an error in the log. */
export class Requeue extends Error {}

/**
 * The VMI's runtime directory. Kept short because unix socket paths are limited to 107 bytes:
 * the uid's first 12 hex digits make it unique, the name (cut at 20) makes it readable.
 */
export function dirOf(core: AgentCore, vmi: VirtualMachineInstance): string {
  const uid = (vmi.metadata.uid ?? '').replace(/-/g, '').slice(0, 12);
  return join(core.o.dataDir, 'run', `${(vmi.metadata.name ?? '').slice(0, 20)}-${uid}`);
}
