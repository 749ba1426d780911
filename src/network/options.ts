/**
 * Node networking settings: where cluster IPs, node ports and load balancer addresses live (all on
 * loopback by default, so nothing the platform opens is reachable from another host), whether
 * guests get outbound NAT, and whether secondary networks may create bridges.
 */
import { parseCidr, parseIpv4, formatIpv4 } from '../api/network/cni.js';
import { DEFAULT_SERVICE_CIDR } from '../api/admission.js';

export interface NetworkOptions {
  /** Load balancer addresses, tried in order: IPv4 addresses or CIDRs. Default $HIKUBE_LB_POOL or 127.0.0.1. */
  loadBalancerPool?: string[];
  /** Cluster IPs are taken from here. Default 127.16.0.0/16 (loopback: every address answers locally). */
  serviceCidr?: string;
  /** Where NodePort services listen. Default 127.0.0.1. */
  nodeAddress?: string;
  /** Guests on the default network reach the outside through NAT (QEMU restrict=off). Default true. */
  outbound?: boolean;
  /** Secondary networks may create namespaces, bridges and taps. Default true (needs root). */
  bridges?: boolean;
  /**
   * The default network: `pod` (routed pod network, needs root) or `user` (QEMU user networking).
   * Default $HIKUBE_NETWORK, else `user`; `hikube up` picks `pod` when it can run.
   */
  mode?: NetworkMode;
  /** Pod IPs are taken from here. Default $HIKUBE_POD_CIDR or 10.244.0.0/16. */
  podCidr?: string;
}

export type NetworkMode = 'pod' | 'user';
export const DEFAULT_POD_CIDR = '10.244.0.0/16';

export interface ResolvedNetworkOptions {
  loadBalancerPool: string[];
  serviceRange: { first: number; last: number };
  nodeAddress: string;
  outbound: boolean;
  bridges: boolean;
  mode: NetworkMode;
  podCidr: { network: number; prefix: number };
}

const MAX_POOL = 1024;

/** Expands the pool (CIDRs to their host addresses, at most 1024 in all) and checks every value. */
export function resolveNetworkOptions(o: NetworkOptions = {}, env = process.env): ResolvedNetworkOptions {
  const poolText = o.loadBalancerPool ?? (env['HIKUBE_LB_POOL'] ?? '127.0.0.1').split(',');
  const pool: string[] = [];
  for (const raw of poolText.map((p) => p.trim()).filter((p) => p !== '')) {
    if (raw.includes('/')) {
      const cidr = parseCidr(raw);
      if (cidr === undefined)
        throw new Error(`load balancer pool: ${JSON.stringify(raw)} is not an IPv4 CIDR`);
      const size = 2 ** (32 - cidr.prefix);
      for (let n = cidr.network + 1; n < cidr.network + size - 1 && pool.length < MAX_POOL; n++)
        pool.push(formatIpv4(n));
    } else if (parseIpv4(raw) !== undefined) pool.push(raw);
    else throw new Error(`load balancer pool: ${JSON.stringify(raw)} is not an IPv4 address`);
  }
  if (pool.length === 0) throw new Error('load balancer pool is empty');
  if (pool.includes('0.0.0.0'))
    throw new Error('load balancer pool: 0.0.0.0 would listen on every interface; name addresses');
  if (o.nodeAddress !== undefined && parseIpv4(o.nodeAddress) === 0)
    throw new Error('node address: 0.0.0.0 would listen on every interface; name an address');
  const cidr = parseCidr(o.serviceCidr ?? DEFAULT_SERVICE_CIDR);
  if (cidr === undefined)
    throw new Error(`service CIDR ${JSON.stringify(o.serviceCidr)} is not an IPv4 CIDR`);
  const size = 2 ** (32 - cidr.prefix);
  const mode = o.mode ?? env['HIKUBE_NETWORK'] ?? 'user';
  if (mode !== 'pod' && mode !== 'user')
    throw new Error(`network ${JSON.stringify(mode)} is not "pod" or "user"`);
  const podText = o.podCidr ?? env['HIKUBE_POD_CIDR'] ?? DEFAULT_POD_CIDR;
  const podCidr = parseCidr(podText);
  if (podCidr === undefined || podCidr.prefix > 24)
    throw new Error(`pod CIDR ${JSON.stringify(podText)} is not an IPv4 CIDR of at least /24`);
  return {
    loadBalancerPool: pool,
    serviceRange: { first: cidr.network + 1, last: cidr.network + size - 2 },
    nodeAddress: o.nodeAddress ?? '127.0.0.1',
    outbound: o.outbound ?? env['HIKUBE_GUEST_OUTBOUND'] !== '0',
    bridges: o.bridges ?? true,
    mode,
    podCidr,
  };
}
