/**
 * Records core/v1 Events about an object (what `kubectl describe` lists under Events). Repeats of
 * the same reason and message on the same object are folded into one Event with a count, as
 * Kubernetes' event recorder does, so a crash loop does not flood the store.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/meta.js';
import { eventKind, type Event } from '../api/core/core.js';
import type { ApiClient } from './registry-client.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  constructor(
    private readonly api: ApiClient,
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
    try {
      const updated = this.api.mutate<Event>(eventKind, namespace, name, (e) => {
        e.count = (e.count ?? 1) + 1;
        e.lastTimestamp = at;
      });
      if (updated !== undefined) return;
      this.api.create<Event>(eventKind, {
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
    } catch {
      // Events are best effort: failing to record one must never fail the reconcile that caused it.
    }
  }
}

/** Events expire, as in Kubernetes (one hour by default): a periodic sweep deletes older ones. */
export function startEventExpiry(
  api: ApiClient,
  ttlMs = 3_600_000,
  everyMs = 600_000,
  now: () => Date = () => new Date(),
): () => void {
  const sweep = (): void => {
    const cutoff = now().getTime() - ttlMs;
    for (const e of api.list<Event>(eventKind)) {
      const last = Date.parse(e.lastTimestamp ?? e.metadata.creationTimestamp ?? '');
      if (Number.isFinite(last) && last < cutoff)
        api.delete(eventKind, e.metadata.namespace ?? '', e.metadata.name ?? '');
    }
  };
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  sweep();
  return () => clearInterval(timer);
}
