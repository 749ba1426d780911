/**
 * A deduplicating work queue with per-key exponential backoff, the loop every controller runs:
 * a key is processed at most once at a time; a failing key is retried later, a succeeding one
 * forgets its failures. Time is injected so tests do not sleep.
 */
import { reconcileErrors, workqueueDepth } from '../metrics/registry.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class WorkQueue {
  /** Reported as the `name` label of workqueue_depth and `controller` of reconcile errors. */
  name = 'unnamed';
  /**
   * When set, the next key is the queued one of the highest priority (the first queued among
   * equals), as kube's scheduler takes the pods of the highest priority first; else first in, first out.
   */
  priority: ((key: string) => number) | undefined;
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, unknown>();
  private readonly wakes = new Map<string, unknown>();
  private scheduled = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly process: (key: string) => Promise<void> | void,
    private readonly onError: (key: string, err: unknown) => void,
    private readonly timers: Timers = realTimers,
    private readonly baseDelayMs = 50,
    private readonly maxDelayMs = 30_000,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.dirty.add(key);
    workqueueDepth.set({ name: this.name }, this.dirty.size);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
    }
  }

  /**
   * Adds `key` once `delayMs` has passed (a controller waiting on time: a backoff ending, a
   * schedule falling due). A later call for the same key replaces the earlier one. Unlike
   * retries, a wake-up does not hold `idle()`: tests with an injected clock move time themselves.
   */
  addAfter(key: string, delayMs: number): void {
    this.cancelWake(key);
    if (this.stopped) return;
    this.wakes.set(
      key,
      this.timers.setTimeout(
        () => {
          this.wakes.delete(key);
          this.add(key);
        },
        Math.max(0, delayMs),
      ),
    );
  }

  cancelWake(key: string): void {
    const handle = this.wakes.get(key);
    if (handle !== undefined) this.timers.clearTimeout(handle);
    this.wakes.delete(key);
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0 && !this.stopped) {
      const key = this.next();
      this.dirty.delete(key);
      workqueueDepth.set({ name: this.name }, this.dirty.size);
      try {
        await this.process(key);
        this.failures.delete(key);
      } catch (err) {
        reconcileErrors.inc({ controller: this.name });
        this.onError(key, err);
        this.retryLater(key);
      }
    }
    this.scheduled = false;
    if (this.dirty.size === 0 && this.delayed.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private next(): string {
    const priority = this.priority;
    let best = this.dirty.values().next().value as string;
    if (priority === undefined) return best;
    let bestValue = priority(best);
    for (const key of this.dirty) {
      const value = priority(key);
      if (value > bestValue) [best, bestValue] = [key, value];
    }
    return best;
  }

  private retryLater(key: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
    if (this.delayed.has(key)) return;
    this.delayed.set(
      key,
      this.timers.setTimeout(() => {
        this.delayed.delete(key);
        this.add(key);
      }, delay),
    );
  }

  /** Resolves when nothing is queued or waiting for a retry (tests use this instead of sleeping). */
  idle(): Promise<void> {
    if (!this.scheduled && this.dirty.size === 0 && this.delayed.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const h of [...this.delayed.values(), ...this.wakes.values()]) this.timers.clearTimeout(h);
    this.delayed.clear();
    this.wakes.clear();
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

/**
 * Per-key exponential delays for work retried outside a queue's own processing (a start that runs
 * in the background, a report written after a transfer): the n-th failure in a row waits
 * base·2^(n-1), up to max; a success forgets the key.
 */
export class Backoff {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** Counts a failure of `key` and returns how long to wait before its next try. */
  next(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n - 1, 30));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}
