/**
 * The real PodLinks: iproute2, sysctl and nft. Every command names its namespace (`ip -n NS`,
 * `ip netns exec NS`); in the host namespace only the gateway link, the host-side veths, their
 * /32 routes, `net.ipv4.ip_forward` and this platform's own nftables table are touched.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import type { PodLinks } from './links.js';
import { POD_LINK } from './rules.js';

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')}: ${(err || `exit ${String(code)}`).trim().split('\n').slice(-2).join(' ')}`,
          ),
        );
    });
    if (child.stdin !== null) {
      // A command that fails before reading its script closes the pipe; its exit status tells why.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

const ip = (args: string[]): Promise<string> => run('ip', args);
const gone = (err: unknown): boolean =>
  err instanceof Error && /Cannot find device|does not exist|No such file|not found/i.test(err.message);
const which = (tool: string): Promise<boolean> =>
  new Promise((resolve) => execFile('sh', ['-c', `command -v ${tool}`], (err) => resolve(err === null)));

export const linuxPodLinks: PodLinks = {
  async unavailable() {
    if (process.getuid !== undefined && process.getuid() !== 0)
      return `the pod network needs root (CAP_NET_ADMIN); hikube runs as uid ${process.getuid()}`;
    if (!existsSync('/dev/net/tun')) return 'the tun device /dev/net/tun is missing';
    for (const tool of ['ip', 'nft', 'dnsmasq', 'sysctl'])
      if (!(await which(tool))) return `${tool} is not installed`;
    return undefined;
  },
  async ensureHost(h) {
    if (h.ledger !== undefined) h.ledger.set('net.ipv4.ip_forward', '1');
    else await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    if (!existsSync(`/sys/class/net/${h.gatewayLink}`)) {
      await ip(['link', 'add', h.gatewayLink, 'type', 'bridge']).catch((err: unknown) => {
        if (!(err instanceof Error && /File exists/.test(err.message))) throw err;
      });
    }
    await ip(['addr', 'replace', h.gatewayCidr, 'dev', h.gatewayLink]);
    await ip(['link', 'set', h.gatewayLink, 'up']);
    await run('nft', ['-f', '-'], h.rules);
  },
  async removeHost(gatewayLink, emptyRules, ledger) {
    await run('nft', ['-f', '-'], emptyRules);
    await ip(['link', 'del', gatewayLink]).catch((err: unknown) => {
      if (!gone(err)) throw err;
    });
    ledger?.restore('net.ipv4.ip_forward');
  },
  namespaceExists: (netns) => existsSync(`/run/netns/${netns}`),
  async createSandbox(s) {
    const n = s.netns;
    await ip(['netns', 'add', n]);
    await ip(['-n', n, 'link', 'set', 'lo', 'up']);
    // The sandbox routes between the guest's bridge and its eth0; bridged frames stay out of
    // netfilter (br_netfilter may be loaded on the host).
    const sysctls = ['net.ipv4.ip_forward=1'];
    if (existsSync('/proc/sys/net/bridge'))
      sysctls.push(
        'net.bridge.bridge-nf-call-iptables=0',
        'net.bridge.bridge-nf-call-ip6tables=0',
        'net.bridge.bridge-nf-call-arptables=0',
      );
    await run('ip', ['netns', 'exec', n, 'sysctl', '-q', '-w', ...sysctls]);
    await ip(['link', 'add', s.veth, 'type', 'veth', 'peer', 'name', POD_LINK, 'netns', n]);
    await ip(['link', 'set', s.veth, 'up']);
    // masquerade: the sandbox owns the pod IP; bridge: the guest does, and the sandbox answers ARP
    // for it on eth0 and for everything else on the guest's bridge (proxy ARP), routing between.
    if (s.binding === 'masquerade') await ip(['-n', n, 'addr', 'add', `${s.podIp}/32`, 'dev', POD_LINK]);
    await ip(['-n', n, 'link', 'set', POD_LINK, 'up']);
    await ip(['-n', n, 'route', 'add', 'default', 'via', s.gateway, 'dev', POD_LINK, 'onlink']);
    await ip(['route', 'replace', `${s.podIp}/32`, 'dev', s.veth, 'src', s.gateway]);
    await ip(['-n', n, 'link', 'add', s.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    const noPrefixRoute = s.binding === 'bridge' ? ['noprefixroute'] : [];
    await ip(['-n', n, 'addr', 'add', s.bridgeCidr, 'dev', s.bridge, ...noPrefixRoute]);
    await ip(['-n', n, 'link', 'set', s.bridge, 'up']);
    if (s.binding === 'bridge') {
      await ip(['-n', n, 'route', 'add', `${s.podIp}/32`, 'dev', s.bridge]);
      await run('ip', [
        'netns',
        'exec',
        n,
        'sysctl',
        '-q',
        '-w',
        `net.ipv4.conf.${POD_LINK}.proxy_arp=1`,
        `net.ipv4.conf.${s.bridge}.proxy_arp=1`,
      ]);
    }
    if (s.rules !== undefined) await run('ip', ['netns', 'exec', n, 'nft', '-f', '-'], s.rules);
  },
  async sweep(leftover) {
    const removed: string[] = [];
    const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);
    for (const n of list('/run/netns').filter((x) => leftover.netns(x))) {
      await ip(['netns', 'delete', n]).catch((err: unknown) => {
        if (!gone(err)) throw err;
      });
      removed.push(`namespace ${n}`);
    }
    for (const l of list('/sys/class/net').filter((x) => leftover.link(x))) {
      await ip(['link', 'del', l]).catch((err: unknown) => {
        if (!gone(err)) throw err;
      });
      removed.push(`link ${l}`);
    }
    return removed;
  },
  async deleteSandbox(netns, veth) {
    await ip(['netns', 'delete', netns]).catch((err: unknown) => {
      if (!gone(err)) throw err;
    });
    // Gone with the namespace normally; a half-made sandbox may have left it in the host.
    await ip(['link', 'del', veth]).catch((err: unknown) => {
      if (!gone(err)) throw err;
    });
  },
};
