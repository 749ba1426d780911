/**
 * The MAC addresses of a VMI's NICs that do not name one: stable and locally administered, derived
 * from the VM and interface names, so a VM keeps its addresses across restarts.
 */
import { createHash } from 'node:crypto';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { effectiveInterfaces } from '../hypervisor/configurators/nics.js';

/** A stable, locally administered MAC per VM and interface (the same across restarts of the VM). */
export function macsOf(vmi: VirtualMachineInstance): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { iface: nic } of effectiveInterfaces(vmi.spec)) {
    const h = createHash('sha256')
      .update(`${vmi.metadata.namespace ?? ''}/${vmi.metadata.name ?? ''}/${nic.name}`)
      .digest();
    out[nic.name] = ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
  }
  return out;
}
