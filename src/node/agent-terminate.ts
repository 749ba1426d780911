/**
 * The node agent's end of a guest: a graceful stop when its VMI is deleted (ACPI power-down, then
 * kill once the grace period is over), the final phase when QEMU is gone (Succeeded after a
 * power-off, Failed after a crash), and letting go: overlays discarded, network released, the
 * agent's finalizer removed so the VMI can go.
 */
import { rm } from 'node:fs/promises';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { removeCondition, setCondition, setPhase } from '../api/kubevirt/vmistatus.js';
import { dirOf, NODE_AGENT_FINALIZER, type AgentCore } from './agent-core.js';
import { writeStatus } from './agent-status.js';
import type { Runtime } from './runtime.js';

const DEFAULT_GRACE_SECONDS = 30;

/** Graceful stop on deletion: ACPI power-down, then kill once the grace period is over. */
export async function terminate(
  core: AgentCore,
  key: string,
  vmi: VirtualMachineInstance,
  rt: Runtime | undefined,
): Promise<void> {
  if (rt !== undefined && rt.alive()) {
    const grace =
      vmi.metadata.deletionGracePeriodSeconds ??
      vmi.spec.terminationGracePeriodSeconds ??
      DEFAULT_GRACE_SECONDS;
    const since = Date.parse(vmi.metadata.deletionTimestamp ?? '') || Date.now();
    const deadline = Math.max(since, rt.stopRequestedAt ?? since) + grace * 1000;
    if (grace === 0 || Date.now() >= deadline) {
      rt.kill();
      core.o.events.record(
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
        core.o.events.record(
          vmi,
          'Normal',
          'ShuttingDown',
          `signalled the guest to power off (grace period ${grace}s)`,
        );
      } catch {
        rt.kill();
      }
    }
    core.queue.addAfter(key, Math.min(1000, Math.max(50, deadline - Date.now())));
    return;
  }
  if (rt !== undefined) await release(core, vmi, rt);
  else {
    await rm(dirOf(core, vmi), { recursive: true, force: true });
    await core.network.release(vmi.metadata.uid ?? '');
  }
  await dropFinalizer(core, vmi);
}

export async function finished(core: AgentCore, vmi: VirtualMachineInstance, rt: Runtime): Promise<void> {
  const clean = rt.guestShutdown || rt.stopRequestedAt !== undefined;
  await release(core, vmi, rt);
  if (clean) return finish(core, vmi, 'Succeeded', 'GuestShutdown', 'the guest powered off');
  core.o.events.record(vmi, 'Warning', 'Crashed', 'the QEMU process exited unexpectedly');
  return finish(core, vmi, 'Failed', 'Crashed', 'the QEMU process exited unexpectedly');
}

export async function finish(
  core: AgentCore,
  vmi: VirtualMachineInstance,
  phase: 'Succeeded' | 'Failed',
  reason: string,
  message: string,
): Promise<void> {
  await writeStatus(core, vmi, (s) => {
    setPhase(s, phase, core.now());
    s.reason = reason;
    setCondition(s, { type: 'Ready', status: 'False', reason, message }, core.now());
    removeCondition(s, 'Paused');
    removeCondition(s, 'AgentConnected');
  });
  await rm(dirOf(core, vmi), { recursive: true, force: true });
  await core.network.release(vmi.metadata.uid ?? '');
  await dropFinalizer(core, vmi);
}

/** Forgets a runtime whose QEMU is gone, discarding its overlays and releasing its network. */
export async function release(core: AgentCore, vmi: VirtualMachineInstance, rt: Runtime): Promise<void> {
  rt.detach();
  core.runtimes.delete(rt.uid);
  core.keys.delete(rt.uid);
  await rm(dirOf(core, vmi), { recursive: true, force: true });
  await core.network.release(rt.uid);
}

export async function dropFinalizer(core: AgentCore, vmi: VirtualMachineInstance): Promise<void> {
  await core.api.mutate<VirtualMachineInstance>(
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
}
