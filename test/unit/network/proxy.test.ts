/**
 * The L4 proxy over real loopback sockets, with small servers standing in for the guests' host
 * forwards: TCP round robin, half-close, health checks taking a dead backend out and bringing it
 * back, a refused forward skipped without the client noticing, UDP sessions, and a load balancer
 * port that is taken moving to a free one.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { GuestForwards, HostPort, Protocol } from '../../../src/network/forwards.js';
import type { HealthCheckSpec } from '../../../src/network/proxy/health.js';
import {
  ServiceProxy,
  type ProxyHealthEvent,
  type ProxyServiceSpec,
} from '../../../src/network/proxy/proxy.js';
import { eventually } from '../../support/wait.js';

/** Forwards that point at whatever the test registered for a uid. */
class FakeForwards implements GuestForwards {
  readonly targets = new Map<string, number>();
  forward(uid: string, protocol: Protocol, port: number): Promise<HostPort> {
    const p = this.targets.get(`${uid}/${protocol}/${port}`);
    return p === undefined
      ? Promise.reject(new Error(`no forward for ${uid}`))
      : Promise.resolve({ host: '127.0.0.1', port: p });
  }
}

/** A TCP server answering every connection with its name, then closing. */
async function nameServer(name: string): Promise<Server> {
  const s = createServer((c) => c.end(name));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}
const portOf = (s: Server): number => (s.address() as AddressInfo).port;

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port });
    let data = '';
    c.on('data', (d: Buffer) => (data += d.toString()));
    c.once('end', () => resolve(data));
    c.once('error', reject);
  });
}

const fast: HealthCheckSpec = {
  enabled: true,
  periodMs: 100,
  timeoutMs: 300,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
};

let forwards: FakeForwards;
let proxy: ServiceProxy;
let health: ProxyHealthEvent[];
let servers: Server[];

beforeEach(() => {
  forwards = new FakeForwards();
  health = [];
  proxy = new ServiceProxy(forwards, (e) => health.push(e));
  servers = [];
});
afterEach(async () => {
  await proxy.stop();
  for (const s of servers) s.close();
});

async function tcpService(names: string[], check = fast): Promise<{ port: number; spec: ProxyServiceSpec }> {
  const backends = [];
  for (const name of names) {
    const s = await nameServer(name);
    servers.push(s);
    forwards.targets.set(`${name}/tcp/80`, portOf(s));
    backends.push({ uid: name, namespace: 'default', name, port: 80 });
  }
  const spec: ProxyServiceSpec = {
    algorithm: 'round-robin',
    health: check,
    ports: [
      {
        name: '0',
        protocol: 'tcp',
        frontends: [{ kind: 'loadBalancer', address: '127.0.0.1', port: 0 }],
        backends,
      },
    ],
  };
  const out = await proxy.apply('default/web', spec);
  const port = out['0']?.[0]?.listening;
  assert.ok(port !== undefined);
  return { port, spec };
}

