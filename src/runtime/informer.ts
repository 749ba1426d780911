/**
 * An informer keeps a local copy of one kind, listed once and then kept current by a watch (as
 * client-go's shared informers do): controllers read from it instead of asking the server, index
 * it (VMIs by node, VMs by the claims they name), and are told of each change. A watch that ends
 * resumes from the last resourceVersion seen (bookmarks move it on); one whose version the server
 * no longer has (410 Gone) lists again and tells the handlers what changed meanwhile.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import { realTimers, type Timers } from './queue.js';
import { objectKey, type ApiTransport, type WatchEvent, type WatchEventType } from './transport.js';

/** The values an object is filed under in one index (e.g. its node name). */
export type IndexFunc = (object: KubeObject) => readonly string[];

export type InformerHandler = (type: WatchEventType, object: KubeObject, old: KubeObject | undefined) => void;

/** The namespace index every informer has. */
export const NAMESPACE_INDEX = 'namespace';

export class Informer {
  /** Cached objects by `namespace/name`. Never mutated: handlers and readers must copy to change. */
  private readonly items = new Map<string, KubeObject>();
  private readonly indexers = new Map<string, IndexFunc>();
  /** index name → value → keys. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private readonly handlers: InformerHandler[] = [];
  private resourceVersion = '';
  private stopWatch: () => void = () => undefined;
  private retry: unknown;
  private failures = 0;
  private stopped = false;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    readonly def: KindDefinition,
    private readonly transport: ApiTransport,
    private readonly log: (message: string) => void = () => undefined,
    private readonly timers: Timers = realTimers,
    /** Lists and watches one namespace only (a namespaced kind), as a namespaced operator's informers do. */
    readonly namespace?: string,
  ) {
    this.addIndex(NAMESPACE_INDEX, (o) => [o.metadata.namespace ?? '']);
  }

  /** Files objects under `fn`'s values; may be added before or after start. */
  addIndex(name: string, fn: IndexFunc): void {
    if (this.indexers.has(name)) throw new Error(`informer ${this.def.plural}: index ${name} exists`);
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, object] of this.items) this.fileUnder(name, fn, key, object);
  }

  hasIndex(name: string): boolean {
    return this.indexers.has(name);
  }

  /** Calls `handler` after each change of the cache; returns a function that removes it. */
  onChange(handler: InformerHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const at = this.handlers.indexOf(handler);
      if (at >= 0) this.handlers.splice(at, 1);
    };
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    this.stopped = false;
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch();
    this.stopWatch = () => undefined;
    if (this.retry !== undefined) this.timers.clearTimeout(this.retry);
    this.retry = undefined;
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.items.get(namespace === '' || !this.def.namespaced ? name : `${namespace}/${name}`);
  }

  /** Every cached object, or those of one namespace, sorted by namespace then name. */
  list(namespace?: string): KubeObject[] {
    const keys =
      namespace === undefined
        ? [...this.items.keys()]
        : [...(this.indices.get(NAMESPACE_INDEX)?.get(namespace) ?? [])];
    return keys.sort(compareKeys).flatMap((k) => {
      const o = this.items.get(k);
      return o === undefined ? [] : [o];
    });
  }

  byIndex(index: string, value: string): KubeObject[] {
    const values = this.indices.get(index);
    if (values === undefined) throw new Error(`informer ${this.def.plural}: no index ${index}`);
    return [...(values.get(value) ?? [])].sort(compareKeys).flatMap((k) => {
      const o = this.items.get(k);
      return o === undefined ? [] : [o];
    });
  }

  private async relist(): Promise<void> {
    this.stopWatch();
    try {
      const { items, resourceVersion } = await this.transport.list(this.def, this.namespace);
      if (this.stopped) return;
      this.replace(items);
      this.resourceVersion = resourceVersion;
      this.failures = 0;
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
      this.watch();
    } catch (err) {
      this.log(
        `informer ${this.def.plural}: failed listing from ${this.transport.describe}: ${message(err)}`,
      );
      this.later(() => void this.relist());
    }
  }

  private watch(): void {
    if (this.stopped) return;
    this.stopWatch = this.transport.watch(
      this.def,
      this.resourceVersion,
      {
        event: (e) => this.apply(e),
        end: ({ gone, error }) => {
          if (this.stopped) return;
          if (gone) {
            this.log(
              `informer ${this.def.plural}: resourceVersion ${this.resourceVersion} is gone, listing again`,
            );
            void this.relist();
            return;
          }
          if (error !== undefined)
            this.log(
              `informer ${this.def.plural}: watch on ${this.transport.describe} failed: ${message(error)}`,
            );
          else this.failures = 0;
          this.later(() => this.watch());
        },
      },
      this.namespace,
    );
  }

  /** Retries with backoff (50 ms doubling to 10 s); a watch that simply timed out resumes at once. */
  private later(fn: () => void): void {
    if (this.stopped) return;
    const delay = this.failures === 0 ? 0 : Math.min(10_000, 50 * 2 ** (this.failures - 1));
    this.failures++;
    this.retry = this.timers.setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) fn();
    }, delay);
  }

  private apply(e: WatchEvent): void {
    this.failures = 0;
    if (e.type === 'BOOKMARK') {
      this.resourceVersion = e.resourceVersion;
      return;
    }
    this.resourceVersion = e.object.metadata.resourceVersion ?? this.resourceVersion;
    const key = objectKey(e.object);
    const old = this.items.get(key);
    if (e.type === 'DELETED') this.remove(key);
    else this.put(key, e.object);
    const type: WatchEventType = e.type === 'DELETED' ? 'DELETED' : old === undefined ? 'ADDED' : 'MODIFIED';
    this.notify(type, e.object, old);
  }

  /** A fresh list: what is missing was deleted meanwhile, what differs changed. */
  private replace(items: readonly KubeObject[]): void {
    const seen = new Set<string>();
    for (const object of items) {
      const key = objectKey(object);
      seen.add(key);
      const old = this.items.get(key);
      if (old !== undefined && old.metadata.resourceVersion === object.metadata.resourceVersion) continue;
      this.put(key, object);
      this.notify(old === undefined ? 'ADDED' : 'MODIFIED', object, old);
    }
    for (const [key, old] of [...this.items]) {
      if (seen.has(key)) continue;
      this.remove(key);
      this.notify('DELETED', old, old);
    }
  }

  private notify(type: WatchEventType, object: KubeObject, old: KubeObject | undefined): void {
    for (const h of [...this.handlers]) {
      try {
        h(type, object, old);
      } catch (err) {
        this.log(`informer ${this.def.plural}: a handler failed on ${objectKey(object)}: ${message(err)}`);
      }
    }
  }

  private put(key: string, object: KubeObject): void {
    this.remove(key);
    this.items.set(key, object);
    for (const [name, fn] of this.indexers) this.fileUnder(name, fn, key, object);
  }

  private remove(key: string): void {
    const old = this.items.get(key);
    if (old === undefined) return;
    this.items.delete(key);
    for (const [name, fn] of this.indexers) {
      const values = this.indices.get(name);
      for (const v of fn(old)) {
        const keys = values?.get(v);
        keys?.delete(key);
        if (keys?.size === 0) values?.delete(v);
      }
    }
  }

  private fileUnder(name: string, fn: IndexFunc, key: string, object: KubeObject): void {
    const values = this.indices.get(name);
    if (values === undefined) return;
    for (const v of fn(object)) {
      let keys = values.get(v);
      if (keys === undefined) values.set(v, (keys = new Set()));
      keys.add(key);
    }
  }
}

/** Cluster-scoped keys (no slash) sort as namespace ''. */
function compareKeys(a: string, b: string): number {
  const [an, aname] = a.includes('/') ? [a.slice(0, a.indexOf('/')), a.slice(a.indexOf('/') + 1)] : ['', a];
  const [bn, bname] = b.includes('/') ? [b.slice(0, b.indexOf('/')), b.slice(b.indexOf('/') + 1)] : ['', b];
  return an < bn ? -1 : an > bn ? 1 : aname < bname ? -1 : aname > bname ? 1 : 0;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
