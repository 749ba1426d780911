/**
 * API server benchmarks over real HTTPS with the bearer token, against a platform started in a
 * temp dir: (a) create throughput with 8 keep-alive clients, (b) LIST latency of 10,000 VMs as
 * JSON and as the Table kubectl asks for, (c) watch latency from a write's response to its event.
 *
 * The platform (and the baseline server) run on this process's main thread; the load generator
 * runs in a worker thread, so the clients' TLS and JSON work does not share the server's event
 * loop (as with kubectl, a separate process). Each figure has a baseline measured in the same run:
 * a bare node https server (same certificate type, same client code) answering fixed bytes, and
 * JSON.stringify of the same 10k objects.
 *
 * Each figure also has the server's CPU per operation: the main thread's CPU time (the platform's
 * event loop, SQLite included; the client worker excluded) around the batch, until the platform is
 * quiet again, divided by its operations. On a loaded machine wall-clock figures vary 2–5× between
 * runs; CPU per operation is what to compare between commits. The JSON also records the server's
 * heap after the fill (after a full GC): a bigger live heap makes every LIST's garbage collection
 * dearer, in the platform's code and the benchmark's own JSON.stringify alike.
 *
 * Usage: npm run bench   (build, then node dist/bench/apiserver.js)
 * Env: BENCH_CREATES (3000 per round), BENCH_CREATE_ROUNDS (3), BENCH_LIST_OBJECTS (10000),
 * BENCH_LIST_RUNS (20), BENCH_WATCH_UPDATES (500); BENCH_PLATFORM: another built tree's
 * dist/src/platform/platform.js to measure instead of this one's (so that two commits are measured
 * by the same benchmark code).
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ensureServingCerts } from '../src/apiserver/tls.js';
import type { startPlatform as StartPlatform } from '../src/platform/platform.js';
import { ownThreadId, serverCpuMs, settle, type CpuCost } from './support/cpu.js';
import { gitDescribe, machine } from './support/machine.js';
import { env, median, pct, r1, r2 } from './support/stats.js';

const CREATES = env('BENCH_CREATES', 3000);
const CREATE_ROUNDS = env('BENCH_CREATE_ROUNDS', 3);
const LIST_OBJECTS = env('BENCH_LIST_OBJECTS', 10_000);
const LIST_RUNS = env('BENCH_LIST_RUNS', 20);
const WATCH_UPDATES = env('BENCH_WATCH_UPDATES', 500);
const CONCURRENCY = 8;
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const VMS = (ns: string): string => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`;

/** A full garbage collection (the flag set at run time gives a new context its `gc`). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const PLATFORM_MODULE = process.env['BENCH_PLATFORM'] ?? '';

/** startPlatform of this tree, or of the tree BENCH_PLATFORM points into. */
async function loadPlatform(): Promise<{ start: typeof StartPlatform; commit: string }> {
  if (PLATFORM_MODULE === '') {
    const own = await import('../src/platform/platform.js');
    return { start: own.startPlatform, commit: gitDescribe() };
  }
  const other = (await import(PLATFORM_MODULE)) as { startPlatform: typeof StartPlatform };
  return { start: other.startPlatform, commit: gitDescribe(dirname(PLATFORM_MODULE)) };
}

const TARGETS = { createsPerSecond: 1000, listMs: 500, watchP99Ms: 20 };

// ---------------------------------------------------------------------------------------------
// Shared: tasks for the client worker and a tiny HTTPS client.

interface Endpoint {
  base: string;
  token: string;
  ca: string;
}

type Task =
  | { op: 'creates'; ep: Endpoint; path: string; prefix: string; total: number; concurrency: number }
  | { op: 'lists'; ep: Endpoint; path: string; accept: string; warmup: number; runs: number; paged: boolean }
  | {
      op: 'watch';
      ep: Endpoint;
      watchPath: string;
      /** The write's path, `{name}` standing for the object updated. */
      writeTemplate: string;
      writeMethod: string;
      names: number;
      updates: number;
      warmup: number;
    };

