/**
 * What an export's source holds and whether its disks can be read consistently now, as KubeVirt's
 * export controller decides it: a VirtualMachine only once it is stopped (a running one is Pending,
 * reason InUse), a claim only while no running guest uses it, a VirtualMachineSnapshot once ready
 * (its frozen layers never change). The controller and the download server both ask this, so a
 * volume name in a URL is mapped to a file here, server-side, and never read from the URL.
 */
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import type { VirtualMachineExport } from '../../api/export/export.js';
import type { KubeObject } from '../../api/meta.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
} from '../../api/snapshot/content.js';
import { virtualMachineSnapshotKind, type VirtualMachineSnapshot } from '../../api/snapshot/snapshot.js';
import { formatOfVolume } from '../../storage/pool.js';
import type { ExportVolume, SourceReader, SourceState } from '../../storage/export/source.js';
import { layersOf, persistentVolumes } from '../snapshot/volumes.js';

/** One disk to export: the name it is published under and the host file it is read from. */
export type { ExportVolume, SourceReader, SourceState } from '../../storage/export/source.js';

const pending = (reason: string, message: string): SourceState => ({ state: 'pending', reason, message });

const running = (vmi: VirtualMachineInstance | undefined): boolean =>
  vmi !== undefined && vmi.status?.phase !== 'Succeeded' && vmi.status?.phase !== 'Failed';

export function readSource(r: SourceReader, e: VirtualMachineExport): SourceState {
  const ns = e.metadata.namespace ?? '';
  const { kind, name } = e.spec.source;
  if (kind === 'VirtualMachine') return fromVm(r, ns, name);
  if (kind === 'VirtualMachineSnapshot') return fromSnapshot(r, ns, name);
  return fromClaim(r, ns, name);
}

function fromVm(r: SourceReader, ns: string, name: string): SourceState {
  const vm = r.api.get<VirtualMachine>(virtualMachineKind, ns, name);
  if (vm === undefined) return pending('VMNotFound', `Virtual Machine ${ns}/${name} does not exist`);
  if (running(r.api.get<VirtualMachineInstance>(virtualMachineInstanceKind, ns, name)))
    return pending('InUse', `Virtual Machine ${ns}/${name} is running: stop it, or export a snapshot`);
  const { included } = persistentVolumes(vm);
  if (included.length === 0)
    return {
      state: 'skipped',
      reason: 'VMNoVolumes',
      message: `Virtual Machine ${ns}/${name} has no volumes to export`,
    };
  const volumes: ExportVolume[] = [];
  for (const v of included) {
    const file = r.claimPath(ns, v.claimName);
    if (file === undefined)
      return pending(
        'PVCPending',
        `volume ${JSON.stringify(v.name)}: claim ${ns}/${v.claimName} is not ready`,
      );
    volumes.push({ name: v.name, file, format: formatOfVolume(file), claimName: v.claimName });
  }
  return { state: 'ready', volumes, vm };
}

function fromSnapshot(r: SourceReader, ns: string, name: string): SourceState {
  const snap = r.api.get<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name);
  if (snap === undefined) return pending('SnapshotNotFound', `snapshot ${ns}/${name} does not exist`);
  const contentName = snap.status?.virtualMachineSnapshotContentName;
  const content =
    contentName === undefined
      ? undefined
      : r.api.get<VirtualMachineSnapshotContent>(virtualMachineSnapshotContentKind, ns, contentName);
  if (snap.status?.readyToUse !== true || content === undefined)
    return pending('NotReady', `snapshot ${ns}/${name} is not ready to use`);
  const layers = layersOf(content);
  const volumes: ExportVolume[] = [];
  for (const b of content.spec.volumeBackups ?? []) {
    const file = b.volumeSnapshotName === undefined ? undefined : layers[b.volumeSnapshotName];
    if (file === undefined)
      return pending(
        'NotReady',
        `snapshot ${ns}/${name}: volume ${JSON.stringify(b.volumeName)} has no layer`,
      );
    const claimName = (b.persistentVolumeClaim.metadata?.['name'] as string | undefined) ?? b.volumeName;
    volumes.push({ name: b.volumeName, file, format: 'qcow2', claimName });
  }
  if (volumes.length === 0)
    return { state: 'skipped', reason: 'VMNoVolumes', message: `snapshot ${ns}/${name} holds no volumes` };
  const vm = content.spec.source.virtualMachine as KubeObject | undefined;
  return { state: 'ready', volumes, ...(vm !== undefined ? { vm } : {}) };
}

function fromClaim(r: SourceReader, ns: string, name: string): SourceState {
  if (r.api.get(persistentVolumeClaimKind, ns, name) === undefined)
    return pending('PVCNotFound', `pvc ${ns}/${name} does not exist`);
  const user = r.api
    .list<VirtualMachineInstance>(virtualMachineInstanceKind, ns)
    .find(
      (vmi) =>
        running(vmi) &&
        (vmi.spec.volumes ?? []).some(
          (v) => v.persistentVolumeClaim?.claimName === name || v.dataVolume?.name === name,
        ),
    );
  if (user !== undefined)
    return pending(
      'InUse',
      `pvc ${ns}/${name} is in use by Virtual Machine ${ns}/${user.metadata.name ?? ''}`,
    );
  const file = r.claimPath(ns, name);
  if (file === undefined) return pending('PVCPending', `pvc ${ns}/${name} is not bound and populated`);
  return { state: 'ready', volumes: [{ name, file, format: formatOfVolume(file), claimName: name }] };
}
