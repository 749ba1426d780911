/**
 * Service controller (kube-apiserver's allocators, the EndpointSlice controller and kube-proxy in
 * one reconciler, for one node): for each Service it allocates the cluster IP and node ports,
 * computes the VMIs behind it, writes its EndpointSlice, has the node's proxy listen on its
 * frontends and balance over the ready VMIs, and reports the load balancer address in status.
 * VMI changes and readiness probe results requeue the services of their namespace. Runs on the
 * controller runtime (src/runtime): reads from the manager's cache, writes through its client.
 */
import { serviceKind, type Service } from '../../api/core/service.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { endpointSliceKind, type EndpointSlice } from '../../api/network/endpointslice.js';
import type { ResolvedNetworkOptions } from '../../network/options.js';
import type { ReadinessProber } from '../../network/probes.js';
import type { FrontendSpec, ProxyServiceSpec, ServiceProxy } from '../../network/proxy/proxy.js';
import type { WholeIpProxy } from '../../network/proxy/wholeip.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { objectKey } from '../../runtime/transport.js';
import {
  allocateClusterIp,
  allocateNodePort,
  isWholeIp,
  pickLoadBalancerAddress,
  usedLoadBalancerPorts,
} from './allocate.js';
import { loadBalancing } from './annotations.js';
import {
  backendsOf,
  endpointSliceFor,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  namedPorts,
  portKey,
} from './endpoints.js';

/** What the controller needs of the node's proxy and prober (the real ones, or fakes in tests). */
export type ProxyControl = Pick<ServiceProxy, 'apply' | 'remove'>;
export type Readiness = Pick<ReadinessProber, 'ready' | 'sync'>;
export type WholeIpControl = Pick<WholeIpProxy, 'apply' | 'remove'>;

export interface ServiceControllerOptions {
  manager: Manager;
  events: EventRecorder;
  proxy: ProxyControl;
  prober: Readiness;
  /** Whole-address load balancers (absent: such services get an address but no forwarding). */
  wholeIp?: WholeIpControl;
  network: ResolvedNetworkOptions;
  nodeName: string;
  log?: (message: string) => void;
}

/** Retry later (a frontend could not listen yet) without logging an error. */
class Retry extends Error {}

const DEFAULT_AFFINITY_SECONDS = 10_800;

export class ServiceController extends Reconciler {
  private readonly api: Client;
  private unsubscribe: () => void = () => undefined;

  constructor(private readonly o: ServiceControllerOptions) {
    super(o.manager, {
      name: 'service',
      ...(o.log !== undefined ? { log: o.log } : {}),
      backoff: { baseMs: 500, maxMs: 30_000 },
      quiet: (err) => err instanceof Retry,
    });
    this.api = this.controller.client;
    this.controller
      .watch(serviceKind)
      .watch(endpointSliceKind, (e) => {
        const owner = (e.metadata.labels ?? {})['kubernetes.io/service-name'];
        return owner === undefined ? [] : [`${e.metadata.namespace ?? ''}/${owner}`];
      })
      .watch(virtualMachineInstanceKind, (v) => this.servicesIn(v.metadata.namespace ?? ''));
  }

  override start(): void {
    // The prober follows every VMI change, not only those that touch a service.
    this.unsubscribe = this.o.manager.informer(virtualMachineInstanceKind).onChange(() => this.syncProbes());
    this.syncProbes();
    this.controller.start();
  }

  override stop(): void {
    this.unsubscribe();
    this.controller.stop();
  }

  /** A readiness probe changed its verdict on the VMI with this uid. */
  readinessChanged(uid: string): void {
    const vmi = this.api
      .list<VirtualMachineInstance>(virtualMachineInstanceKind)
      .find((v) => v.metadata.uid === uid);
    if (vmi !== undefined)
      for (const key of this.servicesIn(vmi.metadata.namespace ?? '')) this.controller.queue.add(key);
  }

  private servicesIn(namespace: string): string[] {
    return this.api.list<Service>(serviceKind, namespace).map((s) => objectKey(s));
  }

