/**
 * The real SQLite store (in memory) whose writes fail on demand, as a full disk or a broken
 * database would make them: for tests of what controllers and the node agent do when the store
 * refuses a write. Reads still work, as they do from the real store's memory.
 */
import type { KubeObject } from '../../src/api/meta.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { ResourceKey, Store, StoredObject } from '../../src/store/store.js';

export class FailingStore extends SqliteStore implements Store {
  /** Which writes fail (none by default); `object` is undefined for deletes. */
  failing: (resource: ResourceKey, object: KubeObject | undefined) => boolean = () => false;
  /** When each refused write was tried, by the clock given. */
  refused: number[] = [];

  constructor(private readonly now: () => number = Date.now) {
    super({ path: ':memory:' });
  }

  private check(resource: ResourceKey, object: KubeObject | undefined): void {
    if (!this.failing(resource, object)) return;
    this.refused.push(this.now());
    throw new Error('disk I/O error');
  }

  override create(resource: ResourceKey, object: KubeObject): StoredObject {
    this.check(resource, object);
    return super.create(resource, object);
  }

  override update(resource: ResourceKey, object: KubeObject, expectedRv?: number): StoredObject {
    this.check(resource, object);
    return super.update(resource, object, expectedRv);
  }

  override delete(resource: ResourceKey, namespace: string, name: string, expectedRv?: number): StoredObject {
    this.check(resource, undefined);
    return super.delete(resource, namespace, name, expectedRv);
  }
}
