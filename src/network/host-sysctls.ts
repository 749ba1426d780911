/**
 * The host settings the pod network changes (`net.ipv4.ip_forward`, `route_localnet`) are the
 * admin's, not ours: each is recorded before its first change and given back when what needed it
 * is gone (the last pod sandbox for forwarding, the Service table for route_localnet). The record
 * is one host-wide file (`/run/hikube/host-sysctls.json`: sysctls, like it, do not outlive a
 * reboot), written before the change, so a crash between the two still leaves the original value
 * known; a value already recorded is never overwritten by ours. Several platforms on one host share
 * it: the value goes back only when no other platform's pod network is alive (the pod CIDR
 * markers say), so the last one out restores it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const HOST_SYSCTLS = '/run/hikube/host-sysctls.json';

export class SysctlLedger {
  /**
   * @param othersAlive whether another platform still needs the settings (then nothing is restored)
   * @param file where the original values are kept
   * @param proc the sysctl tree (tests: a directory of their own)
   */
  constructor(
    private readonly othersAlive: () => boolean,
    private readonly file = HOST_SYSCTLS,
    private readonly proc = '/proc/sys',
  ) {}

  private path(key: string): string {
    return join(this.proc, ...key.split('.'));
  }

  private read(): Record<string, string> {
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  private write(record: Record<string, string>): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, `${JSON.stringify(record, null, 2)}\n`);
  }

  /** The values recorded and not given back yet. */
  recorded(): Record<string, string> {
    return this.read();
  }

  /** Sets `key` to `value`, first recording its value unless one is recorded already. */
  set(key: string, value: string): void {
    const record = this.read();
    const now = readFileSync(this.path(key), 'utf8').trim();
    if (record[key] === undefined && now !== value) this.write({ ...record, [key]: now });
    if (now !== value) writeFileSync(this.path(key), `${value}\n`);
  }

  /**
   * Gives `key` its recorded value back, and forgets it; nothing when none is recorded or another
   * platform still runs a pod network (the last one restores it). True when it was restored.
   */
  restore(key: string): boolean {
    const record = this.read();
    const original = record[key];
    if (original === undefined || this.othersAlive()) return false;
    writeFileSync(this.path(key), `${original}\n`);
    const rest = Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
    this.write(rest);
    return true;
  }
}
