/**
 * What one object counts for against a ResourceQuota, by resource key (`group/plural`). Object
 * counts for every kind (`count/<plural>.<group>`); services, claims and data volumes as
 * kube-apiserver's evaluators count them; and a VirtualMachineInstance as KubeVirt's virt-launcher
 * pod for it would count, since a VMI is this platform's pod:
 *
 * - requests.cpu: the VMI's CPU request, else its vCPUs ÷ the CPU allocation ratio;
 * - limits.cpu: the VMI's CPU limit, else its vCPU count (KubeVirt's AutoResourceLimits);
 * - requests.memory: the guest's memory plus the hypervisor overhead (none when the VMI sets
 *   overcommitGuestOverhead); limits.memory: its memory limit plus the overhead, else the request
 *   times the namespace's `alpha.kubevirt.io/auto-memory-limits-ratio` (2 when unset);
 * - requests.<device>: GPUs and host devices by resource name (`requests.nvidia.com/gpu`).
 *
 * A VMI that has finished (Succeeded, Failed) counts for nothing but its object count, as a
 * finished pod does.
 */
import type { KubeObject } from '../meta.js';
import { parseQuantity } from '../quantity.js';
import type { VirtualMachineInstance } from '../kubevirt/vmi.js';
import { guestMemoryOf, requestsOf, vcpusOf } from '../../controllers/scheduler/fit.js';

export type Usage = Record<string, number>;

export const MEMORY_LIMITS_RATIO_LABEL = 'alpha.kubevirt.io/auto-memory-limits-ratio';
export const DEFAULT_MEMORY_LIMITS_RATIO = 2;
export const DEFAULT_CPU_ALLOCATION_RATIO = 10;

export interface UsagePolicy {
  /** vCPUs per requested CPU (KubeVirt's cpuAllocationRatio). */
  cpuAllocationRatio: number;
  /** Memory limit ÷ request for a VMI without a memory limit (from the namespace's label). */
  memoryLimitsRatio: number;
}

const MiB = 2 ** 20;
/** QEMU and its helpers beside a guest: the process, its TCG translation buffer, I/O threads. */
const OVERHEAD_BASE = 100 * MiB;
const OVERHEAD_PER_VCPU = 8 * MiB;

/**
 * Memory the host spends on a guest beyond its RAM, in bytes: shaped like KubeVirt's estimate (a
 * fixed part, a part per vCPU, page tables of 1/512 of guest memory), sized for QEMU here.
 */
export function memoryOverheadOf(vmi: VirtualMachineInstance): number {
  return OVERHEAD_BASE + OVERHEAD_PER_VCPU * vcpusOf(vmi) + Math.ceil(guestMemoryOf(vmi) / 512);
}

const value = (q: string | number | undefined): number | undefined =>
  q === undefined ? undefined : parseQuantity(q)?.value;

/** CPU counted in whole millicores, as quantities are: 1 vCPU ÷ 3 is 334m. */
const milli = (cores: number): number => Math.ceil(Math.round(cores * 1e6) / 1e3) / 1000;

export function vmiUsage(vmi: VirtualMachineInstance, policy: UsagePolicy): Usage {
  const phase = vmi.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return {};
  const res = vmi.spec.domain.resources;
  const asked = requestsOf(vmi, { cpuAllocationRatio: policy.cpuAllocationRatio });
  const overhead = memoryOverheadOf(vmi);
  const requestOverhead = res?.overcommitGuestOverhead === true ? 0 : overhead;
  const memoryRequest = (asked['memory'] ?? 0) + requestOverhead;
  const memoryLimit = value(res?.limits?.['memory']);
  const usage: Usage = {
    'requests.cpu': milli(asked['cpu'] ?? 0),
    'limits.cpu': milli(value(res?.limits?.['cpu']) ?? vcpusOf(vmi)),
    'requests.memory': memoryRequest,
    'limits.memory':
      memoryLimit !== undefined
        ? memoryLimit + overhead
        : Math.ceil(memoryRequest * policy.memoryLimitsRatio),
  };
  for (const [name, n] of Object.entries(asked)) {
    if (name === 'cpu' || name === 'memory') continue;
    usage[`requests.${name}`] = n;
  }
  return usage;
}

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function claimUsage(spec: unknown): Usage {
  const storage = value(rec(rec(rec(spec)['resources'])['requests'])['storage'] as string | undefined);
  const cls = rec(spec)['storageClassName'];
  const usage: Usage = { persistentvolumeclaims: 1, 'requests.storage': storage ?? 0 };
  if (typeof cls === 'string' && cls !== '') {
    usage[`${cls}.storageclass.storage.k8s.io/requests.storage`] = storage ?? 0;
    usage[`${cls}.storageclass.storage.k8s.io/persistentvolumeclaims`] = 1;
  }
  return usage;
}

