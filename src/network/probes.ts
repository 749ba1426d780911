/**
 * Readiness probes of VMIs (spec.readinessProbe), run by the node as KubeVirt's virt-handler does:
 * tcpSocket and httpGet through a host forward of the default network, exec and guestAgentPing
 * through the guest agent. Until a probe has passed a VMI is not ready, so services send it nothing; the
 * result is kept here and read by the service controller (changes call `changed`).
 */
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { GuestForwards } from './forwards.js';
import { HealthState, httpCheck, tcpCheck } from './proxy/health.js';

type Probe = NonNullable<VirtualMachineInstance['spec']['readinessProbe']>;

export interface ProbeTarget {
  uid: string;
  probe: Probe;
  /** Ports by name, from the VMI's interface ports (a probe may name its port). */
  namedPorts: Record<string, number>;
}

export interface GuestAgentAccess {
  /** Resolves when the guest agent of `uid` answers. */
  ping(uid: string): Promise<void>;
  /** Runs a command in the guest through its agent; resolves with its exit code. */
  exec(uid: string, command: string[], timeoutMs: number): Promise<number>;
}

interface Tracked {
  target: ProbeTarget;
  state: HealthState;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

export class ReadinessProber {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly forwards: GuestForwards,
    private readonly agent: GuestAgentAccess | undefined,
    private readonly changed: (uid: string) => void,
  ) {}

  /** undefined: no probe (readiness is the VMI's Ready condition alone). */
  ready(uid: string): boolean | undefined {
    const t = this.tracked.get(uid);
    if (t === undefined) return undefined;
    return t.state.healthy === true;
  }

  /** Probes exactly these VMIs (the running ones that have a readiness probe). */
  sync(targets: ProbeTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.uid, t]));
    for (const [uid, t] of this.tracked) {
      if (wanted.has(uid) && JSON.stringify(wanted.get(uid)) === JSON.stringify(t.target)) continue;
      this.untrack(uid);
    }
    for (const [uid, target] of wanted) {
      if (this.tracked.has(uid)) continue;
      const p = target.probe;
      const t: Tracked = {
        target,
        state: new HealthState({
          healthyThreshold: p.successThreshold ?? 1,
          unhealthyThreshold: p.failureThreshold ?? 3,
        }),
        timer: undefined,
        stopped: false,
      };
      this.tracked.set(uid, t);
      this.schedule(t, (p.initialDelaySeconds ?? 0) * 1000);
    }
  }

  stop(): void {
    for (const uid of [...this.tracked.keys()]) this.untrack(uid);
  }

  private untrack(uid: string): void {
    const t = this.tracked.get(uid);
    if (t === undefined) return;
    t.stopped = true;
    if (t.timer !== undefined) clearTimeout(t.timer);
    this.tracked.delete(uid);
  }

  private schedule(t: Tracked, ms: number): void {
    t.timer = setTimeout(() => {
      void this.run(t).finally(() => {
        if (!t.stopped) this.schedule(t, (t.target.probe.periodSeconds ?? 10) * 1000);
      });
    }, ms);
    t.timer.unref();
  }

  private async run(t: Tracked): Promise<void> {
    const failure = await this.probe(t.target);
    if (!t.stopped && t.state.observe(failure)) this.changed(t.target.uid);
  }

  /** One probe: undefined when it passes, else why not. */
  async probe(target: ProbeTarget): Promise<string | undefined> {
    const p = target.probe;
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    const port = (raw: string | number): number | undefined =>
      typeof raw === 'number' ? raw : /^\d+$/.test(raw) ? Number(raw) : target.namedPorts[raw];
    try {
      if (p.tcpSocket !== undefined) {
        const n = port(p.tcpSocket.port);
        if (n === undefined) return `unknown port ${JSON.stringify(p.tcpSocket.port)}`;
        return await tcpCheck(await this.forwards.forward(target.uid, 'tcp', n), timeoutMs);
      }
      if (p.httpGet !== undefined) {
        const n = port(p.httpGet.port);
        if (n === undefined) return `unknown port ${JSON.stringify(p.httpGet.port)}`;
        const fwd = await this.forwards.forward(target.uid, 'tcp', n);
        return await httpCheck(fwd, p.httpGet.path ?? '/', p.httpGet.host ?? 'localhost', timeoutMs);
      }
      if (p.guestAgentPing !== undefined) {
        if (this.agent === undefined) return 'no guest agent access';
        await this.agent.ping(target.uid);
        return undefined;
      }
      if (p.exec !== undefined) {
        if (this.agent === undefined) return 'no guest agent access';
        const code = await this.agent.exec(target.uid, p.exec.command ?? [], timeoutMs);
        return code === 0 ? undefined : `command exited with ${code}`;
      }
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }
}
