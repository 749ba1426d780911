/**
 * What the operator asks of the API server, as RBAC sees it: a transport wrapper that records each
 * call as a verb on a group/resource (list and watch by the informers of every kind a reconciler
 * declared it watches or reads, get/create/update/delete by its writes). deploy/'s ClusterRole is
 * checked against these (test/unit/operator/deploy-rbac.test.ts), so it grants what is called.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import type { DeleteOptions } from '../apiserver/registry.js';
import type { ApiTransport, ObjectList, WatchHandlers } from '../runtime/transport.js';

/** One permission: `verb` on `resource` (with `/status` for the subresource) of `group`. */
export interface Permission {
  group: string;
  resource: string;
  verb: string;
  /** Where it was asked: a namespace, or '' for every namespace (or a cluster-scoped kind). */
  namespace: string;
}

export const permissionKey = (p: Permission): string => `${p.verb} ${p.group}/${p.resource}`;

export class RecordingTransport implements ApiTransport {
  readonly describe: string;
  private readonly seen = new Map<string, Permission>();
  private readonly scoped = new Map<string, Permission>();

  constructor(private readonly inner: ApiTransport) {
    this.describe = inner.describe;
  }

  /** Every permission used so far, in a stable order. */
  permissions(): Permission[] {
    return [...this.seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, p]) => p);
  }

  /** Every call, with where it was asked (`verb group/resource @namespace`). */
  scopedPermissions(): Permission[] {
    return [...this.scoped.values()];
  }

  private record(
    def: KindDefinition,
    verb: string,
    namespace: string | undefined,
    subresource?: string,
  ): void {
    const resource = subresource ? `${def.plural}/${subresource}` : def.plural;
    const p = { group: def.group, resource, verb, namespace: def.namespaced ? (namespace ?? '') : '' };
    if (!this.seen.has(permissionKey(p))) this.seen.set(permissionKey(p), p);
    this.scoped.set(`${permissionKey(p)} @${p.namespace}`, p);
  }

  list(def: KindDefinition, namespace?: string): Promise<ObjectList> {
    this.record(def, 'list', namespace);
    return this.inner.list(def, namespace);
  }

  watch(
    def: KindDefinition,
    resourceVersion: string,
    handlers: WatchHandlers,
    namespace?: string,
  ): () => void {
    this.record(def, 'watch', namespace);
    return this.inner.watch(def, resourceVersion, handlers, namespace);
  }

  get(def: KindDefinition, namespace: string, name: string): Promise<KubeObject | undefined> {
    this.record(def, 'get', namespace);
    return this.inner.get(def, namespace, name);
  }

  create(def: KindDefinition, object: KubeObject): Promise<KubeObject> {
    this.record(def, 'create', object.metadata.namespace);
    return this.inner.create(def, object);
  }

  update(def: KindDefinition, object: KubeObject, subresource?: 'status'): Promise<KubeObject> {
    this.record(def, 'update', object.metadata.namespace, subresource);
    return this.inner.update(def, object, subresource);
  }

  delete(def: KindDefinition, namespace: string, name: string, options?: DeleteOptions): Promise<void> {
    this.record(def, 'delete', namespace);
    return this.inner.delete(def, namespace, name, options);
  }
}
