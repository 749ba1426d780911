/** A small tmpfs the test mounts (as root) to fill a filesystem on purpose, unmounted however the test ends. */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  /** The mount point. */
  dir: string;
  /** Unmounts (lazily: a QEMU may still hold a file) and removes the folder. */
  remove(): Promise<void>;
}

export async function mountTmpfs(prefix: string, sizeMiB: number): Promise<Tmpfs> {
  const parent = await mkdtemp(join(tmpdir(), prefix));
  const dir = join(parent, 'fs');
  await mkdir(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  } catch (err) {
    await rm(parent, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    remove: async () => {
      execFileSync('umount', ['-l', dir]);
      await rm(parent, { recursive: true, force: true });
    },
  };
}
