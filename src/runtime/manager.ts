/**
 * The manager runs a set of reconcilers over one shared cache, as controller-runtime's manager
 * does: one informer per kind however many reconcilers read it, started before the reconcilers
 * and synced before any of them runs, and everything stopped in reverse order.
 */
import type { KindDefinition } from '../api/kind.js';
import { resourceKey } from '../apiserver/registry.js';
import { CachedClient, type Client } from './client.js';
import { Informer } from './informer.js';
import { realTimers, type Timers } from './queue.js';
import type { ApiTransport } from './transport.js';

/** A reconciler, or anything else the manager starts once the cache has synced. */
export interface Runnable {
  readonly name: string;
  start(): void;
  stop(): void;
  /** Resolves when it has nothing left to do (tests wait on it instead of sleeping). */
  idle?(): Promise<void>;
}

export interface ManagerOptions {
  log?: (message: string) => void;
  timers?: Timers;
  /**
   * The one namespace whose objects of namespaced kinds are cached (`hikube operator --namespace`);
   * every namespace when absent. Cluster-scoped kinds are cached whole either way.
   */
  namespace?: string;
}

export class Manager {
  readonly client: Client;
  private readonly informers = new Map<string, Informer>();
  private readonly runnables: Runnable[] = [];
  private readonly log: (message: string) => void;
  private readonly timers: Timers;
  private started = false;
  readonly namespace: string | undefined;

  constructor(
    readonly transport: ApiTransport,
    options: ManagerOptions = {},
  ) {
    this.log = options.log ?? (() => undefined);
    this.timers = options.timers ?? realTimers;
    this.namespace = options.namespace;
    this.client = new CachedClient(transport, (def) => this.cached(def));
  }

  /** The shared informer of `def`, created on first use (started at once if the manager runs). */
  informer(def: KindDefinition): Informer {
    const key = resourceKey(def);
    let informer = this.informers.get(key);
    if (informer === undefined) {
      const namespace = def.namespaced ? this.namespace : undefined;
      informer = new Informer(def, this.transport, this.log, this.timers, namespace);
      this.informers.set(key, informer);
      if (this.started) informer.start();
    }
    return informer;
  }

  /** Added to a running manager, it starts once the informers it created have listed. */
  add(runnable: Runnable): Promise<void> {
    this.runnables.push(runnable);
    if (!this.started) return Promise.resolve();
    return this.synced().then(() => {
      if (this.started) runnable.start();
    });
  }

  /** Starts every informer, waits until each has listed, then starts the reconcilers in order. */
  async start(): Promise<void> {
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
    await this.synced();
    for (const r of this.runnables) r.start();
  }

  /** Resolves once every informer created so far has its first list. */
  async synced(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.whenSynced()));
  }

  stop(): void {
    for (const r of [...this.runnables].reverse()) {
      try {
        r.stop();
      } catch (err) {
        this.log(`manager: stopping ${r.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const informer of this.informers.values()) informer.stop();
    this.started = false;
  }

  /** Resolves when no reconciler has work queued. */
  async idle(): Promise<void> {
    await Promise.all(this.runnables.map((r) => r.idle?.() ?? Promise.resolve()));
  }

  private cached(def: KindDefinition): Informer {
    const informer = this.informers.get(resourceKey(def));
    if (informer === undefined)
      throw new Error(`the cache does not hold ${def.plural}: watch it (manager.informer) before starting`);
    return informer;
  }
}
