/**
 * The kernel data path of Services on the pod network, as data rendered to one nft script (the
 * way kube-proxy's nftables mode works; our own rules): every frontend (cluster IP, node port,
 * load balancer address) DNATs to a backend pod IP:port picked at random among the ready ones
 * (numgen), a client with sessionAffinity ClientIP sticks to its backend through a timed set, and
 * two cases are source-NATed to the gateway: hairpin (a pod reaching its own Service, whose answer
 * would otherwise skip the un-DNAT) and loopback clients (127/8 cannot leave the host). A frontend
 * without backends rejects at once. The table (`ip PREFIX_svc`) is replaced whole, atomically.
 */

export type L4 = 'tcp' | 'udp';

export interface KernelBackend {
  ip: string;
  port: number;
}

export interface KernelFrontend {
  address: string;
  port: number;
}

export interface KernelPort {
  protocol: L4;
  frontends: KernelFrontend[];
  backends: KernelBackend[];
}

export interface KernelService {
  /** namespace/name, for the comments that say which rule is whose. */
  key: string;
  ports: KernelPort[];
  /** sessionAffinity ClientIP: seconds a client sticks to its backend. */
  affinitySeconds?: number;
}

export interface ServiceRuleset {
  table: string;
  /** The address hairpin and loopback clients are NATed to: the pod network's gateway. */
  gateway: string;
  services: KernelService[];
}

/** The packet mark that asks postrouting to NAT a connection to the gateway. */
export const SNAT_MARK = '0x10000000';

const q = (text: string): string => JSON.stringify(text.replace(/[^A-Za-z0-9_./:-]/g, '_'));

/** The nft script that replaces the table with exactly these services. */
export function renderServiceRuleset(r: ServiceRuleset): string {
  const out: string[] = [`table ip ${r.table}`, `delete table ip ${r.table}`, `table ip ${r.table} {`];
  const dispatch: string[] = [];
  const rejects: string[] = [];
  const sets: string[] = [];
  const chains: string[] = [];
  const services = [...r.services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  services.forEach((svc, si) => {
    svc.ports.forEach((port, pi) => {
      const chain = `svc${si}_${pi}`;
      const frontends = port.frontends.map((f) => `ip daddr ${f.address} ${port.protocol} dport ${f.port}`);
      if (port.backends.length === 0) {
        for (const f of port.frontends) rejects.push(`${f.address} . ${port.protocol} . ${f.port}`);
        return;
      }
      for (const f of frontends) dispatch.push(`    ${f} goto ${chain} comment ${q(svc.key)}`);
      const endpoints = port.backends.map((b, bi) => ({
        b,
        name: `${chain}_ep${bi}`,
        set: `${chain}_aff${bi}`,
      }));
      const body: string[] = [];
      if (svc.affinitySeconds !== undefined) {
        for (const e of endpoints) {
          sets.push(
            `  set ${e.set} {`,
            '    type ipv4_addr; flags dynamic,timeout;',
            `    timeout ${svc.affinitySeconds}s;`,
            '  }',
          );
          body.push(`    ip saddr @${e.set} goto ${e.name}`);
        }
      }
      body.push(
        endpoints.length === 1
          ? `    goto ${endpoints[0]?.name ?? ''}`
          : `    numgen random mod ${endpoints.length} vmap { ${endpoints.map((e, i) => `${i} : goto ${e.name}`).join(', ')} }`,
      );
      chains.push(`  chain ${chain} {`, ...body, '  }');
      for (const e of endpoints) {
        chains.push(
          `  chain ${e.name} {`,
          // Hairpin: the backend is the client; its answer must come back through this host.
          `    ip saddr ${e.b.ip} meta mark set meta mark | ${SNAT_MARK}`,
          ...(svc.affinitySeconds !== undefined ? [`    update @${e.set} { ip saddr }`] : []),
          `    meta l4proto ${port.protocol} dnat to ${e.b.ip}:${e.b.port}`,
          '  }',
        );
      }
    });
  });
  out.push(...sets);
  if (rejects.length > 0)
    out.push(
      '  set no_endpoints {',
      '    type ipv4_addr . inet_proto . inet_service;',
      `    elements = { ${rejects.join(', ')} }`,
      '  }',
    );
  // A TCP reset (an ICMP error does not reach a local client whose route to the CIDR is `lo`).
  const reject =
    rejects.length > 0
      ? [
          '    ip daddr . meta l4proto . th dport @no_endpoints meta l4proto tcp reject with tcp reset',
          '    ip daddr . meta l4proto . th dport @no_endpoints reject',
        ]
      : [];
  out.push(
    // 127/8 may be routed out (route_localnet, for loopback frontends), so nothing may come in for it.
    '  chain filter_prerouting {',
    '    type filter hook prerouting priority -110; policy accept;',
    '    iifname != "lo" ip daddr 127.0.0.0/8 drop',
    ...reject,
    '  }',
    '  chain filter_output {',
    '    type filter hook output priority -110; policy accept;',
    ...reject,
    '  }',
    '  chain services {',
    ...dispatch,
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority -100; policy accept;',
    '    jump services',
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    jump services',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority 100; policy accept;',
    `    meta mark & ${SNAT_MARK} == ${SNAT_MARK} snat to ${r.gateway}`,
    `    ip saddr 127.0.0.0/8 oifname != "lo" snat to ${r.gateway}`,
    '  }',
    ...chains,
    '}',
  );
  return `${out.join('\n')}\n`;
}
