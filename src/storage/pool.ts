/**
 * Where a class's volumes live and what they are made of: a pool directory (the data dir's
 * `volumes/`, or the class's `parameters.path`), thin qcow2 files for Filesystem claims and sparse
 * raw files for Block claims (what a guest sees as a raw device), named after their volume.
 */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { POOL_PATH_PARAMETER, type StorageClass } from '../api/storage/storageclass.js';
import type { PoolFormat } from './ports.js';

export type VolumeMode = 'Filesystem' | 'Block';

export const formatFor = (mode: VolumeMode): PoolFormat => (mode === 'Block' ? 'raw' : 'qcow2');

export function poolDir(defaultDir: string, sc: StorageClass | undefined): string {
  const path = sc?.parameters?.[POOL_PATH_PARAMETER];
  return path !== undefined && path !== '' ? path : defaultDir;
}

export const volumeFile = (dir: string, volumeName: string, mode: VolumeMode): string =>
  join(dir, `${volumeName}.${mode === 'Block' ? 'img' : 'qcow2'}`);

/**
 * The format of a volume file, from its name as `volumeFile` gives it: never probed, since a guest
 * may write any header (a qcow2 one naming a host file) into a raw volume.
 */
export const formatOfVolume = (path: string): PoolFormat => (path.endsWith('.img') ? 'raw' : 'qcow2');

/** Sizes are kept in whole MiB, as qemu-img and most provisioners round them. */
export const roundUpMiB = (bytes: number): number => Math.ceil(bytes / 1048576) * 1048576;

/** Bytes an unprivileged writer may still use in the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
