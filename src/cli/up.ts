/**
 * `hikube up`: runs the platform in the foreground until Ctrl-C (SIGINT) or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startPlatform } from '../platform/platform.js';
import { defaultDataDir } from '../platform/paths.js';
import { UsageError } from './errors.js';
import { parseFeatureGates } from '../api/feature-gates.js';
import { cpuAllocationRatioFromEnv, parseCpuAllocationRatio } from '../api/quota/usage.js';
import { DEFAULT_OVERCOMMIT } from '../node/registration.js';
import { DEFAULT_POD_CIDR, resolveNetworkOptions, type NetworkOptions } from '../network/options.js';
import { chooseNetworkMode } from '../network/pod/mode.js';
import { linuxPodLinks } from '../network/pod/linux.js';
import { DEFAULT_STORAGE_OVERCOMMIT } from '../storage/capacity.js';
import { parseUpstream } from '../network/dns/server.js';
import { parseBackupDirs } from '../controllers/backup/local-path.js';

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--listen must be HOST:PORT (e.g. 127.0.0.1:6443), not ${JSON.stringify(value)}`);
  }
  return { host: m[1] ?? (m[2] === '' ? '127.0.0.1' : (m[2] ?? '127.0.0.1')), port };
}

export async function runUp(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:6443' },
      'node-name': { type: 'string' },
      'cpu-overcommit': { type: 'string', default: String(DEFAULT_OVERCOMMIT.cpu) },
      'memory-overcommit': { type: 'string', default: String(DEFAULT_OVERCOMMIT.memory) },
      'storage-overcommit': {
        type: 'string',
        default: process.env['HIKUBE_STORAGE_OVERCOMMIT'] ?? String(DEFAULT_STORAGE_OVERCOMMIT),
      },
      'lb-pool': { type: 'string' },
      'service-cidr': { type: 'string' },
      'dns-upstream': { type: 'string' },
      'no-bridges': { type: 'boolean', default: false },
      network: { type: 'string' },
      'pod-cidr': { type: 'string' },
      // Admin switches; each also has an environment variable, read when the flag is absent.
      'allow-private-targets': { type: 'boolean' },
      'backup-dirs': { type: 'string' },
      'allow-external-ips': { type: 'boolean' },
      'feature-gates': { type: 'string' },
      'cpu-allocation-ratio': { type: 'string' },
      'without-hikube-controllers': { type: 'boolean' },
    },
  });
  const ratio = (flag: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError(`--${flag} must be a positive number, not ${JSON.stringify(v)}`);
    return n;
  };
  const overcommit = {
    cpu: ratio('cpu-overcommit', values['cpu-overcommit']),
    memory: ratio('memory-overcommit', values['memory-overcommit']),
  };
  const network: NetworkOptions = { bridges: !values['no-bridges'] };
  if (values['lb-pool'] !== undefined) network.loadBalancerPool = values['lb-pool'].split(',');
  if (values['service-cidr'] !== undefined) network.serviceCidr = values['service-cidr'];
  if (values['dns-upstream'] !== undefined) {
    try {
      parseUpstream(values['dns-upstream']);
    } catch (err) {
      throw new UsageError(`--dns-upstream: ${err instanceof Error ? err.message : String(err)}`);
    }
    network.dnsUpstream = values['dns-upstream'];
  }
  try {
    resolveNetworkOptions({ ...network, mode: 'user', podCidr: DEFAULT_POD_CIDR });
  } catch (err) {
    const flag = err instanceof Error && err.message.startsWith('service CIDR') ? 'service-cidr' : 'lb-pool';
    throw new UsageError(`--${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
  network.podCidr = values['pod-cidr'] ?? process.env['HIKUBE_POD_CIDR'] ?? DEFAULT_POD_CIDR;
  let networkLine: string;
  try {
    const choice = await chooseNetworkMode(
      values.network ?? process.env['HIKUBE_NETWORK'],
      () => linuxPodLinks.unavailable(),
      network.podCidr,
    );
    network.mode = choice.mode;
    networkLine = choice.line;
    resolveNetworkOptions(network);
  } catch (err) {
    throw new UsageError(`--network/--pod-cidr: ${err instanceof Error ? err.message : String(err)}`);
  }
  let featureGates: ReturnType<typeof parseFeatureGates> | undefined;
  try {
    if (values['feature-gates'] !== undefined) featureGates = parseFeatureGates(values['feature-gates']);
  } catch (err) {
    throw new UsageError(`--feature-gates: ${err instanceof Error ? err.message : String(err)}`);
  }
  let cpuAllocationRatio: number | undefined;
  try {
    if (values['cpu-allocation-ratio'] !== undefined)
      cpuAllocationRatio = parseCpuAllocationRatio(values['cpu-allocation-ratio']);
    else cpuAllocationRatio = cpuAllocationRatioFromEnv();
  } catch (err) {
    throw new UsageError(`--cpu-allocation-ratio: ${err instanceof Error ? err.message : String(err)}`);
  }
  let backupDirs: string[] | undefined;
  try {
    if (values['backup-dirs'] !== undefined) backupDirs = parseBackupDirs(values['backup-dirs']);
  } catch (err) {
    throw new UsageError(`--backup-dirs: ${err instanceof Error ? err.message : String(err)}`);
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const { host, port } = parseListen(values.listen);
  const log = (m: string): void => void process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const platform = await startPlatform({
    dataDir,
    host,
    port,
    log,
    overcommit,
    storageOvercommit: ratio('storage-overcommit', values['storage-overcommit']),
    network,
    ...(values['allow-private-targets'] === true ? { allowPrivateTargets: true } : {}),
    ...(backupDirs !== undefined ? { backupDirs } : {}),
    ...(values['allow-external-ips'] === true ? { allowExternalIPs: true } : {}),
    ...(featureGates !== undefined
      ? { featureGates: featureGates.enabled, disabledFeatureGates: featureGates.disabled }
      : {}),
    cpuAllocationRatio,
    ...(values['without-hikube-controllers'] === true ? { withoutHikubeControllers: true } : {}),
    ...(values['node-name'] !== undefined ? { nodeName: values['node-name'] } : {}),
  });
  process.stdout.write(`hikube is up: API server listening on ${platform.url}\n`);
  process.stdout.write(
    `console: ${platform.consoleUrl} (log in with the token in ${dataDir}/pki/admin.token)\n`,
  );
  process.stdout.write(`data dir: ${dataDir}\nkubeconfig: ${platform.kubeconfigPath}\n`);
  process.stdout.write(
    `metrics: ${platform.url}/metrics (Prometheus: bearer token in ${dataDir}/pki/scrape.token, CA ${dataDir}/pki/ca.crt)\n`,
  );
  process.stdout.write(`node ${platform.nodeName}: guests run under ${platform.accel.toUpperCase()}\n`);
  process.stdout.write(`${networkLine}\n`);
  process.stdout.write(`try: kubectl --kubeconfig ${platform.kubeconfigPath} get vm\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log(`received ${signal}, shutting down`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await platform.stop();
  log('stopped');
}
