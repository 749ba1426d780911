/**
 * What the pod network writes into the kernel and into dnsmasq, as pure text: the host's nftables
 * table (outbound masquerade of the pod CIDR, host protection on the input hook), the table inside
 * each pod namespace (KubeVirt's masquerade binding: inbound to the guest's 10.0.2.2, outbound
 * NATed to the pod IP), and the arguments of the dnsmasq that gives the guest its address.
 * Kept apart from the commands that apply them so they are tested as text.
 */

/** The guest's side of the masquerade binding, as KubeVirt has it. */
export const MASQUERADE = {
  bridge: 'k6t-eth0',
  gateway: '10.0.2.1',
  guest: '10.0.2.2',
  prefix: 24,
  netmask: '255.255.255.0',
} as const;

/** The interface of the pod namespace that faces the host. */
export const POD_LINK = 'eth0';

export interface HostRules {
  table: string;
  /** The pod CIDR, e.g. 10.244.0.0/16. */
  cidr: string;
  gateway: string;
  /** The cluster DNS address: DNS to it is let in too, for a resolver that listens on it directly. */
  dns: string;
  /** nftables wildcard matching every host-side veth of this platform, e.g. `hkab12cdv*`. */
  vethPattern: string;
}

/**
 * The host's `inet` table, replaced whole: from a pod link only replies and DNS to the gateway
 * (or the cluster DNS address) reach the host itself (its loopback, the gateway, every other host address and platform port
 * stay closed); traffic from the pod CIDR leaving towards anything but pods is masqueraded.
 */
export function renderHostRules(r: HostRules, present = true): string {
  const lines = [`table inet ${r.table}`, `delete table inet ${r.table}`];
  if (!present) return `${lines.join('\n')}\n`;
  const from = `iifname "${r.vethPattern}"`;
  lines.push(
    `table inet ${r.table} {`,
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    ${from} ct state established,related accept`,
    `    ${from} ip daddr { ${[...new Set([r.gateway, r.dns])].join(', ')} } udp dport 53 accept`,
    `    ${from} ip daddr { ${[...new Set([r.gateway, r.dns])].join(', ')} } tcp dport 53 accept`,
    `    ${from} drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${r.cidr} ip daddr != ${r.cidr} oifname != "${r.vethPattern}" masquerade`,
    '  }',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The table inside a pod namespace with the masquerade binding: every TCP/UDP connection arriving
 * on the pod IP goes to the guest, and the guest's own connections leave as the pod IP.
 */
export function renderMasqueradeRules(): string {
  return [
    'table ip hikube_pod',
    'delete table ip hikube_pod',
    'table ip hikube_pod {',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    iifname "${POD_LINK}" meta l4proto { tcp, udp } dnat to ${MASQUERADE.guest}`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${POD_LINK}" ip saddr ${MASQUERADE.guest} masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface GuestDhcp {
  /** The guest's address and netmask, its router, and dnsmasq's own address on the guest's bridge. */
  guest: string;
  netmask: string;
  router: string;
  server: string;
  /** Where dnsmasq keeps its pid, leases and log. */
  pidfile: string;
  leasefile: string;
  logfile: string;
  mac: string;
  /** The cluster DNS address the guest resolves with. */
  dns: string;
  /** The VMI's namespace: the first search domain is NAMESPACE.svc.cluster.local. */
  namespace: string;
  hostname: string;
}

/** dnsmasq in the pod namespace: DHCP only (no DNS: `--port=0`), one fixed lease for the guest. */
export function guestDhcpArgs(d: GuestDhcp): string[] {
  const search = [`${d.namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];
  return [
    '--conf-file=/dev/null',
    `--pid-file=${d.pidfile}`,
    '--user=root',
    '--group=root',
    '--port=0',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--bind-interfaces',
    `--interface=${MASQUERADE.bridge}`,
    '--except-interface=lo',
    `--listen-address=${d.server}`,
    `--dhcp-range=${d.guest},${d.guest},${d.netmask},12h`,
    `--dhcp-host=${d.mac},${d.guest},${d.hostname}`,
    `--dhcp-leasefile=${d.leasefile}`,
    '--dhcp-authoritative',
    `--dhcp-option=option:router,${d.router}`,
    `--dhcp-option=option:dns-server,${d.dns}`,
    `--dhcp-option=option:domain-search,${search.join(',')}`,
    `--log-facility=${d.logfile}`,
  ];
}
