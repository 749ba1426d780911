/**
 * The node agent's metrics collection (virt-handler's domain stats): every interval, for each
 * running VMI, CPU and memory from /proc, disks and balloon stats from QMP, NICs, filesystems and
 * load from the guest agent when it is connected, and custom metrics from the guest when the VM
 * asks for it. All in this process, a few small reads and QMP round trips per VM: no helper
 * process per VM. Keeps the last two rounds (for `/metrics` and rates) and feeds the history.
 */
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { Informer } from '../runtime/informer.js';
import type { Manager } from '../runtime/manager.js';
import type { RunningGuest } from '../node/agent.js';
import { collectCustom, customTarget } from './custom.js';
import type { Family } from './exposition.js';
import { CATALOG, PhaseTransitions, phaseCountFamily, vmiInfoFamily, vmiLabels } from './kubevirt.js';
import { readQemuProcess } from './procfs.js';
import { collectGuestAgent, collectQemu, type QemuState } from './qemu.js';
import { controlPlane } from './registry.js';
import type { Series, VmSample } from './sample.js';
import type { MetricsStore } from './tsdb.js';
import type { NicCounters } from '../network/counters.js';

export interface CollectorOptions {
  /** The controller runtime whose shared VMI informer the collector reads (it writes nothing). */
  manager: Pick<Manager, 'informer'>;
  guests: { running(): RunningGuest[] };
  store?: MetricsStore;
  /** Default 10 s. */
  intervalMs?: number;
  /** VMs collected at once. Default 16. */
  concurrency?: number;
  now?: () => number;
  log?: (message: string) => void;
  /**
   * Host-side counters of NICs that have a tap (secondary networks), keyed `UID/INTERFACE`, read
   * once per round. Those NICs get their network metrics from here, with or without a guest agent.
   */
  nicCounters?: () => Promise<Map<string, NicCounters>>;
}

interface VmState {
  qemu: QemuState;
  custom: { hostPort?: number };
  customError?: string;
}

/** What `hikube top` shows of a VM, computed from the last two rounds. */
export interface VmSummary {
  namespace: string;
  name: string;
  node: string;
  timestamp: string;
  windowSeconds: number;
  cpuPercent?: number;
  memoryResidentBytes?: number;
  memoryDomainBytes?: number;
  /** From the balloon: total minus available, as the guest sees it. */
  memoryUsedBytes?: number;
  networkReceiveBytesPerSecond?: number;
  networkTransmitBytesPerSecond?: number;
  storageReadBytesPerSecond?: number;
  storageWriteBytesPerSecond?: number;
}

export class Collector {
  readonly intervalMs: number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;
  private readonly states = new Map<string, VmState>();
  private latest = new Map<string, VmSample>();
  private previous = new Map<string, VmSample>();
  private readonly transitions = new PhaseTransitions();
  private readonly vmis: Informer;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: () => void = () => undefined;
  private running: Promise<void> | undefined;
  private lastRound = { seconds: 0, cpuSeconds: 0, vms: 0 };
  private rounds = 0;
  private stopped = false;
  private cpuTotal = 0;

