/**
 * The request gate's savings keep its behaviour: audit lines written in batches still all land,
 * in order, soon, and at once past the size bound; a connection's client certificate is read once
 * only where TLS cannot change it (1.3); a bearer token hashed once still tells the admin token
 * from the scrape token, and a WebSocket token that decodes to invisible bytes is no credential.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RequestAttributes } from '../../../src/apiserver/auth/attributes.js';
import { AuditLog, auditEvent } from '../../../src/apiserver/auth/audit.js';
import { Authenticator, BEARER_PROTOCOL } from '../../../src/apiserver/auth/authenticate.js';
import { certificateUser } from '../../../src/apiserver/auth/client-certs.js';
import type { ApiRequest } from '../../../src/apiserver/http.js';
import { eventually } from '../../support/wait.js';

const attrs: RequestAttributes = {
  verb: 'update',
  resourceRequest: true,
  namespace: 'a',
  apiGroup: 'kubevirt.io',
  apiVersion: 'v1',
  resource: 'virtualmachines',
  subresource: '',
  name: 'vm',
  path: '',
};
const httpReq = { url: '/x', headers: {}, socket: { remoteAddress: '127.0.0.1' } } as unknown as ApiRequest;
const event = (user: string) =>
  auditEvent(httpReq, attrs, { username: user, groups: [] }, 200, new Date(), new Date());
const usersIn = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { user: { username: string } }).user.username);

describe('audit log batching', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hikube-audit-batch-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('lines wait for the timer, then land together and in order; close writes the rest', async () => {
    const path = join(dir, 'slow.log');
    const log = new AuditLog({ path, flushMs: 60_000 });
    for (const u of ['u0', 'u1', 'u2']) log.record(event(u));
    assert.deepEqual(usersIn(await readFile(path, 'utf8')), [], 'nothing written before the timer');
    await log.close();
    assert.deepEqual(usersIn(await readFile(path, 'utf8')), ['u0', 'u1', 'u2']);
    log.record(event('late'));
    assert.deepEqual(usersIn(await readFile(path, 'utf8')), ['u0', 'u1', 'u2'], 'nothing after close');
  });

  test('with the default timer a line is in the file soon, without close', async () => {
    const path = join(dir, 'default.log');
    const log = new AuditLog({ path });
    log.record(event('soon'));
    await eventually(async () => usersIn(await readFile(path, 'utf8')).includes('soon'), 'the line', 2000);
    await log.close();
  });

  test('past 64 KiB pending the lines are written at once, not left to the timer', async () => {
    const path = join(dir, 'big.log');
    const log = new AuditLog({ path, flushMs: 60_000 });
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}-${'x'.repeat(200)}`);
    for (const u of users) log.record(event(u));
    // Read synchronously, right after: a write handed to libuv's pool would not be there yet.
    const written = usersIn(readFileSync(path, 'utf8'));
    assert.ok(written.length > 0 && written.length < users.length, `${written.length} written at once`);
    assert.deepEqual(written, users.slice(0, written.length));
    await log.close();
    assert.deepEqual(usersIn(readFileSync(path, 'utf8')), users);
  });
});

/** A connection as the authenticator reads it: counts how often its certificate is read. */
function connection(protocol: string, cn: string) {
  const socket = {
    reads: 0,
    authorized: true,
    getProtocol: () => protocol,
    getPeerCertificate: () => {
      socket.reads++;
      return { subject: { CN: cn, O: ['devs'] }, ext_key_usage: ['1.3.6.1.5.5.7.3.2'] };
    },
  };
  return { socket, req: { socket, headers: {} } as unknown as ApiRequest };
}

describe('client certificate per connection', () => {
  test('TLS 1.3: read once per connection, each connection its own user', () => {
    const a = connection('TLSv1.3', 'carol');
    const b = connection('TLSv1.3', 'dave');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(certificateUser(a.req), {
        username: 'carol',
        groups: ['devs', 'system:authenticated'],
      });
      assert.equal((certificateUser(b.req) as { username: string }).username, 'dave');
    }
    assert.equal(a.socket.reads, 1);
    assert.equal(b.socket.reads, 1);
  });

  test('TLS 1.2 (renegotiation may change it): read on every request', () => {
    const c = connection('TLSv1.2', 'erin');
    for (let i = 0; i < 3; i++)
      assert.equal((certificateUser(c.req) as { username: string }).username, 'erin');
    assert.equal(c.socket.reads, 3);
  });
});

describe('bearer tokens hashed once', () => {
  const auth = new Authenticator({
    adminTokens: ['admin-t'],
    scrapeTokens: ['scrape-t'],
    now: () => new Date(),
  });
  const bearer = (token: string) =>
    ({ headers: { authorization: `Bearer ${token}` } }) as unknown as ApiRequest;

  test('the admin token, the scrape token, and neither', () => {
    assert.equal(auth.authenticate(bearer('admin-t'))?.kind, 'user');
    assert.equal(auth.authenticate(bearer('scrape-t'))?.kind, 'scraper');
    assert.equal(auth.authenticate(bearer('other')), undefined);
  });

  test('a WebSocket token of invisible bytes is no credential', () => {
    for (const token of ['', 'admin-t\n', '\u0001']) {
      const req = {
        headers: {
          upgrade: 'websocket',
          'sec-websocket-protocol': `${BEARER_PROTOCOL}${Buffer.from(token).toString('base64url') || 'A'}`,
        },
      } as unknown as ApiRequest;
      assert.equal(auth.authenticate(req), undefined, JSON.stringify(token));
    }
    const ok = {
      headers: {
        upgrade: 'websocket',
        'sec-websocket-protocol': `${BEARER_PROTOCOL}${Buffer.from('admin-t').toString('base64url')}`,
      },
    } as unknown as ApiRequest;
    assert.equal(auth.authenticate(ok)?.kind, 'user');
  });
});
