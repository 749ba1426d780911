/**
 * `hikube up`: assembles the embedded platform on one machine. Store → registry → API server,
 * plus the controllers that act on API objects. Returns a handle whose stop() shuts it all down.
 * The steps that stand alone are beside it: the state opened (state.ts), storage (storage.ts),
 * backups (backups.ts), the API server's routes (api.ts), the options and the handle (options.ts).
 */
import { formatIpv4 } from '../api/network/cni.js';
import { kinds, servedKinds } from '../api/registry.js';
import { ServedKinds } from '../apiserver/served-kinds.js';
import { CrdController } from '../apiserver/crds.js';
import { GarbageCollector } from '../controllers/garbagecollector/controller.js';
import { NamespaceController } from '../controllers/namespace/controller.js';
import { join } from 'node:path';
import { CONSOLE_PREFIX } from '../apiserver/static.js';
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
import { addHikubeControllers } from '../operator/controllers.js';
import { detectAccelerator } from '../hypervisor/probe-qemu.js';
import { genisoimage, qemuImg, qemuProcesses } from '../node/adapters.js';
import { NodeAgent } from '../node/agent.js';
import { DEFAULT_OVERCOMMIT, defaultNodeName, registerNode } from '../node/registration.js';
import { nodeSystemInfo, readHostFacts } from '../node/nodeinfo.js';
import { SERVER_VERSION } from '../apiserver/openapi.js';
import { ImageStore, builtinImageDir } from '../storage/images.js';
import { createStorage } from './storage.js';
import { defaultCapacityPolicy } from '../storage/capacity.js';
import { ContainerDisks, parseMirrors } from '../storage/containerdisk.js';
import { qemuImgTool } from '../storage/qemu-img.js';
import { OsImageController } from '../storage/os-images.js';
import { renderKubeconfig } from './kubeconfig.js';
import { reportQuarantined } from './quarantine.js';
import { SnapshotController } from '../controllers/snapshot/controller.js';
import { ExportController } from '../controllers/export/controller.js';
import { NodeSnapshotter } from '../node/snapshots.js';
import { runQemuImg } from '../storage/qemu-img.js';
import { writeFileAtomic } from './atomic.js';
import { openDataDir } from './datadir.js';
import { backupControllerFor, backupDirsFromEnv } from './backups.js';
import { AggregationController } from '../controllers/rbac/aggregation.js';
import { startMetrics } from '../metrics/index.js';
import { createNetworking } from '../network/index.js';
import { guardPodNetwork } from '../network/pod/cidr-safety.js';
import { readNicCounters } from '../network/counters.js';
import { serviceCidrOf } from '../network/options.js';
import { outboundPolicyFromEnv, type OutboundPolicy } from '../network/outbound.js';
import { createApiServer } from './api.js';
import type { Platform, PlatformOptions } from './options.js';
import { openState } from './state.js';

export type { Platform, PlatformOptions };
export { withoutHikubeControllersFromEnv } from './state.js';

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
  const state = await openState(options);
  const { paths, certs, token, store, registry, ours, cpuAllocationRatio } = state;

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
    targets,
    localDirs: [join(options.dataDir, 'backups'), ...(options.backupDirs ?? backupDirsFromEnv())],
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

  const { server, audit } = createApiServer(options, state, {
    served,
    manager,
    agent,
    images,
    storage,
    metrics,
    url: () => serverUrl,
    log,
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
