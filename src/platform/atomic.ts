/**
 * Writing a file so that a crash or a full disk never leaves a half-written one behind: the data
 * goes to a temporary file beside it, is flushed to disk, and replaces the target by rename, and
 * the directory is flushed so the rename itself survives a power cut. Every secret the platform
 * keeps (tokens, the CA key, the kubeconfig) is written this way: a 0-byte token file once made
 * anyone admin.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Replaces `path` with `data` all at once; the file has `mode` (0600 unless told). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const file = await open(temp, 'wx', mode);
    try {
      await file.writeFile(data);
      await file.chmod(mode); // open() narrowed the mode by the umask: set it exactly
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** Flushes a directory's entries (a rename or a new file in it) to disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
