/**
 * Load balancer benchmark: throughput and latency through a Service's load balancer against a
 * direct connection to one backend, in the same run, with many concurrent connections (wrk).
 *
 * (a) Real guests: two tiny VMs (TCG) serving a page with busybox httpd. Rounds alternate three
 *     targets: DIRECT (the host forward of VM 0, what the proxy itself connects to), LB-1 (a
 *     LoadBalancer selecting VM 0 only: the proxy's cost on the same backend) and LB-2 (a
 *     LoadBalancer over both VMs). busybox httpd answers one request per connection, so every
 *     request is a new TCP connection through QEMU user networking.
 * (b) The proxy alone: the same ServiceProxy in front of a Node HTTP server on loopback (a child
 *     process), against that server directly; keep-alive connections, then one connection per
 *     request. This isolates what the proxy adds from what a TCG guest costs.
 * (c) The pod network's kernel path: the same Node HTTP server in a fake pod (network namespaces
 *     routed as the pod network routes them, test/support/fakepods.ts), wrk in another fake pod,
 *     through the Service's cluster IP (the nftables DNAT of src/network/services) against the
 *     backend's pod IP directly; same three modes as (b). Then latency without wrk: BENCH_SAMPLES
 *     single requests to each target taken alternately (direct, via the Service, …) so the load of
 *     the shared machine hits both equally, on a new connection each and on kept-alive ones;
 *     p50/p99 of each side and the added p99 (bench/support/latency-client.ts).
 *
 * The platform and the proxy run on this process's main thread; wrk runs as its own process.
 * Usage: npm run build && node dist/bench/network.js
 * Env: BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_THREADS (2),
 * BENCH_CASES (`a,b,c`: which cases run; the others are left out of the results), BENCH_SAMPLES
 * (2000: alternating latency samples per side and mode in (c)).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../src/api/meta.js';
import { findKindByGvk } from '../src/api/registry.js';
import { serviceKind, type Service } from '../src/api/core/service.js';
import { ApiClient } from '../src/runtime/registry-client.js';
import type { GuestForwards } from '../src/network/forwards.js';
import { ServiceProxy } from '../src/network/proxy/proxy.js';
import { startPlatform, type Platform } from '../src/platform/platform.js';
import { qemuPids } from '../test/support/guest.js';
import { guestVm, httpName } from '../test/support/network.js';
import { repoRoot } from '../test/support/platform.js';
import { eventually } from '../test/support/wait.js';
import { env, median, pct, round } from './support/stats.js';
import { linuxServiceTable } from '../src/network/services/nft.js';
import { FakeNode } from '../test/support/fakepods.js';

const ROUNDS = env('BENCH_ROUNDS', 3);
const SECONDS = env('BENCH_SECONDS', 10);
const CONNECTIONS = env('BENCH_CONNECTIONS', 64);
const THREADS = env('BENCH_THREADS', 2);
const NS = 'default';
const TARGETS = { throughputRatio: 0.8, addedP99Ms: 1 };
const SAMPLES = env('BENCH_SAMPLES', 2000);
const CASES = new Set((process.env['BENCH_CASES'] ?? 'a,b,c').split(',').map((c) => c.trim()));

interface WrkResult {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  requests: number;
  errors: number;
  /** CPU time of this process (where the proxy runs) per request during the run, in µs. */
  cpuUsPerRequest: number;
}

/** Milliseconds from wrk's "1.23ms", "850.00us", "1.02s". */
function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (m === null) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

/**
 * wrk with many connections (throughput), or with one (`single`: latency without queueing);
 * inside a network namespace when `netns` is given.
 */
function wrk(url: string, extra: string[] = [], single = false, netns?: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const args = [
      ...(single ? ['-t', '1', '-c', '1'] : ['-t', String(THREADS), '-c', String(CONNECTIONS)]),
      '-d',
      `${SECONDS}s`,
      '--latency',
      ...extra,
      url,
    ];
    const cpu = process.cpuUsage();
    const [file, argv] =
      netns === undefined ? ['wrk', args] : ['ip', ['netns', 'exec', netns, 'wrk', ...args]];
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', (err) => reject(new Error(`wrk: ${err.message} (apt-get install wrk)`)));
    child.once('exit', () => {
      const pct = (p: string): number => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const used = process.cpuUsage(cpu);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
        p50: pct('50'),
        p90: pct('90'),
        p99: pct('99'),
        requests,
        cpuUsPerRequest: requests > 0 ? (used.user + used.system) / requests : Number.NaN,
        // Read errors are connections the server closed (busybox httpd closes after each answer).
        errors: non2xx + (errors === null ? 0 : Number(errors[1]) + Number(errors[3]) + Number(errors[4])),
      });
    });
  });
}

