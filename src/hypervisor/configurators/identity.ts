/**
 * Who the guest is: `namespace/name` for ps and logs, and the SMBIOS system UUID and serial. The UUID
 * is firmware.uuid, else derived from namespace and name (UUID v5) so that it stays the same across
 * restarts of a VM, each of which is a new VMI with a new metadata.uid.
 */
import { createHash } from 'node:crypto';
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { uuidProblem } from '../../api/kubevirt/domain-values.js';
import type { Issues } from '../errors.js';
import type { QemuMachine } from '../machine.js';

/** KubeVirt's namespace for firmware UUIDs. */
const FIRMWARE_UUID_NAMESPACE = '6a1a24a1-4061-4607-8bf4-a3963d0c5895';

export function configureIdentity(
  vmi: VirtualMachineInstance,
  issues: Issues,
): Pick<QemuMachine, 'name' | 'uuid' | 'smbios'> {
  const namespace = vmi.metadata.namespace ?? 'default';
  const name = vmi.metadata.name ?? '';
  if (name === '') issues.error('metadata.name', 'Required value: the VMI has no name', 'FieldValueRequired');
  const firmware = vmi.spec.domain.firmware;
  let uuid = uuidV5(FIRMWARE_UUID_NAMESPACE, `${namespace}/${name}`);
  if (firmware?.uuid !== undefined) {
    const problem = uuidProblem(firmware.uuid);
    if (problem === undefined) uuid = firmware.uuid.toLowerCase();
    else issues.error('spec.domain.firmware.uuid', problem);
  }
  const smbios: QemuMachine['smbios'] = { uuid };
  if (firmware?.serial !== undefined) smbios.serial = firmware.serial;
  return { name: `${namespace}/${name}`, uuid, smbios };
}

/** RFC 4122 name-based UUID (SHA-1). */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name)
    .digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
