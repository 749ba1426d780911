/**
 * The base every reconciler extends, so that none re-writes the same lifecycle: it owns the
 * Controller (watches, the work queue, retries) and starts, stops and waits on it for the manager.
 * A subclass declares its watches in its constructor and says how to reconcile one key; it overrides
 * `start`/`stop` (calling `super`) only when it has more to do, e.g. a first key to queue.
 */
import { Controller, type ControllerOptions } from './controller.js';
import type { Manager, Runnable } from './manager.js';

export type ReconcilerOptions = Omit<ControllerOptions, 'reconcile'>;

export abstract class Reconciler implements Runnable {
  readonly name: string;
  protected readonly controller: Controller;

  protected constructor(manager: Manager, options: ReconcilerOptions) {
    this.name = options.name;
    this.controller = new Controller(manager, { ...options, reconcile: (key) => this.reconcile(key) });
  }

  /** Brings the world in line with the object `key` names; throwing retries it with backoff. */
  protected abstract reconcile(key: string): Promise<void> | void;

  start(): void {
    this.controller.start();
  }

  stop(): void {
    this.controller.stop();
  }

  idle(): Promise<void> {
    return this.controller.idle();
  }
}
