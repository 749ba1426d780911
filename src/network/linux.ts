/**
 * The real LinkTool: iproute2 (`ip`), sysctl inside namespaces, and dnsmasq. Every command names
 * its namespace explicitly (`ip -n NS …`, `ip netns exec NS …`), so nothing here touches the
 * host's own interfaces except the taps it creates before moving them into a segment.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { LinkTool } from './links.js';

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err !== null)
        reject(
          new Error(
            `${cmd} ${args.join(' ')}: ${(stderr || err.message).trim().split('\n').slice(-2).join(' ')}`,
          ),
        );
      else resolve(stdout);
    });
  });
}

const ip = (args: string[]): Promise<string> => run('ip', args);
const gone = (err: unknown): boolean =>
  err instanceof Error && /Cannot find device|does not exist|No such file|not found/i.test(err.message);

function pidOf(pidfile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export const linuxLinks: LinkTool = {
  async unavailable() {
    if (process.getuid !== undefined && process.getuid() !== 0)
      return `bridges and taps need root (CAP_NET_ADMIN); hikube runs as uid ${process.getuid()}`;
    if (!existsSync('/dev/net/tun')) return 'the tun device /dev/net/tun is missing';
    try {
      await ip(['-V']);
    } catch {
      return 'iproute2 (`ip`) is not installed';
    }
    return undefined;
  },
  namespaceExists: (netns) => existsSync(`/run/netns/${netns}`),
  async addNamespace(netns) {
    await ip(['netns', 'add', netns]);
    await ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    // br_netfilter makes bridged frames traverse the inet forward chain: switch that off here, and
    // never route between the segment and anything else.
    const sysctls = ['net.ipv4.ip_forward=0'];
    if (existsSync('/proc/sys/net/bridge'))
      sysctls.push(
        'net.bridge.bridge-nf-call-iptables=0',
        'net.bridge.bridge-nf-call-ip6tables=0',
        'net.bridge.bridge-nf-call-arptables=0',
      );
    await run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', ...sysctls]).catch(() => undefined);
  },
  async deleteNamespace(netns) {
    await ip(['netns', 'delete', netns]).catch((err: unknown) => {
      if (!gone(err)) throw err;
    });
  },
  async addBridge(netns, bridge, address, mtu) {
    await ip(['-n', netns, 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    if (mtu !== undefined) await ip(['-n', netns, 'link', 'set', bridge, 'mtu', String(mtu)]);
    if (address !== undefined) await ip(['-n', netns, 'addr', 'add', address, 'dev', bridge]);
    await ip(['-n', netns, 'link', 'set', bridge, 'up']);
  },
  async addTap(name) {
    await ip(['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  },
  async joinBridge(tap, netns, bridge) {
    await ip(['link', 'set', tap, 'netns', netns]);
    await ip(['-n', netns, 'link', 'set', tap, 'master', bridge, 'up']);
  },
  hostBridgeExists: (bridge) => existsSync(`/sys/class/net/${bridge}/bridge`),
  async joinHostBridge(tap, bridge) {
    await ip(['link', 'set', tap, 'master', bridge, 'up']);
  },
  async deleteTap(tap, netns) {
    for (const where of [['-n', netns], []]) {
      if (where.length > 0 && (netns === '' || !existsSync(`/run/netns/${netns}`))) continue;
      try {
        await ip([...where, 'link', 'del', tap]);
        return;
      } catch (err) {
        if (!gone(err)) throw err;
      }
    }
  },
  startDnsmasq(netns, args, pidfile) {
    return new Promise((resolve, reject) => {
      // dnsmasq forks once it has bound its sockets; the parent's exit status tells whether it serves.
      const child = spawn('ip', ['netns', 'exec', netns, 'dnsmasq', ...args], {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', (e) =>
        reject(new Error(`failed starting dnsmasq: ${e.message} (install dnsmasq)`)),
      );
      child.once('exit', (code) => {
        if (code === 0 && pidOf(pidfile) !== undefined) resolve();
        else
          reject(
            new Error(`dnsmasq exited with ${String(code)}: ${err.trim().split('\n').slice(-2).join(' ')}`),
          );
      });
      child.unref();
    });
  },
  running(pidfile, marker) {
    const pid = pidOf(pidfile);
    if (pid === undefined) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  },
  signal(pidfile, signal) {
    const pid = pidOf(pidfile);
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  },
};