interface CreatesResult {
  ok: number;
  errors: number;
  firstError: string;
  elapsedMs: number;
}
interface ListsResult {
  runsMs: number[];
  bytes: number;
  items: number;
  pages: number;
}
interface WatchResult {
  /** event arrival minus write response end, per update (negative: the event came first). */
  respToEventMs: number[];
  /** event arrival minus write request start. */
  reqToEventMs: number[];
  /** write round trip. */
  writeMs: number[];
}

interface Reply {
  status: number;
  body: Buffer;
}

function send(
  agent: Agent,
  ep: Endpoint,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, ep.base),
      {
        method,
        agent,
        headers: {
          Authorization: `Bearer ${ep.token}`,
          ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const keepAlive = (ep: Endpoint, maxSockets = 1): Agent =>
  new Agent({ keepAlive: true, maxSockets, ca: ep.ca });

const vmBody = (name: string): string =>
  JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, labels: { app: 'bench' } },
    spec: {
      runStrategy: 'Halted',
      template: { spec: { domain: { devices: {}, memory: { guest: '128Mi' } } } },
    },
  });

// ---------------------------------------------------------------------------------------------
// The client worker.

async function runCreates(t: Extract<Task, { op: 'creates' }>): Promise<CreatesResult> {
  let next = 0;
  let ok = 0;
  let errors = 0;
  let firstError = '';
  const agents = Array.from({ length: t.concurrency }, () => keepAlive(t.ep));
  const client = async (agent: Agent): Promise<void> => {
    while (next < t.total) {
      const i = next++;
      const r = await send(
        agent,
        t.ep,
        'POST',
        t.path,
        { 'Content-Type': 'application/json' },
        vmBody(`${t.prefix}-${i}`),
      );
      if (r.status === 201) ok++;
      else {
        errors++;
        if (firstError === '') firstError = `${r.status} ${r.body.toString('utf8').slice(0, 300)}`;
      }
    }
  };
  // open the connections first: the measurement is of requests, not TLS handshakes
  await Promise.all(agents.map((a) => send(a, t.ep, 'GET', '/healthz', {})));
  const t0 = performance.now();
  await Promise.all(agents.map((a) => client(a)));
  const elapsedMs = performance.now() - t0;
  for (const a of agents) a.destroy();
  return { ok, errors, firstError, elapsedMs };
}

