/**
 * Service controller (kube-apiserver's allocators, the EndpointSlice controller and kube-proxy in
 * one reconciler, for one node): for each Service it allocates the cluster IP and node ports,
 * computes the VMIs behind it, writes its EndpointSlice, has the node's proxy listen on its
 * frontends and balance over the ready VMIs, and reports the load balancer address in status.
 * VMI changes and readiness probe results requeue the services of their namespace.
 */
import { serviceKind, type Service } from '../../api/core/service.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { endpointSliceKind, type EndpointSlice } from '../../api/network/endpointslice.js';
import type { ResolvedNetworkOptions } from '../../network/options.js';
import type { ReadinessProber } from '../../network/probes.js';
import type { FrontendSpec, ProxyServiceSpec, ServiceProxy } from '../../network/proxy/proxy.js';
import type { WholeIpProxy } from '../../network/proxy/wholeip.js';
import type { ApiClient } from '../../runtime/registry-client.js';
import type { EventRecorder } from '../../runtime/events.js';
import { WorkQueue } from '../../runtime/queue.js';
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
  api: ApiClient;
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

export class ServiceController {
  private readonly queue: WorkQueue;
  private unsubscribe: () => void = () => undefined;

  constructor(private readonly o: ServiceControllerOptions) {
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => {
        if (!(err instanceof Retry))
          o.log?.(
            `service controller: failed syncing ${key}: ${err instanceof Error ? err.message : String(err)}`,
          );
      },
      undefined,
      500,
      30_000,
    );
  }

  start(): void {
    this.unsubscribe = this.o.api.watch(
      [serviceKind, virtualMachineInstanceKind, endpointSliceKind],
      (e, def) => {
        if (def === serviceKind) this.queue.add(`${e.namespace}/${e.name}`);
        else if (def === endpointSliceKind) {
          const owner = (e.object.metadata.labels ?? {})['kubernetes.io/service-name'];
          if (owner !== undefined) this.queue.add(`${e.namespace}/${owner}`);
        } else {
          this.syncProbes();
          this.requeueNamespace(e.namespace);
        }
      },
    );
    this.syncProbes();
    for (const s of this.o.api.list<Service>(serviceKind))
      this.queue.add(`${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`);
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** A readiness probe changed its verdict on the VMI with this uid. */
  readinessChanged(uid: string): void {
    const vmi = this.o.api
      .list<VirtualMachineInstance>(virtualMachineInstanceKind)
      .find((v) => v.metadata.uid === uid);
    if (vmi !== undefined) this.requeueNamespace(vmi.metadata.namespace ?? '');
  }

  private requeueNamespace(namespace: string): void {
    for (const s of this.o.api.list<Service>(serviceKind, namespace))
      this.queue.add(`${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`);
  }

  private syncProbes(): void {
    const targets = this.o.api
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

  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.o.api.get<Service>(serviceKind, namespace, name);
    if (cached === undefined || cached.metadata.deletionTimestamp !== undefined) {
      await this.o.proxy.remove(key);
      await this.o.wholeIp?.remove(key);
      return;
    }
    const svc = structuredClone(cached);
    if (svc.spec?.type === 'ExternalName') {
      await this.o.proxy.remove(key);
      await this.o.wholeIp?.remove(key);
      return;
    }
    // Allocation writes the spec; the change comes back through the watch for the rest.
    if (this.allocate(svc)) {
      this.o.api.update<Service>(serviceKind, svc);
      return;
    }
    const backends = backendsOf(
      svc,
      this.o.api.list<VirtualMachineInstance>(virtualMachineInstanceKind, namespace),
      (uid) => this.o.prober.ready(uid),
    );
    this.writeSlice(svc, backends);
    const lb = loadBalancing(svc);
    for (const p of lb.problems) this.o.events.record(svc, 'Warning', 'InvalidAnnotation', p);
    const type = svc.spec?.type ?? 'ClusterIP';
    const lbAddress =
      type === 'LoadBalancer'
        ? pickLoadBalancerAddress(
            svc,
            this.o.network.loadBalancerPool,
            usedLoadBalancerPorts(this.o.api.list<Service>(serviceKind), svc.metadata.uid ?? ''),
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
    this.writeStatus(
      svc,
      type === 'LoadBalancer' && lbAddress !== undefined ? { ip: lbAddress, frontends } : undefined,
    );
    if (failed) throw new Retry('a frontend could not listen');
  }

  /** Fills in the cluster IP and node ports; true when the spec changed. */
  private allocate(svc: Service): boolean {
    const spec = (svc.spec ??= {});
    const type = spec.type ?? 'ClusterIP';
    const others = this.o.api.list<Service>(serviceKind).filter((s) => s.metadata.uid !== svc.metadata.uid);
    let changed = false;
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      const taken = new Set(others.map((s) => s.spec?.clusterIP ?? ''));
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

  private writeSlice(svc: Service, backends: ReturnType<typeof backendsOf>): void {
    const selector = svc.spec?.selector;
    const existing = this.o.api
      .list<EndpointSlice>(endpointSliceKind, svc.metadata.namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
          s.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid) === true,
      );
    if (selector === undefined || Object.keys(selector).length === 0) {
      // Without a selector the user manages the endpoints (as in Kubernetes).
      for (const s of existing)
        this.o.api.delete(endpointSliceKind, s.metadata.namespace ?? '', s.metadata.name ?? '');
      return;
    }
    const desired = endpointSliceFor(svc, backends, this.o.nodeName);
    const current = existing.find((s) => s.metadata.name === desired.metadata.name);
    for (const s of existing)
      if (s !== current)
        this.o.api.delete(endpointSliceKind, s.metadata.namespace ?? '', s.metadata.name ?? '');
    if (current === undefined) {
      this.o.api.create<EndpointSlice>(endpointSliceKind, desired);
      return;
    }
    if (
      JSON.stringify([current.endpoints, current.ports, current.addressType]) ===
      JSON.stringify([desired.endpoints, desired.ports, desired.addressType])
    )
      return;
    this.o.api.update<EndpointSlice>(endpointSliceKind, {
      ...desired,
      metadata: {
        ...current.metadata,
        ...desired.metadata,
        resourceVersion: current.metadata.resourceVersion ?? '',
      },
    });
  }

  private writeStatus(
    svc: Service,
    lb:
      | { ip: string; frontends: Record<string, { kind: string; listening?: number; error?: string }[]> }
      | undefined,
  ): void {
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
    this.o.api.mutate<Service>(
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
