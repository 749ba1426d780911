/**
 * Monitoring benchmark: what collecting metrics costs the node agent, and how long a `/metrics`
 * scrape takes, with many VMs running.
 *
 * The platform runs in this process with its collection timer effectively off; each round is
 * driven by calling the collector directly, as the timer would. Measured per round:
 * - this process's CPU time (process.cpuUsage) for the round: /proc reads, QMP round trips
 *   (query-blockstats, the balloon's guest-stats), series building, the history write;
 * - the QEMU processes' CPU time over the round (their side of QMP), from /proc/PID/stat;
 * - wall time.
 * Phase 1 has N guests started paused (`startStrategy: Paused`: QEMU, its disks and QMP exist,
 * the guest does not run), so 100 fit on this 2-core machine; paused guests answer QMP but their
 * balloon reports nothing and no guest agent is asked. Phase 2 adds M guests that really run
 * (booted tiny guests: balloon stats too), to price a running VM against a paused one.
 * Then `/metrics` is fetched over HTTPS with the bearer token, S times.
 *
 * Usage: npm run build && node dist/bench/metrics.js
 * Env: BENCH_VMS (100 paused), BENCH_RUNNING (5), BENCH_ROUNDS (20), BENCH_SCRAPES (20).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { findKindByGvk } from '../src/api/registry.js';
import { parseStat } from '../src/metrics/procfs.js';
import { startPlatform, type Platform } from '../src/platform/platform.js';
import { tinyVm } from '../test/support/guest.js';
import { env, median, pct, round } from './support/stats.js';

const VMS = env('BENCH_VMS', 100);
const RUNNING = env('BENCH_RUNNING', 5);
const ROUNDS = env('BENCH_ROUNDS', 20);
const SCRAPES = env('BENCH_SCRAPES', 20);
const INTERVAL_S = 10;
const TARGET_PERCENT = 2;
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));

function qemuCpuSeconds(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const s = parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
      total += (s?.utime ?? 0) + (s?.stime ?? 0);
    } catch {
      // Gone.
    }
  }
  return total;
}

function createVms(p: Platform, prefix: string, count: number, paused: boolean): void {
  const def = findKindByGvk('kubevirt.io/v1', 'VirtualMachine');
  if (def === undefined) throw new Error('VirtualMachine kind missing');
  for (let i = 0; i < count; i++) {
    const vm = parse(tinyVm(`${prefix}-${i}`)) as {
      spec: { template: { spec: { startStrategy?: string; domain: { memory: { guest: string } } } } };
    };
    vm.spec.template.spec.domain.memory.guest = '96Mi';
    if (paused) vm.spec.template.spec.startStrategy = 'Paused';
    p.registry.create(def, 'default', vm);
  }
}

async function waitRunning(p: Platform, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (p.agent.running().length < count) {
    if (Date.now() > deadline) throw new Error(`only ${p.agent.running().length} of ${count} VMs running`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface RoundCost {
  cpuMs: number;
  qemuCpuMs: number;
  wallMs: number;
  vms: number;
}

async function rounds(p: Platform, n: number): Promise<RoundCost[]> {
  const out: RoundCost[] = [];
  const pids = p.agent.running().map((g) => g.pid);
  await p.metrics.collector.collect(); // warm-up: one-time QMP set-up (balloon polling, memory size)
  for (let i = 0; i < n; i++) {
    const q0 = qemuCpuSeconds(pids);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const samples = await p.metrics.collector.collect();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const q = qemuCpuSeconds(pids) - q0;
    out.push({ cpuMs: (c.user + c.system) / 1000, qemuCpuMs: q * 1000, wallMs, vms: samples.length });
    await new Promise((r) => setTimeout(r, 200));
  }
  return out;
}

function summarize(label: string, costs: RoundCost[]): Record<string, number | string> {
  const vms = costs[0]?.vms ?? 0;
  const cpu = median(costs.map((c) => c.cpuMs));
  const qemu = median(costs.map((c) => c.qemuCpuMs));
  return {
    phase: label,
    vms,
    cpuMsPerRoundP50: round(cpu),
    cpuMsPerRoundP95: round(
      pct(
        costs.map((c) => c.cpuMs),
        95,
      ),
    ),
    cpuMsPerVm: round(cpu / Math.max(1, vms), 3),
    qemuCpuMsPerRoundP50: round(qemu),
    wallMsP50: round(median(costs.map((c) => c.wallMs))),
    percentOfOneCoreAt10s: round((cpu / (INTERVAL_S * 1000)) * 100, 3),
    percentWithQemuSideAt10s: round(((cpu + qemu) / (INTERVAL_S * 1000)) * 100, 3),
  };
}

function scrapeOnce(p: Platform, dataDir: string): Promise<{ ms: number; bytes: number }> {
  const ca = readFileSync(join(dataDir, 'pki', 'ca.crt'));
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      new URL('/metrics', p.url),
      { ca, headers: { Authorization: `Bearer ${p.token}` } },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ ms: performance.now() - t0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hikube-bench-metrics-'));
  const load = [loadavg()[0] ?? 0];
  const p = await startPlatform({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    accel: 'tcg',
    metrics: { intervalMs: 3_600_000 },
  });
  const results: Record<string, unknown>[] = [];
  try {
    process.stderr.write(`starting ${VMS} paused VMs…\n`);
    createVms(p, 'paused', VMS, true);
    await waitRunning(p, VMS, VMS * 3000);
    results.push(summarize(`${VMS} paused`, await rounds(p, ROUNDS)));
    process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);

    const scrapes: { ms: number; bytes: number }[] = [];
    await scrapeOnce(p, dataDir);
    for (let i = 0; i < SCRAPES; i++) scrapes.push(await scrapeOnce(p, dataDir));
    results.push({
      phase: `/metrics scrape, ${VMS} VMs`,
      p50Ms: round(median(scrapes.map((s) => s.ms))),
      p95Ms: round(
        pct(
          scrapes.map((s) => s.ms),
          95,
        ),
      ),
      bytes: scrapes[0]?.bytes ?? 0,
    });
    process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);

    process.stderr.write(`starting ${RUNNING} running VMs…\n`);
    createVms(p, 'running', RUNNING, false);
    await waitRunning(p, VMS + RUNNING, RUNNING * 10_000 + 30_000);
    await new Promise((r) => setTimeout(r, 15_000)); // let them boot (balloon driver up)
    const both = summarize(`${VMS} paused + ${RUNNING} running`, await rounds(p, ROUNDS));
    const base = results[0] as { cpuMsPerRoundP50: number };
    both['cpuMsPerRunningVm'] = round(
      ((both['cpuMsPerRoundP50'] as number) - base.cpuMsPerRoundP50) / RUNNING,
      3,
    );
    results.push(both);
    process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
    results.push({ phase: 'history file', bytes: p.metrics.store?.sizeBytes() ?? 0 });
  } finally {
    const pids = p.agent.running().map((g) => g.pid);
    await p.stop();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    await rm(dataDir, { recursive: true, force: true });
  }
  load.push(loadavg()[0] ?? 0);
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', node: process.version },
    loadavg1Before: load[0],
    loadavg1After: load[1],
    targetPercentOfOneCore: TARGET_PERCENT,
    results,
  };
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, 'metrics.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.table(results);
}

await main();
