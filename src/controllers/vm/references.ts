/**
 * Which VMs name which claims, instance types, preferences, Secrets and network attachment
 * definitions, kept from the change feed, so one of them appearing or changing wakes only the VMs
 * that use it rather than every VM of its namespace (or of the cluster).
 */
import { canonicalMatcherKind } from '../../api/instancetype/matcher.js';
import type { VirtualMachine } from '../../api/kubevirt/vm.js';

/** A claim (PVC or DataVolume: they share names) in a namespace. */
export const claimRef = (namespace: string, name: string): string => `claim/${namespace}/${name}`;

/** An instance type or preference by kind; cluster-scoped kinds have an empty namespace. */
export const sourceRef = (kind: string, namespace: string, name: string): string =>
  `${kind}/${namespace}/${name}`;

/** The Secrets a VM's guest needs (cloud-init, secret disks, sysprep, access credentials), by name. */
export function secretsOf(vm: VirtualMachine): string[] {
  const spec = vm.spec.template?.spec;
  const names = new Set<string>();
  for (const v of spec?.volumes ?? []) {
    for (const source of [v.cloudInitNoCloud, v.cloudInitConfigDrive]) {
      if (source?.secretRef?.name !== undefined) names.add(source.secretRef.name);
      if (source?.networkDataSecretRef?.name !== undefined) names.add(source.networkDataSecretRef.name);
    }
    if (v.secret !== undefined && v.secret.optional !== true) names.add(v.secret.secretName);
    if (v.sysprep?.secret?.name !== undefined) names.add(v.sysprep.secret.name);
  }
  for (const c of spec?.accessCredentials ?? []) {
    if (c.sshPublicKey !== undefined) names.add(c.sshPublicKey.source.secret.secretName);
    if (c.userPassword !== undefined) names.add(c.userPassword.source.secret.secretName);
  }
  return [...names].filter((n) => n !== '');
}

/** The network attachment definitions a VM's multus networks name, as [namespace, name]. */
export function attachmentsOf(vm: VirtualMachine): [string, string][] {
  const ns = vm.metadata.namespace ?? '';
  return (vm.spec.template?.spec?.networks ?? []).flatMap((n): [string, string][] => {
    const ref = n.multus?.networkName;
    if (ref === undefined || ref === '') return [];
    const slash = ref.indexOf('/');
    return [slash < 0 ? [ns, ref] : [ref.slice(0, slash), ref.slice(slash + 1)]];
  });
}

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
  for (const secret of secretsOf(vm)) out.add(sourceRef('Secret', ns, secret));
  for (const [nadNs, nad] of attachmentsOf(vm)) out.add(sourceRef('NetworkAttachmentDefinition', nadNs, nad));
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
