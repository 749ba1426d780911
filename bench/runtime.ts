/**
 * Runtime benchmarks: real QEMU guests started through the HTTPS API of a platform in a temp dir.
 *
 * (a) KubeVirt's own shape ("VMI creation to running"): N VMs (runStrategy Always) created 100 ms
 *     apart, each timed from its create request to its VMI's `status.phase` = Running (seen on a
 *     watch). The big wave starts the guests paused (`startStrategy: Paused`, QEMU's -S): the QEMU
 *     process, its disks, the cloud-init ISO and QMP all exist, the guest CPU does not run; this is
 *     the control plane + QEMU launch path, which is what KubeVirt's figure measures. A small wave
 *     of unpaused guests (which really boot, concurrently, under TCG) is reported too.
 *     Baselines: the same QEMU argv launched bare (spawn, -daemonize, QMP answers), one at a time,
 *     before the wave, every 3 s during it and beside its QEMUs; and bare launches that stay up, 1
 *     and 4 at a time. Diagnostics: the time each start spends in qemu-img, genisoimage and the
 *     QEMU launch (the node agent's adapters, wrapped), and the platform's event-loop delay.
 * (b) Create request → the guest's ready marker on its serial console, against bare
 *     qemu-system-x86_64 run in the foreground with the argv the platform used (serial to a file),
 *     alternating, one at a time.
 * (c) The platform's own memory per running VM beyond QEMU's: `bin/hikube up` as a child process,
 *     its VmRSS after forced GCs (through its inspector) with 0 VMs and with M VMs; plus the
 *     processes it keeps per VM (none but QEMU) and its file descriptors.
 *
 * The platform for (a) and (b) runs on this process's main thread (startPlatform); the client
 * (creates, the VMI watch, serial-log polling, bare QEMU runs) runs in a worker thread, so its
 * timers do not wait on the platform's event loop.
 *
 * Usage: npm run bench:runtime   (build, then node dist/bench/runtime.js)
 * Env: BENCH_VMS (100 paused VMs), BENCH_VMS_UNPAUSED (10), BENCH_BOOTS (5 of each kind),
 * BENCH_LAUNCHES (10 bare launches), BENCH_MEM_PAUSED (20), BENCH_MEM_RUNNING (3),
 * BENCH_INTERVAL_MS (100).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { createConnection } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { parse } from 'yaml';
import { genisoimage, qemuImg, qemuProcesses } from '../src/node/adapters.js';
import { machine as describeMachine, meminfo } from './support/machine.js';
import { env, median, pct, r0, r1, r2 } from './support/stats.js';
import { startPlatform, type Platform } from '../src/platform/platform.js';
import { qemuPids, tinyVm } from '../test/support/guest.js';

const VMS_PAUSED = env('BENCH_VMS', 100);
const VMS_UNPAUSED = env('BENCH_VMS_UNPAUSED', 10);
const BOOTS = env('BENCH_BOOTS', 5);
const LAUNCHES = env('BENCH_LAUNCHES', 10);
const MEM_PAUSED = env('BENCH_MEM_PAUSED', 20);
const MEM_RUNNING = env('BENCH_MEM_RUNNING', 3);
const INTERVAL_MS = env('BENCH_INTERVAL_MS', 100);
const QEMU = process.env['HIKUBE_QEMU'] ?? 'qemu-system-x86_64';
const MARKER = 'hikube-tiny: ready';
const NS = 'bench';
const POLL_MS = 20;

const TARGETS = { runningP50Ms: 500, runningP95Ms: 1000, bootRatio: 1.1, perVmMiB: 10 };
/** KubeVirt's figures these targets are set against (not measured here). */
const KUBEVIRT = {
  vmiCreationToRunningP50Ms: 18_000,
  vmiCreationToRunningP95Ms: 28_000,
  source: 'KubeVirt CI perf-scale "vmi creation to running", v1.8',
  launcherOverheadMiB: 240,
};

const VMS_PATH = (ns: string): string => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`;
const VMIS_PATH = (ns: string): string => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances`;

// ---------------------------------------------------------------------------------------------
// Shared: a tiny HTTPS client.

interface Endpoint {
  base: string;
  token: string;
  ca: string;
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
  headers: Record<string, string> = {},
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
          ...(body !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }
            : {}),
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

interface ObjectView {
  metadata?: { name?: string; deletionTimestamp?: string; resourceVersion?: string };
  status?: { phase?: string; reason?: string };
}

