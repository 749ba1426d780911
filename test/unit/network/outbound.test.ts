/**
 * The outbound address policy: the classifier as a table, then real fetches against servers on
 * loopback — refused without the admin switch before any connection is made (IP literals, names,
 * redirects), allowed with it, and errors that do not tell a closed port from one that answers
 * with something else.
 */
import assert from 'node:assert/strict';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  checkTarget,
  classifyAddress,
  TargetNotAllowed,
  type AddressClass,
  type OutboundPolicy,
} from '../../../src/network/outbound.js';
import { ImportError } from '../../../src/storage/import/errors.js';
import { openHttp } from '../../../src/storage/import/http.js';
import { RegistryClient } from '../../../src/storage/import/registry.js';

describe('classifyAddress', () => {
  const table: [string, AddressClass][] = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.7', 'documentation'],
    ['198.18.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:0808:0808::1', 'public'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['100::1', 'reserved'],
    ['2606:4700::1111', 'public'],
    ['2a00:1450:4007::200e', 'public'],
    ['4000::1', 'reserved'],
    ['not-an-ip', 'reserved'],
  ];
  for (const [address, cls] of table)
    test(`${address} is ${cls}`, () => assert.equal(classifyAddress(address), cls));
});

describe('checkTarget', () => {
  const closed: OutboundPolicy = { allowPrivateTargets: false };
  const open: OutboundPolicy = { allowPrivateTargets: true };
  test('public passes; private, loopback and link-local only when allowed', () => {
    checkTarget(closed, '8.8.8.8');
    for (const a of ['127.0.0.1', '10.0.0.1', '169.254.169.254', '::ffff:127.0.0.1', '::1', '100.64.0.1']) {
      assert.throws(() => checkTarget(closed, a), TargetNotAllowed, a);
      checkTarget(open, a);
    }
  });
  test('documentation and reserved ranges are never targets', () => {
    for (const a of ['192.0.2.1', '240.0.0.1', '2001:db8::1'])
      assert.throws(() => checkTarget(open, a), TargetNotAllowed, a);
  });
});

/** A server that counts the connections it accepted, answering `handler`. */
async function serve(
  host: string,
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer(handler);
  server.on('connection', () => n++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => n };
}

const close = (s: Server | TcpServer): Promise<void> =>
  new Promise((resolve) => {
    if ('closeAllConnections' in s) s.closeAllConnections();
    s.close(() => resolve());
  });

async function failure(p: Promise<unknown>): Promise<ImportError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ImportError, String(err));
    return err;
  }
  assert.fail('the fetch succeeded');
}

describe('openHttp under the policy', () => {
  let files: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    files = await serve('127.0.0.1', (_req, res) => res.end('disk bytes'));
  });
  after(() => close(files.server));

  const closed: OutboundPolicy = { allowPrivateTargets: false };

  test('an IP literal on loopback: refused before connecting, not retried', async () => {
    const before = files.connections();
    const err = await failure(openHttp({ url: `http://127.0.0.1:${files.port}/disk.img` }, closed));
    assert.equal(err.reason, 'TargetNotAllowed');
    assert.equal(err.permanent, true);
    assert.match(err.message, /connection failed: target not allowed: 127\.0\.0\.1 is a loopback address/);
    assert.equal(files.connections(), before, 'no connection was made');
  });

  test('IPv6 and mapped forms of loopback, and a name that resolves to it', async () => {
    for (const host of ['[::ffff:127.0.0.1]', '[::1]', 'localhost', '2130706433']) {
      const err = await failure(openHttp({ url: `http://${host}:${files.port}/disk.img` }, closed));
      assert.equal(err.reason, 'TargetNotAllowed', `${host}: ${err.message}`);
    }
    assert.equal(files.connections(), 0);
  });

  test('with --allow-private-targets the same fetch works', async () => {
    const opened = await openHttp(
      { url: `http://127.0.0.1:${files.port}/disk.img` },
      { allowPrivateTargets: true },
    );
    const chunks: Buffer[] = [];
    for await (const c of opened.stream) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'disk bytes');
  });

  test('a redirect from an allowed server to loopback is refused', async () => {
    // 127.0.0.2 stands for a public server: the test's policy classes it as one.
    const outside = await serve('127.0.0.2', (_req, res) => {
      res.writeHead(302, { Location: `http://127.0.0.1:${files.port}/disk.img` }).end();
    });
    try {
      const policy: OutboundPolicy = {
        allowPrivateTargets: false,
        classify: (a) => (a === '127.0.0.2' ? 'public' : classifyAddress(a)),
      };
      const before = files.connections();
      const err = await failure(openHttp({ url: `http://127.0.0.2:${outside.port}/disk.img` }, policy));
      assert.equal(outside.connections(), 1, 'the first hop was allowed');
      assert.equal(err.reason, 'TargetNotAllowed');
      assert.match(err.message, /127\.0\.0\.1 is a loopback address/);
      assert.equal(files.connections(), before, 'the redirect target saw no connection');
    } finally {
      await close(outside.server);
    }
  });

  test('a closed port and a port that speaks something else fail alike', async () => {
    const open: OutboundPolicy = { allowPrivateTargets: true };
    const free = createTcpServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const closedPort = (free.address() as AddressInfo).port;
    await close(free);
    const sockets = new Set<Socket>();
    const other = createTcpServer((socket) => {
      sockets.add(socket);
      socket.end('SSH-2.0-OpenSSH_9.2\r\n');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    try {
      const a = await failure(openHttp({ url: `http://127.0.0.1:${closedPort}/x` }, open));
      const b = await failure(openHttp({ url: `http://127.0.0.1:${otherPort}/x` }, open));
      const strip = (e: ImportError): string => e.message.replace(/:\d+\//, ':PORT/');
      assert.equal(strip(a), 'fetching http://127.0.0.1:PORT/x: connection failed');
      assert.equal(strip(b), strip(a));
      assert.equal(a.permanent, b.permanent);
    } finally {
      for (const socket of sockets) socket.destroy();
      await close(other);
    }
  });
});

describe('registry pulls under the policy', () => {
  test('a registry on loopback is refused without the switch', async () => {
    const registry = await serve('127.0.0.1', (_req, res) => res.writeHead(404).end());
    try {
      const client = new RegistryClient(
        { url: `docker://127.0.0.1:${registry.port}/disks/tiny:1` },
        { allowPrivateTargets: false },
      );
      const err = await failure(client.manifest());
      assert.equal(err.reason, 'TargetNotAllowed');
      assert.match(err.message, /connection failed: target not allowed/);
      assert.equal(registry.connections(), 0);
    } finally {
      await close(registry.server);
    }
  });
});
