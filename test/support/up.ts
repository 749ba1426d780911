/** A real `hikube up` child process on a free port, so tests can kill it for real (kill -9). */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, type TestPlatform } from './platform.js';

export interface Child {
  proc: ChildProcess;
  platform: TestPlatform;
  output(): string;
}

/** Starts `hikube up` and resolves once it prints where it listens. */
export async function up(dataDir: string, extraArgs: string[] = []): Promise<Child> {
  const proc = spawn(
    join(repoRoot, 'bin', 'hikube'),
    ['up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...extraArgs],
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
