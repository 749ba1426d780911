/**
 * The `kind` of a VM's instancetype or preference matcher, read as KubeVirt reads it: case does not
 * matter, the resource's singular and plural names are kinds too, and an empty kind means the
 * cluster-wide one. Admission refuses only what names neither kind; readers (the VM controller)
 * use the canonical kind this returns, so a manifest keeps the spelling its author chose.
 */
export type MatcherTarget = 'instancetype' | 'preference';

const KINDS: Record<MatcherTarget, { namespaced: string; cluster: string }> = {
  instancetype: { namespaced: 'VirtualMachineInstancetype', cluster: 'VirtualMachineClusterInstancetype' },
  preference: { namespaced: 'VirtualMachinePreference', cluster: 'VirtualMachineClusterPreference' },
};

/** `VirtualMachineInstancetype`, `virtualmachineinstancetypes`, `""`… → the canonical kind; undefined when it names neither. */
export function canonicalMatcherKind(target: MatcherTarget, kind: string | undefined): string | undefined {
  const { namespaced, cluster } = KINDS[target];
  const k = (kind ?? '').toLowerCase();
  if (k === '') return cluster;
  for (const canonical of [namespaced, cluster]) {
    const lower = canonical.toLowerCase();
    if (k === lower || k === `${lower}s`) return canonical;
  }
  return undefined;
}

/** The kinds a user may write, for error messages. */
export const matcherKinds = (target: MatcherTarget): string[] => [
  KINDS[target].namespaced,
  KINDS[target].cluster,
];
