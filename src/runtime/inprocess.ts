/**
 * The runtime's transport over the Registry in this process: what `hikube up` uses, with no HTTP
 * hop. Writes go through the Registry (so they obey every rule a kubectl write obeys), and watch
 * events arrive synchronously after each commit, as the store delivers them, so a controller's
 * cache is current as soon as a write returns.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import { resourceKey, type DeleteOptions, type Registry } from '../apiserver/registry.js';
import { StoreError, type StoreEvent } from '../store/store.js';
import { isNotFound, type ApiTransport, type ObjectList, type WatchHandlers } from './transport.js';

/** The stored object with its resourceVersion, sharing the rest (stored objects are never mutated). */
const withRv = (object: KubeObject, rv: number): KubeObject => ({
  ...object,
  metadata: { ...object.metadata, resourceVersion: String(rv) },
});

export class RegistryTransport implements ApiTransport {
  readonly describe = 'in-process';

  constructor(private readonly registry: Registry) {}

  list(def: KindDefinition, namespace?: string): Promise<ObjectList> {
    const { items, rv } = this.registry.store.list(resourceKey(def), namespace);
    return Promise.resolve({
      items: items.map((o) => withRv(o.object, o.rv)),
      resourceVersion: String(rv),
    });
  }

  watch(
    def: KindDefinition,
    resourceVersion: string,
    handlers: WatchHandlers,
    namespace?: string,
  ): () => void {
    const resource = resourceKey(def);
    const store = this.registry.store;
    let lastSent = Number(resourceVersion);
    const pending: StoreEvent[] = [];
    let replaying = true;
    const deliver = (e: StoreEvent): void => {
      if (e.resource !== resource || e.rv <= lastSent) return;
      lastSent = e.rv;
      if (namespace !== undefined && (e.object.metadata.namespace ?? '') !== namespace) return;
      handlers.event({ type: e.type, object: withRv(e.object, e.rv) });
    };
    const unsubscribe = store.subscribe((e) => {
      if (replaying) pending.push(e);
      else deliver(e);
    });
    try {
      for (const e of store.changesSince(lastSent)) deliver(e);
    } catch (err) {
      unsubscribe();
      handlers.end({ gone: err instanceof StoreError && err.code === 'Gone', error: err });
      return () => undefined;
    }
    replaying = false;
    for (const e of pending.splice(0)) deliver(e);
    return unsubscribe;
  }

  get(def: KindDefinition, namespace: string, name: string): Promise<KubeObject | undefined> {
    const found = this.registry.store.get(resourceKey(def), def.namespaced ? namespace : '', name);
    return Promise.resolve(found === undefined ? undefined : withRv(found.object, found.rv));
  }

  create(def: KindDefinition, object: KubeObject): Promise<KubeObject> {
    return this.attempt(() => this.registry.create(def, object.metadata.namespace ?? '', object).object);
  }

  update(def: KindDefinition, object: KubeObject, subresource?: 'status'): Promise<KubeObject> {
    const { namespace = '', name = '' } = object.metadata;
    return this.attempt(
      () =>
        this.registry.update(def, namespace, name, object, subresource === undefined ? {} : { subresource })
          .object,
    );
  }

  delete(def: KindDefinition, namespace: string, name: string, options: DeleteOptions = {}): Promise<void> {
    return this.attempt(() => {
      try {
        this.registry.delete(def, namespace, name, options);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  /** The Registry is synchronous: its errors become rejections, as over HTTP. */
  private attempt<T>(write: () => T): Promise<T> {
    try {
      return Promise.resolve(write());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
