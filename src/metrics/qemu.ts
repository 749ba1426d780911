/**
 * What QEMU and the guest agent report about a running guest, as series: disks (query-blockstats),
 * guest memory from the balloon driver (qom-get guest-stats, once qom-set has turned polling on),
 * the domain's memory size, and from the guest agent NIC counters, filesystems and load.
 * Parsers are pure and exported for tests; the async functions take the QMP and agent calls in.
 */
import type { Series } from './sample.js';

export type Qmp = <T>(name: string, args?: Record<string, unknown>) => Promise<T>;
export type AgentCall = <T>(
  command: string,
  args?: Record<string, unknown>,
  timeoutMs?: number,
) => Promise<T>;

/** QEMU's balloon device, whose id the hypervisor configurator sets to balloon0. */
export const BALLOON_QOM_PATH = '/machine/peripheral/balloon0';

export interface BlockStatsEntry {
  device?: string;
  'node-name'?: string;
  qdev?: string;
  stats: Record<string, number | boolean | undefined>;
}

/** The VMI disk name of a block device: device ids are `disk-NAME` (src/hypervisor/render-disks.ts). */
export function driveName(e: BlockStatsEntry): string | undefined {
  const m = /\/machine\/peripheral\/disk-([^/]+)/.exec(e.qdev ?? '') ?? /^disk-(.+)$/.exec(e.qdev ?? '');
  return m?.[1];
}

export function blockSeries(entries: readonly BlockStatsEntry[]): Series[] {
  const out: Series[] = [];
  for (const e of entries) {
    const drive = driveName(e);
    if (drive === undefined) continue;
    const s = e.stats;
    const num = (k: string): number => (typeof s[k] === 'number' ? s[k] : 0);
    const labels = { drive };
    out.push(
      {
        name: 'kubevirt_vmi_storage_read_traffic_bytes_total',
        type: 'counter',
        labels,
        value: num('rd_bytes'),
      },
      {
        name: 'kubevirt_vmi_storage_write_traffic_bytes_total',
        type: 'counter',
        labels,
        value: num('wr_bytes'),
      },
      { name: 'kubevirt_vmi_storage_iops_read_total', type: 'counter', labels, value: num('rd_operations') },
      { name: 'kubevirt_vmi_storage_iops_write_total', type: 'counter', labels, value: num('wr_operations') },
      {
        name: 'kubevirt_vmi_storage_read_times_seconds_total',
        type: 'counter',
        labels,
        value: num('rd_total_time_ns') / 1e9,
      },
      {
        name: 'kubevirt_vmi_storage_write_times_seconds_total',
        type: 'counter',
        labels,
        value: num('wr_total_time_ns') / 1e9,
      },
      {
        name: 'kubevirt_vmi_storage_flush_requests_total',
        type: 'counter',
        labels,
        value: num('flush_operations'),
      },
      {
        name: 'kubevirt_vmi_storage_flush_times_seconds_total',
        type: 'counter',
        labels,
        value: num('flush_total_time_ns') / 1e9,
      },
    );
  }
  return out;
}

/** QEMU's guest-stats property: byte counts, -1 where the guest did not report one. */
export interface BalloonStats {
  stats: Record<string, number>;
  'last-update': number;
}

export function balloonSeries(b: BalloonStats): Series[] {
  if (b['last-update'] === 0) return [];
  const out: Series[] = [];
  const add = (name: string, type: Series['type'], key: string): void => {
    const v = b.stats[key];
    if (typeof v === 'number' && v >= 0) out.push({ name, type, labels: {}, value: v });
  };
  add('kubevirt_vmi_memory_available_bytes', 'gauge', 'stat-total-memory');
  add('kubevirt_vmi_memory_usable_bytes', 'gauge', 'stat-available-memory');
  add('kubevirt_vmi_memory_unused_bytes', 'gauge', 'stat-free-memory');
  add('kubevirt_vmi_memory_cached_bytes', 'gauge', 'stat-disk-caches');
  add('kubevirt_vmi_memory_swap_in_traffic_bytes', 'gauge', 'stat-swap-in');
  add('kubevirt_vmi_memory_swap_out_traffic_bytes', 'gauge', 'stat-swap-out');
  add('kubevirt_vmi_memory_pgmajfault_total', 'counter', 'stat-major-faults');
  add('kubevirt_vmi_memory_pgminfault_total', 'counter', 'stat-minor-faults');
  return out;
}

export interface GuestNetInterface {
  name: string;
  'hardware-address'?: string;
  statistics?: Record<string, number>;
}

