/**
 * Keeps the served kinds in step with the stored CustomResourceDefinitions, as kube-apiserver's
 * apiextensions controllers do: an accepted CRD whose names conflict with nothing is served at once
 * and gets `NamesAccepted` and `Established`; a CRD being deleted first has its objects deleted,
 * then stops being served and loses its finalizer. At start every stored CRD is loaded; one that no
 * longer loads is reported and skipped, never stopping start-up.
 */
import { customKinds } from '../api/crd/custom-kinds.js';
import {
  CRD_CLEANUP_FINALIZER,
  customResourceDefinitionKind,
  type CustomResourceDefinition,
} from '../api/crd/crd.js';
import { validateCrd } from '../api/crd/crd-rules.js';
import type { KubeObject } from '../api/meta.js';
import type { StoreEvent } from '../store/store.js';
import { isOlderVersion } from '../api/versions.js';
import { namesConflict, servingOrder, type NamesConflict } from './crd-names.js';
import { resourceKey, type Registry } from './registry.js';
import type { ServedKinds } from './served-kinds.js';

const CRD_RESOURCE = resourceKey(customResourceDefinitionKind);
const NAMESPACE_RESOURCE = '/namespaces';
/** How soon a deletion waiting on its objects' finalizers is looked at again. */
const CLEANUP_RETRY_MS = 1000;

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export class CrdController {
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly served: ServedKinds,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Serves every stored CRD, then follows changes. */
  start(): void {
    this.unsubscribe = this.registry.store.subscribe((e) => this.onEvent(e));
    const stored = this.registry.store.list(CRD_RESOURCE).items.map((row) => row.object);
    for (const crd of servingOrder(stored as CustomResourceDefinition[])) this.sync(crd);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private onEvent(event: StoreEvent): void {
    if (event.resource === NAMESPACE_RESOURCE && event.object.metadata.deletionTimestamp !== undefined)
      setImmediate(() => this.emptyNamespace(event.name));
    if (event.resource !== CRD_RESOURCE) return;
    if (event.type === 'DELETED') {
      this.served.remove(event.name);
      this.retryRefused();
    } else this.sync(event.object);
  }

  /** Names a deleted CRD held are free again: CRDs refused them get another look, oldest first. */
  private retryRefused(): void {
    const stored = this.registry.store.list(CRD_RESOURCE).items.map((row) => row.object);
    for (const crd of servingOrder(stored as CustomResourceDefinition[])) {
      const { group, names } = crd.spec;
      if (this.served.crdServing(group, names.plural) !== crd.metadata.name) this.sync(crd);
    }
  }

  /** Serves the CRD now; its status and any cleanup are written after the current write returns. */
  private sync(object: KubeObject): void {
    const crd = object as CustomResourceDefinition;
    const name = crd.metadata.name ?? '';
    try {
      const problems = validateCrd(crd, undefined);
      const conflict = this.conflict(crd);
      if (problems.length > 0 || conflict !== undefined || crd.metadata.deletionTimestamp !== undefined) {
        if (problems.length > 0)
          this.log(
            `CustomResourceDefinition ${name} is not served: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
          );
        this.served.remove(name);
      } else this.served.set(name, customKinds(crd));
    } catch (err) {
      this.log(`CustomResourceDefinition ${name} could not be loaded and is not served: ${String(err)}`);
      this.served.remove(name);
    }
    this.later(name);
  }

  private later(name: string): void {
    this.pending.add(name);
    if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), 0);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const names = [...this.pending];
    this.pending.clear();
    for (const name of names) {
      try {
        this.settle(name);
      } catch (err) {
        this.log(`CustomResourceDefinition ${name}: ${String(err)}`);
        this.retry(name);
      }
    }
  }

  private retry(name: string): void {
    this.pending.add(name);
    this.timer ??= setTimeout(() => this.flush(), CLEANUP_RETRY_MS);
  }

  private settle(name: string): void {
    const found = this.registry.store.get(CRD_RESOURCE, '', name);
    if (found === undefined) return;
    const crd = found.object as CustomResourceDefinition;
    if (crd.metadata.deletionTimestamp !== undefined) {
      if (!this.cleanUp(crd)) return this.retry(name);
      const next = structuredClone(crd);
      next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
      this.registry.update(customResourceDefinitionKind, '', name, next);
      return;
    }
    const status = this.statusOf(crd);
    const current = JSON.stringify(crd.status ?? {});
    if (JSON.stringify(status) === current) return;
    this.registry.update(
      customResourceDefinitionKind,
      '',
      name,
      { ...crd, status },
      { subresource: 'status' },
    );
  }

  /** Deletes the CRD's objects; true once none is left (finalizers of objects may hold some). */
  private cleanUp(crd: CustomResourceDefinition): boolean {
    const storage = customKinds(crd)[0] ?? customKindsUnserved(crd);
    if (storage === undefined) return true;
    const rows = this.registry.store.list(resourceKey(storage)).items;
    for (const row of rows) {
      if (row.object.metadata.deletionTimestamp === undefined)
        this.registry.delete(storage, row.namespace, row.name);
    }
    return this.registry.store.list(resourceKey(storage)).items.length === 0;
  }

  /**
   * A terminating namespace loses its custom resources too: the namespace controller knows only the
   * built-in kinds, so the objects of CRDs are deleted here.
   */
  private emptyNamespace(namespace: string): void {
    if (this.stopped) return;
    const storageKinds = this.served
      .all()
      .filter((d) => d.custom === true && d.namespaced && !isOlderVersion(d));
    for (const def of storageKinds) {
      for (const row of this.registry.store.list(resourceKey(def), namespace).items) {
        if (row.object.metadata.deletionTimestamp !== undefined) continue;
        try {
          this.registry.delete(def, namespace, row.name);
        } catch (err) {
          this.log(
            `deleting ${def.plural}/${row.name} of terminating namespace ${namespace}: ${String(err)}`,
          );
        }
      }
    }
  }

  /** Names already served by a built-in kind or another CRD (src/apiserver/crd-names.ts). */
  private conflict(crd: CustomResourceDefinition): NamesConflict | undefined {
    return namesConflict(crd, this.served.allExcept(crd.metadata.name ?? ''));
  }

  private statusOf(crd: CustomResourceDefinition): Record<string, unknown> {
    const old = (crd.status ?? {}) as { conditions?: Condition[] };
    const conflict = this.conflict(crd);
    const problems = validateCrd(crd, undefined);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const keep = (c: Condition): Condition => {
      const before = old.conditions?.find((o) => o.type === c.type);
      return {
        ...c,
        lastTransitionTime: before?.status === c.status ? (before.lastTransitionTime ?? now) : now,
      };
    };
    const accepted = conflict === undefined && problems.length === 0;
    const names = crd.spec.names;
    const storedVersions = new Set([
      ...(((crd.status ?? {}) as { storedVersions?: string[] }).storedVersions ?? []),
      ...crd.spec.versions.filter((v) => v.storage).map((v) => v.name),
    ]);
    return {
      conditions: [
        keep(
          accepted
            ? { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' }
            : {
                type: 'NamesAccepted',
                status: 'False',
                reason: conflict?.reason ?? 'NotLoadable',
                message: conflict?.message ?? problems.map((p) => `${p.path}: ${p.message}`).join('; '),
              },
        ),
        keep(
          accepted
            ? {
                type: 'Established',
                status: 'True',
                reason: 'InitialNamesAccepted',
                message: 'the initial names have been accepted',
              }
            : {
                type: 'Established',
                status: 'False',
                reason: 'NotAccepted',
                message: 'not all names are accepted',
              },
        ),
      ],
      acceptedNames: accepted
        ? {
            plural: names.plural,
            singular: names.singular ?? names.kind.toLowerCase(),
            kind: names.kind,
            listKind: names.listKind ?? `${names.kind}List`,
            ...(names.shortNames !== undefined ? { shortNames: names.shortNames } : {}),
            ...(names.categories !== undefined ? { categories: names.categories } : {}),
          }
        : { plural: '', kind: '' },
      storedVersions: [...storedVersions],
    };
  }
}

/** The storage kind of a CRD none of whose versions is served (its objects still need deleting). */
function customKindsUnserved(
  crd: CustomResourceDefinition,
): ReturnType<typeof customKinds>[number] | undefined {
  const served = {
    ...crd,
    spec: { ...crd.spec, versions: crd.spec.versions.map((v) => ({ ...v, served: v.storage || v.served })) },
  };
  return customKinds(served)[0];
}
