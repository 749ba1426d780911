/**
 * The authorizer's view of the store, kept in memory and current: roles and cluster roles by
 * name, bindings indexed by subject (so a request reads only the bindings naming its user and
 * groups, however many others exist), and the uid of every service account (a token is valid only
 * while its account, that very incarnation, exists). Fed by the store's change stream,
 * synchronously after each commit, so a binding or a deletion takes effect with the next request.
 */
import type { KubeObject } from '../../api/meta.js';
import { resourceKey } from '../registry.js';
import type { Store, StoreEvent } from '../../store/store.js';
import {
  clusterRoleBindingKind,
  clusterRoleKind,
  roleBindingKind,
  roleKind,
  type BindingObject,
  type RoleObject,
  type Subject,
} from '../../api/rbac/rbac.js';
import { serviceAccountKind } from '../../api/core/serviceaccount.js';

const ROLES = resourceKey(roleKind);
const CLUSTER_ROLES = resourceKey(clusterRoleKind);
const BINDINGS = resourceKey(roleBindingKind);
const CLUSTER_BINDINGS = resourceKey(clusterRoleBindingKind);
const ACCOUNTS = resourceKey(serviceAccountKind);
const WATCHED = new Set([ROLES, CLUSTER_ROLES, BINDINGS, CLUSTER_BINDINGS, ACCOUNTS]);

/** `u:NAME` for users (service accounts are users named system:serviceaccount:NS:NAME), `g:NAME` for groups. */
export function subjectKey(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount')
    return `u:system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name}`;
  return `${s.kind === 'Group' ? 'g' : 'u'}:${s.name}`;
}

/** Bindings by subject key; each binding under each of its subjects. */
class BindingIndex {
  private readonly byKey = new Map<string, Map<string, BindingObject>>();
  private readonly keysOf = new Map<string, string[]>();

  put(id: string, binding: BindingObject, namespace: string, scope: string): void {
    this.remove(id);
    const keys = [...new Set((binding.subjects ?? []).map((s) => scope + subjectKey(s, namespace)))];
    for (const k of keys) {
      let m = this.byKey.get(k);
      if (m === undefined) this.byKey.set(k, (m = new Map<string, BindingObject>()));
      m.set(id, binding);
    }
    this.keysOf.set(id, keys);
  }

  remove(id: string): void {
    for (const k of this.keysOf.get(id) ?? []) {
      const m = this.byKey.get(k);
      m?.delete(id);
      if (m?.size === 0) this.byKey.delete(k);
    }
    this.keysOf.delete(id);
  }

  get(key: string): Iterable<BindingObject> {
    return this.byKey.get(key)?.values() ?? [];
  }
}

export class PolicyIndex {
  readonly roles = new Map<string, RoleObject>();
  readonly clusterRoles = new Map<string, RoleObject>();
  private readonly clusterBindings = new BindingIndex();
  /** Keyed `NAMESPACE\0SUBJECT`. */
  private readonly bindings = new BindingIndex();
  private readonly accounts = new Map<string, string>();
  private readonly unsubscribe: () => void;
  /** Bumped by every change to a role or a binding: what a cached RBAC decision was made under. */
  private policyGeneration = 0;

  constructor(store: Store) {
    this.unsubscribe = store.subscribe((e) => {
      if (WATCHED.has(e.resource)) this.apply(e);
    });
    for (const resource of WATCHED)
      for (const o of store.list(resource).items)
        this.apply({ type: 'ADDED', resource, namespace: o.namespace, name: o.name, object: o.object });
  }

  close(): void {
    this.unsubscribe();
  }

  get generation(): number {
    return this.policyGeneration;
  }

  /** The uid of service account NAMESPACE/NAME, if it exists. */
  serviceAccountUid(namespace: string, name: string): string | undefined {
    return this.accounts.get(`${namespace}/${name}`);
  }

  clusterBindingsFor(subject: string): Iterable<BindingObject> {
    return this.clusterBindings.get(subject);
  }

  bindingsFor(namespace: string, subject: string): Iterable<BindingObject> {
    return this.bindings.get(`${namespace}\0${subject}`);
  }

  role(namespace: string, name: string): RoleObject | undefined {
    return this.roles.get(`${namespace}/${name}`);
  }

  private apply(e: Pick<StoreEvent, 'type' | 'resource' | 'namespace' | 'name' | 'object'>): void {
    const id = `${e.namespace}/${e.name}`;
    const gone = e.type === 'DELETED';
    const object: KubeObject = e.object;
    if (e.resource !== ACCOUNTS) this.policyGeneration++;
    switch (e.resource) {
      case ROLES:
        if (gone) this.roles.delete(id);
        else this.roles.set(id, object);
        break;
      case CLUSTER_ROLES:
        if (gone) this.clusterRoles.delete(e.name);
        else this.clusterRoles.set(e.name, object);
        break;
      case BINDINGS:
        if (gone) this.bindings.remove(id);
        else this.bindings.put(id, object as BindingObject, e.namespace, `${e.namespace}\0`);
        break;
      case CLUSTER_BINDINGS:
        if (gone) this.clusterBindings.remove(id);
        else this.clusterBindings.put(id, object as BindingObject, '', '');
        break;
      case ACCOUNTS:
        if (gone) this.accounts.delete(id);
        else this.accounts.set(id, object.metadata.uid ?? '');
        break;
    }
  }
}
