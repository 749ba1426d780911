/**
 * Which volumes of a VM a snapshot covers (KubeVirt's rule: persistent ones, PVCs and
 * DataVolumes; containerDisks, emptyDisks and cloud-init are left out), and the helpers the
 * snapshot, restore and clone controllers share: the content's layer map, object names and locks.
 */
import type { VirtualMachine } from '../../api/kubevirt/vm.js';
import type { VirtualMachineSnapshotContent } from '../../api/snapshot/content.js';

export interface PersistentVolume {
  /** The VM volume name. */
  name: string;
  claimName: string;
  dataVolume: boolean;
}

export function persistentVolumes(vm: Pick<VirtualMachine, 'spec'>): {
  included: PersistentVolume[];
  excluded: string[];
} {
  const included: PersistentVolume[] = [];
  const excluded: string[] = [];
  for (const v of vm.spec.template.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim !== undefined)
      included.push({ name: v.name, claimName: v.persistentVolumeClaim.claimName, dataVolume: false });
    else if (v.dataVolume !== undefined)
      included.push({ name: v.name, claimName: v.dataVolume.name, dataVolume: true });
    else excluded.push(v.name);
  }
  return { included, excluded };
}

/** The annotation of a content mapping each volumeSnapshotName to its frozen layer file. */
export const LAYERS_ANNOTATION = 'snapshot.hikube.io/layers';
/** On a restore: copy the disks in full rather than link them (set by full clones). */
export const FULL_RESTORE_ANNOTATION = 'restore.hikube.io/full';

export function layersOf(content: VirtualMachineSnapshotContent): Record<string, string> {
  const raw = content.metadata.annotations?.[LAYERS_ANNOTATION];
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw) as Record<string, string>;
  } catch {
    return {};
  }
}

export const contentNameOf = (snapshotUid: string): string => `vmsnapshot-content-${snapshotUid}`;
export const volumeSnapshotNameOf = (snapshotUid: string, volume: string): string =>
  `vmsnapshot-${snapshotUid}-volume-${volume}`;
export const restoredClaimNameOf = (restoreUid: string, volume: string): string =>
  `restore-${restoreUid}-${volume}`;

export const SNAPSHOT_FINALIZER = 'snapshot.kubevirt.io/vmsnapshot-protection';
export const CONTENT_FINALIZER = 'snapshot.kubevirt.io/vmsnapshotcontent-protection';
