/**
 * What a VMI asks of a node, and whether a node still has it. Pure: the scheduler controller feeds
 * it the node's allocatable resources and the VMIs already placed there.
 */
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { formatBytes, formatCpu, parseQuantity } from '../../api/quantity.js';

export type Resources = Record<string, number>;

export interface SchedulingPolicy {
  /** vCPUs per requested CPU when the VMI does not request CPU explicitly (KubeVirt's cpuAllocationRatio, default 10). */
  cpuAllocationRatio: number;
}

const value = (q: string | number | undefined): number | undefined =>
  q === undefined ? undefined : parseQuantity(q)?.value;

export function vcpusOf(vmi: VirtualMachineInstance): number {
  const cpu = vmi.spec.domain.cpu;
  if (cpu?.sockets !== undefined || cpu?.cores !== undefined || cpu?.threads !== undefined) {
    return (cpu.sockets ?? 1) * (cpu.cores ?? 1) * (cpu.threads ?? 1);
  }
  const res = vmi.spec.domain.resources;
  return Math.max(1, Math.ceil(value(res?.requests?.['cpu']) ?? value(res?.limits?.['cpu']) ?? 1));
}

export function guestMemoryOf(vmi: VirtualMachineInstance): number {
  const d = vmi.spec.domain;
  return (
    value(d.memory?.guest) ??
    value(d.resources?.requests?.['memory']) ??
    value(d.resources?.limits?.['memory']) ??
    0
  );
}

/** cpu in cores, memory in bytes, devices by resource name. */
export function requestsOf(vmi: VirtualMachineInstance, policy: SchedulingPolicy): Resources {
  const res = vmi.spec.domain.resources;
  const out: Resources = {
    cpu:
      value(res?.requests?.['cpu']) ??
      value(res?.limits?.['cpu']) ??
      vcpusOf(vmi) / policy.cpuAllocationRatio,
    memory: value(res?.requests?.['memory']) ?? value(res?.limits?.['memory']) ?? guestMemoryOf(vmi),
  };
  const devices: Resources = {};
  for (const list of [res?.requests ?? {}, res?.limits ?? {}]) {
    for (const [name, q] of Object.entries(list)) {
      if (name === 'cpu' || name === 'memory') continue;
      devices[name] = Math.max(devices[name] ?? 0, value(q) ?? 0);
    }
  }
  const fromSpec: Resources = {};
  for (const d of [...(vmi.spec.domain.devices.gpus ?? []), ...(vmi.spec.domain.devices.hostDevices ?? [])]) {
    // A GPU from a DRA claim (claimName) names no device resource.
    if (d.deviceName === undefined) continue;
    fromSpec[d.deviceName] = (fromSpec[d.deviceName] ?? 0) + 1;
  }
  for (const [name, n] of Object.entries(fromSpec)) devices[name] = Math.max(devices[name] ?? 0, n);
  return { ...out, ...devices };
}

export const sumResources = (all: Resources[]): Resources => {
  const total: Resources = {};
  for (const r of all) for (const [k, v] of Object.entries(r)) total[k] = (total[k] ?? 0) + v;
  return total;
};

function show(name: string, v: number): string {
  if (name === 'cpu') return formatCpu(v);
  if (name !== 'memory') return String(v);
  const exact = formatBytes(Math.round(v));
  return /[KMGTPE]i$/.test(exact) && !exact.endsWith('Ki') ? exact : `${(v / 2 ** 30).toFixed(1)}Gi`;
}

/** Every resource the node is short of, as "insufficient nvidia.com/gpu: requested 1, allocatable 0". */
export function shortages(request: Resources, allocatable: Resources, used: Resources): string[] {
  const out: string[] = [];
  for (const [name, want] of Object.entries(request)) {
    if (want <= 0) continue;
    const total = allocatable[name] ?? 0;
    const free = total - (used[name] ?? 0);
    if (want > free + 1e-9) {
      const inUse = used[name] ?? 0;
      out.push(
        `insufficient ${name}: requested ${show(name, want)}, allocatable ${show(name, total)}${inUse > 0 ? ` (${show(name, inUse)} in use)` : ''}`,
      );
    }
  }
  return out;
}
