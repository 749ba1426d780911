/**
 * Typed views of the claims, volumes and classes the storage controllers read, and the questions
 * they ask of them: which class serves a claim, how big it is, which claims running guests use.
 */
import type { Static } from '../api/schema.js';
import type { PersistentVolumeClaimSpec } from '../api/core/core.js';
import type { KubeObject } from '../api/meta.js';
import { parseQuantity } from '../api/quantity.js';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { isDefaultClass, type StorageClass } from '../api/storage/storageclass.js';

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';

export interface Claim extends KubeObject {
  spec: Static<typeof PersistentVolumeClaimSpec>;
  status?: {
    phase?: 'Pending' | 'Bound' | 'Lost';
    capacity?: Record<string, string | number>;
    allocatedResources?: Record<string, string | number>;
    accessModes?: string[];
    conditions?: unknown[];
    [field: string]: unknown;
  };
}

export const claimKey = (c: KubeObject): string => `${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`;

export const requestedBytes = (c: Claim): number | undefined =>
  bytesOf(c.spec.resources?.requests?.['storage']);

export const capacityBytes = (c: Claim): number | undefined => bytesOf(c.status?.capacity?.['storage']);

function bytesOf(q: string | number | undefined): number | undefined {
  return q === undefined ? undefined : parseQuantity(q)?.value;
}

/** The class a claim names, else the default class (the newest, when several claim to be). */
export function classFor(
  claim: Claim,
  classes: StorageClass[],
): { name: string; sc: StorageClass | undefined } | undefined {
  const named = claim.spec.storageClassName;
  if (named !== undefined && named !== '')
    return { name: named, sc: classes.find((c) => c.metadata.name === named) };
  if (named === '') return undefined; // "" asks for no class: pre-provisioned volumes only.
  const defaults = classes
    .filter(isDefaultClass)
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  const sc = defaults[0];
  return sc === undefined ? undefined : { name: sc.metadata.name ?? '', sc };
}

/** Claims the VMI's volumes name (a dataVolume volume uses the DataVolume's claim, of the same name). */
export function claimsOf(vmi: VirtualMachineInstance): string[] {
  return (vmi.spec.volumes ?? []).flatMap((v) => {
    if (v.persistentVolumeClaim !== undefined) return [v.persistentVolumeClaim.claimName];
    if (v.dataVolume !== undefined) return [v.dataVolume.name];
    return [];
  });
}

/**
 * A VMI holds its disks until it is finished or gone: the node agent marks it Succeeded or Failed
 * only once its QEMU has exited, and a VMI being deleted stays until its QEMU is gone.
 */
export const holdsDisks = (vmi: VirtualMachineInstance): boolean =>
  vmi.status?.phase !== 'Succeeded' && vmi.status?.phase !== 'Failed';

/** Names of the VMIs of a namespace that hold `claim`. */
export function usersOf(claim: string, vmis: VirtualMachineInstance[]): string[] {
  return vmis.filter((v) => holdsDisks(v) && claimsOf(v).includes(claim)).map((v) => v.metadata.name ?? '');
}

/** CDI's annotation of a claim's population; hikube's golden images carry it until their disk is in place. */
export const POPULATION_PHASE_ANNOTATION = 'cdi.kubevirt.io/storage.pod.phase';

/** A claim still being filled by something other than a DataVolume (a golden image of the OS catalog). */
export const awaitingPopulation = (c: Claim): boolean => {
  const phase = c.metadata.annotations?.[POPULATION_PHASE_ANNOTATION];
  return phase !== undefined && phase !== 'Succeeded';
};
