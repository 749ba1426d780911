/**
 * Which extents of a volume changed between two backup points, from the layer chain alone (see
 * README.md, "Backups"). A backup point is a frozen layer; the clusters written since the previous
 * point are exactly those allocated in the layers above the previous point's layer, up to and
 * including this point's. `qemu-img map` of the new layer tells, for each extent, the depth of
 * the layer that holds it, so nothing is compared or read. Snapshot merges keep this true: a
 * merged layer's data moves into a layer on the same side of the boundary.
 */
import { lstat, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Extent } from '../backup/types.js';
import { backingOf, type QemuImgRunner } from './layers.js';

interface MapEntry {
  start: number;
  length: number;
  depth: number;
  present?: boolean;
  zero: boolean;
  data: boolean;
}

/** `layer` then its backing files, down to the bottom of the chain. */
export async function chainOf(layer: string): Promise<string[]> {
  const out = [layer];
  for (let b = await backingOf(layer); b !== undefined; b = await backingOf(b)) {
    if (out.includes(b)) throw new Error(`the layer chain of ${layer} loops at ${b}`);
    out.push(b);
  }
  return out;
}

/** The changed extents, or why the disk must be read in full. */
export type ChangeSet =
  { full: false; changed: Extent[] } | { full: true; reason: string; changed: Extent[] };

/**
 * The extents of frozen layer `point` that differ from what the volume held at `previous` (the
 * previous point's frozen layer). Without a usable previous layer: every allocated extent, and why.
 */
export async function changedExtents(
  qemuImg: QemuImgRunner,
  volumePath: string,
  point: string,
  previous: string | undefined,
): Promise<ChangeSet> {
  const chain = await chainOf(point);
  const map = await mapOf(qemuImg, point);
  const allocated = (depthBelow: number): Extent[] =>
    coalesce(
      map
        .filter((e) => e.present !== false && (e.data || e.zero) && e.depth < depthBelow)
        .map((e) => ({ offset: e.start, length: e.length, zero: !e.data })),
    );
  if (previous === undefined) return { full: true, reason: 'first backup', changed: allocated(Infinity) };
  const previousReal = await realpath(previous).catch(() => undefined);
  const depth = previousReal === undefined ? -1 : chain.indexOf(previousReal);
  if (depth < 0) {
    const reason = await brokenBecause(volumePath, previous, previousReal);
    return { full: true, reason: `chain broken: ${reason}`, changed: allocated(Infinity) };
  }
  return { full: false, changed: allocated(depth) };
}

/** Why the previous point's layer is not under this one any more. */
async function brokenBecause(
  volumePath: string,
  previous: string,
  real: string | undefined,
): Promise<string> {
  if (real === undefined) return `the previous backup's layer ${previous} is gone`;
  const link = await lstat(volumePath).catch(() => undefined);
  if (link?.isSymbolicLink() !== true)
    return 'the disk was replaced whole since the previous backup (an import or a restore)';
  if (dirname(real) !== dirname(await realpath(volumePath)))
    return 'the disk was re-created since the previous backup';
  return 'the disk was restored from a snapshot older than the previous backup';
}

async function mapOf(qemuImg: QemuImgRunner, layer: string): Promise<MapEntry[]> {
  const out = await qemuImg(['map', '-U', '--output=json', '-f', 'qcow2', layer]);
  return JSON.parse(out) as MapEntry[];
}

/** Merges touching extents of the same kind (map splits them by depth and host offset). */
function coalesce(extents: Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const e of extents) {
    const last = out[out.length - 1];
    if (last !== undefined && last.zero === e.zero && last.offset + last.length === e.offset)
      last.length += e.length;
    else out.push({ ...e });
  }
  return out;
}
