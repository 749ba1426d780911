/**
 * A SQLite database as SQL text and back, with node and better-sqlite3 only (no sqlite3 binary):
 * how the upgrade fixture (scripts/make-upgrade-fixture.sh) keeps a release's state.db in the repo
 * as reviewable text, and how the upgrade test loads it into a fresh data dir. Absolute paths of
 * the machine that made it are replaced by placeholders (`@DATA_DIR@`, `@IMAGE_DIR@`) both ways.
 */
import Database from 'better-sqlite3';

/** Literal text → placeholder, applied to every text value on dump (longest first) and back on load. */
export type Placeholders = Record<string, string>;

function quote(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return `X'${value.toString('hex')}'`;
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  throw new Error(`unexpected SQLite value ${typeof value}`);
}

function replaceAll(text: string, pairs: [string, string][]): string {
  let out = text;
  for (const [from, to] of pairs) out = out.split(from).join(to);
  return out;
}

/** Every table's schema and rows, in primary key order, one statement per line. */
export function dumpSql(path: string, placeholders: Placeholders = {}, header = ''): string {
  const pairs = Object.entries(placeholders).sort((a, b) => b[0].length - a[0].length);
  const db = new Database(path, { readonly: true });
  try {
    const lines = header === '' ? [] : header.split('\n').map((l) => `-- ${l}`);
    lines.push('BEGIN;');
    const tables = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as { name: string; sql: string }[];
    for (const t of tables) {
      lines.push(`${t.sql.replace(/\s*\n\s*/g, ' ')};`);
      const columns = (db.prepare(`PRAGMA table_info("${t.name}")`).all() as { name: string; pk: number }[])
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => `"${c.name}"`);
      const order = columns.length > 0 ? ` ORDER BY ${columns.join(', ')}` : '';
      const rows = db.prepare(`SELECT * FROM "${t.name}"${order}`).raw().all() as unknown[][];
      for (const row of rows) {
        const values = row.map((v) => (typeof v === 'string' ? quote(replaceAll(v, pairs)) : quote(v)));
        lines.push(`INSERT INTO "${t.name}" VALUES (${values.join(', ')});`);
      }
    }
    lines.push('COMMIT;');
    return `${lines.join('\n')}\n`;
  } finally {
    db.close();
  }
}

/** Creates `path` from a dump, putting `values[placeholder]` where the dump has a placeholder. */
export function loadSql(path: string, sql: string, values: Placeholders = {}): void {
  const pairs = Object.entries(values).map(([k, v]): [string, string] => [k, v.replace(/'/g, "''")]);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(replaceAll(sql, pairs));
  } finally {
    db.close();
  }
}
