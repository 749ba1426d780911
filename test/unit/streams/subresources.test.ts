/**
 * The console and vnc subresources over a real TLS API server: authentication and refusals before
 * the handshake, bytes both ways in binary frames, and either side closing the other.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import type { RawData, WebSocket } from 'ws';
import { eventually } from '../../support/wait.js';
import {
  consolePath,
  RFB_GREETING,
  startStreamServer,
  type Connected,
  type StreamServer,
} from './harness.js';

let s: StreamServer;
before(async () => {
  s = await startStreamServer();
  s.guests.vmis.set('default/testvm', 'Running');
  s.guests.vmis.set('default/booting', 'Scheduling');
});
after(async () => {
  await s.close();
});

function open(c: Connected): WebSocket {
  assert.ok(c.ws !== undefined, `expected a WebSocket, got ${JSON.stringify(c)}`);
  assert.equal(c.protocol, 'plain.kubevirt.io');
  return c.ws;
}

/** Everything received on `ws`, and whether each frame was binary. */
function collect(ws: WebSocket): {
  bytes: () => Buffer;
  allBinary: () => boolean;
  closed: () => number | undefined;
} {
  const chunks: Buffer[] = [];
  let binary = true;
  let code: number | undefined;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    chunks.push(data as Buffer);
    binary &&= isBinary;
  });
  ws.once('close', (c: number) => (code = c));
  return { bytes: () => Buffer.concat(chunks), allBinary: () => binary, closed: () => code };
}

describe('console subresource', () => {
  test('negotiates plain.kubevirt.io and round-trips every byte value in binary frames', async () => {
    const ws = open(await s.connect(consolePath('testvm')));
    const got = collect(ws);
    const sent = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    ws.send(sent.subarray(0, 100));
    ws.send(sent.subarray(100));
    await eventually(() => got.bytes().length >= sent.length || undefined, 'the echo of 256 bytes');
    assert.deepEqual(got.bytes(), sent);
    assert.ok(got.allBinary(), 'the server sends binary frames');
    assert.equal(s.guests.last('serial')?.received, sent.toString('latin1'));
    ws.close();
    await eventually(() => got.closed(), 'the WebSocket to close');
  });

  test('a client closing ends and destroys the guest stream', async () => {
    const ws = open(await s.connect(consolePath('testvm')));
    const guest = await eventually(() => s.guests.last('serial'), 'a guest stream');
    ws.send('last words\n');
    await eventually(() => guest.received === 'last words\n' || undefined, 'the guest to receive the input');
    ws.close();
    await eventually(() => guest.destroyed || undefined, 'the guest stream to be destroyed');
    assert.ok(guest.writableFinished, 'the guest input was ended, not cut');
  });

  test('the guest going away closes the WebSocket, after what it printed', async () => {
    const before = s.guests.opened.length;
    const ws = open(await s.connect(consolePath('testvm')));
    const got = collect(ws);
    const guest = await eventually(() => s.guests.opened[before], 'a guest stream');
    guest.print('bye\n');
    guest.push(null);
    await eventually(() => got.closed(), 'the WebSocket to close');
    assert.equal(got.bytes().toString(), 'bye\n');
  });

  test('a guest stream failing closes the WebSocket and the server keeps serving', async () => {
    const before = s.guests.opened.length;
    const ws = open(await s.connect(consolePath('testvm')));
    const got = collect(ws);
    const guest = await eventually(() => s.guests.opened[before], 'a guest stream');
    guest.destroy(new Error('qemu went away'));
    assert.equal(await eventually(() => got.closed(), 'the WebSocket to close'), 1011);
    assert.ok(
      s.logs.some((l) => l.includes('qemu went away')),
      s.logs.join('\n'),
    );
    const again = open(await s.connect(consolePath('testvm')));
    again.close();
  });

  test('without a token the upgrade is refused with a 401 Status', async () => {
    const c = await s.connect(consolePath('testvm'), null);
    assert.ok(c.ws === undefined, 'no WebSocket');
    assert.equal(c.code, 401);
    assert.equal(c.body['kind'], 'Status');
    assert.equal(c.body['reason'], 'Unauthorized');
    const wrong = await s.connect(consolePath('testvm'), 'not-the-token');
    assert.ok(wrong.ws === undefined && wrong.code === 401);
  });

  test('an unknown VMI is a 404 Status before the handshake, and no guest stream is opened', async () => {
    const before = s.guests.opened.length;
    const c = await s.connect(consolePath('nope'));
    assert.ok(c.ws === undefined, 'no WebSocket');
    assert.equal(c.code, 404);
    assert.equal(c.body['reason'], 'NotFound');
    assert.equal(c.body['message'], 'virtualmachineinstance.kubevirt.io "nope" not found');
    assert.deepEqual(c.body['details'], {
      name: 'nope',
      group: 'kubevirt.io',
      kind: 'virtualmachineinstance',
    });
    assert.equal(s.guests.opened.length, before);
  });

  test('a VMI that is not running is a 409 Status', async () => {
    const c = await s.connect(consolePath('booting'));
    assert.ok(c.ws === undefined);
    assert.equal(c.code, 409);
    assert.equal(c.body['reason'], 'Conflict');
    assert.equal(
      c.body['message'],
      'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "booting": VMI is not running',
    );
  });

  test('a plain GET without upgrade is refused, and discovery lists both streams', async () => {
    const get = (path: string): Promise<{ code: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request(
          `${s.url}${path}`,
          { ca: s.caCert, headers: { Authorization: `Bearer ${s.token}` } },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    assert.equal((await get(consolePath('testvm'))).code, 405);
    const list = JSON.parse((await get('/apis/subresources.kubevirt.io/v1')).body) as {
      resources: { name: string; verbs: string[] }[];
    };
    assert.deepEqual(
      list.resources.map((r) => `${r.name}:${r.verbs.join(',')}`),
      ['virtualmachineinstances/console:get', 'virtualmachineinstances/vnc:get'],
    );
  });
});

describe('vnc subresource', () => {
  test('passes the RFB greeting and the client reply through unchanged', async () => {
    s.guests.vmis.set('default/desktop', 'Running');
    const ws = open(
      await s.connect(
        '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/desktop/vnc',
      ),
    );
    const got = collect(ws);
    await eventually(() => got.bytes().length >= RFB_GREETING.length || undefined, 'the RFB greeting');
    assert.equal(got.bytes().toString('latin1'), RFB_GREETING);
    ws.send(Buffer.from(RFB_GREETING));
    const guest = await eventually(() => s.guests.last('vnc'), 'a vnc guest stream');
    await eventually(() => guest.received === RFB_GREETING || undefined, 'the guest to receive the version');
    ws.close();
    await eventually(() => guest.destroyed || undefined, 'the guest stream to be released');
  });
});
