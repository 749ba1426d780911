/**
 * The part of a CNI configuration (the JSON in a NetworkAttachmentDefinition's spec.config) this
 * platform acts on: the plugin type, the bridge name, and host-local style IPAM (subnet, range,
 * gateway), in both its flat and its `ranges` form. Parsed once, at admission and at attach time,
 * into an IPv4 value type; every problem is a FieldError under spec.config.
 */
import type { FieldError } from '../kind.js';

/** CNI plugins that give an L2 segment with a bridge; `cnv-bridge` is KubeVirt's variant. */
export const BRIDGE_PLUGINS = ['bridge', 'cnv-bridge'] as const;

export interface Ipv4Range {
  /** Network address and prefix length of the subnet. */
  network: number;
  prefix: number;
  /** First and last address handed out by DHCP (inclusive). */
  start: number;
  end: number;
  /** The segment's own address (served DHCP and DNS from); a router only when the config names it. */
  gateway: number;
  gatewayGiven: boolean;
}

export interface CniConfig {
  type: string;
  bridge?: string;
  mtu?: number;
  /** Absent: a plain L2 segment, the guests configure their addresses themselves. */
  ipam?: Ipv4Range;
  /**
   * "Direct connection": NICs join the existing host bridge named `bridge` (e.g. one holding the
   * uplink) instead of an isolated segment. Set from the NetworkAttachmentDefinition's
   * `hikube.io/host-bridge: "true"` annotation, never from the CNI JSON.
   */
  hostBridge?: boolean;
}

/** Annotation of a NetworkAttachmentDefinition whose VMs join a bridge of the host (see CniConfig). */
export const HOST_BRIDGE_ANNOTATION = 'hikube.io/host-bridge';

/** The rules a host-bridge network adds to its CNI configuration; one cause per problem. */
export function checkHostBridge(config: CniConfig, errors: FieldError[], at = 'spec.config'): void {
  if (config.bridge === undefined)
    errors.push({
      path: at,
      reason: 'FieldValueRequired',
      message: `Required value: "bridge", the name of the host bridge VMs join (annotation ${HOST_BRIDGE_ANNOTATION})`,
    });
  if (config.ipam !== undefined)
    errors.push({
      path: at,
      reason: 'FieldValueForbidden',
      message:
        'Forbidden: "ipam" on a host-bridge network: guests get their addresses from the network the bridge is on, not from this node',
    });
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseCidr(text: string): { network: number; prefix: number } | undefined {
  const [addr = '', len = ''] = text.split('/');
  const ip = parseIpv4(addr);
  const prefix = Number(len);
  if (ip === undefined || !/^\d{1,2}$/.test(len) || prefix > 30 || prefix < 8) return undefined;
  const size = 2 ** (32 - prefix);
  return { network: ip - (ip % size), prefix };
}

export const netmaskOf = (prefix: number): string => formatIpv4(2 ** 32 - 2 ** (32 - prefix));

/** Parses spec.config; `errors` receives one cause per problem. */
export function parseCniConfig(
  config: string | undefined,
  errors: FieldError[],
  at = 'spec.config',
): CniConfig | undefined {
  if (config === undefined || config.trim() === '') {
    errors.push({
      path: at,
      reason: 'FieldValueRequired',
      message: 'Required value: a CNI configuration (JSON), e.g. {"cniVersion":"0.3.1","type":"bridge"}',
    });
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(config);
  } catch (err) {
    errors.push({
      path: at,
      message: `Invalid value: not JSON: ${err instanceof Error ? err.message : String(err)}`,
    });
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    errors.push({ path: at, message: 'Invalid value: must be a JSON object' });
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  // A conflist (`plugins: [...]`) carries the interface plugin first.
  const plugin = Array.isArray(obj['plugins']) ? ((obj['plugins'][0] ?? {}) as Record<string, unknown>) : obj;
  const type = plugin['type'];
  if (typeof type !== 'string' || type === '') {
    errors.push({ path: at, reason: 'FieldValueRequired', message: 'Required value: the CNI plugin "type"' });
    return undefined;
  }
  const out: CniConfig = { type };
  if (typeof plugin['bridge'] === 'string') {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(plugin['bridge']))
      errors.push({
        path: at,
        message: `Invalid value: bridge ${JSON.stringify(plugin['bridge'])}: an interface name of 1-15 letters, digits, '-', '_' or '.'`,
      });
    else out.bridge = plugin['bridge'];
  }
  if (typeof plugin['mtu'] === 'number') out.mtu = plugin['mtu'];
  const ipam = plugin['ipam'];
  if (typeof ipam === 'object' && ipam !== null && Object.keys(ipam).length > 0) {
    const range = parseIpam(ipam as Record<string, unknown>, errors, at);
    if (range !== undefined) out.ipam = range;
  }
  return out;
}

function parseIpam(ipam: Record<string, unknown>, errors: FieldError[], at: string): Ipv4Range | undefined {
  const type = ipam['type'];
  if (
    type !== undefined &&
    type !== 'host-local' &&
    type !== 'static' &&
    type !== 'whereabouts' &&
    type !== 'dhcp'
  ) {
    errors.push({
      path: at,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ipam type ${JSON.stringify(type)}: supported: "host-local", "whereabouts"`,
    });
    return undefined;
  }
  // host-local: {subnet, rangeStart, rangeEnd, gateway} or {ranges: [[{...}]]}; whereabouts: {range}.
  let r = ipam;
  const ranges = ipam['ranges'];
  if (Array.isArray(ranges)) {
    const first: unknown = Array.isArray(ranges[0]) ? ranges[0][0] : ranges[0];
    if (typeof first === 'object' && first !== null) r = first as Record<string, unknown>;
  }
  const subnetText = r['subnet'] ?? r['range'];
  if (typeof subnetText !== 'string') {
    errors.push({
      path: at,
      reason: 'FieldValueRequired',
      message: 'Required value: ipam needs a "subnet" (e.g. "10.10.0.0/24")',
    });
    return undefined;
  }
  const subnet = parseCidr(subnetText);
  if (subnet === undefined) {
    errors.push({
      path: at,
      message: `Invalid value: ipam subnet ${JSON.stringify(subnetText)}: an IPv4 CIDR with a prefix of /8 to /30`,
    });
    return undefined;
  }
  const size = 2 ** (32 - subnet.prefix);
  const first = subnet.network + 1;
  const last = subnet.network + size - 2;
  const address = (key: string, fallback: number): number | undefined => {
    const v = r[key];
    if (v === undefined) return fallback;
    const ip = typeof v === 'string' ? parseIpv4(v) : undefined;
    if (ip === undefined || ip < first || ip > last) {
      errors.push({
        path: at,
        message: `Invalid value: ipam ${key} ${JSON.stringify(v)}: must be a host address in ${subnetText}`,
      });
      return undefined;
    }
    return ip;
  };
  const gateway = address('gateway', first);
  const start = address('rangeStart', gateway === first ? first + 1 : first);
  const end = address('rangeEnd', last);
  if (gateway === undefined || start === undefined || end === undefined) return undefined;
  if (start > end) {
    errors.push({ path: at, message: 'Invalid value: ipam rangeStart comes after rangeEnd' });
    return undefined;
  }
  if (end - start + 1 - (gateway >= start && gateway <= end ? 1 : 0) < 1) {
    errors.push({ path: at, message: 'Invalid value: ipam range holds no address besides the gateway' });
    return undefined;
  }
  return { ...subnet, start, end, gateway, gatewayGiven: r['gateway'] !== undefined };
}
