/**
 * The pod network with real guests (issue 14's benchmark, the guest half; bench/network.ts (c) has
 * the synthetic backend):
 * (d) Service throughput through the kernel path (the host's wrk to the cluster IP, DNATed by the
 *     `ip PREFIX_svc` table) against the backend guest's pod IP directly, same run, alternating;
 * Not done yet: VM-to-VM TCP throughput on the pod network against the same pair on a secondary
 * network (a first try driving busybox nc over the serial consoles stalled; the pair and the
 * secondary network are already set up here for it).
 * Under TCG the guests' CPU is the bottleneck, so both compare paths, not line rates.
 * Usage: npm run build && node dist/bench/network-pod.js   (root: it makes namespaces)
 * Env: BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_CONNECTIONS (16).
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { guestVm, httpName, serverUserData } from '../test/support/network.js';
import { kubectlOk, repoRoot, startTestPlatform, type TestPlatform } from '../test/support/platform.js';
import { eventually } from '../test/support/wait.js';
import { machine } from './support/machine.js';
import { env, median } from './support/stats.js';

const ROUNDS = env('BENCH_ROUNDS', 3);
const SECONDS = env('BENCH_SECONDS', 5);
const CONNECTIONS = env('BENCH_CONNECTIONS', 16);
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

const podIp = async (p: TestPlatform, name: string): Promise<string> =>
  eventually(
    async () => {
      const r = await p.kubectl(['get', 'vmi', name, '-o', 'jsonpath={.status.interfaces[0].ipAddress}']);
      return /^10\./.test(r.stdout.trim()) ? r.stdout.trim() : undefined;
    },
    `${name}'s pod IP`,
    180_000,
    500,
  );

async function main(): Promise<void> {
  const p = await startTestPlatform({
    network: { mode: 'pod', podCidr: `10.245.${R}.0/24`, serviceCidr: `10.97.${R}.0/24` },
  });
  try {
    const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
    await ok(
      ['apply', '-f', '-'],
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
      }),
    );
    const dhcp1 =
      'for i in 1 2 3 4 5; do udhcpc -i eth1 -s /usr/share/udhcpc/default.script -q -n -t 3 -T 1 >/dev/null 2>&1 && break; done; ip route del default dev eth1 2>/dev/null; true';
    for (const name of ['bench-s', 'bench-c'])
      await ok(
        ['apply', '-f', '-'],
        guestVm(name, { labels: { app: name }, userData: serverUserData(dhcp1), networks: { side: 'side' } }),
      );
    const s = await podIp(p, 'bench-s');
    const c = await podIp(p, 'bench-c');
    await eventually(
      async () => (await httpName(s, 8080, 2000).catch(() => '')) === 'bench-s',
      'bench-s',
      180_000,
      500,
    );
    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: { selector: { app: 'bench-s' }, ports: [{ port: 80, targetPort: 8080 }] },
      }),
    );
    const cip = (await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
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
    const result = {
      when: new Date().toISOString(),
      git: execFileSync('git', ['describe', '--always', '--dirty'], {
        cwd: repoRoot,
        encoding: 'utf8',
      }).trim(),
      machine: machine(),
      settings: { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, client: c },
      service: {
        directRps: rps('direct'),
        serviceRps: rps('service'),
        ratio: rps('service') / rps('direct'),
        addedP99Ms: p99('service') - p99('direct'),
        runs: d,
      },
    };
    process.stdout.write(`${JSON.stringify({ service: { ...result.service, runs: undefined } })}\n`);
    await writeFile(
      join(repoRoot, 'bench', 'results', 'network-pod.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    process.stdout.write('wrote bench/results/network-pod.json\n');
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
