/**
 * Which VMs name which claims, instance types and preferences, kept from the change feed, so a
 * PVC, DataVolume or instance type changing wakes only the VMs that use it rather than every VM
 * of its namespace (or of the cluster).
 */
import { canonicalMatcherKind } from '../../api/instancetype/matcher.js';
import type { VirtualMachine } from '../../api/kubevirt/vm.js';

/** A claim (PVC or DataVolume: they share names) in a namespace. */
export const claimRef = (namespace: string, name: string): string => `claim/${namespace}/${name}`;

/** An instance type or preference by kind; cluster-scoped kinds have an empty namespace. */
export const sourceRef = (kind: string, namespace: string, name: string): string =>
  `${kind}/${namespace}/${name}`;

const CLUSTER_KINDS = new Set(['VirtualMachineClusterInstancetype', 'VirtualMachineClusterPreference']);

/** Everything `vm` references, as index keys. */
export function referencesOf(vm: VirtualMachine): Set<string> {
  const ns = vm.metadata.namespace ?? '';
  const out = new Set<string>();
  for (const v of vm.spec.template?.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName !== undefined)
      out.add(claimRef(ns, v.persistentVolumeClaim.claimName));
    if (v.dataVolume?.name !== undefined) out.add(claimRef(ns, v.dataVolume.name));
  }
  for (const t of vm.spec.dataVolumeTemplates ?? [])
    if (t.metadata?.name !== undefined) out.add(claimRef(ns, t.metadata.name));
  for (const target of ['instancetype', 'preference'] as const) {
    const m = vm.spec[target];
    if (m?.name === undefined) continue;
    const kind = canonicalMatcherKind(target, m.kind);
    if (kind === undefined) continue;
    out.add(sourceRef(kind, CLUSTER_KINDS.has(kind) ? '' : ns, m.name));
  }
  return out;
}

export class ReferenceIndex {
  private readonly users = new Map<string, Set<string>>();
  private readonly refs = new Map<string, Set<string>>();

  /** Records what the VM `key` references now (an empty set forgets it). */
  set(key: string, refs: Set<string>): void {
    for (const r of this.refs.get(key) ?? []) {
      const u = this.users.get(r);
      u?.delete(key);
      if (u?.size === 0) this.users.delete(r);
    }
    if (refs.size === 0) {
      this.refs.delete(key);
      return;
    }
    this.refs.set(key, refs);
    for (const r of refs) {
      let u = this.users.get(r);
      if (u === undefined) this.users.set(r, (u = new Set()));
      u.add(key);
    }
  }

  /** The VMs (`namespace/name`) that reference `ref`. */
  usersOf(ref: string): string[] {
    return [...(this.users.get(ref) ?? [])];
  }
}
