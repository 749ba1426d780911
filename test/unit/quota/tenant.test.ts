import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { tenantKind, tenantLineage, tenantNamespace } from '../../../src/api/cozystack/tenant.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import {
  tenantNamespaceLabels,
  tenantQuotaHard,
  tenantRoleBindings,
} from '../../../src/controllers/tenant/compile.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

describe('Tenant naming, as Cozystack names tenants', () => {
  test('acme in tenant-root is tenant-acme; dev in tenant-acme is tenant-acme-dev', () => {
    assert.equal(tenantNamespace('tenant-root', 'acme'), 'tenant-acme');
    assert.equal(tenantNamespace('tenant-acme', 'dev'), 'tenant-acme-dev');
    assert.deepEqual(tenantLineage('tenant-acme-dev'), ['tenant-root', 'tenant-acme', 'tenant-acme-dev']);
    assert.deepEqual(tenantNamespaceLabels('tenant-acme-dev'), {
      'tenant.cozystack.io/tenant-root': '',
      'tenant.cozystack.io/tenant-acme': '',
      'tenant.cozystack.io/tenant-acme-dev': '',
      'alpha.kubevirt.io/auto-memory-limits-ratio': '1.0',
    });
  });

  test('resourceQuotas flatten as cozy-lib does: cpu N is limits.cpu N and requests.cpu N / ratio', () => {
    const table: [Record<string, string | number>, number, Record<string, string>][] = [
      [{ cpu: 2 }, 10, { 'limits.cpu': '2', 'requests.cpu': '200m' }],
      [{ cpu: '3' }, 4, { 'limits.cpu': '3', 'requests.cpu': '750m' }],
      [{ memory: '4Gi' }, 10, { 'limits.memory': '4Gi', 'requests.memory': '4Gi' }],
      [{ storage: '100Gi' }, 10, { 'requests.storage': '100Gi' }],
      [{ 'services.loadbalancers': 1, pods: 5 }, 10, { 'services.loadbalancers': '1', pods: '5' }],
      [{ 'nvidia.com/gpu': 1 }, 10, { 'requests.nvidia.com/gpu': '1', 'limits.nvidia.com/gpu': '1' }],
      [{ 'count/virtualmachines.kubevirt.io': 3 }, 10, { 'count/virtualmachines.kubevirt.io': '3' }],
    ];
    for (const [input, ratio, want] of table)
      assert.deepEqual(tenantQuotaHard(input, ratio), want, JSON.stringify(input));
  });

  test('role bindings a tenant should have: cozy:tenant:<level> to its and its ancestors’ groups at or above it', () => {
    const bindings = tenantRoleBindings('tenant-acme');
    assert.deepEqual(
      bindings.map((b) => b.metadata.name),
      ['cozy:tenant:view', 'cozy:tenant:use', 'cozy:tenant:admin', 'cozy:tenant:super-admin'],
    );
    const use = bindings[1] as unknown as { subjects: { kind: string; name: string }[] };
    assert.deepEqual(
      use.subjects.filter((s) => s.kind === 'Group').map((s) => s.name),
      [
        'tenant-root-use',
        'tenant-root-admin',
        'tenant-root-super-admin',
        'tenant-acme-use',
        'tenant-acme-admin',
        'tenant-acme-super-admin',
      ],
    );
  });

  test('bad tenants: a dash in the name, outside a tenant namespace, an unknown quota name', () => {
    const r = new Registry(new SqliteStore({ path: ':memory:' }));
    r.create(namespaceKind, '', { metadata: { name: 'default' } });
    assert.throws(
      () =>
        r.create(tenantKind, 'default', {
          metadata: { name: 'a-b' },
          spec: { resourceQuotas: { cpu: '-1', 'limits.cpu': 2, 'no such thing': 1 } },
        }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.reason, 'Invalid');
        assert.deepEqual((err.details.causes ?? []).map((c) => c.path).sort(), [
          'metadata.name',
          'metadata.namespace',
          'spec.resourceQuotas[cpu]',
          'spec.resourceQuotas[limits.cpu]',
          'spec.resourceQuotas[no such thing]',
        ]);
        return true;
      },
    );
  });
});
