/**
 * Refuses, before the pod network starts, address ranges that would hijack or shadow traffic the
 * host already routes: a pod CIDR and a service CIDR that overlap each other, either of them
 * overlapping a route the host already has (a LAN, a VPN, Docker's bridge…) other than this
 * platform's own, and a second platform on this host whose pod CIDR overlaps ours. The last is a
 * marker file per platform in a host-wide directory (`/run/hikube/pod-cidrs`, gone at reboot like
 * the routes it protects), naming its data dir, its CIDR and its process; a marker whose process is
 * gone is stale and taken over. Each refusal says what collides with what, and which flag changes it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseCidr } from '../../api/network/cni.js';
import { resolveNetworkOptions, type NetworkOptions } from '../options.js';
import { cidrText } from './ipam.js';

export const POD_CIDR_MARKERS = '/run/hikube/pod-cidrs';

export interface HostRoute {
  dst: string;
  dev: string;
}

const overlap = (a: string, b: string): boolean => {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (x === undefined || y === undefined) return false;
  const prefix = Math.min(x.prefix, y.prefix);
  const mask = prefix === 0 ? 0 : (2 ** 32 - 2 ** (32 - prefix)) >>> 0;
  return (x.network & mask) >>> 0 === (y.network & mask) >>> 0;
};

/**
 * Why these ranges cannot be used on this host (empty: they can). `ours` tells this platform's own
 * links (its prefix), whose routes a restart finds in place; a default route overlaps everything
 * and is left out.
 */
export function cidrConflicts(o: {
  podCidr: string;
  serviceCidr: string;
  routes: readonly HostRoute[];
  ours: (dev: string) => boolean;
}): string[] {
  const out: string[] = [];
  if (overlap(o.podCidr, o.serviceCidr))
    out.push(
      `the pod CIDR ${o.podCidr} and the service CIDR ${o.serviceCidr} overlap: choose ranges apart (--pod-cidr, --service-cidr)`,
    );
  for (const r of o.routes) {
    if (r.dst === 'default' || r.dst === '0.0.0.0/0' || o.ours(r.dev)) continue;
    // The route the Service table adds for host connections to cluster IPs (a restart finds it).
    if (r.dev === 'lo' && r.dst === o.serviceCidr) continue;
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    for (const [what, cidr, flag] of [
      ['pod', o.podCidr, '--pod-cidr'],
      ['service', o.serviceCidr, '--service-cidr'],
    ] as const)
      if (overlap(dst, cidr))
        out.push(
          `the ${what} CIDR ${cidr} overlaps the host's route to ${r.dst} (dev ${r.dev}): choose another range (${flag})`,
        );
  }
  return out;
}

/** The host's IPv4 routes of the main table (`ip -j -4 route show`), in `netns` when given (tests). */
export function readHostRoutes(netns?: string): Promise<HostRoute[]> {
  const args = [...(netns !== undefined ? ['-n', netns] : []), '-j', '-4', 'route', 'show'];
  return new Promise((resolve, reject) =>
    execFile('ip', args, { timeout: 10_000 }, (err, stdout) => {
      if (err !== null) {
        reject(new Error(`reading the host's routes: ${err.message}`));
        return;
      }
      const routes = JSON.parse(stdout || '[]') as { dst?: string; dev?: string }[];
      resolve(routes.map((r) => ({ dst: r.dst ?? '', dev: r.dev ?? '' })));
    }),
  );
}

interface Marker {
  dataDir: string;
  podCidr: string;
  pid: number;
}

const alivePid = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether a platform other than `dataDir` holds a pod CIDR marker and its process runs. */
export function otherPodPlatformsAlive(
  dataDir: string,
  dir = POD_CIDR_MARKERS,
  alive: (pid: number) => boolean = alivePid,
): boolean {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  return names.some((name) => {
    try {
      const m = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Marker;
      return m.dataDir !== dataDir && alive(m.pid);
    } catch {
      return false;
    }
  });
}

/**
 * Claims `podCidr` for `dataDir` in `dir`; throws naming the other platform when a live one holds
 * an overlapping pod CIDR. Returns the release (a clean stop removes the marker).
 */