/** `count/virtualmachines.kubevirt.io`, or `count/services` for the core group. */
export const countName = (resource: string): string => {
  const [group = '', plural = ''] = resource.split('/');
  return group === '' ? `count/${plural}` : `count/${plural}.${group}`;
};

/**
 * What `object`, stored under `resource`, counts for. `claimed` says whether a PVC of that name
 * exists beside a DataVolume: until its claim exists a DataVolume counts for the claim it will make.
 */
export function usageOf(
  resource: string,
  object: KubeObject,
  policy: UsagePolicy,
  claimed: (namespace: string, name: string) => boolean = () => false,
): Usage {
  const usage: Usage = { [countName(resource)]: 1 };
  switch (resource) {
    case '/services': {
      const type = rec(object['spec'])['type'];
      usage['services'] = 1;
      if (type === 'LoadBalancer') usage['services.loadbalancers'] = 1;
      if (type === 'NodePort' || type === 'LoadBalancer') {
        const ports = rec(object['spec'])['ports'];
        const withNodePorts = Array.isArray(ports) ? ports.length : 0;
        usage['services.nodeports'] =
          type === 'LoadBalancer' && rec(object['spec'])['allocateLoadBalancerNodePorts'] === false
            ? 0
            : withNodePorts;
      }
      break;
    }
    case '/secrets':
    case '/configmaps':
    case '/resourcequotas':
      usage[resource.slice(1)] = 1;
      break;
    case '/persistentvolumeclaims':
      Object.assign(usage, claimUsage(object['spec']));
      break;
    case 'cdi.kubevirt.io/datavolumes': {
      if (claimed(object.metadata.namespace ?? '', object.metadata.name ?? '')) break;
      const spec = rec(object['spec']);
      Object.assign(usage, claimUsage(spec['storage'] ?? spec['pvc']));
      break;
    }
    case 'kubevirt.io/virtualmachineinstances':
      Object.assign(usage, vmiUsage(object as VirtualMachineInstance, policy));
      break;
  }
  return usage;
}

/** Resource keys whose objects count for more than their own `count/…`. */
export const EVALUATED_RESOURCES = [
  '/services',
  '/secrets',
  '/configmaps',
  '/resourcequotas',
  '/persistentvolumeclaims',
  'cdi.kubevirt.io/datavolumes',
  'kubevirt.io/virtualmachineinstances',
] as const;

/** The memory limit ratio a namespace's label asks for (Cozystack's tenants set `1.0`). */
export function memoryLimitsRatioOf(namespace: KubeObject | undefined): number {
  const text = namespace?.metadata.labels?.[MEMORY_LIMITS_RATIO_LABEL];
  const ratio = text === undefined ? NaN : Number(text);
  return Number.isFinite(ratio) && ratio >= 1 ? ratio : DEFAULT_MEMORY_LIMITS_RATIO;
}

/**
 * The CPU allocation ratio of `hikube up`: $HIKUBE_CPU_ALLOCATION_RATIO when set, else 10.
 * @throws Error when the variable is not a number of at least 1.
 */
export function cpuAllocationRatioFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env['HIKUBE_CPU_ALLOCATION_RATIO'];
  if (text === undefined || text === '') return DEFAULT_CPU_ALLOCATION_RATIO;
  return parseCpuAllocationRatio(text);
}

/** @throws Error when `text` is not a number of at least 1. */
export function parseCpuAllocationRatio(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 1)
    throw new Error(`the CPU allocation ratio must be a number of at least 1, not ${JSON.stringify(text)}`);
  return n;
}
