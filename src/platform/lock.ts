/**
 * One `hikube up` per data dir. Two servers on one SQLite store both hand out resourceVersions and
 * break each other ("UNIQUE constraint failed: changes.rv"), so the data dir is locked for as long
 * as its holder runs. Node has no flock(2); an exclusive SQLite transaction on a lock database is
 * a POSIX record lock underneath, which the kernel drops when the holder dies, even by `kill -9`:
 * the next start succeeds at once, with no stale pidfile to clean up. Beside the lock, a small
 * file says who holds it (pid, listen address) so a refused start can name it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writeFileAtomic } from './atomic.js';

export class DataDirInUseError extends Error {}

export interface Holder {
  pid: number;
  /** Where the holder's API server listens, once it does. */
  listen?: string;
}

export const lockPaths = (dir: string) => ({ lock: join(dir, 'lock'), holder: join(dir, 'lock.holder') });

export interface DataDirLock {
  /** Records where the holder listens, for a refused second start to show. */
  announce(listen: string): Promise<void>;
  release(): void;
}

/** Locks `dir` for this process, or throws DataDirInUseError naming the holder. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const paths = lockPaths(dir);
  const db = new Database(paths.lock, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    throw new DataDirInUseError(inUseMessage(dir, readHolder(paths.holder)));
  }
  const holder: Holder = { pid: process.pid };
  const write = (): Promise<void> => writeFileAtomic(paths.holder, `${JSON.stringify(holder)}\n`);
  await write();
  let released = false;
  return {
    async announce(listen) {
      holder.listen = listen;
      if (!released) await write();
    },
    release() {
      if (released) return;
      released = true;
      db.close(); // rolls the transaction back and drops the lock
    },
  };
}

function readHolder(path: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof parsed.pid !== 'number') return undefined;
    return { pid: parsed.pid, ...(typeof parsed.listen === 'string' ? { listen: parsed.listen } : {}) };
  } catch {
    return undefined;
  }
}

function inUseMessage(dir: string, holder: Holder | undefined): string {
  const who =
    holder === undefined
      ? 'another hikube up (it is still starting)'
      : `another hikube up (pid ${holder.pid}, ${holder.listen !== undefined ? `listening on ${holder.listen}` : 'still starting'})`;
  return `data dir ${dir} is in use by ${who}: stop it first, or give this one another --data-dir`;
}
