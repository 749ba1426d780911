/**
 * The backups kinds through the Registry, as kubectl would see them: good objects accepted, bad
 * ones refused with one Status cause per bad field, nothing half-created; and the retention the
 * Plan annotations give.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { FieldError, KindDefinition } from '../../../src/api/kind.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { jobHistoryOf, retentionOf } from '../../../src/api/backups/plan.js';

/** A real certificate, made by openssl, for the caBundle cases. */
const CERT = execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    '/dev/null',
  ].concat(['-subj', '/CN=bucket.test', '-days', '1']),
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
);

const kind = (apiVersion: string, k: string): KindDefinition => {
  const def = findKindByGvk(apiVersion, k);
  if (def === undefined) throw new Error(`${k} not served`);
  return def;
};
const B = 'backups.cozystack.io/v1alpha1';
const S = 'backups.hikube.io/v1alpha1';

function causesOf(body: Record<string, unknown>): FieldError[] {
  const store = new SqliteStore({ path: ':memory:' });
  try {
    const registry = new Registry(store);
    registry.create(kind('v1', 'Namespace'), '', { metadata: { name: 'default' } });
    const def = kind(body['apiVersion'] as string, body['kind'] as string);
    const ns = def.namespaced ? 'default' : '';
    try {
      registry.create(def, ns, body);
    } catch (err) {
      assert.ok(err instanceof ApiError, String(err));
      assert.equal(err.code, 422, err.message);
      assert.equal(
        registry.store.list(`${def.group}/${def.plural}`, ns).items.length,
        0,
        'nothing half-created',
      );
      return err.details.causes ?? [];
    }
    return [];
  } finally {
    store.close();
  }
}
const fields = (causes: FieldError[]): string[] => causes.map((c) => c.path).sort();

const app = { kind: 'VMInstance', name: 'web' };
const plan = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: B,
  kind: 'Plan',
  metadata: { name: 'nightly', ...(annotations ? { annotations } : {}) },
  spec: { applicationRef: app, backupClassName: 'default', schedule: { cron: '0 3 * * *' }, ...spec },
});
const strategy = (spec: Record<string, unknown>) => ({
  apiVersion: S,
  kind: 'BackupStrategy',
  metadata: { name: 's' },
  spec,
});
const s3 = {
  target: 's3',
  endpoint: 'http://127.0.0.1:9000',
  bucket: 'vm-backups',
  region: 'us-east-1',
  credentialsSecretRef: { namespace: 'hikube-system', name: 'bucket' },
};

