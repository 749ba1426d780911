/**
 * The node agent's reports: a VMI's phase and conditions as its QEMU runtime stands (Ready, Paused
 * with the reason), written only when they change, and the guest agent's poll (AgentConnected,
 * the OS, the addresses the guest sees on each NIC).
 */
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { removeCondition, setCondition, type VmiStatus } from '../api/kubevirt/vmistatus.js';
import type { AgentCore } from './agent-core.js';
import { mergeGuestNic, pollGuestAgent } from './guestinfo.js';
import { podInterfaceName } from '../network/default.js';
import type { Runtime } from './runtime.js';

/** Changes the VMI's status through `change`; writes nothing when it is the same, or another VMI now. */
export async function writeStatus(
  core: AgentCore,
  vmi: VirtualMachineInstance,
  change: (s: VmiStatus) => void,
): Promise<void> {
  await core.api.mutate<VirtualMachineInstance>(
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

export function report(core: AgentCore, vmi: VirtualMachineInstance, rt: Runtime): Promise<void> {
  return writeStatus(core, vmi, (s) => conditions(core, s, rt));
}

export function conditions(core: AgentCore, s: VmiStatus, rt: Runtime): void {
  s.accelerator = core.o.accel;
  setCondition(s, { type: 'Ready', status: 'True', reason: 'Running', message: '' }, core.now());
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
      core.now(),
    );
  else removeCondition(s, 'Paused');
}

/** One round over the running guests' agents (guests without one are slow: rounds do not overlap). */
export async function pollGuestsOnce(core: AgentCore): Promise<void> {
  const byUid = new Map(
    core.api.list<VirtualMachineInstance>(virtualMachineInstanceKind).map((v) => [v.metadata.uid ?? '', v]),
  );
  for (const rt of [...core.runtimes.values()]) {
    const vmi = byUid.get(rt.uid);
    if (core.stopped) return;
    if (vmi === undefined || vmi.status?.phase !== 'Running' || rt.paused) continue;
    const info = await pollGuestAgent(rt.agent);
    await writeStatus(core, vmi, (s) => {
      if (info === undefined) {
        removeCondition(s, 'AgentConnected');
        return;
      }
      setCondition(
        s,
        { type: 'AgentConnected', status: 'True', reason: 'GuestAgentConnected', message: '' },
        core.now(),
      );
      if (info.os !== undefined) s.guestOSInfo = info.os;
      // The pod interface keeps its pod IP: a masquerade guest only knows 10.0.2.2.
      const pod = podInterfaceName(vmi);
      for (const nic of s.interfaces ?? []) {
        const seen = info.interfaces.find((g) => g.mac.toLowerCase() === (nic.mac ?? '').toLowerCase());
        if (seen === undefined) continue;
        mergeGuestNic(nic, seen, nic.name === pod ? core.network.podAddress?.(rt.uid) : undefined);
      }
    });
  }
}
