/**
 * BIOS (SeaBIOS, QEMU's default) or EFI (OVMF). Under EFI the shared code image is mapped read-only
 * and each VM gets its own writable copy of the variable store, which the node agent creates from
 * ovmfVarsTemplate() at the path it passes in. Secure boot defaults to on with EFI, as in KubeVirt,
 * and needs SMM.
 */
import type { DomainSpec } from '../../api/kubevirt/domain.js';
import type { Issues } from '../errors.js';
import type { Firmware } from '../machine.js';

export const DEFAULT_OVMF_DIR = '/usr/share/OVMF';

export function configureFirmware(
  domain: DomainSpec,
  ovmfDir: string | undefined,
  efiVars: string,
  issues: Issues,
  at = 'spec.domain',
): Firmware {
  const bootloader = domain.firmware?.bootloader;
  if (bootloader?.efi === undefined) return { kind: 'bios' };
  if (bootloader.bios !== undefined) {
    issues.error(
      `${at}.firmware.bootloader.efi`,
      'Forbidden: a bootloader is either bios or efi, not both',
      'FieldValueForbidden',
    );
  }
  const secureBoot = bootloader.efi.secureBoot !== false;
  if (secureBoot && domain.features?.smm?.enabled === false) {
    issues.error(
      `${at}.features.smm.enabled`,
      'Invalid value: false: EFI secure boot needs SMM; enable it or set firmware.bootloader.efi.secureBoot to false',
    );
  }
  const dir = ovmfDir ?? DEFAULT_OVMF_DIR;
  return {
    kind: 'efi',
    code: `${dir}/${secureBoot ? 'OVMF_CODE_4M.ms.fd' : 'OVMF_CODE_4M.fd'}`,
    vars: efiVars,
    secureBoot,
  };
}

/** The pristine variable store a VM's `vars` file is copied from: with Microsoft's keys enrolled for secure boot. */
export function ovmfVarsTemplate(secureBoot: boolean, ovmfDir: string = DEFAULT_OVMF_DIR): string {
  return `${ovmfDir}/${secureBoot ? 'OVMF_VARS_4M.ms.fd' : 'OVMF_VARS_4M.fd'}`;
}
