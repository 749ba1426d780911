/**
 * The data dir's format version on real SQLite files: a new data dir starts at this release's
 * version; a data dir of a release before versions (v0) is backed up, migrated step by step and
 * stamped; one from a newer release is refused and left untouched; a failing step leaves the
 * version where it was.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  DATA_FORMAT_VERSION,
  DataFormatError,
  formatPaths,
  migrateDataDir,
  type Migration,
} from '../../../src/platform/format.js';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'hikube-format-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A state.db as releases before format versions left it: objects, changes, and `meta` with rv only. */
function writeV0(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE objects (resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
      rv INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID;
    CREATE TABLE changes (rv INTEGER PRIMARY KEY, type TEXT NOT NULL, resource TEXT NOT NULL,
      namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO objects VALUES ('/configmaps', 'default', 'cm', 7, '{"data":{"a":"b"}}');
    INSERT INTO meta VALUES ('rv', 7);`);
  db.close();
}

function read(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

const formatOf = (path: string): unknown => read(path, "SELECT value FROM meta WHERE key = 'format'")[0];

describe('data dir format version', () => {
  test('a new data dir is created at this release’s version, in state.db and VERSION', async () => {
    const paths = formatPaths(dir);
    assert.equal(await migrateDataDir(dir), DATA_FORMAT_VERSION);
    assert.deepEqual(formatOf(paths.database), { value: DATA_FORMAT_VERSION });
    assert.equal(readFileSync(paths.versionFile, 'utf8'), `${DATA_FORMAT_VERSION}\n`);
    assert.equal(existsSync(paths.backup(0)), false, 'nothing to back up');
  });

  test('a v0 data dir is backed up, then migrated and stamped; its objects stay', async () => {
    const paths = formatPaths(dir);
    writeV0(paths.database);
    const logged: string[] = [];
    assert.equal(await migrateDataDir(dir, (m) => logged.push(m)), 0);
    assert.deepEqual(formatOf(paths.database), { value: DATA_FORMAT_VERSION });
    assert.equal(readFileSync(paths.versionFile, 'utf8').trim(), String(DATA_FORMAT_VERSION));
    const backup = paths.backup(0);
    assert.deepEqual(read(backup, 'SELECT name, rv FROM objects'), [{ name: 'cm', rv: 7 }]);
    assert.equal(formatOf(backup), undefined, 'the backup is the store as it was');
    assert.deepEqual(read(paths.database, 'SELECT name, json FROM objects'), [
      { name: 'cm', json: '{"data":{"a":"b"}}' },
    ]);
    assert.match(logged.join('\n'), /format version 0 backed up to .*state\.db\.bak-v0/);
    assert.match(logged.join('\n'), /migrated to format version 1/);
    assert.equal(await migrateDataDir(dir), DATA_FORMAT_VERSION, 'the next start finds it current');
  });

  test('steps run in order, each from the version before; a failing step keeps the last version', async () => {
    const paths = formatPaths(dir);
    writeV0(paths.database);
    const ran: number[] = [];
    const steps: Migration[] = [
      { to: 1, what: 'one', run: () => void ran.push(1) },
      {
        to: 2,
        what: 'two',
        run: (db) => {
          ran.push(2);
          db.exec("UPDATE objects SET json = '{}'");
          throw new Error('step two broke');
        },
      },
    ];
    await assert.rejects(migrateDataDir(dir, undefined, steps, 2), /step two broke/);
    assert.deepEqual(ran, [1, 2]);
    assert.deepEqual(formatOf(paths.database), { value: 1 });
    assert.deepEqual(read(paths.database, 'SELECT json FROM objects'), [{ json: '{"data":{"a":"b"}}' }]);
    ran.length = 0;
    steps[1] = { to: 2, what: 'two', run: () => void ran.push(2) };
    assert.equal(await migrateDataDir(dir, undefined, steps, 2), 1);
    assert.deepEqual(ran, [2], 'resumes after the last step that completed');
    assert.ok(existsSync(paths.backup(1)));
  });

  for (const [where, stamp] of [
    ['state.db', (p: ReturnType<typeof formatPaths>) => stampDb(p.database, DATA_FORMAT_VERSION + 1)],
    [
      'VERSION',
      (p: ReturnType<typeof formatPaths>) => writeFile(p.versionFile, `${DATA_FORMAT_VERSION + 1}\n`),
    ],
  ] as const) {
    test(`a data dir of a newer release (version in ${where}) is refused and left untouched`, async () => {
      const paths = formatPaths(dir);
      writeV0(paths.database);
      await stamp(paths);
      await assert.rejects(
        migrateDataDir(dir),
        (err: unknown) =>
          err instanceof DataFormatError &&
          err.message.includes(`format version ${DATA_FORMAT_VERSION + 1}, written by a newer release`) &&
          err.message.includes(`reads versions up to ${DATA_FORMAT_VERSION}`),
      );
      assert.equal(existsSync(paths.backup(DATA_FORMAT_VERSION + 1)), false);
      assert.deepEqual(read(paths.database, 'SELECT rv FROM objects'), [{ rv: 7 }]);
    });
  }

  test('a VERSION file that is not a number is refused', async () => {
    const paths = formatPaths(dir);
    writeV0(paths.database);
    await writeFile(paths.versionFile, 'v1\n');
    await assert.rejects(migrateDataDir(dir), /VERSION should hold a format version number, not "v1"/);
  });
});

function stampDb(path: string, version: number): Promise<void> {
  const db = new Database(path);
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)").run(version);
  db.close();
  return Promise.resolve();
}
