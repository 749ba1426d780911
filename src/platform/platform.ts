/**
 * `hikube up`: assembles the embedded platform on one machine. Store → registry → API server,
 * plus the controllers that act on API objects. Returns a handle whose stop() shuts it all down.
 */
import { formatIpv4 } from '../api/network/cni.js';
import { admissionSettingsFromEnv, type FeatureGate } from '../api/admission.js';
import { kinds, findKindByGvk, servedKinds } from '../api/registry.js';
import { Registry, resourceKey } from '../apiserver/registry.js';
import { ApiServer } from '../apiserver/server.js';
import { ServedKinds } from '../apiserver/served-kinds.js';
import { CrdController } from '../apiserver/crds.js';
import { ensureServingCerts } from '../apiserver/tls.js';
import { GarbageCollector } from '../controllers/garbagecollector/controller.js';
import { NamespaceController } from '../controllers/namespace/controller.js';
import { SqliteStore } from '../store/sqlite.js';
import { GuardedStore } from '../store/guarded.js';
import { Headroom } from '../store/headroom.js';
import { join } from 'node:path';
import { actionSubresources } from '../apiserver/actions.js';
import { volumeSubresources } from '../apiserver/volumes.js';
import { streamSubresources } from '../apiserver/streams.js';
import { consoleSite, CONSOLE_PREFIX } from '../apiserver/static.js';
import { ApiClient } from '../runtime/registry-client.js';
import { Manager } from '../runtime/manager.js';
import { networkPolicyControllerFor } from '../controllers/networkpolicy/index.js';
import { RegistryTransport } from '../runtime/inprocess.js';
import { recorderFor, startEventExpiry } from '../runtime/events.js';
import { Scheduler } from '../controllers/scheduler/controller.js';
import { CdiConfigController } from '../controllers/cdiconfig/controller.js';
import { ReplicaSetController } from '../controllers/replicaset/controller.js';
import { MigrationController } from '../controllers/migration/controller.js';
import { VmController } from '../controllers/vm/controller.js';
import { ResourceQuotaController } from '../controllers/resourcequota/controller.js';
import { addHikubeControllers, hikubeCatalog } from '../operator/controllers.js';
import { cpuAllocationRatioFromEnv } from '../api/quota/usage.js';
import type { Accel } from '../hypervisor/machine.js';
import { detectAccelerator } from '../hypervisor/probe-qemu.js';
import { genisoimage, qemuImg, qemuProcesses } from '../node/adapters.js';
import { NodeAgent } from '../node/agent.js';
import { DEFAULT_OVERCOMMIT, defaultNodeName, registerNode, type Overcommit } from '../node/registration.js';
import { nodeSystemInfo, readHostFacts } from '../node/nodeinfo.js';
import { SERVER_VERSION } from '../apiserver/openapi.js';
import { ImageStore, builtinImageDir } from '../storage/images.js';
import { createStorage, storageSeedObjects } from './storage.js';
import { uploadProxyRoutes } from '../storage/upload-proxy.js';
import { uploadTokenRequestKind, type UploadTokenRequest } from '../api/cdi/uploadtokenrequest.js';
import { defaultCapacityPolicy, type CapacityPolicy } from '../storage/capacity.js';
import { imageImportSubresources } from '../storage/image-import.js';
import { ContainerDisks, parseMirrors } from '../storage/containerdisk.js';
import { qemuImgTool } from '../storage/qemu-img.js';
import { OsImageController } from '../storage/os-images.js';
import { renderKubeconfig } from './kubeconfig.js';
import { reportQuarantined } from './quarantine.js';
import { SnapshotController } from '../controllers/snapshot/controller.js';
import { ExportController } from '../controllers/export/controller.js';
import { exportRoutes, exportTmpDir } from '../storage/export/server.js';
import { readSource } from '../controllers/export/sources.js';
import { NodeSnapshotter } from '../node/snapshots.js';
import { runQemuImg } from '../storage/qemu-img.js';
import { dataPaths } from './paths.js';
import { writeFileAtomic } from './atomic.js';
import { openDataDir } from './datadir.js';
import { ensureSigningKey, ensureToken } from './tokens.js';
import { AuditLog } from '../apiserver/auth/audit.js';
import { reconcileBootstrapPolicy } from '../controllers/rbac/bootstrap.js';
import { backupControllerFor, ensureDefaultBackupClass } from './backups.js';
import { AggregationController } from '../controllers/rbac/aggregation.js';
import { startMetrics, type Metrics, type MetricsOptions } from '../metrics/index.js';
import { createNetworking, type Networking } from '../network/index.js';
import { guardPodNetwork } from '../network/pod/cidr-safety.js';
import { readNicCounters } from '../network/counters.js';
import { clusterDnsIp, networkModeOf, serviceCidrOf, type NetworkOptions } from '../network/options.js';
import { outboundPolicyFromEnv, type OutboundPolicy } from '../network/outbound.js';

