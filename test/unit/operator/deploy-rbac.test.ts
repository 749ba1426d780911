/**
 * deploy/'s ClusterRole grants every call `hikube operator` makes. The calls are not a hand list:
 * Hikube's controllers run in process over a recording transport (the informers of the kinds they
 * declare they watch or read, and the writes of a scenario that installs the catalog, compiles a
 * VMInstance and VMDisk, makes a tenant, runs a snapshot schedule and deletes the instance and
 * tenant) while a leader elector holds the operator's Lease; the roles come from the real
 * `kubectl kustomize deploy/`: the ClusterRole for the controllers, the namespaced Role beside the
 * Deployment for the Lease.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { namespaceKind } from '../../../src/api/core/core.js';
import { tenantKind } from '../../../src/api/cozystack/tenant.js';
import { vmDiskKind } from '../../../src/api/cozystack/vmdisk.js';
import { vmInstanceKind } from '../../../src/api/cozystack/vminstance.js';
import { snapshotScheduleKind } from '../../../src/api/hikube/snapshotschedule.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { addHikubeControllers, installCatalog } from '../../../src/operator/controllers.js';
import { permissionKey, RecordingTransport, type Permission } from '../../../src/operator/permissions.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { LEASE_NAME } from '../../../src/operator/election.js';
import { LeaderElector, type LeaderElectionConfig } from '../../../src/runtime/leader.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';
import { repoRoot } from '../../support/platform.js';
import { eventually } from '../../support/wait.js';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

interface Doc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind?: string; name?: string };
  subjects?: { kind?: string; name?: string; namespace?: string }[];
  spec?: {
    replicas?: number;
    template?: {
      spec?: {
        serviceAccountName?: string;
        containers?: { env?: { name: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[] }[];
      };
    };
  };
}

function deployDocs(dir = 'deploy'): Doc[] {
  const out = execFileSync('kubectl', ['kustomize', join(repoRoot, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as Doc);
}

function operatorRules(docs: Doc[]): Rule[] {
  const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata?.name === 'hikube-operator');
  assert.ok(role !== undefined, 'deploy/ has the ClusterRole hikube-operator');
  return role.rules ?? [];
}

/** The rules of the Roles bound to the operator's ServiceAccount in the Deployment's namespace. */
function namespaceRules(docs: Doc[]): Rule[] {
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata?.name === 'hikube-operator');
  assert.ok(deployment !== undefined, 'deploy/ has the Deployment hikube-operator');
  const namespace = deployment.metadata?.namespace ?? '';
  const account = deployment.spec?.template?.spec?.serviceAccountName ?? '';
  const bound = docs
    .filter(
      (d) => d.kind === 'RoleBinding' && d.metadata?.namespace === namespace && d.roleRef?.kind === 'Role',
    )
    .filter((d) => (d.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === account))
    .map((d) => d.roleRef?.name);
  return docs
    .filter(
      (d) => d.kind === 'Role' && d.metadata?.namespace === namespace && bound.includes(d.metadata.name),
    )
    .flatMap((d) => d.rules ?? []);
}

/** A rule limited to names grants the one Lease, and never create (which cannot be limited by name). */
const namesAllow = (r: Rule, p: Permission): boolean =>
  r.resourceNames === undefined || (p.verb !== 'create' && r.resourceNames.includes(LEASE_NAME));

const grants = (rules: Rule[], p: Permission): boolean =>
  rules.some(
    (r) =>
      (r.apiGroups ?? []).includes(p.group) &&
      (r.resources ?? []).includes(p.resource) &&
      (r.verbs ?? []).includes(p.verb) &&
      namesAllow(r, p),
  );

