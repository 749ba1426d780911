/**
 * The choices an OVA import makes from its OVF, pure so they can be tested and printed before
 * anything is created: which OVA member names are acceptable (plain file names only, no path
 * tricks), which instance type fits (exactly, else the nearest larger, saying so), which NIC model
 * a VMware adapter becomes, and the VirtualMachine that uses the uploaded disks.
 */
import type { InstanceSize } from '../../api/catalog.js';
import type { Ovf, OvfNic } from './ovf.js';

/** A member of an OVA must be a plain file name: no directory, no `..`, no absolute path. */
export function memberNameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return `member ${JSON.stringify(name)} has no file name`;
  if (/[/\\]/.test(name)) return `member ${JSON.stringify(name)} names a path, not a file in the archive`;
  if ([...name].some((ch) => ch.charCodeAt(0) < 0x20))
    return `member ${JSON.stringify(name)} has control characters in its name`;
  return undefined;
}

export interface InstanceChoice {
  name: string;
  exact: boolean;
  cpu: number;
  memoryGiB: number;
}

/** The instance type matching CPUs and memory exactly, else the smallest one with at least both. */
export function chooseInstanceType(
  cpus: number,
  memoryBytes: number,
  sizes: readonly InstanceSize[],
): InstanceChoice | undefined {
  const gib = memoryBytes / 2 ** 30;
  const fits = sizes
    .filter((s) => s.cpu >= cpus && s.memory >= gib)
    .sort((a, b) => a.memory - b.memory || a.cpu - b.cpu || a.name.localeCompare(b.name));
  const exact = fits.find((s) => s.cpu === cpus && s.memory === gib);
  const best = exact ?? fits[0];
  return best === undefined
    ? undefined
    : { name: best.name, exact: exact !== undefined, cpu: best.cpu, memoryGiB: best.memory };
}

/** KubeVirt's model for a VMware adapter: e1000 and e1000e kept, others become virtio (said). */
export function nicModel(nic: OvfNic): { model: string; note?: string } {
  const m = nic.model.toLowerCase();
  if (m === 'e1000' || m === 'e1000e') return { model: m };
  return {
    model: 'virtio',
    note: `${nic.name}: ${nic.model} adapter becomes virtio (the guest needs virtio-net drivers)`,
  };
}

/** DNS-label form of a name from the OVF (lower case, dashes), for objects made from it. */
export function objectName(raw: string): string {
  const n = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return n === '' ? 'imported' : n;
}

export interface ImportPlan {
  /** The name of the VM (and the prefix of its DataVolumes). */
  name: string;
  vm: Record<string, unknown>;
  /** DataVolume name and size (a quantity) per disk, in OVF order. */
  volumes: { dataVolume: string; size: string; href: string }[];
  notes: string[];
}

/** The VM (Halted until started) and its DataVolumes, one per OVF disk. */
export function planImport(ovf: Ovf, name: string, choice: InstanceChoice): ImportPlan {
  const volumes = ovf.disks.map((d, i) => ({
    dataVolume: `${name}-disk${i}`,
    size: `${Math.ceil(d.capacityBytes / 2 ** 20)}Mi`,
    href: d.href,
  }));
  const notes: string[] = [
    `instance type ${choice.name} (${choice.cpu} vCPU, ${choice.memoryGiB} GiB): ${choice.exact ? 'an exact match' : `the nearest larger for ${ovf.cpus} vCPU, ${(ovf.memoryBytes / 2 ** 30).toFixed(2)} GiB`}`,
    ...ovf.ignored,
  ];
  const nics = ovf.nics.slice(0, 1).map((n) => ({ nic: n, ...nicModel(n) }));
  for (const n of nics) if (n.note !== undefined) notes.push(n.note);
  for (const n of ovf.nics.slice(1))
    notes.push(`${n.name}: only the first NIC is connected (to the pod network)`);
  const vm = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, labels: { 'hikube.io/imported-from': 'ova' } },
    spec: {
      runStrategy: 'Halted',
      instancetype: { kind: 'VirtualMachineClusterInstancetype', name: choice.name },
      template: {
        spec: {
          domain: {
            ...(ovf.firmware === 'efi' ? { firmware: { bootloader: { efi: { secureBoot: false } } } } : {}),
            devices: {
              disks: volumes.map((v, i) => ({
                name: `disk${i}`,
                disk: { bus: 'virtio' },
                ...(i === 0 ? { bootOrder: 1 } : {}),
              })),
              interfaces: nics.map((n) => ({ name: 'default', masquerade: {}, model: n.model })),
            },
          },
          networks: nics.length > 0 ? [{ name: 'default', pod: {} }] : [],
          volumes: volumes.map((v, i) => ({ name: `disk${i}`, dataVolume: { name: v.dataVolume } })),
        },
      },
    },
  };
  return { name, vm, volumes, notes };
}

export interface HikubePlan {
  disks: Record<string, unknown>[];
  instance: Record<string, unknown>;
  /** The DataVolume each VMDisk fills (Cozystack's `vm-disk-<name>`), with the OVA member for it. */
  uploads: { dataVolume: string; href: string }[];
  notes: string[];
}

/**
 * The same import as Hikube's VMInstance and VMDisks (`--hikube`): one VMDisk with an upload
 * source per OVF disk, and a VMInstance (Halted) on them. VMInstance has no firmware field, so an
 * EFI machine is refused here rather than booted with BIOS.
 */
export function planHikube(ovf: Ovf, name: string, choice: InstanceChoice): HikubePlan {
  if (ovf.firmware === 'efi')
    throw new Error(
      'the OVA boots with EFI firmware, which a VMInstance cannot express: import it without --hikube',
    );
  const base = planImport(ovf, name, choice);
  const apiVersion = 'apps.cozystack.io/v1alpha1';
  const disks = base.volumes.map((v, i) => ({
    apiVersion,
    kind: 'VMDisk',
    metadata: { name: `${name}-disk${i}` },
    spec: { source: { upload: {} }, storage: v.size },
  }));
  return {
    disks,
    uploads: base.volumes.map((v, i) => ({ dataVolume: `vm-disk-${name}-disk${i}`, href: v.href })),
    instance: {
      apiVersion,
      kind: 'VMInstance',
      metadata: { name },
      spec: {
        runStrategy: 'Halted',
        instanceType: choice.name,
        instanceProfile: '',
        disks: disks.map((d) => ({ name: d.metadata.name, bus: 'virtio' })),
      },
    },
    notes: [...base.notes, 'no instance profile: the OVF does not say which OS it holds'],
  };
}
