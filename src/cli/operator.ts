/**
 * `hikube operator`: Hikube's own reconcilers (src/operator/controllers.ts) against any Kubernetes
 * API over HTTP, as a Deployment on a cluster with KubeVirt and CDI, or beside
 * `hikube up --without-hikube-controllers`. Lists and watches through the runtime's HTTP transport.
 * Replicas elect a leader over a Lease (src/runtime/leader.ts): only the holder installs the catalog
 * and reconciles; one that loses the Lease stops reconciling at once and exits (its Deployment
 * starts it again as a candidate). SIGTERM/SIGINT stop it cleanly and release the Lease.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { cpuAllocationRatioFromEnv } from '../api/quota/usage.js';
import { KubeClient } from '../client/kube.js';
import { addHikubeControllers, installCatalog } from '../operator/controllers.js';
import { electionIdentity, leaderElectionConfig, leaderElectionOptions } from '../operator/election.js';
import { dataPaths, defaultDataDir } from '../platform/paths.js';
import { HttpTransport } from '../runtime/http.js';
import { LeaderElector } from '../runtime/leader.js';
import { Manager } from '../runtime/manager.js';
import { parseListen } from './up.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** In-flight writes get this long after SIGTERM before the process leaves anyway. */
const STOP_GRACE_MS = 5_000;

/** --kubeconfig, else $KUBECONFIG, else the pod's service account, else the data dir's kubeconfig. */
function loader(kubeconfig: string | undefined, dataDir: string | undefined): () => KubeClient {
  const env = process.env['KUBECONFIG'] ?? '';
  if (kubeconfig === undefined && env === '' && existsSync(SERVICE_ACCOUNT_TOKEN))
    return () => KubeClient.inCluster();
  const fallback = dataPaths(dataDir ?? defaultDataDir()).kubeconfig;
  return () => KubeClient.load(kubeconfig, fallback);
}

/** /healthz and /readyz: 200 once standing by for the Lease or reconciling, 503 before. */
function serveHealth(listen: string, ready: () => boolean): Promise<Server> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => {
    const ok = req.url === '/healthz' || req.url === '/readyz';
    const code = !ok ? 404 : ready() ? 200 : 503;
    res.writeHead(code, { 'content-type': 'text/plain' }).end(code === 200 ? 'ok\n' : 'not ready\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const nonEmpty = (v: string | undefined): string | undefined => (v === '' ? undefined : v);

export async function runOperator(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      'data-dir': { type: 'string' },
      'health-listen': { type: 'string' },
      'skip-catalog': { type: 'boolean', default: false },
      namespace: { type: 'string' },
      ...leaderElectionOptions,
    },
  });
  // One namespace only: its informers, its objects, a Role there instead of the ClusterRole.
  const scope = values.namespace ?? nonEmpty(process.env['HIKUBE_OPERATOR_NAMESPACE']);
  const election = leaderElectionConfig(values, process.env, scope);
  if (election.problems.length > 0)
    throw new Error(`hikube operator: bad leader election switches:\n  ${election.problems.join('\n  ')}`);
  const log = (m: string): void => void process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const load = loader(values.kubeconfig, values['data-dir']);
  const transport = new HttpTransport(load(), { reload: load });
  const manager = new Manager(transport, { log, ...(scope !== undefined ? { namespace: scope } : {}) });
  let started = false;
  let reconciling = false;
  const health =
    values['health-listen'] !== undefined
      ? await serveHealth(
          values['health-listen'],
          () => started && (reconciling || !(elector?.isLeader ?? true)),
        )
      : undefined;
  if (health !== undefined) {
    const a = health.address();
    if (a !== null && typeof a === 'object')
      process.stdout.write(`health: http://${a.address}:${a.port}/healthz\n`);
  }
  const identity = electionIdentity();
  const reconcile = async (): Promise<void> => {
    await manager.start();
    if (!values['skip-catalog']) await installCatalog(manager);
    await addHikubeControllers({
      manager,
      host: identity,
      cpuAllocationRatio: cpuAllocationRatioFromEnv(),
      log,
    });
    reconciling = true;
    const where = scope !== undefined ? ` in namespace ${scope}` : '';
    process.stdout.write(`hikube operator: reconciling against ${transport.describe}${where}\n`);
  };
  const fail = (err: unknown): void => {
    log(`hikube operator: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  };
  const elector =
    election.config === undefined
      ? undefined
      : new LeaderElector(
          transport,
          election.config,
          {
            onStartedLeading: () => void reconcile().catch(fail),
            onStoppedLeading: () => {
              // Another replica may act from now on: nothing more from this one.
              manager.stop();
              log('hikube operator: lost the lease, exiting');
              process.exit(1);
            },
          },
          { log },
        );
  if (elector === undefined) await reconcile();
  else {
    process.stdout.write(
      `hikube operator: ${identity} standing by for lease ${election.config?.namespace ?? ''}/${election.config?.name ?? ''}\n`,
    );
    elector.start();
  }
  started = true;
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log(`received ${signal}, shutting down`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  manager.stop();
  await elector?.release();
  health?.close();
  setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
  log('stopped');
}