async function runLists(t: Extract<Task, { op: 'lists' }>): Promise<ListsResult> {
  const agent = keepAlive(t.ep);
  const headers = { Accept: t.accept };
  const once = async (): Promise<{
    ms: number;
    last: Reply;
    bytes: number;
    items: number;
    pages: number;
  }> => {
    const t0 = performance.now();
    let path = t.path + (t.paged ? '?limit=500' : '');
    let bytes = 0;
    let items = 0;
    let pages = 0;
    for (;;) {
      const r = await send(agent, t.ep, 'GET', path, headers);
      if (r.status !== 200)
        throw new Error(`LIST ${path}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
      bytes += r.body.length;
      pages++;
      if (!t.paged) return { ms: performance.now() - t0, last: r, bytes, items, pages };
      // a paged walk must read each page's continue token, as kubectl does
      const page = JSON.parse(r.body.toString('utf8')) as {
        rows?: unknown[];
        items?: unknown[];
        metadata?: { continue?: string };
      };
      items += (page.rows ?? page.items ?? []).length;
      const token = page.metadata?.continue ?? '';
      if (token === '') return { ms: performance.now() - t0, last: r, bytes, items, pages };
      path = `${t.path}?limit=500&continue=${encodeURIComponent(token)}`;
    }
  };
  await send(agent, t.ep, 'GET', '/healthz', {});
  for (let i = 0; i < t.warmup; i++) await once();
  const runsMs: number[] = [];
  let last: Awaited<ReturnType<typeof once>> | undefined;
  for (let i = 0; i < t.runs; i++) {
    last = await once();
    runsMs.push(last.ms);
  }
  agent.destroy();
  if (last === undefined) throw new Error('no runs');
  let items = last.items;
  if (!t.paged) {
    const body = JSON.parse(last.last.body.toString('utf8')) as { rows?: unknown[]; items?: unknown[] };
    items = (body.rows ?? body.items ?? []).length;
  }
  return { runsMs, bytes: last.bytes, items, pages: last.pages };
}

async function runWatch(t: Extract<Task, { op: 'watch' }>): Promise<WatchResult> {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  let buffer = '';
  let streamError: Error | undefined;
  const agent = keepAlive(t.ep);
  const watchAgent = keepAlive(t.ep);
  let watchReq: ReturnType<typeof request> | undefined;
  const connected = new Promise<void>((resolve, reject) => {
    watchReq = request(
      new URL(t.watchPath, t.ep.base),
      { agent: watchAgent, headers: { Authorization: `Bearer ${t.ep.token}` } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`watch: HTTP ${res.statusCode ?? 0}`));
        resolve();
        res.on('data', (chunk: Buffer) => {
          const now = performance.now();
          buffer += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.trim() === '') continue;
            const ev = JSON.parse(line) as {
              type: string;
              object: { metadata?: { labels?: Record<string, string> } };
            };
            const seq = ev.object.metadata?.labels?.['seq'];
            if (ev.type !== 'MODIFIED' || seq === undefined || arrivals.has(seq)) continue;
            arrivals.set(seq, now);
            waiters.get(seq)?.();
          }
        });
        res.on('error', (err: Error) => (streamError = err));
      },
    );
    watchReq.on('error', (err: Error) => {
      streamError = err;
      reject(err);
    });
    watchReq.end();
  });
  await connected;
  await send(agent, t.ep, 'GET', '/healthz', {});
  const result: WatchResult = { respToEventMs: [], reqToEventMs: [], writeMs: [] };
  for (let n = 0; n < t.warmup + t.updates; n++) {
    const seq = String(n);
    const arrived = new Promise<void>((resolve) => {
      if (arrivals.has(seq)) resolve();
      else waiters.set(seq, resolve);
    });
    const path = t.writeTemplate.replace('{name}', `w-${n % t.names}`);
    const body = JSON.stringify({ metadata: { labels: { seq } } });
    const t0 = performance.now();
    const r = await send(
      agent,
      t.ep,
      t.writeMethod,
      path,
      { 'Content-Type': 'application/merge-patch+json' },
      body,
    );
    const t1 = performance.now();
    if (r.status !== 200)
      throw new Error(`write ${path}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      arrived,
      new Promise<void>((_, reject) => {
        timer = setTimeout(
          () => reject(streamError ?? new Error(`no watch event for update ${seq} within 5 s`)),
          5000,
        );
      }),
    ]);
    clearTimeout(timer);
    waiters.delete(seq);
    const te = arrivals.get(seq) ?? NaN;
    if (n >= t.warmup) {
      result.respToEventMs.push(te - t1);
      result.reqToEventMs.push(te - t0);
      result.writeMs.push(t1 - t0);
    }
  }
  watchReq?.destroy();
  agent.destroy();
  watchAgent.destroy();
  return result;
}

function clientWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('not a worker');
  port.postMessage({ tid: ownThreadId() });
  port.on('message', (msg: { id: number; task: Task }) => {
    const run = async (): Promise<unknown> => {
      switch (msg.task.op) {
        case 'creates':
          return runCreates(msg.task);
        case 'lists':
          return runLists(msg.task);
        case 'watch':
          return runWatch(msg.task);
      }
    };
    run().then(
      (result) => port.postMessage({ id: msg.id, result }),
      (err: unknown) =>
        port.postMessage({
          id: msg.id,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The main thread: platform, baseline server, orchestration, report.

class Client {
  private readonly worker: Worker;
  /** The worker's thread id, once it said it: left out of the server's CPU. */
  readonly tid: Promise<number>;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: 'client' } });
    this.tid = new Promise((resolve) =>
      this.worker.once('message', (msg: { tid: number }) => resolve(msg.tid)),
    );
    this.worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(msg.error));
      else p?.resolve(msg.result);
    });
    this.worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  creates(t: Omit<Extract<Task, { op: 'creates' }>, 'op'>): Promise<CreatesResult> {
    return this.call({ op: 'creates', ...t }) as Promise<CreatesResult>;
  }
  lists(t: Omit<Extract<Task, { op: 'lists' }>, 'op'>): Promise<ListsResult> {
    return this.call({ op: 'lists', ...t }) as Promise<ListsResult>;
  }
  watch(t: Omit<Extract<Task, { op: 'watch' }>, 'op'>): Promise<WatchResult> {
    return this.call({ op: 'watch', ...t }) as Promise<WatchResult>;
  }

  private call(task: Task): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, task });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * The baseline: a bare node https server. POST answers a fixed 201 JSON (the size of a created VM)
 * after reading the body; GET /list/<form> answers pre-serialized bytes; GET /watch streams lines
 * and PATCH /write/<name> answers 200 after writing one event line to every open watch.
 */
