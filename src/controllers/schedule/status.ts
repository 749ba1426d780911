/**
 * Small pure helpers of the schedule controller: the names of the snapshots it takes, and
 * conditions that keep their transition time while their status holds.
 */
import { createHash } from 'node:crypto';
import type { Condition } from '../../api/kubevirt/status.js';
import { timestamp } from '../../api/kubevirt/vmistatus.js';

/** `<vm>-<schedule>-<yyyymmddhhmm>` (UTC), shortened with a hash where it would pass 253 characters. */
export function snapshotName(vm: string, schedule: string, at: Date): string {
  const stamp = timestamp(at).replace(/[-:T]/g, '').slice(0, 12);
  const base = `${vm}-${schedule}`;
  const room = 253 - stamp.length - 1;
  if (base.length <= room) return `${base}-${stamp}`;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, room - hash.length - 1).replace(/[-.]+$/, '')}-${hash}-${stamp}`;
}

export type WithConditions = { conditions?: Condition[] };

export function setCondition(
  status: WithConditions,
  now: Date,
  c: Omit<Condition, 'lastTransitionTime' | 'lastProbeTime'>,
): void {
  const list = status.conditions ?? [];
  const old = list.find((x) => x.type === c.type);
  const lastTransitionTime =
    old !== undefined && old.status === c.status
      ? (old.lastTransitionTime ?? timestamp(now))
      : timestamp(now);
  status.conditions = [...list.filter((x) => x.type !== c.type), { ...c, lastTransitionTime }];
  status.conditions.sort((a, b) => a.type.localeCompare(b.type));
}

export function removeCondition(status: WithConditions, type: string): void {
  if (status.conditions !== undefined) status.conditions = status.conditions.filter((c) => c.type !== type);
}
