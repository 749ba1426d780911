/**
 * The node agent (KubeVirt's virt-handler role): runs the VMIs the scheduler placed on this node.
 * For each one it prepares the disks and the cloud-init seed, starts QEMU (detached, so guests
 * outlive the control plane), reports phase and conditions, and carries out stops, pauses and
 * power-downs. After a restart it re-attaches to the QEMUs still running instead of starting
 * second copies.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { secretKind } from '../api/core/core.js';
import type { KubeObject } from '../api/meta.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { ApiClient } from '../runtime/registry-client.js';
import type { EventRecorder } from '../runtime/events.js';
import { Backoff, WorkQueue, type Timers } from '../runtime/queue.js';
import { removeCondition, setCondition, setPhase, type VmiStatus } from '../api/kubevirt/vmistatus.js';
import { buildMachine } from '../hypervisor/build.js';
import { MachineError } from '../hypervisor/errors.js';
import type { Accel } from '../hypervisor/machine.js';
import { renderArgv } from '../hypervisor/render.js';
import { effectiveInterfaces } from '../hypervisor/configurators/nics.js';
import type { ImageSource } from '../storage/containerdisk.js';
import type { RuntimePaths } from '../hypervisor/prepared.js';
import type { GuestAgent } from './guestagent.js';
import { mergeGuestNic, pollGuestAgent } from './guestinfo.js';
import type { DiskTool, IsoTool, QemuProcesses } from './ports.js';
import { GuestActions } from './guest-actions.js';
import { Runtime, runtimePaths } from './runtime.js';
import { UndoStack } from './undo.js';
import { prepareVolumes, VolumeError } from './volumes.js';
import type { CapacityPolicy } from '../storage/capacity.js';
import { podInterfaceName } from '../network/default.js';
import { userNetworking } from '../network/host.js';
import { NetworkError, type NetworkSetup } from '../network/setup.js';

/** QEMU launches in flight at once (boots serialise on 2 cores, launches do not). */
const MAX_PARALLEL_STARTS = 4;

export const NODE_AGENT_FINALIZER = 'kubevirt.io/virtualMachineControllerFinalize';
const DEFAULT_GRACE_SECONDS = 30;

export interface NodeAgentOptions {
  api: ApiClient;
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

/** Retry later without it counting as an error in the log. */
class Requeue extends Error {}

export class NodeAgent {
  /** Pause, soft reboot, console, VNC and port forwarding on the guests this agent runs. */
  readonly actions: GuestActions;
  private readonly queue: WorkQueue;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly log: (message: string) => void;
  private readonly now: () => Date;
  private readonly network: NetworkSetup;
  private unsubscribe: () => void = () => undefined;
  private guestPoll: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling = false;
  /** VMIs (by uid) whose start is under way, and the queue key of each runtime. */
  private readonly starting = new Set<string>();
  private readonly keys = new Map<string, string>();
  private activeStarts = 0;
  private readonly startSlots: (() => void)[] = [];
  /** Failed starts wait before the next try (a store refusing writes must not spin the agent). */
  private readonly startBackoff = new Backoff(1000, 60_000);