class Baseline {
  private readonly server: Server;
  private readonly lists = new Map<string, Buffer>();
  private readonly watchers = new Set<ServerResponse>();
  private readonly created: Buffer;

  constructor(key: string, cert: string, created: string) {
    this.created = Buffer.from(created);
    this.server = createServer({ key, cert }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  setList(name: string, body: Buffer): void {
    this.lists.set(name, body);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (req.method === 'POST') {
        res
          .writeHead(201, {
            'Content-Type': 'application/json',
            'Content-Length': String(this.created.length),
          })
          .end(this.created);
      } else if (req.method === 'GET' && url.startsWith('/list/')) {
        const body = this.lists.get(url.slice('/list/'.length)) ?? Buffer.from('{}');
        res
          .writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) })
          .end(body);
      } else if (req.method === 'GET' && url.startsWith('/watch')) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        this.watchers.add(res);
        res.on('close', () => this.watchers.delete(res));
      } else if (req.method === 'PATCH' && url.startsWith('/write/')) {
        const patch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          metadata: { labels: Record<string, string> };
        };
        const line = `{"type":"MODIFIED","object":${JSON.stringify({ metadata: { name: url.slice(7), labels: patch.metadata.labels } })}}\n`;
        for (const w of this.watchers) w.write(line);
        res
          .writeHead(200, {
            'Content-Type': 'application/json',
            'Content-Length': String(this.created.length),
          })
          .end(this.created);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      }
    });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const log = (msg: string): void =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'hikube-bench-'));
  const measured = await loadPlatform();
  const platform = await measured.start({ dataDir, host: '127.0.0.1', port: 0 });
  const ca = await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8');
  const ep: Endpoint = { base: platform.url, token: platform.token, ca };
  const serving = await ensureServingCerts(join(dataDir, 'pki'), ['127.0.0.1']);
  const created = JSON.stringify({
    ...(JSON.parse(vmBody('baseline-0')) as Record<string, unknown>),
    metadata: {
      name: 'baseline-0',
      namespace: 'bench',
      uid: '00000000-0000-0000-0000-000000000000',
      resourceVersion: '1',
      generation: 1,
      creationTimestamp: new Date().toISOString(),
      labels: { app: 'bench' },
    },
  });
  const baseline = new Baseline(serving.key, serving.cert, created);
  const bep: Endpoint = { base: await baseline.listen(), token: platform.token, ca };
  const client = new Client();
  const results: Record<string, unknown> = {
    machine: machine(),
    platformCommit: measured.commit,
    platformModule: PLATFORM_MODULE === '' ? 'this tree' : PLATFORM_MODULE,
    date: new Date().toISOString(),
    targets: TARGETS,
  };

  const clientTid = await client.tid;
  const cost = <T>(run: () => Promise<T>): Promise<CpuCost<T>> => serverCpuMs(clientTid, run);
  try {
    // namespaces, over the API
    const agent = keepAlive(ep, 4);
    for (const name of ['bench', 'bench-warm', 'bench-watch']) {
      const r = await send(
        agent,
        ep,
        'POST',
        '/api/v1/namespaces',
        { 'Content-Type': 'application/json' },
        JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
      );
      if (r.status !== 201) throw new Error(`namespace ${name}: ${r.status} ${r.body.toString('utf8')}`);
    }

    // (a) create throughput
    log(`(a) create throughput: ${CONCURRENCY} clients, ${CREATE_ROUNDS} rounds of ${CREATES} creates`);
    // rounds alternate baseline and platform so that drift (thermal, noisy neighbours) hits both
    // warm-up (JIT of server and client): its VMs go to their own namespace, outside the LIST
    await client.creates({ ep: bep, path: '/create', prefix: 'warm', total: 3000, concurrency: CONCURRENCY });
    const warm = await client.creates({
      ep,
      path: VMS('bench-warm'),
      prefix: 'warm',
      total: 2000,
      concurrency: CONCURRENCY,
    });
    const rounds: {
      platform: CreatesResult;
      baseline: CreatesResult;
      cpuMs: number;
      processCpuMs: number;
      baseCpuMs: number;
    }[] = [];
    for (let round = 0; round < CREATE_ROUNDS; round++) {
      const base = await cost(() =>
        client.creates({ ep: bep, path: '/create', prefix: 'vm', total: CREATES, concurrency: CONCURRENCY }),
      );
      const plat = await cost(() =>
        client.creates({
          ep,
          path: VMS('bench'),
          prefix: `vm${round}`,
          total: CREATES,
          concurrency: CONCURRENCY,
        }),
      );
      for (const r of [warm, plat.result])
        if (r.errors > 0) throw new Error(`creates failed: ${r.errors} errors, first: ${r.firstError}`);
      rounds.push({
        platform: plat.result,
        baseline: base.result,
        cpuMs: plat.cpuMs,
        processCpuMs: plat.processCpuMs,
        baseCpuMs: base.cpuMs,
      });
    }
    const rate = (r: CreatesResult): number => (r.ok / r.elapsedMs) * 1000;
    const createRates = rounds.map((r) => rate(r.platform));
    const baseRates = rounds.map((r) => rate(r.baseline));
    const cpuPerCreate = rounds.map((r) => r.cpuMs / r.platform.ok);
    const procCpuPerCreate = rounds.map((r) => r.processCpuMs / r.platform.ok);
    const baseCpuPerCreate = rounds.map((r) => r.baseCpuMs / r.baseline.ok);
    const createRate = median(createRates);
    const baseRate = median(baseRates);
    results['create'] = {
      clients: CONCURRENCY,
      createsPerRound: CREATES,
      rounds: CREATE_ROUNDS,
      perSecond: r1(createRate),
      perSecondByRound: createRates.map(r1),
      meanLatencyMsByRound: rounds.map((r) => r2((r.platform.elapsedMs * CONCURRENCY) / r.platform.ok)),
      baselinePerSecond: r1(baseRate),
      baselinePerSecondByRound: baseRates.map(r1),
      ratioToBaseline: r2(createRate / baseRate),
      serverCpuMsPerCreate: r2(median(cpuPerCreate)),
      serverCpuMsPerCreateByRound: cpuPerCreate.map(r2),
      serverProcessCpuMsPerCreate: r2(median(procCpuPerCreate)),
      baselineCpuMsPerCreate: r2(median(baseCpuPerCreate)),
      met: Math.min(...createRates) >= TARGETS.createsPerSecond,
    };

    // top up the namespace to LIST_OBJECTS VMs (also a create rate at a larger table size)
    const have = rounds.reduce((n, r) => n + r.platform.ok, 0);
    log(`(b) filling to ${LIST_OBJECTS} VMs (${LIST_OBJECTS - have} more creates)`);
    const fill = await client.creates({
      ep,
      path: VMS('bench'),
      prefix: 'fill',
      total: Math.max(0, LIST_OBJECTS - have),
      concurrency: CONCURRENCY,
    });
    if (fill.errors > 0) throw new Error(`fill failed: ${fill.errors} errors, first: ${fill.firstError}`);
    if (fill.ok > 0)
      (results['create'] as Record<string, unknown>)['fillPerSecond'] = r1((fill.ok / fill.elapsedMs) * 1000);
    const objects = Math.max(LIST_OBJECTS, have);
    // the server's live heap with the VMs stored: a full GC after the platform settles
    await settle();
    fullGc();
    (results['create'] as Record<string, unknown>)['heapUsedMbAfterFill'] = r1(
      process.memoryUsage().heapUsed / 2 ** 20,
    );

    // (b) LIST latency
    log(`(b) LIST of ${objects} VMs, ${LIST_RUNS} runs per form`);
    // the server's CPU per LIST (or per paged walk), warm-up walks included (they are the same work)
    const cpuPerList = new Map<ListsResult, number>();
    const procCpuPerList = new Map<ListsResult, number>();
    const lists = async (t: Omit<Extract<Task, { op: 'lists' }>, 'op'>): Promise<ListsResult> => {
      const { result, cpuMs, processCpuMs } = await cost(() => client.lists(t));
      cpuPerList.set(result, cpuMs / (t.warmup + t.runs));
      procCpuPerList.set(result, processCpuMs / (t.warmup + t.runs));
      return result;
    };
    const listJson = await lists({
      ep,
      path: VMS('bench'),
      accept: 'application/json',
      warmup: 2,
      runs: LIST_RUNS,
      paged: false,
    });
    const listTable = await lists({
      ep,
      path: VMS('bench'),
      accept: TABLE_ACCEPT,
      warmup: 2,
      runs: LIST_RUNS,
      paged: false,
    });
    const listPaged = await lists({
      ep,
      path: VMS('bench'),
      accept: `${TABLE_ACCEPT},application/json`,
      warmup: 1,
      runs: LIST_RUNS,
      paged: true,
    });
    for (const [name, l] of [
      ['json', listJson],
      ['table', listTable],
      ['table paged', listPaged],
    ] as const) {
      if (l.items !== objects) throw new Error(`LIST ${name}: ${l.items} items, expected ${objects}`);
    }
    // baselines: JSON.stringify of the same objects, and the same bytes from the bare server
    const bodies = await Promise.all(
      ['application/json', TABLE_ACCEPT].map(
        async (accept) => (await send(agent, ep, 'GET', VMS('bench'), { Accept: accept })).body,
      ),
    );
    const listObject = JSON.parse(bodies[0]?.toString('utf8') ?? '{}') as { items: unknown[] };
    const tableObject = JSON.parse(bodies[1]?.toString('utf8') ?? '{}') as unknown;
    const stringifyMs = (o: unknown): number[] => {
      JSON.stringify(o);
      return Array.from({ length: LIST_RUNS }, () => {
        const t0 = performance.now();
        JSON.stringify(o);
        return performance.now() - t0;
      });
    };
    const strList = stringifyMs(listObject);
    const strTable = stringifyMs(tableObject);
    baseline.setList('json', bodies[0] ?? Buffer.alloc(0));
    baseline.setList('table', bodies[1] ?? Buffer.alloc(0));
    const bareJson = await lists({
      ep: bep,
      path: '/list/json',
      accept: 'application/json',
      warmup: 2,
      runs: LIST_RUNS,
      paged: false,
    });
    const bareTable = await lists({
      ep: bep,
      path: '/list/table',
      accept: 'application/json',
      warmup: 2,
      runs: LIST_RUNS,
      paged: false,
    });
    const listFigure = (
      l: ListsResult,
      str: number[],
      bare: ListsResult | undefined,
    ): Record<string, unknown> => ({
      runs: l.runsMs.length,
      pages: l.pages,
      bytes: l.bytes,
      medianMs: r1(median(l.runsMs)),
      p95Ms: r1(pct(l.runsMs, 95)),
      runsMs: l.runsMs.map(r1),
      serverCpuMsPerList: r2(cpuPerList.get(l) ?? NaN),
      serverProcessCpuMsPerList: r2(procCpuPerList.get(l) ?? NaN),
      stringifyMedianMs: r1(median(str)),
      ratioToStringify: r1(median(l.runsMs) / median(str)),
      ...(bare !== undefined
        ? {
            bareTransferMedianMs: r1(median(bare.runsMs)),
            bareCpuMsPerList: r2(cpuPerList.get(bare) ?? NaN),
            ratioToBareTransfer: r1(median(l.runsMs) / median(bare.runsMs)),
          }
        : {}),
      met: pct(l.runsMs, 95) < TARGETS.listMs,
    });
    results['list'] = {
      objects,
      json: listFigure(listJson, strList, bareJson),
      table: listFigure(listTable, strTable, bareTable),
      tablePaged500: listFigure(listPaged, strTable, undefined),
    };
    agent.destroy();

    // (c) watch latency: writes to 10 VMs in their own namespace, a watch from the current version
    log(`(c) watch latency over ${WATCH_UPDATES} updates (platform, then baseline)`);
    const names = 10;
    const wagent = keepAlive(ep);
    for (let i = 0; i < names; i++) {
      const r = await send(
        wagent,
        ep,
        'POST',
        VMS('bench-watch'),
        { 'Content-Type': 'application/json' },
        vmBody(`w-${i}`),
      );
      if (r.status !== 201) throw new Error(`watch VM: ${r.status}`);
    }
    const listed = await send(wagent, ep, 'GET', VMS('bench-watch'), {});
    wagent.destroy();
    const rv = (JSON.parse(listed.body.toString('utf8')) as { metadata: { resourceVersion: string } })
      .metadata.resourceVersion;
    const {
      result: watchRun,
      cpuMs: watchCpuMs,
      processCpuMs: watchProcCpuMs,
    } = await cost(() =>
      client.watch({
        ep,
        watchPath: `${VMS('bench-watch')}?watch=true&resourceVersion=${rv}`,
        writeTemplate: `${VMS('bench-watch')}/{name}`,
        writeMethod: 'PATCH',
        names,
        updates: WATCH_UPDATES,
        warmup: 50,
      }),
    );
    const watchBase = await client.watch({
      ep: bep,
      watchPath: '/watch',
      writeTemplate: '/write/{name}',
      writeMethod: 'PATCH',
      names,
      updates: WATCH_UPDATES,
      warmup: 50,
    });
    const wf = (w: WatchResult): Record<string, number> => ({
      p50Ms: r2(pct(w.respToEventMs, 50)),
      p99Ms: r2(pct(w.respToEventMs, 99)),
      maxMs: r2(pct(w.respToEventMs, 100)),
      eventBeforeResponse: w.respToEventMs.filter((x) => x <= 0).length,
      requestToEventP50Ms: r2(pct(w.reqToEventMs, 50)),
      requestToEventP99Ms: r2(pct(w.reqToEventMs, 99)),
      writeP50Ms: r2(pct(w.writeMs, 50)),
      writeP99Ms: r2(pct(w.writeMs, 99)),
    });
    results['watch'] = {
      updates: watchRun.respToEventMs.length,
      ...wf(watchRun),
      serverCpuMsPerUpdate: r2(watchCpuMs / (WATCH_UPDATES + 50)),
      serverProcessCpuMsPerUpdate: r2(watchProcCpuMs / (WATCH_UPDATES + 50)),
      baseline: wf(watchBase),
      met: pct(watchRun.respToEventMs, 99) < TARGETS.watchP99Ms,
    };
  } finally {
    await client.close();
    await baseline.close();
    await platform.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  results['totalSeconds'] = r1((performance.now() - started) / 1000);
  results['loadAverage1mAtEnd'] = r2(loadavg()[0] ?? NaN);

  report(results);
  const out = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'apiserver.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten: bench/results/apiserver.json (${results['totalSeconds'] as number} s total)`);
}

