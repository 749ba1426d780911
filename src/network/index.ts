/**
 * The networking component as the platform wires it: the NetworkSetup the node agent prepares NICs
 * with (default network, secondary network segments), and, once the agent runs, the service
 * controller with the node's L4 proxy and the readiness prober, which reach guests through QEMU
 * host forwards. One handle; stop() closes every listener (guests and segments stay, as QEMU does).
 */
import { virtualMachineInstanceKind } from '../api/kubevirt/vmi.js';
import { HOST_BRIDGE_ANNOTATION } from '../api/network/cni.js';
import { networkAttachmentDefinitionKind, type NetworkAttachmentDefinition } from '../api/network/nad.js';
import { recorderFor } from '../runtime/events.js';
import type { Manager } from '../runtime/manager.js';
import { ServiceController } from '../controllers/service/controller.js';
import { serviceKind, type Service } from '../api/core/service.js';
import { QmpForwards, type GuestList } from './forwards.js';
import { HostNetworking } from './host.js';
import { linuxLinks } from './linux.js';
import type { LinkTool } from './links.js';
import { resolveNetworkOptions, type NetworkOptions, type ResolvedNetworkOptions } from './options.js';
import { ReadinessProber, type GuestAgentAccess } from './probes.js';
import { ServiceProxy } from './proxy/proxy.js';
import { WholeIpProxy } from './proxy/wholeip.js';
import { linuxNat, natTableName, type NatTool } from './nat.js';
import { Segments } from './segments.js';
import { createPodNetwork } from './pod/index.js';
import type { PodNetwork } from './pod/pod.js';
import type { PodLinks } from './pod/links.js';
import { KernelServiceProxy } from './services/kernel.js';
import { linuxServiceTable, type ServiceTable } from './services/nft.js';
import { PodForwards } from './services/pods.js';
import { SysctlLedger } from './host-sysctls.js';
import { otherPodPlatformsAlive } from './pod/cidr-safety.js';
import { formatIpv4 } from '../api/network/cni.js';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { GuestForwards } from './forwards.js';
import type { ProxyHealthEvent } from './proxy/proxy.js';
import { ClusterDns, clusterDnsEntry, defaultUpstream } from './dns/server.js';
import type { NetworkSetup } from './setup.js';

export interface NetworkingOptions {
  /** The controller runtime the service controller runs on; NADs and Services are read from its cache. */
  manager: Manager;
  nodeName: string;
  dataDir: string;
  options?: NetworkOptions | undefined;
  links?: LinkTool;
  /** The pod network's kernel side (default: iproute2, sysctl, nft). */
  podLinks?: PodLinks;
  /** Whole-address load balancers' NAT (default: nftables and conntrack). */
  nat?: NatTool;
  /** The pod network's Service table (default: nftables on the host). */
  serviceTable?: ServiceTable;
  log?: (message: string) => void;
}

export interface Networking {
  setup: NetworkSetup;
  options: ResolvedNetworkOptions;
  segments: Segments;
  /** The routed pod network, when it is the default network (`mode: pod`). */
  pod: PodNetwork | undefined;
  /** Available once started: the user-space proxy (user networking) or the kernel path (pod network). */
  proxy: ServiceProxy | KernelServiceProxy | undefined;
  services: ServiceController | undefined;
  /** Starts services and probes over the guests the node agent runs. */
  start(guests: GuestList): void;
  stop(): Promise<void>;
}

