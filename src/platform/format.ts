/**
 * The data dir's format version, so a release can change how it stores things without stranding
 * the VMs of the last one. The version lives in state.db (`meta` row `format`, the authority) and
 * in a VERSION file (for people and tools that do not open SQLite). At start an older data dir is
 * migrated forward, one step per version, after a backup of the store (SQLite's online backup, to
 * state.db.bak-vN); a data dir written by a newer release is refused, never guessed at.
 * Releases before format versions (up to December 2026) wrote no version: that is version 0.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_SERVICE_CIDR } from '../api/admission.js';
import { writeFileAtomic } from './atomic.js';
import { recordServiceCidr } from './service-cidr.js';

/** The format this release writes. Bump it with a migration below whenever a stored shape changes. */
export const DATA_FORMAT_VERSION = 2;

export interface Migration {
  /** The version the data dir has after this step. */
  to: number;
  /** What the step changes, for the start-up log. */
  what: string;
  /** Runs inside one transaction on state.db; `dir` is the data dir for file layout changes. */
  run(db: Database.Database, dir: string): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    to: 1,
    what: 'record the format version (objects, volumes and run dirs keep their v0 shape)',
    run: () => undefined,
  },
  {
    to: 2,
    what: 'record the service CIDR cluster IPs come from (127.16.0.0/16 until now); a start with another one re-addresses Services once (service-cidr.ts)',
    run: (db) => recordServiceCidr(db, DEFAULT_SERVICE_CIDR),
  },
];

export class DataFormatError extends Error {}

export const formatPaths = (dir: string) => ({
  database: join(dir, 'state.db'),
  versionFile: join(dir, 'VERSION'),
  backup: (from: number) => join(dir, `state.db.bak-v${from}`),
});

/**
 * Brings the data dir to DATA_FORMAT_VERSION (a new one is created at it). Returns the version it
 * was found at. Throws DataFormatError for a data dir of a newer release.
 */
export async function migrateDataDir(
  dir: string,
  log: (message: string) => void = () => undefined,
  migrations: readonly Migration[] = MIGRATIONS,
  current = DATA_FORMAT_VERSION,
): Promise<number> {
  const paths = formatPaths(dir);
  // Read before anything is written: a newer release's data dir is left exactly as it was.
  const inFile = fileVersion(paths.versionFile);
  refuseNewer(dir, inFile, current);
  const fresh = !existsSync(paths.database);
  const db = new Database(paths.database);
  try {
    const found = fresh ? current : Math.max(storedVersion(db), inFile);
    refuseNewer(dir, found, current);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    if (found < current) {
      const backup = paths.backup(found);
      await db.backup(backup);
      await chmod(backup, 0o600);
      log(`data dir ${dir}: format version ${found} backed up to ${backup}`);
      for (const step of migrations.filter((m) => m.to > found && m.to <= current)) {
        db.transaction(() => {
          step.run(db, dir);
          setVersion(db, step.to);
        })();
        log(`data dir ${dir}: migrated to format version ${step.to}: ${step.what}`);
      }
    }
    setVersion(db, current);
    await writeFileAtomic(paths.versionFile, `${current}\n`, 0o600);
    return found;
  } finally {
    db.close();
  }
}

function refuseNewer(dir: string, found: number, current: number): void {
  if (found > current)
    throw new DataFormatError(
      `data dir ${dir} has format version ${found}, written by a newer release of hikube; this release reads versions up to ${current}: run the newer release, or start from a backup made for this one`,
    );
}

function storedVersion(db: Database.Database): number {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as
    { value: number } | undefined;
  return row?.value ?? 0;
}

function setVersion(db: Database.Database, version: number): void {
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)").run(version);
}

function fileVersion(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8').trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new DataFormatError(`${path} should hold a format version number, not ${JSON.stringify(text)}`);
  return n;
}
