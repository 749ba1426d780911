/**
 * Records core/v1 Events about an object (what `kubectl describe` lists under Events). Repeats of
 * the same reason and message on the same object are folded into one Event with a count, as
 * Kubernetes' event recorder does, so a crash loop does not flood the store.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/meta.js';
import { eventKind, type Event } from '../api/core/core.js';
import type { KindDefinition } from '../api/kind.js';
import type { DeleteOptions } from '../apiserver/registry.js';

export type EventType = 'Normal' | 'Warning';

type MaybePromise<T> = T | Promise<T>;

/**
 * What recording needs of a client: both the runtime's Client (asynchronous writes) and the
 * synchronous registry client satisfy it, so reconcilers on either can share the recorder.
 */
export interface EventWriter {
  mutate<T extends KubeObject>(
    def: KindDefinition,
    namespace: string,
    name: string,
    change: (o: T) => boolean | void,
  ): MaybePromise<T | undefined>;
  create<T extends KubeObject>(def: KindDefinition, object: T): MaybePromise<T>;
  list<T extends KubeObject>(def: KindDefinition, namespace?: string): T[];
  delete(def: KindDefinition, namespace: string, name: string, options?: DeleteOptions): MaybePromise<void>;
}

/** Runs `next` on the value, at once when it is not a promise (a synchronous client stays synchronous). */
function then<T, U>(value: MaybePromise<T>, next: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

export class EventRecorder {
  constructor(
    private readonly api: EventWriter,
    private readonly component: string,
    private readonly host: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(object: KubeObject, type: EventType, reason: string, message: string): void {
    const meta = object.metadata;
    const namespace = meta.namespace ?? 'default';
    const digest = createHash('sha256')
      .update(`${meta.uid ?? ''}|${type}|${reason}|${message}`)
      .digest('hex')
      .slice(0, 16);
    const name = `${meta.name ?? ''}.${digest}`;
    const at = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    // Events are best effort: failing to record one must never fail the reconcile that caused it.
    const ignore = (): void => undefined;
    try {
      const written = then(
        this.api.mutate<Event>(eventKind, namespace, name, (e) => {
          e.count = (e.count ?? 1) + 1;
          e.lastTimestamp = at;
        }),
        (updated) =>
          updated !== undefined ? undefined : this.create(object, name, namespace, type, reason, message, at),
      );
      if (written instanceof Promise) written.then(ignore, ignore);
    } catch {
      ignore();
    }
  }

  private create(
    object: KubeObject,
    name: string,
    namespace: string,
    type: EventType,
    reason: string,
    message: string,
    at: string,
  ): MaybePromise<unknown> {
    const meta = object.metadata;
    return this.api.create<Event>(eventKind, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: meta.name ?? '',
        namespace,
        uid: meta.uid ?? '',
        ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}),
      },
      reason,
      message,
      type,
      source: { component: this.component, host: this.host },
      reportingComponent: this.component,
      reportingInstance: this.host,
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    });
  }
}

/** A recorder over a manager's client, whose cache must then hold the Events it folds repeats into. */
export function recorderFor(
  manager: { informer(def: KindDefinition): unknown; client: EventWriter },
  component: string,
  host: string,
  now?: () => Date,
): EventRecorder {
  manager.informer(eventKind);
  return new EventRecorder(manager.client, component, host, now);
}

/** Events expire, as in Kubernetes (one hour by default): a periodic sweep deletes older ones. */
export function startEventExpiry(
  api: EventWriter,
  ttlMs = 3_600_000,
  everyMs = 600_000,
  now: () => Date = () => new Date(),
): () => void {
  const sweep = (): void => {
    const cutoff = now().getTime() - ttlMs;
    for (const e of api.list<Event>(eventKind)) {
      const last = Date.parse(e.lastTimestamp ?? e.metadata.creationTimestamp ?? '');
      if (Number.isFinite(last) && last < cutoff) {
        const done = api.delete(eventKind, e.metadata.namespace ?? '', e.metadata.name ?? '');
        if (done instanceof Promise) done.catch(() => undefined);
      }
    }
  };
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  sweep();
  return () => clearInterval(timer);
}