export function claimPodCidr(
  podCidr: string,
  dataDir: string,
  dir = POD_CIDR_MARKERS,
  pid = process.pid,
  alive: (pid: number) => boolean = alivePid,
): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const name of readdirSync(dir)) {
    let m: Marker;
    try {
      m = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Marker;
    } catch {
      continue; // half-written by a crash: not a claim
    }
    if (m.dataDir === dataDir || !alive(m.pid)) continue;
    if (overlap(m.podCidr, podCidr))
      throw new Error(
        `the pod CIDR ${podCidr} overlaps ${m.podCidr} of another hikube on this host (data dir ${m.dataDir}, pid ${m.pid}): choose another range (--pod-cidr)`,
      );
  }
  const file = join(dir, `${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.json`);
  const marker: Marker = { dataDir, podCidr, pid };
  writeFileSync(file, `${JSON.stringify(marker)}\n`, { mode: 0o644 });
  return () => rmSync(file, { force: true });
}

/**
 * The platform prefix (`hk` + 6 hex digits of its data dir's hash) of a pod network link: its
 * gateway `PREFIXgw` or a pod's host-side veth `PREFIXv` + 6 hex (src/network/pod/pod.ts).
 */
export const platformPrefixOf = (dev: string): string | undefined =>
  /^(hk[0-9a-f]{6})(?:gw|v[0-9a-f]{6})$/.exec(dev)?.[1];

/** The link prefixes of the platforms that hold a marker and whose process runs. */
export function livePlatformPrefixes(
  dir = POD_CIDR_MARKERS,
  alive: (pid: number) => boolean = alivePid,
): Set<string> {
  const out = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      const m = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Marker;
      if (alive(m.pid)) out.add(prefixOf(m.dataDir));
    } catch {
      // half-written by a crash: not a claim
    }
  }
  return out;
}

const prefixOf = (dataDir: string): string =>
  `hk${createHash('sha256').update(dataDir).digest('hex').slice(0, 6)}`;

/**
 * Deletes a link a dead platform left (its process is gone, so is what routed through it): a
 * crashed run whose data dir is gone would otherwise hold its pod CIDR on this host for ever.
 */
function removeLink(dev: string): Promise<void> {
  return new Promise((resolve) =>
    execFile('ip', ['link', 'del', dev], { timeout: 10_000 }, (err) => {
      if (err === null)
        process.stderr.write(`hikube: removed ${dev}, left by a platform that is no longer running\n`);
      resolve();
    }),
  );
}

/**
 * Checks the ranges against the host and claims the pod CIDR; throws one error listing every
 * conflict. Returns the release of the claim.
 */
export async function guardPodCidrs(o: {
  podCidr: string;
  serviceCidr: string;
  dataDir: string;
  /** This platform's link name prefix (its own routes are not conflicts). */
  prefix: string;
  routes?: () => Promise<HostRoute[]>;
  markers?: string;
  /** Deletes a dead platform's link (tests pass a fake). */
  removeLink?: (dev: string) => Promise<void>;
}): Promise<() => void> {
  const live = livePlatformPrefixes(o.markers);
  const routes: HostRoute[] = [];
  for (const r of await (o.routes ?? readHostRoutes)()) {
    const owner = platformPrefixOf(r.dev);
    if (owner === undefined || owner === o.prefix) routes.push(r);
    else if (live.has(owner))
      continue; // a live platform's: its marker is checked below
    else await (o.removeLink ?? removeLink)(r.dev); // a dead platform's leftover
  }
  const conflicts = cidrConflicts({
    podCidr: o.podCidr,
    serviceCidr: o.serviceCidr,
    routes,
    ours: (dev) => dev.startsWith(o.prefix),
  });
  if (conflicts.length > 0)
    throw new Error(`refusing to start the pod network:\n  ${conflicts.join('\n  ')}`);
  return claimPodCidr(o.podCidr, o.dataDir, o.markers);
}

/** The platform's start-up check: nothing to do on user networking. */
export async function guardPodNetwork(dataDir: string, network: NetworkOptions = {}): Promise<() => void> {
  const o = resolveNetworkOptions(network);
  if (o.mode !== 'pod') return () => undefined;
  return guardPodCidrs({
    podCidr: cidrText(o.podCidr),
    serviceCidr: o.serviceCidr,
    dataDir,
    prefix: prefixOf(dataDir),
  });
}
