/**
 * The store's objects of one resource in LIST order (namespace, then name), kept between LISTs:
 * a LIST of 10,000 objects used to copy and sort them all, and a paged walk did so once per page.
 * The order is built at the first LIST of a resource, then kept by each write: an update replaces
 * the object in place, an add or delete inserts or removes it (found by binary search).
 */
import type { StoredObject } from './store.js';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** (namespace, name) order, the order of every LIST. */
export const byKey = (
  a: { namespace: string; name: string },
  b: { namespace: string; name: string },
): number => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace));

/** The index of the first of `sorted` (in byKey order) that is not before (namespace, name). */
export function lowerBound(sorted: readonly StoredObject[], namespace: string, name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const o = sorted[mid];
    if (o !== undefined && byKey(o, { namespace, name }) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the first of `sorted` (in byKey order) that comes after (namespace, name). */
export function upperBound(
  sorted: readonly { namespace: string; name: string }[],
  namespace: string,
  name: string,
): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const o = sorted[mid];
    if (o !== undefined && byKey(o, { namespace, name }) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ListOrder {
  private readonly sorted = new Map<string, StoredObject[]>();

  /** Objects of `resource` in byKey order, in `namespace` only when given; a new array each call. */
  list(resource: string, all: () => Iterable<StoredObject>, namespace?: string): StoredObject[] {
    let sorted = this.sorted.get(resource);
    if (sorted === undefined) {
      sorted = [...all()].sort(byKey);
      this.sorted.set(resource, sorted);
    }
    if (namespace === undefined) return sorted.slice();
    const from = lowerBound(sorted, namespace, '');
    let to = from;
    while (to < sorted.length && sorted[to]?.namespace === namespace) to++;
    return sorted.slice(from, to);
  }

  /** After a write: the object takes, keeps or leaves its place in the order (binary search). */
  written(type: 'ADDED' | 'MODIFIED' | 'DELETED', stored: StoredObject): void {
    const sorted = this.sorted.get(stored.resource);
    if (sorted === undefined) return;
    const i = lowerBound(sorted, stored.namespace, stored.name);
    const at = sorted[i];
    const present = at !== undefined && at.namespace === stored.namespace && at.name === stored.name;
    if (type === 'DELETED') {
      if (present) sorted.splice(i, 1);
    } else if (present) sorted[i] = stored;
    else sorted.splice(i, 0, stored);
  }
}
