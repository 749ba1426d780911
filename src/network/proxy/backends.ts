/**
 * The backends of one service port: each ready VMI, its host forward (resolved lazily through
 * QMP), its health, and its open connections. Health checks run per backend every period; a
 * backend is usable once its forward is known and its last checks passed (or checks are off).
 */
import type { GuestForwards, HostPort, Protocol } from '../forwards.js';
import { Balancer, type Algorithm } from './balancer.js';
import { HealthState, tcpCheck, type HealthCheckSpec } from './health.js';

export interface BackendSpec {
  /** The VMI uid. */
  uid: string;
  namespace: string;
  name: string;
  /** Guest port the traffic goes to. */
  port: number;
}

export interface BackendView {
  uid: string;
  name: string;
  port: number;
  target?: HostPort;
  healthy: boolean | undefined;
  reason: string;
  active: number;
}

/** A TCP health check of one address: undefined when it answers, else why not. */
export type TcpCheck = (target: HostPort, timeoutMs: number) => Promise<string | undefined>;

export interface HealthEvents {
  changed(backend: BackendView, healthy: boolean): void;
}

export class Backend {
  target: HostPort | undefined;
  active = 0;
  readonly health: HealthState;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private stopped = false;

  constructor(
    readonly spec: BackendSpec,
    private readonly protocol: Protocol,
    private readonly check: HealthCheckSpec,
    private readonly forwards: GuestForwards,
    private readonly events: HealthEvents,
    private readonly tcp: TcpCheck = tcpCheck,
  ) {
    this.health = new HealthState(check);
  }

  get id(): string {
    return this.spec.uid;
  }

  get usable(): boolean {
    return this.target !== undefined && this.health.healthy === true;
  }

  start(): void {
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  view(): BackendView {
    return {
      uid: this.spec.uid,
      name: this.spec.name,
      port: this.spec.port,
      ...(this.target !== undefined ? { target: this.target } : {}),
      healthy: this.health.healthy,
      reason: this.health.reason,
      active: this.active,
    };
  }

  /** A connection to the host forward was refused: the guest's QEMU is gone. */
  refused(reason: string): void {
    this.target = undefined;
    if (this.health.down(reason)) this.events.changed(this.view(), false);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.checking) return;
    this.checking = true;
    try {
      const failure = await this.probe();
      const before = this.health.healthy;
      // A new backend's first verdict is not news (a booting guest fails until its server is up).
      if (!this.stopped && this.health.observe(failure) && before !== undefined)
        this.events.changed(this.view(), this.health.healthy === true);
    } finally {
      this.checking = false;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.tick(), this.check.periodMs);
        this.timer.unref();
      }
    }
  }

  private async probe(): Promise<string | undefined> {
    if (this.target === undefined) {
      try {
        this.target = await this.forwards.forward(this.spec.uid, this.protocol, this.spec.port);
      } catch (err) {
        return `no host forward: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    if (!this.check.enabled) return undefined;
    const checkPort = this.check.port ?? (this.protocol === 'tcp' ? this.spec.port : undefined);
    // UDP without a TCP check port: nothing to connect to; the backend counts as healthy while ready.
    if (checkPort === undefined) return undefined;
    let target = this.target;
    if (checkPort !== this.spec.port || this.protocol !== 'tcp') {
      try {
        target = await this.forwards.forward(this.spec.uid, 'tcp', checkPort);
      } catch (err) {
        return `no host forward for the health check: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    return this.tcp(target, this.check.timeoutMs);
  }
}

/** The backends of one service port and how the next connection picks among them. */
export class BackendSet {
  private backends = new Map<string, Backend>();
  readonly balancer: Balancer;

  constructor(
    private readonly protocol: Protocol,
    private check: HealthCheckSpec,
    algorithm: Algorithm,
    affinityMs: number | undefined,
    private readonly forwards: GuestForwards,
    private readonly events: HealthEvents,
    private readonly tcp: TcpCheck = tcpCheck,
  ) {
    this.balancer = new Balancer(algorithm, affinityMs);
  }

  /** Replaces the backend list, keeping the state (forward, health) of those that stay. */
  update(specs: BackendSpec[], check: HealthCheckSpec): void {
    const sameCheck = JSON.stringify(check) === JSON.stringify(this.check);
    this.check = check;
    const next = new Map<string, Backend>();
    for (const spec of specs) {
      const old = this.backends.get(spec.uid);
      if (old !== undefined && old.spec.port === spec.port && sameCheck) {
        next.set(spec.uid, old);
        continue;
      }
      old?.stop();
      const b = new Backend(spec, this.protocol, check, this.forwards, this.events, this.tcp);
      next.set(spec.uid, b);
      b.start();
    }
    for (const [uid, b] of this.backends) if (!next.has(uid)) b.stop();
    this.backends = next;
  }

  pick(client: string | undefined, exclude: ReadonlySet<string> = new Set()): Backend | undefined {
    const usable = [...this.backends.values()].filter((b) => b.usable && !exclude.has(b.id));
    return this.balancer.pick(usable, client);
  }

  has(uid: string): boolean {
    return this.backends.get(uid)?.usable === true;
  }

  views(): BackendView[] {
    return [...this.backends.values()].map((b) => b.view());
  }

  stop(): void {
    for (const b of this.backends.values()) b.stop();
    this.backends.clear();
  }
}
