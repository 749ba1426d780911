/**
 * The metrics HTTP routes, served on the API server's address and behind its authentication:
 * - `GET /metrics`: Prometheus text (KubeVirt's VM metrics, custom guest metrics, control plane);
 * - `GET /apis/metrics.hikube.io/v1alpha1/[namespaces/NS/]virtualmachineinstances[/NAME]`: the
 *   current usage of running VMs (what `hikube top` prints), like metrics.k8s.io for pods;
 * - `GET …/namespaces/NS/virtualmachineinstances/NAME/series?metric=M&start=…&end=…&step=…`: a
 *   VM's history (what `hikube metrics` and the console's charts read).
 */
import type { ExtraRoute } from '../apiserver/server.js';
import { ApiError } from '../apiserver/errors.js';
import { sendJson, type ApiResponse } from '../apiserver/http.js';
import type { Fn } from './aggregate.js';
import type { Collector } from './collector.js';
import { CONTENT_TYPE, renderText } from './exposition.js';
import { formatDuration, parseDuration, parseInstant } from './time.js';
import type { MetricsStore } from './tsdb.js';

export const METRICS_GROUP = 'metrics.hikube.io';
export const METRICS_VERSION = 'v1alpha1';
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;
const BASE = `/apis/${METRICS_GROUP}/${METRICS_VERSION}`;
/** A query answers at most this many points per series; a finer step is refused. */
export const MAX_POINTS = 11_000;
const FNS: readonly Fn[] = ['avg', 'min', 'max', 'last', 'rate', 'increase'];

export function metricsRoutes(
  collector: Collector,
  store: MetricsStore | undefined,
  now = Date.now,
): ExtraRoute[] {
  return [
    {
      path: '/metrics',
      handle: (_req, res) => {
        const body = renderText(collector.families());
        res.writeHead(200, {
          'Content-Type': CONTENT_TYPE,
          'Content-Length': String(Buffer.byteLength(body)),
        });
        res.end(body);
      },
    },
    {
      path: new RegExp(`^${BASE}(?:/namespaces/([^/]+))?/virtualmachineinstances$`),
      handle: (_req, res, _url, m) => {
        const namespace = m[1] === '' || m[1] === undefined ? undefined : decodeURIComponent(m[1]);
        sendJson(res, 200, {
          apiVersion: API_VERSION,
          kind: 'VirtualMachineInstanceMetricsList',
          metadata: {},
          items: collector.summaries(namespace).map(summaryObject),
        });
      },
    },
    {
      path: new RegExp(`^${BASE}/namespaces/([^/]+)/virtualmachineinstances/([^/]+)$`),
      handle: (_req, res, _url, m) => {
        const [namespace, name] = [decodeURIComponent(m[1] ?? ''), decodeURIComponent(m[2] ?? '')];
        const found = collector.summaries(namespace).find((s) => s.name === name);
        if (found === undefined)
          throw new ApiError(
            'NotFound',
            `virtualmachineinstancemetrics.${METRICS_GROUP} ${JSON.stringify(name)} not found: the VMI is not running, or was not collected yet`,
          );
        sendJson(res, 200, summaryObject(found));
      },
    },
    {
      path: new RegExp(`^${BASE}/namespaces/([^/]+)/virtualmachineinstances/([^/]+)/series$`),
      handle: (_req, res, url, m) => {
        if (store === undefined)
          throw new ApiError('NotFound', 'metrics history is turned off on this server');
        seriesQuery(
          res,
          url,
          store,
          collector.intervalMs,
          decodeURIComponent(m[1] ?? ''),
          decodeURIComponent(m[2] ?? ''),
          now(),
        );
      },
    },
  ];
}

function summaryObject(s: ReturnType<Collector['summaries']>[number]): Record<string, unknown> {
  const { namespace, name, timestamp, windowSeconds, ...usage } = s;
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineInstanceMetrics',
    metadata: { name, namespace },
    timestamp,
    window: `${Math.round(windowSeconds * 1000) / 1000}s`,
    usage,
  };
}

function seriesQuery(
  res: ApiResponse,
  url: URL,
  store: MetricsStore,
  intervalMs: number,
  namespace: string,
  name: string,
  now: number,
): void {
  const q = url.searchParams;
  const bad = (message: string): never => {
    throw new ApiError('BadRequest', message);
  };
  const instant = (key: string, fallback: number): number => {
    const v = q.get(key);
    if (v === null || v === '') return fallback;
    return (
      parseInstant(v, now) ??
      bad(`${key}: not a time (unix seconds, RFC 3339 or now-DURATION): ${JSON.stringify(v)}`)
    );
  };
  const end = instant('end', now);
  const since = q.get('since');
  const sinceMs =
    since === null
      ? 3_600_000
      : (parseDuration(since) ?? bad(`since: not a duration: ${JSON.stringify(since)}`));
  const start = instant('start', end - sinceMs);
  if (end <= start) bad('end must be after start');
  const stepText = q.get('step');
  let step: number;
  if (stepText === null || stepText === '') {
    // About 300 points, in whole collection intervals.
    step = Math.max(intervalMs, Math.ceil((end - start) / 300 / intervalMs) * intervalMs);
    if (step > store.resolutionMs) step = Math.ceil(step / store.resolutionMs) * store.resolutionMs;
  } else step = parseDuration(stepText) ?? bad(`step: not a duration: ${JSON.stringify(stepText)}`);
  if (step <= 0) bad('step must be positive');
  if ((end - start) / step > MAX_POINTS)
    bad(`the range holds more than ${MAX_POINTS} steps of ${formatDuration(step)}: use a larger step`);
  const fnText = q.get('fn');
  if (fnText !== null && !FNS.includes(fnText as Fn)) bad(`fn: one of ${FNS.join(', ')}`);
  const labels: Record<string, string> = {};
  for (const l of q.getAll('label')) {
    const eq = l.indexOf('=');
    if (eq <= 0) bad(`label: NAME=VALUE, not ${JSON.stringify(l)}`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const metrics = q
    .getAll('metric')
    .flatMap((m) => m.split(','))
    .filter((m) => m !== '');
  const alignedStart = Math.floor(start / step) * step;
  const series = store.query(
    {
      namespace,
      name,
      metrics,
      startMs: alignedStart,
      endMs: end,
      stepMs: step,
      labels,
      ...(fnText !== null ? { fn: fnText as Fn } : {}),
    },
    now,
  );
  sendJson(res, 200, {
    apiVersion: API_VERSION,
    kind: 'SeriesList',
    metadata: { name, namespace },
    start: new Date(alignedStart).toISOString(),
    end: new Date(end).toISOString(),
    step: formatDuration(step),
    ...(metrics.length === 0 ? { metrics: store.metricNames(namespace, name) } : {}),
    series,
  });
}
