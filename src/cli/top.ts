/**
 * `hikube top vm [NAME]`: the current CPU, memory, network and disk usage of running VMs, from the
 * node agent's last two collection rounds (metrics.hikube.io, as `kubectl top pod` reads
 * metrics.k8s.io). `--watch` redraws every few seconds.
 */
import { parseArgs } from 'node:util';
import type { KubeClient } from '../client/kube.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

interface Usage {
  cpuPercent?: number;
  memoryResidentBytes?: number;
  memoryDomainBytes?: number;
  memoryUsedBytes?: number;
  networkReceiveBytesPerSecond?: number;
  networkTransmitBytesPerSecond?: number;
  storageReadBytesPerSecond?: number;
  storageWriteBytesPerSecond?: number;
}

interface VmiMetrics {
  metadata: { name: string; namespace: string };
  timestamp: string;
  usage: Usage;
}

const BASE = '/apis/metrics.hikube.io/v1alpha1';

export function formatBytes(n: number | undefined, suffix = ''): string {
  if (n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : 1)}${units[u] ?? ''}${suffix}`;
}

export function renderTopTable(items: readonly VmiMetrics[], withNamespace: boolean): string {
  const header = [
    ...(withNamespace ? ['NAMESPACE'] : []),
    'NAME',
    'CPU',
    'MEMORY(RSS)',
    'GUEST-MEM(USED/TOTAL)',
    'NET-RX',
    'NET-TX',
    'DISK-READ',
    'DISK-WRITE',
  ];
  const rows = items.map(({ metadata: m, usage: u }) => [
    ...(withNamespace ? [m.namespace] : []),
    m.name,
    u.cpuPercent === undefined ? '-' : `${u.cpuPercent.toFixed(1)}%`,
    formatBytes(u.memoryResidentBytes),
    `${formatBytes(u.memoryUsedBytes)}/${formatBytes(u.memoryDomainBytes)}`,
    formatBytes(u.networkReceiveBytesPerSecond, '/s'),
    formatBytes(u.networkTransmitBytesPerSecond, '/s'),
    formatBytes(u.storageReadBytesPerSecond, '/s'),
    formatBytes(u.storageWriteBytesPerSecond, '/s'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd((widths[i] ?? 0) + 3))).join(''))
    .join('\n');
}

async function fetchUsage(
  c: KubeClient,
  namespace: string | undefined,
  name: string | undefined,
): Promise<VmiMetrics[]> {
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  if (name !== undefined) {
    const { value } = await c.call<VmiMetrics>(
      'GET',
      `${BASE}${ns}/virtualmachineinstances/${encodeURIComponent(name)}`,
    );
    return [value];
  }
  const { value } = await c.call<{ items: VmiMetrics[] }>('GET', `${BASE}${ns}/virtualmachineinstances`);
  return value.items;
}

export async function runTop(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      'all-namespaces': { type: 'boolean', short: 'A' },
      watch: { type: 'boolean', short: 'w' },
      interval: { type: 'string', default: '5' },
      output: { type: 'string', short: 'o', default: 'table' },
    },
  });
  const [noun, name] = positionals;
  if (noun === undefined || !['vm', 'vms', 'vmi', 'vmis', 'virtualmachineinstances'].includes(noun))
    throw new UsageError('top needs a noun: `hikube top vm [NAME]`');
  if (values.output !== 'table' && values.output !== 'json')
    throw new UsageError(`unknown output format ${JSON.stringify(values.output)}: use table|json`);
  const c = loadClient(values);
  const all = values['all-namespaces'] === true && name === undefined;
  const namespace = all ? undefined : (values.namespace ?? c.namespace);
  const intervalMs = Number(values.interval) * 1000;
  if (!(intervalMs > 0)) throw new UsageError('--interval must be a positive number of seconds');
  for (;;) {
    const items = await fetchUsage(c, namespace, name);
    if (values.output === 'json') process.stdout.write(`${JSON.stringify({ items }, null, 2)}\n`);
    else {
      if (values.watch === true && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
      if (items.length === 0)
        process.stderr.write(
          `No running VMs${namespace !== undefined ? ` in ${namespace} namespace` : ''}.\n`,
        );
      else process.stdout.write(`${renderTopTable(items, all)}\n`);
    }
    if (values.watch !== true) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
