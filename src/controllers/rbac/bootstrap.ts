/**
 * Puts the built-in ClusterRoles and ClusterRoleBindings (src/api/rbac/bootstrap.ts) in place at
 * every start, as kube-apiserver's bootstrap policy does: missing ones are created, and those
 * still annotated `rbac.authorization.kubernetes.io/autoupdate: "true"` are brought back to this
 * release's version (an admin who sets it to "false" keeps their edits). The rules of aggregated
 * roles are the aggregation controller's, left as they are.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { AUTOUPDATE, bootstrapClusterRoleBindings, bootstrapClusterRoles } from '../../api/rbac/bootstrap.js';
import { clusterRoleBindingKind, clusterRoleKind, type RoleObject } from '../../api/rbac/rbac.js';
import type { Registry } from '../../apiserver/registry.js';

export function reconcileBootstrapPolicy(registry: Registry, kinds: readonly KindDefinition[]): void {
  const wanted: [KindDefinition, KubeObject][] = [
    ...bootstrapClusterRoles(kinds).map((r): [KindDefinition, KubeObject] => [clusterRoleKind, r]),
    ...bootstrapClusterRoleBindings().map((b): [KindDefinition, KubeObject] => [clusterRoleBindingKind, b]),
  ];
  for (const [def, object] of wanted) {
    const name = object.metadata.name ?? '';
    const current = registry.store.get(`${def.group}/${def.plural}`, '', name)?.object;
    if (current === undefined) {
      registry.create(def, '', object);
      continue;
    }
    if (current.metadata.annotations?.[AUTOUPDATE] !== 'true') continue;
    const next: KubeObject = {
      ...structuredClone(current),
      ...structuredClone(object),
      metadata: { ...current.metadata, ...object.metadata },
    };
    if ((object as RoleObject).aggregationRule !== undefined)
      (next as RoleObject).rules = (current as RoleObject).rules ?? [];
    const strip = (o: KubeObject): unknown => ({
      ...o,
      metadata: { labels: o.metadata.labels, annotations: o.metadata.annotations },
    });
    if (!isDeepStrictEqual(strip(current), strip(next))) registry.update(def, '', name, next);
  }
}
