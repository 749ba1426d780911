/**
 * The API server's port speaks HTTP/2 (ALPN h2) with HTTP/1.1 as the fallback: requests, bodies,
 * Statuses and many watches multiplexed over one connection, WebSocket upgrades over HTTP/1.1 beside
 * it, idle sessions closed, and close() ending sessions that hold watches.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Listener } from '../../../src/apiserver/listener.js';
import { ensureServingCerts, type ServingCerts } from '../../../src/apiserver/tls.js';
import { connectH2, h2Request, h2Stream, h2Watch } from '../../support/h2.js';
import { eventually } from '../../support/wait.js';
import { consolePath, startStreamServer, type StreamServer } from '../streams/harness.js';

const NS = 'h2';
const json = (o: unknown): string => JSON.stringify(o);
const configMap = (name: string, data: Record<string, string> = {}): string =>
  json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

/** The protocol the server picks for a client offering `offered` (false or null: none). */
function negotiated(url: string, ca: string, offered: string[]): Promise<string | false | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca, ALPNProtocols: offered }, () => {
      resolve(socket.alpnProtocol);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function http1Version(url: string, ca: string, token: string): Promise<{ version: string; code: number }> {
  return new Promise((resolve, reject) => {
    get(new URL('/version', url), { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ version: res.httpVersion, code: res.statusCode ?? 0 }));
    }).on('error', reject);
  });
}

describe('API server over HTTP/2', () => {
  let s: StreamServer;
  let session: ClientHttp2Session;
  /** Every finished request: its protocol version and client. */
  const seen: { version: string; agent: string; url: string }[] = [];
  before(async () => {
    s = await startStreamServer({
      observe: (req) =>
        seen.push({ version: req.httpVersion, agent: req.headers['user-agent'] ?? '', url: req.url ?? '' }),
    });
    session = await connectH2(s.url, s.caCert);
    const ns = await h2Request(session, 'POST', '/api/v1/namespaces', {
      token: s.token,
      body: json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }),
    });
    assert.equal(ns.status, 201, ns.body);
  });
  after(async () => {
    session?.close();
    await s?.close();
  });

  test('ALPN agrees on h2 with clients offering it, and http/1.1 with the others', async () => {
    assert.equal(await negotiated(s.url, s.caCert, ['h2', 'http/1.1']), 'h2');
    assert.equal(await negotiated(s.url, s.caCert, ['http/1.1']), 'http/1.1');
    assert.deepEqual(await http1Version(s.url, s.caCert, s.token), { version: '1.1', code: 200 });
  });

  test('requests over h2 get their answers, and failures their Status', async () => {
    const version = await h2Request(session, 'GET', '/version', { token: s.token });
    assert.equal(version.status, 200);
    assert.match(String((JSON.parse(version.body) as { gitVersion: string }).gitVersion), /^v1\./);
    const head = await h2Request(session, 'HEAD', '/version', { token: s.token });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const anonymous = await h2Request(session, 'GET', '/api/v1/namespaces');
    assert.equal(anonymous.status, 401);
    assert.equal((JSON.parse(anonymous.body) as { kind: string }).kind, 'Status');
    const missing = await h2Request(session, 'GET', `/api/v1/namespaces/${NS}/configmaps/nope`, {
      token: s.token,
    });
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { message: string }).message, 'configmaps "nope" not found');
  });

  test('a body larger than a flow-control window arrives whole; one over the limit is a 413 Status', async () => {
    const big = 'x'.repeat(200 * 1024);
    const created = await h2Request(session, 'POST', `/api/v1/namespaces/${NS}/configmaps`, {
      token: s.token,
      body: configMap('big', { big }),
    });
    assert.equal(created.status, 201, created.body.slice(0, 300));
    const read = await h2Request(session, 'GET', `/api/v1/namespaces/${NS}/configmaps/big`, {
      token: s.token,
    });
    assert.equal((JSON.parse(read.body) as { data: { big: string } }).data.big, big);
    const tooLarge = await h2Request(session, 'POST', `/api/v1/namespaces/${NS}/configmaps`, {
      token: s.token,
      body: configMap('huge', { huge: 'x'.repeat(4 * 1024 * 1024) }),
    });
    assert.equal(tooLarge.status, 413);
    assert.equal((JSON.parse(tooLarge.body) as { reason: string }).reason, 'RequestEntityTooLarge');
  });

  test('forty watches share one connection and each sees the next change', async () => {
    const list = await h2Request(session, 'GET', `/api/v1/namespaces/${NS}/configmaps`, { token: s.token });
    const rv = (JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const watches = Array.from({ length: 40 }, () =>
      h2Watch(session, `/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${rv}`, s.token),
    );
    for (const w of watches) {
      const headers = await w.headers;
      assert.equal(headers[':status'], 200);
      assert.equal(headers['content-type'], 'application/json');
      assert.equal(headers['transfer-encoding'], undefined, 'no connection-specific header in HTTP/2');
    }
    const created = await h2Request(session, 'POST', `/api/v1/namespaces/${NS}/configmaps`, {
      token: s.token,
      body: configMap('seen'),
    });
    assert.equal(created.status, 201, created.body);
    await eventually(
      () => watches.every((w) => w.lines.some((l) => /"type":"ADDED".*"name":"seen"/.test(l))),
      'the ADDED event on every watch',
    );
    for (const w of watches) w.stream.close();
  });

  test('garbage on a connection that agreed on h2 closes that connection; the server keeps serving', async () => {
    const { hostname, port } = new URL(s.url);
    const closed = await new Promise<boolean>((resolve, reject) => {
      const socket = tlsConnect(
        { host: hostname, port: Number(port), ca: s.caCert, ALPNProtocols: ['h2'] },
        () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + '\u0000\u00ff'.repeat(4096)),
      );
      socket.on('error', () => undefined);
      socket.resume();
      socket.once('close', () => resolve(true));
      setTimeout(() => reject(new Error('the server kept a connection that sent garbage')), 10_000).unref();
    });
    assert.equal(closed, true);
    const still = await h2Request(session, 'GET', '/version', { token: s.token });
    assert.equal(still.status, 200);
  });

  test('a WebSocket upgrade over HTTP/1.1 works on the same port beside an h2 session', async () => {
    s.guests.vmis.set('default/ws-vm', 'Running');
    const c = await s.connect(consolePath('ws-vm'));
    assert.ok(c.ws !== undefined, 'the upgrade succeeded');
    const echoed = new Promise<string>((resolve) =>
      c.ws.once('message', (d: Buffer) => resolve(d.toString())),
    );
    c.ws.send(Buffer.from('ping'));
    assert.equal(await echoed, 'ping');
    c.ws.close();
    const still = await h2Request(session, 'GET', '/version', { token: s.token });
    assert.equal(still.status, 200);
  });

  test('the real kubectl speaks HTTP/2 to it: create, get and watch', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'hikube-h2-kube-'));
    const args = ['--kubeconfig', s.kubeconfigPath, '--cache-dir', cacheDir, '-n', NS];
    const env = { ...process.env, HOME: cacheDir };
    try {
      await promisify(execFile)(
        'kubectl',
        [...args, 'create', 'configmap', 'by-kubectl', '--from-literal=a=b'],
        {
          env,
        },
      );
      const got = await promisify(execFile)(
        'kubectl',
        [...args, 'get', 'configmap', 'by-kubectl', '-o', 'name'],
        {
          env,
        },
      );
      assert.equal(got.stdout.trim(), 'configmap/by-kubectl');
      const watch = spawn('kubectl', [...args, 'get', 'configmaps', '--watch', '-o', 'name'], { env });
      let out = '';
      let err = '';
      watch.stdout.on('data', (c: Buffer) => (out += c.toString()));
      watch.stderr.on('data', (c: Buffer) => (err += c.toString()));
      try {
        // The list is printed first; the watch then resumes from the list's resourceVersion.
        await eventually(() => out.includes('configmap/by-kubectl'), 'the list printed by kubectl --watch');
        const created = await h2Request(session, 'POST', `/api/v1/namespaces/${NS}/configmaps`, {
          token: s.token,
          body: configMap('seen-by-kubectl'),
        });
        assert.equal(created.status, 201);
        await eventually(
          () => out.includes('configmap/seen-by-kubectl'),
          `the event printed by kubectl --watch (stdout: ${out}, stderr: ${err})`,
        );
      } finally {
        watch.kill();
      }
      const kubectl = seen.filter((r) => r.agent.startsWith('kubectl'));
      assert.ok(kubectl.length >= 3, `kubectl's requests: ${JSON.stringify(kubectl)}`);
      assert.deepEqual([...new Set(kubectl.map((r) => r.version))], ['2.0']);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  test('close() ends the h2 sessions that hold watches', async () => {
    const other = await startStreamServer();
    const own = await connectH2(other.url, other.caCert);
    const gone = new Promise<void>((resolve) => own.once('close', () => resolve()));
    const w = h2Watch(own, '/api/v1/configmaps?watch=true', other.token);
    assert.equal((await w.headers)[':status'], 200);
    await other.close();
    await gone;
  });
});

