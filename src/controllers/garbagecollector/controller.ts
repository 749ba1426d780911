/**
 * Garbage collector: deletes objects whose owners (ownerReferences, by uid) are gone, and carries
 * out the foreground and orphan deletion finalizers. Like Kubernetes' garbage collector, it keeps
 * a graph of owners to dependents, built from the informers of every kind it is given. Given the
 * served set (ServedKinds), it follows the kinds of CustomResourceDefinitions as they are accepted,
 * so custom resources own and are owned as built-in objects are.
 */
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { isOlderVersion } from '../../api/versions.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, resourceKey } from '../../apiserver/registry.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';
import type { WatchEventType } from '../../runtime/transport.js';

interface Ref {
  def: KindDefinition;
  namespace: string;
  name: string;
}

/** Kinds that come and go at run time (the API server's ServedKinds). */
export interface KindSource {
  all(): readonly KindDefinition[];
  onChange(listener: () => void): () => void;
}

const groupOf = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

const refKey = (r: { resource: string; namespace: string; name: string }): string =>
  `${r.resource}|${r.namespace}|${r.name}`;

class GraphNotSynced extends Error {
  constructor(plural: string) {
    super(`the cache of ${plural} has not listed yet`);
  }
}

export class GarbageCollector extends Reconciler {
  private readonly byResource = new Map<string, KindDefinition>();
  /** uid → where the object lives. */
  private readonly objects = new Map<string, Ref>();
  /** owner uid → keys of its dependents. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly source: KindSource | undefined;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly manager: Manager,
    kinds: readonly KindDefinition[] | KindSource,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    super(manager, { name: 'garbage-collector', log, quiet: (err) => err instanceof GraphNotSynced });
    this.source = 'all' in kinds ? kinds : undefined;
    this.follow('all' in kinds ? kinds.all() : kinds);
  }

  override start(): void {
    // The cache is replayed as ADDED events: the whole graph is built before any key is synced.
    this.controller.start();
    if (this.source === undefined) return;
    const source = this.source;
    this.follow(source.all());
    this.unsubscribe = source.onChange(() => this.follow(source.all()));
  }

  override stop(): void {
    this.unsubscribe();
    super.stop();
  }

  /**
   * Watches each kind not yet watched. Older served versions share their storage kind's objects;
   * a kind whose CRD went stays watched (its objects are gone, and a CRD made again reuses it).
   */
  private follow(kinds: readonly KindDefinition[]): void {
    for (const def of kinds) {
      if (isOlderVersion(def)) continue;
      const key = resourceKey(def);
      const known = this.byResource.has(key);
      this.byResource.set(key, def);
      if (!known) this.controller.watch(def, (object, type) => this.observe(def, object, type));
    }
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
    // A kind just followed (a CRD accepted a moment ago) whose informer has not listed yet leaves
    // the graph incomplete: orphaning or collecting now could miss dependents. Retried shortly.
    const unsynced = [...this.byResource.values()].find((d) => !this.manager.informer(d).hasSynced);
    if (unsynced !== undefined) throw new GraphNotSynced(unsynced.plural);
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
   * An owner of a kind not served (yet) counts as existing: Kubernetes' collector cannot resolve
   * it either and leaves the dependent alone rather than delete what may still be owned. The
   * owner is matched by group and kind, whichever served version its reference names.
   */
  private async anyOwnerExists(
    owners: readonly { apiVersion: string; kind: string; name: string; uid: string }[],
    namespace: string,
  ): Promise<boolean> {
    for (const o of owners) {
      const def = [...this.byResource.values()].find(
        (d) => d.group === groupOf(o.apiVersion) && d.kind === o.kind,
      );
      if (def === undefined) {
        this.log(`garbage-collector: owner ${o.apiVersion} ${o.kind} ${o.name} is of no served kind; kept`);
        return true;
      }
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

  /**
   * The dependents the server has now, with those of the graph: informers of different kinds are
   * separate streams, so a dependent made just before its owner's deletion may not be in the graph
   * yet. Asked only where missing one does harm (orphaning, ending a foreground deletion).
   */
  private async liveDependentsOf(owner: KubeObject, ownerDef: KindDefinition): Promise<Ref[]> {
    const uid = owner.metadata.uid ?? '';
    const found = new Map(
      this.dependentsOf(uid).map((d) => [refKey({ ...d, resource: resourceKey(d.def) }), d]),
    );
    const namespace = ownerDef.namespaced ? (owner.metadata.namespace ?? '') : undefined;
    for (const def of this.byResource.values()) {
      // A namespaced owner's dependents are in its namespace; cluster-scoped ones have none.
      if (namespace !== undefined && !def.namespaced) continue;
      for (const o of await this.client.listLive<KubeObject>(def, namespace)) {
        if (!(o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
        const ref = { def, namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' };
        found.set(refKey({ ...ref, resource: resourceKey(def) }), ref);
      }
    }
    return [...found.values()];
  }

  private async deleteDependentsFirst(
    owner: KubeObject,
    def: KindDefinition,
    namespace: string,
  ): Promise<void> {
    let deps = this.dependentsOf(owner.metadata.uid ?? '');
    // Before letting the owner go, make sure no dependent is still on its way through another stream.
    if (deps.length === 0) deps = await this.liveDependentsOf(owner, def);
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
    const unown = (copy: KubeObject): void => {
      copy.metadata.ownerReferences = (copy.metadata.ownerReferences ?? []).filter((o) => o.uid !== uid);
      if (copy.metadata.ownerReferences.length === 0) delete copy.metadata.ownerReferences;
    };
    for (const d of await this.liveDependentsOf(owner, def)) {
      const done = await this.client.mutate<KubeObject>(d.def, d.namespace, d.name, unown);
      // Not in the cache yet (found by asking the server): edit the server's copy.
      if (done === undefined) await this.unownLive(d, unown);
    }
    await this.removeFinalizer(def, namespace, owner.metadata.name ?? '', ORPHAN_FINALIZER);
  }

  private async unownLive(d: Ref, unown: (copy: KubeObject) => void): Promise<void> {
    const live = await this.client.getLive<KubeObject>(d.def, d.namespace, d.name);
    if (live === undefined) return;
    unown(live);
    // A conflict is retried with the whole orphaning: the finalizer stays until every reference is gone.
    await this.client.update(d.def, live);
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