describe('backups kinds: accepted and refused', () => {
  const cases: [what: string, body: Record<string, unknown>, bad: string[]][] = [
    ['a plan of a VMInstance', plan({}), []],
    [
      'a plan of a kubevirt VM',
      plan({ applicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'x' } }),
      [],
    ],
    [
      'a plan with retention',
      plan({}, { 'backups.hikube.io/keep': '3', 'backups.hikube.io/max-age': '7d' }),
      [],
    ],
    [
      'a plan with every field wrong',
      plan(
        {
          applicationRef: { apiGroup: 'apps.cozystack.io', kind: 'Postgres', name: 'db' },
          backupClassName: '',
          schedule: { cron: '61 * * * *' },
        },
        { 'backups.hikube.io/keep': '0', 'backups.hikube.io/max-age': 'soon' },
      ),
      [
        'metadata.annotations[backups.hikube.io/keep]',
        'metadata.annotations[backups.hikube.io/max-age]',
        'spec.applicationRef.kind',
        'spec.backupClassName',
        'spec.schedule.cron',
      ],
    ],
    ['a plan without a cron', plan({ schedule: {} }), ['spec.schedule.cron']],
    [
      'a plan with job history limits',
      plan(
        {},
        {
          'backups.hikube.io/successful-jobs-history-limit': '0',
          'backups.hikube.io/failed-jobs-history-limit': '5',
        },
      ),
      [],
    ],
    [
      'a plan with bad job history limits',
      plan(
        {},
        {
          'backups.hikube.io/successful-jobs-history-limit': '-1',
          'backups.hikube.io/failed-jobs-history-limit': 'all',
        },
      ),
      [
        'metadata.annotations[backups.hikube.io/failed-jobs-history-limit]',
        'metadata.annotations[backups.hikube.io/successful-jobs-history-limit]',
      ],
    ],
    ['an s3 strategy with a CA bundle of two certificates', strategy({ ...s3, caBundle: CERT + CERT }), []],
    [
      'an s3 strategy with a CA bundle that is no PEM',
      strategy({ ...s3, caBundle: 'trust me' }),
      ['spec.caBundle'],
    ],
    [
      'an s3 strategy with a private key as CA bundle',
      strategy({ ...s3, caBundle: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }),
      ['spec.caBundle'],
    ],
    [
      'an s3 strategy with a broken certificate',
      strategy({
        ...s3,
        caBundle: '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n',
      }),
      ['spec.caBundle'],
    ],
    [
      'an s3 strategy with a certificate and something else',
      strategy({ ...s3, caBundle: `${CERT}\nrm -rf /\n` }),
      ['spec.caBundle'],
    ],
    ['an s3 strategy with an escaping prefix', strategy({ ...s3, prefix: 'a/../../etc' }), ['spec.prefix']],
    [
      'a local strategy with an absolute prefix',
      strategy({ target: 'local', path: '/var/lib/hikube/backups', prefix: '/etc' }),
      ['spec.prefix'],
    ],
    ['an s3 strategy', strategy(s3), []],
    ['a local strategy', strategy({ target: 'local', path: '/var/lib/hikube/backups' }), []],
    [
      'an s3 strategy with credentials tenants could read and a bad endpoint',
      strategy({
        ...s3,
        endpoint: 'ftp://x/y',
        bucket: 'UP',
        credentialsSecretRef: { namespace: 'tenant-a', name: 'b' },
      }),
      ['spec.bucket', 'spec.credentialsSecretRef.namespace', 'spec.endpoint'],
    ],
    [
      'an s3 strategy with nothing',
      strategy({ target: 's3' }),
      ['spec.bucket', 'spec.credentialsSecretRef', 'spec.endpoint'],
    ],
    [
      'a local strategy with a relative path and a bucket',
      strategy({ target: 'local', path: 'x/../y', bucket: 'b' }),
      ['spec.bucket', 'spec.path'],
    ],
    ['an unknown target', strategy({ target: 'tape' }), ['spec.target']],
    [
      'a backup class',
      {
        apiVersion: B,
        kind: 'BackupClass',
        metadata: { name: 'c' },
        spec: {
          strategies: [
            {
              strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name: 's' },
              application: { kind: 'VMInstance' },
            },
          ],
        },
      },
      [],
    ],
    [
      'a backup class with no strategy',
      { apiVersion: B, kind: 'BackupClass', metadata: { name: 'c' }, spec: { strategies: [] } },
      ['spec.strategies'],
    ],
    [
      'a backup job',
      {
        apiVersion: B,
        kind: 'BackupJob',
        metadata: { name: 'j' },
        spec: { applicationRef: app, backupClassName: 'default' },
      },
      [],
    ],
    [
      'a backup job of an unknown kind and no class',
      {
        apiVersion: B,
        kind: 'BackupJob',
        metadata: { name: 'j' },
        spec: { applicationRef: { kind: 'Pod', name: 'p' }, backupClassName: '' },
      },
      ['spec.applicationRef.kind', 'spec.backupClassName'],
    ],
    [
      'a restore job into a new instance',
      {
        apiVersion: B,
        kind: 'RestoreJob',
        metadata: { name: 'r' },
        spec: { backupRef: { name: 'b' }, targetApplicationRef: { kind: 'VMInstance', name: 'copy' } },
      },
      [],
    ],
    [
      'a restore job with a bad stop option and target',
      {
        apiVersion: B,
        kind: 'RestoreJob',
        metadata: { name: 'r', annotations: { 'backups.hikube.io/stop-running-vm': 'yes' } },
        spec: { backupRef: { name: '' }, targetApplicationRef: { kind: 'Secret', name: 'x' } },
      },
      [
        'metadata.annotations[backups.hikube.io/stop-running-vm]',
        'spec.backupRef.name',
        'spec.targetApplicationRef.kind',
      ],
    ],
  ];
  for (const [what, body, bad] of cases)
    test(what, () => assert.deepEqual(fields(causesOf(body)), bad.sort()));
});

describe('Plan job history annotations', () => {
  test("CronJob's defaults (3 Succeeded, 1 Failed) unless set", () => {
    assert.deepEqual(jobHistoryOf({ metadata: {} }), { succeeded: 3, failed: 1 });
    assert.deepEqual(
      jobHistoryOf({
        metadata: {
          annotations: {
            'backups.hikube.io/successful-jobs-history-limit': '10',
            'backups.hikube.io/failed-jobs-history-limit': '0',
          },
        },
      }),
      { succeeded: 10, failed: 0 },
    );
  });
});

describe('Plan retention annotations', () => {
  test('keep and max-age are read; absent means keep all', () => {
    assert.deepEqual(retentionOf({ metadata: {} }), {});
    assert.deepEqual(
      retentionOf({
        metadata: { annotations: { 'backups.hikube.io/keep': '5', 'backups.hikube.io/max-age': '2d' } },
      }),
      { keep: 5, maxAgeMs: 2 * 86_400_000 },
    );
  });
});

describe('the default BackupClass made at start', () => {
  test('a local strategy under DATA_DIR/backups, made once, an admin edit kept', async () => {
    const { ensureDefaultBackupClass } = await import('../../../src/platform/backups.js');
    const store = new SqliteStore({ path: ':memory:' });
    try {
      const registry = new Registry(store);
      ensureDefaultBackupClass(registry, '/data');
      const strategyDef = kind(S, 'BackupStrategy');
      const strategy = registry.get(strategyDef, '', 'default').object as unknown as {
        spec: Record<string, unknown>;
      };
      assert.deepEqual(strategy.spec, { target: 'local', path: '/data/backups' });
      const cls = registry.get(kind(B, 'BackupClass'), '', 'default').object as unknown as {
        spec: { strategies: { application: { kind: string } }[] };
      };
      assert.deepEqual(
        cls.spec.strategies.map((s) => s.application.kind),
        ['VMInstance', 'VirtualMachine'],
      );
      registry.update(strategyDef, '', 'default', {
        ...strategy,
        spec: { target: 'local', path: '/elsewhere' },
      });
      ensureDefaultBackupClass(registry, '/data');
      const again = registry.get(strategyDef, '', 'default').object as unknown as { spec: { path: string } };
      assert.equal(again.spec.path, '/elsewhere');
    } finally {
      store.close();
    }
  });
});