export function createNetworking(o: NetworkingOptions): Networking {
  const options = resolveNetworkOptions(o.options);
  const links = o.links ?? linuxLinks;
  const log = o.log ?? (() => undefined);
  const segments = new Segments(o.dataDir, links, log);
  const client = o.manager.client;
  o.manager.informer(networkAttachmentDefinitionKind);
  o.manager.informer(virtualMachineInstanceKind);
  o.manager.informer(serviceKind);
  const podNetwork =
    options.mode === 'pod'
      ? createPodNetwork({
          manager: o.manager,
          dataDir: o.dataDir,
          options,
          taps: links,
          podLinks: o.podLinks,
          log,
        })
      : undefined;
  const setup = new HostNetworking({
    ...(podNetwork !== undefined ? { pod: podNetwork } : {}),
    outbound: options.outbound,
    segments,
    ...(options.bridges
      ? {}
      : { disabledReason: 'secondary networks are disabled on this node (bridges: false)' }),
    networkConfig: (namespace, name) => {
      const nad = client.get<NetworkAttachmentDefinition>(networkAttachmentDefinitionKind, namespace, name);
      return nad === undefined
        ? undefined
        : {
            config: nad.spec?.config ?? '',
            hostBridge: nad.metadata.annotations?.[HOST_BRIDGE_ANNOTATION] === 'true',
          };
    },
    unavailable: () => links.unavailable(),
  });
  const handle: Networking = {
    setup,
    options,
    segments,
    pod: podNetwork,
    proxy: undefined,
    services: undefined,
    start(guests) {
      void podNetwork?.resume().catch((err: Error) => log(`pod network: ${err.message}`));
      // On the pod network guests are reached at their pod IPs, and Services live in nftables.
      const pod = options.mode === 'pod';
      const forwards: GuestForwards = pod
        ? new PodForwards(() => client.list<VirtualMachineInstance>(virtualMachineInstanceKind))
        : new QmpForwards(guests);
      const events = recorderFor(o.manager, 'service-controller', o.nodeName);
      const onHealth = (e: ProxyHealthEvent): void => {
        const [namespace = '', name = ''] = e.service.split('/');
        const svc = client.get(serviceKind, namespace, name);
        if (svc === undefined) return;
        const port = e.backend.port;
        if (e.healthy)
          events.record(
            svc,
            'Normal',
            'BackendHealthy',
            `backend ${e.backend.name} (port ${port}) passes its health check`,
          );
        else
          events.record(
            svc,
            'Warning',
            'BackendUnhealthy',
            `backend ${e.backend.name} (port ${port}) taken out: ${e.backend.reason}`,
          );
      };
      const tableName = `${segments.prefix}_svc`;
      // The pod network's gateway: the first address of its CIDR.
      const gateway = formatIpv4(options.podCidr.network + 1);
      const proxy = pod
        ? new KernelServiceProxy({
            table:
              o.serviceTable ??
              linuxServiceTable({
                serviceCidr: options.serviceCidr,
                log,
                ledger: new SysctlLedger(() => otherPodPlatformsAlive(o.dataDir)),
              }),
            tableName,
            gateway,
            forwards,
            fixed: [clusterDnsEntry(options.clusterDnsIp, gateway)],
            onHealth,
            log,
          })
        : new ServiceProxy(forwards, onHealth);
      log(
        pod
          ? `services: kernel data path (nftables table ip ${tableName}), cluster IPs from ${options.serviceCidr}`
          : `services: user-space proxy on loopback, cluster IPs from ${options.serviceCidr}`,
      );
      const wholeIp = new WholeIpProxy(forwards, o.nat ?? linuxNat(natTableName(o.dataDir)), log);
      stopWholeIp = () => wholeIp.stop();
      const prober = new ReadinessProber(forwards, guestAgentAccess(guests), (uid) =>
        controller.readinessChanged(uid),
      );
      const controller = new ServiceController({
        manager: o.manager,
        events,
        proxy,
        prober,
        wholeIp,
        network: options,
        nodeName: o.nodeName,
        log,
      });
      const unwatch =
        forwards instanceof QmpForwards
          ? o.manager
              .informer(virtualMachineInstanceKind)
              .onChange(() => forwards.prune(new Set(guests.running().map((g) => g.uid))))
          : () => undefined;
      handle.proxy = proxy;
      handle.services = controller;
      if (pod) {
        const dns = new ClusterDns({
          address: gateway,
          upstream: defaultUpstream(o.options?.dnsUpstream),
          view: {
            service: (ns, name) => client.get<Service>(serviceKind, ns, name),
            vmis: (ns) => client.list<VirtualMachineInstance>(virtualMachineInstanceKind, ns),
            probeReady: (uid) => prober.ready(uid),
          },
          log,
        });
        dns.start().then(
          () => log(`cluster DNS: ${options.clusterDnsIp}:53 (served on ${gateway}:53)`),
          (err: Error) => log(`cluster DNS could not listen on ${gateway}:53: ${err.message}`),
        );
        stopDns = () => dns.stop();
      }
      stopProber = () => {
        unwatch();
        prober.stop();
      };
      void o.manager.add(controller);
    },
    async stop() {
      // Before the proxy it drives (the manager's own stop of it later does nothing more).
      handle.services?.stop();
      stopProber();
      await handle.proxy?.stop();
      await stopWholeIp().catch((err: Error) => log(`whole-IP load balancers: ${err.message}`));
      await stopDns();
    },
  };
  let stopProber = (): void => undefined;
  let stopWholeIp = (): Promise<void> => Promise.resolve();
  let stopDns = (): Promise<void> => Promise.resolve();
  return handle;
}

/** The guest agents of running guests, for exec and guestAgentPing readiness probes. */
function guestAgentAccess(guests: GuestList): GuestAgentAccess {
  const agentOf = (uid: string) => {
    const g = guests.running().find((x) => x.uid === uid);
    if (g === undefined) throw new Error(`no running guest with uid ${uid}`);
    return g.agent;
  };
  return {
    async ping(uid) {
      await agentOf(uid).execute('guest-ping', undefined, 2000);
    },
    async exec(uid, command, timeoutMs) {
      const agent = agentOf(uid);
      const [path = '', ...arg] = command;
      const { pid } = await agent.execute<{ pid: number }>(
        'guest-exec',
        { path, arg, 'capture-output': true },
        timeoutMs,
      );
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await agent.execute<{ exited: boolean; exitcode?: number }>(
          'guest-exec-status',
          { pid },
          timeoutMs,
        );
        if (s.exited) return s.exitcode ?? 1;
        if (Date.now() > deadline) throw new Error(`command did not finish within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
