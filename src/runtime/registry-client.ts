/**
 * What controllers and the node agent see of the API: typed get/list/create/update/delete through
 * the Registry (so every write obeys the rules a kubectl write obeys: validation, resourceVersion
 * preconditions, generation, finalizers) and a change feed. Objects returned are copies.
 * This is the synchronous, in-process-only client the controllers were written on; controllers
 * move one by one to the runtime's `Client` (client.ts: cached reads, asynchronous writes), which
 * also runs against a real cluster. It lives here, not in controllers/, so that storage, network,
 * metrics and node do not import from the controllers' folder.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import { findKindByGvk, kinds } from '../api/registry.js';
import { resourceKey, type DeleteOptions, type Registry } from '../apiserver/registry.js';
import { ApiError } from '../apiserver/errors.js';
import type { StoreEvent } from '../store/store.js';

export const kindOf = (apiVersion: string, kind: string): KindDefinition => {
  const def = findKindByGvk(apiVersion, kind);
  if (def === undefined) throw new Error(`kind ${apiVersion} ${kind} is not registered`);
  return def;
};

export class ApiClient {
  constructor(readonly registry: Registry) {}

  get<T extends KubeObject>(def: KindDefinition, namespace: string, name: string): T | undefined {
    const found = this.registry.store.get(resourceKey(def), def.namespaced ? namespace : '', name);
    return found === undefined ? undefined : (withRv(found.object, found.rv) as T);
  }

  list<T extends KubeObject>(def: KindDefinition, namespace?: string): T[] {
    return this.registry.store
      .list(resourceKey(def), namespace)
      .items.map((o) => withRv(o.object, o.rv) as T);
  }

  create<T extends KubeObject>(def: KindDefinition, object: T): T {
    return this.registry.create(def, object.metadata.namespace ?? '', object).object as T;
  }

  /** Replaces the object; fails with Conflict when metadata.resourceVersion is stale. */
  update<T extends KubeObject>(def: KindDefinition, object: T): T {
    return this.registry.update(def, object.metadata.namespace ?? '', object.metadata.name ?? '', object)
      .object as T;
  }

  updateStatus<T extends KubeObject>(def: KindDefinition, object: T): T {
    return this.registry.update(def, object.metadata.namespace ?? '', object.metadata.name ?? '', object, {
      subresource: 'status',
    }).object as T;
  }

  /** Reads, changes and writes back, retrying on conflicts. Returns undefined when the object is gone. */
  mutate<T extends KubeObject>(
    def: KindDefinition,
    namespace: string,
    name: string,
    change: (o: T) => boolean | void,
    status = false,
  ): T | undefined {
    for (let attempt = 0; ; attempt++) {
      const current = this.get<T>(def, namespace, name);
      if (current === undefined) return undefined;
      if (change(current) === false) return current;
      try {
        return status ? this.updateStatus(def, current) : this.update(def, current);
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'Conflict') || attempt >= 5) throw err;
      }
    }
  }

  delete(def: KindDefinition, namespace: string, name: string, options: DeleteOptions = {}): void {
    try {
      this.registry.delete(def, namespace, name, options);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
  }

  /** Calls `listener` after every change of the given kinds. */
  watch(
    defs: readonly KindDefinition[],
    listener: (event: StoreEvent, def: KindDefinition) => void,
  ): () => void {
    const byKey = new Map(defs.map((d) => [resourceKey(d), d]));
    return this.registry.store.subscribe((e) => {
      const def = byKey.get(e.resource);
      if (def !== undefined) listener(e, def);
    });
  }
}

function withRv(object: KubeObject, rv: number): KubeObject {
  const copy = structuredClone(object);
  copy.metadata.resourceVersion = String(rv);
  return copy;
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.reason === 'NotFound';

export { kinds };