describe('service proxy', () => {
  test('TCP: nothing before the first health check passes, then round robin', async () => {
    const { port } = await tcpService(['a', 'b']);
    await eventually(
      () => proxy.backends('default/web', '0').every((b) => b.healthy === true),
      'both healthy',
      5000,
    );
    const seq = [];
    for (let i = 0; i < 6; i++) seq.push(await ask(port));
    assert.deepEqual(seq, ['a', 'b', 'a', 'b', 'a', 'b']);
  });

  test('a backend whose server stops is out after its check; back when it returns; events tell', async () => {
    const { port } = await tcpService(['a', 'b']);
    await eventually(
      () => proxy.backends('default/web', '0').every((b) => b.healthy === true),
      'both healthy',
      5000,
    );
    const b = servers[1];
    assert.ok(b !== undefined);
    const bPort = portOf(b);
    await new Promise<void>((r) => b.close(() => r()));
    // Until the check runs, a connection to b is refused by its (closed) forward: the proxy tries a.
    for (let i = 0; i < 4; i++) assert.equal(await ask(port), 'a');
    await eventually(
      () => proxy.backends('default/web', '0').find((x) => x.uid === 'b')?.healthy === false,
      'b out',
      5000,
    );
    assert.ok(health.some((e) => e.backend.uid === 'b' && !e.healthy));
    const again = createServer((c) => c.end('b'));
    servers.push(again);
    await new Promise<void>((r) => again.listen(bPort, '127.0.0.1', r));
    await eventually(
      () => proxy.backends('default/web', '0').find((x) => x.uid === 'b')?.healthy === true,
      'b back',
      5000,
    );
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await ask(port));
    assert.deepEqual(seen, new Set(['a', 'b']));
  });

  test('half-close: a client that shuts down its side still gets the answer', async () => {
    const echo = createServer((c) => {
      let data = '';
      c.on('data', (d: Buffer) => (data += d.toString()));
      c.on('end', () => c.end(`got ${data}`));
    });
    servers.push(echo);
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    forwards.targets.set('e/tcp/7', portOf(echo));
    const out = await proxy.apply('default/echo', {
      algorithm: 'least-connections',
      health: { ...fast, enabled: false },
      ports: [
        {
          name: 'e',
          protocol: 'tcp',
          frontends: [{ kind: 'cluster', address: '127.0.0.1', port: 0 }],
          backends: [{ uid: 'e', namespace: 'd', name: 'e', port: 7 }],
        },
      ],
    });
    const port = out['e']?.[0]?.listening ?? 0;
    await eventually(() => proxy.backends('default/echo', 'e')[0]?.healthy === true, 'echo usable', 5000);
    const answer = await new Promise<string>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      let data = '';
      c.on('connect', () => c.end('hello'));
      c.on('data', (d: Buffer) => (data += d.toString()));
      c.on('end', () => resolve(data));
      c.on('error', reject);
    });
    assert.equal(answer, 'got hello');
  });

  test('UDP: one session per client, spread over the backends; answers come back', async () => {
    const udpServers: UdpSocket[] = [];
    const backends = [];
    for (const name of ['u1', 'u2']) {
      const s = createSocket('udp4');
      s.on('message', (msg, r) => s.send(`${name}:${msg.toString()}`, r.port, r.address));
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
      udpServers.push(s);
      forwards.targets.set(`${name}/udp/53`, s.address().port);
      backends.push({ uid: name, namespace: 'd', name, port: 53 });
    }
    try {
      const out = await proxy.apply('default/dns', {
        algorithm: 'round-robin',
        health: fast,
        ports: [
          {
            name: 'dns',
            protocol: 'udp',
            frontends: [{ kind: 'loadBalancer', address: '127.0.0.1', port: 0 }],
            backends,
          },
        ],
      });
      const port = out['dns']?.[0]?.listening ?? 0;
      await eventually(
        () => proxy.backends('default/dns', 'dns').every((b) => b.healthy === true),
        'UDP backends usable',
        5000,
      );
      const udpAsk = (socket: UdpSocket, text: string): Promise<string> =>
        new Promise((resolve) => {
          socket.once('message', (m) => resolve(m.toString()));
          socket.send(text, port, '127.0.0.1');
        });
      const c1 = createSocket('udp4');
      const c2 = createSocket('udp4');
      try {
        const first = await udpAsk(c1, 'x');
        assert.equal(await udpAsk(c1, 'y'), first.replace(':x', ':y'), 'a client keeps its backend');
        const other = await udpAsk(c2, 'z');
        assert.notEqual(
          other.split(':')[0],
          first.split(':')[0],
          'the next client goes to the other backend',
        );
      } finally {
        c1.close();
        c2.close();
      }
    } finally {
      for (const s of udpServers) s.close();
    }
  });

  test('a load balancer port that is taken moves to a free one; a taken node port is an error', async () => {
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = portOf(taken);
    const out = await proxy.apply('default/x', {
      algorithm: 'round-robin',
      health: fast,
      ports: [
        {
          name: 'p',
          protocol: 'tcp',
          frontends: [
            { kind: 'loadBalancer', address: '127.0.0.1', port, anyPortIfTaken: true },
            { kind: 'node', address: '127.0.0.1', port },
          ],
          backends: [],
        },
      ],
    });
    const [lb, node] = out['p'] ?? [];
    assert.ok(lb?.listening !== undefined && lb.listening !== port);
    assert.equal(lb.error, undefined);
    assert.equal(node?.listening, undefined);
    assert.match(node?.error ?? '', /cannot listen on 127\.0\.0\.1:\d+\/TCP: EADDRINUSE/);
  });

  test('a wildcard frontend address is never listened on', async () => {
    const out = await proxy.apply('default/any', {
      algorithm: 'round-robin',
      health: fast,
      ports: ['0.0.0.0', '::', ''].map((address, i) => ({
        name: `p${i}`,
        protocol: i === 1 ? ('udp' as const) : ('tcp' as const),
        frontends: [{ kind: 'cluster' as const, address, port: 0 }],
        backends: [],
      })),
    });
    for (const [i, address] of ['0.0.0.0', '::', ''].entries()) {
      const [f] = out[`p${i}`] ?? [];
      assert.equal(f?.listening, undefined, address);
      assert.match(f?.error ?? '', /refusing to listen on .*every interface of the host/, address);
    }
  });
});
