/**
 * Namespace lifecycle: when a namespace is deleted it turns Terminating, everything in it is
 * deleted, and once it is empty its `kubernetes` finalizer is removed so the namespace goes too.
 * Runs on the controller runtime: it reads the cache of every namespaced kind.
 */
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { NAMESPACE_FINALIZER } from '../../apiserver/registry.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';

export class NamespaceController extends Reconciler {
  private readonly namespaceDef: KindDefinition;
  private readonly namespaced: KindDefinition[];

  constructor(
    manager: Manager,
    kinds: readonly KindDefinition[],
    log: (message: string) => void = () => undefined,
  ) {
    const ns = kinds.find((k) => k.group === '' && k.kind === 'Namespace');
    if (ns === undefined) throw new Error('namespace controller: the Namespace kind is not registered');
    super(manager, { name: 'namespace', log });
    this.namespaceDef = ns;
    this.namespaced = kinds.filter((k) => k.namespaced);
    this.controller.watch(ns, (o, type) =>
      type !== 'DELETED' && o.metadata.deletionTimestamp !== undefined ? [o.metadata.name ?? ''] : [],
    );
    // The last object of a terminating namespace going lets the namespace go.
    for (const def of this.namespaced)
      this.controller.watch(def, (o, type) => (type === 'DELETED' ? [o.metadata.namespace ?? ''] : []));
  }

  protected async reconcile(name: string): Promise<void> {
    const client = this.controller.client;
    const ns = client.get<KubeObject>(this.namespaceDef, '', name);
    if (ns === undefined || ns.metadata.deletionTimestamp === undefined) return;
    let remaining = 0;
    // Live lists: the informers of two kinds are separate streams, and a cache that has not yet
    // seen an object would let the namespace go while that object stays behind.
    for (const def of this.namespaced) {
      for (const o of await client.listLive(def, name)) {
        remaining++;
        if (o.metadata.deletionTimestamp === undefined)
          await client.delete(def, name, o.metadata.name ?? '', { propagationPolicy: 'Background' });
      }
    }
    if (remaining > 0) return;
    await client.mutate<KubeObject>(this.namespaceDef, '', name, (copy) => {
      const spec = (copy['spec'] ?? {}) as { finalizers?: string[] };
      spec.finalizers = (spec.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
      copy['spec'] = spec;
    });
  }
}
