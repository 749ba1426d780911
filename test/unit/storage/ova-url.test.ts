/**
 * An OVA read in one streamed pass, from a file or from an http server on loopback: disk members
 * spooled byte for byte, a member twice or an archive over the size limit refused, and a URL held
 * to the platform's outbound rule (loopback refused without the switch, a redirect from an allowed
 * server to loopback refused, a redirect to another scheme refused) with clear messages.
 */
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { classifyAddress, type OutboundPolicy } from '../../../src/network/outbound.js';
import { readOvaStream } from '../../../src/storage/ova/archive.js';
import { openOva } from '../../../src/storage/ova/source.js';
import { ovfXml, writeOva } from '../../support/ova.js';

const GiB = 2 ** 30;
const spec = { name: 'web', cpus: 1, memoryMiB: 1024, disks: [{ href: 'web-disk1.vmdk', capacity: GiB }] };
const disk = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
const dir = mkdtempSync(join(tmpdir(), 'hikube-ova-url-'));
const ova = join(dir, 'web.ova');
const open: OutboundPolicy = { allowPrivateTargets: true };
const closed: OutboundPolicy = { allowPrivateTargets: false };

let server: Server;
let base: string;
let requests: string[] = [];

before(async () => {
  await writeOva(ova, [
    ['web.ovf', Buffer.from(ovfXml(spec))],
    ['web-disk1.vmdk', disk],
  ]);
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    if (path === '/to-loopback') {
      const port = (server.address() as AddressInfo).port;
      res.writeHead(302, { location: `http://127.0.0.2:${port}/web.ova` }).end();
    } else if (path === '/to-file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    else if (path === '/web.ova')
      createReadStream(ova).pipe(res.writeHead(200, { 'content-length': statSync(ova).size }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  assert.fail('expected a failure');
}

describe('readOvaStream', () => {
  test('the disk member is spooled byte for byte, the OVF seen before it', async () => {
    const spool = mkdtempSync(join(dir, 'spool-'));
    const order: string[] = [];
    const r = await readOvaStream(createReadStream(ova), {
      maxBytes: GiB,
      spoolDir: spool,
      onOvf: (ovf) => void order.push(`ovf ${ovf.disks.length}`),
    });
    assert.deepEqual(order, ['ovf 1']);
    assert.deepEqual(r.members, ['web.ovf', 'web-disk1.vmdk']);
    assert.deepEqual(readFileSync(r.files.get('web-disk1.vmdk') ?? ''), disk);
  });

  test('a member twice is refused (a second disk would replace the first)', async () => {
    const twice = join(dir, 'twice.ova');
    await writeOva(twice, [
      ['web.ovf', Buffer.from(ovfXml(spec))],
      ['web-disk1.vmdk', disk],
      ['web-disk1.vmdk', Buffer.from('other')],
    ]);
    const m = await message(readOvaStream(createReadStream(twice), { maxBytes: GiB }));
    assert.match(m, /member "web-disk1\.vmdk" appears twice/);
  });

  test('an archive over the limit stops there', async () => {
    const m = await message(readOvaStream(createReadStream(ova), { maxBytes: 32 * 1024 }));
    assert.match(m, /the OVA is larger than the limit of 32Ki \(--max-size\)/);
  });

  test('a refusal from onOvf stops the read before any disk is spooled', async () => {
    const spool = mkdtempSync(join(dir, 'spool-'));
    const m = await message(
      readOvaStream(createReadStream(ova), {
        maxBytes: GiB,
        spoolDir: spool,
        onOvf: () => {
          throw new Error('unknown devices');
        },
      }),
    );
    assert.equal(m, 'unknown devices');
    assert.throws(() => statSync(join(spool, 'disk0')));
  });
});

describe('openOva from a URL', () => {
  test('with private targets allowed, the OVA streams from the server', async () => {
    const source = await openOva(`${base}/web.ova?token=secret`, { policy: open, maxBytes: GiB });
    assert.equal(source.label, `${base}/web.ova`, 'the query (which may carry a token) is not shown');
    const r = await readOvaStream(source.stream, { maxBytes: GiB });
    assert.equal(r.ovf.name, 'web');
  });

  test('loopback is refused without the switch, before any request, saying which switch', async () => {
    requests = [];
    const m = await message(openOva(`${base}/web.ova`, { policy: closed, maxBytes: GiB }));
    assert.match(m, /target not allowed: 127\.0\.0\.1 is a loopback address/);
    assert.match(m, /HIKUBE_ALLOW_PRIVATE_TARGETS=1/);
    assert.deepEqual(requests, []);
  });

  test('a redirect from an allowed server to loopback is refused', async () => {
    // 127.0.0.1 stands for a public server here; 127.0.0.2 keeps its loopback class.
    const policy: OutboundPolicy = {
      allowPrivateTargets: false,
      classify: (a) => (a === '127.0.0.1' ? 'public' : classifyAddress(a)),
    };
    requests = [];
    const m = await message(openOva(`${base}/to-loopback`, { policy, maxBytes: GiB }));
    assert.match(m, /target not allowed: 127\.0\.0\.2 is a loopback address/);
    assert.deepEqual(requests, ['/to-loopback'], 'the redirect target saw no request');
  });

  test('a redirect to another scheme, a non-http URL and a too large OVA are refused', async () => {
    assert.match(
      await message(openOva(`${base}/to-file`, { policy: open, maxBytes: GiB })),
      /redirects to a file: URL, which is not fetched/,
    );
    assert.match(
      await message(openOva('ftp://127.0.0.1/web.ova', { policy: open, maxBytes: GiB })),
      /only http:\/\/ and https:\/\/ are fetched/,
    );
    assert.match(
      await message(openOva(`${base}/web.ova`, { policy: open, maxBytes: 1024 })),
      /\/web\.ova is \d+ bytes, larger than the limit of 1Ki \(--max-size\)/,
    );
    assert.match(await message(openOva(`${base}/missing.ova`, { policy: open, maxBytes: GiB })), /HTTP 404/);
  });
});
