/**
 * Fake pods for tests of the pod network's kernel parts, built exactly as the shared design routes
 * them but entirely inside namespaces the test makes: a "node" namespace standing in for the host
 * (gateway address on its loopback, IP forwarding on) and one namespace per pod with a veth whose
 * host side sits in the node, the pod IP as a /32, a host route to it and `default via GW onlink`.
 * Each pod can run a server that answers every TCP connection and UDP datagram with its own name,
 * so a client learns which backend it reached. Nothing touches the real host's interfaces.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';

const run = (cmd: string, args: string[], input?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) =>
      err === null
        ? resolve(stdout)
        : reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)),
    );
    if (input !== undefined) child.stdin?.end(input);
  });

let counter = 0;
/** A short unique prefix for namespace and link names (links are at most 15 characters). */
export const uniquePrefix = (): string => `ft${process.pid % 100000}${(counter++).toString(36)}`;

const SERVER = String.raw`
const name = process.argv[1], port = Number(process.argv[2]);
require('net').createServer((s) => { s.on('error', () => {}); s.end(name + ' ' + s.remoteAddress + '\n'); }).listen(port, '0.0.0.0');
const u = require('dgram').createSocket('udp4');
u.on('message', (m, r) => u.send(name + ' ' + r.address + '\n', r.port, r.address));
u.bind(port, '0.0.0.0', () => process.stdout.write('ready\n'));
`;

const CLIENT = String.raw`
const [proto, host, port, count, sport] = process.argv.slice(1);
const one = () => new Promise((resolve) => {
  const done = (v) => { clearTimeout(t); resolve(v); };
  const t = setTimeout(() => { s.destroy?.(); s.close?.(); done('timeout'); }, 2000);
  let s;
  if (proto === 'udp') {
    s = require('dgram').createSocket('udp4');
    s.on('message', (m) => { s.close(); done(m.toString().trim()); });
    s.on('error', (e) => { s.close(); done('error ' + e.code); });
    // A fixed source port (when given) keeps one conntrack entry across datagrams, as a long-lived client would.
    if (sport) s.bind(Number(sport), () => s.send('hi', Number(port), host));
    else s.send('hi', Number(port), host);
  } else {
    let got = '';
    s = require('net').connect(Number(port), host);
    s.on('data', (d) => (got += d));
    s.on('end', () => done(got.trim()));
    s.on('error', (e) => done('error ' + e.code));
  }
});
(async () => { const out = []; for (let i = 0; i < Number(count); i++) out.push(await one()); process.stdout.write(JSON.stringify(out)); })();
`;

const CHECKER = String.raw`
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, host, port, timeoutMs } = JSON.parse(line);
  const s = require('net').connect(port, host);
  let done = false;
  const finish = (result) => { if (done) return; done = true; clearTimeout(t); s.destroy(); process.stdout.write(JSON.stringify({ id, result }) + '\n'); };
  const t = setTimeout(() => finish('no connection within ' + timeoutMs + ' ms'), timeoutMs);
  s.once('connect', () => finish(null));
  s.once('error', (e) => finish('connection failed: ' + e.message));
});
`;

export interface FakePod {
  name: string;
  netns: string;
  ip: string;
  hostLink: string;
  /** `count` requests from this pod. */
  ask(
    node: FakeNode,
    proto: 'tcp' | 'udp',
    host: string,
    port: number,
    count?: number,
    sourcePort?: number,
  ): Promise<string[]>;
}

export class FakeNode {
  readonly netns: string;
  readonly pods: FakePod[] = [];
  private readonly servers = new Map<string, ChildProcess>();

  private constructor(
    readonly prefix: string,
    readonly gateway: string,
  ) {
    this.netns = `${prefix}n`;
  }