export interface PlatformOptions {
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  log?: (message: string) => void;
  /** Shorter bookmark interval for tests. */
  bookmarkIntervalMs?: number;
  /** Changes kept for watch resume (default 10,000); smaller in tests of compaction. */
  historySize?: number;
  /** Name of this node (default: the host name). */
  nodeName?: string;
  /** Skip the KVM probe (tests, or a host known to lack KVM). */
  accel?: Accel;
  overcommit?: Overcommit;
  /** Extra image directories searched before the built-in images. */
  imageDirs?: string[];
  /** Metrics collection interval and history retention (tests use a short interval). */
  metrics?: MetricsOptions;
  /** Load balancer pool, service range, guest outbound NAT, secondary networks (src/network/options.ts). */
  network?: NetworkOptions;
  /** The store's reserve and low-water mark on the data dir (src/store/headroom.ts); smaller in tests. */
  headroom?: { reserveBytes?: number; lowBytes?: number };
  /** Thin volumes may total this many times their pool's filesystem size (default 10). */
  storageOvercommit?: number;
  /** Or the whole capacity policy of the pool (tests: a smaller low-water mark). */
  storageCapacity?: CapacityPolicy;
  /** Registry host → mirror host for containerDisk pulls (default: HIKUBE_REGISTRY_MIRRORS, `host=mirror,…`). */
  registryMirrors?: Record<string, string>;
  /** Imports and pulls may reach loopback and private addresses (default: HIKUBE_ALLOW_PRIVATE_TARGETS). */
  allowPrivateTargets?: boolean;
  /** Services may set externalIPs (default: HIKUBE_ALLOW_EXTERNAL_IPS; CVE-2020-8554). */
  allowExternalIPs?: boolean;
  /** Feature gates turned on (default: HIKUBE_FEATURE_GATES, e.g. `HostDisk`). */
  featureGates?: ReadonlySet<FeatureGate>;
  /** Beta feature gates turned off (default: the `Name=false` entries of HIKUBE_FEATURE_GATES). */
  disabledFeatureGates?: ReadonlySet<FeatureGate>;
  /** vCPUs per requested CPU (KubeVirt's cpuAllocationRatio; default: HIKUBE_CPU_ALLOCATION_RATIO, else 10). */
  cpuAllocationRatio?: number;
  /** Rotation of DATA_DIR/audit.log (default 100 MiB, 5 files kept); smaller in tests. */
  audit?: { maxBytes?: number; backups?: number };
  /**
   * Leave out what is Hikube's own (src/operator/controllers.ts) for `hikube operator` to run from
   * outside (default: HIKUBE_WITHOUT_HIKUBE_CONTROLLERS=1).
   */
  withoutHikubeControllers?: boolean;
}

export interface Platform {
  url: string;
  /** The web console (web/dist, served by the API server). */
  consoleUrl: string;
  kubeconfigPath: string;
  token: string;
  registry: Registry;
  nodeName: string;
  accel: Accel;
  agent: NodeAgent;
  metrics: Metrics;
  network: Networking;
  stop(): Promise<void>;
}

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public'];

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const log = options.log ?? (() => undefined);
  // Locked for this process, private, at this release's format: before anything else touches it.
  const lock = await openDataDir(options.dataDir, log, serviceCidrOf(options.network));
  let releaseCidr = (): void => undefined;
  try {
    releaseCidr = await guardPodNetwork(options.dataDir, options.network);
    const platform = await assemble(options, log);
    // Only for a refused second start's message: not worth stopping over.
    await lock
      .announce(platform.url)
      .catch((err: unknown) =>
        log(`failed recording the listen address beside the data dir lock: ${String(err)}`),
      );
    return {
      ...platform,
      async stop() {
        await platform.stop();
        releaseCidr();
        lock.release();
      },
    };
  } catch (err) {
    releaseCidr();
    lock.release();
    throw err;
  }
}

