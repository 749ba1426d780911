/**
 * Services in the kernel (src/network/services): the rendered nftables table applied by the real
 * adapter in a fake node namespace, with fake pods routed from it as the pod network does. Checks
 * what a client sees: a ClusterIP spreads over its backends from a pod (client address kept) and
 * from the node itself, a loopback node port reaches a pod, UDP works, ClientIP affinity sticks, a
 * pod reaching its own Service gets its answer (hairpin), a Service without backends refuses at
 * once, a backend taken out stops getting traffic (UDP too, for a client that keeps its port: its
 * conntrack entries are deleted) — with br_netfilter's switch on and off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linuxServiceTable, type ServiceTable } from '../../src/network/services/nft.js';
import type { KernelService } from '../../src/network/services/ruleset.js';
import { FakeNode, type FakePod } from '../support/fakepods.js';

const GW = '10.244.0.1';
const TABLE = 'hktest_svc';

describe('Services in nftables, between fake pods', () => {
  let node: FakeNode;
  let a: FakePod;
  let b: FakePod;
  let c: FakePod;
  let table: ServiceTable;

  const services = (backends: FakePod[], dns: FakePod[] = [a]): KernelService[] => [
    {
      key: 'default/dns',
      ports: [
        {
          protocol: 'udp',
          frontends: [{ address: '10.96.0.24', port: 53 }],
          backends: dns.map((p) => ({ ip: p.ip, port: 8080 })),
        },
      ],
    },
    {
      key: 'default/web',
      ports: [
        {
          protocol: 'tcp',
          frontends: [
            { address: '10.96.0.20', port: 80 },
            { address: '127.0.0.1', port: 30080 },
          ],
          backends: backends.map((p) => ({ ip: p.ip, port: 8080 })),
        },
        {
          protocol: 'udp',
          frontends: [{ address: '10.96.0.20', port: 53 }],
          backends: backends.map((p) => ({ ip: p.ip, port: 8080 })),
        },
      ],
    },
    {
      key: 'default/sticky',
      affinitySeconds: 60,
      ports: [
        {
          protocol: 'tcp',
          frontends: [{ address: '10.96.0.21', port: 80 }],
          backends: [a, b].map((p) => ({ ip: p.ip, port: 8080 })),
        },
      ],
    },
    {
      key: 'default/self',
      ports: [
        {
          protocol: 'tcp',
          frontends: [{ address: '10.96.0.22', port: 80 }],
          backends: [{ ip: a.ip, port: 8080 }],
        },
      ],
    },
    {
      key: 'default/empty',
      ports: [{ protocol: 'tcp', frontends: [{ address: '10.96.0.23', port: 80 }], backends: [] }],
    },
  ];

  before(async () => {
    node = await FakeNode.create(GW);
    a = await node.addPod('a', '10.244.0.11');
    b = await node.addPod('b', '10.244.0.12');
    c = await node.addPod('c', '10.244.0.13');
    await node.serve(a, 8080);
    await node.serve(b, 8080);
    table = linuxServiceTable({ netns: node.netns, serviceCidr: '10.96.0.0/16' });
    await table.apply({ table: TABLE, gateway: GW, services: services([a, b]) });
  });
  after(() => node.destroy());

  for (const bridgeNf of ['1', '0']) {
    test(`a pod reaches a ClusterIP, spread over both backends, its address kept (bridge-nf-call-iptables=${bridgeNf})`, async () => {
      await node.sysctl('net.bridge.bridge-nf-call-iptables', bridgeNf);
      const answers = await c.ask(node, 'tcp', '10.96.0.20', 80, 24);
      assert.deepEqual(new Set(answers), new Set([`a ${c.ip}`, `b ${c.ip}`]), answers.join(', '));
      const udp = await c.ask(node, 'udp', '10.96.0.20', 53, 12);
      assert.ok(
        udp.every((x) => x === `a ${c.ip}` || x === `b ${c.ip}`),
        udp.join(', '),
      );
    });
  }

  test('the node itself reaches the ClusterIP and the loopback node port (from the gateway address)', async () => {
    const cluster = await node.askFromNode('tcp', '10.96.0.20', 80, 8);
    assert.ok(
      cluster.every((x) => x === `a ${GW}` || x === `b ${GW}`),
      cluster.join(', '),
    );
    const nodePort = await node.askFromNode('tcp', '127.0.0.1', 30080, 8);
    assert.ok(
      nodePort.every((x) => x === `a ${GW}` || x === `b ${GW}`),
      nodePort.join(', '),
    );
  });

  test('sessionAffinity ClientIP: one client keeps its backend', async () => {
    const answers = await c.ask(node, 'tcp', '10.96.0.21', 80, 10);
    assert.equal(new Set(answers).size, 1, answers.join(', '));
    assert.match(answers[0] ?? '', /^[ab] /);
  });

  test('hairpin: a pod reaching a Service backed by itself gets its own answer', async () => {
    assert.deepEqual(await a.ask(node, 'tcp', '10.96.0.22', 80, 2), [`a ${GW}`, `a ${GW}`]);
  });

  test('a Service without ready backends refuses at once, from a pod and from the node', async () => {
    assert.deepEqual(await c.ask(node, 'tcp', '10.96.0.23', 80), ['error ECONNREFUSED']);
    assert.deepEqual(await node.askFromNode('tcp', '10.96.0.23', 80), ['error ECONNREFUSED']);
  });

  test('a pod cannot send to the node’s loopback (route_localnet is on for node ports)', async () => {
    // A pod that routes 127.0.0.1 at the node: the table drops it before it can reach a local port.
    await node.podRoute(c, '127.0.0.2/32');
    const answers = await c.ask(node, 'tcp', '127.0.0.2', 30080);
    assert.deepEqual(answers, ['timeout']);
  });

  test('the backend list changes live: one taken out gets no more traffic', async () => {
    await table.apply({ table: TABLE, gateway: GW, services: services([b]) });
    const answers = await c.ask(node, 'tcp', '10.96.0.20', 80, 10);
    assert.deepEqual(new Set(answers), new Set([`b ${c.ip}`]));
    await table.apply({ table: TABLE, gateway: GW, services: services([a, b]) });
  });

  test('UDP: a backend that leaves loses a long-lived client’s flow (conntrack entries deleted)', async () => {
    // One source port throughout: without the flush, conntrack keeps sending this client to a.
    const port = 40000 + (process.pid % 20000);
    assert.deepEqual(await c.ask(node, 'udp', '10.96.0.24', 53, 3, port), Array(3).fill(`a ${c.ip}`));
    assert.match(
      await node.exec('conntrack', ['-L', '-p', 'udp', '--orig-dst', '10.96.0.24']),
      /10\.96\.0\.24/,
    );
    await table.apply({ table: TABLE, gateway: GW, services: services([a, b], [b]) });
    assert.deepEqual(await c.ask(node, 'udp', '10.96.0.24', 53, 3, port), Array(3).fill(`b ${c.ip}`));
    await table.apply({ table: TABLE, gateway: GW, services: services([a, b]) });
  });
});

describe('the Service table before the pod network has its gateway', () => {
  test('the table is applied anyway, and the route to the service CIDR follows once it can', async () => {
    const node = await FakeNode.create('10.244.0.1');
    try {
      const logged: string[] = [];
      const table = linuxServiceTable({
        netns: node.netns,
        serviceCidr: '10.96.0.0/16',
        log: (m) => logged.push(m),
      });
      const ruleset = { table: TABLE, gateway: '10.99.0.1', services: [] };
      await table.apply(ruleset);
      assert.match(await node.exec('nft', ['list', 'table', 'ip', TABLE]), /chain services/);
      assert.match(logged.join('\n'), /no route for 10\.96\.0\.0\/16 yet/);
      await node.exec('ip', ['addr', 'add', '10.99.0.1/32', 'dev', 'lo']);
      await table.apply({ ...ruleset, services: [] });
      assert.match(await node.exec('ip', ['route', 'show', '10.96.0.0/16']), /dev lo .*src 10\.99\.0\.1/);
    } finally {
      await node.destroy();
    }
  });
});
