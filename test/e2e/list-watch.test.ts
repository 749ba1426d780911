/**
 * List and watch semantics over HTTP: selectors, pagination, resume from a resourceVersion,
 * bookmarks, 410 Gone after compaction, Table rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { raw } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { watch } from '../support/watch.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform({ bookmarkIntervalMs: 100, historySize: 200 });
});
after(async () => {
  await p.cleanup();
});

const CMS = '/api/v1/namespaces/default/configmaps';
const cm = (name: string, labels: Record<string, string> = {}): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { k: name } });
const names = (body: Record<string, unknown>): string[] =>
  (body['items'] as { metadata: { name: string } }[]).map((o) => o.metadata.name);

describe('list', () => {
  test('label selectors (equality and set-based) and field selectors filter', async () => {
    await raw(p, 'POST', CMS, cm('web-1', { app: 'web', tier: 'front' }));
    await raw(p, 'POST', CMS, cm('web-2', { app: 'web', tier: 'back' }));
    await raw(p, 'POST', CMS, cm('db-1', { app: 'db' }));
    const q = async (query: string): Promise<string[]> =>
      names((await raw(p, 'GET', `${CMS}?${query}`)).json);
    assert.deepEqual(await q('labelSelector=app%3Dweb'), ['web-1', 'web-2']);
    assert.deepEqual(await q('labelSelector=app%20in%20(web,db),tier!%3Dback'), ['db-1', 'web-1']);
    assert.deepEqual(await q('labelSelector=!tier'), ['db-1']);
    assert.deepEqual(await q('fieldSelector=metadata.name%3Dweb-2'), ['web-2']);
    assert.deepEqual(await q('fieldSelector=metadata.namespace%3Ddefault,metadata.name!%3Dweb-2'), [
      'db-1',
      'web-1',
    ]);
    const bad = await raw(p, 'GET', `${CMS}?labelSelector=app%20in%20web`);
    assert.equal(bad.code, 400, bad.body);
  });

  test('limit and continue page through everything exactly once', async () => {
    for (let i = 0; i < 25; i++)
      await raw(p, 'POST', CMS, cm(`page-${String(i).padStart(2, '0')}`, { paged: 'yes' }));
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const r = await raw(
        p,
        'GET',
        `${CMS}?labelSelector=paged&limit=10${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}`,
      );
      seen.push(...names(r.json));
      token = (r.json['metadata'] as { continue?: string }).continue ?? '';
      pages++;
    } while (token !== '');
    assert.equal(pages, 3);
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    assert.equal((await raw(p, 'GET', `${CMS}?limit=10&continue=garbage`)).code, 400);
    const noSlash = Buffer.from(JSON.stringify({ rv: 1, after: 'page-05' })).toString('base64url');
    assert.equal((await raw(p, 'GET', `${CMS}?limit=10&continue=${noSlash}`)).code, 400);
    // a page's last object deleted before the next page is asked for: the walk goes on after it
    const first = await raw(p, 'GET', `${CMS}?labelSelector=paged&limit=10`);
    const last = names(first.json).at(-1) ?? '';
    await raw(p, 'DELETE', `${CMS}/${last}`);
    const next = await raw(
      p,
      'GET',
      `${CMS}?labelSelector=paged&limit=10&continue=${encodeURIComponent((first.json['metadata'] as { continue: string }).continue)}`,
    );
    assert.deepEqual(names(next.json), seen.slice(10, 20));
  });

  test('Table responses carry the columns and an age', async () => {
    const r = await raw(p, 'GET', '/api/v1/namespaces', undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    assert.equal(r.json['kind'], 'Table');
    const cols = (r.json['columnDefinitions'] as { name: string }[]).map((c) => c.name);
    assert.deepEqual(cols, ['Name', 'Status', 'Age']);
    const row = (r.json['rows'] as { cells: string[] }[]).find((x) => x.cells[0] === 'default');
    assert.equal(row?.cells[1], 'Active');
    assert.match(row?.cells[2] ?? '', /^\d+s$/);
  });
});

describe('watch', () => {
  test('resumes from a resourceVersion with exactly the later changes, in order', async () => {
    const created = await raw(p, 'POST', CMS, cm('w-a'));
    const rv = (created.json['metadata'] as { resourceVersion: string }).resourceVersion;
    await raw(p, 'POST', CMS, cm('w-b'));
    await raw(p, 'DELETE', `${CMS}/w-a`);
    const w = watch(p, `${CMS}?watch=true&resourceVersion=${rv}`);
    try {
      await eventually(() => w.events.length >= 2, 'two replayed events');
      await raw(p, 'POST', CMS, cm('w-c'));
      await eventually(() => w.events.length >= 3, 'the live event');
      assert.deepEqual(
        w.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`),
        ['ADDED w-b', 'DELETED w-a', 'ADDED w-c'],
      );
    } finally {
      w.stop();
    }
  });

  test('without a resourceVersion it starts with the current state; label selectors filter the stream', async () => {
    const w = watch(p, `${CMS}?watch=1&labelSelector=app%3Ddb`);
    try {
      await eventually(() => w.events.length >= 1, 'the initial state');
      await raw(p, 'POST', CMS, cm('db-2', { app: 'db' }));
      await raw(p, 'POST', CMS, cm('web-3', { app: 'web' }));
      await eventually(() => w.events.some((e) => e.object.metadata?.name === 'db-2'), 'db-2');
      assert.deepEqual(
        w.events.map((e) => e.object.metadata?.name),
        ['db-1', 'db-2'],
      );
    } finally {
      w.stop();
    }
  });

  test('bookmarks arrive when asked for', async () => {
    const w = watch(p, `${CMS}?watch=true&allowWatchBookmarks=true&resourceVersion=0`);
    try {
      await eventually(() => w.events.find((e) => e.type === 'BOOKMARK'), 'a bookmark');
      const b = w.events.find((e) => e.type === 'BOOKMARK');
      assert.match(b?.object.metadata?.resourceVersion ?? '', /^\d+$/);
    } finally {
      w.stop();
    }
  });

  test('a compacted resourceVersion gets an ERROR event with a 410 Gone Status', async () => {
    for (let i = 0; i < 1100; i++) await raw(p, 'POST', CMS, cm(`fill-${i}`));
    const w = watch(p, `${CMS}?watch=true&resourceVersion=2`);
    await w.ended;
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0]?.type, 'ERROR');
    assert.equal(w.events[0]?.object.code, 410);
  });

  test('a Table watch streams one-row Tables', async () => {
    const w = watch(p, `/api/v1/namespaces?watch=true`, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    try {
      await eventually(() => w.events.length >= 1, 'a row');
      assert.equal(w.events[0]?.object.kind, 'Table');
      assert.equal(w.events[0]?.object.rows?.length, 1);
    } finally {
      w.stop();
    }
  });

  test('timeoutSeconds ends the watch', async () => {
    const w = watch(p, `${CMS}?watch=true&timeoutSeconds=1&resourceVersion=0`);
    await w.ended;
    assert.ok(w.events.length > 0);
  });
});
