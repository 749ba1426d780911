/**
 * KubeVirt's metric catalog, and the families built from VMI objects: kubevirt_vmi_info,
 * kubevirt_vmi_phase_count and the phase-transition histogram. Names, types and labels are
 * KubeVirt's (virt-handler's domain stats, virt-controller's VMI collectors), so its dashboards
 * and alerts work unchanged. Pure functions over API objects.
 */
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { Family, Labels, MetricType } from './exposition.js';
import { histogramSamples } from './registry.js';

export const CATALOG: Readonly<Record<string, { type: MetricType; help: string }>> = {
  kubevirt_vmi_cpu_usage_seconds_total: {
    type: 'counter',
    help: 'Total CPU time spent in all modes (sum of both vcpu and hypervisor usage).',
  },
  kubevirt_vmi_cpu_user_usage_seconds_total: { type: 'counter', help: 'Total CPU time spent in user mode.' },
  kubevirt_vmi_cpu_system_usage_seconds_total: {
    type: 'counter',
    help: 'Total CPU time spent in system mode.',
  },
  kubevirt_vmi_vcpu_seconds_total: {
    type: 'counter',
    help: 'Total amount of time spent in each state by each vcpu (cpu_time excluding hypervisor time). Where `id` is the vcpu identifier and `state` can be one of the following: [`OFFLINE`, `RUNNING`, `BLOCKED`].',
  },
  kubevirt_vmi_memory_resident_bytes: {
    type: 'gauge',
    help: 'Resident set size of the process running the domain.',
  },
  kubevirt_vmi_memory_domain_bytes: {
    type: 'gauge',
    help: 'The amount of memory in bytes allocated to the domain. The `memory` value in domain xml file.',
  },
  kubevirt_vmi_memory_available_bytes: {
    type: 'gauge',
    help: 'Amount of usable memory as seen by the domain. This value may not be accurate if a balloon driver is in use or if the guest OS does not initialize all assigned pages',
  },
  kubevirt_vmi_memory_usable_bytes: {
    type: 'gauge',
    help: "The amount of memory which can be reclaimed by balloon without pushing the guest system to swap, corresponds to 'Available' in /proc/meminfo.",
  },
  kubevirt_vmi_memory_unused_bytes: {
    type: 'gauge',
    help: 'The amount of memory left completely unused by the system. Memory that is available but used for reclaimable caches should NOT be reported as free.',
  },
  kubevirt_vmi_memory_cached_bytes: {
    type: 'gauge',
    help: 'The amount of memory that is being used to cache I/O and is available to be reclaimed, corresponds to the sum of `Buffers` + `Cached` + `SwapCached` in `/proc/meminfo`.',
  },
  kubevirt_vmi_memory_swap_in_traffic_bytes: {
    type: 'gauge',
    help: 'The total amount of data read from swap space of the guest in bytes.',
  },
  kubevirt_vmi_memory_swap_out_traffic_bytes: {
    type: 'gauge',
    help: 'The total amount of memory written out to swap space of the guest in bytes.',
  },
  kubevirt_vmi_memory_pgmajfault_total: {
    type: 'counter',
    help: 'The number of page faults when disk IO was required. Page faults occur when a process makes a valid access to virtual memory that is not available. When servicing the page fault, if disk IO is required, it is considered as major fault.',
  },
  kubevirt_vmi_memory_pgminfault_total: {
    type: 'counter',
    help: 'The number of other page faults, when disk IO was not required. Page faults occur when a process makes a valid access to virtual memory that is not available. When servicing the page fault, if disk IO is NOT required, it is considered as minor fault.',
  },
  kubevirt_vmi_network_receive_bytes_total: {
    type: 'counter',
    help: 'Total network traffic received in bytes.',
  },
  kubevirt_vmi_network_transmit_bytes_total: {
    type: 'counter',
    help: 'Total network traffic transmitted in bytes.',
  },
  kubevirt_vmi_network_receive_packets_total: {
    type: 'counter',
    help: 'Total network traffic received packets.',
  },
  kubevirt_vmi_network_transmit_packets_total: {
    type: 'counter',
    help: 'Total network traffic transmitted packets.',
  },
  kubevirt_vmi_network_receive_errors_total: {
    type: 'counter',
    help: 'Total network received error packets.',
  },
  kubevirt_vmi_network_transmit_errors_total: {
    type: 'counter',
    help: 'Total network transmitted error packets.',
  },
  kubevirt_vmi_network_receive_packets_dropped_total: {
    type: 'counter',
    help: 'The total number of rx packets dropped on vNIC interfaces.',
  },
  kubevirt_vmi_network_transmit_packets_dropped_total: {
    type: 'counter',
    help: 'The total number of tx packets dropped on vNIC interfaces.',
  },
  kubevirt_vmi_storage_read_traffic_bytes_total: {
    type: 'counter',
    help: 'Total number of bytes read from storage.',
  },
  kubevirt_vmi_storage_write_traffic_bytes_total: { type: 'counter', help: 'Total number of written bytes.' },
  kubevirt_vmi_storage_iops_read_total: { type: 'counter', help: 'Total number of I/O read operations.' },
  kubevirt_vmi_storage_iops_write_total: { type: 'counter', help: 'Total number of I/O write operations.' },
  kubevirt_vmi_storage_read_times_seconds_total: {
    type: 'counter',
    help: 'Total time spent on read operations.',
  },
  kubevirt_vmi_storage_write_times_seconds_total: {
    type: 'counter',
    help: 'Total time spent on write operations.',
  },
  kubevirt_vmi_storage_flush_requests_total: { type: 'counter', help: 'Total storage flush requests.' },
  kubevirt_vmi_storage_flush_times_seconds_total: {
    type: 'counter',
    help: 'Total time spent on cache flushing.',
  },
  kubevirt_vmi_filesystem_capacity_bytes: { type: 'gauge', help: 'Total VM filesystem capacity in bytes.' },
  kubevirt_vmi_filesystem_used_bytes: { type: 'gauge', help: 'Used VM filesystem capacity in bytes.' },
  kubevirt_vmi_guest_load_1m: {
    type: 'gauge',
    help: 'Guest system load average over 1 minute as reported by the guest agent.',
  },
  kubevirt_vmi_guest_load_5m: {
    type: 'gauge',
    help: 'Guest system load average over 5 minutes as reported by the guest agent.',
  },
  kubevirt_vmi_guest_load_15m: {
    type: 'gauge',
    help: 'Guest system load average over 15 minutes as reported by the guest agent.',
  },
};

