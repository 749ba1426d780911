/**
 * Machine type: q35 unless the spec names another q35 version. Other types are refused: microvm has
 * no HPET/PM timer and guests hang calibrating their clock under load, and the disk rules (sata on
 * the built-in AHCI controller) assume q35.
 */
import type { DomainSpec } from '../../api/kubevirt/domain.js';
import type { Issues } from '../errors.js';

export const DEFAULT_MACHINE_TYPE = 'q35';
const Q35 = /^(q35|pc-q35-\d+\.\d+)$/;

export function configureMachineType(domain: DomainSpec, issues: Issues, at = 'spec.domain'): string {
  const type = domain.machine?.type;
  if (type === undefined || type === '') return DEFAULT_MACHINE_TYPE;
  if (Q35.test(type)) return type;
  issues.error(
    `${at}.machine.type`,
    `Unsupported value: ${JSON.stringify(type)}: supported values: "q35", "pc-q35-<version>"`,
    'FieldValueNotSupported',
  );
  return DEFAULT_MACHINE_TYPE;
}
