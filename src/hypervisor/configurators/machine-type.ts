/**
 * Machine type: q35 unless the spec names another one matching KubeVirt's emulated-machine globs
 * (q35*, pc-q35*), the rule admission applies too (src/api/kubevirt/domain-values.ts). Other types
 * are refused: microvm has no HPET/PM timer and guests hang calibrating their clock under load, and
 * the disk rules (sata on the built-in AHCI controller) assume q35.
 */
import type { DomainSpec } from '../../api/kubevirt/domain.js';
import { machineTypeProblem } from '../../api/kubevirt/domain-values.js';
import type { Issues } from '../errors.js';

export const DEFAULT_MACHINE_TYPE = 'q35';

export function configureMachineType(domain: DomainSpec, issues: Issues, at = 'spec.domain'): string {
  const type = domain.machine?.type;
  if (type === undefined || type === '') return DEFAULT_MACHINE_TYPE;
  const problem = machineTypeProblem(type);
  if (problem === undefined) return type;
  issues.error(
    `${at}.machine.type`,
    problem,
    problem.startsWith('Unsupported') ? 'FieldValueNotSupported' : 'FieldValueInvalid',
  );
  return DEFAULT_MACHINE_TYPE;
}
