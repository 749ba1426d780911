/**
 * The node agent's start of a guest: the agent's finalizer on the VMI first, then volumes, the
 * cloud-init seed and the NICs' host side, QEMU launched detached, its QMP opened, and the VMI
 * reported Running. Every step pushes its undo, so a failure rolls back what was made. Starts run
 * side by side (up to MAX_PARALLEL_STARTS); a failed start waits longer each time before the next.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { secretKind } from '../api/core/core.js';
import type { KubeObject } from '../api/meta.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { removeCondition, setCondition, setPhase } from '../api/kubevirt/vmistatus.js';
import { buildMachine } from '../hypervisor/build.js';
import { MachineError } from '../hypervisor/errors.js';
import { renderArgv } from '../hypervisor/render.js';
import { effectiveInterfaces } from '../hypervisor/configurators/nics.js';
import { Backoff } from '../runtime/queue.js';
import { NetworkError } from '../network/setup.js';
import { dirOf, NODE_AGENT_FINALIZER, Requeue, type AgentCore } from './agent-core.js';
import { conditions, writeStatus } from './agent-status.js';
import { finish } from './agent-terminate.js';
import { macsOf } from './macs.js';
import { Runtime, runtimePaths } from './runtime.js';
import { UndoStack } from './undo.js';
import { prepareVolumes, VolumeError } from './volumes.js';

/** QEMU launches in flight at once (boots serialise on 2 cores, launches do not). */
const MAX_PARALLEL_STARTS = 4;

export class Launcher {
  /** VMIs (by uid) whose start is under way. */
  private readonly starting = new Set<string>();
  private activeStarts = 0;
  private readonly startSlots: (() => void)[] = [];
  /** Failed starts wait before the next try (a store refusing writes must not spin the agent). */
  private readonly startBackoff = new Backoff(1000, 60_000);

  constructor(private readonly core: AgentCore) {}

  /** A VMI being started is not touched by sync until its start has finished. */
  isStarting(uid: string): boolean {
    return this.starting.has(uid);
  }

  /**
   * Starts run side by side (up to MAX_PARALLEL_STARTS), so a burst of creates does not queue
   * behind each QEMU launch; the queue goes on with other VMIs meanwhile.
   */
  startInBackground(key: string, vmi: VirtualMachineInstance): void {
    const uid = vmi.metadata.uid ?? '';
    if (this.starting.has(uid)) return;
    this.starting.add(uid);
    const run = async (): Promise<void> => {
      while (this.activeStarts >= MAX_PARALLEL_STARTS)
        await new Promise<void>((r) => this.startSlots.push(r));
      this.activeStarts++;
      try {
        await launch(this.core, key, vmi);
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
        this.core.log(
          `node agent: failed starting ${key} (next try in ${wait / 1000}s): ${err instanceof Error ? err.message : String(err)}`,
        );
        this.core.queue.addAfter(key, wait);
      })
      .finally(() => {
        this.starting.delete(uid);
        if (!retryLater) this.core.queue.add(key);
      });
  }
}

async function launch(core: AgentCore, key: string, vmi: VirtualMachineInstance): Promise<void> {
  const { o } = core;
  // Written to the server (a conflict is retried on its copy): the finalizer is this agent's claim.
  const added = await core.api.mutate<VirtualMachineInstance>(
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
  const dir = dirOf(core, vmi);
  const paths = runtimePaths(dir);
  const undo = new UndoStack();
  await mkdir(dir, { recursive: true });
  undo.push('remove the runtime directory', () => rm(dir, { recursive: true, force: true }));
  const namespace = vmi.metadata.namespace ?? '';
  try {
    const volumes = await prepareVolumes(vmi, {
      dir,
      images: o.images,
      disks: o.disks,
      iso: o.iso,
      secrets: (n) =>
        core.api.get<KubeObject & { data?: Record<string, string> }>(secretKind, namespace, n)?.data ??
        undefined,
      claimPath: (claim) => o.claimPath(namespace, claim),
      ...(o.capacity !== undefined ? { capacity: o.capacity } : {}),
      undo,
    });
    const macs = macsOf(vmi);
    const network = await core.network.prepare(vmi, macs, undo);
    const machine = buildMachine(
      vmi,
      { paths, volumes, macs, backends: network.backends },
      { accel: o.accel },
    );
    const argv = renderArgv(machine);
    await writeFile(join(dir, 'qemu.argv'), `${argv.join('\n')}\n`);
    const pid = await o.processes.launch(argv, join(dir, 'qemu.log'), paths.pidfile);
    undo.push(`kill QEMU ${pid}`, () => o.processes.kill(pid, 'SIGKILL'));
    await network.started();
    const rt = await Runtime.open(vmi.metadata.uid ?? '', paths, pid, o.processes, {
      changed: () => core.queue.add(key),
    });
    undo.commit();
    if (core.stopped) {
      // The agent stopped while this guest was starting: it runs on, and the next agent re-attaches.
      rt.detach();
      return;
    }
    core.runtimes.set(vmi.metadata.uid ?? '', rt);
    core.keys.set(vmi.metadata.uid ?? '', key);
    for (const w of machine.warnings) o.events.record(vmi, 'Warning', 'DeviceSkipped', w);
    if (vmi.status?.conditions?.some((c) => c.type === 'Synchronized' && c.reason === 'Pulling') === true)
      o.events.record(vmi, 'Normal', 'Pulled', 'Successfully pulled the images of its containerDisks');
    o.events.record(
      vmi,
      'Normal',
      'Started',
      `VirtualMachineInstance started (QEMU pid ${pid}, ${o.accel.toUpperCase()})`,
    );
    await writeStatus(core, vmi, (s) => {
      setPhase(s, 'Running', core.now());
      removeCondition(s, 'Synchronized');
      s.interfaces = effectiveInterfaces(vmi.spec).map(({ iface: nic }) => ({
        name: nic.name,
        mac: nic.macAddress ?? macs[nic.name] ?? '',
        ...network.addresses[nic.name],
        infoSource: 'domain',
      }));
      conditions(core, s, rt);
    });
  } catch (err) {
    for (const f of await undo.rollback()) core.log(`node agent: ${f}`);
    if (err instanceof VolumeError || err instanceof NetworkError) {
      const before = vmi.status?.conditions?.find((c) => c.type === 'Synchronized')?.reason;
      await writeStatus(core, vmi, (s) =>
        setCondition(
          s,
          { type: 'Synchronized', status: 'False', reason: err.reason, message: err.message },
          core.now(),
        ),
      );
      // A pull in progress is told once (its progress is in the condition), errors each time.
      if (err instanceof NetworkError) o.events.record(vmi, 'Warning', err.reason, err.message);
      else if (err.eventType === 'Warning' || before !== err.reason)
        o.events.record(vmi, err.eventType, err.reason, err.message);
      core.queue.addAfter(key, err instanceof VolumeError ? (err.retryInMs ?? 5000) : 5000);
      throw new Requeue(err.message);
    }
    if (err instanceof MachineError) return finish(core, vmi, 'Failed', 'InvalidMachine', err.message);
    const message = err instanceof Error ? err.message : String(err);
    o.events.record(vmi, 'Warning', 'SyncFailed', `failed to start the guest: ${message}`);
    return finish(core, vmi, 'Failed', 'SyncFailed', `failed to start the guest: ${message}`);
  }
}