const leaderConfig: Omit<LeaderElectionConfig, 'namespace' | 'identity'> = {
  name: LEASE_NAME,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * Runs Hikube's controllers through a scenario and returns every permission they used, with
 * where. `scope`: as `hikube operator --namespace scope`, with its Lease there too.
 */
async function calledPermissions(scope?: string): Promise<Permission[]> {
  const store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  const ns = scope ?? 'default';
  for (const name of new Set(['default', 'hikube-system', ns]))
    registry.create(namespaceKind, '', { metadata: { name } });
  const recording = new RecordingTransport(new RegistryTransport(registry));
  const manager = new Manager(recording, scope !== undefined ? { namespace: scope } : {});
  const time = new FakeTime(new Date());
  const elector = new LeaderElector(
    recording,
    { ...leaderConfig, namespace: scope ?? 'hikube-system', identity: 'test' },
    { onStartedLeading: () => undefined, onStoppedLeading: () => undefined },
    { now: () => time.now.getTime(), timers: time },
  );
  try {
    elector.start();
    await manager.start();
    await installCatalog(manager);
    await addHikubeControllers({
      manager,
      host: 'test',
      schedules: { now: () => time.now, timers: time },
    });
    const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
    registry.create(vmDiskKind, ns, { metadata: { name: 'd' }, spec: { storage: '1Gi' } });
    registry.create(vmInstanceKind, ns, {
      metadata: { name: 'i' },
      spec: {
        runStrategy: 'Halted',
        instanceType: 'u1.small',
        disks: [{ name: 'd' }],
        external: true,
        externalPorts: [22],
        sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDw2kDYpdyHo5SgmCzLSIbYtUAyyWjgcIHAQT6jfLOuD t@test'],
      },
    });
    if (scope === undefined)
      registry.create(tenantKind, 'tenant-root', { metadata: { name: 'team' }, spec: {} });
    registry.create(snapshotScheduleKind, ns, {
      metadata: { name: 's' },
      spec: { schedule: '* * * * *', selector: {} },
    });
    const seen = (key: string): boolean => recording.permissions().some((p) => permissionKey(p) === key);
    await eventually(() => seen('create kubevirt.io/virtualmachines'), 'the VM to be compiled', 10_000);
    if (scope === undefined)
      await eventually(() => seen('create /namespaces'), 'the tenant namespace', 10_000);
    await time.advanceSettling(61_000, settle);
    await eventually(
      () => seen('create snapshot.kubevirt.io/virtualmachinesnapshots'),
      'the schedule to take a snapshot',
      10_000,
    );
    registry.delete(vmInstanceKind, ns, 'i', {});
    if (scope === undefined) {
      registry.delete(tenantKind, 'tenant-root', 'team', {});
      await eventually(() => seen('delete /namespaces'), 'the tenant namespace to be deleted', 10_000);
    }
    // Renewals (update) happen on the fake clock's retry periods, already past by now.
    await eventually(() => elector.isLeader, 'the elector to hold the Lease', 10_000);
    return recording.scopedPermissions();
  } finally {
    await elector.release();
    manager.stop();
    store.close();
  }
}

test("deploy/'s ClusterRole and leader election Role grant every call of Hikube's operator", async () => {
  const called = await calledPermissions();
  for (const key of [
    'create cdi.kubevirt.io/datavolumes',
    'create kubevirt.io/virtualmachines',
    'create /secrets',
    'create /services',
    'create snapshot.kubevirt.io/virtualmachinesnapshots',
    'watch apps.cozystack.io/vminstances',
    'create coordination.k8s.io/leases',
    'get coordination.k8s.io/leases',
    'update coordination.k8s.io/leases',
  ])
    assert.ok(
      called.some((p) => permissionKey(p) === key),
      `the scenario exercised ${key}`,
    );
  const docs = deployDocs();
  const rules = operatorRules(docs);
  const leases = namespaceRules(docs);
  const isLease = (p: Permission): boolean => p.group === 'coordination.k8s.io' && p.resource === 'leases';
  const missing = called.filter((p) => !grants(isLease(p) ? leases : rules, p)).map(permissionKey);
  assert.deepEqual(missing, [], `not granted by deploy/: ${missing.join(', ')}`);
  assert.ok(
    !rules.some((r) => (r.resources ?? []).includes('leases')),
    'Leases are granted in the operator namespace only, not cluster-wide',
  );
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata?.name === 'hikube-operator');
  assert.equal(deployment?.spec?.replicas, 2, 'two replicas, one leading');
  process.stdout.write(`# called: ${called.map(permissionKey).join('; ')}\n`);
});

test('deploy/namespaced grants every call of `hikube operator --namespace`, all in its namespace', async () => {
  const called = await calledPermissions('hikube-system');
  for (const key of [
    'create kubevirt.io/virtualmachines',
    'watch apps.cozystack.io/vminstances',
    'update coordination.k8s.io/leases',
  ])
    assert.ok(
      called.some((p) => permissionKey(p) === key),
      `the scenario exercised ${key}`,
    );
  const elsewhere = called
    .filter((p) => p.namespace !== 'hikube-system')
    .map((p) => `${permissionKey(p)} @${p.namespace}`);
  assert.deepEqual(elsewhere, [], 'every call is asked in the one namespace');
  const docs = deployDocs('deploy/namespaced');
  assert.deepEqual(
    docs
      .filter((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')
      .map((d) => d.metadata?.name),
    [],
    'no cluster-wide role',
  );
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata?.name === 'hikube-operator');
  const env = deployment?.spec?.template?.spec?.containers?.[0]?.env ?? [];
  assert.equal(
    env.find((e) => e.name === 'HIKUBE_OPERATOR_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath,
    'metadata.namespace',
    'the operator acts in its own namespace, where its Roles are',
  );
  const rules = namespaceRules(docs);
  const missing = called.filter((p) => !grants(rules, p)).map(permissionKey);
  assert.deepEqual([...new Set(missing)], [], `not granted by deploy/namespaced: ${missing.join(', ')}`);
});