/** NIC counters from guest-network-get-interfaces (qemu-ga ≥ 7.1), labelled with the VMI's interface name. */
export function networkSeries(
  guest: readonly GuestNetInterface[],
  nics: readonly { name: string; mac: string; network?: string }[],
): Series[] {
  const out: Series[] = [];
  for (const nic of nics) {
    const g = guest.find((i) => (i['hardware-address'] ?? '').toLowerCase() === nic.mac.toLowerCase());
    const s = g?.statistics;
    if (s === undefined) continue;
    const labels = { interface: nic.name, ...(nic.network !== undefined ? { network: nic.network } : {}) };
    const add = (name: string, key: string): void => {
      const v = s[key];
      if (typeof v === 'number') out.push({ name, type: 'counter', labels, value: v });
    };
    add('kubevirt_vmi_network_receive_bytes_total', 'rx-bytes');
    add('kubevirt_vmi_network_transmit_bytes_total', 'tx-bytes');
    add('kubevirt_vmi_network_receive_packets_total', 'rx-packets');
    add('kubevirt_vmi_network_transmit_packets_total', 'tx-packets');
    add('kubevirt_vmi_network_receive_errors_total', 'rx-errs');
    add('kubevirt_vmi_network_transmit_errors_total', 'tx-errs');
    add('kubevirt_vmi_network_receive_packets_dropped_total', 'rx-dropped');
    add('kubevirt_vmi_network_transmit_packets_dropped_total', 'tx-dropped');
  }
  return out;
}

export interface GuestFs {
  name: string;
  mountpoint: string;
  type: string;
  'used-bytes'?: number;
  'total-bytes'?: number;
}

export function filesystemSeries(fs: readonly GuestFs[]): Series[] {
  const out: Series[] = [];
  const seen = new Set<string>();
  for (const f of fs) {
    if (f['total-bytes'] === undefined) continue;
    const key = `${f.name}\u0000${f.mountpoint}\u0000${f.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const labels = { disk_name: f.name, mount_point: f.mountpoint, file_system_type: f.type };
    out.push(
      { name: 'kubevirt_vmi_filesystem_capacity_bytes', type: 'gauge', labels, value: f['total-bytes'] },
      { name: 'kubevirt_vmi_filesystem_used_bytes', type: 'gauge', labels, value: f['used-bytes'] ?? 0 },
    );
  }
  return out;
}

export function loadSeries(l: { load1: number; load5: number; load15: number }): Series[] {
  return [
    { name: 'kubevirt_vmi_guest_load_1m', type: 'gauge', labels: {}, value: l.load1 },
    { name: 'kubevirt_vmi_guest_load_5m', type: 'gauge', labels: {}, value: l.load5 },
    { name: 'kubevirt_vmi_guest_load_15m', type: 'gauge', labels: {}, value: l.load15 },
  ];
}

/** What a VM's collection remembers between rounds (so one-time QMP set-up is done once). */
export interface QemuState {
  domainBytes?: number;
  /** undefined: not tried yet; false: no balloon device. */
  balloon?: boolean;
  /** false once the agent said guest-get-load is not supported. */
  load?: boolean;
}

export async function collectQemu(qmp: Qmp, state: QemuState, intervalS: number): Promise<Series[]> {
  const out: Series[] = [];
  if (state.domainBytes === undefined) {
    const m = await qmp<{ 'base-memory': number; 'plugged-memory'?: number }>('query-memory-size-summary');
    state.domainBytes = m['base-memory'] + (m['plugged-memory'] ?? 0);
  }
  out.push({ name: 'kubevirt_vmi_memory_domain_bytes', type: 'gauge', labels: {}, value: state.domainBytes });
  if (state.balloon === undefined) {
    try {
      await qmp('qom-set', {
        path: BALLOON_QOM_PATH,
        property: 'guest-stats-polling-interval',
        value: Math.max(1, Math.round(intervalS)),
      });
      state.balloon = true;
    } catch {
      state.balloon = false;
    }
  }
  // Both asked at once, and both awaited together: a failing one is never left unhandled.
  const [blocks, balloon] = await Promise.all([
    qmp<BlockStatsEntry[]>('query-blockstats'),
    state.balloon
      ? qmp<BalloonStats>('qom-get', { path: BALLOON_QOM_PATH, property: 'guest-stats' }).catch(
          () => undefined,
        )
      : undefined,
  ]);
  out.push(...blockSeries(blocks));
  if (balloon !== undefined) out.push(...balloonSeries(balloon));
  return out;
}

export async function collectGuestAgent(
  agent: AgentCall,
  state: QemuState,
  nics: readonly { name: string; mac: string; network?: string }[],
): Promise<Series[]> {
  const out: Series[] = [];
  const nets = await agent<GuestNetInterface[]>('guest-network-get-interfaces', undefined, 1500).catch(
    () => [],
  );
  out.push(...networkSeries(nets, nics));
  const fs = await agent<GuestFs[]>('guest-get-fsinfo', undefined, 1500).catch(() => []);
  out.push(...filesystemSeries(fs));
  if (state.load !== false) {
    try {
      out.push(
        ...loadSeries(await agent<{ load1: number; load5: number; load15: number }>('guest-get-load')),
      );
    } catch (err) {
      if (err instanceof Error && /not found|not supported|disabled/i.test(err.message)) state.load = false;
    }
  }
  return out;
}
