/**
 * What the VM charts show, kept pure: the time ranges offered, which history series each chart
 * reads (KubeVirt's metric names, as `hikube metrics` prints them), and how a SeriesList from the
 * history API (src/metrics/routes.ts) becomes chart columns: per line, the sum over the series'
 * labels (every drive, every interface) at each step.
 */

export interface SeriesList {
  /** RFC 3339: the range the answer covers, what the charts' time axis spans. */
  start: string;
  end: string;
  step: string;
  series: {
    metric: string;
    type: 'counter' | 'gauge';
    labels: Record<string, string>;
    /** [unix seconds, value]; counters come as a per-second rate. */
    points: [number, number][];
  }[];
}

export const RANGES = [
  { id: '15m', label: 'Last 15 minutes' },
  { id: '1h', label: 'Last hour' },
  { id: '6h', label: 'Last 6 hours' },
  { id: '24h', label: 'Last 24 hours' },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];

export type Unit = 'cpu' | 'bytes' | 'bytesPerSecond';

export interface ChartSpec {
  id: string;
  title: string;
  unit: Unit;
  lines: { label: string; metric: string; color: string }[];
}

// PatternFly's chart palette (blue 300, orange 300): distinct for the common colour blindnesses.
const BLUE = '#0066cc';
const ORANGE = '#ec7a08';

export const CHARTS: readonly ChartSpec[] = [
  {
    id: 'cpu',
    title: 'CPU',
    unit: 'cpu',
    lines: [{ label: 'CPU', metric: 'kubevirt_vmi_cpu_usage_seconds_total', color: BLUE }],
  },
  {
    id: 'memory',
    title: 'Memory',
    unit: 'bytes',
    lines: [{ label: 'Resident', metric: 'kubevirt_vmi_memory_resident_bytes', color: BLUE }],
  },
  {
    id: 'network',
    title: 'Network',
    unit: 'bytesPerSecond',
    lines: [
      { label: 'Received', metric: 'kubevirt_vmi_network_receive_bytes_total', color: BLUE },
      { label: 'Sent', metric: 'kubevirt_vmi_network_transmit_bytes_total', color: ORANGE },
    ],
  },
  {
    id: 'disk',
    title: 'Disk',
    unit: 'bytesPerSecond',
    lines: [
      { label: 'Read', metric: 'kubevirt_vmi_storage_read_traffic_bytes_total', color: BLUE },
      { label: 'Written', metric: 'kubevirt_vmi_storage_write_traffic_bytes_total', color: ORANGE },
    ],
  },
];

export const ALL_METRICS = [...new Set(CHARTS.flatMap((c) => c.lines.map((l) => l.metric)))];

/** uPlot's column layout: the times, then one column per line (null where a line has no point). */
export type Columns = [number[], ...(number | null)[][]];

export function columnsOf(list: SeriesList, chart: ChartSpec): Columns {
  const sums = chart.lines.map((line) => {
    const byTime = new Map<number, number>();
    for (const s of list.series)
      if (s.metric === line.metric)
        for (const [t, v] of s.points) if (Number.isFinite(v)) byTime.set(t, (byTime.get(t) ?? 0) + v);
    return byTime;
  });
  const times = [...new Set(sums.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return [times, ...sums.map((m) => times.map((t) => m.get(t) ?? null))];
}

/** How many points the chart draws (non-null values over all lines). */
export const pointsOf = (columns: Columns): number =>
  columns.slice(1).reduce((n, col) => n + (col as (number | null)[]).filter((v) => v !== null).length, 0);

/** The last non-null value of each line. */
export const latestOf = (columns: Columns): (number | undefined)[] =>
  columns.slice(1).map((col) => (col as (number | null)[]).findLast((v) => v !== null) ?? undefined);

/** The least the value axis spans, so an idle VM's flat line does not fill the chart with noise. */
export const MIN_SPAN: Record<Unit, number> = { cpu: 0.05, bytes: 1024 * 1024, bytesPerSecond: 1024 };

/**
 * The time axis of a SeriesList, in unix seconds: the range asked for, starting no earlier than
 * the VM's creation (there is no history before it), so a new VM's chart is not a sliver.
 */
export function timeSpanOf(list: SeriesList, createdAt: string | undefined): [number, number] {
  const created = createdAt === undefined ? NaN : Date.parse(createdAt);
  const start = Math.max(Date.parse(list.start), Number.isNaN(created) ? -Infinity : created);
  return [start / 1000, Date.parse(list.end) / 1000];
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${BYTE_UNITS[i] ?? ''}`;
}

/** A value as the chart's axis and summary print it: CPU as a share of one vCPU. */
export function formatValue(unit: Unit, v: number): string {
  switch (unit) {
    case 'cpu':
      return `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;
    case 'bytes':
      return formatBytes(v);
    case 'bytesPerSecond':
      return `${formatBytes(v)}/s`;
  }
}
