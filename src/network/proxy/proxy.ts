/**
 * The node's L4 proxy (kube-proxy's role, plus the load balancer's): for each service port it
 * listens on the service's frontends (cluster IP, node port, load balancer address, all on
 * loopback) and spreads connections over the ready VMIs through their host forwards. The service
 * controller hands it the desired state of a service; `apply` opens and closes listeners to match
 * and answers where each frontend actually listens (a load balancer port that is taken on the host
 * moves to a free one, and the status says so).
 */
import { classifyAddress } from '../outbound.js';
import type { GuestForwards, Protocol } from '../forwards.js';
import type { Algorithm } from './balancer.js';
import { BackendSet, type BackendSpec, type BackendView, type HealthEvents } from './backends.js';
import type { HealthCheckSpec } from './health.js';
import { listenTcp, type Listening } from './tcp.js';
import { listenUdp } from './udp.js';

export type FrontendKind = 'cluster' | 'node' | 'loadBalancer';

export interface FrontendSpec {
  kind: FrontendKind;
  address: string;
  port: number;
  /** Listen on a free port instead when `port` is taken (load balancers sharing one address). */
  anyPortIfTaken?: boolean;
}

export interface ProxyPortSpec {
  /** The service port's name, or its index when unnamed. */
  name: string;
  protocol: Protocol;
  frontends: FrontendSpec[];
  backends: BackendSpec[];
}

export interface ProxyServiceSpec {
  ports: ProxyPortSpec[];
  algorithm: Algorithm;
  health: HealthCheckSpec;
  /** sessionAffinity ClientIP: how long a client sticks to its backend. */
  affinityMs?: number;
}

export interface FrontendStatus extends FrontendSpec {
  /** Where it listens; absent when it could not listen. */
  listening?: number;
  error?: string;
}

export interface ProxyHealthEvent {
  service: string;
  port: string;
  backend: BackendView;
  healthy: boolean;
}

interface PortState {
  protocol: Protocol;
  backends: BackendSet;
  listeners: Map<string, { spec: FrontendSpec; listening: Listening }>;
  errors: Map<string, string>;
}

interface ServiceState {
  spec: ProxyServiceSpec;
  ports: Map<string, PortState>;
}

const frontendKey = (f: FrontendSpec): string => `${f.kind}/${f.address}/${f.port}`;

export class ServiceProxy {
  private readonly services = new Map<string, ServiceState>();

  constructor(
    private readonly forwards: GuestForwards,
    private readonly onHealth: (e: ProxyHealthEvent) => void = () => undefined,
  ) {}

  /** Makes the service `key` (namespace/name) match `spec`; returns the state of every frontend, by port name. */
  async apply(key: string, spec: ProxyServiceSpec): Promise<Record<string, FrontendStatus[]>> {
    let state = this.services.get(key);
    const structural = (s: ProxyServiceSpec): string =>
      JSON.stringify([s.algorithm, s.affinityMs ?? null, s.ports.map((p) => [p.name, p.protocol])]);
    if (state !== undefined && structural(state.spec) !== structural(spec)) {
      await this.remove(key);
      state = undefined;
    }
    if (state === undefined) {
      state = { spec, ports: new Map() };
      this.services.set(key, state);
    }
    state.spec = spec;
    const out: Record<string, FrontendStatus[]> = {};
    for (const port of spec.ports) {
      let ps = state.ports.get(port.name);
      if (ps === undefined) {
        const events: HealthEvents = {
          changed: (backend, healthy) => this.onHealth({ service: key, port: port.name, backend, healthy }),
        };
        ps = {
          protocol: port.protocol,
          backends: new BackendSet(
            port.protocol,
            spec.health,
            spec.algorithm,
            spec.affinityMs,
            this.forwards,
            events,
          ),
          listeners: new Map(),
          errors: new Map(),
        };
        state.ports.set(port.name, ps);
      }
      ps.backends.update(port.backends, spec.health);
      out[port.name] = await this.frontends(ps, port.frontends);
    }
    return out;
  }

  async remove(key: string): Promise<void> {
    const state = this.services.get(key);
    if (state === undefined) return;
    this.services.delete(key);
    const closing: Promise<void>[] = [];
    for (const ps of state.ports.values()) {
      ps.backends.stop();
      for (const l of ps.listeners.values()) closing.push(l.listening.close());
    }
    await Promise.all(closing);
  }

  /** The backends of a service port as the proxy sees them (health, forwards, open connections). */
  backends(key: string, port: string): BackendView[] {
    return this.services.get(key)?.ports.get(port)?.backends.views() ?? [];
  }

  keys(): string[] {
    return [...this.services.keys()];
  }

  /** Closes every listener at once (their sockets are cut now; the promise waits for the close). */
  async stop(): Promise<void> {
    await Promise.all([...this.services.keys()].map((key) => this.remove(key)));
  }

  private async frontends(ps: PortState, wanted: FrontendSpec[]): Promise<FrontendStatus[]> {
    const keys = new Set(wanted.map(frontendKey));
    for (const [k, l] of ps.listeners) {
      if (keys.has(k)) continue;
      ps.listeners.delete(k);
      await l.listening.close();
    }
    const out: FrontendStatus[] = [];
    for (const f of wanted) {
      const k = frontendKey(f);
      let l = ps.listeners.get(k);
      if (l === undefined) {
        try {
          const listening = await this.open(ps, f);
          l = { spec: f, listening };
          ps.listeners.set(k, l);
          ps.errors.delete(k);
        } catch (err) {
          ps.errors.set(k, err instanceof Error ? err.message : String(err));
        }
      }
      const error = ps.errors.get(k);
      out.push({
        ...f,
        ...(l !== undefined ? { listening: l.listening.port } : {}),
        ...(error !== undefined ? { error } : {}),
      });
    }
    return out;
  }

  private async open(ps: PortState, f: FrontendSpec): Promise<Listening> {
    // Addresses come from the service range and the admin's pool; a wildcard would expose a
    // frontend on every interface of the host, so it is never listened on whatever asked for it.
    if (f.address.trim() === '' || classifyAddress(f.address) === 'unspecified')
      throw new Error(
        `refusing to listen on ${JSON.stringify(f.address)}: that is every interface of the host`,
      );
    const listen = (port: number): Promise<Listening> =>
      ps.protocol === 'tcp'
        ? listenTcp(f.address, port, () => ps.backends)
        : listenUdp(f.address, port, () => ps.backends);
    try {
      return await listen(f.port);
    } catch (err) {
      if (f.anyPortIfTaken === true && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') return listen(0);
      throw new Error(
        `cannot listen on ${f.address}:${f.port}/${ps.protocol.toUpperCase()}: ${(err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))}`,
      );
    }
  }
}