  constructor(private readonly o: CollectorOptions) {
    this.intervalMs = o.intervalMs ?? 10_000;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => undefined);
    this.vmis = o.manager.informer(virtualMachineInstanceKind);
  }

  /** The cached VMIs, read only (not copied: a round reads every one). */
  private listVmis(): VirtualMachineInstance[] {
    return this.vmis.list() as VirtualMachineInstance[];
  }

  start(): void {
    for (const v of this.listVmis()) this.transitions.seed(v);
    this.unsubscribe = this.vmis.onChange((type, object) => {
      if (type === 'DELETED') this.transitions.forget(object.metadata.uid ?? '');
      else this.transitions.update(object as VirtualMachineInstance);
    });
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe();
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running !== undefined) return;
    this.running = this.collect()
      .then(() => undefined)
      .catch((err: unknown) =>
        this.log(`metrics: collection failed: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => (this.running = undefined));
    await this.running;
  }

  /** One round over every running VM; returns the samples (also kept and stored). */
  async collect(): Promise<VmSample[]> {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const guests = this.o.guests.running();
    const vmis = new Map(this.listVmis().map((v) => [v.metadata.uid ?? '', v]));
    const samples: VmSample[] = [];
    const queue = [...guests];
    const counters =
      guests.length === 0 || this.o.nicCounters === undefined
        ? new Map<string, NicCounters>()
        : await this.o.nicCounters().catch((err: unknown) => {
            this.log(`metrics: NIC counters: ${err instanceof Error ? err.message : String(err)}`);
            return new Map<string, NicCounters>();
          });
    const worker = async (): Promise<void> => {
      for (let g = queue.shift(); g !== undefined; g = queue.shift()) {
        const sample = await this.collectOne(g, vmis.get(g.uid), counters);
        if (sample !== undefined) samples.push(sample);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 16, queue.length) }, worker));
    samples.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));

    const live = new Set(guests.map((g) => g.uid));
    for (const uid of this.states.keys()) if (!live.has(uid)) this.states.delete(uid);
    const next = new Map(samples.map((s) => [s.uid, s]));
    this.previous = new Map([...this.latest].filter(([uid]) => next.has(uid)));
    this.latest = next;
    if (this.o.store !== undefined && samples.length > 0 && !this.stopped) {
      try {
        this.o.store.append(samples);
        this.o.store.maintain(this.now());
      } catch (err) {
        this.log(`metrics: failed writing history: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const used = process.cpuUsage(cpu);
    this.lastRound = {
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
      vms: samples.length,
    };
    this.rounds++;
    this.cpuTotal += this.lastRound.cpuSeconds;
    return samples;
  }

  private async collectOne(
    g: RunningGuest,
    vmi: VirtualMachineInstance | undefined,
    counters: Map<string, NicCounters>,
  ): Promise<VmSample | undefined> {
    const proc = readQemuProcess(g.pid);
    if (proc === undefined) return undefined;
    let state = this.states.get(g.uid);
    if (state === undefined) {
      state = { qemu: {}, custom: {} };
      this.states.set(g.uid, state);
    }
    const t = this.now();
    const series: Series[] = [
      {
        name: 'kubevirt_vmi_cpu_usage_seconds_total',
        type: 'counter',
        labels: {},
        value: round(proc.user + proc.system),
      },
      { name: 'kubevirt_vmi_cpu_user_usage_seconds_total', type: 'counter', labels: {}, value: proc.user },
      {
        name: 'kubevirt_vmi_cpu_system_usage_seconds_total',
        type: 'counter',
        labels: {},
        value: proc.system,
      },
      ...proc.vcpus.map((v): Series => ({
        name: 'kubevirt_vmi_vcpu_seconds_total',
        type: 'counter',
        labels: { id: String(v.id), state: 'running' },
        value: v.seconds,
      })),
      { name: 'kubevirt_vmi_memory_resident_bytes', type: 'gauge', labels: {}, value: proc.rssBytes },
    ];
    const networks = new Map((vmi?.spec.networks ?? []).map((n) => [n.name, n.name] as const));
    const allNics = g.nics.map((n) => ({ ...n, ...(networks.has(n.name) ? { network: n.name } : {}) }));
    // NICs with host-side counters are counted there; the guest agent covers the others.
    const nics = allNics.filter((n) => !counters.has(`${g.uid}/${n.name}`));
    for (const n of allNics) {
      const c = counters.get(`${g.uid}/${n.name}`);
      if (c !== undefined) series.push(...nicCounterSeries(n, c));
    }
    const tasks: Promise<Series[]>[] = [
      collectQemu(g.command.bind(g), state.qemu, this.intervalMs / 1000).catch(() => []),
    ];
    const agentUp =
      vmi?.status?.conditions?.some((c) => c.type === 'AgentConnected' && c.status === 'True') ?? false;
    if (agentUp && !g.paused)
      tasks.push(
        collectGuestAgent((c, a, ms) => g.agent.execute(c, a, ms), state.qemu, nics).catch(() => []),
      );
    const target = customTarget(vmi?.metadata.annotations);
    const pod = g.nics.find((n) => n.pod);
    if (target !== undefined && pod !== undefined && !g.paused) {
      const s = state;
      tasks.push(
        collectCustom(g.command.bind(g), pod, target, s.custom).then(
          (x) => {
            delete s.customError;
            return x;
          },
          (err: unknown) => {
            const message = err instanceof Error ? err.message : String(err);
            if (s.customError !== message)
              this.log(`metrics: custom metrics of ${g.namespace}/${g.name}: ${message}`);
            s.customError = message;
            return [];
          },
        ),
      );
    }
    for (const part of await Promise.all(tasks)) series.push(...part);
    return { namespace: g.namespace, name: g.name, uid: g.uid, t, series };
  }

  /** Everything `/metrics` serves, in a stable order. */
  families(): Family[] {
    const vmis = this.listVmis();
    const byUid = new Map(vmis.map((v) => [v.metadata.uid ?? '', v]));
    const families = new Map<string, Family>();
    for (const [name, c] of Object.entries(CATALOG))
      families.set(name, { name, help: c.help, type: c.type, samples: [] });
    const custom = new Map<string, Family>();
    for (const sample of this.latest.values()) {
      const vmi = byUid.get(sample.uid);
      if (vmi === undefined) continue;
      const base = vmiLabels(vmi);
      for (const s of sample.series) {
        const labels = { ...s.labels, ...base };
        if (s.family !== undefined) {
          let f = custom.get(s.family.name);
          if (f === undefined) {
            f = { name: s.family.name, help: s.family.help, type: s.family.type, samples: [] };
            custom.set(s.family.name, f);
          }
          f.samples.push({ ...(s.name !== f.name ? { name: s.name } : {}), labels, value: s.value });
        } else families.get(s.name)?.samples.push({ labels, value: s.value });
      }
    }
    return [
      ...families.values(),
      vmiInfoFamily(vmis),
      phaseCountFamily(vmis),
      this.transitions.family(),
      ...[...custom.values()].sort((a, b) => a.name.localeCompare(b.name)),
      ...controlPlane.collect(),
      ...this.selfFamilies(),
    ];
  }

  private selfFamilies(): Family[] {
    return [
      {
        name: 'hikube_metrics_collection_duration_seconds',
        help: 'Wall time of the last metrics collection round over every running VM.',
        type: 'gauge',
        samples: [{ labels: {}, value: this.lastRound.seconds }],
      },
      {
        name: 'hikube_metrics_collection_cpu_seconds_total',
        help: 'CPU time of this process spent during metrics collection rounds (includes whatever else ran meanwhile).',
        type: 'counter',
        samples: [{ labels: {}, value: this.cpuTotal }],
      },
      {
        name: 'hikube_metrics_collected_vms',
        help: 'VMs collected in the last round.',
        type: 'gauge',
        samples: [{ labels: {}, value: this.lastRound.vms }],
      },
      {
        name: 'hikube_metrics_collection_rounds_total',
        help: 'Metrics collection rounds since start.',
        type: 'counter',
        samples: [{ labels: {}, value: this.rounds }],
      },
    ];
  }

  /** Rates over the last two rounds, per running VM (what `hikube top` shows). */
  summaries(namespace?: string): VmSummary[] {
    const out: VmSummary[] = [];
    const vmis = new Map(this.listVmis().map((v) => [v.metadata.uid ?? '', v]));
    for (const cur of this.latest.values()) {
      if (namespace !== undefined && cur.namespace !== namespace) continue;
      const prev = this.previous.get(cur.uid);
      const dt = prev === undefined ? 0 : (cur.t - prev.t) / 1000;
      const sum = (s: VmSample | undefined, name: string): number | undefined => {
        const xs = s?.series.filter((x) => x.name === name) ?? [];
        return xs.length === 0 ? undefined : xs.reduce((a, x) => a + x.value, 0);
      };
      const rate = (name: string): number | undefined => {
        const a = sum(prev, name);
        const b = sum(cur, name);
        return a === undefined || b === undefined || dt <= 0 ? undefined : Math.max(0, b - a) / dt;
      };
      const cpu = rate('kubevirt_vmi_cpu_usage_seconds_total');
      const total = sum(cur, 'kubevirt_vmi_memory_available_bytes');
      const usable = sum(cur, 'kubevirt_vmi_memory_usable_bytes');
      const s: VmSummary = {
        namespace: cur.namespace,
        name: cur.name,
        node: vmis.get(cur.uid)?.status?.nodeName ?? '',
        timestamp: new Date(cur.t).toISOString(),
        windowSeconds: dt,
      };
      const set = <K extends keyof VmSummary>(k: K, v: VmSummary[K] | undefined): void => {
        if (v !== undefined) s[k] = v;
      };
      set('cpuPercent', cpu === undefined ? undefined : cpu * 100);
      set('memoryResidentBytes', sum(cur, 'kubevirt_vmi_memory_resident_bytes'));
      set('memoryDomainBytes', sum(cur, 'kubevirt_vmi_memory_domain_bytes'));
      set('memoryUsedBytes', total === undefined || usable === undefined ? undefined : total - usable);
      set('networkReceiveBytesPerSecond', rate('kubevirt_vmi_network_receive_bytes_total'));
      set('networkTransmitBytesPerSecond', rate('kubevirt_vmi_network_transmit_bytes_total'));
      set('storageReadBytesPerSecond', rate('kubevirt_vmi_storage_read_traffic_bytes_total'));
      set('storageWriteBytesPerSecond', rate('kubevirt_vmi_storage_write_traffic_bytes_total'));
      out.push(s);
    }
    return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  }

  /** The last round's cost, for the benchmark. */
  get lastRoundCost(): { seconds: number; cpuSeconds: number; vms: number } {
    return { ...this.lastRound };
  }
}

const round = (v: number): number => Math.round(v * 100) / 100;

function nicCounterSeries(nic: { name: string; network?: string }, c: NicCounters): Series[] {
  const labels = { interface: nic.name, ...(nic.network !== undefined ? { network: nic.network } : {}) };
  const counter = (name: string, value: number): Series => ({ name, type: 'counter', labels, value });
  return [
    counter('kubevirt_vmi_network_receive_bytes_total', c.rxBytes),
    counter('kubevirt_vmi_network_transmit_bytes_total', c.txBytes),
    counter('kubevirt_vmi_network_receive_packets_total', c.rxPackets),
    counter('kubevirt_vmi_network_transmit_packets_total', c.txPackets),
    counter('kubevirt_vmi_network_receive_errors_total', c.rxErrors),
    counter('kubevirt_vmi_network_transmit_errors_total', c.txErrors),
    counter('kubevirt_vmi_network_receive_packets_dropped_total', c.rxDropped),
    counter('kubevirt_vmi_network_transmit_packets_dropped_total', c.txDropped),
  ];
}
