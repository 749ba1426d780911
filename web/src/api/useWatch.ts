/**
 * React hooks over the page's shared list-watches (watchCache.ts): a live list of objects of one
 * resource, or one object by name. Every page reads the API through these, so what it shows is
 * always the server's current state, and components showing the same list share one watch.
 */
import { useCallback, useSyncExternalStore } from 'react';
import { resourcePath, type Resource } from './resources';
import type { KubeObject } from './types';
import { listWatch } from './watch';
import { EMPTY_LIST, WatchCache, type LiveList, type WatchQuery } from './watchCache';

export type { LiveList } from './watchCache';

/** The page's list-watches, one per resource and query. */
export const watches = new WatchCache(listWatch);

/** Every object of `resource` (in `namespace`, or all namespaces), kept current by a watch. */
export function useWatchList<T extends KubeObject>(
  resource: Resource,
  options: { namespace?: string; query?: WatchQuery; enabled?: boolean } = {},
): LiveList<T> {
  const path = resourcePath(resource, resource.namespaced ? options.namespace : undefined);
  const label = options.query?.labelSelector;
  const field = options.query?.fieldSelector;
  const enabled = options.enabled ?? true;
  const query = useCallback(
    (): WatchQuery => ({
      ...(label !== undefined ? { labelSelector: label } : {}),
      ...(field !== undefined ? { fieldSelector: field } : {}),
    }),
    [label, field],
  );
  const subscribe = useCallback(
    (changed: () => void) => (enabled ? watches.subscribe(path, query(), changed) : () => undefined),
    [path, query, enabled],
  );
  const snapshot = useCallback(
    () => (enabled ? watches.snapshot(path, query()) : EMPTY_LIST),
    [path, query, enabled],
  );
  // The cache holds objects of whatever kind the path serves: T is the caller's promise.
  return useSyncExternalStore(subscribe, snapshot) as LiveList<T>;
}

/** One object, live: undefined while loading or once deleted (`loaded` tells which). */
export function useWatchObject<T extends KubeObject>(
  resource: Resource,
  namespace: string | undefined,
  name: string,
): { object: T | undefined; loaded: boolean; error: Error | undefined } {
  const list = useWatchList<T>(resource, {
    ...(namespace !== undefined ? { namespace } : {}),
    query: { fieldSelector: `metadata.name=${name}` },
  });
  return { object: list.items[0], loaded: list.loaded, error: list.error };
}
