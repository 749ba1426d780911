/**
 * Guest memory: domain.memory.guest, else the memory request, else the limit (KubeVirt's order),
 * rounded up to whole MiB because that is what `-m` takes without surprises.
 */
import type { DomainSpec } from '../../api/kubevirt/domain.js';
import { formatBytes, parseQuantity } from '../../api/quantity.js';
import type { Issues } from '../errors.js';

const MiB = 2 ** 20;

export function configureMemory(domain: DomainSpec, issues: Issues, at = 'spec.domain'): number {
  const sources: [string | number | undefined, string][] = [
    [domain.memory?.guest, `${at}.memory.guest`],
    [domain.resources?.requests?.['memory'], `${at}.resources.requests.memory`],
    [domain.resources?.limits?.['memory'], `${at}.resources.limits.memory`],
  ];
  for (const [raw, path] of sources) {
    if (raw === undefined) continue;
    const q = parseQuantity(raw);
    if (q === undefined || q.value <= 0) {
      issues.error(path, `Invalid value: ${JSON.stringify(raw)}: must be a positive quantity`);
      return 0;
    }
    const bytes = Math.ceil(q.value / MiB) * MiB;
    if (bytes !== q.value) issues.warn(`${path}: ${JSON.stringify(raw)} rounded up to ${formatBytes(bytes)}`);
    return bytes;
  }
  issues.error(
    `${at}.resources.requests.memory`,
    `Required value: set ${at}.memory.guest or ${at}.resources.requests.memory`,
    'FieldValueRequired',
  );
  return 0;
}