async function listObjects(agent: Agent, ep: Endpoint, path: string): Promise<ObjectView[]> {
  const r = await send(agent, ep, 'GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  return (JSON.parse(r.body.toString('utf8')) as { items: ObjectView[] }).items;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The runtime directory of VM `name` (DATA_DIR/run/NAME-UIDPREFIX, see NodeAgent.dirOf), if it exists. */
function runDirOf(dataDir: string, _namespace: string, name: string): string | undefined {
  const base = join(dataDir, 'run');
  try {
    const entry = readdirSync(base).find((e) => e.startsWith(`${name.slice(0, 20)}-`));
    return entry === undefined ? undefined : join(base, entry);
  } catch {
    return undefined;
  }
}

/**
 * The process still holds anything: it exists and is not a zombie, or it is a zombie whose other
 * threads are still exiting (they keep the files, and QEMU's image locks, open). A daemonized
 * QEMU's parent is PID 1, which may reap it late.
 */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') return true;
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

function fileHas(path: string, text: string): boolean {
  try {
    return readFileSync(path, 'utf8').includes(text);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The client worker.

type Task =
  | {
      op: 'wave';
      ep: Endpoint;
      namespace: string;
      vms: { name: string; body: string; paused: boolean }[];
      intervalMs: number;
      timeoutMs: number;
      /** Also wait for the ready marker in each VM's serial.log. */
      serial?: { dataDir: string; marker: string };
    }
  | { op: 'bareBoot'; argv: string[]; serialLog: string; marker: string; timeoutMs: number }
  | { op: 'bareLaunch'; argv: string[]; qmp: string; pidfile: string; timeoutMs: number; keep?: boolean }
  | {
      op: 'bareLaunchBatch';
      launches: { argv: string[]; qmp: string; pidfile: string }[];
      concurrency: number;
    };

/** Per VM, milliseconds after its create request was sent (NaN: not seen). */
interface WaveVm {
  name: string;
  /** When the create request was sent, after the wave's start. */
  sentAtMs: number;
  status: number;
  responseMs: number;
  vmiMs: number;
  scheduledMs: number;
  runningMs: number;
  markerMs: number;
  failed: string;
}

interface BootResult {
  markerMs: number;
}

interface LaunchResult {
  /** spawn → the -daemonize parent exits (QEMU is set up). */
  daemonizedMs: number;
  /** spawn → QMP answered query-status (what the node agent waits for before Running). */
  qmpMs: number;
  pid: number;
}

async function runWave(t: Extract<Task, { op: 'wave' }>): Promise<WaveVm[]> {
  const agent = keepAlive(t.ep, 8);
  const watchAgent = keepAlive(t.ep);
  const vmis = VMIS_PATH(t.namespace);
  const listed = await send(agent, t.ep, 'GET', vmis);
  if (listed.status !== 200) throw new Error(`list VMIs: ${listed.status}`);
  const rv = (JSON.parse(listed.body.toString('utf8')) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  const sent = new Map<string, number>();
  const rows = new Map<string, WaveVm>(
    t.vms.map((v) => [
      v.name,
      {
        name: v.name,
        sentAtMs: NaN,
        status: 0,
        responseMs: NaN,
        vmiMs: NaN,
        scheduledMs: NaN,
        runningMs: NaN,
        markerMs: NaN,
        failed: '',
      },
    ]),
  );
  const dirs = new Map<string, string>();
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const paused = new Set(t.vms.filter((v) => v.paused).map((v) => v.name));
  // a paused guest prints nothing: only the running ones are waited for on the serial console
  const complete = (r: WaveVm): boolean =>
    r.failed !== '' ||
    (!Number.isNaN(r.runningMs) &&
      (t.serial === undefined || paused.has(r.name) || !Number.isNaN(r.markerMs)));
  const check = (): void => {
    if ([...rows.values()].every(complete)) finish();
  };
  const since = (name: string, now: number): number => now - (sent.get(name) ?? NaN);

  let buffer = '';
  const watchReq = request(
    new URL(`${vmis}?watch=true&resourceVersion=${rv}`, t.ep.base),
    { agent: watchAgent, headers: { Authorization: `Bearer ${t.ep.token}` } },
    (res) => {
      res.on('data', (chunk: Buffer) => {
        const now = performance.now();
        buffer += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() === '') continue;
          const ev = JSON.parse(line) as { type: string; object: ObjectView };
          if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') continue;
          const r = rows.get(ev.object.metadata?.name ?? '');
          if (r === undefined) continue;
          const phase = ev.object.status?.phase ?? '';
          if (Number.isNaN(r.vmiMs)) r.vmiMs = since(r.name, now);
          if (phase === 'Scheduled' && Number.isNaN(r.scheduledMs)) r.scheduledMs = since(r.name, now);
          if (phase === 'Running' && Number.isNaN(r.runningMs)) r.runningMs = since(r.name, now);
          if (phase === 'Failed' && r.failed === '')
            r.failed = `VMI Failed: ${JSON.stringify(ev.object.status)}`;
        }
        check();
      });
    },
  );
  watchReq.on('error', () => undefined);
  watchReq.end();

  // the serial logs, polled (the same way as the bare runs' log)
  const poll = setInterval(() => {
    if (t.serial === undefined) return;
    const now = performance.now();
    for (const r of rows.values()) {
      if (!Number.isNaN(r.markerMs) || !sent.has(r.name) || paused.has(r.name)) continue;
      let dir = dirs.get(r.name);
      if (dir === undefined) {
        dir = runDirOf(t.serial.dataDir, t.namespace, r.name);
        if (dir === undefined) continue;
        dirs.set(r.name, dir);
      }
      if (fileHas(join(dir, 'serial.log'), t.serial.marker)) r.markerMs = since(r.name, now);
    }
    check();
  }, POLL_MS);

  // open the connections first: the measurement is of requests, not TLS handshakes
  await Promise.all(Array.from({ length: 4 }, () => send(agent, t.ep, 'GET', '/healthz')));
  const t0 = performance.now();
  t.vms.forEach((v, i) => {
    setTimeout(
      () => {
        const r = rows.get(v.name);
        if (r === undefined) return;
        const at = performance.now();
        sent.set(v.name, at);
        r.sentAtMs = at - t0;
        send(agent, t.ep, 'POST', VMS_PATH(t.namespace), {}, v.body).then(
          (res) => {
            r.status = res.status;
            r.responseMs = performance.now() - at;
            if (res.status !== 201)
              r.failed = `create: ${res.status} ${res.body.toString('utf8').slice(0, 200)}`;
            check();
          },
          (err: unknown) => {
            r.failed = `create: ${err instanceof Error ? err.message : String(err)}`;
            check();
          },
        );
      },
      Math.max(0, t0 + i * t.intervalMs - performance.now()),
    );
  });
  const timer = setTimeout(finish, t.intervalMs * t.vms.length + t.timeoutMs);
  await finished;
  clearTimeout(timer);
  clearInterval(poll);
  watchReq.destroy();
  agent.destroy();
  watchAgent.destroy();
  return [...rows.values()];
}

async function runBareBoot(t: Extract<Task, { op: 'bareBoot' }>): Promise<BootResult> {
  await rm(t.serialLog, { force: true });
  let stderr = '';
  let exited = false;
  const t0 = performance.now();
  const child = spawn(QEMU, t.argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.on('exit', () => (exited = true));
  child.on('error', (err) => (stderr += err.message));
  let markerMs = NaN;
  try {
    await until(
      'the marker from bare QEMU',
      () => {
        if (fileHas(t.serialLog, t.marker)) {
          markerMs = performance.now() - t0;
          return true;
        }
        if (exited) throw new Error(`bare QEMU exited before the marker: ${stderr.trim().slice(-500)}`);
        return false;
      },
      t.timeoutMs,
      POLL_MS,
    );
  } finally {
    child.kill('SIGKILL');
    await gone;
  }
  return { markerMs };
}

/** QMP: greeting, qmp_capabilities, query-status; resolves once query-status has answered. */
function qmpQueryStatus(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    let step = 0;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
        buffer = buffer.slice(nl + 1);
        if (step === 0 && msg['QMP'] !== undefined) {
          step = 1;
          socket.write('{"execute":"qmp_capabilities"}\n');
        } else if (step === 1 && msg['return'] !== undefined) {
          step = 2;
          socket.write('{"execute":"query-status"}\n');
        } else if (step === 2 && msg['return'] !== undefined) {
          socket.destroy();
          resolve();
        }
      }
    });
    socket.on('error', reject);
  });
}

async function runBareLaunch(t: Extract<Task, { op: 'bareLaunch' }>): Promise<LaunchResult> {
  // the image lock of the previous run's QEMU can outlive its process by a moment: retry that
  for (let attempt = 0; ; attempt++) {
    try {
      return await bareLaunchOnce(t);
    } catch (err) {
      if (attempt >= 10 || !(err instanceof Error) || !err.message.includes('lock')) throw err;
      await sleep(200);
    }
  }
}

