/**
 * The port under the controller runtime: what an informer and a client need from an API server,
 * whether it is the Registry in this process or a Kubernetes API over HTTP. Two adapters implement
 * it (inprocess.ts, http.ts); everything above (informers, the cached client, the manager) is the
 * same code for both, and one contract suite runs against each.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import type { DeleteOptions } from '../apiserver/registry.js';
import { ApiError } from '../apiserver/errors.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One event of a watch. `BOOKMARK` only moves the resourceVersion on. */
export type WatchEvent =
  { type: WatchEventType; object: KubeObject } | { type: 'BOOKMARK'; resourceVersion: string };

export interface WatchHandlers {
  event(event: WatchEvent): void;
  /**
   * The watch ended. `gone` says the resourceVersion it was asked to resume from is older than
   * the history the server keeps (410): the informer must list again. Otherwise it resumes.
   */
  end(reason: { gone: boolean; error?: unknown }): void;
}

export interface ObjectList {
  items: KubeObject[];
  resourceVersion: string;
}

export interface ApiTransport {
  /** A short name for log lines: `in-process` or the server's URL. */
  readonly describe: string;
  /** Every object of `def`, or those of one namespace. */
  list(def: KindDefinition, namespace?: string): Promise<ObjectList>;
  /** Changes after `resourceVersion` (of one namespace if given); returns a function that stops the watch. */
  watch(
    def: KindDefinition,
    resourceVersion: string,
    handlers: WatchHandlers,
    namespace?: string,
  ): () => void;
  /** A fresh read from the server (not the cache), for conflict retries. */
  get(def: KindDefinition, namespace: string, name: string): Promise<KubeObject | undefined>;
  create(def: KindDefinition, object: KubeObject): Promise<KubeObject>;
  update(def: KindDefinition, object: KubeObject, subresource?: 'status'): Promise<KubeObject>;
  /** NotFound is not an error: the object is gone either way. */
  delete(def: KindDefinition, namespace: string, name: string, options?: DeleteOptions): Promise<void>;
}

/** Both adapters throw ApiError (the HTTP one rebuilds it from the server's Status). */
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.reason === 'Conflict';
export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.reason === 'NotFound';
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof ApiError && err.reason === 'AlreadyExists';

/** `namespace/name`, or `name` for cluster-scoped objects: the key of caches and work queues. */
export const objectKey = (object: KubeObject): string => {
  const ns = object.metadata.namespace ?? '';
  return ns === '' ? (object.metadata.name ?? '') : `${ns}/${object.metadata.name ?? ''}`;
};

export const splitKey = (key: string): { namespace: string; name: string } => {
  const at = key.indexOf('/');
  return at < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, at), name: key.slice(at + 1) };
};
