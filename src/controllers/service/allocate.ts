/**
 * Addresses and ports of services, chosen the way kube-apiserver chooses them: a cluster IP from
 * the service range and node ports from 30000-32767, each at a pseudo-random place (from the
 * service's uid, so two platforms on one host rarely pick the same) then the next free one; a load
 * balancer address from the pool, preferring one where none of the service's ports is in use.
 */
import { createHash } from 'node:crypto';
import { formatIpv4, parseIpv4 } from '../../api/network/cni.js';
import { NODE_PORT_RANGE, type Service } from '../../api/core/service.js';

const seed = (text: string): number => createHash('sha256').update(text).digest().readUInt32BE(0);

export function allocateClusterIp(
  uid: string,
  range: { first: number; last: number },
  taken: ReadonlySet<string>,
): string {
  const size = range.last - range.first + 1;
  const start = seed(uid) % size;
  for (let i = 0; i < size; i++) {
    const ip = formatIpv4(range.first + ((start + i) % size));
    if (!taken.has(ip)) return ip;
  }
  throw new Error('the service IP range is full');
}

export function allocateNodePort(uid: string, index: number, taken: ReadonlySet<number>): number {
  const size = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
  const start = seed(`${uid}/${index}`) % size;
  for (let i = 0; i < size; i++) {
    const port = NODE_PORT_RANGE.min + ((start + i) % size);
    if (!taken.has(port)) return port;
  }
  throw new Error('no node port left in 30000-32767');
}

/** Ports (`port/PROTOCOL`) each pool address already serves for other load balancers. */
export function usedLoadBalancerPorts(services: Service[], except: string): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  for (const s of services) {
    if (s.metadata.uid === except || s.spec?.type !== 'LoadBalancer') continue;
    for (const ing of s.status?.loadBalancer?.ingress ?? []) {
      if (ing.ip === undefined) continue;
      const set = used.get(ing.ip) ?? new Set<string>();
      for (const p of s.spec.ports ?? []) set.add(`${p.port}/${p.protocol ?? 'TCP'}`);
      if (isWholeIp(s)) set.add(WHOLE);
      used.set(ing.ip, set);
    }
  }
  return used;
}

/**
 * The address of a load balancer: its current one when it still is in the pool, the requested
 * spec.loadBalancerIP, else the first pool address where its ports are free, else the first.
 * undefined when it asks for an address outside the pool.
 */
export function pickLoadBalancerAddress(
  svc: Service,
  pool: string[],
  used: Map<string, Set<string>>,
): string | undefined {
  const requested = svc.spec?.loadBalancerIP;
  const whole = isWholeIp(svc);
  // A whole address is the service's alone, and never the node's own (its NAT takes every port).
  const fits = (ip: string): boolean =>
    whole ? (used.get(ip)?.size ?? 0) === 0 && !reserved.has(ip) : !(used.get(ip)?.has(WHOLE) ?? false);
  if (requested !== undefined && requested !== '')
    return pool.includes(requested) && fits(requested) ? requested : undefined;
  const current = svc.status?.loadBalancer?.ingress?.[0]?.ip;
  if (current !== undefined && pool.includes(current) && fits(current)) return current;
  const ports = (svc.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
  const free = pool.find((ip) => fits(ip) && ports.every((p) => !(used.get(ip)?.has(p) ?? false)));
  return free ?? (whole ? undefined : pool.find(fits));
}

/** Cozystack's annotation: every port of the load balancer address goes to the VM. */
export const WHOLE_IP_ANNOTATION = 'networking.cozystack.io/wholeIP';
const WHOLE = '*';
export const isWholeIp = (svc: Service): boolean =>
  svc.spec?.type === 'LoadBalancer' && svc.metadata.annotations?.[WHOLE_IP_ANNOTATION] === 'true';
/** Addresses a whole-address load balancer may never take: the host's own loopback. */
const reserved = new Set(['127.0.0.1']);

export const isIpv4 = (text: string): boolean => parseIpv4(text) !== undefined;
