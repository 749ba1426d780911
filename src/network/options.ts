/**
 * Node networking settings: where cluster IPs, node ports and load balancer addresses live (all on
 * loopback by default, so nothing the platform opens is reachable from another host), whether
 * guests get outbound NAT, and whether secondary networks may create bridges.
 */
import { parseCidr, parseIpv4, formatIpv4 } from '../api/network/cni.js';
import { DEFAULT_SERVICE_CIDR } from '../api/admission.js';

/**
 * Which default network guests get: `pod` (a routed pod network, Services in nftables, cluster
 * DNS) or `user` (QEMU user networking, Services in the user-space proxy on loopback addresses).
 */
export type NetworkMode = 'pod' | 'user';

/** Cluster IPs of the pod network: routable, so guests reach them (kube-apiserver's usual range). */
export const POD_MODE_SERVICE_CIDR = '10.96.0.0/16';

/** The cluster DNS address of a service CIDR: its 10th address (10.96.0.10), never a Service's. */
export function clusterDnsIp(serviceCidr: string): string {
  const cidr = parseCidr(serviceCidr);
  if (cidr === undefined) throw new Error(`service CIDR ${JSON.stringify(serviceCidr)} is not an IPv4 CIDR`);
  return formatIpv4(cidr.network + 10);
}

/** The default network: the one given, else $HIKUBE_NETWORK, else `user`. */
export function networkModeOf(o: NetworkOptions = {}, env = process.env): NetworkMode {
  const mode = o.mode ?? env['HIKUBE_NETWORK'] ?? 'user';
  if (mode !== 'pod' && mode !== 'user')
    throw new Error(`network ${JSON.stringify(mode)} is not "pod" or "user"`);
  return mode;
}

/** The service CIDR: the one given, else $HIKUBE_SERVICE_CIDR, else the network mode's default. */
export function serviceCidrOf(o: NetworkOptions = {}, env = process.env): string {
  const given = o.serviceCidr ?? env['HIKUBE_SERVICE_CIDR'];
  if (given !== undefined && given !== '') return given;
  return networkModeOf(o, env) === 'pod' ? POD_MODE_SERVICE_CIDR : DEFAULT_SERVICE_CIDR;
}

export interface NetworkOptions {
  /** Load balancer addresses, tried in order: IPv4 addresses or CIDRs. Default $HIKUBE_LB_POOL or 127.0.0.1. */
  loadBalancerPool?: string[];
  /**
   * Cluster IPs are taken from here. Default $HIKUBE_SERVICE_CIDR, else 10.96.0.0/16 on the pod
   * network and 127.16.0.0/16 on user networking (loopback: every address answers locally).
   */
  serviceCidr?: string;
  /** Cluster DNS's upstream, `HOST[:PORT]` (default $HIKUBE_DNS_UPSTREAM, else /etc/resolv.conf). */
  dnsUpstream?: string;
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

export const DEFAULT_POD_CIDR = '10.244.0.0/16';

export interface ResolvedNetworkOptions {
  serviceCidr: string;
  /** Where cluster DNS answers (the pod network's; reserved from the service range). */
  clusterDnsIp: string;
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
  const serviceCidr = serviceCidrOf(o, env);
  const cidr = parseCidr(serviceCidr);
  if (cidr === undefined) throw new Error(`service CIDR ${JSON.stringify(serviceCidr)} is not an IPv4 CIDR`);
  if (cidr.prefix > 28) throw new Error(`service CIDR ${serviceCidr} is too small (at most /28)`);
  const size = 2 ** (32 - cidr.prefix);
  const mode = networkModeOf(o, env);
  const podText = o.podCidr ?? env['HIKUBE_POD_CIDR'] ?? DEFAULT_POD_CIDR;
  const podCidr = parseCidr(podText);
  if (podCidr === undefined || podCidr.prefix > 24)
    throw new Error(`pod CIDR ${JSON.stringify(podText)} is not an IPv4 CIDR of at least /24`);
  return {
    serviceCidr,
    clusterDnsIp: formatIpv4(cidr.network + 10),
    loadBalancerPool: pool,
    serviceRange: { first: cidr.network + 1, last: cidr.network + size - 2 },
    nodeAddress: o.nodeAddress ?? '127.0.0.1',
    outbound: o.outbound ?? env['HIKUBE_GUEST_OUTBOUND'] !== '0',
    bridges: o.bridges ?? true,
    mode,
    podCidr,
  };
}
