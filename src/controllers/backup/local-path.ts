/**
 * A local BackupStrategy writes its chunks where its path says, with the platform's rights, and a
 * restore reads them back from there. So the path may only lie under DATA_DIR/backups or under a
 * directory the admin listed (`hikube up --backup-dirs DIR,…`): whoever may edit a strategy cannot
 * have backups written into the store, the volume pool or a system directory. The API server only
 * checks the path's shape (absolute, no `..`); this check is made before each run opens the
 * strategy, on the canonical path: symbolic links in the part that exists are resolved, so a link
 * placed under an allowed directory cannot lead out of it.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** The canonical form of an existing path (a port, so tests can stage links). */
export type RealPath = (path: string) => string;

/** `path` with symbolic links resolved in its longest existing head; the missing tail is kept. */
export function canonicalPath(path: string, realpath: RealPath = realpathSync.native): string {
  const missing: string[] = [];
  let head = resolve(path);
  for (;;) {
    try {
      return join(realpath(head), ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(head);
      if (parent === head) return join(head, ...missing.reverse());
      missing.push(basename(head));
      head = parent;
    }
  }
}

const within = (path: string, root: string): boolean =>
  path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);

/** Why `path` may not hold local backups, or undefined when it lies under one of `allowed`. */
export function localPathRefusal(
  allowed: readonly string[],
  path: string,
  realpath: RealPath = realpathSync.native,
): string | undefined {
  const target = canonicalPath(path, realpath);
  if (allowed.some((root) => within(target, canonicalPath(root, realpath)))) return undefined;
  const shown = target === resolve(path) ? path : `${path} (${target})`;
  return `path ${shown} is outside the directories local backups may use (${allowed.join(', ')}); an admin may add one with hikube up --backup-dirs`;
}

/** The admin's `--backup-dirs` or $HIKUBE_BACKUP_DIRS: absolute directories, comma-separated. */
export function parseBackupDirs(text: string): string[] {
  const dirs = text
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  for (const d of dirs)
    if (!d.startsWith('/') || d.split('/').includes('..'))
      throw new Error(`${JSON.stringify(d)} must be an absolute directory without ..`);
  return dirs;
}
