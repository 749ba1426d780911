/**
 * Where the platform may connect when a user gives it a URL (DataVolume http and registry imports,
 * containerDisk pulls, and any other fetch of a user's address). Without this rule an API token is
 * a way into the host's loopback services and the private networks around it, and the importer's
 * errors a port scanner. Every outbound fetch goes through here, and the check is made on the
 * address actually connected to: names are resolved once by `lookup` below and the socket connects
 * to what it returned, so a name cannot resolve to a public address for a check and a private one
 * for the connection (DNS rebinding); IP literals, which Node connects to without a lookup, are
 * checked before the request. Redirects are new requests and pass the same check.
 *
 * Refused unless an admin allows private targets (`hikube up --allow-private-targets`): loopback,
 * private (RFC 1918, IPv6 unique-local), shared (CGNAT 100.64/10), link-local, "this network"
 * (0/8, ::), multicast, and every reserved or documentation range; IPv4 addresses embedded in IPv6
 * (mapped, compatible, NAT64, 6to4) are judged as the IPv4 address they carry.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { envFlag } from '../api/admission.js';

export interface OutboundPolicy {
  /** Loopback, private and link-local targets are allowed (a registry mirror on loopback, the test suite). */
  allowPrivateTargets: boolean;
  /** How addresses are classed (default classifyAddress); a test maps a loopback address to 'public' to stand for the internet. */
  classify?: (address: string) => AddressClass;
}

/** Only public unicast addresses are ever allowed by default. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'multicast'
  | 'documentation'
  | 'reserved';

/** The policy of `hikube up`: $HIKUBE_ALLOW_PRIVATE_TARGETS=1 (or true) allows private targets. */
export function outboundPolicyFromEnv(env = process.env): OutboundPolicy {
  return { allowPrivateTargets: envFlag('HIKUBE_ALLOW_PRIVATE_TARGETS', env) };
}

/** A connection the policy refuses; its message never says whether anything listens there. */
export class TargetNotAllowed extends Error {
  readonly code = 'ETARGETNOTALLOWED';
  constructor(
    readonly address: string,
    readonly addressClass: AddressClass,
  ) {
    super(
      `target not allowed: ${address} is a ${addressClass} address (an admin may allow private targets with hikube up --allow-private-targets)`,
    );
  }
}

type Range = readonly [bytes: readonly number[], prefix: number, cls: AddressClass];

const V4_RANGES: readonly Range[] = [
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'shared'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 88, 99, 0], 24, 'reserved'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'reserved'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

const V6_RANGES: readonly Range[] = [
  [[0x01, 0x00], 64, 'reserved'], // discard-only 100::/64
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'documentation'],
  [[0x20, 0x01, 0x00, 0x00], 32, 'reserved'], // Teredo: tunnels to where the server says
  [[0x20, 0x01, 0x00, 0x10], 28, 'reserved'], // ORCHID
  [[0x3f, 0xff], 20, 'documentation'],
  [[0xfc], 7, 'private'], // unique local
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'private'], // site local (deprecated)
  [[0xff], 8, 'multicast'],
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'private'], // local-use NAT64
];

function inRange(bytes: readonly number[], [base, prefix]: Range): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if (((bytes[bit >> 3] ?? 0) & mask) !== ((base[bit >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyV4(bytes: readonly number[]): AddressClass {
  return V4_RANGES.find((r) => inRange(bytes, r))?.[2] ?? 'public';
}

/** 16 bytes of an IPv6 address (with or without a zone, with or without a dotted IPv4 tail). */
function ipv6Bytes(text: string): number[] {
  let s = text.replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)?.[1];
  if (tail !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    s = `${s.slice(0, -tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const groups = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const left = groups(head);
  const right = groups(rest);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The class of an IP address (IPv4 dotted or IPv6 text); anything that is not an IP is 'reserved'. */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 4) return classifyV4(address.split('.').map(Number));
  if (family !== 6) return 'reserved';
  const b = ipv6Bytes(address);
  const zero = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 16)) return 'unspecified';
  if (zero(0, 15) && b[15] === 1) return 'loopback';
  // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d carry an IPv4 address.
  if (zero(0, 10) && ((b[10] === 0xff && b[11] === 0xff) || (b[10] === 0 && b[11] === 0)))
    return classifyV4(b.slice(12));
  // NAT64 64:ff9b::a.b.c.d reaches the IPv4 address it carries.
  if (inRange(b, [[0x00, 0x64, 0xff, 0x9b], 96, 'public'])) return classifyV4(b.slice(12));
  // 6to4 2002:AABB:CCDD::/48 reaches the IPv4 relay AA.BB.CC.DD.
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4(b.slice(2, 6));
  const listed = V6_RANGES.find((r) => inRange(b, r))?.[2];
  if (listed !== undefined) return listed;
  // Global unicast is 2000::/3; everything else is unassigned.
  return (b[0] ?? 0) >> 5 === 1 ? 'public' : 'reserved';
}

/** @throws TargetNotAllowed when the policy refuses `address`. */
export function checkTarget(policy: OutboundPolicy, address: string): void {
  const cls = (policy.classify ?? classifyAddress)(address);
  if (cls === 'public' || (policy.allowPrivateTargets && cls !== 'reserved' && cls !== 'documentation'))
    return;
  throw new TargetNotAllowed(address, cls);
}

/** How a name resolves to all its addresses: `dns.lookup` with `all: true` (a port, so tests answer without DNS). */
export type LookupAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** A `lookup` for net/http/https that resolves once and refuses the name if any address is refused. */
export function guardedLookup(policy: OutboundPolicy, lookupAll: LookupAll = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    const all: LookupAllOptions = { ...options, all: true };
    lookupAll(hostname, all, (err, addresses) => {
      if (err !== null) return callback(err, '', 4);
      try {
        if (addresses.length === 0) throw new TargetNotAllowed(hostname, 'reserved');
        for (const a of addresses) checkTarget(policy, a.address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 4);
      }
      if (options.all === true) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * What a request to `url` needs to obey the policy: an IP literal is checked now (Node connects to
 * it without a lookup), a name gets the guarded lookup.
 * @throws TargetNotAllowed for a refused IP literal.
 */
export function outboundRequestOptions(policy: OutboundPolicy, url: URL): { lookup: LookupFunction } {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) checkTarget(policy, host);
  return { lookup: guardedLookup(policy) };
}
