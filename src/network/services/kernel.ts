/**
 * The Services' data path on the pod network: the service controller hands it the same desired
 * state it hands the user-space proxy (frontends, backends, health checks, affinity), and instead
 * of listening it keeps the nftables table in step. Backends are the ready VMIs' pod IPs, each
 * health-checked on POD_IP:port as the proxy does (BackendSet, over PodForwards); a backend joins
 * the table once it passes and leaves when it fails, so the table is re-rendered whenever the set
 * of usable backends changes (checked on every apply and on a short timer), and applied only when
 * the script differs. least-connections cannot be expressed in nftables: it spreads at random.
 */
import type { GuestForwards } from '../forwards.js';
import { BackendSet, type BackendView, type TcpCheck } from '../proxy/backends.js';
import type { FrontendStatus, ProxyHealthEvent, ProxyServiceSpec } from '../proxy/proxy.js';
import type { ServiceTable } from './nft.js';
import { reservePort, type Reservation } from './reserve.js';
import { renderServiceRuleset, type KernelService } from './ruleset.js';

export interface KernelProxyOptions {
  table: ServiceTable;
  /** The nftables table's name (`PREFIX_svc`). */
  tableName: string;
  /** The pod network's gateway (hairpin and loopback clients are NATed to it). */
  gateway: string;
  forwards: GuestForwards;
  /** How a backend's health check connects (default: from this process; tests: from a fake node). */
  tcpCheck?: TcpCheck;
  onHealth?: (e: ProxyHealthEvent) => void;
  log?: (message: string) => void;
  /** Entries of the node's own, always in the table (cluster DNS: 10.96.0.10:53 → gateway:53). */
  fixed?: KernelService[];
  /** How often usable backends are compared with the table (default 250 ms). */
  resyncMs?: number;
}

interface State {
  spec: ProxyServiceSpec;
  backends: Map<string, BackendSet>;
  /** The frontends as served, by port name (a moved load balancer port, an error). */
  frontends: Map<string, FrontendStatus[]>;
}

const holdKey = (protocol: string, f: { address: string; port: number }): string =>
  `${protocol}/${f.address}/${f.port}`;

