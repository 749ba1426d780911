/**
 * Pure pieces of load balancing: backend choice (round robin, least connections, client affinity),
 * health thresholds, the Service annotations that tune them, address and port allocation, the pool
 * option, and the `info usernet` table host forwards are read from.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Service } from '../../../src/api/core/service.js';
import {
  allocateClusterIp,
  allocateNodePort,
  pickLoadBalancerAddress,
  usedLoadBalancerPorts,
} from '../../../src/controllers/service/allocate.js';
import { Annotations, loadBalancing } from '../../../src/controllers/service/annotations.js';
import { parseUsernet } from '../../../src/network/forwards.js';
import { resolveNetworkOptions } from '../../../src/network/options.js';
import { Balancer } from '../../../src/network/proxy/balancer.js';
import { HealthState } from '../../../src/network/proxy/health.js';

describe('balancer', () => {
  const backends = (...active: number[]) => active.map((a, i) => ({ id: `b${i}`, active: a }));

  test('round robin takes each backend in turn', () => {
    const b = new Balancer('round-robin', undefined);
    const list = backends(0, 0, 0);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => b.pick(list)?.id),
      ['b0', 'b1', 'b2', 'b0', 'b1', 'b2'],
    );
  });

  test('least connections takes the least busy; ties rotate', () => {
    const b = new Balancer('least-connections', undefined);
    assert.equal(b.pick(backends(5, 1, 3))?.id, 'b1');
    const ties = backends(2, 2);
    assert.notEqual(b.pick(ties)?.id, b.pick(ties)?.id);
  });

  test('client affinity keeps a client on its backend until it expires or leaves', () => {
    let now = 0;
    const b = new Balancer('round-robin', 1000, () => now);
    const list = backends(0, 0);
    const first = b.pick(list, '10.0.0.1')?.id;
    assert.equal(b.pick(list, '10.0.0.1')?.id, first);
    assert.equal(b.pick(list, '10.0.0.1')?.id, first);
    assert.equal(
      b.pick(
        list.filter((x) => x.id !== first),
        '10.0.0.1',
      )?.id !== first,
      true,
      'moves when its backend is gone',
    );
    now = 5000;
    assert.ok(b.pick(list, '10.0.0.2') !== undefined);
  });

  test('no candidates, no backend', () => {
    assert.equal(new Balancer('round-robin', undefined).pick([]), undefined);
  });
});

describe('health state', () => {
  test('unknown until the first check; out after the unhealthy threshold; back after the healthy one', () => {
    const h = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 2 });
    assert.equal(h.healthy, undefined);
    assert.equal(h.observe(undefined), true);
    assert.equal(h.healthy, true, 'a new backend is in after its first pass');
    assert.equal(h.observe('refused'), false, 'one failure is not enough');
    assert.equal(h.observe('refused'), true);
    assert.equal(h.healthy, false);
    assert.equal(h.reason, 'refused');
    assert.equal(h.observe(undefined), false);
    assert.equal(h.observe(undefined), true);
    assert.equal(h.healthy, true);
  });

  test('a first failure keeps a new backend out; down() takes a healthy one out at once', () => {
    const h = new HealthState({ healthyThreshold: 1, unhealthyThreshold: 3 });
    h.observe('closed');
    assert.equal(h.healthy, false);
    h.observe(undefined);
    assert.equal(h.healthy, true);
    assert.equal(h.down('gone'), true);
    assert.equal(h.healthy, false);
  });
});

describe('service annotations', () => {
  const svc = (annotations: Record<string, string>): Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', annotations },
  });

  test('defaults: round robin, checks every 2 s with a 1 s timeout, out after 2 failures', () => {
    assert.deepEqual(loadBalancing(svc({})), {
      algorithm: 'round-robin',
      health: { enabled: true, periodMs: 2000, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 2 },
      problems: [],
    });
  });

  test('every setting from annotations', () => {
    const lb = loadBalancing(
      svc({
        [Annotations.algorithm]: 'least-connections',
        [Annotations.period]: '0.5',
        [Annotations.timeout]: '0.2',
        [Annotations.healthy]: '3',
        [Annotations.unhealthy]: '1',
        [Annotations.healthCheckPort]: '8081',
      }),
    );
    assert.deepEqual(lb, {
      algorithm: 'least-connections',
      health: {
        enabled: true,
        periodMs: 500,
        timeoutMs: 200,
        healthyThreshold: 3,
        unhealthyThreshold: 1,
        port: 8081,
      },
      problems: [],
    });
    assert.equal(loadBalancing(svc({ [Annotations.healthCheck]: 'false' })).health.enabled, false);
  });

  test('bad values are reported and replaced by their defaults', () => {
    const lb = loadBalancing(
      svc({ [Annotations.algorithm]: 'random', [Annotations.period]: 'soon', [Annotations.unhealthy]: '0' }),
    );
    assert.equal(lb.algorithm, 'round-robin');
    assert.equal(lb.health.periodMs, 2000);
    assert.equal(lb.health.unhealthyThreshold, 2);
    assert.equal(lb.problems.length, 3);
    assert.match(
      lb.problems.join('\n'),
      /lb\.hikube\.io\/algorithm: "random" is not one of round-robin, least-connections/,
    );
  });
});

describe('allocation', () => {
  test('cluster IPs: deterministic per uid, never a taken one', () => {
    const range = { first: 0x7f100001, last: 0x7f100003 };
    const a = allocateClusterIp('uid-1', range, new Set());
    assert.equal(allocateClusterIp('uid-1', range, new Set()), a);
    const all = new Set<string>();
    for (let i = 0; i < 3; i++) all.add(allocateClusterIp(`u${i}`, range, all));
    assert.deepEqual([...all].sort(), ['127.16.0.1', '127.16.0.2', '127.16.0.3']);
    assert.throws(() => allocateClusterIp('u9', range, all), /range is full/);
  });

  test('node ports stay in 30000-32767 and skip taken ones', () => {
    const first = allocateNodePort('uid', 0, new Set());
    assert.ok(first >= 30000 && first <= 32767);
    assert.notEqual(allocateNodePort('uid', 0, new Set([first])), first);
  });

  test('load balancer addresses: requested, kept, else the first pool address with the ports free', () => {
    const lb = (uid: string, port: number, ip?: string, requested?: string): Service => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: uid, uid },
      spec: {
        type: 'LoadBalancer',
        ports: [{ port, protocol: 'TCP' }],
        ...(requested !== undefined ? { loadBalancerIP: requested } : {}),
      },
      ...(ip !== undefined ? { status: { loadBalancer: { ingress: [{ ip }] } } } : {}),
    });
    const pool = ['127.0.0.1', '127.0.100.1'];
    const others = [lb('a', 80, '127.0.0.1')];
    const used = usedLoadBalancerPorts(others, 'b');
    assert.equal(
      pickLoadBalancerAddress(lb('b', 80), pool, used),
      '127.0.100.1',
      'port 80 is taken on the first address',
    );
    assert.equal(pickLoadBalancerAddress(lb('b', 443), pool, used), '127.0.0.1');
    assert.equal(
      pickLoadBalancerAddress(lb('b', 80, '127.0.0.1'), pool, used),
      '127.0.0.1',
      'keeps its address',
    );
    assert.equal(pickLoadBalancerAddress(lb('b', 80, undefined, '127.0.100.1'), pool, used), '127.0.100.1');
    assert.equal(
      pickLoadBalancerAddress(lb('b', 80, undefined, '10.1.1.1'), pool, used),
      undefined,
      'not in the pool',
    );
    assert.equal(
      pickLoadBalancerAddress(lb('c', 80), ['127.0.0.1'], used),
      '127.0.0.1',
      'shares the only address',
    );
  });

  test('network options: pool from CIDRs, service range, defaults', () => {
    const o = resolveNetworkOptions({ loadBalancerPool: ['127.0.50.0/30', '127.0.0.1'] }, {});
    assert.deepEqual(o.loadBalancerPool, ['127.0.50.1', '127.0.50.2', '127.0.0.1']);
    assert.deepEqual(o.serviceRange, { first: 0x7f100001, last: 0x7f10fffe });
    assert.equal(o.outbound, true);
    assert.deepEqual(
      resolveNetworkOptions({}, { HIKUBE_LB_POOL: '127.0.9.9', HIKUBE_GUEST_OUTBOUND: '0' }).loadBalancerPool,
      ['127.0.9.9'],
    );
    assert.equal(resolveNetworkOptions({}, { HIKUBE_GUEST_OUTBOUND: '0' }).outbound, false);
    assert.throws(
      () => resolveNetworkOptions({ loadBalancerPool: ['lb.example'] }, {}),
      /not an IPv4 address/,
    );
    assert.throws(
      () => resolveNetworkOptions({ loadBalancerPool: ['127.0.0.1', '0.0.0.0'] }, {}),
      /0\.0\.0\.0 would listen on every interface/,
    );
    assert.throws(
      () => resolveNetworkOptions({ nodeAddress: '0.0.0.0' }, {}),
      /0\.0\.0\.0 would listen on every interface/,
    );
  });
});

test('info usernet: TCP and UDP host forwards', () => {
  const table = [
    'Hub -1 (netdev-default):',
    '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
    '  TCP[HOST_FORWARD]  22       127.0.0.1 41649       10.0.2.15  8080     0     0',
    '  UDP[HOST_FORWARD]  21       127.0.0.1 54017       10.0.2.15  9001     0     0',
    '  TCP[ESTABLISHED]   25       127.0.0.1 41650       10.0.2.15  8080     0     0',
  ].join('\n');
  assert.deepEqual(parseUsernet(table), [
    { protocol: 'tcp', host: '127.0.0.1', hostPort: 41649, guestPort: 8080 },
    { protocol: 'udp', host: '127.0.0.1', hostPort: 54017, guestPort: 9001 },
  ]);
});
