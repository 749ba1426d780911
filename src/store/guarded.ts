/**
 * The store behind a headroom guard (headroom.ts): on a filling disk, creates and ordinary updates
 * are refused with StoreError `Full` and the reason, while deletes (and the updates that finish a
 * deletion: finalizers removed from an object with a deletionTimestamp) go through, helped by a WAL
 * checkpoint and then the reserve when SQLite itself has no room left. So what fills the disk can
 * always be deleted through the API.
 */
import type { KubeObject } from '../api/meta.js';
import type { Headroom } from './headroom.js';
import {
  StoreError,
  type QuarantinedRow,
  type ResourceKey,
  type Store,
  type StoredObject,
  type StoreEvent,
} from './store.js';

/** What the guard needs of the store beyond the port: a way to stop the WAL from growing. */
export interface CheckpointingStore extends Store {
  checkpoint(): void;
}

export class GuardedStore implements Store {
  constructor(
    private readonly inner: CheckpointingStore,
    private readonly headroom: Headroom,
  ) {}

  get(resource: ResourceKey, namespace: string, name: string): StoredObject | undefined {
    return this.inner.get(resource, namespace, name);
  }

  list(resource: ResourceKey, namespace?: string): { items: StoredObject[]; rv: number } {
    return this.inner.list(resource, namespace);
  }

  create(resource: ResourceKey, object: KubeObject): StoredObject {
    this.refuseWhenShort();
    return this.ordinary(() => this.inner.create(resource, object));
  }

  update(resource: ResourceKey, object: KubeObject, expectedRv?: number): StoredObject {
    const write = (): StoredObject => this.inner.update(resource, object, expectedRv);
    if (object.metadata.deletionTimestamp !== undefined) return this.freeing(write);
    this.refuseWhenShort();
    return this.ordinary(write);
  }

  delete(resource: ResourceKey, namespace: string, name: string, expectedRv?: number): StoredObject {
    return this.freeing(() => this.inner.delete(resource, namespace, name, expectedRv));
  }

  quarantined(): QuarantinedRow[] {
    return this.inner.quarantined();
  }

  /** Removes a row that could not be loaded: freeing, like a delete. */
  purge(resource: ResourceKey, namespace: string, name: string): boolean {
    return this.freeing(() => this.inner.purge(resource, namespace, name));
  }

  currentRv(): number {
    return this.inner.currentRv();
  }

  changesSince(rv: number): StoreEvent[] {
    return this.inner.changesSince(rv);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.inner.subscribe(listener);
  }

  close(): void {
    this.headroom.close();
    this.inner.close();
  }

  /** Why the store takes only deletes now (for /readyz); undefined when it takes every write. */
  shortage(): string | undefined {
    return this.headroom.shortage();
  }

  private refuseWhenShort(): void {
    const reason = this.headroom.shortage();
    if (reason !== undefined) throw new StoreError('Full', reason);
  }

  private ordinary(write: () => StoredObject): StoredObject {
    try {
      return write();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      throw new StoreError('Full', this.headroom.shortage() ?? fullMessage(this.headroom.freeBytes()));
    }
  }

  /** A write that leads to space being freed: a checkpoint, then the reserve, make room for it. */
  private freeing<T>(write: () => T): T {
    const attempts: (() => void)[] = [
      () => this.inner.checkpoint(),
      () => {
        if (!this.headroom.release()) throw new StoreError('Full', fullMessage(this.headroom.freeBytes()));
      },
    ];
    for (;;) {
      try {
        return write();
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        const next = attempts.shift();
        if (next === undefined) throw new StoreError('Full', fullMessage(this.headroom.freeBytes()));
        try {
          next();
        } catch (failed) {
          if (failed instanceof StoreError) throw failed;
          // A checkpoint that itself found no room: go on to the reserve.
        }
      }
    }
  }
}

const fullMessage = (free: number): string =>
  `data dir full: ${free} bytes free and the store's reserve is spent: free space on the data dir's filesystem`;

/** SQLite's "database or disk is full", and the I/O errors a write into a full filesystem gives. */
export function isDiskFull(err: unknown): boolean {
  if (err instanceof StoreError) return err.code === 'Full';
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'SQLITE_IOERR_WRITE';
}
