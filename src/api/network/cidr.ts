/**
 * CIDRs of either family as numbers, for NetworkPolicy's ipBlock: validation needs "is `except`
 * a strict subset of `cidr`" for IPv4 and IPv6 alike, and the policy compiler needs the ranges
 * themselves. cni.ts keeps its narrower IPv4 parser for segment IPAM.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** The first address of the block (host bits cleared). */
  network: bigint;
  prefix: number;
}

const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

function ipv4ToBigint(text: string): bigint {
  return text.split('.').reduce((acc, part) => acc * 256n + BigInt(Number(part)), 0n);
}

function ipv6ToBigint(text: string): bigint {
  let body = text;
  let tail: bigint[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (v4?.[1] !== undefined) {
    const n = ipv4ToBigint(v4[1]);
    tail = [n >> 16n, n & 0xffffn];
    body = body.slice(0, -v4[1].length) + '0:0';
  }
  const [head = '', rest] = body.split('::');
  const words = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = words(head);
  const right = rest === undefined ? [] : words(rest);
  const missing = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right];
  let n = all.reduce((acc, w) => acc * 65536n + BigInt(parseInt(w, 16)), 0n);
  if (tail.length === 2) n = ((n >> 32n) << 32n) | ((tail[0] ?? 0n) << 16n) | (tail[1] ?? 0n);
  return n;
}

/** Parses `10.0.0.0/8` or `2001:db8::/32`; host bits may be set (Kubernetes accepts them). */
export function parseAnyCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const length = text.slice(slash + 1);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family === undefined || !/^\d{1,3}$/.test(length)) return undefined;
  const prefix = Number(length);
  const bits = bitsOf(family);
  if (prefix > bits) return undefined;
  const value = family === 4 ? ipv4ToBigint(address) : ipv6ToBigint(address);
  const hostBits = BigInt(bits - prefix);
  return { family, network: (value >> hostBits) << hostBits, prefix };
}

/** The last address of the block. */
export function lastOf(c: Cidr): bigint {
  return c.network + (1n << BigInt(bitsOf(c.family) - c.prefix)) - 1n;
}

/** `inner` lies inside `outer` and is smaller than it. */
export function isStrictSubset(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.family === outer.family &&
    inner.prefix > outer.prefix &&
    inner.network >= outer.network &&
    lastOf(inner) <= lastOf(outer)
  );
}

/** The canonical text of the block: `10.1.0.0/16`. */
export function formatCidr(c: Cidr): string {
  if (c.family === 4) {
    const n = c.network;
    const parts = [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n));
    return `${parts.join('.')}/${c.prefix}`;
  }
  const words = [];
  for (let i = 7; i >= 0; i--) words.push(((c.network >> BigInt(i * 16)) & 0xffffn).toString(16));
  return `${words.join(':')}/${c.prefix}`;
}
