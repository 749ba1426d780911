/**
 * The history of every VM's series, without Prometheus: an SQLite file of its own
 * (DATA_DIR/metrics.db, apart from the API store so history never slows API writes).
 *
 * - raw: one row per VM and collection (10 s by default), kept rawRetentionMs (24 h); the row's
 *   values are encoded compactly (codec.ts) against a layout, the list of its series keys.
 * - rollup: one row per VM and resolution bucket (5 min), kept rollupRetentionMs (30 days), holding
 *   per series what keeps averages and counter increases exact (aggregate.ts).
 * The file is bounded by retention and by maxBytes (PRAGMA max_page_count): when full, the oldest
 * data goes first. Time is injected: every method takes `now`.
 */
import Database from 'better-sqlite3';
import {
  addCounter,
  addGauge,
  emptyAcc,
  merge,
  packAcc,
  unpackAcc,
  valueOf,
  type Acc,
  type Fn,
} from './aggregate.js';
import { decodeValues, encodeValues } from './codec.js';
import { parseSeriesKey, seriesKey, type SeriesType, type VmSample } from './sample.js';

export interface RetentionOptions {
  /** Default 24 h. */
  rawRetentionMs?: number;
  /** Default 5 min. */
  rollupResolutionMs?: number;
  /** Default 30 days. */
  rollupRetentionMs?: number;
  /** Default 1 GiB. */
  maxBytes?: number;
}

export interface SeriesResult {
  metric: string;
  type: SeriesType;
  labels: Record<string, string>;
  /** [unix seconds of the window start, value]. */
  points: [number, number][];
}

export interface QueryOptions {
  namespace: string;
  name: string;
  /** Metric names; all when empty. */
  metrics: readonly string[];
  startMs: number;
  endMs: number;
  stepMs: number;
  /** Default: rate for counters, avg for gauges. */
  fn?: Fn;
  /** Only series whose labels include these. */
  labels?: Readonly<Record<string, string>>;
}

interface Layout {
  keys: string[];
  counter: boolean[];
  series: { name: string; labels: Record<string, string> }[];
}

const DAY = 86_400_000;

export class MetricsStore {
  private readonly db: Database.Database;
  readonly rawRetentionMs: number;
  readonly resolutionMs: number;
  readonly rollupRetentionMs: number;
  private readonly vmIds = new Map<string, number>();
  private readonly layoutIds = new Map<string, number>();
  private readonly layouts = new Map<number, Layout>();
  private readonly stmts;

