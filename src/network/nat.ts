/**
 * The kernel side of whole-address load balancers (Cozystack's `networking.cozystack.io/wholeIP`):
 * an nftables NAT rule sends every TCP port of the address to the one port the proxy listens on,
 * and conntrack tells the proxy which port the client asked for. One table per data dir
 * (`hikube_<hash>`), replaced whole on each change, so two platforms on one host never share rules.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface WholeIpRedirect {
  /** The load balancer address; every TCP connection to it… */
  address: string;
  /** …goes to this port of the same address, where the proxy listens… */
  port: number;
  /** …and every UDP datagram to this one. */
  udpPort: number;
}

export type NatProtocol = 'tcp' | 'udp';

/** The port at the side-effect boundary: rules in, original destinations out. */
export interface NatTool {
  /** Makes the redirects exactly these (an empty list removes the table). */
  apply(redirects: WholeIpRedirect[]): Promise<void>;
  /** The port a redirected connection or datagram (client address and port → address:port) was sent to. */
  originalPort(
    protocol: NatProtocol,
    client: string,
    clientPort: number,
    address: string,
    port: number,
  ): Promise<number | undefined>;
}

export const natTableName = (dataDir: string): string =>
  `hikube_${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;

/** The nft script replacing the table with these redirects (output hook: clients on this host). */
export function renderRuleset(table: string, redirects: WholeIpRedirect[]): string {
  const lines = [`table ip ${table}`, `delete table ip ${table}`];
  if (redirects.length === 0) return `${lines.join('\n')}\n`;
  const rules = redirects.flatMap((r) => [
    `    ip daddr ${r.address} tcp dport != ${r.port} dnat to ${r.address}:${r.port}`,
    `    ip daddr ${r.address} udp dport != ${r.udpPort} dnat to ${r.address}:${r.udpPort}`,
  ]);
  lines.push(
    `table ip ${table} {`,
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    ...rules,
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority -100; policy accept;',
    ...rules,
    '  }',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The original destination port of a NATed connection, from a /proc/net/nf_conntrack listing: the
 * entry whose original tuple starts at the client and whose reply comes from address:port.
 */
export function findOriginalPort(
  table: string,
  protocol: NatProtocol,
  client: string,
  clientPort: number,
  address: string,
  port: number,
): number | undefined {
  for (const line of table.split('\n')) {
    if (!line.includes(` ${protocol} `)) continue;
    const tuples = [...line.matchAll(/src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/g)];
    const [orig, reply] = tuples;
    if (orig === undefined || reply === undefined) continue;
    if (orig[1] !== client || Number(orig[3]) !== clientPort) continue;
    if (reply[1] !== address || Number(reply[3]) !== port) continue;
    return Number(orig[4]);
  }
  return undefined;
}

const CONNTRACK = '/proc/net/nf_conntrack';

export function linuxNat(table: string): NatTool {
  return {
    apply: (redirects) =>
      new Promise((resolve, reject) => {
        const child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('error', reject);
        child.once('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`nft failed (${code ?? 'signal'}): ${stderr.trim()}`)),
        );
        child.stdin.end(renderRuleset(table, redirects));
      }),
    async originalPort(protocol, client, clientPort, address, port) {
      const listing = await readFile(CONNTRACK, 'utf8');
      return findOriginalPort(listing, protocol, client, clientPort, address, port);
    },
  };
}
