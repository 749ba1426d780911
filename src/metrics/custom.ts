/**
 * Custom metrics: a VM whose template carries the annotation `hikube.io/metrics-port` (and
 * optionally `hikube.io/metrics-path`, default /metrics) serves Prometheus text inside the guest.
 * The node agent reaches it over the VM's default network: with QEMU user networking, through a
 * host forward on a free loopback port (QMP hostfwd_add, as port-forward does), added once and
 * reused. The samples come back under their own names, with the VM's labels added on exposure.
 */
import { request } from 'node:http';
import { ensureHostForward } from '../network/forwards.js';
import { parseText, validLabelName, validMetricName, type ParsedSample } from './exposition.js';
import type { Qmp } from './qemu.js';
import type { Series } from './sample.js';

export const METRICS_PORT_ANNOTATION = 'hikube.io/metrics-port';
export const METRICS_PATH_ANNOTATION = 'hikube.io/metrics-path';
/** At most this many series per VM, and this many bytes per scrape: the guest is untrusted. */
export const MAX_CUSTOM_SERIES = 1000;
export const MAX_SCRAPE_BYTES = 1 << 20;
/** Labels the platform sets on every VM series; a guest's own are kept as `exported_<name>`. */
const RESERVED = new Set(['name', 'namespace', 'node']);

export interface CustomTarget {
  port: number;
  path: string;
}

export function customTarget(
  annotations: Readonly<Record<string, string>> | undefined,
): CustomTarget | undefined {
  const port = Number(annotations?.[METRICS_PORT_ANNOTATION]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const raw = annotations?.[METRICS_PATH_ANNOTATION] ?? '/metrics';
  return { port, path: raw.startsWith('/') ? raw : `/${raw}` };
}

/** Parsed samples as series: counters (and histogram/summary counts) keep counter semantics. */
export function customSeries(samples: readonly ParsedSample[]): Series[] {
  const out: Series[] = [];
  for (const s of samples) {
    if (out.length >= MAX_CUSTOM_SERIES) break;
    if (!validMetricName(s.name) || s.name.startsWith('kubevirt_')) continue;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.labels)) {
      if (!validLabelName(k)) continue;
      labels[RESERVED.has(k) ? `exported_${k}` : k] = v;
    }
    const counting =
      s.type === 'counter' ||
      ((s.type === 'histogram' || s.type === 'summary') && /_(bucket|count|sum)$/.test(s.name));
    const family = familyName(s);
    out.push({
      name: s.name,
      type: counting ? 'counter' : 'gauge',
      labels,
      value: s.value,
      family: { name: family, type: s.type, help: s.help ?? `Custom metric ${family} served by the guest.` },
    });
  }
  return out;
}

function familyName(s: ParsedSample): string {
  if (s.type === 'histogram' || s.type === 'summary') return s.name.replace(/_(bucket|count|sum)$/, '');
  return s.name;
}

/** The host port forwarding to `guestPort` on the VM's default network, added if missing. */
export function hostPortFor(qmp: Qmp, netdev: string, guestPort: number): Promise<number> {
  return ensureHostForward(qmp, netdev, 'tcp', guestPort);
}

/** GETs the guest's metrics; rejects on timeout, a non-200 answer or a body over the limit. */
export function scrape(
  hostPort: number,
  path: string,
  timeoutMs = 2000,
  host = '127.0.0.1',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: hostPort, path, timeout: timeoutMs, headers: { Accept: 'text/plain' } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`the guest answered HTTP ${res.statusCode ?? 0} on ${path}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_SCRAPE_BYTES) {
            req.destroy(new Error(`the guest's metrics exceed ${MAX_SCRAPE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`the guest did not answer on ${path} within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

export async function collectCustom(
  qmp: Qmp,
  nic: { netdev: string; podIp?: string },
  target: CustomTarget,
  state: { hostPort?: number },
): Promise<Series[]> {
  // On the routed pod network the guest's port is reached at its pod IP, without a host forward.
  if (nic.podIp !== undefined)
    return customSeries(parseText(await scrape(target.port, target.path, 2000, nic.podIp)));
  state.hostPort ??= await hostPortFor(qmp, nic.netdev, target.port);
  try {
    return customSeries(parseText(await scrape(state.hostPort, target.path)));
  } catch (err) {
    // The forward may be gone (QEMU restarted under the same runtime): find it again next round.
    delete state.hostPort;
    throw err;
  }
}