describe('Listener: idle HTTP/2 sessions', () => {
  const IDLE_MS = 200;
  let dir: string;
  let certs: ServingCerts;
  let listener: Listener;
  let url: string;
  const held: (() => void)[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hikube-h2-'));
    certs = await ensureServingCerts(join(dir, 'pki'), ['127.0.0.1']);
    listener = new Listener({
      key: certs.key,
      cert: certs.cert,
      idleTimeoutMs: IDLE_MS,
      request: (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        if (req.url === '/hold') held.push(() => res.end('released'));
        else res.end('ok');
      },
      upgrade: (_req, socket) => socket.destroy(),
    });
    url = `https://127.0.0.1:${await listener.listen('127.0.0.1', 0)}`;
  });
  after(async () => {
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a session with nothing in flight is closed after the idle timeout', async () => {
    const session = await connectH2(url, certs.caCert);
    assert.equal((await h2Request(session, 'GET', '/')).body, 'ok');
    await eventually(() => session.closed || session.destroyed, 'the idle session closed', 5_000);
  });

  test('a session holding a quiet stream stays open, and closes once the stream ends', async () => {
    const session = await connectH2(url, certs.caCert);
    const stream = h2Stream(session, 'GET', '/hold');
    stream.resume();
    await eventually(() => held.length > 0, 'the held request');
    // A negative: nothing may happen for several idle timeouts, so this one has to wait.
    await new Promise((r) => setTimeout(r, IDLE_MS * 5));
    assert.equal(session.closed || session.destroyed, false, 'a watch keeps its connection');
    held.shift()?.();
    await eventually(() => session.closed || session.destroyed, 'the session closed once idle', 5_000);
  });
});
