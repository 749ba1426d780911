/**
 * A VM's snapshots as the Snapshots tab shows them (phase, readiness, how each was taken, its
 * size from the content's volume backups), the objects its actions create (a
 * VirtualMachineSnapshot, a VirtualMachineRestore onto the VM or onto a new VM) and why an action
 * may not run now, mirroring the API server's restore admission.
 */
import { formatBytes, parseQuantity } from '../../../src/api/quantity.js';
import { apiVersionOf, RESTORES, SNAPSHOTS } from '../api/resources.js';
import type {
  TargetReadinessPolicy,
  VirtualMachine,
  VirtualMachineRestore,
  VirtualMachineSnapshot,
  VirtualMachineSnapshotContent,
} from '../api/types.js';
import { nameOf, namespaceOf } from './selectors.js';

const VM_REF = { apiGroup: 'kubevirt.io', kind: 'VirtualMachine' } as const;

export interface SnapshotRow {
  snapshot: VirtualMachineSnapshot;
  name: string;
  phase: string;
  ready: boolean;
  indications: string[];
  created: string | undefined;
  /** The sum of its disks' sizes, '' when it holds no disk or its content is not known yet. */
  size: string;
  volumes: string[];
  error: string | undefined;
}

/** The snapshots taken of `vm`, newest first, with the size its content records. */
export function snapshotRows(
  vm: VirtualMachine,
  snapshots: readonly VirtualMachineSnapshot[],
  contents: readonly VirtualMachineSnapshotContent[],
): SnapshotRow[] {
  const byName = new Map(contents.map((c) => [nameOf(c), c]));
  return snapshots
    .filter((s) => s.spec.source.kind === 'VirtualMachine' && s.spec.source.name === nameOf(vm))
    .map((s) => {
      const content = byName.get(s.status?.virtualMachineSnapshotContentName ?? '');
      return {
        snapshot: s,
        name: nameOf(s),
        phase: s.metadata.deletionTimestamp !== undefined ? 'Deleting' : (s.status?.phase ?? 'Unknown'),
        ready: s.status?.readyToUse === true,
        indications: s.status?.indications ?? [],
        created: s.status?.creationTime ?? s.metadata.creationTimestamp ?? undefined,
        size: content === undefined ? '' : contentSize(content),
        volumes: s.status?.snapshotVolumes?.includedVolumes ?? [],
        error: s.status?.error?.message,
      };
    })
    .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
}

/** The disks' requested sizes added up (each backup records its claim as it was). */
export function contentSize(content: VirtualMachineSnapshotContent): string {
  let bytes = 0;
  for (const b of content.spec.volumeBackups ?? []) {
    const spec = b.persistentVolumeClaim.spec as
      { resources?: { requests?: Record<string, string> } } | undefined;
    const q = parseQuantity(spec?.resources?.requests?.['storage'] ?? '');
    if (q !== undefined) bytes += q.value;
  }
  return bytes === 0 ? '' : formatBytes(bytes);
}

/** Why the snapshot cannot be restored now (the API server would refuse it), else undefined. */
export function whyNoRestore(row: SnapshotRow): string | undefined {
  if (row.snapshot.metadata.deletionTimestamp !== undefined) return 'The snapshot is being deleted';
  if (!row.ready) return `Not ready to use yet (phase ${row.phase})`;
  return undefined;
}

export const whyNoDelete = (row: SnapshotRow): string | undefined =>
  row.snapshot.metadata.deletionTimestamp !== undefined ? 'The snapshot is being deleted' : undefined;

export function buildSnapshot(vm: VirtualMachine, name: string): VirtualMachineSnapshot {
  return {
    apiVersion: apiVersionOf(SNAPSHOTS),
    kind: 'VirtualMachineSnapshot',
    metadata: { name, namespace: namespaceOf(vm) },
    spec: { source: { ...VM_REF, name: nameOf(vm) } },
  };
}

/**
 * A restore of `snapshot` onto the VM named `target` (its own VM, or a new one). StopTarget stops
 * a running target first; without a policy the server waits for it to stop (WaitGracePeriod).
 */
export function buildRestore(
  snapshot: VirtualMachineSnapshot,
  target: string,
  name: string,
  policy?: TargetReadinessPolicy,
): VirtualMachineRestore {
  return {
    apiVersion: apiVersionOf(RESTORES),
    kind: 'VirtualMachineRestore',
    metadata: { name, namespace: namespaceOf(snapshot) },
    spec: {
      target: { ...VM_REF, name: target },
      virtualMachineSnapshotName: nameOf(snapshot),
      ...(policy !== undefined ? { targetReadinessPolicy: policy } : {}),
    },
  };
}

export interface RestoreRow {
  restore: VirtualMachineRestore;
  name: string;
  snapshot: string;
  target: string;
  /** Complete, Failed, or In progress with the Ready condition's message. */
  state: string;
  time: string | undefined;
}

/** The restores of this VM's snapshots or onto it, newest first. */
export function restoreRows(
  vm: VirtualMachine,
  restores: readonly VirtualMachineRestore[],
  snapshotNames: ReadonlySet<string>,
): RestoreRow[] {
  return restores
    .filter((r) => r.spec.target.name === nameOf(vm) || snapshotNames.has(r.spec.virtualMachineSnapshotName))
    .map((r) => {
      const failure = r.status?.conditions?.find((c) => c.type === 'Failure' && c.status === 'True');
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      const state =
        r.status?.complete === true
          ? 'Complete'
          : failure !== undefined
            ? `Failed: ${failure.message ?? failure.reason ?? ''}`
            : `In progress${ready?.message !== undefined && ready.message !== '' ? `: ${ready.message}` : ''}`;
      return {
        restore: r,
        name: nameOf(r),
        snapshot: r.spec.virtualMachineSnapshotName,
        target: r.spec.target.name,
        state,
        time: r.status?.restoreTime ?? r.metadata.creationTimestamp ?? undefined,
      };
    })
    .sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''));
}
