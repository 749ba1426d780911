/**
 * One collection of one VM: a flat list of series (KubeVirt's metric names, the labels proper to
 * the series such as `drive` or `interface`, and a value). The VM's identity labels (name,
 * namespace, node) are added when the series are exposed, so history is kept per VM by name.
 */
import type { Labels, MetricType } from './exposition.js';

export type SeriesType = 'counter' | 'gauge';

export interface Series {
  name: string;
  type: SeriesType;
  labels: Labels;
  value: number;
  /** For custom metrics: the family the sample belongs to as the guest declared it, and its help. */
  family?: { name: string; type: MetricType; help: string };
}

export interface VmSample {
  namespace: string;
  name: string;
  uid: string;
  /** Milliseconds since the epoch. */
  t: number;
  series: Series[];
}

/** The identity of a series within its VM: `name{a="x",b="y"}`, labels sorted. */
export function seriesKey(name: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/** The inverse of seriesKey. */
export function parseSeriesKey(key: string): { name: string; labels: Record<string, string> } {
  const brace = key.indexOf('{');
  if (brace < 0) return { name: key, labels: {} };
  const labels: Record<string, string> = {};
  const body = key.slice(brace + 1, -1);
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body))
    labels[m[1] ?? ''] = JSON.parse(m[2] ?? '""') as string;
  return { name: key.slice(0, brace), labels };
}
