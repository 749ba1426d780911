/**
 * Garbage collector: deletes objects whose owners (ownerReferences, by uid) are gone, and carries
 * out the foreground and orphan deletion finalizers. Like Kubernetes' garbage collector, it keeps
 * a graph of owners to dependents built from the store's change stream.
 */
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import {
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  resourceKey,
  type Registry,
} from '../../apiserver/registry.js';
import type { StoreEvent } from '../../store/store.js';
import { WorkQueue } from '../../runtime/queue.js';

interface Ref {
  def: KindDefinition;
  namespace: string;
  name: string;
}

const refKey = (r: { resource: string; namespace: string; name: string }): string =>
  `${r.resource}|${r.namespace}|${r.name}`;

export class GarbageCollector {
  private readonly byResource = new Map<string, KindDefinition>();
  /** uid → where the object lives. */
  private readonly objects = new Map<string, Ref>();
  /** owner uid → keys of its dependents. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue: WorkQueue;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly registry: Registry,
    kinds: readonly KindDefinition[],
    log: (message: string) => void = () => undefined,
  ) {
    for (const def of kinds) this.byResource.set(resourceKey(def), def);
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => log(`garbage collector: failed syncing ${key}: ${String(err)}`),
    );
    this.queue.name = 'garbage-collector';
  }

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((e) => this.observe(e));
    for (const def of this.byResource.values()) {
      for (const o of this.registry.store.list(resourceKey(def)).items) this.observe({ ...o, type: 'ADDED' });
    }
    for (const def of this.byResource.values()) {
      for (const o of this.registry.store.list(resourceKey(def)).items) this.queue.add(refKey(o));
    }
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private observe(e: Pick<StoreEvent, 'type' | 'resource' | 'namespace' | 'name' | 'object'>): void {
    const def = this.byResource.get(e.resource);
    const uid = e.object.metadata.uid;
    if (def === undefined || uid === undefined) return;
    const key = refKey(e);
    for (const owner of e.object.metadata.ownerReferences ?? []) {
      const set = this.dependents.get(owner.uid) ?? new Set<string>();
      if (e.type === 'DELETED') set.delete(key);
      else set.add(key);
      if (set.size === 0) this.dependents.delete(owner.uid);
      else this.dependents.set(owner.uid, set);
      // An owner in foreground deletion waits for its last dependent to go.
      if (e.type === 'DELETED') this.queueObject(owner.uid);
    }
    if (e.type === 'DELETED') {
      this.objects.delete(uid);
      for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
    } else {
      this.objects.set(uid, { def, namespace: e.namespace, name: e.name });
      if (e.object.metadata.deletionTimestamp !== undefined) {
        this.queue.add(key);
        for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
      } else if ((e.object.metadata.ownerReferences ?? []).length > 0) {
        this.queue.add(key);
      }
    }
  }

  private queueObject(uid: string): void {
    const ref = this.objects.get(uid);
    if (ref !== undefined)
      this.queue.add(refKey({ resource: resourceKey(ref.def), namespace: ref.namespace, name: ref.name }));
  }

  private sync(key: string): void {
    const [resource = '', namespace = '', name = ''] = key.split('|');
    const def = this.byResource.get(resource);
    const stored = def === undefined ? undefined : this.registry.store.get(resource, namespace, name);
    if (def === undefined || stored === undefined) return;
    const object = stored.object;
    const finalizers = object.metadata.finalizers ?? [];
    if (object.metadata.deletionTimestamp !== undefined) {
      if (finalizers.includes(ORPHAN_FINALIZER)) this.orphanDependents(object, def, namespace);
      else if (finalizers.includes(FOREGROUND_FINALIZER)) this.deleteDependentsFirst(object, def, namespace);
    }
    const owners = object.metadata.ownerReferences ?? [];
    if (owners.length === 0) return;
    const live = owners.filter((o) => this.objects.has(o.uid));
    const ownerInForeground = live.some((o) => {
      const ref = this.objects.get(o.uid);
      const owner =
        ref === undefined
          ? undefined
          : this.registry.store.get(resourceKey(ref.def), ref.namespace, ref.name)?.object;
      return (
        owner?.metadata.deletionTimestamp !== undefined &&
        (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER)
      );
    });
    if (live.length === 0 || ownerInForeground) {
      if (object.metadata.deletionTimestamp === undefined) {
        this.registry.delete(def, namespace, name, {
          propagationPolicy: ownerInForeground ? 'Foreground' : 'Background',
        });
      }
    }
  }

  private dependentsOf(uid: string): Ref[] {
    return [...(this.dependents.get(uid) ?? [])].flatMap((k) => {
      const [resource = '', namespace = '', name = ''] = k.split('|');
      const def = this.byResource.get(resource);
      return def === undefined ? [] : [{ def, namespace, name }];
    });
  }

  private deleteDependentsFirst(owner: KubeObject, def: KindDefinition, namespace: string): void {
    const deps = this.dependentsOf(owner.metadata.uid ?? '');
    for (const d of deps) {
      const dep = this.registry.store.get(resourceKey(d.def), d.namespace, d.name);
      if (dep !== undefined && dep.object.metadata.deletionTimestamp === undefined) {
        this.registry.delete(d.def, d.namespace, d.name, { propagationPolicy: 'Foreground' });
      }
    }
    if (deps.length === 0) this.removeFinalizer(owner, def, namespace, FOREGROUND_FINALIZER);
  }

  private orphanDependents(owner: KubeObject, def: KindDefinition, namespace: string): void {
    const uid = owner.metadata.uid ?? '';
    for (const d of this.dependentsOf(uid)) {
      const dep = this.registry.store.get(resourceKey(d.def), d.namespace, d.name);
      if (dep === undefined) continue;
      const copy = structuredClone(dep.object);
      copy.metadata.ownerReferences = (copy.metadata.ownerReferences ?? []).filter((o) => o.uid !== uid);
      if (copy.metadata.ownerReferences.length === 0) delete copy.metadata.ownerReferences;
      this.registry.update(d.def, d.namespace, d.name, copy);
    }
    this.removeFinalizer(owner, def, namespace, ORPHAN_FINALIZER);
  }

  private removeFinalizer(
    owner: KubeObject,
    def: KindDefinition,
    namespace: string,
    finalizer: string,
  ): void {
    const copy = structuredClone(owner);
    copy.metadata.finalizers = (copy.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (copy.metadata.finalizers.length === 0) delete copy.metadata.finalizers;
    this.registry.update(def, namespace, owner.metadata.name ?? '', copy);
  }
}
