/**
 * The VM controller's part in live CD-ROM media (src/api/kubevirt/trays.ts): when the media of the
 * VM's cdrom disks change while its VMI runs, the VMI's volumes are brought to match, and the node
 * agent inserts or ejects them. The rest of the template waits for a restart (RestartRequired).
 */
import { followTrays } from '../../api/kubevirt/trays.js';
import type { VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import type { Client } from '../../runtime/client.js';
import { isFinal } from './printable.js';

/** Copies the template's tray media to a live VMI; returns the VMI as it now is. */
export async function followTrayMedia(
  api: Client,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance,
): Promise<VirtualMachineInstance> {
  const template = vm.spec.template.spec;
  if (template === undefined || vmi.metadata.deletionTimestamp !== undefined || isFinal(vmi)) return vmi;
  const volumes = followTrays(template, vmi.spec);
  if (volumes === undefined) return vmi;
  const next = structuredClone(vmi);
  if (volumes.length > 0) next.spec.volumes = volumes;
  else delete next.spec.volumes;
  return api.update(virtualMachineInstanceKind, next);
}
