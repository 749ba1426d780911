/**
 * UDP has no connection to end, so conntrack keeps a client's DNAT to a backend for as long as the
 * client keeps sending (a DNS client on a fixed port, a game, a syslog sender): a backend that left
 * a Service would go on receiving, or the client would talk to nothing, until the entry times out.
 * kube-proxy deletes those entries when a backend leaves; so do we: after a new table is in place,
 * the UDP flows from each frontend to each backend that is no longer behind it are deleted with
 * Debian's `conntrack` tool (conntrack-tools). TCP is left alone, as kube-proxy leaves it: a
 * connection to a backend that is gone fails and the client opens a new one.
 */
import type { KernelService, ServiceRuleset } from './ruleset.js';

/** One frontend → backend pairing whose conntrack entries must go. */
export interface UdpFlow {
  frontend: { address: string; port: number };
  backend: { ip: string; port: number };
}

const pairs = (services: readonly KernelService[]): Map<string, UdpFlow> => {
  const out = new Map<string, UdpFlow>();
  for (const s of services)
    for (const p of s.ports) {
      if (p.protocol !== 'udp') continue;
      for (const f of p.frontends)
        for (const b of p.backends)
          out.set(`${f.address}:${f.port}>${b.ip}:${b.port}`, {
            frontend: { address: f.address, port: f.port },
            backend: { ip: b.ip, port: b.port },
          });
    }
  return out;
};

/** The UDP frontend → backend pairs of `before` that `after` no longer has. */
export function goneUdpFlows(before: ServiceRuleset | undefined, after: ServiceRuleset): UdpFlow[] {
  if (before === undefined) return [];
  const now = pairs(after.services);
  return [...pairs(before.services)].filter(([k]) => !now.has(k)).map(([, flow]) => flow);
}

/** `conntrack` arguments deleting the entries of one flow: original destination, and reply source (the backend after DNAT). */
export const conntrackDeleteArgs = (f: UdpFlow): string[] => [
  '-D',
  '-p',
  'udp',
  '--orig-dst',
  f.frontend.address,
  '--orig-port-dst',
  String(f.frontend.port),
  '--reply-src',
  f.backend.ip,
  '--reply-port-src',
  String(f.backend.port),
];

/** conntrack exits 1 when nothing matched: that is not a failure here. */
export const nothingMatched = (stderr: string): boolean => /\b0 flow entries have been deleted/.test(stderr);