async function bareLaunchOnce(t: Extract<Task, { op: 'bareLaunch' }>): Promise<LaunchResult> {
  await rm(t.pidfile, { force: true });
  let stderr = '';
  const t0 = performance.now();
  const child = spawn(QEMU, t.argv, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('exit', (c) => resolve(c));
    child.on('error', reject);
  });
  const daemonizedMs = performance.now() - t0;
  if (code !== 0) throw new Error(`bare QEMU launch exited ${String(code)}: ${stderr.trim().slice(-500)}`);
  const pid = Number(readFileSync(t.pidfile, 'utf8').trim());
  try {
    await qmpQueryStatus(t.qmp);
    return { daemonizedMs, qmpMs: performance.now() - t0, pid };
  } finally {
    if (t.keep !== true) await killAndWait(pid);
  }
}

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
  await until('bare QEMU to exit', () => !alive(pid), 10_000, 10);
}

/** Launches that stay up, `concurrency` at a time: how fast can this host start paused QEMUs? */
async function runBareLaunchBatch(
  t: Extract<Task, { op: 'bareLaunchBatch' }>,
): Promise<{ totalMs: number; launchMs: number[] }> {
  let next = 0;
  const launchMs: number[] = [];
  const pids: number[] = [];
  const t0 = performance.now();
  const slot = async (): Promise<void> => {
    while (next < t.launches.length) {
      const l = t.launches[next++];
      if (l === undefined) return;
      const r = await runBareLaunch({ op: 'bareLaunch', ...l, timeoutMs: 30_000, keep: true });
      launchMs.push(r.qmpMs);
      pids.push(r.pid);
    }
  };
  try {
    await Promise.all(Array.from({ length: t.concurrency }, slot));
    return { totalMs: performance.now() - t0, launchMs };
  } finally {
    await Promise.all(pids.map(killAndWait));
  }
}

function clientWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('not a worker');
  port.on('message', (msg: { id: number; task: Task }) => {
    const run = async (): Promise<unknown> => {
      switch (msg.task.op) {
        case 'wave':
          return runWave(msg.task);
        case 'bareBoot':
          return runBareBoot(msg.task);
        case 'bareLaunch':
          return runBareLaunch(msg.task);
        case 'bareLaunchBatch':
          return runBareLaunchBatch(msg.task);
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
// The main thread.

class Client {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: 'client' } });
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

  wave(t: Omit<Extract<Task, { op: 'wave' }>, 'op'>): Promise<WaveVm[]> {
    return this.call({ op: 'wave', ...t }) as Promise<WaveVm[]>;
  }
  bareBoot(t: Omit<Extract<Task, { op: 'bareBoot' }>, 'op'>): Promise<BootResult> {
    return this.call({ op: 'bareBoot', ...t }) as Promise<BootResult>;
  }
  bareLaunch(t: Omit<Extract<Task, { op: 'bareLaunch' }>, 'op'>): Promise<LaunchResult> {
    return this.call({ op: 'bareLaunch', ...t }) as Promise<LaunchResult>;
  }
  bareLaunchBatch(
    t: Omit<Extract<Task, { op: 'bareLaunchBatch' }>, 'op'>,
  ): Promise<{ totalMs: number; launchMs: number[] }> {
    return this.call({ op: 'bareLaunchBatch', ...t }) as Promise<{ totalMs: number; launchMs: number[] }>;
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

/** The tiny VM (test/support/guest.ts), as JSON, optionally started paused. */
function vmBody(name: string, paused: boolean): { name: string; body: string; paused: boolean } {
  const vm = parse(tinyVm(name)) as { spec: { template: { spec: Record<string, unknown> } } };
  if (paused) vm.spec.template.spec['startStrategy'] = 'Paused';
  return { name, body: JSON.stringify(vm), paused };
}

/**
 * Deletes every VM of the namespace, SIGKILLs their QEMUs once their VMIs are being deleted (a
 * QEMU killed earlier reads as a crash, which runStrategy Always would restart), and waits for
 * the VMs and VMIs to be gone. Returns the seconds it took.
 */
async function clearNamespace(ep: Endpoint, namespace: string, dataDir: string): Promise<number> {
  const t0 = performance.now();
  const agent = keepAlive(ep, 8);
  try {
    const vms = await listObjects(agent, ep, VMS_PATH(namespace));
    await Promise.all(
      vms.map(async (vm) => {
        const name = vm.metadata?.name ?? '';
        const r = await send(
          agent,
          ep,
          'DELETE',
          `${VMS_PATH(namespace)}/${name}`,
          {},
          JSON.stringify({ propagationPolicy: 'Background' }),
        );
        if (r.status !== 200 && r.status !== 202 && r.status !== 404)
          throw new Error(`DELETE VM ${name}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
      }),
    );
    await until(
      'every VMI to be marked for deletion',
      async () =>
        (await listObjects(agent, ep, VMIS_PATH(namespace))).every(
          (v) => v.metadata?.deletionTimestamp !== undefined,
        ),
      60_000,
    );
    killQemus(dataDir);
    await until(
      'the VMs and VMIs to be gone',
      async () =>
        (await listObjects(agent, ep, VMIS_PATH(namespace))).length === 0 &&
        (await listObjects(agent, ep, VMS_PATH(namespace))).length === 0,
      120_000,
      200,
    );
    await until('QEMUs to exit', () => killQemus(dataDir) === 0, 10_000);
  } finally {
    agent.destroy();
  }
  return (performance.now() - t0) / 1000;
}

/** SIGKILLs the QEMUs whose command line mentions `dir`; returns how many there were. */
function killQemus(dir: string): number {
  const pids = qemuPids(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return pids.length;
}

async function createNamespace(ep: Endpoint, name: string): Promise<void> {
  const agent = keepAlive(ep);
  const r = await send(
    agent,
    ep,
    'POST',
    '/api/v1/namespaces',
    {},
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  );
  agent.destroy();
  if (r.status !== 201) throw new Error(`namespace ${name}: ${r.status} ${r.body.toString('utf8')}`);
}

/**
 * The argv the platform used, rewritten for a bare QEMU in `toDir` (where the VM's ISO and disk
 * were copied). `foreground`: no -daemonize/-pidfile/-S, the serial chardev writes to a file.
 */
function bareArgv(
  argv: string[],
  fromDir: string,
  toDir: string,
  mode: 'foreground' | 'paused-daemon',
): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = (argv[i] ?? '').split(fromDir).join(toDir);
    if (mode === 'foreground') {
      if (arg === '-daemonize' || arg === '-S') continue;
      if (arg === '-pidfile') {
        i++;
        continue;
      }
      if (out[out.length - 1] === '-chardev' && arg.includes('id=serial0')) {
        out.push(`file,id=serial0,path=${join(toDir, 'serial.log')}`);
        continue;
      }
    }
    out.push(arg);
  }
  if (mode === 'paused-daemon' && !out.includes('-S')) out.push('-S');
  return out;
}

// --- statistics and the machine ---

/** The shared machine description, plus QEMU's version, swap and the QEMUs already running. */
function machine(): Record<string, unknown> {
  let qemu = 'unknown';
  try {
    qemu = execFileSync(QEMU, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? qemu;
  } catch {
    // reported as unknown
  }
  return {
    ...describeMachine(),
    swapGiB: r1((meminfo()['SwapTotal'] ?? 0) / 2 ** 30),
    qemu,
    otherQemusAtStart: qemuPids('').length,
  };
}

// --- /proc readings for (c) ---

function procStatus(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m !== null) out[m[1] ?? ''] = Number(m[2]);
  }
  return out;
}
const rssKiB = (pid: number): number => procStatus(pid)['VmRSS'] ?? NaN;
const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** Median VmRSS (KiB) over a few samples. */
async function sampleRss(pid: number, samples = 5, gapMs = 200): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) {
    xs.push(rssKiB(pid));
    if (i < samples - 1) await sleep(gapMs);
  }
  return median(xs);
}

/** Processes other than QEMU that belong to the platform: its children, and any mentioning the data dir. */
function helperProcesses(hikubePid: number, dataDir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === hikubePid || pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (cmd.startsWith('qemu-system')) continue;
      if (ppid === hikubePid || cmd.includes(dataDir)) out.push({ pid, cmd: cmd.slice(0, 200) });
    } catch {
      // went away
    }
  }
  return out;
}

/** `bin/hikube up` as a child; resolves once it prints its URL. */
/** A Chrome DevTools protocol session on the child's inspector: to force a GC and read its heap. */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    (msg: { result?: unknown; error?: { message?: string } }) => void
  >();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as {
        id?: number;
        result?: unknown;
        error?: { message?: string };
      };
      if (msg.id === undefined) return;
      this.pending.get(msg.id)?.(msg);
      this.pending.delete(msg.id);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Inspector(ws);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (msg) => {
        if (msg.error !== undefined) reject(new Error(`${method}: ${msg.error.message ?? 'error'}`));
        else resolve(msg.result as T);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

interface ChildPlatform {
  child: ChildProcess;
  ep: Endpoint;
  inspector: Inspector;
  stderr: () => string;
}

/**
 * `bin/hikube up` as a child, with the inspector on a loopback port (NODE_OPTIONS) so that the
 * bench can force a GC in it; resolves once it prints its URL.
 */
async function startChild(dataDir: string, accel: string): Promise<ChildPlatform> {
  const bin = fileURLToPath(new URL('../../bin/hikube', import.meta.url));
  const child = spawn(bin, ['up', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    env: {
      ...process.env,
      HIKUBE_ACCEL: accel,
      NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --inspect=127.0.0.1:0`.trim(),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hikube up did not start: ${stderr}`)), 30_000);
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      const m = /listening on (https:\/\/\S+)/.exec(stdout);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hikube up exited ${String(code)}: ${stderr}`));
    });
  });
  const debuggerUrl = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
  if (debuggerUrl === undefined) throw new Error(`hikube up: no inspector URL in its stderr: ${stderr}`);
  const inspector = await Inspector.connect(debuggerUrl);
  const ca = await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8');
  const token = (await readFile(join(dataDir, 'pki', 'admin.token'), 'utf8')).trim();
  return { child, ep: { base: url, token, ca }, inspector, stderr: () => stderr };
}

interface MemorySample {
  /** VmRSS, median of 5 samples over 0.8 s, as the process runs (KiB) */
  rssKiB: number;
  /** VmRSS after two forced full GCs (KiB) */
  rssAfterGcKiB: number;
  /** process.memoryUsage() after those GCs (bytes) */
  heapUsed: number;
  external: number;
  fds: number;
}

async function memorySample(pid: number, inspector: Inspector): Promise<MemorySample> {
  const rssKiB = await sampleRss(pid);
  await inspector.call('HeapProfiler.collectGarbage');
  await inspector.call('HeapProfiler.collectGarbage');
  await sleep(300);
  const rssAfterGcKiB = await sampleRss(pid, 3, 100);
  const evaluated = await inspector.call<{ result: { value: string } }>('Runtime.evaluate', {
    expression: 'JSON.stringify(process.memoryUsage())',
    returnByValue: true,
  });
  const usage = JSON.parse(evaluated.result.value) as { heapUsed: number; external: number };
  return { rssKiB, rssAfterGcKiB, heapUsed: usage.heapUsed, external: usage.external, fds: fdCount(pid) };
}

// --- the phases ---

interface WaveSummary {
  vms: number;
  paused: boolean;
  intervalMs: number;
  running: number;
  failed: number;
  firstFailure: string;
  createToRunning: { p50Ms: number; p95Ms: number; maxMs: number; minMs: number };
  /** medians of the steps, each from the create request */
  stepsP50Ms: { response: number; vmiSeen: number; scheduled: number; running: number };
  /** median time between successive VMIs reaching Running (the node agent's pace once it is behind) */
  runningIntervalP50Ms: number;
  createToMarker?: { p50Ms: number; p95Ms: number; maxMs: number; seen: number };
  wallSeconds: number;
  met: boolean;
  samples: { name: string; sentAtMs: number; runningMs: number | null; markerMs?: number | null }[];
}

function summarise(rows: WaveVm[], paused: boolean, serial: boolean, wallMs: number): WaveSummary {
  const running = rows.map((r) => r.runningMs);
  const failed = rows.filter((r) => r.failed !== '' || Number.isNaN(r.runningMs));
  const out: WaveSummary = {
    vms: rows.length,
    paused,
    intervalMs: INTERVAL_MS,
    running: running.filter((x) => !Number.isNaN(x)).length,
    failed: failed.length,
    firstFailure:
      failed[0] === undefined ? '' : `${failed[0].name}: ${failed[0].failed || 'not Running in time'}`,
    createToRunning: {
      p50Ms: r0(pct(running, 50)),
      p95Ms: r0(pct(running, 95)),
      maxMs: r0(pct(running, 100)),
      minMs: r0(pct(running, 0)),
    },
    stepsP50Ms: {
      response: r1(median(rows.map((r) => r.responseMs))),
      vmiSeen: r1(median(rows.map((r) => r.vmiMs))),
      scheduled: r1(median(rows.map((r) => r.scheduledMs))),
      running: r1(median(running)),
    },
    runningIntervalP50Ms: r1(
      median(
        rows
          .map((r) => r.sentAtMs + r.runningMs)
          .filter((x) => !Number.isNaN(x))
          .sort((a, b) => a - b)
          .map((x, i, all) => x - (all[i - 1] ?? NaN))
          .slice(1),
      ),
    ),
    wallSeconds: r1(wallMs / 1000),
    met:
      failed.length === 0 &&
      pct(running, 50) < TARGETS.runningP50Ms &&
      pct(running, 95) < TARGETS.runningP95Ms,
    samples: rows.map((r) => ({
      name: r.name,
      sentAtMs: r0(r.sentAtMs),
      runningMs: Number.isNaN(r.runningMs) ? null : r0(r.runningMs),
      ...(serial ? { markerMs: Number.isNaN(r.markerMs) ? null : r0(r.markerMs) } : {}),
    })),
  };
  if (serial) {
    const markers = rows.map((r) => r.markerMs);
    out.createToMarker = {
      p50Ms: r0(pct(markers, 50)),
      p95Ms: r0(pct(markers, 95)),
      maxMs: r0(pct(markers, 100)),
      seen: markers.filter((x) => !Number.isNaN(x)).length,
    };
  }
  return out;
}

/**
 * (c): the memory of `hikube up` with no VM (after one create/delete cycle, so that it includes the
 * code and caches any VM needs), then with MEM_PAUSED paused + MEM_RUNNING running VMs.
 */
async function memoryPhase(
  client: Client,
  up: ChildPlatform,
  childDir: string,
  log: (msg: string) => void,
): Promise<Record<string, unknown>> {
  const pid = up.child.pid ?? 0;
  await createNamespace(up.ep, NS);
  await sleep(2000);
  const fresh = await memorySample(pid, up.inspector);
  log('    warm-up cycle: 1 paused + 1 running VM, created and deleted');
  await client.wave({
    ep: up.ep,
    namespace: NS,
    vms: [vmBody('w0', true), vmBody('w1', false)],
    intervalMs: INTERVAL_MS,
    timeoutMs: 120_000,
    serial: { dataDir: childDir, marker: MARKER },
  });
  await clearNamespace(up.ep, NS, childDir);
  await sleep(3000);
  const idle = await memorySample(pid, up.inspector);
  const mib = (kib: number): number => r1(kib / 1024);
  log(`    idle: ${mib(idle.rssAfterGcKiB)} MiB after GC (${mib(idle.rssKiB)} MiB before); creating the VMs`);
  const rows = await client.wave({
    ep: up.ep,
    namespace: NS,
    vms: [
      ...Array.from({ length: MEM_RUNNING }, (_, i) => vmBody(`mr${i}`, false)),
      ...Array.from({ length: MEM_PAUSED }, (_, i) => vmBody(`mp${i}`, true)),
    ],
    intervalMs: INTERVAL_MS,
    timeoutMs: 180_000,
    serial: { dataDir: childDir, marker: MARKER },
  });
  const failed = rows.filter((r) => r.failed !== '' || Number.isNaN(r.runningMs));
  if (failed.length > 0)
    throw new Error(
      `(c): ${failed.length} VMs not Running: ${JSON.stringify(failed[0])}\nhikube up said:\n${up.stderr().slice(-3000)}`,
    );
  // one guest-agent poll round (every 5 s) and a few serial-console reconnects pass
  await sleep(6000);
  const n = MEM_PAUSED + MEM_RUNNING;
  const loaded = await memorySample(pid, up.inspector);
  const threads = procStatus(pid)['Threads'] ?? null;
  const peakKiB = procStatus(pid)['VmHWM'] ?? NaN;
  const qemus = qemuPids(childDir);
  const qemuRss = new Map(qemus.map((q) => [q, rssKiB(q) / 1024]));
  const runningPids = new Set(
    Array.from({ length: MEM_RUNNING }, (_, i) => qemuPids(`guest=${NS}/mr${i},`)).flat(),
  );
  const helpers = helperProcesses(pid, childDir);
  log(
    `    with ${n} VMs: ${mib(loaded.rssAfterGcKiB)} MiB after GC (${mib(loaded.rssKiB)} MiB before), ${qemus.length} QEMUs, ${helpers.length} other processes; deleting them`,
  );
  const cleanup = await clearNamespace(up.ep, NS, childDir);
  await sleep(2000);
  const after = await memorySample(pid, up.inspector);
  const perVm = (a: number, b: number): number => r2((a - b) / n);
  const perVmMiB = (loaded.rssAfterGcKiB - idle.rssAfterGcKiB) / n / 1024;
  const pausedRss = qemus.filter((q) => !runningPids.has(q)).map((q) => qemuRss.get(q) ?? NaN);
  const runningRss = qemus.filter((q) => runningPids.has(q)).map((q) => qemuRss.get(q) ?? NaN);
  const view = (m: MemorySample): Record<string, number> => ({
    rssMiB: mib(m.rssKiB),
    rssAfterGcMiB: mib(m.rssAfterGcKiB),
    heapUsedMiB: r1(m.heapUsed / 2 ** 20),
    externalMiB: r1(m.external / 2 ** 20),
    fds: m.fds,
  });
  return {
    vms: n,
    paused: MEM_PAUSED,
    running: MEM_RUNNING,
    hikube: { fresh: view(fresh), idle: view(idle), withVms: view(loaded), afterDeletingThem: view(after) },
    hikubePeakRssMiB: mib(peakKiB),
    hikubeThreadsWithVms: threads,
    perVmMiB: r2(perVmMiB),
    perVmMiBWithoutGc: r2((loaded.rssKiB - idle.rssKiB) / n / 1024),
    perVmHeapKiB: perVm(loaded.heapUsed / 1024, idle.heapUsed / 1024),
    perVmFds: perVm(loaded.fds, idle.fds),
    qemuProcesses: qemus.length,
    qemuRssMiB: {
      pausedMedian: r1(median(pausedRss)),
      runningMedian: r1(median(runningRss)),
      total: r0([...qemuRss.values()].reduce((a, b) => a + b, 0)),
    },
    perVmPercentOfRunningQemuRss: r1((100 * perVmMiB) / median(runningRss)),
    helperProcesses: helpers,
    cleanupSeconds: r1(cleanup),
    met: perVmMiB <= TARGETS.perVmMiB && helpers.length === 0,
  };
}

/** SIGTERM, and wait for the exit (SIGKILL after 15 s). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Diagnostics for (a): how long each launch spends in the external tools the node agent runs. The
 * platform gets these adapter objects by reference, so wrapping their methods here times every
 * call the agent makes (while `on` is set).
 */
class ToolTimes {
  on = false;
  readonly ms: Record<string, number[]> = { qemuImgCreate: [], genisoimage: [], qemuLaunch: [] };

  install(): void {
    const wrap =
      <A extends unknown[], R>(label: string, fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const t0 = performance.now();
        try {
          return await fn(...args);
        } finally {
          if (this.on) this.ms[label]?.push(performance.now() - t0);
        }
      };
    qemuImg.createBlank = wrap('qemuImgCreate', qemuImg.createBlank.bind(qemuImg));
    qemuImg.createOverlay = wrap('qemuImgCreate', qemuImg.createOverlay.bind(qemuImg));
    genisoimage.build = wrap('genisoimage', genisoimage.build.bind(genisoimage));
    qemuProcesses.launch = wrap('qemuLaunch', qemuProcesses.launch.bind(qemuProcesses));
  }

  medians(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.ms).map(([k, v]) => [k, r1(median(v))]));
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const log = (msg: string): void =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  const root = await mkdtemp(join(tmpdir(), 'hkrt-'));
  const dataDir = join(root, 'd');
  const bareDir = join(root, 'b');
  const childDir = join(root, 'c');
  await mkdir(bareDir, { recursive: true });
  const client = new Client();
  const results: Record<string, unknown> = {
    machine: machine(),
    date: new Date().toISOString(),
    targets: TARGETS,
    kubevirt: KUBEVIRT,
    config: {
      pausedVms: VMS_PAUSED,
      unpausedVms: VMS_UNPAUSED,
      intervalMs: INTERVAL_MS,
      boots: BOOTS,
      bareLaunches: LAUNCHES,
      memPaused: MEM_PAUSED,
      memRunning: MEM_RUNNING,
      serialPollMs: POLL_MS,
    },
  };
  let platform: Platform | undefined;
  let child: ChildProcess | undefined;

  try {
    const t0 = performance.now();
    const tools = new ToolTimes();
    tools.install();
    platform = await startPlatform({ dataDir, host: '127.0.0.1', port: 0 });
    results['platformStartSeconds'] = r1((performance.now() - t0) / 1000);
    results['accel'] = platform.accel;
    log(`platform up in ${results['platformStartSeconds'] as number} s (guests under ${platform.accel})`);
    const ca = await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8');
    const ep: Endpoint = { base: platform.url, token: platform.token, ca };
    await createNamespace(ep, NS);

    // warm-up (JIT of the launch path), and the argv and files for the bare baselines
    log('warm-up: 2 paused VMs; the first one gives the argv for the bare runs');
    const warm = await client.wave({
      ep,
      namespace: NS,
      vms: [vmBody('w0', true), vmBody('w1', true)],
      intervalMs: INTERVAL_MS,
      timeoutMs: 60_000,
    });
    if (warm.some((w) => Number.isNaN(w.runningMs)))
      throw new Error(`warm-up VM not Running: ${JSON.stringify(warm)}`);
    const warmDir = runDirOf(dataDir, NS, 'w0');
    if (warmDir === undefined) throw new Error('no runtime dir for w0');
    const platformArgv = readFileSync(join(warmDir, 'qemu.argv'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    for (const f of readdirSync(warmDir)) {
      const p = join(warmDir, f);
      if (statSync(p).isFile() && /\.(iso|qcow2|argv)$/.test(f)) copyFileSync(p, join(bareDir, f));
    }
    results['platformArgv'] = platformArgv;
    await clearNamespace(ep, NS, dataDir);

    // (a) baseline: the same argv, launched bare (paused, daemonized), one at a time
    log(`(a) baseline: ${LAUNCHES} bare launches of the same QEMU argv (-S -daemonize, then QMP)`);
    const launchArgv = bareArgv(platformArgv, warmDir, bareDir, 'paused-daemon');
    const bareLaunches = async (): Promise<Record<string, number | number[]>> => {
      const launches: LaunchResult[] = [];
      for (let i = 0; i < LAUNCHES; i++) {
        launches.push(
          await client.bareLaunch({
            argv: launchArgv,
            qmp: join(bareDir, 'qmp.sock'),
            pidfile: join(bareDir, 'qemu.pid'),
            timeoutMs: 30_000,
          }),
        );
      }
      const qmp = launches.map((l) => l.qmpMs);
      return {
        launches: LAUNCHES,
        daemonizedP50Ms: r1(median(launches.map((l) => l.daemonizedMs))),
        qmpP50Ms: r1(median(qmp)),
        qmpP95Ms: r1(pct(qmp, 95)),
        samplesMs: qmp.map(r1),
      };
    };
    const bareLaunch = await bareLaunches();

    // (a) the big wave, paused. A paused tiny QEMU holds ~150 MiB (kernel and initrd are loaded
    // into guest RAM before -S takes effect; the TCG buffer): on a shared machine, do not go
    // beyond what is available, less 2 GiB.
    const available = meminfo()['MemAvailable'] ?? 0;
    const fit = Math.floor((available - 2 * 2 ** 30) / (160 * 2 ** 20));
    const pausedVms = Math.max(1, Math.min(VMS_PAUSED, fit));
    if (pausedVms < VMS_PAUSED) log(`(a) only ${pausedVms} paused VMs fit in the available memory`);
    log(`(a) ${pausedVms} paused VMs, created ${INTERVAL_MS} ms apart`);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    tools.on = true;
    let w0 = performance.now();
    // while the wave runs, a bare launch of the same argv every 3 s: QEMU's launch time on this
    // host at the same moment (the machine may be shared), to set against the node agent's
    let waveDone = false;
    const during: LaunchResult[] = [];
    const probe = (async (): Promise<void> => {
      while (!waveDone) {
        await sleep(3000);
        if (waveDone) break;
        during.push(
          await client.bareLaunch({
            argv: launchArgv,
            qmp: join(bareDir, 'qmp.sock'),
            pidfile: join(bareDir, 'qemu.pid'),
            timeoutMs: 30_000,
          }),
        );
      }
    })();
    const pausedRows = await client.wave({
      ep,
      namespace: NS,
      vms: Array.from({ length: pausedVms }, (_, i) => vmBody(`p${i}`, true)),
      intervalMs: INTERVAL_MS,
      timeoutMs: 180_000,
    });
    const pausedWall = performance.now() - w0;
    waveDone = true;
    await probe;
    const bareLaunchDuring = {
      launches: during.length,
      daemonizedP50Ms: r1(median(during.map((l) => l.daemonizedMs))),
      qmpP50Ms: r1(median(during.map((l) => l.qmpMs))),
      qmpP95Ms: r1(
        pct(
          during.map((l) => l.qmpMs),
          95,
        ),
      ),
      samplesMs: during.map((l) => r1(l.qmpMs)),
    };
    loop.disable();
    tools.on = false;
    const pausedQemus = qemuPids(dataDir).length;
    const paused = summarise(pausedRows, true, false, pausedWall);
    log(
      `    p50 ${paused.createToRunning.p50Ms} ms, p95 ${paused.createToRunning.p95Ms} ms; ${pausedQemus} QEMUs; ${LAUNCHES} bare launches again, beside them`,
    );
    // the same bare launches with the wave's QEMUs still there: does a crowded host slow QEMU down?
    const bareLaunchBeside = await bareLaunches();
    log('    cleaning up');
    const pausedCleanup = await clearNamespace(ep, NS, dataDir);

    // (a) diagnostics: how fast this host starts paused QEMUs that stay up, one at a time and 4 at
    // a time (the node agent starts one at a time)
    const batchSize = 2 * LAUNCHES;
    log(`(a) diagnostics: ${batchSize} bare launches that stay up, 1 at a time, then 4 at a time`);
    const batchLaunches: { argv: string[]; qmp: string; pidfile: string }[] = [];
    for (let i = 0; i < batchSize; i++) {
      const dir = join(bareDir, `l${i}`);
      await mkdir(dir, { recursive: true });
      for (const f of readdirSync(bareDir))
        if (/\.(iso|qcow2)$/.test(f)) copyFileSync(join(bareDir, f), join(dir, f));
      batchLaunches.push({
        argv: bareArgv(platformArgv, warmDir, dir, 'paused-daemon'),
        qmp: join(dir, 'qmp.sock'),
        pidfile: join(dir, 'qemu.pid'),
      });
    }
    const throughput: Record<string, Record<string, number>> = {};
    for (const concurrency of [1, 4]) {
      const r = await client.bareLaunchBatch({ launches: batchLaunches, concurrency });
      throughput[`concurrency${concurrency}`] = {
        launches: batchSize,
        perSecond: r1((batchSize / r.totalMs) * 1000),
        launchP50Ms: r1(median(r.launchMs)),
        launchP95Ms: r1(pct(r.launchMs, 95)),
      };
      await sleep(1000);
    }

    // (a) the small wave, unpaused: the guests boot, concurrently, under TCG
    log(
      `(a) ${VMS_UNPAUSED} unpaused VMs, created ${INTERVAL_MS} ms apart (waiting for their ready markers too)`,
    );
    w0 = performance.now();
    const unpausedRows = await client.wave({
      ep,
      namespace: NS,
      vms: Array.from({ length: VMS_UNPAUSED }, (_, i) => vmBody(`u${i}`, false)),
      intervalMs: INTERVAL_MS,
      timeoutMs: 240_000,
      serial: { dataDir, marker: MARKER },
    });
    const unpaused = summarise(unpausedRows, false, true, performance.now() - w0);
    log(
      `    p50 ${unpaused.createToRunning.p50Ms} ms, p95 ${unpaused.createToRunning.p95Ms} ms; cleaning up`,
    );
    const unpausedCleanup = await clearNamespace(ep, NS, dataDir);
    results['creationToRunning'] = {
      paused: {
        ...paused,
        qemusRunningAtEnd: pausedQemus,
        requested: VMS_PAUSED,
        externalToolsP50Ms: tools.medians(),
        memAvailableGiBBefore: r1(available / 2 ** 30),
        cleanupSeconds: r1(pausedCleanup),
        eventLoopDelayMs: {
          p50: r1(loop.percentile(50) / 1e6),
          p99: r1(loop.percentile(99) / 1e6),
          max: r1(loop.max / 1e6),
        },
      },
      unpaused: { ...unpaused, cleanupSeconds: r1(unpausedCleanup) },
      bareLaunch,
      bareLaunchDuringTheWave: bareLaunchDuring,
      bareLaunchBesideTheWave: bareLaunchBeside,
      bareLaunchThroughput: throughput,
      ratioP50ToBareLaunch: r1(paused.createToRunning.p50Ms / (bareLaunch['qmpP50Ms'] as number)),
      kubevirtP50OverOursP50: r1(KUBEVIRT.vmiCreationToRunningP50Ms / paused.createToRunning.p50Ms),
      kubevirtP95OverOursP95: r1(KUBEVIRT.vmiCreationToRunningP95Ms / paused.createToRunning.p95Ms),
    };

    // (b) create → ready marker, platform vs bare QEMU, alternating, one at a time
    log(`(b) boot to "${MARKER}": ${BOOTS} platform and ${BOOTS} bare runs, alternating`);
    const bootArgv = bareArgv(platformArgv, warmDir, bareDir, 'foreground');
    const platformBoots: number[] = [];
    const platformBootsRunning: number[] = [];
    const bareBoots: number[] = [];
    for (let i = 0; i < BOOTS; i++) {
      const [r] = await client.wave({
        ep,
        namespace: NS,
        vms: [vmBody(`b${i}`, false)],
        intervalMs: 0,
        timeoutMs: 120_000,
        serial: { dataDir, marker: MARKER },
      });
      if (r === undefined || Number.isNaN(r.markerMs))
        throw new Error(`boot b${i}: no marker: ${JSON.stringify(r)}`);
      platformBoots.push(r.markerMs);
      platformBootsRunning.push(r.runningMs);
      await clearNamespace(ep, NS, dataDir);
      const b = await client.bareBoot({
        argv: bootArgv,
        serialLog: join(bareDir, 'serial.log'),
        marker: MARKER,
        timeoutMs: 120_000,
      });
      bareBoots.push(b.markerMs);
      log(`    run ${i + 1}: platform ${r0(r.markerMs)} ms, bare ${r0(b.markerMs)} ms`);
    }
    results['bootToMarker'] = {
      runs: BOOTS,
      platformMedianMs: r0(median(platformBoots)),
      platformRunningMedianMs: r0(median(platformBootsRunning)),
      bareMedianMs: r0(median(bareBoots)),
      differenceMs: r0(median(platformBoots) - median(bareBoots)),
      ratio: r2(median(platformBoots) / median(bareBoots)),
      platformMs: platformBoots.map(r0),
      bareMs: bareBoots.map(r0),
      bareArgv: bootArgv,
      met: median(platformBoots) / median(bareBoots) <= TARGETS.bootRatio,
    };

    await platform.stop();
    platform = undefined;
    killQemus(root);

    // (c) memory of `hikube up` per VM, as a child process
    log(`(c) memory: hikube up as a child, 0 VMs, then ${MEM_PAUSED} paused + ${MEM_RUNNING} running VMs`);
    const up = await startChild(childDir, results['accel'] as string);
    child = up.child;
    results['memory'] = await memoryPhase(client, up, childDir, log);
    log('    stopping hikube up (SIGTERM)');
    up.inspector.close();
    await stopChild(child);
    child = undefined;
  } finally {
    await client.close();
    if (platform !== undefined) await platform.stop();
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    // guests outlive the platform by design: stop every one this run started
    killQemus(root);
    await until('QEMUs to exit', () => killQemus(root) === 0, 10_000).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
  results['totalSeconds'] = r1((performance.now() - started) / 1000);
  results['loadAverageAtEnd'] = loadavg().map(r2);

  report(results);
  const out = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'runtime.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten: bench/results/runtime.json (${results['totalSeconds'] as number} s total)`);
}

function report(results: Record<string, unknown>): void {
  const m = results['machine'] as Record<string, unknown>;
  const c = results['creationToRunning'] as {
    paused: WaveSummary & { eventLoopDelayMs: Record<string, number> };
    unpaused: WaveSummary;
    bareLaunch: Record<string, number>;
    bareLaunchBesideTheWave: Record<string, number>;
    bareLaunchDuringTheWave: Record<string, number>;
    bareLaunchThroughput: Record<string, Record<string, number>>;
    ratioP50ToBareLaunch: number;
    kubevirtP50OverOursP50: number;
    kubevirtP95OverOursP95: number;
  };
  const b = results['bootToMarker'] as Record<string, number | boolean>;
  const mem = results['memory'] as Record<string, unknown> & {
    hikube: Record<string, Record<string, number>>;
    qemuRssMiB: Record<string, number>;
    helperProcesses: unknown[];
  };
  const yes = (v: unknown): string => (v === true ? 'yes' : 'NO');
  const wave = (w: WaveSummary): string =>
    `p50 ${w.createToRunning.p50Ms} ms, p95 ${w.createToRunning.p95Ms} ms, max ${w.createToRunning.maxMs} ms` +
    (w.failed > 0 ? ` (${w.failed} FAILED)` : '');
  const rows: string[][] = [
    ['benchmark', 'measured', 'baseline', 'ratio', 'target', 'met'],
    [
      `(a) ${c.paused.vms} paused VMs, ${c.paused.intervalMs} ms apart: create -> VMI Running`,
      wave(c.paused),
      `bare QEMU launch p50 ${c.bareLaunch['qmpP50Ms']} ms before, ${c.bareLaunchDuringTheWave['qmpP50Ms']} ms during, ${c.bareLaunchBesideTheWave['qmpP50Ms']} ms beside the wave; KubeVirt p50 18 s, p95 28 s`,
      `${c.ratioP50ToBareLaunch}x bare; KubeVirt/us ${c.kubevirtP50OverOursP50}x (p50), ${c.kubevirtP95OverOursP95}x (p95)`,
      `p50 < ${TARGETS.runningP50Ms} ms, p95 < ${TARGETS.runningP95Ms} ms`,
      yes(c.paused.met),
    ],
    [
      `(a) ${c.unpaused.vms} unpaused VMs (booting, TCG): create -> VMI Running`,
      wave(c.unpaused),
      'same',
      '-',
      `p50 < ${TARGETS.runningP50Ms} ms, p95 < ${TARGETS.runningP95Ms} ms`,
      yes(c.unpaused.met),
    ],
    [
      `(a) info: those ${c.unpaused.vms}: create -> ready marker`,
      `p50 ${c.unpaused.createToMarker?.p50Ms ?? NaN} ms, p95 ${c.unpaused.createToMarker?.p95Ms ?? NaN} ms`,
      '-',
      '-',
      '-',
      '-',
    ],
    [
      `(a) info: one VM at a time (the runs of (b)): create -> VMI Running`,
      `median ${b['platformRunningMedianMs'] as number} ms`,
      '-',
      '-',
      '-',
      '-',
    ],
    [
      `(b) create -> "${MARKER}", ${b['runs'] as number} + ${b['runs'] as number} alternating`,
      `median ${b['platformMedianMs'] as number} ms`,
      `bare qemu median ${b['bareMedianMs'] as number} ms`,
      `${b['ratio'] as number}x (+${b['differenceMs'] as number} ms)`,
      `<= ${TARGETS.bootRatio}x`,
      yes(b['met']),
    ],
    [
      `(c) hikube RSS per VM (${mem['vms'] as number} VMs: ${mem['paused'] as number} paused + ${mem['running'] as number} running)`,
      `${mem['perVmMiB'] as number} MiB (${mem.hikube['idle']?.['rssAfterGcMiB'] ?? NaN} -> ${mem.hikube['withVms']?.['rssAfterGcMiB'] ?? NaN} MiB after GC; ${mem['perVmMiBWithoutGc'] as number} MiB without)`,
      `QEMU RSS ${mem.qemuRssMiB['runningMedian']} MiB running, ${mem.qemuRssMiB['pausedMedian']} MiB paused; KubeVirt launcher 240 MiB`,
      `${mem['perVmPercentOfRunningQemuRss'] as number}% of a running QEMU`,
      `<= ${TARGETS.perVmMiB} MiB`,
      yes((mem['perVmMiB'] as number) <= TARGETS.perVmMiB),
    ],
    [
      `(c) helper processes per VM besides QEMU`,
      `${mem.helperProcesses.length} (fds per VM: ${mem['perVmFds'] as number})`,
      'KubeVirt: virt-launcher pod',
      '-',
      '0',
      yes(mem.helperProcesses.length === 0),
    ],
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const la = (k: string): string => ((results[k] ?? m[k]) as number[]).join(' ');
  console.log(
    `\nHikube runtime benchmarks — ${String(m['cpus'])} x ${String(m['cpuModel'])}, ${String(m['memTotalGiB'])} GiB, node ${String(m['node'])}, ${String(m['qemu'])}, guests under ${String(results['accel'])}, commit ${String(m['commit'])}, load average ${la('loadAverageAtStart')} -> ${la('loadAverageAtEnd')}\n`,
  );
  rows.forEach((r, i) => {
    console.log(r.map((cell, j) => cell.padEnd(widths[j] ?? 0)).join('  '));
    if (i === 0) console.log(widths.map((n) => '-'.repeat(n)).join('  '));
  });
  const p = c.paused as typeof c.paused & { externalToolsP50Ms: Record<string, number> };
  const tools = p.externalToolsP50Ms;
  console.log(
    `\n(a) paused wave, p50 from the create request: response ${p.stepsP50Ms.response} ms, VMI seen ${p.stepsP50Ms.vmiSeen} ms, Scheduled ${p.stepsP50Ms.scheduled} ms, Running ${p.stepsP50Ms.running} ms.` +
      `\n    One VMI reaches Running every ${p.runningIntervalP50Ms} ms (p50); per launch, the node agent spends p50 ${tools['qemuImgCreate']} ms in qemu-img create, ${tools['genisoimage']} ms in genisoimage, ${tools['qemuLaunch']} ms launching QEMU (a bare launch of the same argv during the wave: p50 ${c.bareLaunchDuringTheWave['daemonizedP50Ms']} ms).` +
      `\n    Bare paused QEMUs that stay up start at ${c.bareLaunchThroughput['concurrency1']?.['perSecond'] ?? NaN}/s one at a time, ${c.bareLaunchThroughput['concurrency4']?.['perSecond'] ?? NaN}/s four at a time (creates arrive at ${r1(1000 / INTERVAL_MS)}/s).` +
      `\n    Platform event-loop delay p99 ${p.eventLoopDelayMs['p99']} ms, max ${p.eventLoopDelayMs['max']} ms.`,
  );
}

if (isMainThread) {
  await main();
} else if ((workerData as { role?: string } | null)?.role === 'client') {
  clientWorker();
}
