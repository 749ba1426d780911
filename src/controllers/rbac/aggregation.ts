/**
 * ClusterRole aggregation, as kube-controller-manager's clusterrole-aggregation controller does
 * it: a ClusterRole with an `aggregationRule` has as rules the union of the rules of every
 * ClusterRole its label selectors pick (KubeVirt's `kubevirt.io:view` lands in `view` this way,
 * Cozystack's `cozy:tenant:use:base` in `cozy:tenant:use`). Chains (view → edit → admin) are
 * resolved in one pass, so one change settles every role above it. Runs on the controller runtime;
 * any ClusterRole change requeues every aggregated role.
 */
import { isDeepStrictEqual } from 'node:util';
import { labelSelectorFromObject } from '../../api/selectors.js';
import { clusterRoleKind, type PolicyRule, type RoleObject } from '../../api/rbac/rbac.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { Manager } from '../../runtime/manager.js';

/** The rules `name` aggregates, given every ClusterRole by name; each rule once, in first-seen order. */
export function aggregatedRules(
  name: string,
  roles: ReadonlyMap<string, RoleObject>,
  visiting = new Set<string>(),
): PolicyRule[] {
  const role = roles.get(name);
  if (role === undefined) return [];
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (selectors === undefined) return role.rules ?? [];
  visiting.add(name);
  const matchers = selectors.map((s) => labelSelectorFromObject(s));
  const rules: PolicyRule[] = [];
  const seen = new Set<string>();
  const names = [...roles.keys()].sort();
  for (const other of names) {
    if (other === name || visiting.has(other)) continue;
    const labels = roles.get(other)?.metadata.labels;
    if (!matchers.some((m) => m.matches(labels))) continue;
    for (const rule of aggregatedRules(other, roles, visiting)) {
      const key = JSON.stringify(rule);
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push(rule);
    }
  }
  visiting.delete(name);
  return rules;
}

export class AggregationController extends Reconciler {
  constructor(manager: Manager, log: (message: string) => void = () => undefined) {
    super(manager, { name: 'clusterrole-aggregation', log });
    this.controller.watch(clusterRoleKind, () =>
      this.controller.client
        .list<RoleObject>(clusterRoleKind)
        .filter((r) => r.aggregationRule !== undefined)
        .map((r) => r.metadata.name ?? ''),
    );
  }

  protected async reconcile(name: string): Promise<void> {
    const client = this.controller.client;
    const all = new Map(client.list<RoleObject>(clusterRoleKind).map((r) => [r.metadata.name ?? '', r]));
    const role = all.get(name);
    if (role?.aggregationRule === undefined) return;
    const rules = aggregatedRules(name, all);
    if (isDeepStrictEqual(role.rules ?? [], rules)) return;
    await client.mutate<RoleObject>(clusterRoleKind, '', name, (copy) => {
      copy.rules = aggregatedRules(name, all);
    });
  }
}
