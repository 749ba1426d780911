/**
 * The media of CD-ROM trays, which change while the guest runs (KubeVirt's declarative hotplug of
 * cdrom volumes, gate DeclarativeHotplugVolumes): a volume named after a cdrom disk, whose source is a
 * platform volume (a claim, a DataVolume or a containerDisk), is the medium in that tray. Adding it to
 * the VM inserts it, removing it ejects it, and neither asks for a restart. The VM controller copies
 * these volumes to the running VMI (the one change a VMI's spec may take), the node agent follows them
 * over QMP. Pure: shared by admission, the VM controller and the node agent.
 */
import type { Volume } from './volumes.js';
import type { VirtualMachineInstanceSpec } from './vmi.js';

/** The names of the spec's cdrom disks: the trays. */
export function trayNames(spec: VirtualMachineInstanceSpec): Set<string> {
  return new Set((spec.domain.devices.disks ?? []).filter((d) => d.cdrom !== undefined).map((d) => d.name));
}

/** A source that can be a tray's medium: a platform volume, never a path the user gives. */
export const isMediumSource = (v: Volume): boolean =>
  v.persistentVolumeClaim !== undefined || v.dataVolume !== undefined || v.containerDisk !== undefined;

/** The spec's volumes that are tray media, in spec order. */
export function trayMedia(spec: VirtualMachineInstanceSpec): Volume[] {
  const trays = trayNames(spec);
  return (spec.volumes ?? []).filter((v) => trays.has(v.name) && isMediumSource(v));
}

/** The spec without its tray media: what must not change while the guest runs. */
export function withoutTrayMedia(spec: VirtualMachineInstanceSpec): VirtualMachineInstanceSpec {
  const media = new Set(trayMedia(spec));
  if (media.size === 0) return spec;
  const rest = (spec.volumes ?? []).filter((v) => !media.has(v));
  const out = { ...spec };
  if (rest.length > 0) out.volumes = rest;
  else delete out.volumes;
  return out;
}

/**
 * The volumes a running VMI should have once its trays follow the VM's template: the VMI's own
 * volumes less its media, then the template's media for the VMI's trays. Undefined when nothing
 * changes (or when the two specs differ in more than media: that change waits for a restart).
 */
export function followTrays(
  template: VirtualMachineInstanceSpec,
  vmi: VirtualMachineInstanceSpec,
): Volume[] | undefined {
  const trays = trayNames(vmi);
  const wanted = trayMedia(template).filter((v) => trays.has(v.name));
  const current = trayMedia(vmi);
  if (JSON.stringify(wanted) === JSON.stringify(current)) return undefined;
  const kept = withoutTrayMedia(vmi).volumes ?? [];
  // A template volume of another source holding that name would be a different disk: not live.
  const clash = (template.volumes ?? []).some(
    (v) => trays.has(v.name) && !isMediumSource(v) && !kept.some((k) => k.name === v.name),
  );
  if (clash) return undefined;
  const held = new Set(kept.map((v) => v.name));
  return [...kept, ...wanted.filter((v) => !held.has(v.name))];
}
