/**
 * CPU model and topology. KubeVirt's rules: an explicit domain.cpu topology wins; otherwise the vCPU
 * count comes from the CPU limit (else the request), rounded up, and goes into sockets. The model
 * depends on the accelerator: `host` exists only under KVM, so TCG gets `max` (everything TCG
 * emulates) for the host-* models and the default.
 */
import type { DomainSpec } from '../../api/kubevirt/domain.js';
import { parseQuantity } from '../../api/quantity.js';
import { cpuFeatureNameProblem, cpuModelProblem, HOST_CPU_MODELS } from '../../api/kubevirt/domain-values.js';
import type { Issues } from '../errors.js';
import type { Accel, CpuConfig } from '../machine.js';

/** The model used under KVM; the accelerator probe starts QEMU with the same one. */
export const KVM_CPU_MODEL = 'host';
/** The model used under TCG when the spec asks for none or for a host-* model. */
export const TCG_CPU_MODEL = 'max';

const HOST_MODELS: ReadonlySet<string> = new Set(HOST_CPU_MODELS);
const ENABLE = new Set(['require', 'force', 'optional']);
const DISABLE = new Set(['disable', 'forbid']);

export function configureCpu(
  domain: DomainSpec,
  accel: Accel,
  issues: Issues,
  at = 'spec.domain',
): CpuConfig {
  return { ...cpuModel(domain, accel, issues, at), ...cpuTopology(domain, issues, at) };
}

export function cpuModel(
  domain: DomainSpec,
  accel: Accel,
  issues: Issues,
  at = 'spec.domain',
): Pick<CpuConfig, 'model' | 'features'> {
  const requested = domain.cpu?.model;
  let model: string;
  if (requested === undefined || HOST_MODELS.has(requested))
    model = accel === 'kvm' ? KVM_CPU_MODEL : TCG_CPU_MODEL;
  else {
    const problem = cpuModelProblem(requested);
    if (problem === undefined) model = requested;
    else {
      issues.error(`${at}.cpu.model`, problem);
      model = TCG_CPU_MODEL;
    }
  }
  const features: string[] = [];
  (domain.cpu?.features ?? []).forEach((f, i) => {
    const policy = f.policy ?? 'require';
    const problem = cpuFeatureNameProblem(f.name);
    if (problem !== undefined) issues.error(`${at}.cpu.features[${i}].name`, problem);
    else if (ENABLE.has(policy)) features.push(`+${f.name}`);
    else if (DISABLE.has(policy)) features.push(`-${f.name}`);
    else
      issues.error(
        `${at}.cpu.features[${i}].policy`,
        `Unsupported value: ${JSON.stringify(policy)}: supported values: "force", "require", "optional", "disable", "forbid"`,
      );
  });
  return { model, features };
}

export function cpuTopology(
  domain: DomainSpec,
  issues: Issues,
  at = 'spec.domain',
): Pick<CpuConfig, 'sockets' | 'cores' | 'threads'> {
  const cpu = domain.cpu;
  const given = (n: number | undefined): n is number => n !== undefined && n > 0;
  if (given(cpu?.sockets) || given(cpu?.cores) || given(cpu?.threads)) {
    return {
      sockets: given(cpu?.sockets) ? cpu.sockets : 1,
      cores: given(cpu?.cores) ? cpu.cores : 1,
      threads: given(cpu?.threads) ? cpu.threads : 1,
    };
  }
  return { sockets: vcpusFromResources(domain, issues, at), cores: 1, threads: 1 };
}

function vcpusFromResources(domain: DomainSpec, issues: Issues, at: string): number {
  for (const kind of ['limits', 'requests'] as const) {
    const raw = domain.resources?.[kind]?.['cpu'];
    if (raw === undefined) continue;
    const q = parseQuantity(raw);
    if (q === undefined || q.value <= 0) {
      issues.error(
        `${at}.resources.${kind}.cpu`,
        `Invalid value: ${JSON.stringify(raw)}: must be a positive quantity`,
      );
      return 1;
    }
    return Math.ceil(q.value);
  }
  return 1;
}
