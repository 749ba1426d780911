/**
 * How much thin disk a pool may hand out. Volumes are thin (qcow2, sparse raw): their sizes may
 * add up to more than the filesystem holds, up to the storage overcommit ratio times the
 * filesystem's size (default 10, `hikube up --storage-overcommit`, env HIKUBE_STORAGE_OVERCOMMIT).
 * Past it, or when the filesystem is nearly full, a volume is not made or grown: a guest filling
 * its disk would otherwise fill the filesystem the control plane's store lives on.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatBytes, parseQuantity } from '../api/quantity.js';
import type { PersistentVolume } from '../api/storage/persistentvolume.js';

export const DEFAULT_STORAGE_OVERCOMMIT = 10;
/**
 * Volumes are neither made nor grown while their filesystem has less free than this, or than
 * POOL_LOW_SHARE of its size when that is less (a small pool of its own, e.g. a 16 MiB tmpfs, is
 * still usable).
 */
export const DEFAULT_POOL_LOW_BYTES = 64 * 1024 * 1024;
export const POOL_LOW_SHARE = 0.05;

export interface PoolSpace {
  /** The filesystem's size (free and used). */
  size: number;
  /** Bytes an unprivileged writer may still use. */
  free: number;
}

/** The filesystem facts for a pool directory; the real one is statfs(2). */
export type PoolSpaceOf = (dir: string) => Promise<PoolSpace>;

export const statfsPoolSpace: PoolSpaceOf = async (dir) => {
  const s = await statfs(dir);
  return { size: s.blocks * s.bsize, free: s.bavail * s.bsize };
};

export interface CapacityPolicy {
  /** Thin sizes may total this many times the filesystem's size. */
  overcommit: number;
  lowBytes: number;
  space: PoolSpaceOf;
}

export const defaultCapacityPolicy = (overcommit = DEFAULT_STORAGE_OVERCOMMIT): CapacityPolicy => ({
  overcommit,
  lowBytes: DEFAULT_POOL_LOW_BYTES,
  space: statfsPoolSpace,
});

/** The sizes of the volumes already in the pool directory `dir`. */
export function provisionedBytes(dir: string, volumes: readonly PersistentVolume[]): number {
  let total = 0;
  for (const pv of volumes) {
    const path = pv.spec.hostPath?.path;
    const size = pv.spec.capacity?.['storage'];
    if (path === undefined || size === undefined || dirname(path) !== dir) continue;
    total += parseQuantity(size)?.value ?? 0;
  }
  return total;
}

/**
 * Why `growth` more bytes of thin volume may not go to the pool in `dir` (already holding
 * `provisioned`); undefined when they may.
 */
export function refusal(
  dir: string,
  growth: number,
  provisioned: number,
  space: PoolSpace,
  policy: Pick<CapacityPolicy, 'overcommit' | 'lowBytes'>,
): string | undefined {
  const low = Math.min(policy.lowBytes, Math.floor(space.size * POOL_LOW_SHARE));
  if (space.free < low)
    return `the pool's filesystem (${dir}) has ${formatBytes(space.free)} free, under the ${formatBytes(low)} kept free for the control plane`;
  const limit = Math.floor(space.size * policy.overcommit);
  if (provisioned + growth > limit)
    return `${formatBytes(growth)} more would bring the pool ${dir} to ${formatBytes(provisioned + growth)} of thin volumes, over its limit of ${formatBytes(limit)} (${policy.overcommit} × its ${formatBytes(space.size)} filesystem; --storage-overcommit)`;
  return undefined;
}
