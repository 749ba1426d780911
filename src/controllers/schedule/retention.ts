/**
 * Which of a schedule's snapshots go: beyond the newest `count` of each VM, or older than
 * `maxAge`. Only final snapshots (Succeeded or Failed) ever go: one still InProgress, or not yet
 * picked up by the snapshot controller, is never deleted under it. Pure, so it is table-tested.
 */
import { formatDuration } from '../../api/duration.js';
import { isFinal, type ScheduledSnapshot } from './snapshots.js';

export interface Retention {
  count?: number | undefined;
  maxAgeMs?: number | undefined;
}

export interface Prune {
  snapshot: ScheduledSnapshot;
  why: string;
}

/** Newest first; equal times by name, so the order is stable. */
export const newestFirst = (a: ScheduledSnapshot, b: ScheduledSnapshot): number =>
  b.scheduledTime.getTime() - a.scheduledTime.getTime() || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function toPrune(snapshots: readonly ScheduledSnapshot[], retention: Retention, now: Date): Prune[] {
  const out: Prune[] = [];
  const byVm = new Map<string, ScheduledSnapshot[]>();
  for (const s of snapshots) {
    if (s.deleting) continue;
    byVm.set(s.vm, [...(byVm.get(s.vm) ?? []), s]);
  }
  for (const [vm, list] of byVm) {
    list.sort(newestFirst);
    list.forEach((s, i) => {
      if (!isFinal(s)) return;
      if (retention.count !== undefined && i >= retention.count)
        out.push({
          snapshot: s,
          why: `VM ${vm} has ${retention.count} newer snapshots (retention.count ${retention.count})`,
        });
      else if (
        retention.maxAgeMs !== undefined &&
        now.getTime() - s.scheduledTime.getTime() > retention.maxAgeMs
      )
        out.push({ snapshot: s, why: `older than ${formatDuration(retention.maxAgeMs)} (retention.maxAge)` });
    });
  }
  return out;
}

/** When the next kept snapshot comes of age (to wake then), if ages are limited. */
export function nextExpiry(
  snapshots: readonly ScheduledSnapshot[],
  pruned: readonly Prune[],
  retention: Retention,
): Date | undefined {
  if (retention.maxAgeMs === undefined) return undefined;
  const gone = new Set(pruned.map((p) => p.snapshot.name));
  const times = snapshots
    .filter((s) => !s.deleting && !gone.has(s.name) && isFinal(s))
    .map((s) => s.scheduledTime.getTime() + (retention.maxAgeMs ?? 0) + 1);
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}
