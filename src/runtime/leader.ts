/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it, so
 * that several replicas of `hikube operator` can run and exactly one reconciles. A candidate reads
 * the Lease every retry period and takes it when it is free, released, or not renewed for
 * leaseDuration as seen on this process's own clock (the holder's timestamps are never compared
 * with ours: clocks may differ). The server's resourceVersion check settles races: of two
 * candidates updating one Lease, one gets Conflict. The holder renews every retry period; when it
 * has not renewed for renewDeadline (shorter than leaseDuration), or finds another holder, it
 * stops leading at once, before any other candidate may take over.
 */
import { leaseKind, type Lease } from '../api/coordination/lease.js';
import { realTimers, type Timers } from './queue.js';
import type { ApiTransport } from './transport.js';

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  /** Who we are, written as holderIdentity: unique among the candidates. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Called once leadership is lost (not after `release`): the caller must stop acting now. */
  onStoppedLeading(reason: string): void;
}

export interface LeaderElectorOptions {
  now?: () => number;
  timers?: Timers;
  log?: (message: string) => void;
}

/** The durations make sense together: a holder gives up before anyone else may take over. */
export function checkLeaderElectionConfig(c: LeaderElectionConfig): string[] {
  const problems: string[] = [];
  if (c.retryPeriodMs <= 0) problems.push('the retry period must be positive');
  if (c.renewDeadlineMs <= c.retryPeriodMs) problems.push('the renew deadline must exceed the retry period');
  if (c.leaseDurationMs <= c.renewDeadlineMs)
    problems.push('the lease duration must exceed the renew deadline');
  if (c.leaseDurationMs < 1000) problems.push('the lease duration must be at least 1s');
  if (c.identity === '') problems.push('the identity must not be empty');
  return problems;
}

/** A Lease time: RFC 3339 with microseconds, as metav1.MicroTime is written. */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

type Attempt = 'held' | 'taken' | 'failed';

export class LeaderElector {
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly log: (message: string) => void;
  private leading = false;
  private stopped = true;
  private tick: unknown;
  private deadline: unknown;
  /** The last holder and renewTime seen, and when (our clock) they were first seen. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;

  constructor(
    private readonly transport: ApiTransport,
    private readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    options: LeaderElectorOptions = {},
  ) {
    const problems = checkLeaderElectionConfig(config);
    if (problems.length > 0) throw new Error(`leader election: ${problems.join('; ')}`);
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
    this.log = options.log ?? (() => undefined);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the Lease ('' when free or not read yet). */
  get observedHolder(): string {
    return this.observed?.holder ?? '';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.attempt();
  }

  /**
   * Stops trying; a holder gives the Lease up (holderIdentity emptied) so that another candidate
   * takes it at its next retry instead of after leaseDuration.
   */
  async release(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name, identity } = this.config;
    try {
      const lease = (await this.transport.get(leaseKind, namespace, name)) as Lease | undefined;
      if (lease?.spec?.holderIdentity !== identity) return;
      const now = microTime(this.now());
      const spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now };
      await this.transport.update(leaseKind, { ...lease, spec });
      this.log(`leader election: released lease ${namespace}/${name}`);
    } catch (err) {
      this.log(`leader election: failed releasing lease ${namespace}/${name}: ${message(err)}`);
    }
  }

  private async attempt(): Promise<void> {
    let result: Attempt;
    try {
      result = await this.tryAcquireOrRenew();
    } catch (err) {
      this.log(`leader election: failed reading or writing lease ${this.leaseName}: ${message(err)}`);
      result = 'failed';
    }
    if (this.stopped) return;
    if (result === 'held') {
      this.armDeadline();
      if (!this.leading) {
        this.leading = true;
        this.log(`leader election: ${this.config.identity} acquired lease ${this.leaseName}`);
        this.callbacks.onStartedLeading();
      }
    } else if (result === 'taken' && this.leading)
      this.lose(`lease ${this.leaseName} is held by ${this.observedHolder}`);
    if (this.stopped) return;
    this.tick = this.timers.setTimeout(() => void this.attempt(), this.config.retryPeriodMs);
  }

  private get leaseName(): string {
    return `${this.config.namespace}/${this.config.name}`;
  }

  /** A holder that has not renewed for renewDeadline stops leading, even if a request hangs. */
  private armDeadline(): void {
    if (this.deadline !== undefined) this.timers.clearTimeout(this.deadline);
    this.deadline = this.timers.setTimeout(() => {
      this.deadline = undefined;
      if (this.leading)
        this.lose(`lease ${this.leaseName} not renewed within ${this.config.renewDeadlineMs}ms`);
    }, this.config.renewDeadlineMs);
  }

  private lose(reason: string): void {
    this.leading = false;
    if (this.deadline !== undefined) this.timers.clearTimeout(this.deadline);
    this.deadline = undefined;
    this.log(`leader election: ${this.config.identity} lost leadership: ${reason}`);
    this.callbacks.onStoppedLeading(reason);
  }

  private clearTimers(): void {
    if (this.tick !== undefined) this.timers.clearTimeout(this.tick);
    if (this.deadline !== undefined) this.timers.clearTimeout(this.deadline);
    this.tick = undefined;
    this.deadline = undefined;
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { namespace, name, identity, leaseDurationMs } = this.config;
    const nowMs = this.now();
    const now = microTime(nowMs);
    const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    const lease = (await this.transport.get(leaseKind, namespace, name)) as Lease | undefined;
    if (lease === undefined) {
      const fresh = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { namespace, name },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      };
      await this.transport.create(leaseKind, fresh);
      this.observed = { holder: identity, renewTime: now, at: nowMs };
      return 'held';
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ?? '';
    if (this.observed?.holder !== holder || this.observed.renewTime !== renewTime)
      this.observed = { holder, renewTime, at: nowMs };
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== identity && this.observed.at + duration > nowMs) return 'taken';
    const ours = holder === identity;
    const next = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: ours ? (spec.acquireTime ?? now) : now,
        renewTime: now,
        leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    await this.transport.update(leaseKind, next);
    this.observed = { holder: identity, renewTime: now, at: nowMs };
    return 'held';
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
