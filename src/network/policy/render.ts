/**
 * Renders the policy model (model.ts) as one nftables script replacing table `inet PREFIX_policy`
 * whole (nft -f applies a script atomically): a filter chain on the forward hook, where all pod
 * traffic passes in the routed pod network, sends each isolated pod's new connections to a chain
 * of its own; an allowed packet returns, anything else is dropped. Established and related
 * packets pass first, so replies of allowed connections always get through.
 */
import type { Allow, Peers, PodVerdict, PortRange } from './model.js';

export interface RenderOptions {
  /** `PREFIX_policy`: one table per data dir. */
  table: string;
  /** The node's addresses on the pod network (the gateway): always allowed both ways. */
  nodeAddresses: readonly string[];
}

const chainName = (direction: 'in' | 'out', ip: string): string => `${direction}_${ip.replaceAll('.', '_')}`;

const set = (items: readonly string[]): string =>
  items.length === 1 ? (items[0] ?? '') : `{ ${items.join(', ')} }`;

/** `meta l4proto tcp th dport { 80, 8000-8100 }` per protocol, or '' for every port and protocol. */
function portMatches(ports: Allow['ports']): string[] {
  if (ports === 'any') return [''];
  const byProtocol = new Map<string, PortRange[]>();
  for (const p of ports) byProtocol.set(p.protocol, [...(byProtocol.get(p.protocol) ?? []), p]);
  const out: string[] = [];
  for (const [protocol, ranges] of byProtocol) {
    const proto = `meta l4proto ${protocol.toLowerCase()}`;
    if (ranges.some((r) => r.range === undefined)) {
      out.push(proto);
      continue;
    }
    const items = [
      ...new Set(
        ranges.map((r) =>
          r.range && r.range.from !== r.range.to ? `${r.range.from}-${r.range.to}` : `${r.range?.from ?? 0}`,
        ),
      ),
    ];
    out.push(`${proto} th dport ${set(items)}`);
  }
  return out;
}

/** Address matches of the peers in `field` (saddr for ingress, daddr for egress). */
function peerMatches(peers: Peers, field: 'saddr' | 'daddr'): string[] {
  if (peers.any) return [''];
  const out: string[] = [];
  if (peers.ips.length > 0) out.push(`ip ${field} ${set(peers.ips)}`);
  for (const block of peers.blocks) {
    const except = block.except.length > 0 ? ` ip ${field} != ${set(block.except)}` : '';
    out.push(`ip ${field} ${block.cidr}${except}`);
  }
  return out;
}

function allowRules(allows: readonly Allow[], field: 'saddr' | 'daddr'): string[] {
  const rules: string[] = [];
  for (const allow of allows)
    for (const peer of peerMatches(allow.peers, field))
      for (const port of portMatches(allow.ports))
        rules.push([peer, port, 'return'].filter((s) => s !== '').join(' '));
  return [...new Set(rules)];
}

function podChain(direction: 'in' | 'out', ip: string, allows: readonly Allow[], o: RenderOptions): string[] {
  const field = direction === 'in' ? 'saddr' : 'daddr';
  const always = [
    // A pod reaching itself (through a Service, hairpinned) is never blocked, as in Kubernetes.
    `ip ${field} ${ip} return`,
    ...(o.nodeAddresses.length > 0 ? [`ip ${field} ${set(o.nodeAddresses)} return`] : []),
  ];
  return [
    `  chain ${chainName(direction, ip)} {`,
    ...[...always, ...allowRules(allows, field), 'drop'].map((r) => `    ${r}`),
    '  }',
  ];
}

/** The whole script; with no isolated pod it only removes the table. */
export function renderPolicyRuleset(verdicts: readonly PodVerdict[], o: RenderOptions): string {
  const lines = [`table inet ${o.table}`, `delete table inet ${o.table}`];
  if (verdicts.length === 0) return `${lines.join('\n')}\n`;
  const ingress = verdicts.filter((v) => v.ingress !== undefined);
  const egress = verdicts.filter((v) => v.egress !== undefined);
  const vmap = (field: string, list: readonly PodVerdict[], direction: 'in' | 'out') =>
    list.length === 0
      ? []
      : [
          `    ip ${field} vmap { ${list.map((v) => `${v.ip} : jump ${chainName(direction, v.ip)}`).join(', ')} }`,
        ];
  lines.push(
    `table inet ${o.table} {`,
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    '    ct state established,related accept',
    ...vmap('daddr', ingress, 'in'),
    ...vmap('saddr', egress, 'out'),
    '  }',
    ...ingress.flatMap((v) => podChain('in', v.ip, v.ingress ?? [], o)),
    ...egress.flatMap((v) => podChain('out', v.ip, v.egress ?? [], o)),
    '}',
  );
  return `${lines.join('\n')}\n`;
}
