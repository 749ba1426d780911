/**
 * deploy/'s ClusterRole grants every call `hikube operator` makes. The calls are not a hand list:
 * Hikube's controllers run in process over a recording transport (the informers of the kinds they
 * declare they watch or read, and the writes of a scenario that installs the catalog, compiles a
 * VMInstance and VMDisk, makes a tenant, runs a snapshot schedule and deletes the instance and
 * tenant); the role comes from the real `kubectl kustomize deploy/`.
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
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';
import { repoRoot } from '../../support/platform.js';
import { eventually } from '../../support/wait.js';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

function operatorRules(): Rule[] {
  const out = execFileSync('kubectl', ['kustomize', join(repoRoot, 'deploy')], { encoding: 'utf8' });
  const docs = parseAllDocuments(out).map(
    (d) => d.toJS() as { kind?: string; metadata?: { name?: string }; rules?: Rule[] },
  );
  const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata?.name === 'hikube-operator');
  assert.ok(role !== undefined, 'deploy/ has the ClusterRole hikube-operator');
  return role.rules ?? [];
}

const grants = (rules: Rule[], p: Permission): boolean =>
  rules.some(
    (r) =>
      (r.apiGroups ?? []).includes(p.group) &&
      (r.resources ?? []).includes(p.resource) &&
      (r.verbs ?? []).includes(p.verb),
  );

/** Runs Hikube's controllers through a scenario and returns every permission they used. */
async function calledPermissions(): Promise<Permission[]> {
  const store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  registry.create(namespaceKind, '', { metadata: { name: 'default' } });
  const recording = new RecordingTransport(new RegistryTransport(registry));
  const manager = new Manager(recording);
  const time = new FakeTime(new Date());
  try {
    await manager.start();
    await installCatalog(manager);
    await addHikubeControllers({
      manager,
      host: 'test',
      schedules: { now: () => time.now, timers: time },
    });
    const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
    registry.create(vmDiskKind, 'default', { metadata: { name: 'd' }, spec: { storage: '1Gi' } });
    registry.create(vmInstanceKind, 'default', {
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
    registry.create(tenantKind, 'tenant-root', { metadata: { name: 'team' }, spec: {} });
    registry.create(snapshotScheduleKind, 'default', {
      metadata: { name: 's' },
      spec: { schedule: '* * * * *', selector: {} },
    });
    const seen = (key: string): boolean => recording.permissions().some((p) => permissionKey(p) === key);
    await eventually(() => seen('create kubevirt.io/virtualmachines'), 'the VM to be compiled', 10_000);
    await eventually(
      () => seen('create core/namespaces') || seen('create /namespaces'),
      'the tenant namespace',
      10_000,
    );
    await time.advanceSettling(61_000, settle);
    await eventually(
      () => seen('create snapshot.kubevirt.io/virtualmachinesnapshots'),
      'the schedule to take a snapshot',
      10_000,
    );
    registry.delete(vmInstanceKind, 'default', 'i', {});
    registry.delete(tenantKind, 'tenant-root', 'team', {});
    await eventually(() => seen('delete /namespaces'), 'the tenant namespace to be deleted', 10_000);
    return recording.permissions();
  } finally {
    manager.stop();
    store.close();
  }
}

test("deploy/'s ClusterRole grants every call of Hikube's controllers", async () => {
  const called = await calledPermissions();
  for (const key of [
    'create cdi.kubevirt.io/datavolumes',
    'create kubevirt.io/virtualmachines',
    'create /secrets',
    'create /services',
    'create snapshot.kubevirt.io/virtualmachinesnapshots',
    'watch apps.cozystack.io/vminstances',
  ])
    assert.ok(
      called.some((p) => permissionKey(p) === key),
      `the scenario exercised ${key}`,
    );
  const rules = operatorRules();
  const missing = called.filter((p) => !grants(rules, p)).map(permissionKey);
  assert.deepEqual(missing, [], `not granted by deploy/: ${missing.join(', ')}`);
  process.stdout.write(`# called: ${called.map(permissionKey).join('; ')}\n`);
});
