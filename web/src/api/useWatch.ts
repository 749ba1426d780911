/**
 * React hooks over listWatch: a live list of objects of one resource, or one object by name.
 * Every page reads the API through these, so what it shows is always the server's current state.
 */
import { useEffect, useMemo, useState } from 'react';
import { resourcePath, type Resource } from './resources';
import type { KubeObject } from './types';
import { listWatch, type WatchQuery } from './watch';

export interface LiveList<T> {
  items: T[];
  loaded: boolean;
  error: Error | undefined;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** Every object of `resource` (in `namespace`, or all namespaces), kept current by a watch. */
export function useWatchList<T extends KubeObject>(
  resource: Resource,
  options: { namespace?: string; query?: WatchQuery; enabled?: boolean } = {},
): LiveList<T> {
  const [state, setState] = useState<{ byKey: Map<string, T>; loaded: boolean; error: Error | undefined }>(
    () => ({ byKey: new Map(), loaded: false, error: undefined }),
  );
  const path = resourcePath(resource, resource.namespaced ? options.namespace : undefined);
  const label = options.query?.labelSelector;
  const field = options.query?.fieldSelector;
  const enabled = options.enabled ?? true;
  useEffect(() => {
    setState({ byKey: new Map(), loaded: false, error: undefined });
    if (!enabled) return undefined;
    const query: WatchQuery = {
      ...(label !== undefined ? { labelSelector: label } : {}),
      ...(field !== undefined ? { fieldSelector: field } : {}),
    };
    return listWatch<T>(path, query, {
      sync: (items) =>
        setState({ byKey: new Map(items.map((o) => [keyOf(o), o])), loaded: true, error: undefined }),
      event: (type, object) =>
        setState((s) => {
          const byKey = new Map(s.byKey);
          if (type === 'DELETED') byKey.delete(keyOf(object));
          else byKey.set(keyOf(object), object);
          return { byKey, loaded: true, error: undefined };
        }),
      error: (error) => setState((s) => ({ ...s, error })),
    });
  }, [path, label, field, enabled]);
  const items = useMemo(
    () => [...state.byKey.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b))),
    [state.byKey],
  );
  return { items, loaded: state.loaded, error: state.error };
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
