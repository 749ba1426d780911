/**
 * What authorization costs: create throughput and LIST latency for a ServiceAccount user bound by
 * RBAC (a RoleBinding to `edit`) against the admin token (system:masters, no rule read), in the
 * same run, with 1,000 other RoleBindings in the store. Rounds alternate which identity goes
 * first; both create at once, half the connections each, and creates/s is the median over rounds; LIST p50 is over every LIST of every round, the two
 * identities' LISTs alternating request by request on one connection. The load runs in a worker thread over real HTTPS.
 * Also, in process, the cost of the gate alone (authenticate + authorize) per request.
 *
 * Usage: npm run build && node dist/bench/rbac.js
 * Env: BENCH_CREATES (300 per identity per round), BENCH_ROUNDS (8), BENCH_LIST_RUNS (20),
 * BENCH_BINDINGS (1000), BENCH_ADMITS (50000).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { namespaceKind } from '../src/api/core/core.js';
import { serviceAccountKind } from '../src/api/core/serviceaccount.js';
import { roleBindingKind } from '../src/api/rbac/rbac.js';
import { startPlatform } from '../src/platform/platform.js';
import { Gate } from '../src/apiserver/auth/gate.js';
import type { ApiRequest } from '../src/apiserver/http.js';
import { dataPaths } from '../src/platform/paths.js';
import { ensureSigningKey } from '../src/platform/tokens.js';
import { machine } from './support/machine.js';
import { env, median, r1, r2 } from './support/stats.js';

const CREATES = env('BENCH_CREATES', 300);
const ROUNDS = env('BENCH_ROUNDS', 8);
const ADMITS = env('BENCH_ADMITS', 50_000);
const LIST_RUNS = env('BENCH_LIST_RUNS', 20);
const BINDINGS = env('BENCH_BINDINGS', 1000);
const CONCURRENCY = 8;
const NS = 'bench-rbac';
const VMS = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;
const TARGET_RATIO = 0.9;

interface Task {
  op: 'creates' | 'lists';
  /**
   * A second identity's token: its LISTs alternate with the first's request by request, its
   * creates run alongside the first's on half the connections.
   */
  other?: string;
  base: string;
  ca: string;
  token: string;
  prefix: string;
  count: number;
}

function send(
  agent: Agent,
  t: Task,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, t.base),
      {
        method,
        agent,
        headers: {
          Authorization: `Bearer ${t.token}`,
          'Content-Type': 'application/json',
          ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const vmBody = (name: string): string =>
  JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name },
    spec: {
      runStrategy: 'Halted',
      template: { spec: { domain: { devices: {}, memory: { guest: '128Mi' } } } },
    },
  });

