/**
 * `hikube metrics NAME`: a VM's history from the node's embedded time-series store, as a table
 * (one row per step, one column per series) or the API's JSON (`-o json`). Without `--metric`,
 * CPU, resident memory, network and disk rates.
 */
import { parseArgs } from 'node:util';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { formatBytes } from './top.js';

interface SeriesList {
  step: string;
  metrics?: string[];
  series: {
    metric: string;
    type: 'counter' | 'gauge';
    labels: Record<string, string>;
    points: [number, number][];
  }[];
}

export const DEFAULT_METRICS = [
  'kubevirt_vmi_cpu_usage_seconds_total',
  'kubevirt_vmi_memory_resident_bytes',
  'kubevirt_vmi_network_receive_bytes_total',
  'kubevirt_vmi_network_transmit_bytes_total',
  'kubevirt_vmi_storage_read_traffic_bytes_total',
  'kubevirt_vmi_storage_write_traffic_bytes_total',
];

function columnName(s: SeriesList['series'][number], fn: string | undefined): string {
  const short = s.metric.replace(/^kubevirt_vmi_/, '');
  const labels = Object.entries(s.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const how = fn ?? (s.type === 'counter' ? 'rate' : '');
  return `${how === '' ? short : `${how}(${short})`}${labels === '' ? '' : `{${labels}}`}`;
}

function formatValue(s: SeriesList['series'][number], v: number, fn: string | undefined): string {
  const rate = (fn ?? (s.type === 'counter' ? 'rate' : '')) === 'rate';
  if (s.metric === 'kubevirt_vmi_cpu_usage_seconds_total' && rate) return `${(v * 100).toFixed(1)}%`;
  if (s.metric.includes('bytes')) return formatBytes(v, rate ? '/s' : '');
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

export function renderSeriesTable(list: SeriesList, fn: string | undefined): string {
  const series = list.series.filter((s) => s.points.length > 0);
  const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const header = ['TIME', ...series.map((s) => columnName(s, fn))];
  const rows = times.map((t) => [
    new Date(t * 1000).toISOString().replace('.000Z', 'Z'),
    ...series.map((s) => {
      const p = s.points.find(([pt]) => pt === t);
      return p === undefined ? '-' : formatValue(s, p[1], fn);
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd((widths[i] ?? 0) + 3))).join(''))
    .join('\n');
}

export async function runMetrics(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      metric: { type: 'string', short: 'm', multiple: true },
      since: { type: 'string', default: '1h' },
      start: { type: 'string' },
      end: { type: 'string' },
      step: { type: 'string' },
      fn: { type: 'string' },
      label: { type: 'string', short: 'l', multiple: true },
      output: { type: 'string', short: 'o', default: 'table' },
    },
  });
  const [name] = positionals;
  if (name === undefined)
    throw new UsageError('metrics needs a VM name, e.g. `hikube metrics dev-vm --since 1h`');
  if (values.output !== 'table' && values.output !== 'json')
    throw new UsageError(`unknown output format ${JSON.stringify(values.output)}: use table|json`);
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  const q = new URLSearchParams();
  for (const m of values.metric ?? DEFAULT_METRICS) q.append('metric', m);
  for (const l of values.label ?? []) q.append('label', l);
  q.set('since', values.since);
  for (const k of ['start', 'end', 'step', 'fn'] as const) {
    const v = values[k];
    if (v !== undefined) q.set(k, v);
  }
  const path = `/apis/metrics.hikube.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(name)}/series?${q.toString()}`;
  const { value } = await c.call<SeriesList>('GET', path);
  if (values.output === 'json') {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  if (value.series.every((s) => s.points.length === 0)) {
    process.stderr.write(`No history for ${name} in ${namespace} over that range.\n`);
    return;
  }
  process.stdout.write(`${renderSeriesTable(value, values.fn)}\n`);
}
