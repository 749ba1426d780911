/**
 * Parses a Kubernetes API path into what it addresses:
 *   /api/v1/namespaces/NS/PLURAL/NAME/SUB, /apis/GROUP/VERSION/PLURAL/NAME, …
 */
import type { KindDefinition } from '../api/kind.js';

export interface ResourceRoute {
  def: KindDefinition;
  /** '' for cluster-scoped kinds or a list across all namespaces. */
  namespace: string;
  allNamespaces: boolean;
  name?: string;
  subresource?: string;
}

export type KindLookup = (group: string, version: string, plural: string) => KindDefinition | undefined;

/** Returns undefined when the path is not a resource path of a known kind. */
export function parseResourcePath(pathname: string, lookup: KindLookup): ResourceRoute | undefined {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  // namespaces/NS/PLURAL[/NAME[/SUB]] addresses namespaced kinds; namespaces/NAME[/SUB] the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const def = lookup(group, version, rest[2] ?? '');
    if (def !== undefined && def.namespaced && rest.length <= 5) {
      return withOptional({ def, namespace: rest[1] ?? '', allNamespaces: false }, rest[3], rest[4]);
    }
  }
  const def = lookup(group, version, rest[0] ?? '');
  if (def === undefined || rest.length > 3) return undefined;
  if (def.namespaced && rest.length > 1) return undefined;
  return withOptional({ def, namespace: '', allNamespaces: def.namespaced }, rest[1], rest[2]);
}

function withOptional(
  route: ResourceRoute,
  name: string | undefined,
  subresource: string | undefined,
): ResourceRoute {
  if (name !== undefined) route.name = name;
  if (subresource !== undefined) route.subresource = subresource;
  return route;
}