/** Creates per second with CONCURRENCY keep-alive clients, or LIST times in ms. */
async function run(t: Task): Promise<number | number[]> {
  const agents = Array.from(
    { length: t.op === 'creates' ? CONCURRENCY : 1 },
    () => new Agent({ keepAlive: true, maxSockets: 1, ca: t.ca }),
  );
  await Promise.all(agents.map((a) => send(a, t, 'GET', `${VMS}?limit=1`)));
  try {
    if (t.op === 'lists') {
      const times: number[] = [];
      for (let i = 0; i < 2 * t.count; i++) {
        const t0 = performance.now();
        const r = await send(
          agents[0] as Agent,
          i % 2 === 0 ? t : { ...t, token: t.other ?? t.token },
          'GET',
          VMS,
        );
        if (r.status !== 200) throw new Error(`LIST: ${r.status} ${r.body.slice(0, 300)}`);
        times.push(performance.now() - t0);
      }
      return times;
    }
    // Half the clients create with each token, at the same time: both rates are measured over the
    // same window (until either identity has made `count`), so the machine's load is shared alike.
    const done = [0, 0];
    let stop = false;
    const t0 = performance.now();
    await Promise.all(
      agents.map(async (a, i) => {
        const side = i % 2;
        const as = side === 0 ? t : { ...t, token: t.other ?? t.token };
        for (let n = 0; !stop; n++) {
          const r = await send(a, as, 'POST', VMS, vmBody(`${t.prefix}-${side}-${i}-${n}`));
          if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body.slice(0, 300)}`);
          if (!stop) done[side] = (done[side] ?? 0) + 1;
          if ((done[side] ?? 0) >= t.count) stop = true;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return done.map((d) => d / seconds);
  } finally {
    for (const a of agents) a.destroy();
  }
}

function inWorker(t: Task): Promise<number | number[]> {
  const w = new Worker(fileURLToPath(import.meta.url), { workerData: t });
  return new Promise((resolve, reject) => {
    w.once('message', (m: { result?: number | number[]; error?: string }) => {
      void w.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m.result ?? NaN);
    });
    w.once('error', reject);
  });
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hikube-bench-rbac-'));
  const started = loadavg()[0];
  const p = await startPlatform({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    accel: 'tcg',
    metrics: { intervalMs: 3_600_000 },
  });
  try {
    const ca = await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8');
    const r = p.registry;
    for (let i = 0; i < 10; i++) r.create(namespaceKind, '', { metadata: { name: `${NS}-${i}` } });
    r.create(namespaceKind, '', { metadata: { name: NS } });
    r.create(serviceAccountKind, NS, { metadata: { name: 'user', namespace: NS } });
    const binding = (ns: string, name: string, subject: Record<string, string>, role: string) =>
      r.create(roleBindingKind, ns, {
        metadata: { name, namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [subject],
      });
    // Other users' bindings, half in the benchmark's namespace, half spread over ten others.
    for (let i = 0; i < BINDINGS - 1; i++)
      binding(
        i % 2 === 0 ? NS : `${NS}-${i % 10}`,
        `other-${i}`,
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `user-${i}` },
        'view',
      );
    binding(NS, 'user-edit', { kind: 'ServiceAccount', name: 'user', namespace: NS }, 'edit');
    const ep = { base: p.url, ca };
    const issued = await send(
      new Agent({ ca }),
      { ...ep, op: 'creates', token: p.token, prefix: '', count: 0 },
      'POST',
      `/api/v1/namespaces/${NS}/serviceaccounts/user/token`,
      '{"spec":{}}',
    );
    const saToken = (JSON.parse(issued.body) as { status: { token: string } }).status.token;
    const who = { admin: p.token, serviceaccount: saToken };
    const creates: Record<string, number[]> = { admin: [], serviceaccount: [] };
    const lists: Record<string, number[]> = { admin: [], serviceaccount: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (['admin', 'serviceaccount'] as const) : (['serviceaccount', 'admin'] as const);
      const [first, second] = order;
      const rates = (await inWorker({
        ...ep,
        op: 'creates',
        token: who[first],
        other: who[second],
        prefix: `r${round}`,
        count: CREATES,
      })) as number[];
      creates[first]?.push(rates[0] ?? NaN);
      creates[second]?.push(rates[1] ?? NaN);
      const times = (await inWorker({
        ...ep,
        op: 'lists',
        token: who[first],
        other: who[second],
        prefix: '',
        count: LIST_RUNS,
      })) as number[];
      lists[first]?.push(...times.filter((_, i) => i % 2 === 0));
      lists[second]?.push(...times.filter((_, i) => i % 2 === 1));
    }
    // The gate alone, in process: what authentication and RBAC add to each request.
    const gate = new Gate({
      registry: r,
      adminTokens: [p.token],
      scrapeTokens: [],
      signingKey: await ensureSigningKey(dataPaths(dataDir).signingKey),
      now: () => new Date(),
    });
    const admitMicros = (token: string): number => {
      const req = {
        method: 'GET',
        url: VMS,
        headers: { authorization: `Bearer ${token}` },
        socket: {},
      } as unknown as ApiRequest;
      const query = new URLSearchParams();
      const t0 = performance.now();
      for (let i = 0; i < ADMITS; i++) gate.admit(req, undefined, VMS, query);
      return ((performance.now() - t0) * 1000) / ADMITS;
    };
    admitMicros(p.token);
    admitMicros(saToken);
    const admit = { admin: admitMicros(p.token), serviceaccount: admitMicros(saToken) };
    gate.close();
    const c = {
      admin: median(creates['admin'] ?? []),
      serviceaccount: median(creates['serviceaccount'] ?? []),
    };
    const l = { admin: median(lists['admin'] ?? []), serviceaccount: median(lists['serviceaccount'] ?? []) };
    const result = {
      machine: { ...machine(), loadAverageAtStart: started, loadAverageAtEnd: loadavg()[0] },
      roleBindings: BINDINGS,
      createsPerRound: CREATES,
      rounds: ROUNDS,
      listObjects: r.store.list('kubevirt.io/virtualmachines', NS).items.length,
      createsPerSecond: {
        admin: r1(c.admin),
        serviceAccount: r1(c.serviceaccount),
        ratio: r2(c.serviceaccount / c.admin),
      },
      gateMicrosPerRequest: { admin: r2(admit.admin), serviceAccount: r2(admit.serviceaccount) },
      listP50Ms: {
        admin: r1(l.admin),
        serviceAccount: r1(l.serviceaccount),
        ratio: r2(l.admin / l.serviceaccount),
      },
      target: `ratio >= ${TARGET_RATIO}`,
      met: c.serviceaccount / c.admin >= TARGET_RATIO && l.admin / l.serviceaccount >= TARGET_RATIO,
      rawRounds: { creates, lists },
    };
    await writeFile(
      join(fileURLToPath(new URL('../../bench/results/', import.meta.url)), 'rbac.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(`RBAC cost with ${BINDINGS} RoleBindings, medians of ${ROUNDS} rounds`);
    console.log(
      `creates/s   admin ${result.createsPerSecond.admin}   service account ${result.createsPerSecond.serviceAccount}   ratio ${result.createsPerSecond.ratio}`,
    );
    console.log(
      `LIST p50 ms admin ${result.listP50Ms.admin}   service account ${result.listP50Ms.serviceAccount}   ratio ${result.listP50Ms.ratio}   (${result.listObjects} VMs)`,
    );
    console.log(
      `gate µs/request admin ${result.gateMicrosPerRequest.admin}   service account ${result.gateMicrosPerRequest.serviceAccount}`,
    );
    console.log(`target ${result.target}: ${result.met ? 'met' : 'NOT met'}`);
  } finally {
    await p.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else
  run(workerData as Task).then(
    (result) => parentPort?.postMessage({ result }),
    (err: unknown) =>
      parentPort?.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