  /** A node namespace with the gateway on its loopback and forwarding on. */
  static async create(gateway = '10.244.0.1'): Promise<FakeNode> {
    const node = new FakeNode(uniquePrefix(), gateway);
    await run('ip', ['netns', 'add', node.netns]);
    await run('ip', ['-n', node.netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', node.netns, 'addr', 'add', `${gateway}/32`, 'dev', 'lo']);
    await node.sysctl('net.ipv4.ip_forward', '1');
    return node;
  }

  /** A command inside the node namespace; its stdout. */
  exec(cmd: string, args: string[]): Promise<string> {
    return run('ip', ['netns', 'exec', this.netns, cmd, ...args]);
  }

  async sysctl(key: string, value: string): Promise<void> {
    await run('ip', ['netns', 'exec', this.netns, 'sysctl', '-qw', `${key}=${value}`]);
  }

  /** A pod routed from the node as the design says. */
  async addPod(name: string, ip: string): Promise<FakePod> {
    const netns = `${this.prefix}${name}`;
    const pod: FakePod = {
      name,
      ip,
      netns,
      hostLink: `${this.prefix}${name}h`,
      ask: (node, proto, host, port, count, sourcePort) =>
        node.ask(netns, proto, host, port, count, sourcePort),
    };
    await run('ip', ['netns', 'add', pod.netns]);
    this.pods.push(pod);
    await run('ip', [
      '-n',
      this.netns,
      'link',
      'add',
      pod.hostLink,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      pod.netns,
    ]);
    await run('ip', ['-n', this.netns, 'link', 'set', pod.hostLink, 'up']);
    await run('ip', ['-n', this.netns, 'route', 'add', `${ip}/32`, 'dev', pod.hostLink]);
    for (const args of [
      ['link', 'set', 'lo', 'up'],
      ['addr', 'add', `${ip}/32`, 'dev', 'eth0'],
      ['link', 'set', 'eth0', 'up'],
      ['route', 'add', 'default', 'via', this.gateway, 'dev', 'eth0', 'onlink'],
    ])
      await run('ip', ['-n', pod.netns, ...args]);
    return pod;
  }

  /** Starts the pod's name server on `port` (TCP and UDP); resolves once it listens. */
  serve(pod: FakePod, port: number): Promise<void> {
    const child = spawn(
      'ip',
      ['netns', 'exec', pod.netns, process.execPath, '-e', SERVER, pod.name, String(port)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.servers.set(pod.name, child);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`server in ${pod.netns} exited (${code ?? 'signal'})`)));
      child.stdout?.once('data', () => resolve());
    });
  }

  private checker: ChildProcess | undefined;
  private readonly pending = new Map<number, (result: string | undefined) => void>();

  /** A TCP check made from inside the node namespace (where the pods are routed), not the host's. */
  readonly tcpCheck = (
    target: { host: string; port: number },
    timeoutMs: number,
  ): Promise<string | undefined> => {
    if (this.checker === undefined) {
      const child = spawn('ip', ['netns', 'exec', this.netns, process.execPath, '-e', CHECKER], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let buffered = '';
      child.stdout?.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const { id, result } = JSON.parse(buffered.slice(0, nl)) as { id: number; result: string | null };
          buffered = buffered.slice(nl + 1);
          this.pending.get(id)?.(result ?? undefined);
          this.pending.delete(id);
        }
      });
      this.checker = child;
    }
    const id = this.nextCheck++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.checker?.stdin?.write(
        `${JSON.stringify({ id, host: target.host, port: target.port, timeoutMs })}\n`,
      );
    });
  };
  private nextCheck = 0;

  /** Stops the pod's server: its port refuses from now on. */
  async stopServer(pod: FakePod): Promise<void> {
    const child = this.servers.get(pod.name);
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }

  /** Routes `cidr` from the pod to the node (as a hostile pod could). */
  async podRoute(pod: FakePod, cidr: string): Promise<void> {
    await run('ip', ['-n', pod.netns, 'route', 'add', cidr, 'via', this.gateway, 'dev', 'eth0', 'onlink']);
  }

  askFromNode(proto: 'tcp' | 'udp', host: string, port: number, count = 1): Promise<string[]> {
    return this.ask(this.netns, proto, host, port, count);
  }

  /**
   * `count` requests from inside `netns` (a pod's, or the node's); each answer is `NAME CLIENT_IP`.
   * UDP datagrams leave from `sourcePort` when given (otherwise a new port each).
   */
  async ask(
    netns: string,
    proto: 'tcp' | 'udp',
    host: string,
    port: number,
    count = 1,
    sourcePort?: number,
  ): Promise<string[]> {
    const out = await run('ip', [
      'netns',
      'exec',
      netns,
      process.execPath,
      '-e',
      CLIENT,
      proto,
      host,
      String(port),
      String(count),
      ...(sourcePort !== undefined ? [String(sourcePort)] : []),
    ]);
    return JSON.parse(out) as string[];
  }

  async destroy(): Promise<void> {
    for (const s of this.servers.values()) s.kill();
    this.checker?.kill();
    for (const p of this.pods) await run('ip', ['netns', 'del', p.netns]).catch(() => undefined);
    await run('ip', ['netns', 'del', this.netns]).catch(() => undefined);
  }
}
