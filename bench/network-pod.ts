/**
 * The pod network with real guests (issue 14's benchmark, the guest half; bench/network.ts (c) has
 * the synthetic backend):
 * (d) Service throughput through the kernel path (the host's wrk to the cluster IP, DNATed by the
 *     `ip PREFIX_svc` table) against the backend guest's pod IP directly, same run, alternating;
 * (e) VM-to-VM TCP throughput: one guest streaming /dev/zero with busybox nc to another, on the pod
 *     network (pod IP to pod IP, routed through the host) and on an isolated secondary network (one
 *     bridge in a segment namespace), alternating in the guest's own loop; measured on the host
 *     from the receiving guest's tap counters (bench/support/vm-to-vm.ts).
 * Under TCG the guests' CPU is the bottleneck, so both compare paths, not line rates.
 * Usage: npm run build && node dist/bench/network-pod.js   (root: it makes namespaces)
 * Env: BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_CONNECTIONS (16), BENCH_STREAM_SECONDS (60:
 * how long (e) samples), BENCH_CASES (`d,e`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { guestVm, httpName, serverUserData } from '../test/support/network.js';
import { kubectlOk, repoRoot, startTestPlatform, type TestPlatform } from '../test/support/platform.js';
import { eventually } from '../test/support/wait.js';
import { machine } from './support/machine.js';
import { env, median, round } from './support/stats.js';
import { pathRate, sampleCounters, sinkScript, sourceScript, step } from './support/vm-to-vm.js';
import { readNicCounters } from '../src/network/counters.js';

const ROUNDS = env('BENCH_ROUNDS', 3);
const SECONDS = env('BENCH_SECONDS', 5);
const CONNECTIONS = env('BENCH_CONNECTIONS', 16);
const STREAM_SECONDS = env('BENCH_STREAM_SECONDS', 60);
const CASES = new Set((process.env['BENCH_CASES'] ?? 'd,e').split(',').map((c) => c.trim()));
const SINK_PORT = 5001;
const R = 1 + Math.floor(Math.random() * 250);

interface Wrk {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
}

const ms = (t: string): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(t.trim());
  if (m === null) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
};

function wrk(url: string): Promise<Wrk> {
  return new Promise((resolve, reject) => {
    const args = ['-t', '2', '-c', String(CONNECTIONS), '-d', `${SECONDS}s`, '--latency', url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', (err) => reject(new Error(`wrk: ${err.message}`)));
    child.once('exit', () =>
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
        p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
        p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''),
        requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
      }),
    );
  });
}

const ipOf = async (p: TestPlatform, name: string, iface: string): Promise<string> =>
  eventually(
    async () => {
      const path = `{.status.interfaces[?(@.name=="${iface}")].ipAddress}`;
      const r = await p.kubectl(['get', 'vmi', name, '-o', `jsonpath=${path}`]);
      return /^\d+\.\d+\.\d+\.\d+$/.test(r.stdout.trim()) ? r.stdout.trim() : undefined;
    },
    `${name}'s ${iface} address`,
    180_000,
    500,
  );

const sideNetwork = (): string =>
  JSON.stringify({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'side', namespace: 'default' },
    spec: {
      config: JSON.stringify({
        cniVersion: '0.3.1',
        type: 'bridge',
        ipam: {
          type: 'host-local',
          subnet: `192.168.${R}.0/24`,
          rangeStart: `192.168.${R}.10`,
          rangeEnd: `192.168.${R}.20`,
        },
      }),
    },
  });

const dhcp1 =
  'for i in 1 2 3 4 5; do udhcpc -i eth1 -s /usr/share/udhcpc/default.script -q -n -t 3 -T 1 >/dev/null 2>&1 && break; done; ip route del default dev eth1 2>/dev/null; true';

/** (d): wrk from the host to the cluster IP and to the pod IP, alternating. */
async function serviceCase(p: TestPlatform, s: string): Promise<Record<string, unknown>> {
  await kubectlOk(
    p,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'bench-s' }, ports: [{ port: 80, targetPort: 8080 }] },
    }),
  );
  const cip = (await kubectlOk(p, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  await eventually(
    async () => (await httpName(cip, 80, 2000).catch(() => '')) === 'bench-s',
    'the Service',
    60_000,
    500,
  );
  const d: Record<string, Wrk[]> = { direct: [], service: [] };
  await wrk(`http://${s}:8080/`); // warm-up: TCG translates the guest's path once
  for (let i = 0; i < ROUNDS; i++) {
    d['direct']?.push(await wrk(`http://${s}:8080/`));
    d['service']?.push(await wrk(`http://${cip}:80/`));
    process.stdout.write(
      `(d) round ${i + 1}: ${JSON.stringify(d['direct']?.at(-1))} ${JSON.stringify(d['service']?.at(-1))}\n`,
    );
  }
  const rps = (k: string): number => median((d[k] ?? []).map((x) => x.rps));
  const p99 = (k: string): number => median((d[k] ?? []).map((x) => x.p99));
  return {
    directRps: rps('direct'),
    serviceRps: rps('service'),
    ratio: rps('service') / rps('direct'),
    addedP99Ms: p99('service') - p99('direct'),
    runs: d,
  };
}

/**
 * (e): bench-c streams to bench-s's pod IP, then to its secondary-network address, in a loop of its
 * own; the host samples bench-s's two taps.
 */
async function vmToVmCase(p: TestPlatform, s: string, side: string): Promise<Record<string, unknown>> {
  const uid = (await kubectlOk(p, ['get', 'vmi', 'bench-s', '-o', 'jsonpath={.metadata.uid}'])).trim();
  const source = sourceScript([s, side], SINK_PORT, 8, 2);
  await step('start the sending guest bench-c', 30_000, () =>
    kubectlOk(
      p,
      ['apply', '-f', '-'],
      guestVm('bench-c', {
        labels: { app: 'bench-c' },
        userData: serverUserData(`${dhcp1}\n${source}`),
        networks: { side: 'side' },
      }),
    ),
  );
  const pod = p.network.pod;
  if (pod === undefined) throw new Error('the platform runs without the pod network');
  const read = async (): Promise<{ pod: number; side: number }> => {
    const [podNics, sideNics] = await Promise.all([pod.counters(), readNicCounters(p.network.segments)]);
    const a = podNics.get(`${uid}/default`)?.rxBytes;
    const b = sideNics.get(`${uid}/side`)?.rxBytes;
    if (a === undefined || b === undefined) throw new Error('bench-s has no counters yet');
    return { pod: a, side: b };
  };
  await step('bench-s to receive its first megabyte from bench-c', 240_000, async () => {
    const first = await eventually(read, "bench-s's tap counters", 60_000, 500);
    await eventually(
      async () => {
        const now = await read();
        return now.pod + now.side > first.pod + first.side + 1e6 ? true : undefined;
      },
      'a stream from bench-c',
      230_000,
      1000,
    );
  });
  const samples = await step(
    `sample bench-s's taps for ${STREAM_SECONDS} s`,
    STREAM_SECONDS * 1000 + 60_000,
    () => sampleCounters(read, STREAM_SECONDS * 1000),
  );
  const mbit = (path: string): { mbitPerS: number; seconds: number; bursts: number } => {
    const r = pathRate(samples, path);
    return {
      mbitPerS: round((r.bytesPerSecond * 8) / 1e6, 1),
      seconds: round(r.seconds, 1),
      bursts: r.bursts,
    };
  };
  const result = { pod: mbit('pod'), secondary: mbit('side') };
  process.stdout.write(`(e) ${JSON.stringify(result)}\n`);
  return { ...result, ratio: round(result.pod.mbitPerS / result.secondary.mbitPerS), samples };
}

async function main(): Promise<void> {
  const p = await startTestPlatform({
    network: { mode: 'pod', podCidr: `10.245.${R}.0/24`, serviceCidr: `10.97.${R}.0/24` },
  });
  try {
    await kubectlOk(p, ['apply', '-f', '-'], sideNetwork());
    await step('start the receiving guest bench-s', 30_000, () =>
      kubectlOk(
        p,
        ['apply', '-f', '-'],
        guestVm('bench-s', {
          labels: { app: 'bench-s' },
          userData: serverUserData(`${dhcp1}\n${sinkScript(SINK_PORT)}`),
          networks: { side: 'side' },
        }),
      ),
    );
    const s = await step("bench-s's pod IP", 200_000, () => ipOf(p, 'bench-s', 'default'));
    const side = await step("bench-s's secondary address", 200_000, () => ipOf(p, 'bench-s', 'side'));
    await step('bench-s to serve HTTP', 200_000, () =>
      eventually(
        async () => (await httpName(s, 8080, 2000).catch(() => '')) === 'bench-s',
        'bench-s',
        180_000,
        500,
      ),
    );
    const result: Record<string, unknown> = {
      when: new Date().toISOString(),
      git: execFileSync('git', ['describe', '--always', '--dirty'], {
        cwd: repoRoot,
        encoding: 'utf8',
      }).trim(),
      machine: machine(),
      settings: { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, streamSeconds: STREAM_SECONDS },
    };
    if (CASES.has('d')) result['service'] = await serviceCase(p, s);
    if (CASES.has('e')) result['vmToVm'] = await vmToVmCase(p, s, side);
    process.stdout.write(
      `${JSON.stringify({ ...result, service: undefined, vmToVm: undefined, machine: undefined })}\n`,
    );
    const file = CASES.size === 2 ? 'network-pod.json' : `network-pod-${[...CASES].sort().join('')}.json`;
    await writeFile(join(repoRoot, 'bench', 'results', file), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`wrote bench/results/${file}\n`);
  } finally {
    await p.network.pod?.destroyAll();
    await p.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
