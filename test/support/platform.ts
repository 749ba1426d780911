/**
 * Starts a real platform (real SQLite, real TLS API server) in the test process on a free port,
 * and runs the real kubectl against it with its own cache dir.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPlatform, type Platform, type PlatformOptions } from '../../src/platform/platform.js';
import { qemuPids } from './guest.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const examplesDir = join(repoRoot, 'examples');

export interface TestPlatform extends Platform {
  dataDir: string;
  kubectl(
    args: string[],
    input?: string,
    env?: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  hikube(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

/** Runs kubectl against `p` and returns its stdout; a non-zero exit fails the test with kubectl's stderr. */
export async function kubectlOk(
  p: TestPlatform,
  args: string[],
  input?: string,
  env?: Record<string, string>,
): Promise<string> {
  const r = await p.kubectl(args, input, env);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Runs the hikube CLI against `p` and returns its stdout; a non-zero exit fails the test with its output. */
export async function hikubeOk(p: TestPlatform, args: string[], input?: string): Promise<string> {
  const r = await p.hikube(args, input);
  assert.equal(r.code, 0, `hikube ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

export async function startTestPlatform(
  options: {
    dataDir?: string;
    bookmarkIntervalMs?: number;
    historySize?: number;
    metrics?: PlatformOptions['metrics'];
    registryMirrors?: PlatformOptions['registryMirrors'];
    /** Default true: the suite's registries and file servers listen on 127.0.0.1. */
    allowPrivateTargets?: boolean;
    allowExternalIPs?: boolean;
    featureGates?: PlatformOptions['featureGates'];
    /** Network options (e.g. `{ mode: 'pod', podCidr }` for the routed pod network). */
    network?: PlatformOptions['network'];
  } = {},
): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'hikube-test-')));
  const platform = await startPlatform({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    ...(options.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: options.bookmarkIntervalMs } : {}),
    ...(options.historySize !== undefined ? { historySize: options.historySize } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    // Offline by construction: registries not mapped by the test go to a closed loopback port.
    registryMirrors: { '*': '127.0.0.1:1', ...options.registryMirrors },
    allowPrivateTargets: options.allowPrivateTargets ?? true,
    ...(options.allowExternalIPs !== undefined ? { allowExternalIPs: options.allowExternalIPs } : {}),
    ...(options.featureGates !== undefined ? { featureGates: options.featureGates } : {}),
    ...(options.network !== undefined ? { network: options.network } : {}),
  });
  const cacheDir = join(dataDir, 'kube-cache');
  return {
    ...platform,
    dataDir,
    kubectl: (args, input, env = {}) =>
      run('kubectl', ['--kubeconfig', platform.kubeconfigPath, '--cache-dir', cacheDir, ...args], input, {
        HOME: dataDir,
        ...env,
      }),
    hikube: (args, input) =>
      run(join(repoRoot, 'bin', 'hikube'), ['--kubeconfig', platform.kubeconfigPath, ...args], input, {}),
    async cleanup() {
      await platform.stop();
      // Guests outlive the platform by design: a test stops the ones it started.
      for (const pid of qemuPids(dataDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function run(
  cmd: string,
  args: string[],
  input: string | undefined,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`${cmd} ${args.join(' ')} failed to run: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

export { spawn };
