/**
 * The storage port: a versioned key-value store of API objects with one global resourceVersion
 * sequence and a bounded history of changes for watch resume (what etcd is to kube-apiserver).
 * It knows nothing of kinds or validation; src/apiserver/registry.ts puts the API rules on top.
 */
import type { KubeObject } from '../api/meta.js';

/** `group/plural`, e.g. `kubevirt.io/virtualmachines` or `/namespaces` for core. */
export type ResourceKey = string;

export interface StoredObject {
  readonly resource: ResourceKey;
  readonly namespace: string;
  readonly name: string;
  readonly rv: number;
  /** Treat as immutable: clone before changing. */
  readonly object: KubeObject;
  /** The object serialized, with metadata.resourceVersion set: lists are served from these. */
  readonly json: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly rv: number;
  readonly resource: ResourceKey;
  readonly namespace: string;
  readonly name: string;
  readonly object: KubeObject;
  readonly json: string;
}

/**
 * A stored row that could not be loaded (not JSON, not an object with the row's name, or past the
 * object limits): kept out of every read so that it cannot stop start-up or a controller, reported,
 * and removable with `purge` (a DELETE of its name).
 */
export interface QuarantinedRow {
  readonly resource: ResourceKey;
  readonly namespace: string;
  readonly name: string;
  readonly rv: number;
  readonly reason: string;
}

export class StoreError extends Error {
  constructor(
    /** `Full`: the data dir has no room for this write (deletes are still accepted). */
    readonly code: 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone' | 'Full',
    message: string,
  ) {
    super(message);
  }
}

export interface Store {
  get(resource: ResourceKey, namespace: string, name: string): StoredObject | undefined;
  /** Sorted by namespace then name. `namespace` undefined lists across namespaces. */
  list(resource: ResourceKey, namespace?: string): { items: StoredObject[]; rv: number };
  create(resource: ResourceKey, object: KubeObject): StoredObject;
  /** `expectedRv` set: fail with Conflict unless the stored object is at that version. */
  update(resource: ResourceKey, object: KubeObject, expectedRv?: number): StoredObject;
  delete(resource: ResourceKey, namespace: string, name: string, expectedRv?: number): StoredObject;
  currentRv(): number;
  /** Changes after `rv`, oldest first; throws Gone when the history no longer reaches back to it. */
  changesSince(rv: number): StoreEvent[];
  /** Rows that could not be loaded at start, still on disk. */
  quarantined(): QuarantinedRow[];
  /** Removes a quarantined row from disk; false when there is none by that name. */
  purge(resource: ResourceKey, namespace: string, name: string): boolean;
  /** Live changes, in order, delivered synchronously after each commit. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  close(): void;
}
