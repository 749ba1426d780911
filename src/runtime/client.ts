/**
 * What a reconciler sees of the API, whatever serves it: reads come from the informers' cache
 * (cheap, synchronous, possibly a moment behind), writes go to the server (asynchronous, and the
 * server's rules apply). The same reconciler therefore runs in `hikube up` over the Registry and
 * against a real cluster over HTTP. Objects returned are copies the caller may change.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import type { DeleteOptions } from '../apiserver/registry.js';
import type { Informer } from './informer.js';
import { isConflict, type ApiTransport } from './transport.js';

export interface Client {
  /** From the cache; the kind must be watched (Manager.informer) before the manager starts. */
  get<T extends KubeObject>(def: KindDefinition, namespace: string, name: string): T | undefined;
  list<T extends KubeObject>(def: KindDefinition, namespace?: string): T[];
  /**
   * Whether the cache holds `namespace`'s objects of this kind: false only for a namespaced kind
   * outside a namespaced manager's one namespace, where `get` answers undefined without knowing.
   */
  sees(def: KindDefinition, namespace: string): boolean;
  /** Objects filed under `value` in an index added with Informer.addIndex. */
  byIndex<T extends KubeObject>(def: KindDefinition, index: string, value: string): T[];
  /**
   * A fresh list from the server, not the cache: for decisions that one informer running behind
   * another would make wrong (is this namespace empty yet?).
   */
  listLive<T extends KubeObject>(def: KindDefinition, namespace?: string): Promise<T[]>;
  /** A fresh read from the server, not the cache (see listLive). */
  getLive<T extends KubeObject>(def: KindDefinition, namespace: string, name: string): Promise<T | undefined>;
  create<T extends KubeObject>(def: KindDefinition, object: T): Promise<T>;
  /** Replaces the object; rejects with Conflict when metadata.resourceVersion is stale. */
  update<T extends KubeObject>(def: KindDefinition, object: T): Promise<T>;
  updateStatus<T extends KubeObject>(def: KindDefinition, object: T): Promise<T>;
  /**
   * Reads (cache first, the server after a conflict), lets `change` edit a copy, writes it back.
   * `change` returning false writes nothing. Resolves undefined when the object is gone.
   */
  mutate<T extends KubeObject>(
    def: KindDefinition,
    namespace: string,
    name: string,
    change: (object: T) => boolean | void,
    status?: boolean,
  ): Promise<T | undefined>;
  /** Resolves once deleted or already gone. */
  delete(def: KindDefinition, namespace: string, name: string, options?: DeleteOptions): Promise<void>;
}

/** Where a client finds the informer of a kind. */
export type InformerSource = (def: KindDefinition) => Informer;

const MAX_CONFLICT_RETRIES = 5;

export class CachedClient implements Client {
  constructor(
    private readonly transport: ApiTransport,
    private readonly informers: InformerSource,
  ) {}

  sees(def: KindDefinition, namespace: string): boolean {
    if (!def.namespaced) return true;
    const scope = this.informers(def).namespace;
    return scope === undefined || scope === namespace;
  }

  get<T extends KubeObject>(def: KindDefinition, namespace: string, name: string): T | undefined {
    const found = this.informers(def).get(namespace, name);
    return found === undefined ? undefined : (structuredClone(found) as T);
  }

  list<T extends KubeObject>(def: KindDefinition, namespace?: string): T[] {
    return this.informers(def)
      .list(namespace)
      .map((o) => structuredClone(o) as T);
  }

  byIndex<T extends KubeObject>(def: KindDefinition, index: string, value: string): T[] {
    return this.informers(def)
      .byIndex(index, value)
      .map((o) => structuredClone(o) as T);
  }

  async listLive<T extends KubeObject>(def: KindDefinition, namespace?: string): Promise<T[]> {
    return (await this.transport.list(def, namespace)).items.map((o) => structuredClone(o) as T);
  }

  async getLive<T extends KubeObject>(
    def: KindDefinition,
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    return (await this.transport.get(def, namespace, name)) as T | undefined;
  }

  async create<T extends KubeObject>(def: KindDefinition, object: T): Promise<T> {
    return (await this.transport.create(def, object)) as T;
  }

  async update<T extends KubeObject>(def: KindDefinition, object: T): Promise<T> {
    return (await this.transport.update(def, object)) as T;
  }

  async updateStatus<T extends KubeObject>(def: KindDefinition, object: T): Promise<T> {
    return (await this.transport.update(def, object, 'status')) as T;
  }

  async mutate<T extends KubeObject>(
    def: KindDefinition,
    namespace: string,
    name: string,
    change: (object: T) => boolean | void,
    status = false,
  ): Promise<T | undefined> {
    let current = this.get<T>(def, namespace, name);
    for (let attempt = 0; ; attempt++) {
      if (current === undefined) return undefined;
      if (change(current) === false) return current;
      try {
        return status ? await this.updateStatus(def, current) : await this.update(def, current);
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
      }
      // The cache was behind: read the server's copy.
      current = (await this.transport.get(def, namespace, name)) as T | undefined;
    }
  }

  delete(def: KindDefinition, namespace: string, name: string, options: DeleteOptions = {}): Promise<void> {
    return this.transport.delete(def, namespace, name, options);
  }
}
