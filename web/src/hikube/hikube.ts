/**
 * Hikube's VMInstance and VMDisk as their list pages show them: where a disk comes from, its size
 * and progress, the instances that use it (a disk in use cannot be deleted), an instance's
 * external endpoints and the KubeVirt VM it is compiled to.
 */
import type { VMDisk, VMInstance } from '../api/types.js';
import { percentOf } from '../catalog/images.js';

export const instanceVmName = (name: string): string => `vm-instance-${name}`;

export function diskSourceText(d: VMDisk): string {
  const s = d.spec?.source;
  if (s?.image !== undefined) return `image ${s.image.name}`;
  if (s?.http !== undefined) return s.http.url;
  if (s?.upload !== undefined) return 'upload';
  if (s?.disk !== undefined) return `clone of ${s.disk.name}`;
  return 'blank';
}

/** The provisioned capacity once known, else the size asked for (default 5Gi). */
export const diskSize = (d: VMDisk): string => String(d.status?.capacity ?? d.spec?.storage ?? '5Gi');

/** Import progress in percent while it runs, undefined otherwise (as a DataVolume's). */
export function diskProgress(d: VMDisk): number | undefined {
  const phase = d.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  return percentOf(d.status?.progress);
}

/** The instances of the disk's namespace that attach it. */
export const diskUsers = (d: VMDisk, instances: readonly VMInstance[]): VMInstance[] =>
  instances.filter(
    (i) =>
      (i.metadata.namespace ?? '') === (d.metadata.namespace ?? '') &&
      (i.spec?.disks ?? []).some((x) => x.name === d.metadata.name),
  );

/**
 * `127.0.0.5 (:22, :36443)`: the address and the ports it serves (externalEndpoints; a port taken
 * on the address is served on another), 'pending' until an address comes.
 */
export function externalText(i: VMInstance): string {
  const address = i.status?.externalAddress;
  if (address === undefined || address === '') return i.spec?.external === true ? 'pending' : '';
  const served = (i.status?.externalEndpoints ?? []).map((e) =>
    e.startsWith(`${address}:`) ? e.slice(address.length) : e,
  );
  return served.length === 0 ? address : `${address} (${served.join(', ')})`;
}