/** The labels every VM series carries: KubeVirt's name, namespace, node, and the VMI's labels. */
export function vmiLabels(vmi: VirtualMachineInstance): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vmi.metadata.labels ?? {}))
    out[`kubernetes_vmi_label_${k.replace(/[./-]/g, '_')}`] = v;
  out['node'] = vmi.status?.nodeName ?? '';
  out['namespace'] = vmi.metadata.namespace ?? '';
  out['name'] = vmi.metadata.name ?? '';
  return out;
}

const INFO_LABELS = [
  'node',
  'namespace',
  'name',
  'phase',
  'os',
  'workload',
  'flavor',
  'instance_type',
  'preference',
  'guest_os_kernel_release',
  'guest_os_machine',
  'guest_os_arch',
  'guest_os_name',
  'guest_os_version_id',
  'evictable',
  'outdated',
  'vmi_pod',
] as const;

const PHASE_COUNT_LABELS = [
  'node',
  'phase',
  'os',
  'workload',
  'flavor',
  'instance_type',
  'preference',
  'guest_os_kernel_release',
  'guest_os_machine',
  'guest_os_arch',
  'guest_os_name',
  'guest_os_version_id',
] as const;

function infoLabels(vmi: VirtualMachineInstance): Record<(typeof INFO_LABELS)[number], string> {
  const a = vmi.metadata.annotations ?? {};
  const os = vmi.status?.guestOSInfo;
  const machine = (vmi.status as { machine?: { type?: string } } | undefined)?.machine?.type ?? '';
  return {
    node: vmi.status?.nodeName ?? '',
    namespace: vmi.metadata.namespace ?? '',
    name: vmi.metadata.name ?? '',
    phase: (vmi.status?.phase ?? '').toLowerCase(),
    os: a['vm.kubevirt.io/os'] ?? '',
    workload: a['vm.kubevirt.io/workload'] ?? '',
    flavor: a['vm.kubevirt.io/flavor'] ?? '',
    instance_type: a['kubevirt.io/instancetype-name'] ?? a['kubevirt.io/cluster-instancetype-name'] ?? '',
    preference: a['kubevirt.io/preference-name'] ?? a['kubevirt.io/cluster-preference-name'] ?? '',
    guest_os_kernel_release: os?.kernelRelease ?? '',
    guest_os_machine: machine,
    guest_os_arch: os?.machine ?? '',
    guest_os_name: os?.name ?? '',
    guest_os_version_id: os?.versionId ?? '',
    evictable: 'true',
    outdated: 'false',
    vmi_pod: '',
  };
}

