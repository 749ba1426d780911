/**
 * The loop every reconciler runs, written once: changes of the kinds it watches become keys in a
 * rate-limited work queue, and each key is reconciled one at a time (a failure is retried with
 * backoff, a success forgets past failures). A reconciler only says which keys a change touches
 * and how to reconcile one key.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import type { Client } from './client.js';
import type { InformerHandler } from './informer.js';
import type { Manager, Runnable } from './manager.js';
import { WorkQueue, realTimers, type Timers } from './queue.js';
import { objectKey, type WatchEventType } from './transport.js';

/** Which queue keys a change touches; the default is the object's own `namespace/name`. */
export type KeysOf = (
  object: KubeObject,
  type: WatchEventType,
  old: KubeObject | undefined,
) => Iterable<string>;

export interface ControllerOptions {
  name: string;
  reconcile: (key: string) => Promise<void> | void;
  log?: (message: string) => void;
  timers?: Timers;
  /** Retry delays of a failing key (default: the queue's 50 ms doubling up to 30 s). */
  backoff?: { baseMs: number; maxMs: number };
  /** Failures retried without a log line (an expected wait, not an error). */
  quiet?: (err: unknown) => boolean;
  /** Orders the queue: the key of the highest priority is reconciled first (WorkQueue.priority). */
  priority?: (key: string) => number;
}

export class Controller implements Runnable {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly client: Client;
  private readonly watches: { def: KindDefinition; keys: KeysOf }[] = [];
  private readonly unsubscribes: (() => void)[] = [];
  private started = false;

  constructor(
    private readonly manager: Manager,
    options: ControllerOptions,
  ) {
    this.name = options.name;
    this.client = manager.client;
    const log = options.log ?? (() => undefined);
    this.queue = new WorkQueue(
      options.reconcile,
      (key, err) => {
        if (options.quiet?.(err) === true) return;
        log(
          `${options.name}: failed reconciling ${key}: ${err instanceof Error ? err.message : String(err)}`,
        );
      },
      options.timers ?? realTimers,
      options.backoff?.baseMs,
      options.backoff?.maxMs,
    );
    this.queue.name = options.name;
    this.queue.priority = options.priority;
  }

  /**
   * Reconciles the keys `keys` names after each change of `def` (and every object at start). Added
   * to a running controller (a kind served from a CRD that just appeared), it follows at once.
   */
  watch(def: KindDefinition, keys: KeysOf = (o) => [objectKey(o)]): this {
    this.manager.informer(def);
    this.watches.push({ def, keys });
    if (this.started) this.follow(def, keys);
    return this;
  }

  /** Kinds read from the cache without reconciling on their changes. */
  reads(...defs: readonly KindDefinition[]): this {
    for (const def of defs) this.manager.informer(def);
    return this;
  }

  start(): void {
    this.started = true;
    for (const { def, keys } of this.watches) this.follow(def, keys);
  }

  private follow(def: KindDefinition, keys: KeysOf): void {
    const informer = this.manager.informer(def);
    const handler: InformerHandler = (type, object, old) => {
      for (const k of keys(object, type, old)) this.queue.add(k);
    };
    this.unsubscribes.push(informer.onChange(handler));
    for (const object of informer.list()) handler('ADDED', object, undefined);
  }

  stop(): void {
    this.started = false;
    for (const u of this.unsubscribes.splice(0)) u();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }
}
