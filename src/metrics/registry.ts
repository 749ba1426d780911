/**
 * A tiny registry of the control plane's own metrics (counters, gauges, histograms with labels),
 * rendered into `/metrics` next to the VM metrics. Any component may import `controlPlane` and
 * count what it does; `observeApiRequest` is the API server's hook (ApiServerOptions.observe).
 */
import { queryBool } from '../apiserver/query.js';
import type { ApiRequest } from '../apiserver/http.js';
import type { Family, Labels, Sample } from './exposition.js';

const keyOf = (names: readonly string[], labels: Labels): string =>
  names.map((n) => labels[n] ?? '').join('\u0000');

abstract class Metric {
  protected readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected entry(labels: Labels): { labels: Labels; value: number } {
    const key = keyOf(this.labelNames, labels);
    let e = this.series.get(key);
    if (e === undefined) {
      const own: Record<string, string> = {};
      for (const n of this.labelNames) own[n] = labels[n] ?? '';
      e = { labels: own, value: 0 };
      this.series.set(key, e);
    }
    return e;
  }

  abstract collect(): Family;
}

export class Counter extends Metric {
  inc(labels: Labels = {}, by = 1): void {
    if (by >= 0) this.entry(labels).value += by;
  }

  collect(): Family {
    return { name: this.name, help: this.help, type: 'counter', samples: [...this.series.values()] };
  }
}

export class Gauge extends Metric {
  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }

  collect(): Family {
    return { name: this.name, help: this.help, type: 'gauge', samples: [...this.series.values()] };
  }
}

export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    readonly labelNames: readonly string[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = keyOf(this.labelNames, labels);
    let e = this.series.get(key);
    if (e === undefined) {
      const own: Record<string, string> = {};
      for (const n of this.labelNames) own[n] = labels[n] ?? '';
      e = { labels: own, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, e);
    }
    for (let i = 0; i < this.buckets.length; i++)
      if (value <= (this.buckets[i] ?? 0)) e.counts[i] = (e.counts[i] ?? 0) + 1;
    e.sum += value;
    e.count++;
  }

  collect(): Family {
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      samples: histogramSamples(this.name, this.buckets, this.series.values()),
    };
  }
}

/** Cumulative `_bucket` samples (with `+Inf`), then `_sum` and `_count`, per label set. */
export function histogramSamples(
  name: string,
  buckets: readonly number[],
  series: Iterable<{ labels: Labels; counts: readonly number[]; sum: number; count: number }>,
): Sample[] {
  const out: Sample[] = [];
  for (const s of series) {
    buckets.forEach((le, i) =>
      out.push({ name: `${name}_bucket`, labels: { ...s.labels, le: String(le) }, value: s.counts[i] ?? 0 }),
    );
    out.push({ name: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
    out.push({ name: `${name}_sum`, labels: s.labels, value: s.sum });
    out.push({ name: `${name}_count`, labels: s.labels, value: s.count });
  }
  return out;
}

export class MetricsRegistry {
  private readonly metrics: { collect(): Family }[] = [];
  private readonly collectors = new Set<() => Family[]>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly string[] = [],
  ): Histogram {
    return this.add(new Histogram(name, help, buckets, labelNames));
  }

  /** Families computed at scrape time (e.g. a queue's current depth); returns the unregister function. */
  register(collect: () => Family[]): () => void {
    this.collectors.add(collect);
    return () => this.collectors.delete(collect);
  }

  collect(): Family[] {
    const out = this.metrics.map((m) => m.collect());
    for (const c of this.collectors) out.push(...c());
    return out;
  }

  private add<M extends { collect(): Family }>(m: M): M {
    this.metrics.push(m);
    return m;
  }
}

/** The process-wide registry of the control plane's metrics. */
export const controlPlane = new MetricsRegistry();

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const REQUEST_LABELS = ['verb', 'group', 'resource', 'subresource', 'code'] as const;

export const apiRequestDuration = controlPlane.histogram(
  'apiserver_request_duration_seconds',
  'Response latency distribution in seconds for each verb, group, resource, subresource and HTTP code (watches and streams are counted in apiserver_longrunning_requests_total).',
  LATENCY_BUCKETS,
  REQUEST_LABELS,
);
export const apiRequests = controlPlane.counter(
  'apiserver_request_total',
  'Counter of API server requests by verb, group, resource, subresource and HTTP response code.',
  REQUEST_LABELS,
);
export const apiLongRunning = controlPlane.counter(
  'apiserver_longrunning_requests_total',
  'Finished long-running requests (watches, console, VNC and port-forward streams) by verb, group and resource.',
  ['verb', 'group', 'resource', 'subresource'],
);
export const workqueueDepth = controlPlane.gauge(
  'workqueue_depth',
  'Current depth of a controller work queue.',
  ['name'],
);
export const reconcileErrors = controlPlane.counter(
  'controller_runtime_reconcile_errors_total',
  'Total number of reconciliation errors per controller.',
  ['controller'],
);

/** What a request is, in Kubernetes' terms: verb (get, list, watch, create…), group, resource, subresource. */
export function classifyRequest(
  method: string,
  path: string,
  query: URLSearchParams,
): { verb: string; group: string; resource: string; subresource: string; longRunning: boolean } {
  const parts = path.split('/').filter((p) => p !== '');
  let rest: string[];
  let group = '';
  if (parts[0] === 'api') rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    const verb = method.toLowerCase();
    return { verb, group: '', resource: '', subresource: '', longRunning: false };
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource = '', name, subresource = ''] = rest;
  const watch = queryBool(query, 'watch');
  const streaming = ['console', 'vnc', 'portforward'].includes(subresource);
  let verb: string;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = watch ? 'watch' : name === undefined ? 'list' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      verb = method.toLowerCase();
  }
  return { verb, group, resource, subresource, longRunning: watch || streaming };
}

/** The API server's `observe` hook: one request finished. */
export function observeApiRequest(req: ApiRequest, code: number, seconds: number): void {
  const url = new URL(req.url ?? '/', 'https://localhost');
  const c = classifyRequest(req.method ?? 'GET', url.pathname, url.searchParams);
  const labels = { verb: c.verb, group: c.group, resource: c.resource, subresource: c.subresource };
  if (c.longRunning) {
    apiLongRunning.inc(labels);
    return;
  }
  const withCode = { ...labels, code: String(code) };
  apiRequests.inc(withCode);
  apiRequestDuration.observe(withCode, seconds);
}