function report(results: Record<string, unknown>): void {
  const m = results['machine'] as Record<string, unknown>;
  const c = results['create'] as Record<string, number | boolean>;
  const l = results['list'] as Record<string, Record<string, number | boolean>>;
  const w = results['watch'] as Record<string, number | boolean> & { baseline: Record<string, number> };
  const yes = (b: unknown): string => (b === true ? 'yes' : 'NO');
  const rows: string[][] = [
    ['benchmark', 'measured', 'baseline', 'ratio', 'target', 'met'],
    [
      `(a) creates/s, 8 clients (median of ${c['rounds']}x${c['createsPerRound']})`,
      `${c['perSecond']}/s`,
      `${c['baselinePerSecond']}/s bare https`,
      `${c['ratioToBaseline']}x`,
      `>= ${TARGETS.createsPerSecond}/s`,
      yes(c['met']),
    ],
  ];
  for (const [key, label] of [
    ['json', 'JSON'],
    ['table', 'Table'],
    ['tablePaged500', 'Table, limit=500 pages'],
  ] as const) {
    const f = l[key] ?? {};
    const base =
      f['bareTransferMedianMs'] !== undefined
        ? `stringify ${f['stringifyMedianMs']} ms; bare ${f['bareTransferMedianMs']} ms`
        : `stringify ${f['stringifyMedianMs']} ms`;
    const ratio =
      f['ratioToBareTransfer'] !== undefined
        ? `${f['ratioToStringify']}x / ${f['ratioToBareTransfer']}x`
        : `${f['ratioToStringify']}x`;
    rows.push([
      `(b) LIST ${results['list'] !== undefined ? (l['objects'] as unknown as number) : 0} VMs, ${label}`,
      `p50 ${f['medianMs']} ms, p95 ${f['p95Ms']} ms`,
      base,
      ratio,
      `< ${TARGETS.listMs} ms`,
      yes(f['met']),
    ]);
  }
  rows.push([
    '(a) server CPU per create (main thread; process)',
    `${c['serverCpuMsPerCreate']} ms; ${c['serverProcessCpuMsPerCreate']} ms`,
    `${c['baselineCpuMsPerCreate']} ms bare https`,
    '-',
    '-',
    '-',
  ]);
  for (const [key, label] of [
    ['json', 'JSON'],
    ['table', 'Table'],
    ['tablePaged500', 'Table, 500-item pages (per walk)'],
  ] as const) {
    const f = l[key] ?? {};
    rows.push([
      `(b) server CPU per LIST, ${label}`,
      `${f['serverCpuMsPerList']} ms; ${f['serverProcessCpuMsPerList']} ms`,
      f['bareCpuMsPerList'] !== undefined ? `${f['bareCpuMsPerList']} ms bare https` : '-',
      '-',
      '-',
      '-',
    ]);
  }
  rows.push([
    `(c) watch, response->event (${w['updates']} updates)`,
    `p50 ${w['p50Ms']} ms, p99 ${w['p99Ms']} ms`,
    `p50 ${w.baseline['p50Ms']} ms, p99 ${w.baseline['p99Ms']} ms`,
    `-`,
    `p99 < ${TARGETS.watchP99Ms} ms`,
    yes(w['met']),
  ]);
  rows.push([
    `(c) watch, request->event`,
    `p50 ${w['requestToEventP50Ms']} ms, p99 ${w['requestToEventP99Ms']} ms`,
    `p50 ${w.baseline['requestToEventP50Ms']} ms, p99 ${w.baseline['requestToEventP99Ms']} ms`,
    '-',
    '-',
    '-',
  ]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  console.log(
    `\nHikube API server benchmarks — ${String(m['cpus'])} x ${String(m['cpuModel'])}, ${String(m['memTotalGiB'])} GiB, node ${String(m['node'])}, bench ${String(m['commit'])}, platform ${String(results['platformCommit'])}, load average ${String((m['loadAverageAtStart'] as number[])[0])} -> ${String(results['loadAverage1mAtEnd'])}\n`,
  );
  rows.forEach((r, i) => {
    console.log(r.map((cell, j) => cell.padEnd(widths[j] ?? 0)).join('  '));
    if (i === 0) console.log(widths.map((n) => '-'.repeat(n)).join('  '));
  });
}

if (isMainThread) {
  await main();
} else if ((workerData as { role?: string } | null)?.role === 'client') {
  clientWorker();
}
