/**
 * What the phases of the snapshot controller (snapshot.ts, take.ts, content.ts, restore.ts,
 * clone.ts) share: the cache-backed client, the node's Snapshotter, the clock and a way back into
 * the one work queue. Its own module so that the phases need not import the controller class.
 */
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import type { Snapshotter } from '../../node/snapshots.js';
import type { Client } from '../../runtime/client.js';
import type { EventRecorder } from '../../runtime/events.js';

export interface SnapshotContext {
  api: Client;
  events: EventRecorder;
  snapshotter: Snapshotter;
  claimPath: (namespace: string, claim: string) => string | undefined;
  now: () => Date;
  /**
   * From the cache, or from the server when the cache has none: an object created a moment ago
   * may not have reached its informer yet, and "not found" would fail an operation for good.
   */
  find<T extends KubeObject>(def: KindDefinition, ns: string, name: string): Promise<T | undefined>;
  /** Looks at `kind:ns/name` again after `ms`. */
  later(key: string, ms: number): void;
}

/** The work queue key of an object: `Kind:ns/name`. */
export const keyOf = (def: KindDefinition, ns: string, name: string): string => `${def.kind}:${ns}/${name}`;
