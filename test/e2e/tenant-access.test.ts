/**
 * What the Tenant controller writes for access, with the real kubectl: Cozystack's `cozy:tenant:*`
 * RoleBindings and the egress isolation NetworkPolicy in each tenant namespace (tenant-root's
 * too), put back when deleted or changed, and in force: the tenant's own ServiceAccount (a subject
 * of its bindings, as in Cozystack) may manage VMs in its tenant and not in another.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const BINDINGS = ['cozy:tenant:admin', 'cozy:tenant:super-admin', 'cozy:tenant:use', 'cozy:tenant:view'];
const names = async (ns: string, resource: string): Promise<string[]> => {
  const r = await p.kubectl(['-n', ns, 'get', resource, '-o', 'name']);
  return r.code === 0
    ? r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.replace(/^.*\//, ''))
        .sort()
    : [];
};

describe('Tenant access objects', () => {
  test('bindings and isolation in tenant-root and a new tenant, kept current, in force', async () => {
    await eventually(
      async () => JSON.stringify(await names('tenant-root', 'rolebindings')) === JSON.stringify(BINDINGS),
      'cozy bindings in tenant-root',
    );
    assert.deepEqual(await names('tenant-root', 'networkpolicies'), ['tenant-isolation']);

    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apps.cozystack.io/v1alpha1',
        kind: 'Tenant',
        metadata: { name: 'gamma', namespace: 'tenant-root' },
        spec: {},
      }),
    );
    await eventually(
      async () => JSON.stringify(await names('tenant-gamma', 'rolebindings')) === JSON.stringify(BINDINGS),
      'cozy bindings in tenant-gamma',
    );
    const use = JSON.parse(
      await ok(['-n', 'tenant-gamma', 'get', 'rolebinding', 'cozy:tenant:use', '-o', 'json']),
    ) as {
      subjects: { kind: string; name: string }[];
      roleRef: { name: string };
    };
    assert.equal(use.roleRef.name, 'cozy:tenant:use');
    assert.ok(use.subjects.some((s) => s.kind === 'Group' && s.name === 'tenant-gamma-use'));
    assert.ok(use.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === 'tenant-gamma'));
    const policy = JSON.parse(
      await ok(['-n', 'tenant-gamma', 'get', 'networkpolicy', 'tenant-isolation', '-o', 'json']),
    ) as { spec: { policyTypes: string[] } };
    assert.deepEqual(policy.spec.policyTypes, ['Egress']);

    // Deleted or changed, they come back as they were.
    await ok(['-n', 'tenant-gamma', 'delete', 'rolebinding', 'cozy:tenant:use']);
    await ok([
      '-n',
      'tenant-gamma',
      'patch',
      'networkpolicy',
      'tenant-isolation',
      '--type',
      'merge',
      '-p',
      '{"spec":{"policyTypes":["Ingress"]}}',
    ]);
    await eventually(
      async () => (await names('tenant-gamma', 'rolebindings')).includes('cozy:tenant:use'),
      'cozy:tenant:use put back',
    );
    await eventually(async () => {
      const back = JSON.parse(
        await ok(['-n', 'tenant-gamma', 'get', 'networkpolicy', 'tenant-isolation', '-o', 'json']),
      ) as { spec: { policyTypes: string[] } };
      return JSON.stringify(back.spec.policyTypes) === '["Egress"]';
    }, 'tenant-isolation put back');

    // In force: the tenant's ServiceAccount, bound by the tenant's bindings.
    await ok(['-n', 'tenant-gamma', 'create', 'serviceaccount', 'tenant-gamma']);
    const token = (await ok(['create', 'token', 'tenant-gamma', '-n', 'tenant-gamma'])).trim();
    const canI = async (ns: string): Promise<string> =>
      (
        await p.kubectl([
          '--token',
          token,
          'auth',
          'can-i',
          'create',
          'virtualmachines.kubevirt.io',
          '-n',
          ns,
        ])
      ).stdout.trim();
    assert.equal(await canI('tenant-gamma'), 'yes');
    assert.equal(await canI('default'), 'no');
    assert.equal(await canI('tenant-root'), 'no');

    // Deleting the tenant takes its namespace, and its bindings and policy with it.
    await ok(['-n', 'tenant-root', 'delete', 'tenant', 'gamma', '--wait=false']);
    await eventually(
      async () => (await p.kubectl(['get', 'ns', 'tenant-gamma'])).code !== 0,
      'tenant-gamma deleted',
      30_000,
    );
    assert.deepEqual(await names('tenant-gamma', 'rolebindings'), []);
  });
});
