/**
 * Small selectors over typed VM and VMI objects: every page reads a VM through these, so the list,
 * the detail page and the actions agree on what "running" or "its IP" means.
 */
import type { Condition, PrintableStatus, VirtualMachine, VirtualMachineInstance } from '../api/types.js';

/** A VM with its current instance (undefined when none exists). */
export interface VmView {
  vm: VirtualMachine;
  vmi: VirtualMachineInstance | undefined;
}

export const nameOf = (o: { metadata: { name?: string } }): string => o.metadata.name ?? '';
export const namespaceOf = (o: { metadata: { namespace?: string } }): string => o.metadata.namespace ?? '';
export const keyOf = (o: { metadata: { name?: string; namespace?: string } }): string =>
  `${namespaceOf(o)}/${nameOf(o)}`;

export const printableStatus = (vm: VirtualMachine): PrintableStatus =>
  vm.status?.printableStatus ?? 'Unknown';

export const runStrategy = (vm: VirtualMachine): string =>
  vm.spec.runStrategy ?? (vm.spec.running === true ? 'Always' : 'Halted');

export const conditionOf = (
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

export const isPaused = (vmi: VirtualMachineInstance | undefined): boolean =>
  conditionOf(vmi?.status?.conditions, 'Paused')?.status === 'True';

export const isTerminating = (o: { metadata: { deletionTimestamp?: string } } | undefined): boolean =>
  o?.metadata.deletionTimestamp !== undefined;

/** A VMI that is, or is about to be, running a guest (not finished, not being deleted). */
export const isActive = (vmi: VirtualMachineInstance | undefined): vmi is VirtualMachineInstance =>
  vmi !== undefined &&
  !isTerminating(vmi) &&
  vmi.status?.phase !== 'Succeeded' &&
  vmi.status?.phase !== 'Failed';

export const isRunning = (vmi: VirtualMachineInstance | undefined): boolean =>
  isActive(vmi) && vmi.status?.phase === 'Running';

/** The instance type's name, or the size written in the VM itself. */
export function instanceTypeOf(vm: VirtualMachine): string {
  if (vm.spec.instancetype?.name !== undefined) return vm.spec.instancetype.name;
  const domain = vm.spec.template.spec?.domain;
  const cpu = domain?.cpu?.cores ?? domain?.cpu?.sockets;
  const memory = domain?.memory?.guest ?? domain?.resources?.requests?.['memory'];
  const parts = [
    cpu !== undefined ? `${cpu} vCPU` : undefined,
    memory !== undefined ? String(memory) : undefined,
  ];
  return parts.filter((p) => p !== undefined).join(', ');
}

/** The root disk's image, as written in the first containerDisk volume. */
export const imageOf = (vm: VirtualMachine): string | undefined =>
  vm.spec.template.spec?.volumes?.find((v) => v.containerDisk !== undefined)?.containerDisk?.image;

/** What the guest agent says it runs, else the preference chosen, else the image. */
export function osOf(view: VmView): string {
  const info = view.vmi?.status?.guestOSInfo;
  if (info?.prettyName !== undefined && info.prettyName !== '') return info.prettyName;
  if (info?.name !== undefined && info.name !== '')
    return [info.name, info.version].filter(Boolean).join(' ');
  return view.vm.spec.preference?.name ?? imageOf(view.vm) ?? '';
}

export function ipsOf(vmi: VirtualMachineInstance | undefined): string[] {
  const ips = new Set<string>();
  for (const nic of vmi?.status?.interfaces ?? []) {
    for (const ip of nic.ipAddresses ?? (nic.ipAddress !== undefined ? [nic.ipAddress] : []))
      if (ip !== '') ips.add(ip);
  }
  return [...ips];
}

export const nodeOf = (vmi: VirtualMachineInstance | undefined): string => vmi?.status?.nodeName ?? '';

/** Age as kubectl prints it: 45s, 12m, 3h, 5d. */
export function age(timestamp: string | undefined, now: number): string {
  if (timestamp === undefined) return '';
  return span(now - Date.parse(timestamp));
}

/** Time left until `timestamp`, as age() prints it (0s once it is past). */
export const until = (timestamp: string | undefined, now: number): string =>
  timestamp === undefined ? '' : span(Date.parse(timestamp) - now);

function span(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Joins VMs with their VMIs (same namespace and name). */
export function joinVmis(vms: readonly VirtualMachine[], vmis: readonly VirtualMachineInstance[]): VmView[] {
  const byKey = new Map(vmis.map((v) => [keyOf(v), v]));
  return vms.map((vm) => ({ vm, vmi: byKey.get(keyOf(vm)) }));
}