async function assemble(options: PlatformOptions, log: (message: string) => void): Promise<Platform> {
  const paths = dataPaths(options.dataDir);
  const certs = await ensureServingCerts(paths.pki, [options.host]);
  const token = await ensureToken(paths.token);
  const scrapeToken = await ensureToken(paths.scrapeToken);
  const signingKey = await ensureSigningKey(paths.signingKey);
  // The store keeps its own headroom on the data dir, so deletes work on a full disk.
  const store = new GuardedStore(
    new SqliteStore({
      path: paths.database,
      ...(options.historySize !== undefined ? { historySize: options.historySize } : {}),
    }),
    new Headroom({ dir: options.dataDir, ...options.headroom }),
  );
  const fromEnv = admissionSettingsFromEnv(serviceCidrOf(options.network));
  const cpuAllocationRatio = options.cpuAllocationRatio ?? cpuAllocationRatioFromEnv();
  const registry = new Registry(store, undefined, {
    serviceCidr: fromEnv.serviceCidr,
    ...(networkModeOf(options.network) === 'pod' ? { clusterDnsIp: clusterDnsIp(fromEnv.serviceCidr) } : {}),
    allowExternalIPs: options.allowExternalIPs ?? fromEnv.allowExternalIPs,
    featureGates: options.featureGates ?? fromEnv.featureGates,
    disabledFeatureGates: options.disabledFeatureGates ?? fromEnv.disabledFeatureGates ?? new Set(),
    cpuAllocationRatio,
  });
  const ours = !(options.withoutHikubeControllers ?? withoutHikubeControllersFromEnv());
  if (store.currentRv() === 0) seed(registry, ours);
  // Built-in ClusterRoles and bindings, at this release's version on every start.
  reconcileBootstrapPolicy(registry, kinds);
  ensureDefaultBackupClass(registry, options.dataDir);

  // Kinds of CustomResourceDefinitions are served beside the built-in ones (src/apiserver/crds.ts).
  const served = new ServedKinds(servedKinds);
  // The reconcilers on the controller runtime share one cache, fed by the Registry in process.
  const manager = new Manager(new RegistryTransport(registry), { log });
  // The collector follows the served set: custom resources own and are owned too.
  void manager.add(new GarbageCollector(manager, served, log));
  void manager.add(new NamespaceController(manager, kinds, log));
  void manager.add(new ReplicaSetController(manager, log));
  void manager.add(new ResourceQuotaController({ manager, kinds, cpuAllocationRatio, log }));
  void manager.add(new AggregationController(manager, log));
  await manager.start();

  const accel =
    options.accel ??
    (await detectAccelerator((reason) => log(`KVM is not usable here, guests run under TCG: ${reason}`)));
  const nodeName = options.nodeName ?? defaultNodeName();
  const api = new ApiClient(registry);
  reportQuarantined(store, kinds, api, nodeName, log);
  const nodeInfo = nodeSystemInfo(await readHostFacts(), SERVER_VERSION.gitVersion);
  await registerNode(
    manager.client,
    nodeName,
    accel,
    options.overcommit ?? DEFAULT_OVERCOMMIT,
    new Date(),
    nodeInfo,
  );
  const registryMirrors =
    options.registryMirrors ?? parseMirrors(process.env['HIKUBE_REGISTRY_MIRRORS'] ?? '');
  const targets: OutboundPolicy =
    options.allowPrivateTargets !== undefined
      ? { allowPrivateTargets: options.allowPrivateTargets }
      : outboundPolicyFromEnv();
  const capacity = options.storageCapacity ?? defaultCapacityPolicy(options.storageOvercommit);
  // Storage: the pool (claims, volumes, expansion), DataVolumes, DataSources, the upload endpoint.
  const storage = createStorage({
    registryMirrors,
    targets,
    manager,
    nodeName,
    dataDir: options.dataDir,
    onlineResize: (path, bytes) => agent.resizeVolume(path, bytes),
    log,
    capacity,
  });
  const vms = new VmController({
    manager,
    events: recorderFor(manager, 'virtualmachine-controller', nodeName),
    log,
  });
  const scheduler = new Scheduler(manager, { cpuAllocationRatio }, undefined, log);
  const images = new ImageStore([
    ...(options.imageDirs ?? []),
    join(options.dataDir, 'images'),
    builtinImageDir(),
  ]);
  // Networking: the NICs' host side for the node agent; services, load balancers and readiness
  // probes over the guests it runs (started below, stopped with the controllers).
  const network = createNetworking({
    manager,
    nodeName,
    dataDir: options.dataDir,
    options: options.network,
    log,
  });
  const agent = new NodeAgent({
    manager,
    events: recorderFor(manager, 'virt-handler', nodeName),
    nodeName,
    dataDir: options.dataDir,
    accel,
    images: new ContainerDisks({
      store: images,
      dir: join(options.dataDir, 'images'),
      images: qemuImgTool,
      mirrors: registryMirrors,
      targets,
      log,
    }),
    disks: qemuImg,
    iso: genisoimage,
    processes: qemuProcesses,
    claimPath: (ns, claim) => storage.claimPath(ns, claim),
    network: network.setup,
    capacity,
    log,
  });
  // Snapshots, restores and clones: layers of the pool's volumes, live through the node agent's QMP.
  const snapshots = new SnapshotController({
    manager,
    events: recorderFor(manager, 'snapshot-controller', nodeName),
    snapshotter: new NodeSnapshotter(() => agent.running(), runQemuImg, log),
    claimPath: (ns, claim) => storage.claimPath(ns, claim),
    log,
  });
  // Backups (Cozystack's backups.cozystack.io): points through the node's layers, chunks to a bucket.
  const backups = backupControllerFor({
    manager,
    events: recorderFor(manager, 'backup-controller', nodeName),
    guests: () => agent.running(),
    qemuImg: runQemuImg,
    claimPath: (ns, claim) => storage.claimPath(ns, claim),
    log,
  });
  // The OS catalog's golden images that are local (built-in or imported): DataSources Ready offline.
  const osImages = new OsImageController({
    manager,
    store: images,
    importedDir: join(options.dataDir, 'images'),
    disks: qemuImg,
    volumePath: (ns, claim) => storage.volumePath(ns, claim),
    log,
  });
  // VirtualMachineExports: made Ready here, downloaded from the API server's listener (added once it listens).
  let serverUrl = '';
  const exportsController = new ExportController({
    manager,
    events: recorderFor(manager, 'export-controller', nodeName),
    claimPath: (ns, claim) => storage.claimPath(ns, claim),
    url: () => serverUrl,
    caCert: certs.caCert,
    log,
  });
  const stopEventExpiry = startEventExpiry(api);
  storage.start();
  await manager.add(osImages);
  await manager.add(vms);
  // VMInstance/VMDisk, tenants, snapshot schedules: unless `hikube operator` runs them from outside.
  if (ours)
    await addHikubeControllers({
      manager,
      host: nodeName,
      cpuAllocationRatio,
      podCidr: `${formatIpv4(network.options.podCidr.network)}/${network.options.podCidr.prefix}`,
      log,
    });
  await manager.add(scheduler);
  await manager.add(agent);
  await manager.add(snapshots);
  await manager.add(backups);
  network.start(agent);
  // NetworkPolicy: the node's nftables filter over pod IPs, when the pod network runs.
  const policies = networkPolicyControllerFor({
    manager,
    prefix: network.segments.prefix,
    network: network.options,
    log,
  });
  if (policies !== undefined) await manager.add(policies);
  const metrics = startMetrics({
    manager,
    guests: agent,
    dataDir: options.dataDir,
    options: options.metrics,
    log,
    nicCounters: async () =>
      new Map([...(await readNicCounters(network.segments)), ...((await network.pod?.counters()) ?? [])]),
  });
  const crds = new CrdController(registry, served, log);
  crds.start();
  const stopControllers = (): void => {
    crds.stop();
    metrics.stop();
    void network.stop();
    stopEventExpiry();
    backups.stop(); // aborts runs before the agent and the readers they use go
    snapshots.stop(); // before the agent whose QMP it takes layers through (the manager stops it again)
    agent.stop();
    storage.stop();
    manager.stop();
  };

  const audit = new AuditLog({ path: paths.audit, ...options.audit });
  const server = new ApiServer({
    registry,
    signingKey,
    audit,
    kinds: served,
    certs,
    tokens: [token],
    scrapeTokens: [scrapeToken],
    console: consoleSite(),
    notReady: () => store.shortage(),
    subresources: [
      ...actionSubresources(registry, agent.actions),
      ...volumeSubresources(registry),
      ...streamSubresources(agent.actions, { log }),
      ...imageImportSubresources(options.dataDir, images, qemuImgTool),
      ...storage.subresources,
    ],
    routes: metrics.routes,
    // CDI's upload proxy: CDIConfig's uploadProxyURL is this server's URL.
    publicRoutes: [
      ...uploadProxyRoutes(
        {
          list: () =>
            registry.store
              .list(resourceKey(uploadTokenRequestKind))
              .items.map((i) => i.object as UploadTokenRequest),
        },
        storage.uploads,
      ),
      ...exportRoutes({
        api: manager.client,
        claimPath: (ns, claim) => storage.claimPath(ns, claim),
        readSource,
        tmpDir: exportTmpDir(options.dataDir),
        qemuImg: runQemuImg,
        url: () => serverUrl,
      }),
    ],
    observe: metrics.observe,
    ...(options.bookmarkIntervalMs !== undefined
      ? { watch: { bookmarkIntervalMs: options.bookmarkIntervalMs } }
      : {}),
  });
  let address: { host: string; port: number };
  try {
    address = await server.listen(options.host, options.port);
  } catch (err) {
    stopControllers();
    await audit.close();
    store.close();
    throw err;
  }
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `https://${host}:${address.port}`;
  await writeFileAtomic(paths.kubeconfig, renderKubeconfig(url, certs.caCert, token));
  serverUrl = url;
  await manager.add(exportsController);
  // CDIConfig publishes the server's URL, known only now.
  await manager.add(new CdiConfigController(manager, { apiServerURL: url }, log));
  // One node: every migration fails at once with reason NoTargetNode.
  await manager.add(
    new MigrationController(manager, recorderFor(manager, 'migration-controller', nodeName), undefined, log),
  );

  return {
    url,
    consoleUrl: `${url}${CONSOLE_PREFIX}/`,
    kubeconfigPath: paths.kubeconfig,
    token,
    registry,
    nodeName,
    accel,
    agent,
    metrics,
    network,
    async stop() {
      stopControllers();
      await server.close();
      await audit.close();
      store.close();
    },
  };
}

/** HIKUBE_WITHOUT_HIKUBE_CONTROLLERS=1 (or true): `hikube up --without-hikube-controllers`. */
export function withoutHikubeControllersFromEnv(): boolean {
  const v = process.env['HIKUBE_WITHOUT_HIKUBE_CONTROLLERS'] ?? '';
  return v === '1' || v === 'true';
}

/**
 * First start: the built-in namespaces, the local pool's default StorageClass and, with Hikube's
 * controllers, Hikube's catalog (without them `hikube operator` installs it).
 */
function seed(registry: Registry, ours: boolean): void {
  const nsDef = findKindByGvk('v1', 'Namespace');
  if (nsDef === undefined) throw new Error('seed: Namespace kind missing');
  for (const name of BUILTIN_NAMESPACES) registry.create(nsDef, '', { metadata: { name } });
  for (const object of [...storageSeedObjects(), ...(ours ? hikubeCatalog() : [])]) {
    const def = findKindByGvk(object.apiVersion, object.kind);
    if (def === undefined) throw new Error(`seed: unknown kind ${object.apiVersion} ${object.kind}`);
    registry.create(def, object.metadata.namespace ?? '', object);
  }
}