export function vmiInfoFamily(vmis: readonly VirtualMachineInstance[]): Family {
  return {
    name: 'kubevirt_vmi_info',
    help: 'Information about VirtualMachineInstances.',
    type: 'gauge',
    samples: vmis.map((v) => {
      const info = infoLabels(v);
      return { labels: Object.fromEntries(INFO_LABELS.map((k) => [k, info[k]])), value: 1 };
    }),
  };
}

export function phaseCountFamily(vmis: readonly VirtualMachineInstance[]): Family {
  const counts = new Map<string, { labels: Labels; value: number }>();
  for (const v of vmis) {
    const info = infoLabels(v);
    const labels: Record<string, string> = {};
    for (const k of PHASE_COUNT_LABELS) labels[k] = info[k];
    const key = JSON.stringify(labels);
    const e = counts.get(key) ?? { labels, value: 0 };
    e.value++;
    counts.set(key, e);
  }
  return {
    name: 'kubevirt_vmi_phase_count',
    help: 'Sum of VMIs per phase and node. `phase` can be one of the following: [`Pending`, `Scheduling`, `Scheduled`, `Running`, `Succeeded`, `Failed`, `Unknown`].',
    type: 'gauge',
    samples: [...counts.values()],
  };
}

export const PHASE_TRANSITION_BUCKETS = [
  0.5, 1, 2, 5, 10, 20, 30, 40, 50, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600,
];

/**
 * kubevirt_vmi_phase_transition_time_from_creation_seconds: observed when a VMI enters a new phase,
 * the time from its creation to that phase's transition timestamp.
 */
export class PhaseTransitions {
  private readonly last = new Map<string, string>();
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  /** Remembers a VMI's phase without observing (objects present at start). */
  seed(vmi: VirtualMachineInstance): void {
    this.last.set(vmi.metadata.uid ?? '', vmi.status?.phase ?? '');
  }

  forget(uid: string): void {
    this.last.delete(uid);
  }

  update(vmi: VirtualMachineInstance): void {
    const uid = vmi.metadata.uid ?? '';
    const phase = vmi.status?.phase ?? '';
    const before = this.last.get(uid);
    this.last.set(uid, phase);
    if (phase === '' || before === phase) return;
    const created = Date.parse(vmi.metadata.creationTimestamp ?? '');
    const at = Date.parse(
      vmi.status?.phaseTransitionTimestamps?.find((t) => t.phase === phase)?.phaseTransitionTimestamp ?? '',
    );
    if (!Number.isFinite(created) || !Number.isFinite(at)) return;
    this.observe(phase, Math.max(0, (at - created) / 1000));
  }

  observe(phase: string, seconds: number): void {
    let e = this.series.get(phase);
    if (e === undefined) {
      e = { labels: { phase }, counts: PHASE_TRANSITION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.series.set(phase, e);
    }
    PHASE_TRANSITION_BUCKETS.forEach((le, i) => {
      if (seconds <= le && e !== undefined) e.counts[i] = (e.counts[i] ?? 0) + 1;
    });
    e.sum += seconds;
    e.count++;
  }

  family(): Family {
    const name = 'kubevirt_vmi_phase_transition_time_from_creation_seconds';
    return {
      name,
      help: 'Histogram of VM phase transitions duration from creation time in seconds.',
      type: 'histogram',
      samples: histogramSamples(name, PHASE_TRANSITION_BUCKETS, this.series.values()),
    };
  }
}
