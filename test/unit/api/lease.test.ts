/**
 * coordination.k8s.io/v1 Lease through the Registry: a good Lease is stored as written, and a bad
 * one is refused with one cause per bad field (durations, counts, times), as kube-apiserver does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { leaseKind } from '../../../src/api/coordination/lease.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const lease = (spec: Record<string, unknown>) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'l' },
  spec,
});

test('a Lease is stored as written; bad fields are refused, one cause each', () => {
  const r = new Registry(new SqliteStore({ path: ':memory:' }));
  r.create(namespaceKind, '', { metadata: { name: 'default' } });
  const good = {
    holderIdentity: 'a',
    leaseDurationSeconds: 15,
    acquireTime: '2026-12-07T12:00:00.000000Z',
    renewTime: '2026-12-07T12:00:02.123456Z',
    leaseTransitions: 0,
  };
  assert.deepEqual(r.create(leaseKind, 'default', lease(good)).object['spec'], good);
  try {
    r.create(leaseKind, 'default', {
      ...lease({
        leaseDurationSeconds: 0,
        leaseTransitions: -1,
        renewTime: 'yesterday',
        acquireTime: '2026-13-45T99:00:00Z',
      }),
      metadata: { name: 'bad' },
    });
    assert.fail('a bad Lease was accepted');
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.reason, 'Invalid');
    assert.deepEqual((err.details.causes ?? []).map((c) => c.path).sort(), [
      'spec.acquireTime',
      'spec.leaseDurationSeconds',
      'spec.leaseTransitions',
      'spec.renewTime',
    ]);
  }
});
