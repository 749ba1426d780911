/**
 * The node agent (KubeVirt's virt-handler role): runs the VMIs the scheduler placed on this node.
 * For each one it prepares the disks and the cloud-init seed, starts QEMU (detached, so guests
 * outlive the control plane), reports phase and conditions, and carries out stops, pauses and
 * power-downs. After a restart it re-attaches to the QEMUs still running instead of starting
 * second copies. Runs on the controller runtime (src/runtime): VMIs come from the manager's cache.
 *
 * This file holds the agent's own state and dispatches each VMI to its lifecycle phase:
 * agent-launch.ts (start), agent-terminate.ts (stop, finish, let go), agent-status.ts (reports
 * and the guest agent's poll). agent-core.ts is what they share.
 */
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { secretKind } from '../api/core/core.js';
import { effectiveInterfaces } from '../hypervisor/configurators/nics.js';
import type { RuntimePaths } from '../hypervisor/prepared.js';
import { Reconciler } from '../runtime/reconciler.js';
import { podInterfaceName } from '../network/default.js';
import { userNetworking } from '../network/host.js';
import { dirOf, Requeue, type AgentCore, type NodeAgentOptions } from './agent-core.js';
import { Launcher } from './agent-launch.js';
import { pollGuestsOnce, report, writeStatus } from './agent-status.js';
import { finished, finish, release, dropFinalizer, terminate } from './agent-terminate.js';
import type { GuestAgent } from './guestagent.js';
import { GuestActions } from './guest-actions.js';
import { macsOf } from './macs.js';
import { Runtime, runtimePaths } from './runtime.js';
import { syncTrays, trayVolumeStatus } from './trays.js';
import { trayNames } from '../api/kubevirt/trays.js';

export { NODE_AGENT_FINALIZER, type NodeAgentOptions } from './agent-core.js';
export { macsOf } from './macs.js';

/** A running guest as metrics collection sees it (see NodeAgent.running). */
export interface RunningGuest {
  namespace: string;
  name: string;
  uid: string;
  pid: number;
  paths: RuntimePaths;
  paused: boolean;
  command<T>(name: string, args?: Record<string, unknown>): Promise<T>;
  agent: GuestAgent;
  /**
   * `netdev` is the QEMU netdev id; `pod` marks the NIC on the default network, and `podIp` its
   * address when that is the routed pod network (reached directly, without host forwards).
   */
  nics: { name: string; mac: string; netdev: string; pod: boolean; podIp?: string }[];
}

