/**
 * The wizard's Hikube mode, kept pure: the VMDisk (a clone of a catalog image, or an http import)
 * and the VMInstance that boots from it, as Hikube's dashboard creates them
 * (apps.cozystack.io/v1alpha1, compiled by the platform to a DataVolume and a VirtualMachine
 * `vm-instance-NAME`), and which form field each of their API field paths belongs to.
 */
import { apiVersionOf, VMDISKS, VMINSTANCES } from '../../api/resources.js';
import type { VMDisk, VMInstance } from '../../api/types.js';

export type CreateMode = 'hikube' | 'kubevirt';

/** The form's values the Hikube objects read (the wizard's VmForm has them all). */
export interface HikubeForm {
  name: string;
  namespace: string;
  instancetype: string;
  /** A VirtualMachineClusterPreference; '' for none. */
  instanceProfile: string;
  diskSource: 'image' | 'http';
  /** A DataSource of the OS catalog (namespace kubevirt-os-images). */
  diskImage: string;
  diskUrl: string;
  diskSize: string;
  sshKey: string;
  userData: string;
  external: boolean;
  /** `22, 80`: the ports a PortList load balancer forwards. */
  externalPorts: string;
  start: boolean;
}

/** The VMDisk the wizard creates for an instance: NAME-disk. */
export const diskNameOf = (form: Pick<HikubeForm, 'name'>): string => `${form.name}-disk`;

export function buildVmDisk(form: HikubeForm): VMDisk {
  return {
    apiVersion: apiVersionOf(VMDISKS),
    kind: 'VMDisk',
    metadata: { name: diskNameOf(form), namespace: form.namespace },
    spec: {
      source:
        form.diskSource === 'image'
          ? { image: { name: form.diskImage } }
          : { http: { url: form.diskUrl.trim() } },
      storage: form.diskSize.trim(),
    },
  };
}

/** `22, 80 443` → [22, 80, 443]; undefined when a term is not a whole number. */
export function parsePorts(text: string): number[] | undefined {
  const terms = text.split(/[\s,]+/).filter((t) => t !== '');
  if (!terms.every((t) => /^\d+$/.test(t))) return undefined;
  return terms.map(Number);
}

/** The instance; `withDisk: false` leaves the disk out (a dry run before the disk exists). */
export function buildVmInstance(form: HikubeForm, withDisk = true): VMInstance {
  const keys = form.sshKey
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const ports = parsePorts(form.externalPorts) ?? [];
  return {
    apiVersion: apiVersionOf(VMINSTANCES),
    kind: 'VMInstance',
    metadata: { name: form.name, namespace: form.namespace },
    spec: {
      runStrategy: form.start ? 'Always' : 'Halted',
      instanceType: form.instancetype,
      instanceProfile: form.instanceProfile,
      ...(withDisk ? { disks: [{ name: diskNameOf(form) }] } : {}),
      ...(keys.length > 0 ? { sshKeys: keys } : {}),
      ...(form.userData.trim() !== '' ? { cloudInit: form.userData } : {}),
      external: form.external,
      ...(form.external ? { externalMethod: 'PortList' as const, externalPorts: ports } : {}),
    },
  };
}

export type HikubeField =
  | 'name'
  | 'namespace'
  | 'instancetype'
  | 'instanceProfile'
  | 'disk'
  | 'diskSize'
  | 'sshKey'
  | 'userData'
  | 'externalPorts'
  | 'general';

/** Which form field an API field path of the VMDisk or the VMInstance belongs to. */
export function hikubeFieldOfPath(path: string, object: 'vmdisk' | 'vminstance'): HikubeField {
  if (path.startsWith('metadata.name')) return 'name';
  if (path.startsWith('metadata.namespace')) return 'namespace';
  if (object === 'vmdisk') {
    if (path.startsWith('spec.source')) return 'disk';
    if (path.startsWith('spec.storage')) return 'diskSize';
    return 'general';
  }
  if (path.startsWith('spec.instanceType') || path.startsWith('spec.resources')) return 'instancetype';
  if (path.startsWith('spec.instanceProfile')) return 'instanceProfile';
  if (path.startsWith('spec.disks')) return 'disk';
  if (path.startsWith('spec.sshKeys')) return 'sshKey';
  if (path.startsWith('spec.cloudInit')) return 'userData';
  if (path.startsWith('spec.external')) return 'externalPorts';
  return 'general';
}
