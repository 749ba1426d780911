/**
 * The real side of probe.ts: spawns QEMU and kills it when it overstays, and checks /dev/kvm.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import type { Accel } from './machine.js';
import { DEFAULT_PROBE_TIMEOUT_MS, probeAccelerator, type ProbeRun } from './probe.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
const STDERR_LIMIT = 2000;

/** A ProbeRun that starts `binary argv…`, ok when it exits 0 in time; SIGKILLed at the timeout. */
export function spawnProbe(binary: string = QEMU_BINARY): ProbeRun {
  return (argv, timeoutMs) =>
    new Promise((resolve) => {
      let stderr = '';
      let settled = false;
      const finish = (ok: boolean, detail: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok ? { ok } : { ok, detail });
      };
      const child = spawn(binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(false, `no exit within ${timeoutMs} ms (killed)`);
      }, timeoutMs);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        if (stderr.length < STDERR_LIMIT) stderr += chunk;
      });
      child.on('error', (err) => finish(false, err.message));
      child.on('exit', (code, signal) => {
        const why = signal !== null ? `killed by ${signal}` : `exit status ${code ?? '?'}`;
        finish(
          code === 0,
          `${why}${stderr.trim() === '' ? '' : `: ${stderr.trim().slice(0, STDERR_LIMIT)}`}`,
        );
      });
    });
}

/** /dev/kvm exists and this process may open it read-write. */
export async function kvmDevicePresent(path = '/dev/kvm'): Promise<boolean> {
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** probeAccelerator wired to the real QEMU, /dev/kvm and process.env. */
export function detectAccelerator(onReject?: (reason: string) => void): Promise<Accel> {
  return probeAccelerator(spawnProbe(), DEFAULT_PROBE_TIMEOUT_MS, {
    kvmPresent: () => kvmDevicePresent(),
    env: process.env,
    ...(onReject === undefined ? {} : { onReject }),
  });
}
