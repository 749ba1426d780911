/**
 * The QMP client against a scripted QMP server on a real unix socket: ids pair answers with their
 * commands whatever the order, errors keep QEMU's class and desc, and nothing waits forever.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  connectQmp,
  QmpClosedError,
  QmpError,
  QmpTimeoutError,
  type QmpClient,
} from '../../../src/hypervisor/qmp.js';

const GREETING = {
  QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'test' }, capabilities: ['oob'] },
};

interface Command {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: string;
}

/** A QMP server whose answers are scripted per test; `greet: false` accepts and stays silent. */
async function fakeQemu(
  path: string,
  script: (cmd: Command, reply: (msg: object) => void, socket: Socket) => void,
  greet = true,
): Promise<Server> {
  const server = createServer((socket) => {
    let buffer = '';
    const reply = (msg: object) => socket.write(`${JSON.stringify(msg)}\r\n`);
    if (greet) reply(GREETING);
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const cmd = JSON.parse(buffer.slice(0, nl)) as Command;
        buffer = buffer.slice(nl + 1);
        if (cmd.execute === 'qmp_capabilities') reply({ return: {}, id: cmd.id });
        else script(cmd, reply, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

let dir: string;
const servers: Server[] = [];
const clients: QmpClient[] = [];
let n = 0;

async function setup(
  script: Parameters<typeof fakeQemu>[1],
  greet = true,
  options = {},
): Promise<{ path: string; connect: () => Promise<QmpClient> }> {
  const path = join(dir, `qmp-${n++}.sock`);
  servers.push(await fakeQemu(path, script, greet));
  return {
    path,
    connect: async () => {
      const c = await connectQmp(path, options);
      clients.push(c);
      return c;
    },
  };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hikube-qmp-unit-'));
});
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

describe('QmpClient', () => {
  test('negotiates capabilities and keeps the greeting', async () => {
    const { connect } = await setup((cmd, reply) =>
      reply({ return: { status: 'paused', running: false }, id: cmd.id }),
    );
    const qmp = await connect();
    assert.equal(qmp.greeting?.version.qemu.major, 7);
    assert.deepEqual(await qmp.execute('query-status'), { status: 'paused', running: false });
  });

  test('answers reach their own command even out of order', async () => {
    const held: [Command, (msg: object) => void][] = [];
    const { connect } = await setup((cmd, reply) => {
      held.push([cmd, reply]);
      if (held.length === 3)
        for (const [c, r] of held.reverse()) r({ return: { echo: c.arguments?.['n'] }, id: c.id });
    });
    const qmp = await connect();
    const answers = await Promise.all([1, 2, 3].map((i) => qmp.execute('echo', { n: i })));
    assert.deepEqual(answers, [{ echo: 1 }, { echo: 2 }, { echo: 3 }]);
  });

  test('a refused command rejects with QEMU class and desc', async () => {
    const { connect } = await setup((cmd, reply) =>
      reply({
        error: { class: 'CommandNotFound', desc: `The command ${cmd.execute} has not been found` },
        id: cmd.id,
      }),
    );
    const qmp = await connect();
    await assert.rejects(qmp.execute('nope'), (err: unknown) => {
      assert.ok(err instanceof QmpError);
      assert.deepEqual(
        [err.command, err.class, err.desc],
        ['nope', 'CommandNotFound', 'The command nope has not been found'],
      );
      assert.equal(err.message, 'QMP nope failed: CommandNotFound: The command nope has not been found');
      return true;
    });
  });

  test('events arrive as "event" and through waitForEvent', async () => {
    const { connect } = await setup((cmd, reply) => {
      reply({ event: 'STOP', data: {}, timestamp: { seconds: 1, microseconds: 2 } });
      reply({ return: {}, id: cmd.id });
    });
    const qmp = await connect();
    const seen: string[] = [];
    qmp.on('event', (e) => seen.push(e.event));
    const stopped = qmp.waitForEvent('STOP', 1000);
    await qmp.execute('stop');
    assert.deepEqual(await stopped, { event: 'STOP', data: {}, timestamp: { seconds: 1, microseconds: 2 } });
    assert.deepEqual(seen, ['STOP']);
    await assert.rejects(qmp.waitForEvent('RESUME', 50), QmpTimeoutError);
  });

  test('a command with no answer times out and the connection stays usable', async () => {
    const { connect } = await setup((cmd, reply) => {
      if (cmd.execute !== 'slow') reply({ return: 'ok', id: cmd.id });
    });
    const qmp = await connect();
    const started = Date.now();
    await assert.rejects(
      qmp.execute('slow', undefined, { timeoutMs: 100 }),
      /QMP slow got no answer within 100 ms/,
    );
    assert.ok(Date.now() - started < 1000);
    assert.equal(await qmp.execute('fast'), 'ok');
  });

  test('when QEMU goes away, pending commands reject, quit resolves, later commands reject at once', async () => {
    const { connect } = await setup((_cmd, _reply, socket) => socket.destroy());
    const qmp = await connect();
    const closed = new Promise((resolve) => qmp.once('close', () => resolve(true)));
    const [pending, quit] = [qmp.execute('query-status'), qmp.execute('quit')];
    await assert.rejects(pending, QmpClosedError);
    assert.deepEqual(await quit, {});
    assert.equal(await closed, true);
    assert.equal(qmp.closed, true);
    await assert.rejects(qmp.execute('query-status'), QmpClosedError);
  });

  test('connect gives up when the greeting never comes (another client holds the socket)', async () => {
    const { path } = await setup(() => {}, false);
    const started = Date.now();
    await assert.rejects(connectQmp(path, { connectTimeoutMs: 150 }), (err: unknown) => {
      assert.ok(err instanceof QmpTimeoutError);
      assert.equal(err.message, `no QMP greeting from ${path} within 150 ms`);
      return true;
    });
    assert.ok(Date.now() - started < 1000);
  });

  test('connect to a socket that does not exist', async () => {
    const path = join(dir, 'absent.sock');
    await assert.rejects(connectQmp(path), (err: unknown) => {
      assert.ok(err instanceof QmpClosedError);
      assert.match(
        err.message,
        /^failed connecting to QMP at .*absent\.sock: QMP connection closed: connect ENOENT/,
      );
      return true;
    });
  });

  test('close ends the connection without touching QEMU', async () => {
    const { connect } = await setup((cmd, reply) => reply({ return: {}, id: cmd.id }));
    const qmp = await connect();
    await qmp.close();
    assert.equal(qmp.closed, true);
    await qmp.close();
  });
});
