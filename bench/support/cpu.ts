/**
 * CPU time of one thread, for benchmark figures that hold up on a loaded machine: requests per
 * second fall 2–5× when other work shares the cores, the CPU a request costs the server hardly
 * moves. Linux's /proc/<pid>/task/<tid>/schedstat gives a thread's time on a CPU in nanoseconds.
 * Two figures: the main thread alone (the server's event loop, SQLite included), and the whole
 * process but the client's worker thread (adds libuv's pool, e.g. file writes, and V8's GC helpers).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Nanoseconds thread `tid` of this process has run on a CPU; the main thread's id is the pid. */
export function threadCpuNs(tid: number = process.pid): number {
  const first = readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0];
  const ns = Number(first);
  if (!Number.isFinite(ns)) throw new Error(`thread ${tid}: unreadable schedstat "${first ?? ''}"`);
  return ns;
}

/**
 * Waits until the main thread is quiet (under `quietMs` of CPU in a `windowMs` window, at most
 * `maxMs`), so that work a batch set off after its last response (controllers reacting to the
 * writes, watch fan-out) is counted in the batch's CPU.
 */
export async function settle(windowMs = 100, quietMs = 3, maxMs = 5000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = threadCpuNs();
  while (Date.now() < until) {
    await sleep(windowMs);
    const now = threadCpuNs();
    if (now - last < quietMs * 1e6) return;
    last = now;
  }
}

/** This thread's id (the tid of /proc/thread-self), to be excluded by the thread that measures. */
export function ownThreadId(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  return Number(stat.slice(0, stat.indexOf(' ')));
}

const processCpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

export interface CpuCost<T> {
  result: T;
  /** Main thread only. */
  cpuMs: number;
  /** Every thread of the process but `exclude` (the client). */
  processCpuMs: number;
}

/**
 * CPU milliseconds `run` costs the server, including the work it leaves behind (see settle):
 * on the main thread, and in the whole process but the thread `exclude`.
 */
export async function serverCpuMs<T>(exclude: number, run: () => Promise<T>): Promise<CpuCost<T>> {
  await settle();
  const main0 = threadCpuNs();
  const proc0 = processCpuNs();
  const ex0 = threadCpuNs(exclude);
  const result = await run();
  await settle();
  const main = threadCpuNs() - main0;
  const proc = processCpuNs() - proc0 - (threadCpuNs(exclude) - ex0);
  return { result, cpuMs: main / 1e6, processCpuMs: proc / 1e6 };
}
