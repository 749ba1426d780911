/**
 * The HTTP transport against a real API server on loopback: the initial list comes in pages
 * (limit and continue, seen in the server's request log) and holds every object once; a token
 * rotated in the kubeconfig file is picked up after a 401, for plain requests and for watches.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiServer } from '../../../src/apiserver/server.js';
import { ensureServingCerts, type ServingCerts } from '../../../src/apiserver/tls.js';
import { renderKubeconfig } from '../../../src/platform/kubeconfig.js';
import { HttpTransport } from '../../../src/runtime/http.js';
import type { WatchEvent } from '../../../src/runtime/transport.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { namespaceKind, testKinds, widgetKind } from '../../support/kinds.js';
import { eventually } from '../../support/wait.js';

const token = (): string => randomBytes(24).toString('hex');

describe('HTTP transport', () => {
  let dir: string;
  let certs: ServingCerts;
  let store: SqliteStore;
  let server: ApiServer;
  let url: string;
  let kubeconfig: string;
  const accepted = token();
  const requests: { url: string; code: number }[] = [];

  const writeKubeconfig = (bearer: string): Promise<void> =>
    writeFile(kubeconfig, renderKubeconfig(url, certs.caCert, bearer), { mode: 0o600 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hikube-http-transport-'));
    certs = await ensureServingCerts(join(dir, 'pki'), ['127.0.0.1']);
    store = new SqliteStore({ path: ':memory:' });
    const registry = new Registry(store);
    registry.create(namespaceKind, '', { metadata: { name: 'default' } });
    for (let i = 0; i < 7; i++)
      registry.create(widgetKind, 'default', {
        apiVersion: 'test.hikube.io/v1',
        kind: 'Widget',
        metadata: { name: `w${i}`, namespace: 'default' },
      });
    server = new ApiServer({
      registry,
      kinds: testKinds,
      certs,
      tokens: [accepted],
      observe: (req, code) => requests.push({ url: req.url ?? '', code }),
    });
    const { port } = await server.listen('127.0.0.1', 0);
    url = `https://127.0.0.1:${port}`;
    kubeconfig = join(dir, 'kubeconfig');
  });
  after(async () => {
    await server.close();
    store.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    requests.length = 0;
    await writeKubeconfig(accepted);
  });

  test('the initial list is read in pages, every object once, at the first page’s version', async () => {
    const transport = HttpTransport.fromKubeconfig(kubeconfig, kubeconfig, { pageSize: 3 });
    const list = await transport.list(widgetKind, 'default');
    assert.deepEqual(
      list.items.map((o) => o.metadata.name),
      ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6'],
    );
    assert.ok(list.items.every((o) => o.kind === 'Widget' && o.apiVersion === 'test.hikube.io/v1'));
    const pages = requests.filter((r) => r.url.includes('/widgets?'));
    assert.equal(pages.length, 3, JSON.stringify(pages));
    assert.ok(pages.every((r) => r.url.includes('limit=3')));
    assert.deepEqual(
      pages.map((r) => r.url.includes('continue=')),
      [false, true, true],
    );
    assert.equal(list.resourceVersion, String(store.currentRv()));
  });

  test('a token rotated in the kubeconfig file is read again after a 401', async () => {
    await writeKubeconfig(token()); // a token the server does not know (an old one)
    const transport = HttpTransport.fromKubeconfig(kubeconfig, kubeconfig);
    await writeKubeconfig(accepted); // rotated on disk after the transport read the file
    const got = await transport.get(widgetKind, 'default', 'w1');
    assert.equal(got?.metadata.name, 'w1');
    assert.deepEqual(
      requests.filter((r) => r.url.endsWith('/widgets/w1')).map((r) => r.code),
      [401, 200],
    );
  });

  test('a watch refused with 401 ends, and the next one uses the rotated token', async () => {
    await writeKubeconfig(token());
    const transport = HttpTransport.fromKubeconfig(kubeconfig, kubeconfig);
    await writeKubeconfig(accepted);
    const ends: unknown[] = [];
    transport.watch(widgetKind, String(store.currentRv()), {
      event: () => undefined,
      end: (reason) => ends.push(reason.error),
    });
    const refused = await eventually(() => ends[0], 'the first watch to end');
    assert.ok(refused instanceof ApiError && refused.reason === 'Unauthorized', String(refused));
    const events: WatchEvent[] = [];
    const stop = transport.watch(widgetKind, String(store.currentRv()), {
      event: (e) => events.push(e),
      end: (reason) => ends.push(reason.error),
    });
    try {
      await transport.create(widgetKind, {
        apiVersion: 'test.hikube.io/v1',
        kind: 'Widget',
        metadata: { name: 'after-rotation', namespace: 'default' },
      });
      await eventually(
        () => events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'after-rotation'),
        'the new widget on the second watch',
      );
      assert.equal(ends.length, 1);
    } finally {
      stop();
    }
  });

  test('a token still refused after reading the file again is Unauthorized: one retry, no loop', async () => {
    await writeKubeconfig(token());
    const transport = HttpTransport.fromKubeconfig(kubeconfig, kubeconfig);
    await assert.rejects(
      transport.get(widgetKind, 'default', 'w1'),
      (err: unknown) => err instanceof ApiError && err.reason === 'Unauthorized',
    );
    assert.deepEqual(
      requests.filter((r) => r.url.endsWith('/widgets/w1')).map((r) => r.code),
      [401, 401],
    );
  });
});
