/**
 * KVM or TCG? /dev/kvm existing is not enough: on some hosts (nested virtualisation) QEMU aborts
 * setting an MSR with `-cpu host`, or hangs forever inside the guest with other models. So KVM is
 * chosen only when a throwaway QEMU, run with the CPU model guests would get under KVM, gets through
 * SeaBIOS and exits by itself within a short timeout: with no boot device, `reboot-timeout=0` makes
 * SeaBIOS reset at once and `-no-reboot` turns the reset into a clean exit (0.15 s under TCG).
 * The answer is cached for the process; HIKUBE_ACCEL=kvm|tcg skips the probe.
 */
import { KVM_CPU_MODEL } from './configurators/cpu.js';
import type { Accel } from './machine.js';

/** Runs qemu-system-x86_64 with argv; ok when it exits with status 0 before timeoutMs (the adapter kills it after). */
export type ProbeRun = (
  argv: readonly string[],
  timeoutMs: number,
) => Promise<{ ok: boolean; detail?: string }>;

export interface ProbeOptions {
  /** Whether /dev/kvm exists and can be opened; without it KVM is not tried. */
  kvmPresent: () => Promise<boolean>;
  /** Reads HIKUBE_ACCEL from here. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Told why KVM was rejected, for the node's log. */
  onReject?: (reason: string) => void;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 3000;

/** A guest with no disk: SeaBIOS finds nothing to boot, resets, and QEMU exits 0. */
// prettier-ignore
export const KVM_PROBE_ARGV: readonly string[] = [
  '-machine', 'q35',
  '-accel', 'kvm',
  '-cpu', KVM_CPU_MODEL,
  '-m', '64M',
  '-nodefaults',
  '-no-user-config',
  '-display', 'none',
  '-boot', 'reboot-timeout=0',
  '-no-reboot',
];

let cached: Promise<Accel> | undefined;

export async function probeAccelerator(
  run: ProbeRun,
  timeoutMs: number = DEFAULT_PROBE_TIMEOUT_MS,
  options: ProbeOptions,
): Promise<Accel> {
  const forced = options.env?.['HIKUBE_ACCEL'];
  if (forced !== undefined && forced !== '') {
    if (forced === 'kvm' || forced === 'tcg') return forced;
    throw new Error(`HIKUBE_ACCEL must be "kvm" or "tcg", not ${JSON.stringify(forced)}`);
  }
  cached ??= decide(run, timeoutMs, options);
  return cached;
}

/** Forgets the cached answer (tests; or after the host's KVM setup changed). */
export function resetAcceleratorCache(): void {
  cached = undefined;
}

async function decide(run: ProbeRun, timeoutMs: number, options: ProbeOptions): Promise<Accel> {
  const reject = (reason: string): Accel => {
    options.onReject?.(reason);
    return 'tcg';
  };
  try {
    if (!(await options.kvmPresent())) return reject('/dev/kvm is absent or not accessible');
    const result = await withDeadline(run(KVM_PROBE_ARGV, timeoutMs), timeoutMs + 1000);
    if (result === undefined) return reject(`the KVM probe did not answer within ${timeoutMs + 1000} ms`);
    if (!result.ok) return reject(`QEMU under KVM did not run a trivial guest: ${result.detail ?? 'failed'}`);
    return 'kvm';
  } catch (err) {
    return reject(`the KVM probe failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The adapter promises to kill QEMU at timeoutMs; this guards against an adapter that never settles. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
