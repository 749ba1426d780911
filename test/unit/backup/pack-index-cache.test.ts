/**
 * The pack-index cache of a repository: ids the listing no longer shows are dropped, and past its
 * bound in chunk entries the least recently written application is forgotten first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PackIndexCache } from '../../../src/backup/packs.js';

const entries = (n: number): [string, number, number][] =>
  Array.from({ length: n }, (_, i) => [i.toString(16).padStart(64, '0'), i * 10, 10]);

test('retain drops the ids the listing no longer shows', () => {
  const c = new PackIndexCache(100);
  c.retain('ns/a', []);
  c.add('ns/a', 'p1', entries(3));
  c.add('ns/a', 'p2', entries(4));
  assert.equal(c.size, 7);
  const kept = c.retain('ns/a', ['p2', 'p3']);
  assert.deepEqual([...kept.keys()], ['p2']);
  assert.equal(c.size, 4);
});

test('past the bound, the least recently used application goes first', () => {
  const c = new PackIndexCache(10);
  c.retain('ns/a', []);
  c.add('ns/a', 'p1', entries(4));
  c.retain('ns/b', []);
  c.add('ns/b', 'p1', entries(4));
  c.retain('ns/a', ['p1']); // a is used again: b is now the older
  c.add('ns/a', 'p2', entries(4)); // 12 > 10: b goes
  assert.equal(c.size, 8);
  assert.deepEqual([...c.retain('ns/b', ['p1']).keys()], [], 'b was forgotten');
  assert.deepEqual([...c.retain('ns/a', ['p1', 'p2']).keys()], ['p1', 'p2']);
});

test('an application alone over the bound is not kept', () => {
  const c = new PackIndexCache(5);
  c.retain('ns/a', []);
  c.add('ns/a', 'p1', entries(6));
  assert.equal(c.size, 0);
  c.add('ns/a', 'p2', entries(1)); // the app was forgotten: nothing is added to it
  assert.equal(c.size, 0);
});
