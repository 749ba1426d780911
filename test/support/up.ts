/** A real `hikube up` child process on a free port, so tests can kill it for real (kill -9). */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, type TestPlatform } from './platform.js';

export interface Child {
  proc: ChildProcess;
  platform: TestPlatform;
  output(): string;
}

/**
 * A pod CIDR of its own for each data dir (the same across restarts of it, as a user's would be):
 * as root `hikube up` runs the pod network, and platforms of test files running side by side may
 * not share one (src/network/pod/cidr-safety.ts). 10.250.0.0/14 holds no other test's range.
 */
export function testPodCidr(dataDir: string): string {
  const n = createHash('sha256').update(dataDir).digest().readUInt16BE(0) % 1024;
  return `10.${250 + (n >> 8)}.${n & 255}.0/24`;
}

/** Starts `hikube up` and resolves once it prints where it listens. */
export async function up(dataDir: string, extraArgs: string[] = []): Promise<Child> {
  const podCidr = extraArgs.includes('--pod-cidr') ? [] : ['--pod-cidr', testPodCidr(dataDir)];
  const proc = spawn(
    join(repoRoot, 'bin', 'hikube'),
    ['up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...podCidr, ...extraArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hikube up did not start: ${out}`)), 30_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`hikube up exited with ${String(code)}: ${out}`)));
  });
  const token = (await readFile(join(dataDir, 'pki', 'admin.token'), 'utf8')).trim();
  const platform = { url, token, dataDir } as TestPlatform;
  return { proc, platform, output: () => out };
}

export const exited = (proc: ChildProcess): Promise<number | null> =>
  new Promise((resolve) =>
    proc.exitCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code)),
  );

/** kubectl on a kubeconfig file (e.g. a `hikube up` child's), with its own cache dir; rejects with stderr. */
export function kubectlOn(
  kubeconfig: string,
  cacheDir: string,
): (args: string[], input?: string) => Promise<string> {
  return (args, input) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          err !== null ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
      );
      if (input !== undefined) child.stdin?.end(input);
    });
}