export class NodeAgent extends Reconciler {
  /** Pause, soft reboot, console, VNC and port forwarding on the guests this agent runs. */
  readonly actions: GuestActions;
  private readonly core: AgentCore;
  private readonly launcher: Launcher;
  private guestPoll: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly o: NodeAgentOptions) {
    super(o.manager, {
      name: 'virt-handler',
      log: (m) => this.core.log(m),
      quiet: (err) => err instanceof Requeue,
      backoff: { baseMs: 500, maxMs: 10_000 },
      ...(o.timers !== undefined ? { timers: o.timers } : {}),
    });
    this.controller.watch(virtualMachineInstanceKind).reads(secretKind);
    this.core = {
      o,
      api: this.controller.client,
      queue: this.controller.queue,
      log: o.log ?? (() => undefined),
      now: o.now ?? (() => new Date()),
      network: o.network ?? userNetworking,
      runtimes: new Map(),
      keys: new Map(),
      stopped: false,
    };
    this.launcher = new Launcher(this.core);
    this.actions = new GuestActions({
      vmi: (namespace, name) =>
        this.core.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name),
      runtime: (uid) => this.core.runtimes.get(uid),
      podAddress: (uid) => this.core.network.podAddress?.(uid),
      changed: (namespace, name) => this.controller.queue.add(`${namespace}/${name}`),
    });
  }

  /** Started by the manager once its cache has synced: every VMI is looked at once, then on change. */
  override start(): void {
    this.controller.start();
    this.guestPoll = setInterval(() => void this.pollGuests(), 5000);
    this.guestPoll.unref();
  }

  /** Stops watching and lets go of every QEMU, which keeps running. */
  override stop(): void {
    this.core.stopped = true;
    this.controller.stop();
    if (this.guestPoll !== undefined) clearInterval(this.guestPoll);
    for (const rt of this.core.runtimes.values()) rt.detach();
    this.core.runtimes.clear();
  }

  /** The pid of the QEMU running a VMI, if any (tests and metrics). */
  pidOf(namespace: string, name: string): number | undefined {
    const vmi = this.core.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    return vmi === undefined ? undefined : this.core.runtimes.get(vmi.metadata.uid ?? '')?.pid;
  }

  /**
   * Read-only views of the guests running on this node, for metrics collection: identity, the
   * QEMU pid and runtime paths, QMP, the guest agent, and the NICs with their QEMU netdev names.
   */
  running(): RunningGuest[] {
    const out: RunningGuest[] = [];
    for (const vmi of this.core.api.list<VirtualMachineInstance>(virtualMachineInstanceKind)) {
      const rt = this.core.runtimes.get(vmi.metadata.uid ?? '');
      if (rt === undefined) continue;
      const macs = macsOf(vmi);
      const pod = podInterfaceName(vmi);
      const podIp = this.core.network.podAddress?.(rt.uid);
      out.push({
        namespace: vmi.metadata.namespace ?? '',
        name: vmi.metadata.name ?? '',
        uid: rt.uid,
        pid: rt.pid,
        paths: rt.paths,
        paused: rt.paused,
        command: <T>(name: string, args?: Record<string, unknown>) => rt.command<T>(name, args),
        agent: rt.agent,
        nics: effectiveInterfaces(vmi.spec).map(({ iface }) => ({
          name: iface.name,
          mac: iface.macAddress ?? macs[iface.name] ?? '',
          netdev: `netdev-${iface.name}`,
          pod: iface.name === pod,
          ...(iface.name === pod && podIp !== undefined ? { podIp } : {}),
        })),
      });
    }
    return out;
  }

  /**
   * Grows the disk a running guest has open on `path` (QMP block_resize on its format node): the
   * guest sees the new size at once. False when no guest on this node has that file open.
   */
  async resizeVolume(volumePath: string, bytes: number): Promise<boolean> {
    // A guest has the volume's active layer open by its real path (src/storage/layers.ts).
    const path = await realpath(volumePath).catch(() => volumePath);
    for (const rt of this.core.runtimes.values()) {
      if (!rt.alive()) continue;
      const devices =
        await rt.command<{ inserted?: { file?: string; 'node-name'?: string } }[]>('query-block');
      const node = devices.find((d) => d.inserted?.file === path)?.inserted?.['node-name'];
      if (node === undefined) continue;
      await rt.command('block_resize', { 'node-name': node, size: bytes });
      return true;
    }
    return false;
  }

  protected async reconcile(key: string): Promise<void> {
    const core = this.core;
    const [namespace = '', name = ''] = key.split('/');
    const vmi = core.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    // A runtime whose VMI is gone (its finalizer was removed by hand): stop the guest it ran.
    for (const [uid, rt] of core.runtimes) {
      if (core.keys.get(uid) === key && uid !== vmi?.metadata.uid) {
        core.keys.delete(uid);
        rt.kill();
        rt.detach();
        core.runtimes.delete(uid);
        await core.network.release(uid);
      }
    }
    if (vmi === undefined || vmi.status?.nodeName !== this.o.nodeName) return;
    const uid = vmi.metadata.uid ?? '';
    if (this.launcher.isStarting(uid)) return;
    let rt = core.runtimes.get(uid);
    if (rt === undefined && existsSync(dirOf(core, vmi))) {
      rt = await Runtime.reattach(uid, runtimePaths(dirOf(core, vmi)), this.o.processes, {
        changed: () => core.queue.add(key),
      });
      if (rt !== undefined && core.stopped) {
        rt.detach();
        return;
      }
      if (rt !== undefined) {
        core.runtimes.set(uid, rt);
        core.keys.set(uid, key);
        core.log(`node agent: re-attached to QEMU pid ${rt.pid} of ${key}`);
      }
    }
    const phase = vmi.status?.phase ?? 'Pending';

    if (vmi.metadata.deletionTimestamp !== undefined) return terminate(core, key, vmi, rt);
    if (phase === 'Succeeded' || phase === 'Failed') {
      if (rt !== undefined) await release(core, vmi, rt);
      await dropFinalizer(core, vmi);
      return;
    }
    if (rt !== undefined) {
      if (!rt.alive()) return finished(core, vmi, rt);
      if (phase === 'Running') await this.followTrays(key, vmi, rt);
      return report(core, vmi, rt);
    }
    if (phase === 'Running') {
      // It ran here, and its QEMU is gone: it died while no agent was watching (or the host rebooted).
      return finish(
        core,
        vmi,
        'Failed',
        'QEMUNotFound',
        'the QEMU process of this VMI was not found when the node agent started (it stopped while the agent was down, or the host rebooted)',
      );
    }
    if (phase === 'Scheduled') this.launcher.startInBackground(key, vmi);
  }

  /** Inserts and ejects CD-ROM media as the VMI's volumes say (trays.ts); a failure is logged, not fatal. */
  private async followTrays(key: string, vmi: VirtualMachineInstance, rt: Runtime): Promise<void> {
    const trays = trayNames(vmi.spec);
    if (trays.size === 0) return;
    const namespace = vmi.metadata.namespace ?? '';
    try {
      const { loaded, waiting } = await syncTrays(vmi, {
        dir: dirOf(this.core, vmi),
        images: this.o.images,
        claimPath: (claim) => this.o.claimPath(namespace, claim),
        command: (name, args) => rt.command(name, args),
        log: this.core.log,
      });
      if (waiting) this.core.queue.addAfter(key, 5000);
      await writeStatus(this.core, vmi, (s) => {
        const next = trayVolumeStatus(s.volumeStatus, trays, loaded);
        if (next.length > 0) s.volumeStatus = next;
        else delete s.volumeStatus;
      });
    } catch (err) {
      this.core.log(
        `node agent: failed changing the CD-ROM media of ${key}: ${err instanceof Error ? err.message : String(err)}`,
      );
      this.core.queue.addAfter(key, 5000);
    }
  }

  private async pollGuests(): Promise<void> {
    if (this.polling) return; // a slow round (guests without an agent) is not overlapped by the next
    this.polling = true;
    try {
      await pollGuestsOnce(this.core);
    } catch (err) {
      // The agent may have stopped (and the store closed) while guests were being asked.
      if (!this.core.stopped)
        this.core.log(
          `node agent: guest agent poll failed: ${err instanceof Error ? err.message : String(err)}`,
        );
    } finally {
      this.polling = false;
    }
  }
}
