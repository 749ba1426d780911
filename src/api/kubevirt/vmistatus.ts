/**
 * Small helpers shared by the writers of VMI status (scheduler, node agent): phase changes with
 * their transition timestamps, and conditions that keep their transition time while unchanged.
 */
import type { Condition, VmiPhase } from './status.js';
import type { VirtualMachineInstance } from './vmi.js';

export type VmiStatus = NonNullable<VirtualMachineInstance['status']>;

export const timestamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function setPhase(status: VmiStatus, phase: VmiPhase, now: Date): void {
  if (status.phase === phase) return;
  status.phase = phase;
  const stamps = (status.phaseTransitionTimestamps ?? []).filter((p) => p.phase !== phase);
  stamps.push({ phase, phaseTransitionTimestamp: now.toISOString() });
  status.phaseTransitionTimestamps = stamps;
}

export function setCondition(
  status: VmiStatus,
  c: Omit<Condition, 'lastTransitionTime' | 'lastProbeTime'>,
  now: Date,
): void {
  const list = status.conditions ?? [];
  const old = list.find((x) => x.type === c.type);
  const next: Condition = {
    ...c,
    lastProbeTime: null,
    lastTransitionTime:
      old !== undefined && old.status === c.status
        ? (old.lastTransitionTime ?? timestamp(now))
        : timestamp(now),
  };
  status.conditions = [...list.filter((x) => x.type !== c.type), next];
}

export function removeCondition(status: VmiStatus, type: string): void {
  if (status.conditions === undefined) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
}
