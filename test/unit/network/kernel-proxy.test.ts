/**
 * KernelServiceProxy's logic with a recording table (the real one is exercised between fake pods
 * in test/e2e/service-kernel*.test.ts): a backend enters the table once its pod IP is known and
 * its check passes, the table is re-applied only when its content changes, the node's fixed
 * entries (cluster DNS) are always there, affinity becomes seconds, and stop removes the table.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ForwardError, type GuestForwards } from '../../../src/network/forwards.js';
import { KernelServiceProxy } from '../../../src/network/services/kernel.js';
import type { ServiceTable } from '../../../src/network/services/nft.js';
import type { ServiceRuleset } from '../../../src/network/services/ruleset.js';
import type { ProxyServiceSpec } from '../../../src/network/proxy/proxy.js';
import { clusterDnsEntry } from '../../../src/network/dns/server.js';
import { eventually } from '../../support/wait.js';

const applied: ServiceRuleset[] = [];
const removed: string[] = [];
const table: ServiceTable = {
  apply: (r) => {
    applied.push(structuredClone(r));
    return Promise.resolve();
  },
  remove: (t) => {
    removed.push(t);
    return Promise.resolve();
  },
};
const podIps = new Map<string, string>();
const forwards: GuestForwards = {
  forward: (uid, _p, port) => {
    const ip = podIps.get(uid);
    return ip === undefined
      ? Promise.reject(new ForwardError('no pod IP'))
      : Promise.resolve({ host: ip, port });
  },
};
const spec = (uids: string[], affinityMs?: number): ProxyServiceSpec => ({
  algorithm: 'round-robin',
  health: { enabled: false, periodMs: 20, timeoutMs: 10, healthyThreshold: 1, unhealthyThreshold: 1 },
  ...(affinityMs !== undefined ? { affinityMs } : {}),
  ports: [
    {
      name: 'http',
      protocol: 'tcp',
      frontends: [{ kind: 'cluster', address: '10.96.1.1', port: 80 }],
      backends: uids.map((uid) => ({ uid, namespace: 'ns', name: uid, port: 8080 })),
    },
  ],
});

let proxy: KernelServiceProxy;
afterEach(async () => {
  await proxy.stop();
  applied.length = 0;
  removed.length = 0;
  podIps.clear();
});

const last = (): ServiceRuleset | undefined => applied.at(-1);
const backendsOf = (r: ServiceRuleset | undefined): string[] =>
  r?.services.find((s) => s.key === 'ns/web')?.ports[0]?.backends.map((b) => `${b.ip}:${b.port}`) ?? [];

describe('kernel service proxy', () => {
  test('backends join once their pod IP is known; the table is applied only on change', async () => {
    proxy = new KernelServiceProxy({
      table,
      tableName: 'hk_svc',
      gateway: '10.244.0.1',
      forwards,
      resyncMs: 10,
      fixed: [clusterDnsEntry('10.96.0.10', '10.244.0.1')],
    });
    podIps.set('a', '10.244.0.5');
    const frontends = await proxy.apply('ns/web', spec(['a', 'b'], 90_000));
    assert.deepEqual(frontends['http']?.[0]?.listening, 80);
    await eventually(() => backendsOf(last()).length === 1, 'a to join');
    assert.deepEqual(backendsOf(last()), ['10.244.0.5:8080']);
    assert.equal(last()?.services.find((s) => s.key === 'ns/web')?.affinitySeconds, 90);
    assert.deepEqual(last()?.services[0], clusterDnsEntry('10.96.0.10', '10.244.0.1'));
    podIps.set('b', '10.244.0.6');
    await eventually(() => backendsOf(last()).length === 2, 'b to join');
    const count = applied.length;
    await new Promise((r) => setTimeout(r, 100)); // ~10 resyncs with nothing new
    assert.equal(applied.length, count, 'no re-apply without a change');
    await proxy.apply('ns/web', spec(['b']));
    assert.deepEqual(backendsOf(last()), ['10.244.0.6:8080']);
    await proxy.remove('ns/web');
    assert.equal(last()?.services.length, 1, 'only cluster DNS is left');
    await proxy.stop();
    assert.deepEqual(removed, ['hk_svc']);
  });

  test('a failing table is reported on the frontends, and retried by the next sync', async () => {
    let fail = true;
    const flaky: ServiceTable = {
      apply: (r) => (fail ? Promise.reject(new Error('nft: no such table')) : table.apply(r)),
      remove: (t) => table.remove(t),
    };
    proxy = new KernelServiceProxy({
      table: flaky,
      tableName: 'hk_svc',
      gateway: '10.244.0.1',
      forwards,
      resyncMs: 10,
    });
    const out = await proxy.apply('ns/web', spec([]));
    assert.equal(out['http']?.[0]?.error, 'nft: no such table');
    fail = false;
    await eventually(() => applied.length > 0, 'the table to be applied once nft works');
  });
});

describe('kernel service proxy: the host’s own frontends', () => {
  test('a taken load balancer port moves to a free one; a taken node port is refused and left out', async () => {
    const { createServer } = await import('node:net');
    const other = createServer();
    const taken = await new Promise<number>((r) =>
      other.listen(0, '127.0.0.1', () => r((other.address() as { port: number }).port)),
    );
    try {
      proxy = new KernelServiceProxy({
        table,
        tableName: 'hk_svc',
        gateway: '10.244.0.1',
        forwards,
        resyncMs: 10,
      });
      const out = await proxy.apply('ns/web', {
        ...spec([]),
        ports: [
          {
            name: 'http',
            protocol: 'tcp',
            frontends: [
              { kind: 'cluster', address: '10.96.1.1', port: taken },
              { kind: 'node', address: '127.0.0.1', port: taken },
              { kind: 'loadBalancer', address: '127.0.0.1', port: taken, anyPortIfTaken: true },
            ],
            backends: [],
          },
        ],
      });
      const [cluster, node, lb] = out['http'] ?? [];
      assert.equal(cluster?.listening, taken);
      assert.match(
        node?.error ?? '',
        new RegExp(`127\\.0\\.0\\.1:${taken}/TCP is already in use on this host`),
      );
      assert.ok(lb?.listening !== undefined && lb.listening !== taken, 'moved to a free port');
      const frontends = last()?.services.find((s) => s.key === 'ns/web')?.ports[0]?.frontends;
      assert.deepEqual(frontends, [
        { address: '10.96.1.1', port: taken },
        { address: '127.0.0.1', port: lb.listening },
      ]);
      await proxy.remove('ns/web');
      // Released: the moved port can be listened on again.
      const again = createServer();
      await new Promise<void>((r, j) => again.once('error', j).listen(lb.listening, '127.0.0.1', () => r()));
      await new Promise((r) => again.close(r));
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
