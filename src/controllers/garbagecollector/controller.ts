/**
 * Garbage collector: deletes objects whose owners (ownerReferences, by uid) are gone, and carries
 * out the foreground and orphan deletion finalizers. Like Kubernetes' garbage collector, it keeps
 * a graph of owners to dependents, built from the informers of every kind it is given.
 */
import { apiVersionOf, type KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, resourceKey } from '../../apiserver/registry.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';
import type { WatchEventType } from '../../runtime/transport.js';

interface Ref {
  def: KindDefinition;
  namespace: string;
  name: string;
}

const refKey = (r: { resource: string; namespace: string; name: string }): string =>
  `${r.resource}|${r.namespace}|${r.name}`;

export class GarbageCollector extends Reconciler {
  private readonly byResource = new Map<string, KindDefinition>();
  /** uid → where the object lives. */
  private readonly objects = new Map<string, Ref>();
  /** owner uid → keys of its dependents. */
  private readonly dependents = new Map<string, Set<string>>();

  constructor(
    manager: Manager,
    kinds: readonly KindDefinition[],
    log: (message: string) => void = () => undefined,
  ) {
    super(manager, { name: 'garbage-collector', log });
    for (const def of kinds) {
      this.byResource.set(resourceKey(def), def);
      this.controller.watch(def, (object, type) => this.observe(def, object, type));
    }
  }

  override start(): void {
    // The cache is replayed as ADDED events: the whole graph is built before any key is synced.
    this.controller.start();
  }

  private get client() {
    return this.controller.client;
  }

  /** Updates the graph; returns the keys this change makes worth looking at. */
  private observe(def: KindDefinition, object: KubeObject, type: WatchEventType): string[] {
    const uid = object.metadata.uid;
    if (uid === undefined) return [];
    const namespace = object.metadata.namespace ?? '';
    const name = object.metadata.name ?? '';
    const key = refKey({ resource: resourceKey(def), namespace, name });
    const touched: string[] = [];
    for (const owner of object.metadata.ownerReferences ?? []) {
      const set = this.dependents.get(owner.uid) ?? new Set<string>();
      if (type === 'DELETED') set.delete(key);
      else set.add(key);
      if (set.size === 0) this.dependents.delete(owner.uid);
      else this.dependents.set(owner.uid, set);
      // An owner in foreground deletion waits for its last dependent to go.
      if (type === 'DELETED') touched.push(...this.keyOf(owner.uid));
    }
    if (type === 'DELETED') {
      this.objects.delete(uid);
      touched.push(...(this.dependents.get(uid) ?? []));
    } else {
      this.objects.set(uid, { def, namespace, name });
      if (object.metadata.deletionTimestamp !== undefined)
        touched.push(key, ...(this.dependents.get(uid) ?? []));
      else if ((object.metadata.ownerReferences ?? []).length > 0) touched.push(key);
    }
    return touched;
  }

  private keyOf(uid: string): string[] {
    const ref = this.objects.get(uid);
    return ref === undefined
      ? []
      : [refKey({ resource: resourceKey(ref.def), namespace: ref.namespace, name: ref.name })];
  }

  protected async reconcile(key: string): Promise<void> {
    const [resource = '', namespace = '', name = ''] = key.split('|');
    const def = this.byResource.get(resource);
    const object = def === undefined ? undefined : this.client.get<KubeObject>(def, namespace, name);
    if (def === undefined || object === undefined) return;
    const finalizers = object.metadata.finalizers ?? [];
    if (object.metadata.deletionTimestamp !== undefined) {
      if (finalizers.includes(ORPHAN_FINALIZER)) await this.orphanDependents(object, def, namespace);
      else if (finalizers.includes(FOREGROUND_FINALIZER))
        await this.deleteDependentsFirst(object, def, namespace);
    }
    const owners = object.metadata.ownerReferences ?? [];
    if (owners.length === 0) return;
    const live = owners.filter((o) => this.objects.has(o.uid));
    const ownerInForeground = live.some((o) => {
      const ref = this.objects.get(o.uid);
      const owner =
        ref === undefined ? undefined : this.client.get<KubeObject>(ref.def, ref.namespace, ref.name);
      return (
        owner?.metadata.deletionTimestamp !== undefined &&
        (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER)
      );
    });
    if (live.length === 0 && (await this.anyOwnerExists(owners, namespace))) return;
    if ((live.length === 0 || ownerInForeground) && object.metadata.deletionTimestamp === undefined) {
      await this.client.delete(def, namespace, name, {
        propagationPolicy: ownerInForeground ? 'Foreground' : 'Background',
      });
    }
  }

  /**
   * Asks the server before collecting: the owner's informer may simply not have seen it yet
   * (informers of different kinds are separate streams), as Kubernetes' collector also checks.
   */
  private async anyOwnerExists(
    owners: readonly { apiVersion: string; kind: string; name: string; uid: string }[],
    namespace: string,
  ): Promise<boolean> {
    for (const o of owners) {
      const def = [...this.byResource.values()].find(
        (d) => apiVersionOf(d) === o.apiVersion && d.kind === o.kind,
      );
      if (def === undefined) continue;
      const found = await this.client.getLive<KubeObject>(def, def.namespaced ? namespace : '', o.name);
      if (found?.metadata.uid === o.uid) return true;
    }
    return false;
  }

  private dependentsOf(uid: string): Ref[] {
    return [...(this.dependents.get(uid) ?? [])].flatMap((k) => {
      const [resource = '', namespace = '', name = ''] = k.split('|');
      const def = this.byResource.get(resource);
      return def === undefined ? [] : [{ def, namespace, name }];
    });
  }

  private async deleteDependentsFirst(
    owner: KubeObject,
    def: KindDefinition,
    namespace: string,
  ): Promise<void> {
    const deps = this.dependentsOf(owner.metadata.uid ?? '');
    for (const d of deps) {
      const dep = this.client.get<KubeObject>(d.def, d.namespace, d.name);
      if (dep !== undefined && dep.metadata.deletionTimestamp === undefined)
        await this.client.delete(d.def, d.namespace, d.name, { propagationPolicy: 'Foreground' });
    }
    if (deps.length === 0)
      await this.removeFinalizer(def, namespace, owner.metadata.name ?? '', FOREGROUND_FINALIZER);
  }

  private async orphanDependents(owner: KubeObject, def: KindDefinition, namespace: string): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    for (const d of this.dependentsOf(uid)) {
      await this.client.mutate<KubeObject>(d.def, d.namespace, d.name, (copy) => {
        copy.metadata.ownerReferences = (copy.metadata.ownerReferences ?? []).filter((o) => o.uid !== uid);
        if (copy.metadata.ownerReferences.length === 0) delete copy.metadata.ownerReferences;
      });
    }
    await this.removeFinalizer(def, namespace, owner.metadata.name ?? '', ORPHAN_FINALIZER);
  }

  private async removeFinalizer(
    def: KindDefinition,
    namespace: string,
    name: string,
    finalizer: string,
  ): Promise<void> {
    await this.client.mutate<KubeObject>(def, namespace, name, (copy) => {
      copy.metadata.finalizers = (copy.metadata.finalizers ?? []).filter((f) => f !== finalizer);
      if (copy.metadata.finalizers.length === 0) delete copy.metadata.finalizers;
    });
  }
}
