/**
 * Namespace lifecycle: when a namespace is deleted it turns Terminating, everything in it is
 * deleted, and once it is empty its `kubernetes` finalizer is removed so the namespace goes too.
 */
import type { KindDefinition } from '../../api/kind.js';
import { NAMESPACE_FINALIZER, resourceKey, type Registry } from '../../apiserver/registry.js';
import { WorkQueue } from '../../runtime/queue.js';

export class NamespaceController {
  private readonly namespaceDef: KindDefinition;
  private readonly namespaced: KindDefinition[];
  private readonly queue: WorkQueue;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly registry: Registry,
    kinds: readonly KindDefinition[],
    log: (message: string) => void = () => undefined,
  ) {
    const ns = kinds.find((k) => k.group === '' && k.kind === 'Namespace');
    if (ns === undefined) throw new Error('namespace controller: the Namespace kind is not registered');
    this.namespaceDef = ns;
    this.namespaced = kinds.filter((k) => k.namespaced);
    this.queue = new WorkQueue(
      (name) => this.sync(name),
      (name, err) => log(`namespace controller: failed syncing ${name}: ${String(err)}`),
    );
    this.queue.name = 'namespace';
  }

  start(): void {
    const nsKey = resourceKey(this.namespaceDef);
    this.unsubscribe = this.registry.store.subscribe((e) => {
      if (e.resource === nsKey && e.type !== 'DELETED' && e.object.metadata.deletionTimestamp !== undefined)
        this.queue.add(e.name);
      else if (e.type === 'DELETED' && e.namespace !== '') this.queue.add(e.namespace);
    });
    for (const ns of this.registry.store.list(nsKey).items) {
      if (ns.object.metadata.deletionTimestamp !== undefined) this.queue.add(ns.name);
    }
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private sync(name: string): void {
    const ns = this.registry.store.get(resourceKey(this.namespaceDef), '', name);
    if (ns === undefined || ns.object.metadata.deletionTimestamp === undefined) return;
    let remaining = 0;
    for (const def of this.namespaced) {
      for (const o of this.registry.store.list(resourceKey(def), name).items) {
        remaining++;
        if (o.object.metadata.deletionTimestamp === undefined)
          this.registry.delete(def, name, o.name, { propagationPolicy: 'Background' });
      }
    }
    if (remaining > 0) return;
    const copy = structuredClone(ns.object);
    const spec = (copy['spec'] ?? {}) as { finalizers?: string[] };
    spec.finalizers = (spec.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
    copy['spec'] = spec;
    this.registry.update(this.namespaceDef, '', name, copy);
  }
}
