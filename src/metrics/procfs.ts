/**
 * What the host kernel knows of a QEMU process: CPU time (user, system) of the whole process and
 * of each vCPU thread (QEMU names them `CPU n/TCG` or `CPU n/KVM` with debug-threads=on), resident
 * memory and page faults. Parsers are pure; `readQemuProcess` does the (synchronous, tiny) reads
 * of /proc, which never block.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of times in /proc/PID/stat, 100 on every Linux architecture Node runs on. */
export const CLOCK_TICKS = 100;

export interface ProcStat {
  comm: string;
  state: string;
  minflt: number;
  majflt: number;
  /** Seconds. */
  utime: number;
  stime: number;
}

/** /proc/PID/stat or /proc/PID/task/TID/stat (the command name may hold spaces and parentheses). */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).split(' ');
  // Fields after the name, counted from 3 (state) as in proc(5).
  const field = (n: number): number => Number(f[n - 3] ?? NaN);
  const out = {
    comm: text.slice(open + 1, close),
    state: f[0] ?? '',
    minflt: field(10),
    majflt: field(12),
    utime: field(14) / CLOCK_TICKS,
    stime: field(15) / CLOCK_TICKS,
  };
  return Number.isFinite(out.utime) && Number.isFinite(out.stime) ? out : undefined;
}

/** VmRSS of /proc/PID/status, in bytes. */
export function parseRss(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m === null ? undefined : Number(m[1]) * 1024;
}

/** The vCPU index of a QEMU thread name (`CPU 0/TCG`, `CPU 1/KVM`), undefined for other threads. */
export function vcpuIndex(comm: string): number | undefined {
  const m = /^CPU (\d+)\/\w+$/.exec(comm);
  return m === null ? undefined : Number(m[1]);
}

export interface QemuProcess {
  user: number;
  system: number;
  rssBytes: number;
  minflt: number;
  majflt: number;
  /** CPU seconds (user + system) per vCPU thread, by index; empty under round-robin TCG. */
  vcpus: { id: number; seconds: number }[];
}

/** Undefined when the process is gone. */
export function readQemuProcess(pid: number, proc = '/proc'): QemuProcess | undefined {
  let stat: ProcStat | undefined;
  let rss: number | undefined;
  try {
    stat = parseStat(readFileSync(`${proc}/${pid}/stat`, 'latin1'));
    rss = parseRss(readFileSync(`${proc}/${pid}/status`, 'latin1'));
  } catch {
    return undefined;
  }
  if (stat === undefined) return undefined;
  const vcpus: { id: number; seconds: number }[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`${proc}/${pid}/task`);
  } catch {
    // Gone between the reads.
  }
  for (const tid of tasks) {
    try {
      const t = parseStat(readFileSync(`${proc}/${pid}/task/${tid}/stat`, 'latin1'));
      const id = t === undefined ? undefined : vcpuIndex(t.comm);
      if (t !== undefined && id !== undefined) vcpus.push({ id, seconds: t.utime + t.stime });
    } catch {
      // The thread ended.
    }
  }
  vcpus.sort((a, b) => a.id - b.id);
  return {
    user: stat.utime,
    system: stat.stime,
    rssBytes: rss ?? 0,
    minflt: stat.minflt,
    majflt: stat.majflt,
    vcpus,
  };
}
