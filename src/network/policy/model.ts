/**
 * NetworkPolicy semantics, as Kubernetes defines them, computed over plain data: which pods (VMIs
 * with a pod IP) are isolated for ingress and egress, and for each one the union of what its
 * policies allow, with selectors already resolved to pod IPs and named ports to numbers. The
 * nftables ruleset (render.ts) is a direct rendering of this model, and `permits` states what it
 * means, so the semantics are tested here without a kernel.
 */
import { formatCidr, lastOf, parseAnyCidr, type Cidr } from '../../api/network/cidr.js';
import type {
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PolicyProtocol,
} from '../../api/network/networkpolicy.js';
import { labelSelectorFromObject, type LabelSelectorObject } from '../../api/selectors.js';

/** A VMI on the pod network, as policies see it. */
export interface PolicyPod {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** The pod IP (IPv4). */
  ip: string;
  /** The named ports of its pod interface (KubeVirt's `interfaces[].ports`). */
  ports: readonly { name: string; port: number; protocol: PolicyProtocol }[];
}

export interface PolicyNamespace {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** The label the API server puts on every namespace (and which policies select namespaces by). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** An address block minus some blocks inside it (IPv4 only: pods have IPv4 addresses). */
export interface Block {
  cidr: string;
  except: string[];
}

/** Who a rule lets through: everyone, or these pod IPs and blocks. */
export type Peers = { any: true } | { any: false; ips: string[]; blocks: Block[] };

/** A protocol with a port range; no range means every port of the protocol. */
export interface PortRange {
  protocol: PolicyProtocol;
  range?: { from: number; to: number };
}

/** One allowance: traffic from/to `peers` on `ports` (every port and protocol when 'any'). */
export interface Allow {
  peers: Peers;
  ports: PortRange[] | 'any';
}

export interface PodVerdict {
  ip: string;
  /** Absent: no policy isolates the pod for ingress, everything may reach it. */
  ingress?: Allow[];
  /** Absent: no policy isolates the pod for egress. */
  egress?: Allow[];
}

/** Admission refuses bad selectors; one that slipped into the store anyway selects nothing. */
function selects(
  selector: LabelSelectorObject | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  try {
    return labelSelectorFromObject(selector ?? {}).matches(labels);
  } catch {
    return false;
  }
}

/** Namespace labels with the name label the API server guarantees. */
function namespaceLabels(namespaces: readonly PolicyNamespace[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const ns of namespaces) out.set(ns.name, { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name });
  return out;
}

interface World {
  pods: readonly PolicyPod[];
  nsLabels: Map<string, Record<string, string>>;
}

/** The pods a selector peer picks, seen from a policy in `namespace`. */
function peerPods(peer: NetworkPolicyPeer, namespace: string, world: World): PolicyPod[] {
  return world.pods.filter((pod) => {
    if (peer.namespaceSelector === undefined) {
      if (pod.namespace !== namespace) return false;
    } else {
      const labels = world.nsLabels.get(pod.namespace) ?? { [NAMESPACE_NAME_LABEL]: pod.namespace };
      if (!selects(peer.namespaceSelector, labels)) return false;
    }
    return selects(peer.podSelector, pod.labels);
  });
}

/**
 * An IPv4 ipBlock in canonical form (host bits cleared), without `except` blocks that lie inside
 * another one: nftables refuses overlapping intervals in one set.
 */
function blockOf(peer: NetworkPolicyPeer): Block | undefined {
  const cidr = peer.ipBlock === undefined ? undefined : parseAnyCidr(peer.ipBlock.cidr);
  if (cidr?.family !== 4) return undefined;
  const except = (peer.ipBlock?.except ?? []).flatMap((e) => {
    const c = parseAnyCidr(e);
    return c?.family === 4 ? [c] : [];
  });
  const outermost = except.filter(
    (c, i) =>
      !except.some(
        (other, j) =>
          j !== i &&
          other.network <= c.network &&
          lastOf(other) >= lastOf(c) &&
          (other.prefix < c.prefix || j < i),
      ),
  );
  return { cidr: formatCidr(cidr), except: [...new Set(outermost.map(formatCidr))].sort() };
}

/** Numeric ports of a rule, and its named ports resolved on `pod` (those it lacks drop out). */
function portsOn(ports: readonly NetworkPolicyPort[], pod: PolicyPod | undefined): PortRange[] {
  const out: PortRange[] = [];
  for (const p of ports) {
    const protocol = p.protocol ?? 'TCP';
    if (p.port === undefined) out.push({ protocol });
    else if (typeof p.port === 'number')
      out.push({ protocol, range: { from: p.port, to: p.endPort ?? p.port } });
    else {
      const named = pod?.ports.find((n) => n.name === p.port && n.protocol === protocol);
      if (named !== undefined) out.push({ protocol, range: { from: named.port, to: named.port } });
    }
  }
  return out;
}

const hasNamedPort = (ports: readonly NetworkPolicyPort[]): boolean =>
  ports.some((p) => typeof p.port === 'string');

/**
 * The allowances of one rule for `self` (the selected pod). `peersOf` lists the rule's peers
 * (`from` or `to`); named ports resolve on `self` for ingress and on each peer pod for egress.
 */
function ruleAllows(
  peers: readonly NetworkPolicyPeer[] | undefined,
  ports: readonly NetworkPolicyPort[] | undefined,
  namespace: string,
  self: PolicyPod,
  direction: 'ingress' | 'egress',
  world: World,
): Allow[] {
  const list = ports ?? [];
  const anyPeer = peers === undefined || peers.length === 0;
  const pods = anyPeer
    ? []
    : [...new Set(peers.flatMap((p) => (p.ipBlock ? [] : peerPods(p, namespace, world))))];
  const blocks = anyPeer ? [] : peers.flatMap((p) => blockOf(p) ?? []);
  if (list.length === 0)
    return [{ peers: anyPeer ? { any: true } : { any: false, ips: ips(pods), blocks }, ports: 'any' }];
  if (direction === 'ingress' || !hasNamedPort(list)) {
    const resolved = portsOn(list, direction === 'ingress' ? self : undefined);
    if (resolved.length === 0) return [];
    return [{ peers: anyPeer ? { any: true } : { any: false, ips: ips(pods), blocks }, ports: resolved }];
  }
  // Egress with named ports: a name means a port of the destination pod, so each pod gets its own.
  const out: Allow[] = [];
  const numeric = portsOn(
    list.filter((p) => typeof p.port !== 'string'),
    undefined,
  );
  if (numeric.length > 0)
    out.push({ peers: anyPeer ? { any: true } : { any: false, ips: ips(pods), blocks }, ports: numeric });
  const named = list.filter((p) => typeof p.port === 'string');
  for (const pod of anyPeer ? world.pods : pods) {
    const resolved = portsOn(named, pod);
    if (resolved.length > 0) out.push({ peers: { any: false, ips: [pod.ip], blocks: [] }, ports: resolved });
  }
  return out;
}

const ips = (pods: readonly PolicyPod[]): string[] => [...new Set(pods.map((p) => p.ip))].sort();

/**
 * Every pod's verdicts. A pod is isolated in a direction when a policy of its namespace selects
 * it and lists that direction in policyTypes; what it may then send or receive is the union of
 * the rules of all such policies (no rules: nothing).
 */
export function computeVerdicts(
  policies: readonly NetworkPolicy[],
  pods: readonly PolicyPod[],
  namespaces: readonly PolicyNamespace[],
): PodVerdict[] {
  const world: World = { pods, nsLabels: namespaceLabels(namespaces) };
  const out: PodVerdict[] = [];
  const seen = new Set<string>();
  for (const pod of [...pods].sort((a, b) => compareIp(a.ip, b.ip))) {
    // One verdict per address (the caller resolves double claims; the first one here wins).
    if (seen.has(pod.ip)) continue;
    seen.add(pod.ip);
    const verdict: PodVerdict = { ip: pod.ip };
    for (const policy of policies) {
      const namespace = policy.metadata.namespace ?? 'default';
      const spec = policy.spec ?? {};
      if (namespace !== pod.namespace || !selects(spec.podSelector, pod.labels)) continue;
      const types =
        spec.policyTypes ?? ((spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress']);
      if (types.includes('Ingress')) {
        const allows = (verdict.ingress ??= []);
        for (const rule of spec.ingress ?? [])
          allows.push(...ruleAllows(rule.from, rule.ports, namespace, pod, 'ingress', world));
      }
      if (types.includes('Egress')) {
        const allows = (verdict.egress ??= []);
        for (const rule of spec.egress ?? [])
          allows.push(...ruleAllows(rule.to, rule.ports, namespace, pod, 'egress', world));
      }
    }
    if (verdict.ingress !== undefined || verdict.egress !== undefined) out.push(verdict);
  }
  return out;
}

function compareIp(a: string, b: string): number {
  const n = (ip: string) => parseAnyCidr(`${ip}/32`)?.network ?? 0n;
  return n(a) < n(b) ? -1 : n(a) > n(b) ? 1 : 0;
}

/** A packet as the forward hook sees it (a new connection). */
export interface Packet {
  src: string;
  dst: string;
  protocol: PolicyProtocol | 'ICMP';
  port?: number;
}

function inCidr(ip: string, text: string): boolean {
  const block: Cidr | undefined = parseAnyCidr(text);
  const addr = parseAnyCidr(`${ip}/32`);
  if (block === undefined || addr === undefined || block.family !== addr.family) return false;
  return addr.network >= block.network && addr.network <= lastOf(block);
}

function peerMatches(peers: Peers, ip: string): boolean {
  if (peers.any) return true;
  if (peers.ips.includes(ip)) return true;
  return peers.blocks.some((b) => inCidr(ip, b.cidr) && !b.except.some((e) => inCidr(ip, e)));
}

function portMatches(ports: Allow['ports'], packet: Packet): boolean {
  if (ports === 'any') return true;
  return ports.some(
    (p) =>
      p.protocol === packet.protocol &&
      (p.range === undefined ||
        (packet.port !== undefined && packet.port >= p.range.from && packet.port <= p.range.to)),
  );
}

/**
 * Whether a new connection passes, as the rendered ruleset decides: the node's own addresses and a
 * pod reaching itself always pass; otherwise the destination's ingress and the source's egress
 * allowances must both let it through.
 */
export function permits(
  verdicts: readonly PodVerdict[],
  nodeAddresses: readonly string[],
  packet: Packet,
): boolean {
  if (packet.src === packet.dst) return true;
  const to = verdicts.find((v) => v.ip === packet.dst);
  const from = verdicts.find((v) => v.ip === packet.src);
  const inOk =
    to?.ingress === undefined ||
    nodeAddresses.includes(packet.src) ||
    to.ingress.some((a) => peerMatches(a.peers, packet.src) && portMatches(a.ports, packet));
  const outOk =
    from?.egress === undefined ||
    nodeAddresses.includes(packet.dst) ||
    from.egress.some((a) => peerMatches(a.peers, packet.dst) && portMatches(a.ports, packet));
  return inOk && outOk;
}
