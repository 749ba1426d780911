/**
 * ResourceQuota and LimitRange with the real kubectl against a real server: a create over a count
 * is refused with kube-apiserver's 403, `status.used` follows, racing creates cannot both take the
 * last unit, and a 4-CPU VM in a 2-CPU namespace does not start and says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
  await kubectlOk(p, ['create', 'namespace', 'quota-e2e']);
});
after(async () => {
  await p.cleanup();
});

const ns = ['-n', 'quota-e2e'];
const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, [...ns, ...args], input);
const json = async <T = KubeObject>(args: string[]): Promise<T> =>
  JSON.parse(await ok([...args, '-o', 'json'])) as T;

const yaml = (o: object): string => JSON.stringify(o);

describe('ResourceQuota with kubectl', () => {
  test('a second LoadBalancer is refused with 403 "exceeded quota", and status.used follows', async () => {
    await ok(
      ['apply', '-f', '-'],
      yaml({
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'lbs' },
        spec: { hard: { 'services.loadbalancers': '1', services: '3' } },
      }),
    );
    const svc = (name: string) =>
      yaml({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: name } },
      });
    await ok(['apply', '-f', '-'], svc('web'));
    const second = await p.kubectl([...ns, 'apply', '-f', '-'], svc('web2'));
    assert.notEqual(second.code, 0);
    assert.match(
      second.stderr,
      /services "web2" is forbidden: exceeded quota: lbs, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1/,
    );
    const used = await eventually(async () => {
      const q = await json<{ status?: { used?: Record<string, string> } }>(['get', 'resourcequota', 'lbs']);
      return q.status?.used?.['services'] === '1' ? q.status.used : undefined;
    }, 'status.used of quota lbs');
    assert.deepEqual(used, { services: '1', 'services.loadbalancers': '1' });
    const table = await ok(['get', 'quota']);
    assert.match(table, /^NAME\s+AGE\s+REQUEST\s+LIMIT/);
    assert.match(table, /lbs\s+\S+\s+services: 1\/3, services.loadbalancers: 1\/1/);
    const described = await ok(['describe', 'quota', 'lbs']);
    assert.match(described, /services\.loadbalancers\s+1\s+1/);
    assert.match(described, /services\s+1\s+3/);
    assert.match(
      await ok(['create', 'quota', 'made-by-kubectl', '--hard=count/secrets=5,requests.storage=1Gi']),
      /resourcequota\/made-by-kubectl created/,
    );
    await ok(['delete', 'quota', 'made-by-kubectl']);
    await ok(['delete', 'service', 'web']);
    await eventually(async () => {
      const q = await json<{ status?: { used?: Record<string, string> } }>(['get', 'resourcequota', 'lbs']);
      return q.status?.used?.['services.loadbalancers'] === '0';
    }, 'status.used back to 0 after the delete');
  });

  test('two creates racing for the last unit: exactly one passes', async () => {
    await ok(
      ['apply', '-f', '-'],
      yaml({
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'cms' },
        spec: { hard: { configmaps: '1' } },
      }),
    );
    const results = await Promise.all(
      ['race-a', 'race-b', 'race-c'].map((name) =>
        p.kubectl([...ns, 'create', 'configmap', name, '--from-literal=k=v']),
      ),
    );
    assert.equal(results.filter((r) => r.code === 0).length, 1, results.map((r) => r.stderr).join('\n'));
    for (const r of results.filter((x) => x.code !== 0))
      assert.match(r.stderr, /exceeded quota: cms, requested: configmaps=1/);
  });

  test('a 4-CPU VM in a 2-CPU namespace does not start: FailedCreate and an event naming the quota', async () => {
    await ok(
      ['apply', '-f', '-'],
      yaml({
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'compute' },
        spec: { hard: { 'limits.cpu': '2', 'requests.cpu': '200m' } },
      }),
    );
    await ok(
      ['apply', '-f', '-'],
      yaml({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'big' },
        spec: {
          runStrategy: 'Always',
          template: {
            spec: {
              domain: {
                cpu: { cores: 4 },
                memory: { guest: '128Mi' },
                devices: { disks: [{ name: 'root', disk: {} }] },
              },
              volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
            },
          },
        },
      }),
    );
    const failure = await eventually(
      async () => {
        const vm = await json<{
          status?: { conditions?: { type: string; reason?: string; message?: string }[] };
        }>(['get', 'vm', 'big']);
        return vm.status?.conditions?.find((c) => c.type === 'Failure' && c.reason === 'FailedCreate');
      },
      'a FailedCreate condition on VM big',
      20_000,
    );
    assert.match(
      failure.message ?? '',
      /exceeded quota: compute, requested: limits.cpu=4,requests.cpu=400m, used: limits.cpu=0,requests.cpu=0, limited: limits.cpu=2,requests.cpu=200m/,
    );
    const events = await eventually(async () => {
      const out = await ok(['get', 'events', '--field-selector', 'involvedObject.name=big', '-o', 'json']);
      const items = (JSON.parse(out) as { items: { reason?: string; message?: string }[] }).items;
      return items.find(
        (e) => e.reason === 'FailedCreate' && /exceeded quota: compute/.test(e.message ?? ''),
      );
    }, 'a FailedCreate event naming quota compute');
    assert.ok(events);
    const vmi = await p.kubectl([...ns, 'get', 'vmi', 'big']);
    assert.notEqual(vmi.code, 0, 'no VMI may exist for a VM over its quota');
  });
});