  constructor(path: string, options: RetentionOptions = {}) {
    this.rawRetentionMs = options.rawRetentionMs ?? DAY;
    this.resolutionMs = options.rollupResolutionMs ?? 300_000;
    this.rollupRetentionMs = options.rollupRetentionMs ?? 30 * DAY;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS vms (id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL,
        UNIQUE (namespace, name));
      CREATE TABLE IF NOT EXISTS layouts (id INTEGER PRIMARY KEY, keys TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS raw (vm INTEGER NOT NULL, t INTEGER NOT NULL, layout INTEGER NOT NULL,
        data BLOB NOT NULL, PRIMARY KEY (vm, t)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS raw_t ON raw (t);
      CREATE TABLE IF NOT EXISTS rollup (vm INTEGER NOT NULL, t INTEGER NOT NULL, layout INTEGER NOT NULL,
        data BLOB NOT NULL, PRIMARY KEY (vm, t)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS rollup_t ON rollup (t);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    this.db.pragma(`max_page_count = ${Math.max(64, Math.floor((options.maxBytes ?? 2 ** 30) / pageSize))}`);
    this.stmts = {
      vm: this.db.prepare('SELECT id FROM vms WHERE namespace = ? AND name = ?'),
      addVm: this.db.prepare('INSERT INTO vms (namespace, name) VALUES (?, ?)'),
      layoutId: this.db.prepare('SELECT id FROM layouts WHERE keys = ?'),
      addLayout: this.db.prepare('INSERT INTO layouts (keys) VALUES (?)'),
      layout: this.db.prepare('SELECT keys FROM layouts WHERE id = ?'),
      addRaw: this.db.prepare('INSERT OR REPLACE INTO raw (vm, t, layout, data) VALUES (?, ?, ?, ?)'),
      addRollup: this.db.prepare('INSERT OR REPLACE INTO rollup (vm, t, layout, data) VALUES (?, ?, ?, ?)'),
      rawRange: this.db.prepare(
        'SELECT t, layout, data FROM raw WHERE vm = ? AND t >= ? AND t < ? ORDER BY t',
      ),
      rawBefore: this.db.prepare(
        'SELECT t, layout, data FROM raw WHERE vm = ? AND t < ? ORDER BY t DESC LIMIT 1',
      ),
      rollupRange: this.db.prepare(
        'SELECT t, layout, data FROM rollup WHERE vm = ? AND t >= ? AND t < ? ORDER BY t',
      ),
      vmsWithRaw: this.db.prepare('SELECT DISTINCT vm FROM raw WHERE t >= ? AND t < ?'),
      firstRawFrom: this.db.prepare('SELECT MIN(t) AS t FROM raw WHERE t >= ?'),
      meta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      dropRaw: this.db.prepare('DELETE FROM raw WHERE t < ?'),
      dropRollup: this.db.prepare('DELETE FROM rollup WHERE t < ?'),
      rawSpan: this.db.prepare('SELECT MIN(t) AS lo, MAX(t) AS hi FROM raw'),
      rollupSpan: this.db.prepare('SELECT MIN(t) AS lo, MAX(t) AS hi FROM rollup'),
    };
  }

  close(): void {
    this.db.close();
  }

  /** Records one collection round. */
  append(samples: readonly VmSample[]): void {
    const write = this.db.transaction(() => {
      for (const s of samples) {
        const byKey = new Map<string, number>();
        for (const x of s.series)
          byKey.set(`${x.type === 'counter' ? 'c' : 'g'}|${seriesKey(x.name, x.labels)}`, x.value);
        if (byKey.size === 0) continue;
        const layout = this.layoutId([...byKey.keys()]);
        this.stmts.addRaw.run(this.vmId(s.namespace, s.name), s.t, layout, encodeValues([...byKey.values()]));
      }
    });
    this.whenFull(write);
  }

  /**
   * Downsamples every finished bucket not yet done, then drops what is past retention. Idempotent;
   * call it after each collection (it does nothing most of the time).
   */
  maintain(now: number): void {
    const R = this.resolutionMs;
    let from = this.meta('rolled_until');
    const limit = Math.floor(now / R) * R;
    if (from === undefined) {
      const first = (this.stmts.firstRawFrom.get(0) as { t: number | null }).t;
      if (first === null) return;
      from = Math.floor(first / R) * R;
    }
    const work = this.db.transaction(() => {
      let b = from;
      while (b < limit) {
        const next = (this.stmts.firstRawFrom.get(b) as { t: number | null }).t;
        if (next === null || next >= limit) break;
        b = Math.floor(next / R) * R;
        this.rollupBucket(b);
        b += R;
      }
      this.stmts.setMeta.run('rolled_until', limit);
      this.stmts.dropRaw.run(now - this.rawRetentionMs);
      this.stmts.dropRollup.run(now - this.rollupRetentionMs);
    });
    this.whenFull(work);
  }

  private rollupBucket(b: number): void {
    const end = b + this.resolutionMs;
    for (const { vm } of this.stmts.vmsWithRaw.all(b, end) as { vm: number }[]) {
      const accs = new Map<string, { acc: Acc; counter: boolean }>();
      let previous = this.rowValues(this.stmts.rawBefore.get(vm, b) as Row | undefined);
      for (const row of this.stmts.rawRange.all(vm, b, end) as Row[]) {
        const current = this.rowValues(row);
        for (const [key, { value, counter }] of current) {
          let e = accs.get(key);
          if (e === undefined) {
            e = { acc: emptyAcc(), counter };
            accs.set(key, e);
          }
          if (counter) addCounter(e.acc, value, previous.get(key)?.value);
          else addGauge(e.acc, value);
        }
        previous = current;
      }
      const keys = [...accs.keys()];
      const values = [...accs.values()].flatMap(({ acc, counter }) => packAcc(acc, counter));
      this.stmts.addRollup.run(vm, b, this.layoutId(keys), encodeValues(values));
    }
  }

  /** A VM's series over a range, one point per step window (windows with no data are left out). */
  query(q: QueryOptions, now: number): SeriesResult[] {
    const vm = this.findVm(q.namespace, q.name);
    if (vm === undefined || q.stepMs <= 0 || q.endMs <= q.startMs) return [];
    const step = q.stepMs;
    const windows = new Map<string, { counter: boolean; byWindow: Map<number, Acc> }>();
    const decided = new Map<string, boolean>();
    const wanted = (key: string): boolean => {
      let yes = decided.get(key);
      if (yes === undefined) {
        const { name, labels } = this.parsedKey(key);
        yes =
          (q.metrics.length === 0 || q.metrics.includes(name)) &&
          Object.entries(q.labels ?? {}).every(([k, v]) => labels[k] === v);
        decided.set(key, yes);
      }
      return yes;
    };
    const windowOf = (t: number): number => q.startMs + Math.floor((t - q.startMs) / step) * step;
    const accFor = (key: string, counter: boolean, t: number): Acc => {
      let s = windows.get(key);
      if (s === undefined) {
        s = { counter, byWindow: new Map() };
        windows.set(key, s);
      }
      const w = windowOf(t);
      let a = s.byWindow.get(w);
      if (a === undefined) {
        a = emptyAcc();
        s.byWindow.set(w, a);
      }
      return a;
    };
    // Coarse steps read the downsampled buckets as far as they go, and raw rows after that.
    let rawFrom = q.startMs;
    if (step >= this.resolutionMs) {
      const rolled = Math.min(this.meta('rolled_until') ?? q.startMs, q.endMs);
      for (const row of this.stmts.rollupRange.all(vm, q.startMs, rolled) as Row[]) {
        const layout = this.layout(row.layout);
        const values = decodeValues(row.data);
        let at = 0;
        layout.keys.forEach((key, i) => {
          const counter = layout.counter[i] ?? false;
          const { acc, next } = unpackAcc(values, at, counter);
          at = next;
          if (wanted(key)) merge(accFor(key, counter, row.t), acc);
        });
      }
      rawFrom = Math.max(q.startMs, rolled);
    }
    if (rawFrom < q.endMs && q.endMs > now - this.rawRetentionMs - step) {
      let previous = this.rowValues(this.stmts.rawBefore.get(vm, rawFrom) as Row | undefined);
      for (const row of this.stmts.rawRange.all(vm, rawFrom, q.endMs) as Row[]) {
        const current = this.rowValues(row);
        for (const [key, { value, counter }] of current) {
          if (!wanted(key)) continue;
          const a = accFor(key, counter, row.t);
          if (counter) addCounter(a, value, previous.get(key)?.value);
          else addGauge(a, value);
        }
        previous = current;
      }
    }
    const out: SeriesResult[] = [];
    for (const [key, s] of windows) {
      const fn = q.fn ?? (s.counter ? 'rate' : 'avg');
      const points: [number, number][] = [];
      for (const [w, a] of [...s.byWindow].sort((x, y) => x[0] - y[0])) {
        const v = valueOf(a, fn, step / 1000);
        if (v !== undefined && Number.isFinite(v)) points.push([w / 1000, v]);
      }
      const { name, labels } = this.parsedKey(key);
      out.push({ metric: name, type: s.counter ? 'counter' : 'gauge', labels, points });
    }
    return out.sort((a, b) =>
      a.metric === b.metric
        ? JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels))
        : a.metric.localeCompare(b.metric),
    );
  }

  /** Metric names with history for a VM (the query API lists them). */
  metricNames(namespace: string, name: string): string[] {
    const vm = this.findVm(namespace, name);
    if (vm === undefined) return [];
    const row = this.stmts.rawBefore.get(vm, Number.MAX_SAFE_INTEGER) as Row | undefined;
    if (row === undefined) return [];
    return [...new Set(this.layout(row.layout).series.map((s) => s.name))].sort();
  }

  /** The file's size in bytes (pages in use). */
  sizeBytes(): number {
    return (
      Number(this.db.pragma('page_count', { simple: true })) *
      Number(this.db.pragma('page_size', { simple: true }))
    );
  }

  /** Runs a write; when the file is at maxBytes, drops the oldest tenth of history and tries once more. */
  private whenFull(write: () => void): void {
    try {
      write();
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'SQLITE_FULL')) throw err;
      this.dropOldest();
      write();
    }
  }

  private dropOldest(): void {
    for (const [span, drop] of [
      [this.stmts.rollupSpan, this.stmts.dropRollup],
      [this.stmts.rawSpan, this.stmts.dropRaw],
    ] as const) {
      const { lo, hi } = span.get() as { lo: number | null; hi: number | null };
      if (lo === null || hi === null) continue;
      drop.run(lo + Math.max(1, Math.ceil((hi - lo) / 10)));
    }
  }

  private meta(key: string): number | undefined {
    return (this.stmts.meta.get(key) as { value: number } | undefined)?.value;
  }

  private findVm(namespace: string, name: string): number | undefined {
    const key = `${namespace}/${name}`;
    const cached = this.vmIds.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmts.vm.get(namespace, name) as { id: number } | undefined;
    if (row !== undefined) this.vmIds.set(key, row.id);
    return row?.id;
  }

  private vmId(namespace: string, name: string): number {
    const found = this.findVm(namespace, name);
    if (found !== undefined) return found;
    const id = Number(this.stmts.addVm.run(namespace, name).lastInsertRowid);
    this.vmIds.set(`${namespace}/${name}`, id);
    return id;
  }

  private layoutId(keys: readonly string[]): number {
    const text = JSON.stringify(keys);
    const cached = this.layoutIds.get(text);
    if (cached !== undefined) return cached;
    const row = this.stmts.layoutId.get(text) as { id: number } | undefined;
    const id = row?.id ?? Number(this.stmts.addLayout.run(text).lastInsertRowid);
    this.layoutIds.set(text, id);
    return id;
  }

  private layout(id: number): Layout {
    let l = this.layouts.get(id);
    if (l === undefined) {
      const row = this.stmts.layout.get(id) as { keys: string } | undefined;
      const keys = JSON.parse(row?.keys ?? '[]') as string[];
      l = {
        keys,
        counter: keys.map((k) => k.startsWith('c|')),
        series: keys.map((k) => parseSeriesKey(k.slice(2))),
      };
      this.layouts.set(id, l);
    }
    return l;
  }

  private parsedKey(key: string): { name: string; labels: Record<string, string> } {
    return parseSeriesKey(key.slice(2));
  }

  private rowValues(row: Row | undefined): Map<string, { value: number; counter: boolean }> {
    const out = new Map<string, { value: number; counter: boolean }>();
    if (row === undefined) return out;
    const layout = this.layout(row.layout);
    const values = decodeValues(row.data);
    layout.keys.forEach((key, i) =>
      out.set(key, { value: values[i] ?? NaN, counter: layout.counter[i] ?? false }),
    );
    return out;
  }
}

interface Row {
  t: number;
  layout: number;
  data: Buffer;
}