export class KernelServiceProxy {
  private readonly services = new Map<string, State>();
  /** Sockets holding the host's own frontends (reserve.ts), by protocol/address/port asked for. */
  private readonly holds = new Map<string, { owner: string; reservation: Reservation | undefined }>();
  private applied: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: KernelProxyOptions) {
    this.timer = setInterval(() => void this.sync().catch(() => undefined), o.resyncMs ?? 250);
    this.timer.unref();
  }

  async apply(key: string, spec: ProxyServiceSpec): Promise<Record<string, FrontendStatus[]>> {
    let state = this.services.get(key);
    if (state === undefined)
      this.services.set(key, (state = { spec, backends: new Map(), frontends: new Map() }));
    state.spec = spec;
    const names = new Set(spec.ports.map((p) => p.name));
    for (const [name, set] of state.backends)
      if (!names.has(name)) {
        set.stop();
        state.backends.delete(name);
      }
    for (const port of spec.ports) {
      let set = state.backends.get(port.name);
      if (set === undefined) {
        set = new BackendSet(
          port.protocol,
          spec.health,
          'round-robin',
          undefined,
          this.o.forwards,
          {
            changed: (backend, healthy) =>
              this.o.onHealth?.({ service: key, port: port.name, backend, healthy }),
          },
          this.o.tcpCheck,
        );
        state.backends.set(port.name, set);
      }
      set.update(port.backends, spec.health);
    }
    await this.hold(key, state);
    const result: Record<string, FrontendStatus[]> = {};
    try {
      await this.sync();
      for (const p of spec.ports) result[p.name] = state.frontends.get(p.name) ?? [];
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      for (const p of spec.ports) result[p.name] = p.frontends.map((f) => ({ ...f, error }));
    }
    return result;
  }

  /** Holds the node port and load balancer frontends of `key`, releasing those it no longer has. */
  private async hold(key: string, state: State): Promise<void> {
    const wanted = new Set<string>();
    // Built aside, then swapped in: a resync in between sees the last complete set.
    const served = new Map<string, FrontendStatus[]>();
    for (const p of state.spec.ports) {
      const out: FrontendStatus[] = [];
      for (const f of p.frontends) {
        if (f.kind === 'cluster') {
          out.push({ ...f, listening: f.port });
          continue;
        }
        const k = holdKey(p.protocol, f);
        wanted.add(k);
        const held = this.holds.get(k);
        if (held !== undefined && held.owner !== key) {
          out.push({ ...f, error: `${f.address}:${f.port} is served for ${held.owner}` });
          continue;
        }
        try {
          const reservation =
            held?.reservation ??
            (await reservePort(p.protocol, f.address, f.port, f.anyPortIfTaken === true));
          if (held === undefined) this.holds.set(k, { owner: key, reservation });
          out.push({ ...f, listening: reservation?.port ?? f.port });
        } catch (err) {
          out.push({ ...f, error: err instanceof Error ? err.message : String(err) });
        }
      }
      served.set(p.name, out);
    }
    state.frontends = served;
    await this.release(key, wanted);
  }

  private async release(owner: string, keep: ReadonlySet<string> = new Set()): Promise<void> {
    for (const [k, held] of [...this.holds])
      if (held.owner === owner && !keep.has(k)) {
        this.holds.delete(k);
        await held.reservation?.close();
      }
  }

  async remove(key: string): Promise<void> {
    const state = this.services.get(key);
    if (state === undefined) return;
    for (const set of state.backends.values()) set.stop();
    this.services.delete(key);
    await this.sync();
    await this.release(key);
  }

  /** Stops health checks and removes the table (connections already NATed go on). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const state of this.services.values()) for (const set of state.backends.values()) set.stop();
    const owners = [...this.services.keys()];
    this.services.clear();
    await this.enqueue(() => this.o.table.remove(this.o.tableName));
    this.applied = undefined;
    for (const owner of owners) await this.release(owner);
  }

  /** The backends of a service port (health, pod address), as the user-space proxy reports them. */
  backends(key: string, port: string): BackendView[] {
    return this.services.get(key)?.backends.get(port)?.views() ?? [];
  }

  /** The services as the kernel should see them now. */
  desired(): KernelService[] {
    return [...(this.o.fixed ?? []), ...this.serviceEntries()];
  }

  private serviceEntries(): KernelService[] {
    return [...this.services].map(([key, { spec, backends, frontends }]) => ({
      key,
      ...(spec.affinityMs !== undefined
        ? { affinitySeconds: Math.max(1, Math.round(spec.affinityMs / 1000)) }
        : {}),
      ports: spec.ports.map((p) => ({
        protocol: p.protocol,
        // Where each is served (a moved load balancer port); one that could not be held is left out.
        frontends: (frontends.get(p.name) ?? [])
          .filter((f) => f.error === undefined)
          .map((f) => ({ address: f.address, port: f.listening ?? f.port })),
        backends: (backends.get(p.name)?.views() ?? [])
          .filter((b) => b.healthy === true && b.target !== undefined)
          .map((b) => ({ ip: b.target?.host ?? '', port: b.target?.port ?? 0 }))
          .sort((x, y) => (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : x.port - y.port)),
      })),
    }));
  }

  private sync(): Promise<void> {
    return this.enqueue(async () => {
      const ruleset = { table: this.o.tableName, gateway: this.o.gateway, services: this.desired() };
      const script = renderServiceRuleset(ruleset);
      if (script === this.applied) return;
      try {
        await this.o.table.apply(ruleset);
        this.applied = script;
      } catch (err) {
        this.o.log?.(
          `services: failed applying nftables table ${this.o.tableName}: ${err instanceof Error ? err.message : String(err)}`,
        );
        throw err;
      }
    });
  }

  /** Applies one at a time, in order. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
