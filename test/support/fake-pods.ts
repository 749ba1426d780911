/**
 * "Fake pods" for the pod network's tests, built the way the routed design builds real ones, all
 * inside namespaces the test creates: a node namespace (standing in for the host: ip_forward on,
 * the gateway on a dummy link), and per pod a namespace with `eth0` (one veth end, the pod IP as a
 * /32, `default via GATEWAY onlink`) whose other end stays in the node namespace with a /32 route.
 * Each pod serves HTTP (busybox httpd) on the ports asked for; `reach` is a client in any of them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sh = (args: string[]): string =>
  execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (ns: string, command: string[]): string =>
  execFileSync('ip', ['netns', 'exec', ns, ...command], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

export interface FakePod {
  ns: string;
  ip: string;
}

export class FakePodNetwork {
  readonly node: string;
  private readonly pods: FakePod[] = [];
  private readonly servers: ChildProcess[] = [];
  private readonly www: string;

  /** `tag`: a short unique string; namespaces are `hkp<tag>…`, links at most 15 characters. */
  constructor(
    private readonly tag: string,
    readonly gateway: string,
  ) {
    this.node = `hkp${tag}node`;
    this.www = mkdtempSync(join(tmpdir(), 'hikube-fakepods-'));
    writeFileSync(join(this.www, 'index.html'), 'pong\n');
    sh(['netns', 'add', this.node]);
    try {
      inNs(this.node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      sh(['-n', this.node, 'link', 'set', 'lo', 'up']);
      // The gateway lives on a link of its own (a bridge with no ports: this kernel has no dummy).
      sh(['-n', this.node, 'link', 'add', 'gw', 'type', 'bridge']);
      sh(['-n', this.node, 'addr', 'add', `${gateway}/32`, 'dev', 'gw']);
      sh(['-n', this.node, 'link', 'set', 'gw', 'up']);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** A pod namespace with `ip`, routed from the node, serving HTTP on `ports`. */
  addPod(name: string, ip: string, ports: number[]): FakePod {
    const ns = `hkp${this.tag}${name}`;
    const veth = `hp${this.tag}${this.pods.length}`;
    sh(['netns', 'add', ns]);
    sh(['-n', this.node, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh(['-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['-n', ns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    sh(['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh(['-n', ns, 'route', 'add', this.gateway, 'dev', 'eth0']);
    sh(['-n', ns, 'route', 'add', 'default', 'via', this.gateway, 'dev', 'eth0', 'onlink']);
    sh(['-n', this.node, 'link', 'set', veth, 'up']);
    sh(['-n', this.node, 'route', 'add', `${ip}/32`, 'dev', veth]);
    for (const port of ports) {
      const server = spawn(
        'ip',
        ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', `${ip}:${port}`, '-h', this.www],
        {
          stdio: 'ignore',
        },
      );
      this.servers.push(server);
    }
    const pod = { ns, ip };
    this.pods.push(pod);
    return pod;
  }

  /** br_netfilter's switch for the node namespace (bridged frames through the IP hooks or not). */
  setBridgeNetfilter(on: boolean): void {
    inNs(this.node, ['sysctl', '-qw', `net.bridge.bridge-nf-call-iptables=${on ? 1 : 0}`]);
  }

  /**
   * Whether an HTTP GET from namespace `from` to ip:port gets the page within `timeoutMs`. A
   * dropped SYN shows as a timeout.
   */
  reach(from: string, ip: string, port: number, timeoutMs = 1500): Promise<boolean> {
    return new Promise((resolve) => {
      const child = spawn(
        'ip',
        ['netns', 'exec', from, 'busybox', 'wget', '-q', '-O', '-', `http://${ip}:${port}/`],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve(code === 0 && out.includes('pong'));
      });
      child.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /** Stops the servers and removes every namespace (their links and nftables go with them). */
  destroy(): void {
    for (const s of this.servers) s.kill('SIGKILL');
    for (const ns of [...this.pods.map((p) => p.ns), this.node]) {
      try {
        sh(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    rmSync(this.www, { recursive: true, force: true });
  }
}
