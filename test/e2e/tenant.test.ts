/**
 * Cozystack tenants with the real kubectl: tenant-root exists from the first start, a Tenant gets
 * its namespace (nested ones too) and its quota, a 4-CPU VM in a 2-CPU tenant does not start and
 * says why, and deleting a Tenant deletes its namespace and the nested tenants' namespaces.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const tenant = (name: string, namespace: string, resourceQuotas: Record<string, string>) =>
  JSON.stringify({
    apiVersion: 'apps.cozystack.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name, namespace },
    spec: { resourceQuotas },
  });
const exists = async (args: string[]): Promise<boolean> => (await p.kubectl(args)).code === 0;

describe('Tenants', () => {
  test('tenant-root is there from the first start, labelled as the root tenant', async () => {
    const ns = JSON.parse(await ok(['get', 'ns', 'tenant-root', '-o', 'json'])) as {
      metadata: { labels?: Record<string, string> };
      status?: { phase?: string };
    };
    assert.equal(ns.status?.phase, 'Active');
    assert.equal(ns.metadata.labels?.['tenant.cozystack.io/tenant-root'], '');
  });

  test('acme gets tenant-acme with its quota; dev in it gets tenant-acme-dev; a 4-CPU VM does not start; deleting acme deletes both', async () => {
    await ok(
      ['apply', '-f', '-'],
      tenant('acme', 'tenant-root', { cpu: '2', memory: '2Gi', 'services.loadbalancers': '1' }),
    );
    await eventually(() => exists(['get', 'ns', 'tenant-acme']), 'namespace tenant-acme');
    const hard = await eventually(async () => {
      const r = await p.kubectl(['-n', 'tenant-acme', 'get', 'resourcequota', 'tenant-quota', '-o', 'json']);
      return r.code === 0
        ? (JSON.parse(r.stdout) as { spec: { hard: Record<string, string> } }).spec.hard
        : undefined;
    }, 'the tenant quota');
    assert.deepEqual(hard, {
      'limits.cpu': '2',
      'requests.cpu': '200m',
      'limits.memory': '2Gi',
      'requests.memory': '2Gi',
      'services.loadbalancers': '1',
    });
    assert.match(await ok(['-n', 'tenant-acme', 'get', 'limitrange']), /tenant-range-limits/);
    await eventually(
      async () => /acme\s+True\s+tenant-acme/.test(await ok(['-n', 'tenant-root', 'get', 'tenants'])),
      'tenant acme Ready in kubectl get tenants',
    );

    await ok(['apply', '-f', '-'], tenant('dev', 'tenant-acme', { cpu: '1' }));
    await eventually(() => exists(['get', 'ns', 'tenant-acme-dev']), 'namespace tenant-acme-dev');
    const labels = JSON.parse(await ok(['get', 'ns', 'tenant-acme-dev', '-o', 'json'])) as {
      metadata: { labels: Record<string, string> };
    };
    assert.equal(labels.metadata.labels['tenant.cozystack.io/tenant-acme'], '');
    assert.equal(labels.metadata.labels['tenant.cozystack.io/tenant-root'], '');

    await ok(
      ['-n', 'tenant-acme', 'apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'four' },
        spec: {
          runStrategy: 'Always',
          template: {
            spec: {
              domain: {
                cpu: { cores: 4 },
                memory: { guest: '256Mi' },
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
        const vm = JSON.parse(await ok(['-n', 'tenant-acme', 'get', 'vm', 'four', '-o', 'json'])) as {
          status?: { conditions?: { type: string; reason?: string; message?: string }[] };
        };
        return vm.status?.conditions?.find((c) => c.reason === 'FailedCreate');
      },
      'FailedCreate on VM four',
      20_000,
    );
    assert.match(
      failure.message ?? '',
      /exceeded quota: tenant-quota, requested: limits.cpu=4,requests.cpu=400m, used: limits.cpu=0,requests.cpu=0, limited: limits.cpu=2,requests.cpu=200m/,
    );

    // One vCPU fits: the tenant's LimitRange and quota let its VMI through (judged, not run).
    const fits = await ok(
      ['-n', 'tenant-acme', 'create', '--dry-run=server', '-o', 'name', '-f', '-'],
      JSON.stringify({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name: 'one' },
        spec: {
          domain: {
            cpu: { cores: 1 },
            memory: { guest: '256Mi' },
            devices: { disks: [{ name: 'root', disk: {} }] },
          },
          volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
        },
      }),
    );
    assert.match(fits, /virtualmachineinstance.kubevirt.io\/one/);

    await ok(['-n', 'tenant-root', 'delete', 'tenant', 'acme', '--wait=false']);
    await eventually(
      async () => !(await exists(['get', 'ns', 'tenant-acme-dev'])),
      'tenant-acme-dev deleted',
      30_000,
    );
    await eventually(
      async () => !(await exists(['get', 'ns', 'tenant-acme'])),
      'tenant-acme deleted',
      30_000,
    );
    await eventually(
      async () => !(await exists(['-n', 'tenant-root', 'get', 'tenant', 'acme'])),
      'tenant acme gone',
      30_000,
    );
  });

  test('hikube tenant create|list|delete; a second LoadBalancer over the tenant quota is refused', async () => {
    const made = await hikubeOk(p, [
      'tenant',
      'create',
      'shop',
      '--cpu',
      '2',
      '--memory',
      '1Gi',
      '--quota',
      'services.loadbalancers=1',
      '--wait',
    ]);
    assert.match(made, /tenant.apps.cozystack.io\/shop created \(namespace tenant-shop\)/);
    assert.match(made, /tenant shop is ready/);
    await hikubeOk(p, ['tenant', 'create', 'team', '--parent', 'shop', '--wait']);
    const table = await hikubeOk(p, ['tenant', 'list']);
    assert.match(table, /^NAMESPACE\s+NAME\s+READY\s+TENANT NAMESPACE\s+AGE/m);
    assert.match(table, /^tenant-root\s+shop\s+True\s+tenant-shop\s/m);
    assert.match(table, /^tenant-shop\s+team\s+True\s+tenant-shop-team\s/m);
    const lb = (name: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: name } },
      });
    await ok(['-n', 'tenant-shop', 'apply', '-f', '-'], lb('one'));
    const second = await p.kubectl(['-n', 'tenant-shop', 'apply', '-f', '-'], lb('two'));
    assert.notEqual(second.code, 0);
    assert.match(
      second.stderr,
      /exceeded quota: tenant-quota, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1/,
    );
    // A changed resourceQuotas changes the quota; a removed one goes from it.
    await ok([
      '-n',
      'tenant-root',
      'patch',
      'tenant',
      'shop',
      '--type',
      'merge',
      '-p',
      '{"spec":{"resourceQuotas":{"cpu":"4","memory":null}}}',
    ]);
    await eventually(async () => {
      const q = JSON.parse(await ok(['-n', 'tenant-shop', 'get', 'quota', 'tenant-quota', '-o', 'json'])) as {
        spec: { hard: Record<string, string> };
      };
      return (
        JSON.stringify(q.spec.hard) ===
        JSON.stringify({ 'limits.cpu': '4', 'requests.cpu': '400m', 'services.loadbalancers': '1' })
      );
    }, 'tenant-quota following the patched tenant');
    const bad = await p.hikube(['tenant', 'create', 'Bad-Name']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout + bad.stderr, /metadata.name: Invalid value: "Bad-Name"/);
    await hikubeOk(p, ['tenant', 'delete', 'shop']);
    await eventually(
      async () => !(await exists(['get', 'ns', 'tenant-shop-team'])),
      'tenant-shop-team deleted',
      30_000,
    );
    await eventually(
      async () => !(await exists(['get', 'ns', 'tenant-shop'])),
      'tenant-shop deleted',
      30_000,
    );
  });
});