function create(p: Platform, yaml: string): void {
  const object = parse(yaml) as KubeObject;
  const def = findKindByGvk(object.apiVersion, object.kind);
  if (def === undefined) throw new Error(`unknown kind ${object.kind}`);
  p.registry.create(def, object.metadata.namespace ?? NS, object);
}

async function series(
  targets: Record<string, () => Promise<WrkResult>>,
): Promise<Record<string, WrkResult[]>> {
  const out: Record<string, WrkResult[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(targets)) {
      const r = await run();
      out[name]?.push(r);
      process.stdout.write(
        `  round ${round + 1} ${name.padEnd(14)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  cpu ${r.cpuUsPerRequest.toFixed(1)} µs/req\n`,
      );
    }
  }
  return out;
}

/** Medians over the runs that completed requests; `stalled` counts those that did not. */
const summary = (all: WrkResult[]) => {
  const rs = all.filter((r) => r.requests > 0);
  return {
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    cpuUsPerRequest: median(rs.map((r) => r.cpuUsPerRequest)),
    stalled: all.length - rs.length,
  };
};

async function guests(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hikube-bench-net-'));
  const p = await startPlatform({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    network: { loadBalancerPool: ['127.0.0.1'] },
  });
  const api = new ApiClient(p.registry);
  try {
    for (const name of ['bench-0', 'bench-1']) create(p, guestVm(name, { labels: { app: 'bench' } }));
    const lb = (name: string, selector: Record<string, string>): void =>
      create(
        p,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: NS },
          spec: { type: 'LoadBalancer', selector, ports: [{ port: 80, targetPort: 8080 }] },
        }),
      );
    lb('lb-one', { 'vm.kubevirt.io/name': 'bench-0' });
    lb('lb-two', { app: 'bench' });
    const address = (name: string) =>
      eventually(
        () => {
          const svc = api.get<Service>(serviceKind, NS, name);
          const ing = svc?.status?.loadBalancer?.ingress?.[0];
          const port = ing?.ports?.[0]?.port;
          return ing?.ip === undefined || port === undefined ? undefined : `http://${ing.ip}:${port}/`;
        },
        `address of ${name}`,
        120_000,
        200,
      );
    const one = await address('lb-one');
    const two = await address('lb-two');
    const direct = await eventually(
      () => {
        const b = p.network.proxy?.backends(`${NS}/lb-one`, '0')[0];
        return b?.healthy === true && b.target !== undefined
          ? `http://${b.target.host}:${b.target.port}/`
          : undefined;
      },
      'the backend of lb-one to pass its health check',
      120_000,
      200,
    ).catch((err: unknown) => {
      const seen = JSON.stringify(p.network.proxy?.backends(`${NS}/lb-one`, '0'));
      throw new Error(`${err instanceof Error ? err.message : String(err)}; backends: ${seen}`);
    });
    await eventually(
      async () =>
        new Set([
          await httpName('127.0.0.1', Number(new URL(two).port)),
          await httpName('127.0.0.1', Number(new URL(two).port)),
        ]).size === 2,
      'both VMs behind lb-two',
      120_000,
      300,
    );
    process.stdout.write(`(a) real guests: direct ${direct}, lb-one ${one}, lb-two ${two}\n`);
    await wrk(direct, ['-d', '3s']); // warm-up: TCG translates the guest's network path once
    return await series({
      direct: () => wrk(direct),
      'lb-1 backend': () => wrk(one),
      'lb-2 backends': () => wrk(two),
      'direct c=1': () => wrk(direct, [], true),
      'lb-1 c=1': () => wrk(one, [], true),
    });
  } finally {
    await p.stop();
    for (const pid of qemuPids(dataDir)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function proxyAlone(): Promise<Record<string, unknown>> {
  const server: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      "require('http').createServer((q,s)=>s.end('ok\\n')).listen(0,'127.0.0.1',function(){console.log(this.address().port)})",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<number>((resolve) =>
      server.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    const forwards: GuestForwards = { forward: () => Promise.resolve({ host: '127.0.0.1', port }) };
    const proxy = new ServiceProxy(forwards);
    const out = await proxy.apply('bench/alone', {
      algorithm: 'round-robin',
      health: { enabled: true, periodMs: 2000, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 2 },
      ports: [
        {
          name: '0',
          protocol: 'tcp',
          frontends: [{ kind: 'loadBalancer', address: '127.0.0.1', port: 0 }],
          backends: [{ uid: 'x', namespace: 'bench', name: 'x', port: 80 }],
        },
      ],
    });
    const lbPort = out['0']?.[0]?.listening ?? 0;
    await eventually(
      () => proxy.backends('bench/alone', '0')[0]?.healthy === true,
      'backend healthy',
      10_000,
    );
    const direct = `http://127.0.0.1:${port}/`;
    const lb = `http://127.0.0.1:${lbPort}/`;
    process.stdout.write(`(b) proxy alone: direct ${direct}, lb ${lb}\n`);
    const close = ['-H', 'Connection: close'];
    const runs = await series({
      'direct k-a': () => wrk(direct),
      'lb k-a': () => wrk(lb),
      'direct close': () => wrk(direct, close),
      'lb close': () => wrk(lb, close),
      'direct c=1': () => wrk(direct, [], true),
      'lb c=1': () => wrk(lb, [], true),
    });
    await proxy.stop();
    return runs;
  } finally {
    server.kill();
  }
}

/** (c): the synthetic backend in a fake pod, reached from another through the kernel path or directly. */
async function kernelPath(): Promise<Record<string, unknown>> {
  const node = await FakeNode.create('10.244.0.1');
  let server: ChildProcess | undefined;
  try {
    const backend = await node.addPod('b', '10.244.0.2');
    const client = await node.addPod('c', '10.244.0.3');
    server = spawn(
      'ip',
      [
        'netns',
        'exec',
        backend.netns,
        process.execPath,
        '-e',
        "require('http').createServer((q,s)=>s.end('ok\\n')).listen(8080,'0.0.0.0',()=>console.log('ready'))",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => server?.stdout?.once('data', resolve));
    await linuxServiceTable({ netns: node.netns, serviceCidr: '10.96.0.0/16' }).apply({
      table: 'hkbench_svc',
      gateway: node.gateway,
      services: [
        {
          key: 'bench/web',
          ports: [
            {
              protocol: 'tcp',
              frontends: [{ address: '10.96.0.80', port: 80 }],
              backends: [{ ip: backend.ip, port: 8080 }],
            },
          ],
        },
      ],
    });
    const direct = `http://${backend.ip}:8080/`;
    const svc = 'http://10.96.0.80/';
    process.stdout.write(`(c) kernel path, from a pod: direct ${direct}, service ${svc}\n`);
    const close = ['-H', 'Connection: close'];
    const latency: Record<string, unknown> = {};
    for (const mode of ['close', 'keepalive'] as const)
      latency[mode] = await alternateLatency(client.netns, direct, svc, mode);
    const runs = await series({
      'direct k-a': () => wrk(direct, [], false, client.netns),
      'svc k-a': () => wrk(svc, [], false, client.netns),
      'direct close': () => wrk(direct, close, false, client.netns),
      'svc close': () => wrk(svc, close, false, client.netns),
      'direct c=1': () => wrk(direct, [], true, client.netns),
      'svc c=1': () => wrk(svc, [], true, client.netns),
    });
    return { ...runs, latency };
  } finally {
    server?.kill();
    await node.destroy();
  }
}

/**
 * (c) latency: SAMPLES requests to each target from the client pod, alternating direct and via the
 * Service; p50/p99 per side and the added p99 (Service minus direct) against the 1 ms target.
 */
async function alternateLatency(
  netns: string,
  direct: string,
  svc: string,
  mode: 'close' | 'keepalive',
): Promise<Record<string, number>> {
  const client = join(repoRoot, 'dist', 'bench', 'support', 'latency-client.js');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'ip',
      ['netns', 'exec', netns, process.execPath, client, direct, svc, String(SAMPLES), mode],
      { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err === null ? resolve(stdout) : reject(new Error(`latency client: ${stderr}`)),
    ),
  );
  const { a, b } = JSON.parse(out) as { a: number[]; b: number[] };
  const r = {
    samples: a.length,
    directP50: round(pct(a, 50), 3),
    directP99: round(pct(a, 99), 3),
    serviceP50: round(pct(b, 50), 3),
    serviceP99: round(pct(b, 99), 3),
    addedP50Ms: round(pct(b, 50) - pct(a, 50), 3),
    addedP99Ms: round(pct(b, 99) - pct(a, 99), 3),
  };
  process.stdout.write(`(c) latency, ${mode}, alternating: ${JSON.stringify(r)}\n`);
  return r;
}

async function main(): Promise<void> {
  const load = [loadavg()];
  const a = CASES.has('a') ? await guests() : undefined;
  const b = CASES.has('b') ? await proxyAlone() : undefined;
  const c = CASES.has('c') ? await kernelPath() : undefined;
  load.push(loadavg());
  const all = [
    ['(a) guests', a, 'lb-1 backend', 'direct'],
    ['(a) guests', a, 'lb-2 backends', 'direct'],
    ['(a) guests', a, 'lb-1 c=1', 'direct c=1'],
    ['(b) proxy alone', b, 'lb k-a', 'direct k-a'],
    ['(b) proxy alone', b, 'lb close', 'direct close'],
    ['(b) proxy alone', b, 'lb c=1', 'direct c=1'],
    ['(c) kernel path', c, 'svc k-a', 'direct k-a'],
    ['(c) kernel path', c, 'svc close', 'direct close'],
    ['(c) kernel path', c, 'svc c=1', 'direct c=1'],
  ] as const;
  const rows = all.flatMap(([group, runs, lbName, directName]) =>
    runs === undefined ? [] : [[group, runs, lbName, directName] as const],
  );
  process.stdout.write('\nmedians over rounds (ratio and added p99: median of the per-round pairs)\n');
  const verdicts = rows.map(([group, runs, lbName, directName]) => {
    const lbRuns = runs[lbName] as WrkResult[];
    const directRuns = runs[directName] as WrkResult[];
    const lb = summary(lbRuns);
    const direct = summary(directRuns);
    // Pairs of the same round; a run that completed no request (a stalled guest) is left out.
    const pairs = lbRuns.flatMap((r, i) => {
      const d = directRuns[i];
      return d !== undefined && d.requests > 0 && r.requests > 0 ? [[r, d] as const] : [];
    });
    const ratio = median(pairs.map(([r, d]) => r.rps / d.rps));
    const added = median(pairs.map(([r, d]) => r.p99 - d.p99));
    const addedP50 = median(pairs.map(([r, d]) => r.p50 - d.p50));
    const line = `${group.padEnd(16)} ${lbName.padEnd(14)} ${lb.rps.toFixed(0).padStart(7)} req/s p99 ${lb.p99.toFixed(2)} ms | ${directName.padEnd(13)} ${direct.rps.toFixed(0).padStart(7)} req/s p99 ${direct.p99.toFixed(2)} ms | ratio ${ratio.toFixed(2)} added p50 ${addedP50.toFixed(2)} ms p99 ${added.toFixed(2)} ms`;
    process.stdout.write(`${line}\n`);
    return {
      group,
      lb: lbName,
      direct: directName,
      ratio,
      addedP50Ms: addedP50,
      addedP99Ms: added,
      lbSummary: lb,
      directSummary: direct,
    };
  });
  const result = {
    when: new Date().toISOString(),
    git: execFileSync('git', ['describe', '--always', '--dirty'], { cwd: repoRoot, encoding: 'utf8' }).trim(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: load },
    settings: { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, threads: THREADS },
    targets: TARGETS,
    verdicts,
    runs: { guests: a, proxyAlone: b, kernelPath: c },
  };
  // A run of some cases only is kept beside the full one, not over it.
  const file = CASES.size === 3 ? 'network.json' : `network-${[...CASES].sort().join('')}.json`;
  await writeFile(join(repoRoot, 'bench', 'results', file), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote bench/results/${file}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