  private syncProbes(): void {
    const targets = this.api
      .list<VirtualMachineInstance>(virtualMachineInstanceKind)
      .filter(
        (v) =>
          v.status?.phase === 'Running' &&
          v.status.nodeName === this.o.nodeName &&
          v.spec.readinessProbe !== undefined,
      )
      .map((v) => ({
        uid: v.metadata.uid ?? '',
        probe: v.spec.readinessProbe ?? {},
        namedPorts: namedPorts(v),
      }));
    this.o.prober.sync(targets);
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const svc = this.api.get<Service>(serviceKind, namespace, name);
    if (svc === undefined || svc.metadata.deletionTimestamp !== undefined) {
      await this.o.proxy.remove(key);
      await this.o.wholeIp?.remove(key);
      return;
    }
    if (svc.spec?.type === 'ExternalName') {
      await this.o.proxy.remove(key);
      await this.o.wholeIp?.remove(key);
      return;
    }
    // Allocation writes the spec; the change comes back through the watch for the rest.
    if (this.allocate(svc)) {
      await this.api.update<Service>(serviceKind, svc);
      return;
    }
    const backends = backendsOf(
      svc,
      this.api.list<VirtualMachineInstance>(virtualMachineInstanceKind, namespace),
      (uid) => this.o.prober.ready(uid),
    );
    await this.writeSlice(svc, backends);
    const lb = loadBalancing(svc);
    for (const p of lb.problems) this.o.events.record(svc, 'Warning', 'InvalidAnnotation', p);
    if (lb.algorithm === 'least-connections' && this.o.network.mode === 'pod')
      this.o.events.record(
        svc,
        'Warning',
        'AlgorithmUnsupported',
        'least-connections needs connection counts the kernel data path of the pod network does not keep: connections are spread at random',
      );
    const type = svc.spec?.type ?? 'ClusterIP';
    const lbAddress =
      type === 'LoadBalancer'
        ? pickLoadBalancerAddress(
            svc,
            this.o.network.loadBalancerPool,
            usedLoadBalancerPorts(this.api.list<Service>(serviceKind), svc.metadata.uid ?? ''),
          )
        : undefined;
    const whole = lbAddress !== undefined && isWholeIp(svc);
    if (type === 'LoadBalancer' && lbAddress === undefined && isWholeIp(svc))
      this.o.events.record(
        svc,
        'Warning',
        'LoadBalancerPoolExhausted',
        'no load balancer address is free for a whole-IP service (it needs one of its own, never 127.0.0.1)',
      );
    else if (type === 'LoadBalancer' && lbAddress === undefined)
      this.o.events.record(
        svc,
        'Warning',
        'LoadBalancerIPNotInPool',
        `spec.loadBalancerIP ${JSON.stringify(svc.spec?.loadBalancerIP)} is not in the load balancer pool (${this.o.network.loadBalancerPool.slice(0, 4).join(', ')}…)`,
      );
    const publishAll = svc.spec?.publishNotReadyAddresses === true;
    const affinity = svc.spec?.sessionAffinity === 'ClientIP';
    const spec: ProxyServiceSpec = {
      algorithm: lb.algorithm,
      health: lb.health,
      ...(affinity
        ? {
            affinityMs:
              (svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) * 1000,
          }
        : {}),
      ports: (svc.spec?.ports ?? []).map((p, i) => {
        const pk = portKey(p, i);
        const frontends: FrontendSpec[] = [];
        const clusterIP = svc.spec?.clusterIP;
        if (clusterIP !== undefined && clusterIP !== '' && clusterIP !== 'None')
          frontends.push({ kind: 'cluster', address: clusterIP, port: p.port });
        if ((type === 'NodePort' || type === 'LoadBalancer') && p.nodePort !== undefined && p.nodePort !== 0)
          frontends.push({ kind: 'node', address: this.o.network.nodeAddress, port: p.nodePort });
        if (lbAddress !== undefined && !whole)
          frontends.push({ kind: 'loadBalancer', address: lbAddress, port: p.port, anyPortIfTaken: true });
        return {
          name: pk,
          protocol: p.protocol === 'UDP' ? 'udp' : 'tcp',
          frontends,
          backends: backends
            .filter((b) => (b.ready || (publishAll && !b.terminating)) && b.ports[pk] !== undefined)
            .map((b) => ({ uid: b.uid, namespace, name: b.name, port: b.ports[pk] ?? 0 })),
        };
      }),
    };
    const frontends = await this.o.proxy.apply(key, spec);
    let failed = false;
    if (whole && this.o.wholeIp !== undefined) {
      const ready = backends.filter((b) => b.ready).map((b) => b.uid);
      try {
        await this.o.wholeIp.apply(key, { address: lbAddress, backends: ready });
      } catch (err) {
        failed = true;
        this.o.events.record(
          svc,
          'Warning',
          'FailedToListen',
          `whole-IP load balancer on ${lbAddress}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    } else await this.o.wholeIp?.remove(key);
    for (const [i, p] of (svc.spec?.ports ?? []).entries()) {
      for (const f of frontends[portKey(p, i)] ?? []) {
        if (f.error === undefined) continue;
        failed = true;
        this.o.events.record(
          svc,
          'Warning',
          'FailedToListen',
          `${f.kind} frontend of port ${p.port}/${p.protocol ?? 'TCP'}: ${f.error}`,
        );
      }
    }
    await this.writeStatus(
      svc,
      type === 'LoadBalancer' && lbAddress !== undefined ? { ip: lbAddress, frontends } : undefined,
    );
    if (failed) throw new Retry('a frontend could not listen');
  }

  /** Fills in the cluster IP and node ports; true when the spec changed. */
  private allocate(svc: Service): boolean {
    const spec = (svc.spec ??= {});
    const type = spec.type ?? 'ClusterIP';
    const others = this.api.list<Service>(serviceKind).filter((s) => s.metadata.uid !== svc.metadata.uid);
    let changed = false;
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      const taken = new Set(others.map((s) => s.spec?.clusterIP ?? ''));
      // On the pod network, cluster DNS answers on the range's 10th address.
      if (this.o.network.mode === 'pod') taken.add(this.o.network.clusterDnsIp);
      spec.clusterIP = allocateClusterIp(svc.metadata.uid ?? '', this.o.network.serviceRange, taken);
      spec.clusterIPs = [spec.clusterIP];
      changed = true;
    }
    const wantsNodePorts =
      type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    if (wantsNodePorts) {
      const taken = new Set(others.flatMap((s) => (s.spec?.ports ?? []).map((p) => p.nodePort ?? 0)));
      (spec.ports ?? []).forEach((p, i) => {
        if (p.nodePort !== undefined && p.nodePort !== 0) return taken.add(p.nodePort);
        p.nodePort = allocateNodePort(svc.metadata.uid ?? '', i, taken);
        taken.add(p.nodePort);
        changed = true;
      });
    }
    return changed;
  }

  private async writeSlice(svc: Service, backends: ReturnType<typeof backendsOf>): Promise<void> {
    const selector = svc.spec?.selector;
    const existing = this.api
      .list<EndpointSlice>(endpointSliceKind, svc.metadata.namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
          s.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid) === true,
      );
    if (selector === undefined || Object.keys(selector).length === 0) {
      // Without a selector the user manages the endpoints (as in Kubernetes).
      for (const s of existing)
        await this.api.delete(endpointSliceKind, s.metadata.namespace ?? '', s.metadata.name ?? '');
      return;
    }
    const desired = endpointSliceFor(svc, backends, this.o.nodeName);
    const current = existing.find((s) => s.metadata.name === desired.metadata.name);
    for (const s of existing)
      if (s !== current)
        await this.api.delete(endpointSliceKind, s.metadata.namespace ?? '', s.metadata.name ?? '');
    if (current === undefined) {
      await this.api.create<EndpointSlice>(endpointSliceKind, desired);
      return;
    }
    if (
      JSON.stringify([current.endpoints, current.ports, current.addressType]) ===
      JSON.stringify([desired.endpoints, desired.ports, desired.addressType])
    )
      return;
    await this.api.update<EndpointSlice>(endpointSliceKind, {
      ...desired,
      metadata: {
        ...current.metadata,
        ...desired.metadata,
        resourceVersion: current.metadata.resourceVersion ?? '',
      },
    });
  }

  private async writeStatus(
    svc: Service,
    lb:
      | { ip: string; frontends: Record<string, { kind: string; listening?: number; error?: string }[]> }
      | undefined,
  ): Promise<void> {
    const ingress =
      lb === undefined
        ? undefined
        : [
            {
              ip: lb.ip,
              ipMode: 'Proxy' as const,
              ports: (svc.spec?.ports ?? []).map((p, i) => {
                const f = (lb.frontends[portKey(p, i)] ?? []).find((x) => x.kind === 'loadBalancer');
                return {
                  port: f?.listening ?? p.port,
                  protocol: p.protocol ?? 'TCP',
                  ...(f?.error !== undefined ? { error: f.error } : {}),
                };
              }),
            },
          ];
    await this.api.mutate<Service>(
      serviceKind,
      svc.metadata.namespace ?? '',
      svc.metadata.name ?? '',
      (s) => {
        if (s.metadata.uid !== svc.metadata.uid) return false;
        const status = structuredClone(s.status ?? {});
        if (ingress === undefined) delete status.loadBalancer;
        else status.loadBalancer = { ingress };
        if (JSON.stringify(status) === JSON.stringify(s.status ?? {})) return false;
        s.status = status;
        return true;
      },
      true,
    );
  }
}
