/**
 * Opening a data dir before anything reads or writes it: lock it for this process (lock.ts), make
 * it private, and bring its format up to this release's (format.ts). The data dir holds Secrets
 * (in state.db and its WAL), tokens, the CA key, cloud-init seeds and guests' disks: nobody but
 * its owner may read it, whatever mode an older release or the admin left it with. Everything
 * that opens the store goes through here, so no two processes ever write it at once.
 */
import { lstat, chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lockDataDir, type DataDirLock } from './lock.js';
import { formatPaths, migrateDataDir } from './format.js';
import Database from 'better-sqlite3';
import { readdressServices } from './service-cidr.js';

/** Files the process creates are its owner's alone (QEMU and qemu-img children inherit it). */
export const PRIVATE_UMASK = 0o077;

/**
 * Locks, tightens and migrates `dir`; the caller releases the lock when it stops. With
 * `serviceCidr`, Services outside it are re-addressed into it (service-cidr.ts).
 */
export async function openDataDir(
  dir: string,
  log: (message: string) => void,
  serviceCidr?: string,
): Promise<DataDirLock> {
  process.umask(PRIVATE_UMASK);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = await lockDataDir(dir);
  try {
    await makePrivate(dir);
    await migrateDataDir(dir, log);
    if (serviceCidr !== undefined) readdressDataDir(dir, serviceCidr, log);
    return lock;
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * The data dir 0700, and its own files and folders, and the PKI's, owner-only. Deeper files sit in
 * folders nobody else can enter; the umask covers everything created from now on.
 */
export async function makePrivate(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const folder of [dir, join(dir, 'pki')]) {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      continue; // no pki yet
    }
    for (const name of names) {
      const path = join(folder, name);
      const stat = await lstat(path);
      if (stat.isSymbolicLink()) continue;
      const mode = stat.isDirectory() ? 0o700 : 0o600;
      if ((stat.mode & 0o777) !== mode && (stat.isDirectory() || stat.isFile())) await chmod(path, mode);
    }
  }
}

/** At start, after the format migration: the data dir's Services in `serviceCidr`, each move logged. */
function readdressDataDir(dir: string, serviceCidr: string, log: (message: string) => void): void {
  const db = new Database(formatPaths(dir).database);
  try {
    const moves = readdressServices(db, serviceCidr);
    for (const m of moves) log(`service CIDR is now ${serviceCidr}: Service ${m}`);
  } finally {
    db.close();
  }
}