  constructor(private readonly o: NodeAgentOptions) {
    this.log = o.log ?? (() => undefined);
    this.now = o.now ?? (() => new Date());
    this.network = o.network ?? userNetworking;
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => {
        if (!(err instanceof Requeue))
          this.log(`node agent: failed syncing ${key}: ${err instanceof Error ? err.message : String(err)}`);
      },
      o.timers,
      500,
      10_000,
    );
    this.queue.name = 'virt-handler';
    this.actions = new GuestActions({
      vmi: (namespace, name) =>
        this.o.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name),
      runtime: (uid) => this.runtimes.get(uid),
      podAddress: (uid) => this.network.podAddress?.(uid),
      changed: (namespace, name) => this.queue.add(`${namespace}/${name}`),
    });
  }

  start(): void {
    this.unsubscribe = this.o.api.watch([virtualMachineInstanceKind], (e) =>
      this.queue.add(`${e.namespace}/${e.name}`),
    );
    for (const vmi of this.o.api.list<VirtualMachineInstance>(virtualMachineInstanceKind)) {
      this.queue.add(`${vmi.metadata.namespace ?? ''}/${vmi.metadata.name ?? ''}`);
    }
    this.guestPoll = setInterval(() => void this.pollGuests(), 5000);
    this.guestPoll.unref();
  }

  /** Stops watching and lets go of every QEMU, which keeps running. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.queue.stop();
    if (this.guestPoll !== undefined) clearInterval(this.guestPoll);
    for (const rt of this.runtimes.values()) rt.detach();
    this.runtimes.clear();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** The pid of the QEMU running a VMI, if any (tests and metrics). */
  pidOf(namespace: string, name: string): number | undefined {
    const vmi = this.o.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    return vmi === undefined ? undefined : this.runtimes.get(vmi.metadata.uid ?? '')?.pid;
  }

  /**
   * Read-only views of the guests running on this node, for metrics collection: identity, the
   * QEMU pid and runtime paths, QMP, the guest agent, and the NICs with their QEMU netdev names.
   */
  running(): RunningGuest[] {
    const out: RunningGuest[] = [];
    for (const vmi of this.o.api.list<VirtualMachineInstance>(virtualMachineInstanceKind)) {
      const rt = this.runtimes.get(vmi.metadata.uid ?? '');
      if (rt === undefined) continue;
      const macs = macsOf(vmi);
      const pod = podInterfaceName(vmi);
      const podIp = this.network.podAddress?.(rt.uid);
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
    for (const rt of this.runtimes.values()) {
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

  private later(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /**
   * The VMI's runtime directory. Kept short because unix socket paths are limited to 107 bytes:
   * the uid's first 12 hex digits make it unique, the name (cut at 20) makes it readable.
   */
  private dirOf(vmi: VirtualMachineInstance): string {
    const uid = (vmi.metadata.uid ?? '').replace(/-/g, '').slice(0, 12);
    return join(this.o.dataDir, 'run', `${(vmi.metadata.name ?? '').slice(0, 20)}-${uid}`);
  }

  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const vmi = this.o.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, namespace, name);
    // A runtime whose VMI is gone (its finalizer was removed by hand): stop the guest it ran.
    for (const [uid, rt] of this.runtimes) {
      if (this.keys.get(uid) === key && uid !== vmi?.metadata.uid) {
        this.keys.delete(uid);
        rt.kill();
        rt.detach();
        this.runtimes.delete(uid);
        await this.network.release(uid);
      }
    }
    if (vmi === undefined || vmi.status?.nodeName !== this.o.nodeName) return;
    const uid = vmi.metadata.uid ?? '';
    if (this.starting.has(uid)) return;
    let rt = this.runtimes.get(uid);
    if (rt === undefined && existsSync(this.dirOf(vmi))) {
      rt = await Runtime.reattach(uid, runtimePaths(this.dirOf(vmi)), this.o.processes, {
        changed: () => this.queue.add(key),
      });
      if (rt !== undefined && this.stopped) {
        rt.detach();
        return;
      }
      if (rt !== undefined) {
        this.runtimes.set(uid, rt);
        this.keys.set(uid, key);
        this.log(`node agent: re-attached to QEMU pid ${rt.pid} of ${key}`);
      }
    }
    const phase = vmi.status?.phase ?? 'Pending';

    if (vmi.metadata.deletionTimestamp !== undefined) return this.terminate(key, vmi, rt);
    if (phase === 'Succeeded' || phase === 'Failed') {
      if (rt !== undefined) await this.release(vmi, rt);
      await this.dropFinalizer(vmi);
      return;
    }
    if (rt !== undefined) {
      if (!rt.alive()) return this.finished(vmi, rt);
      return this.report(vmi, rt);
    }
    if (phase === 'Running') {
      // It ran here, and its QEMU is gone: it died while no agent was watching (or the host rebooted).
      return this.finish(
        vmi,
        'Failed',
        'QEMUNotFound',
        'the QEMU process of this VMI was not found when the node agent started (it stopped while the agent was down, or the host rebooted)',
      );
    }
    if (phase === 'Scheduled') this.startInBackground(key, vmi);
  }

  /**
   * Starts run side by side (up to MAX_PARALLEL_STARTS), so a burst of creates does not queue
   * behind each QEMU launch; the queue goes on with other VMIs meanwhile. A VMI being started is
   * not touched by sync until its start has finished.
   */
  private startInBackground(key: string, vmi: VirtualMachineInstance): void {
    const uid = vmi.metadata.uid ?? '';
    if (this.starting.has(uid)) return;
    this.starting.add(uid);
    const run = async (): Promise<void> => {
      while (this.activeStarts >= MAX_PARALLEL_STARTS)
        await new Promise<void>((r) => this.startSlots.push(r));
      this.activeStarts++;
      try {
        await this.launch(key, vmi);
      } finally {
        this.activeStarts--;
        this.startSlots.shift()?.();
      }
    };
    let retryLater = false;
    run()
      .then(() => this.startBackoff.forget(key))
      .catch((err: unknown) => {
        // A Requeue has already set a timer for the next try (e.g. an image not imported yet).
        retryLater = true;
        if (err instanceof Requeue) return;
        const wait = this.startBackoff.next(key);
        this.log(
          `node agent: failed starting ${key} (next try in ${wait / 1000}s): ${err instanceof Error ? err.message : String(err)}`,
        );
        this.later(key, wait);
      })
      .finally(() => {
        this.starting.delete(uid);
        if (!retryLater) this.queue.add(key);
      });
  }

  private async launch(key: string, vmi: VirtualMachineInstance): Promise<void> {
    const added = this.o.api.mutate<VirtualMachineInstance>(
      virtualMachineInstanceKind,
      vmi.metadata.namespace ?? '',
      vmi.metadata.name ?? '',
      (v) => {
        if (v.metadata.uid !== vmi.metadata.uid || v.metadata.deletionTimestamp !== undefined) return false;
        if (v.metadata.finalizers?.includes(NODE_AGENT_FINALIZER) === true) return false;
        v.metadata.finalizers = [...(v.metadata.finalizers ?? []), NODE_AGENT_FINALIZER];
        return true;
      },
    );
    if (added === undefined || added.metadata.deletionTimestamp !== undefined) return;
    const dir = this.dirOf(vmi);
    const paths = runtimePaths(dir);
    const undo = new UndoStack();
    await mkdir(dir, { recursive: true });
    undo.push('remove the runtime directory', () => rm(dir, { recursive: true, force: true }));
    const namespace = vmi.metadata.namespace ?? '';
    try {
      const volumes = await prepareVolumes(vmi, {
        dir,
        images: this.o.images,
        disks: this.o.disks,
        iso: this.o.iso,
        secrets: (n) =>
          this.o.api.get<KubeObject & { data?: Record<string, string> }>(secretKind, namespace, n)?.data ??
          undefined,
        claimPath: (claim) => this.o.claimPath(namespace, claim),
        ...(this.o.capacity !== undefined ? { capacity: this.o.capacity } : {}),
        undo,
      });
      const macs = macsOf(vmi);
      const network = await this.network.prepare(vmi, macs, undo);
      const machine = buildMachine(
        vmi,
        { paths, volumes, macs, backends: network.backends },
        { accel: this.o.accel },
      );
      const argv = renderArgv(machine);
      await writeFile(join(dir, 'qemu.argv'), `${argv.join('\n')}\n`);
      const pid = await this.o.processes.launch(argv, join(dir, 'qemu.log'), paths.pidfile);
      undo.push(`kill QEMU ${pid}`, () => this.o.processes.kill(pid, 'SIGKILL'));
      await network.started();
      const rt = await Runtime.open(vmi.metadata.uid ?? '', paths, pid, this.o.processes, {
        changed: () => this.queue.add(key),
      });
      undo.commit();
      if (this.stopped) {
        // The agent stopped while this guest was starting: it runs on, and the next agent re-attaches.
        rt.detach();
        return;
      }
      this.runtimes.set(vmi.metadata.uid ?? '', rt);
      this.keys.set(vmi.metadata.uid ?? '', key);
      for (const w of machine.warnings) this.o.events.record(vmi, 'Warning', 'DeviceSkipped', w);
      if (vmi.status?.conditions?.some((c) => c.type === 'Synchronized' && c.reason === 'Pulling') === true)
        this.o.events.record(vmi, 'Normal', 'Pulled', 'Successfully pulled the images of its containerDisks');
      this.o.events.record(
        vmi,
        'Normal',
        'Started',
        `VirtualMachineInstance started (QEMU pid ${pid}, ${this.o.accel.toUpperCase()})`,
      );
      this.writeStatus(vmi, (s) => {
        setPhase(s, 'Running', this.now());
        removeCondition(s, 'Synchronized');
        s.interfaces = effectiveInterfaces(vmi.spec).map(({ iface: nic }) => ({
          name: nic.name,
          mac: nic.macAddress ?? macs[nic.name] ?? '',
          ...network.addresses[nic.name],
          infoSource: 'domain',
        }));
        this.conditions(s, rt);
      });
    } catch (err) {
      for (const f of await undo.rollback()) this.log(`node agent: ${f}`);
      if (err instanceof VolumeError || err instanceof NetworkError) {
        const before = vmi.status?.conditions?.find((c) => c.type === 'Synchronized')?.reason;
        this.writeStatus(vmi, (s) =>
          setCondition(
            s,
            { type: 'Synchronized', status: 'False', reason: err.reason, message: err.message },
            this.now(),
          ),
        );
        // A pull in progress is told once (its progress is in the condition), errors each time.
        if (err instanceof NetworkError) this.o.events.record(vmi, 'Warning', err.reason, err.message);
        else if (err.eventType === 'Warning' || before !== err.reason)
          this.o.events.record(vmi, err.eventType, err.reason, err.message);
        this.later(key, err instanceof VolumeError ? (err.retryInMs ?? 5000) : 5000);
        throw new Requeue(err.message);
      }
      if (err instanceof MachineError) return this.finish(vmi, 'Failed', 'InvalidMachine', err.message);
      const message = err instanceof Error ? err.message : String(err);
      this.o.events.record(vmi, 'Warning', 'SyncFailed', `failed to start the guest: ${message}`);
      return this.finish(vmi, 'Failed', 'SyncFailed', `failed to start the guest: ${message}`);
    }
  }

  /** Graceful stop on deletion: ACPI power-down, then kill once the grace period is over. */
  private async terminate(key: string, vmi: VirtualMachineInstance, rt: Runtime | undefined): Promise<void> {
    if (rt !== undefined && rt.alive()) {
      const grace =
        vmi.metadata.deletionGracePeriodSeconds ??
        vmi.spec.terminationGracePeriodSeconds ??
        DEFAULT_GRACE_SECONDS;
      const since = Date.parse(vmi.metadata.deletionTimestamp ?? '') || Date.now();
      const deadline = Math.max(since, rt.stopRequestedAt ?? since) + grace * 1000;
      if (grace === 0 || Date.now() >= deadline) {
        rt.kill();
        this.o.events.record(
          vmi,
          'Normal',
          'Killed',
          grace === 0
            ? 'the guest was stopped forcefully'
            : `the guest did not power off within ${grace}s and was killed`,
        );
      } else if (rt.stopRequestedAt === undefined) {
        try {
          await rt.powerdown();
          this.o.events.record(
            vmi,
            'Normal',
            'ShuttingDown',
            `signalled the guest to power off (grace period ${grace}s)`,
          );
        } catch {
          rt.kill();
        }
      }
      this.later(key, Math.min(1000, Math.max(50, deadline - Date.now())));
      return;
    }
    if (rt !== undefined) await this.release(vmi, rt);
    else {
      await rm(this.dirOf(vmi), { recursive: true, force: true });
      await this.network.release(vmi.metadata.uid ?? '');
    }
    await this.dropFinalizer(vmi);
  }

  private async finished(vmi: VirtualMachineInstance, rt: Runtime): Promise<void> {
    const clean = rt.guestShutdown || rt.stopRequestedAt !== undefined;
    await this.release(vmi, rt);
    if (clean) return this.finish(vmi, 'Succeeded', 'GuestShutdown', 'the guest powered off');
    this.o.events.record(vmi, 'Warning', 'Crashed', 'the QEMU process exited unexpectedly');
    return this.finish(vmi, 'Failed', 'Crashed', 'the QEMU process exited unexpectedly');
  }

  private async finish(
    vmi: VirtualMachineInstance,
    phase: 'Succeeded' | 'Failed',
    reason: string,
    message: string,
  ): Promise<void> {
    this.writeStatus(vmi, (s) => {
      setPhase(s, phase, this.now());
      s.reason = reason;
      setCondition(s, { type: 'Ready', status: 'False', reason, message }, this.now());
      removeCondition(s, 'Paused');
      removeCondition(s, 'AgentConnected');
    });
    await rm(this.dirOf(vmi), { recursive: true, force: true });
    await this.network.release(vmi.metadata.uid ?? '');
    await this.dropFinalizer(vmi);
  }

  /** Forgets a runtime whose QEMU is gone, discarding its overlays and releasing its network. */
  private async release(vmi: VirtualMachineInstance, rt: Runtime): Promise<void> {
    rt.detach();
    this.runtimes.delete(rt.uid);
    this.keys.delete(rt.uid);
    await rm(this.dirOf(vmi), { recursive: true, force: true });
    await this.network.release(rt.uid);
  }

  private dropFinalizer(vmi: VirtualMachineInstance): Promise<void> {
    this.o.api.mutate<VirtualMachineInstance>(
      virtualMachineInstanceKind,
      vmi.metadata.namespace ?? '',
      vmi.metadata.name ?? '',
      (v) => {
        if (
          v.metadata.uid !== vmi.metadata.uid ||
          v.metadata.finalizers?.includes(NODE_AGENT_FINALIZER) !== true
        )
          return false;
        v.metadata.finalizers = v.metadata.finalizers.filter((f) => f !== NODE_AGENT_FINALIZER);
        return true;
      },
    );
    return Promise.resolve();
  }

  private report(vmi: VirtualMachineInstance, rt: Runtime): void {
    this.writeStatus(vmi, (s) => this.conditions(s, rt));
  }

  private conditions(s: VmiStatus, rt: Runtime): void {
    s.accelerator = this.o.accel;
    setCondition(s, { type: 'Ready', status: 'True', reason: 'Running', message: '' }, this.now());
    if (rt.paused)
      setCondition(
        s,
        rt.ioError !== undefined
          ? {
              type: 'Paused',
              status: 'True',
              reason: 'PausedIOError',
              message: `VMI was paused, low-level IO error detected: ${rt.ioError}`,
            }
          : { type: 'Paused', status: 'True', reason: 'PausedByUser', message: 'VMI was paused by user' },
        this.now(),
      );
    else removeCondition(s, 'Paused');
  }

  private writeStatus(vmi: VirtualMachineInstance, change: (s: VmiStatus) => void): void {
    this.o.api.mutate<VirtualMachineInstance>(
      virtualMachineInstanceKind,
      vmi.metadata.namespace ?? '',
      vmi.metadata.name ?? '',
      (v) => {
        if (v.metadata.uid !== vmi.metadata.uid) return false;
        const status = structuredClone(v.status ?? {});
        change(status);
        if (JSON.stringify(status) === JSON.stringify(v.status ?? {})) return false;
        v.status = status;
        return true;
      },
      true,
    );
  }

  private async pollGuests(): Promise<void> {
    if (this.polling) return; // a slow round (guests without an agent) is not overlapped by the next
    this.polling = true;
    try {
      await this.pollGuestsOnce();
    } catch (err) {
      // The agent may have stopped (and the store closed) while guests were being asked.
      if (!this.stopped)
        this.log(`node agent: guest agent poll failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.polling = false;
    }
  }

  private async pollGuestsOnce(): Promise<void> {
    const byUid = new Map(
      this.o.api
        .list<VirtualMachineInstance>(virtualMachineInstanceKind)
        .map((v) => [v.metadata.uid ?? '', v]),
    );
    for (const rt of [...this.runtimes.values()]) {
      const vmi = byUid.get(rt.uid);
      if (this.stopped) return;
      if (vmi === undefined || vmi.status?.phase !== 'Running' || rt.paused) continue;
      const info = await pollGuestAgent(rt.agent);
      this.writeStatus(vmi, (s) => {
        if (info === undefined) {
          removeCondition(s, 'AgentConnected');
          return;
        }
        setCondition(
          s,
          { type: 'AgentConnected', status: 'True', reason: 'GuestAgentConnected', message: '' },
          this.now(),
        );
        if (info.os !== undefined) s.guestOSInfo = info.os;
        const pod = podInterfaceName(vmi);
        for (const nic of s.interfaces ?? []) {
          const seen = info.interfaces.find((g) => g.mac.toLowerCase() === (nic.mac ?? '').toLowerCase());
          if (seen === undefined) continue;
          mergeGuestNic(nic, seen, nic.name === pod ? this.network.podAddress?.(rt.uid) : undefined);
        }
      });
    }
  }
}

/** A stable, locally administered MAC per VM and interface (the same across restarts of the VM). */
export function macsOf(vmi: VirtualMachineInstance): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { iface: nic } of effectiveInterfaces(vmi.spec)) {
    const h = createHash('sha256')
      .update(`${vmi.metadata.namespace ?? ''}/${vmi.metadata.name ?? ''}/${nic.name}`)
      .digest();
    out[nic.name] = ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
  }
  return out;
}
