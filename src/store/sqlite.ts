/**
 * SQLite implementation of the Store port. WAL mode: a committed transaction is in the log before
 * the call returns, so an acknowledged write survives `kill -9` of the server (not a power cut,
 * which `synchronous=FULL` would also cover at a throughput cost). Every write is one transaction
 * that stores the object, appends to the change history and advances the global resourceVersion.
 * All objects are also held in memory, parsed and serialized, so reads never touch the disk.
 */
import Database from 'better-sqlite3';
import { jsonNestsDeeperThan, MAX_DEPTH, MAX_OBJECT_BYTES, measure } from '../api/limits.js';
import type { KubeObject } from '../api/meta.js';
import { ListOrder } from './ordered.js';
import {
  StoreError,
  type QuarantinedRow,
  type ResourceKey,
  type Store,
  type StoreEvent,
  type StoredObject,
  type WatchEventType,
} from './store.js';

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for tests. */
  path: string;
  /** How many changes are kept for watch resume. */
  historySize?: number;
}

interface ObjectRow {
  resource: string;
  namespace: string;
  name: string;
  rv: number;
  json: string;
}
interface EventRow extends ObjectRow {
  type: WatchEventType;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly objects = new Map<ResourceKey, Map<string, StoredObject>>();
  private readonly order = new ListOrder();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly quarantine = new Map<string, QuarantinedRow>();
  private readonly historySize: number;
  private rv = 0;
  private oldestRetained = 0;
  private readonly statements;
  private readonly commitTx: (type: WatchEventType, stored: StoredObject) => void;

  constructor(options: SqliteStoreOptions) {
    this.historySize = options.historySize ?? 10_000;
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        rv INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (resource, namespace, name)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS changes (
        rv INTEGER PRIMARY KEY, type TEXT NOT NULL, resource TEXT NOT NULL,
        namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
    this.statements = {
      upsert: this.db.prepare<[string, string, string, number, string]>(
        'INSERT OR REPLACE INTO objects (resource, namespace, name, rv, json) VALUES (?, ?, ?, ?, ?)',
      ),
      remove: this.db.prepare<[string, string, string]>(
        'DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?',
      ),
      change: this.db.prepare<[number, string, string, string, string, string]>(
        'INSERT INTO changes (rv, type, resource, namespace, name, json) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setRv: this.db.prepare<[number]>("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)"),
      compact: this.db.prepare<[number]>('DELETE FROM changes WHERE rv <= ?'),
      since: this.db.prepare<[number]>(
        'SELECT rv, type, resource, namespace, name, json FROM changes WHERE rv > ? ORDER BY rv',
      ),
    };
    this.commitTx = this.db.transaction((type: WatchEventType, stored: StoredObject) =>
      this.commit(type, stored),
    );
    this.load();
  }

  private load(): void {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'rv'").get() as
      { value: number } | undefined;
    this.rv = row?.value ?? 0;
    const oldest = this.db.prepare('SELECT MIN(rv) AS rv FROM changes').get() as { rv: number | null };
    this.oldestRetained = oldest.rv === null ? this.rv : oldest.rv - 1;
    for (const r of this.db
      .prepare('SELECT resource, namespace, name, rv, CAST(json AS BLOB) AS json FROM objects')
      .iterate() as IterableIterator<RawObjectRow>) {
      const loaded = loadRow(r);
      if ('reason' in loaded) {
        this.quarantine.set(`${r.resource} ${key(r.namespace, r.name)}`, loaded);
        continue;
      }
      this.bucket(r.resource).set(key(r.namespace, r.name), loaded);
    }
  }

  quarantined(): QuarantinedRow[] {
    return [...this.quarantine.values()];
  }

  purge(resource: ResourceKey, namespace: string, name: string): boolean {
    const id = `${resource} ${key(namespace, name)}`;
    if (!this.quarantine.has(id)) return false;
    this.statements.remove.run(resource, namespace, name);
    this.quarantine.delete(id);
    return true;
  }

  private bucket(resource: ResourceKey): Map<string, StoredObject> {
    let b = this.objects.get(resource);
    if (b === undefined) this.objects.set(resource, (b = new Map<string, StoredObject>()));
    return b;
  }

  get(resource: ResourceKey, namespace: string, name: string): StoredObject | undefined {
    return this.objects.get(resource)?.get(key(namespace, name));
  }

  list(resource: ResourceKey, namespace?: string): { items: StoredObject[]; rv: number } {
    const items = this.order.list(resource, () => this.objects.get(resource)?.values() ?? [], namespace);
    return { items, rv: this.rv };
  }

  create(resource: ResourceKey, object: KubeObject): StoredObject {
    const { namespace, name } = identity(object);
    if (this.get(resource, namespace, name) !== undefined) {
      throw new StoreError('AlreadyExists', `${resource} ${key(namespace, name)} already exists`);
    }
    return this.write('ADDED', resource, object);
  }

  update(resource: ResourceKey, object: KubeObject, expectedRv?: number): StoredObject {
    const { namespace, name } = identity(object);
    this.expect(resource, namespace, name, expectedRv);
    return this.write('MODIFIED', resource, object);
  }

  delete(resource: ResourceKey, namespace: string, name: string, expectedRv?: number): StoredObject {
    const current = this.expect(resource, namespace, name, expectedRv);
    return this.write('DELETED', resource, current.object);
  }

  private expect(
    resource: ResourceKey,
    namespace: string,
    name: string,
    expectedRv: number | undefined,
  ): StoredObject {
    const current = this.get(resource, namespace, name);
    if (current === undefined)
      throw new StoreError('NotFound', `${resource} ${key(namespace, name)} not found`);
    if (expectedRv !== undefined && current.rv !== expectedRv) {
      throw new StoreError(
        'Conflict',
        `${resource} ${key(namespace, name)} is at ${current.rv}, not ${expectedRv}`,
      );
    }
    return current;
  }

  private readonly commit = (type: WatchEventType, stored: StoredObject): void => {
    const { resource, namespace, name, rv, json } = stored;
    if (type === 'DELETED') this.statements.remove.run(resource, namespace, name);
    else this.statements.upsert.run(resource, namespace, name, rv, json);
    this.statements.change.run(rv, type, resource, namespace, name, json);
    this.statements.setRv.run(rv);
    if (rv % 1000 === 0 && rv - this.historySize > this.oldestRetained) {
      this.oldestRetained = rv - this.historySize;
      this.statements.compact.run(this.oldestRetained);
    }
  };

  private write(type: WatchEventType, resource: ResourceKey, object: KubeObject): StoredObject {
    const rv = this.rv + 1;
    const { namespace, name } = identity(object);
    const versioned: KubeObject = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(rv) },
    };
    const stored: StoredObject = {
      resource,
      namespace,
      name,
      rv,
      object: versioned,
      json: JSON.stringify(versioned),
    };
    const previousOldest = this.oldestRetained;
    try {
      this.commitTx(type, stored);
    } catch (err) {
      this.oldestRetained = previousOldest;
      throw err;
    }
    this.rv = rv;
    if (type === 'DELETED') this.bucket(resource).delete(key(namespace, name));
    else this.bucket(resource).set(key(namespace, name), stored);
    this.order.written(type, stored);
    const event: StoreEvent = { type, ...stored };
    for (const listener of this.listeners) listener(event);
    return stored;
  }

