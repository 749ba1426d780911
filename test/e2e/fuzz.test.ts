/**
 * A bounded, deterministic fuzz run against a real API server (TLS, SQLite store, every served
 * kind; no controllers, so nothing it creates is acted on): a few thousand requests from
 * test/support/fuzz.ts. No answer may be a 5xx, the server's event loop may never stall for more
 * than a second, and the process stays under 300 MiB of RSS afterwards.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { seedObjects } from '../../src/api/catalog.js';
import { kinds, findKindByGvk } from '../../src/api/registry.js';
import { Registry } from '../../src/apiserver/registry.js';
import { ApiServer } from '../../src/apiserver/server.js';
import { ensureServingCerts } from '../../src/apiserver/tls.js';
import { volumeSubresources } from '../../src/apiserver/volumes.js';
import { storageSeedObjects } from '../../src/platform/storage.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { minimal, nextRequest, Rng, type FuzzRequest, type Target } from '../support/fuzz.js';
import { examplesDir } from '../support/platform.js';

/** Documented in docs/security.md ("Fuzzing"). */
const SEED = 20261206;
const REQUESTS = 3000;
const CONCURRENCY = 4;
const NAMESPACE = 'fuzz';
const MAX_STALL_MS = 1000;
const MAX_RSS = 300 * 1024 * 1024;

let dir: string;
let store: SqliteStore;
let server: ApiServer;
let base: string;
let ca: Buffer;
const token = 'fuzz-token-0123456789abcdef0123456789';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-fuzz-'));
  const certs = await ensureServingCerts(join(dir, 'pki'), ['127.0.0.1']);
  ca = readFileSync(join(dir, 'pki', 'ca.crt'));
  store = new SqliteStore({ path: join(dir, 'state.db') });
  const registry = new Registry(store);
  const nsDef = findKindByGvk('v1', 'Namespace');
  assert.ok(nsDef !== undefined);
  for (const name of ['default', NAMESPACE]) registry.create(nsDef, '', { metadata: { name } });
  server = new ApiServer({
    registry,
    kinds,
    certs,
    tokens: [token],
    subresources: volumeSubresources(registry),
  });
  const { port } = await server.listen('127.0.0.1', 0);
  base = `https://127.0.0.1:${port}`;
});
after(async () => {
  await server.close();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Real objects of every kind that has one (examples, the catalog), a minimal one otherwise. */
function targets(): Target[] {
  const seeds = [...seedObjects(), ...storageSeedObjects()] as unknown as Record<string, unknown>[];
  const files = readdirSync(examplesDir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.yaml'),
  );
  for (const file of files)
    for (const doc of parseAllDocuments(readFileSync(join(examplesDir, file), 'utf8')))
      seeds.push(doc.toJS() as Record<string, unknown>);
  return kinds.map((def) => ({
    def,
    seed:
      seeds.find((s) => s['kind'] === def.kind && String(s['apiVersion']).startsWith(def.group)) ??
      minimal(def, 'seed'),
  }));
}

interface Answer {
  code: number;
  body: string;
}

function send(agent: Agent, r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${r.path}`,
      {
        method: r.method,
        agent,
        ca,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': r.contentType,
          ...(r.body !== undefined ? { 'Content-Length': String(r.body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8', 0, 300) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

describe('fuzzing the API server', () => {
  test(`${REQUESTS} requests (seed ${SEED}): no 5xx, no stall over ${MAX_STALL_MS} ms, RSS under 300 MiB`, async () => {
    const rng = new Rng(SEED);
    const all = targets();
    const requests = Array.from({ length: REQUESTS }, (_, n) => nextRequest(rng, all, NAMESPACE, n));
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const stalls = monitorEventLoopDelay({ resolution: 20 });
    stalls.enable();
    const failures: string[] = [];
    const codes = new Map<number, number>();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i];
        if (r === undefined) continue;
        const answer = await send(agent, r);
        codes.set(answer.code, (codes.get(answer.code) ?? 0) + 1);
        if (answer.code >= 500 || answer.code < 200)
          failures.push(
            `#${i} ${r.method} ${r.path.slice(0, 120)} (${r.contentType}) → ${answer.code} ${answer.body}`,
          );
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    stalls.disable();
    agent.destroy();
    const summary = [...codes]
      .sort(([a], [b]) => a - b)
      .map(([c, n]) => `${c}×${n}`)
      .join(' ');
    assert.deepEqual(failures.slice(0, 10), [], `answers: ${summary}`);
    const stallMs = stalls.max / 1e6;
    assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled for ${stallMs.toFixed(0)} ms`);
    const rss = process.memoryUsage().rss;
    assert.ok(rss < MAX_RSS, `RSS is ${(rss / 2 ** 20).toFixed(0)} MiB after the run`);
    console.log(
      `fuzz: ${REQUESTS} requests, answers ${summary}, longest stall ${stallMs.toFixed(0)} ms, RSS ${(rss / 2 ** 20).toFixed(0)} MiB`,
    );
  });
});
