/**
 * One list-watch per resource and query for the whole page, shared by every component that shows
 * it: the first subscriber starts it, the others read the same live list, and the last one leaving
 * stops it. A watch holds a request open for minutes; one per component (a VM's page, its tabs and
 * its menus each asking for the same list) multiplied the page's open requests for nothing.
 *
 * The stop is deferred by a turn of the event loop, so a component that unmounts and mounts again
 * in one render (a route change between two pages showing the same list, React's strict mode)
 * keeps its watch and its data instead of listing again.
 */
import type { KubeObject } from './types.js';

export interface WatchQuery {
  labelSelector?: string;
  fieldSelector?: string;
}

/** A live list as components read it: replaced, never mutated, when anything changes. */
export interface LiveList<T> {
  items: T[];
  loaded: boolean;
  error: Error | undefined;
}

export interface WatchSink {
  /** The full state after a (re)list. */
  sync(items: KubeObject[]): void;
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void;
  /** A failure the watch is retrying after. */
  error(err: Error): void;
}

/** Starts one list-watch (listWatch of watch.ts); returns its stop. */
export type StartWatch = (path: string, query: WatchQuery, sink: WatchSink) => () => void;

/** What a disabled or not yet started list reads. */
export const EMPTY_LIST: LiveList<never> = Object.freeze({ items: [], loaded: false, error: undefined });

interface Entry {
  byKey: Map<string, KubeObject>;
  list: LiveList<KubeObject>;
  listeners: Set<() => void>;
  stop: () => void;
}

const objectKey = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
const byObjectKey = (a: KubeObject, b: KubeObject): number => objectKey(a).localeCompare(objectKey(b));

export class WatchCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly start: StartWatch,
    private readonly defer: (fn: () => void) => void = (fn) => void setTimeout(fn, 0),
  ) {}

  /** The current list of `path` and `query`: EMPTY_LIST until someone subscribes to it. */
  snapshot(path: string, query: WatchQuery = {}): LiveList<KubeObject> {
    return this.entries.get(keyOf(path, query))?.list ?? EMPTY_LIST;
  }

  /** Calls `listener` after every change of that list; returns the unsubscribe. */
  subscribe(path: string, query: WatchQuery, listener: () => void): () => void {
    const key = keyOf(path, query);
    const entry = this.entries.get(key) ?? this.open(key, path, query);
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size > 0) return;
      this.defer(() => {
        if (entry.listeners.size > 0 || this.entries.get(key) !== entry) return;
        this.entries.delete(key);
        entry.stop();
      });
    };
  }

  /** How many list-watches are running. */
  get size(): number {
    return this.entries.size;
  }

  private open(key: string, path: string, query: WatchQuery): Entry {
    const entry: Entry = { byKey: new Map(), list: EMPTY_LIST, listeners: new Set(), stop: () => undefined };
    this.entries.set(key, entry);
    const publish = (error: Error | undefined): void => {
      entry.list = { items: [...entry.byKey.values()].sort(byObjectKey), loaded: true, error };
      for (const l of [...entry.listeners]) l();
    };
    entry.stop = this.start(path, query, {
      sync: (items) => {
        entry.byKey = new Map(items.map((o) => [objectKey(o), o]));
        publish(undefined);
      },
      event: (type, object) => {
        if (type === 'DELETED') entry.byKey.delete(objectKey(object));
        else entry.byKey.set(objectKey(object), object);
        publish(undefined);
      },
      error: (error) => {
        entry.list = { ...entry.list, error };
        for (const l of [...entry.listeners]) l();
      },
    });
    return entry;
  }
}

const keyOf = (path: string, query: WatchQuery): string =>
  JSON.stringify([path, query.labelSelector ?? null, query.fieldSelector ?? null]);
