/**
 * The node agent's side of live CD-ROM media (src/api/kubevirt/trays.ts): it compares what each
 * cdrom drive of a running guest holds (QMP query-block) with the VMI's media, and inserts
 * (blockdev-change-medium, read-only) or ejects them. A medium is a platform volume only: a claim's
 * disk file or a containerDisk from the local image store, never a path from the user.
 */
import { join } from 'node:path';
import { isMediumSource, trayNames } from '../api/kubevirt/trays.js';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { Volume } from '../api/kubevirt/volumes.js';
import { adopt } from '../storage/layers.js';
import { formatOfVolume } from '../storage/pool.js';
import type { ImageSource } from '../storage/containerdisk.js';

/** A file for a tray. `also` are files that count as this medium too (the overlay made at boot). */
export interface Medium {
  path: string;
  format: 'qcow2' | 'raw';
  also?: string[];
}

export type TrayAction = { tray: string; op: 'insert'; medium: Medium } | { tray: string; op: 'eject' };

/**
 * What to do so each tray holds what it should. `wanted` has the trays this agent manages (a medium,
 * or undefined for an empty tray); `held` the file in each drive QEMU has (undefined: empty).
 * A tray QEMU does not know is left alone.
 */
export function trayActions(
  wanted: Map<string, Medium | undefined>,
  held: Map<string, string | undefined>,
): TrayAction[] {
  const out: TrayAction[] = [];
  for (const [tray, medium] of wanted) {
    if (!held.has(tray)) continue;
    const file = held.get(tray);
    if (medium === undefined) {
      if (file !== undefined) out.push({ tray, op: 'eject' });
    } else if (file === undefined || (file !== medium.path && !(medium.also ?? []).includes(file))) {
      out.push({ tray, op: 'insert', medium });
    }
  }
  return out;
}

/** The QEMU device id of a disk (src/hypervisor/render-disks.ts). */
const deviceId = (disk: string): string => `disk-${disk}`;

export interface TrayContext {
  /** The VMI's runtime directory (where the boot overlay of a containerDisk lives). */
  dir: string;
  images: ImageSource;
  claimPath(claimName: string): string | undefined;
  command<T>(name: string, args?: Record<string, unknown>): Promise<T>;
  log(message: string): void;
}

/** The file for a medium volume; undefined when it is not there yet (claim unbound, image pulling). */
async function mediumOf(
  vmi: VirtualMachineInstance,
  v: Volume,
  ctx: TrayContext,
): Promise<Medium | undefined> {
  if (v.containerDisk !== undefined) {
    const got = ctx.images.acquire(v.containerDisk.image, vmi.metadata.uid ?? '');
    if (got.state !== 'ready' || got.image.disk === undefined) return undefined;
    return { path: got.image.disk, format: got.image.format, also: [join(ctx.dir, `${v.name}.qcow2`)] };
  }
  const claim = v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name;
  const path = claim === undefined ? undefined : ctx.claimPath(claim);
  if (path === undefined) return undefined;
  return { path: await adopt(path), format: formatOfVolume(path) };
}

/** After a sync: the trays holding their VMI medium, and whether one is not ready yet (look again). */
export interface TraySync {
  loaded: string[];
  waiting: boolean;
}

/** Brings the guest's trays to the VMI's media. */
export async function syncTrays(vmi: VirtualMachineInstance, ctx: TrayContext): Promise<TraySync> {
  const trays = trayNames(vmi.spec);
  if (trays.size === 0) return { loaded: [], waiting: false };
  const wanted = new Map<string, Medium | undefined>();
  const volumes = new Map((vmi.spec.volumes ?? []).map((v) => [v.name, v]));
  let waiting = false;
  for (const tray of trays) {
    const v = volumes.get(tray);
    if (v === undefined) wanted.set(tray, undefined);
    else if (isMediumSource(v)) {
      const medium = await mediumOf(vmi, v, ctx);
      if (medium === undefined) waiting = true;
      else wanted.set(tray, medium);
    }
  }
  const devices = await ctx.command<{ qdev?: string; inserted?: { file?: string } }[]>('query-block');
  const held = new Map<string, string | undefined>();
  for (const tray of trays) {
    const d = devices.find((x) => x.qdev === deviceId(tray));
    if (d !== undefined) held.set(tray, d.inserted?.file);
  }
  for (const action of trayActions(wanted, held)) {
    const id = deviceId(action.tray);
    if (action.op === 'eject') {
      await ctx.command('eject', { id, force: true });
      ctx.log(`node agent: ejected the medium of cdrom "${action.tray}"`);
    } else {
      await ctx.command('blockdev-change-medium', {
        id,
        filename: action.medium.path,
        format: action.medium.format,
        'read-only-mode': 'read-only',
      });
      ctx.log(`node agent: inserted ${action.medium.path} into cdrom "${action.tray}"`);
    }
  }
  const loaded = [...wanted].filter(([tray, m]) => m !== undefined && held.has(tray)).map(([tray]) => tray);
  return { loaded, waiting };
}

/**
 * The VMI's volumeStatus for its trays, as KubeVirt reports a hotplugged volume: one Ready entry per
 * loaded medium (with `hotplugVolume`), none for an empty tray. Entries of other volumes are kept.
 */
export function trayVolumeStatus(
  current: Record<string, unknown>[] | undefined,
  trays: Set<string>,
  loaded: string[],
): Record<string, unknown>[] {
  const others = (current ?? []).filter((e) => !trays.has(String(e['name'])));
  const mine = loaded.map(
    (name) =>
      (current ?? []).find((e) => e['name'] === name && e['phase'] === 'Ready') ?? {
        name,
        target: '',
        phase: 'Ready',
        reason: 'VolumeReady',
        message: `Successfully attach hotplugged volume ${name} to VM`,
        hotplugVolume: {},
      },
  );
  return [...others, ...mine];
}