  currentRv(): number {
    return this.rv;
  }

  changesSince(rv: number): StoreEvent[] {
    if (rv < this.oldestRetained) {
      throw new StoreError('Gone', `too old resource version: ${rv} (${this.oldestRetained + 1})`);
    }
    if (rv >= this.rv) return [];
    return (this.statements.since.all(rv) as EventRow[]).map((r) => ({
      ...r,
      object: JSON.parse(r.json) as KubeObject,
    }));
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Copies the WAL into the database and restarts it from its start, so it need not grow. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(RESTART)');
  }

  close(): void {
    this.listeners.clear();
    this.db.close();
  }
}

interface RawObjectRow extends Omit<ObjectRow, 'json'> {
  json: Buffer;
}

/**
 * What a row may hold and still be loaded: twice the limits every write is held to (metadata the
 * server adds cannot come near that), so only rows this release never accepted are refused.
 */
const LOAD_LIMITS = { depth: 2 * MAX_DEPTH, bytes: 2 * MAX_OBJECT_BYTES };

/** Parses one row, or says why it cannot be served; nothing here recurses before the depth is known. */
function loadRow(r: RawObjectRow): StoredObject | QuarantinedRow {
  const { resource, namespace, name, rv } = r;
  const refuse = (reason: string): QuarantinedRow => ({ resource, namespace, name, rv, reason });
  if (r.json.length > LOAD_LIMITS.bytes) return refuse(`it is larger than ${LOAD_LIMITS.bytes} bytes`);
  if (jsonNestsDeeperThan(r.json, LOAD_LIMITS.depth))
    return refuse(`it nests deeper than ${LOAD_LIMITS.depth} levels`);
  const json = r.json.toString('utf8');
  let object: unknown;
  try {
    object = JSON.parse(json);
  } catch (err) {
    return refuse(`it is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const exceeded = measure(object, LOAD_LIMITS).exceeded;
  if (exceeded !== undefined) return refuse(`it is past the ${exceeded} limit`);
  const meta = isObject(object) ? object['metadata'] : undefined;
  if (!isObject(meta) || meta['name'] !== name || (meta['namespace'] ?? '') !== namespace)
    return refuse(`it is not an object named ${JSON.stringify(key(namespace, name))}`);
  return { resource, namespace, name, rv, json, object: object as KubeObject };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function identity(object: KubeObject): { namespace: string; name: string } {
  const name = object.metadata.name;
  if (name === undefined || name === '') throw new Error('store: object without metadata.name');
  return { namespace: object.metadata.namespace ?? '', name };
}
