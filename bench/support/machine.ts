/** The machine a benchmark ran on, for its report: CPUs, memory, load, software and the commit. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { r1, r2 } from './stats.js';

/** `git describe` of this checkout (or of the checkout holding `dir`), or "unknown". */
export function gitDescribe(dir?: string): string {
  try {
    const cwd = dir ?? fileURLToPath(new URL('../../../', import.meta.url));
    return execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** /proc/meminfo in bytes, by field. */
export function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m !== null) out[m[1] ?? ''] = Number(m[2]) * 1024;
  }
  return out;
}

/** CPUs, memory, kernel, Node, load averages now, and the commit. */
export function machine(): Record<string, unknown> {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const mem = meminfo();
  return {
    cpus: cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memTotalGiB: r1((mem['MemTotal'] ?? 0) / 2 ** 30),
    memAvailableGiBAtStart: r1((mem['MemAvailable'] ?? 0) / 2 ** 30),
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    loadAverageAtStart: loadavg().map(r2),
    commit: gitDescribe(),
  };
}
