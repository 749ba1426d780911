/**
 * The backup controllers on the controller runtime, in process over a real Registry, with a fake
 * node executor and a fake artifact repository (the real ones are exercised by their own tests and
 * the backup e2e): a BackupJob's phases and the Backup it makes only when the artifact is whole;
 * an incremental run names the previous backup and its boundary, and releases that boundary once
 * Ready; a failed upload leaves the job Failed with the reason and no Backup; a Plan's cron makes
 * BackupJobs and its retention deletes old Backups, whose finalizer deletes the artifact; a
 * restore in place is refused on a running VM unless asked to stop it, and then stops it, rewrites
 * the disks and starts it again; a restore into a new VM makes its disks first.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { DiskSink, DiskSource } from '../../../src/backup/types.js';
import {
  backupJobKind,
  backupKind,
  restoreJobKind,
  type Backup,
  type BackupJob,
  type RestoreJob,
} from '../../../src/api/backups/jobs.js';
import { planKind, type Plan } from '../../../src/api/backups/plan.js';
import { persistentVolumeClaimKind } from '../../../src/api/core/core.js';
import { dataVolumeKind } from '../../../src/api/cdi/datavolume.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { BackupController } from '../../../src/controllers/backup/controller.js';
import type {
  ArtifactRepository,
  BackupExecutor,
  BackupPoint,
  BackupPointRequest,
  WriteResult,
} from '../../../src/controllers/backup/ports.js';
import { ensureDefaultBackupClass } from '../../../src/platform/backups.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';

const NS = 'default';
const B = 'backups.cozystack.io/v1alpha1';

class FakeExecutor implements BackupExecutor {
  points: BackupPointRequest[] = [];
  released: string[] = [];
  closed = 0;
  sinks: { path: string; format: string; virtualSize: number; writes: number; finished: boolean }[] = [];
  takePoint(req: BackupPointRequest): Promise<BackupPoint> {
    this.points.push(req);
    const n = this.points.length;
    const disks: DiskSource[] = req.volumes.map((v) => ({
      name: v.name,
      virtualSize: 1 << 20,
      changed: [{ offset: 0, length: 4096, zero: false }],
      full: req.previous === undefined,
      ...(req.previous === undefined ? { fullReason: 'first backup' } : {}),
      reader: { read: (_o, l) => Promise.resolve(Buffer.alloc(l, n)), close: () => Promise.resolve() },
    }));
    return Promise.resolve({
      boundary: Object.fromEntries(req.volumes.map((v) => [v.name, `${v.path}.b${n}`])),
      disks,
      indications: [],
      close: () => {
        this.closed++;
        return Promise.resolve();
      },
    });
  }
  releaseBoundary(layer: string): Promise<void> {
    this.released.push(layer);
    return Promise.resolve();
  }
  openRestoreSink(t: { path: string; format: 'qcow2' | 'raw'; virtualSize: number }): Promise<DiskSink> {
    const s = { ...t, writes: 0, finished: false };
    this.sinks.push(s);
    return Promise.resolve({
      write: () => {
        s.writes++;
        return Promise.resolve();
      },
      finish: () => {
        // As the real sink: finished once (the repository finishes it, not the controller).
        if (s.finished) return Promise.reject(new Error(`restoring ${t.path}: the sink is closed`));
        s.finished = true;
        return Promise.resolve();
      },
      abort: () => Promise.resolve(),
    });
  }
}

class FakeRepository implements ArtifactRepository {
  writes: { key: string; previous?: string; disks: string[] }[] = [];
  deleted: string[] = [];
  failWith: string | undefined;
  write(req: Parameters<ArtifactRepository['write']>[0]): Promise<WriteResult> {
    if (this.failWith !== undefined) return Promise.reject(new Error(this.failWith));
    this.writes.push({
      key: req.key,
      ...(req.previous ? { previous: req.previous } : {}),
      disks: req.disks.map((d) => d.name),
    });
    return Promise.resolve({
      uri: `file:///backups/${req.key}.json`,
      size: 4096,
      logicalSize: 1 << 20,
      checksum: 'sha256:00',
      chunksSent: 1,
      chunksReused: 0,
    });
  }
  async restoreDisk(_key: string, _disk: string, sink: DiskSink): Promise<void> {
    await sink.write(0, Buffer.alloc(4096, 1));
    await sink.finish(); // as the real repository does
  }
  delete(key: string): Promise<void> {
    this.deleted.push(key);
    return Promise.resolve();
  }
}

let store: SqliteStore;
let api: ApiClient;
let manager: Manager;
let controller: BackupController;
let executor: FakeExecutor;
let repo: FakeRepository;
let now: Date;
const log: string[] = [];

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  now = new Date('2026-01-01T00:00:30Z');
  const registry = new Registry(store, { now: () => now });
  const nsDef = findKindByGvk('v1', 'Namespace');
  assert.ok(nsDef);
  registry.create(nsDef, '', { metadata: { name: NS } });
  ensureDefaultBackupClass(registry, '/data');
  api = new ApiClient(registry);
  executor = new FakeExecutor();
  repo = new FakeRepository();
  log.length = 0;
  manager = new Manager(new RegistryTransport(registry));
  controller = new BackupController({
    manager,
    events: recorderFor(manager, 'backup-controller', 'node', () => now),
    executor,
    repositories: () => repo,
    claimPath: (ns, claim) =>
      api.get(persistentVolumeClaimKind, ns, claim) !== undefined ||
      api.get(dataVolumeKind, ns, claim) !== undefined
        ? `/pool/${ns}/${claim}.qcow2`
        : undefined,
    now: () => now,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))),
    log: (m) => log.push(m),
  });
  void manager.add(controller);
  await manager.start();
});

afterEach(async () => {
  await controller.settled();
  manager.stop();
  store.close();
});

function makeVm(name: string, running: boolean): void {
  api.create(persistentVolumeClaimKind, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${name}-data`, namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  api.create<VirtualMachine>(virtualMachineKind, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS },
    spec: {
      runStrategy: running ? 'Always' : 'Halted',
      template: {
        spec: {
          domain: { memory: { guest: '128Mi' }, devices: {} },
          volumes: [
            { name: 'root', containerDisk: { image: 'hikube/tiny' } },
            { name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } },
          ],
        },
      },
    },
  } as unknown as VirtualMachine);
  if (running)
    api.create(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name, namespace: NS },
      spec: { domain: { memory: { guest: '128Mi' }, devices: {} } },
    });
}

const vmRef = (name: string) => ({ apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name });
const backupJob = (name: string, vm: string): void =>
  void api.create(backupJobKind, {
    apiVersion: B,
    kind: 'BackupJob',
    metadata: { name, namespace: NS },
    spec: { applicationRef: vmRef(vm), backupClassName: 'default' },
  });
const getJob = (name: string) => api.get<BackupJob>(backupJobKind, NS, name);
const getBackup = (name: string) => api.get<Backup>(backupKind, NS, name);
const finished = (name: string): Promise<BackupJob> =>
  eventually(() => {
    const j = getJob(name);
    return j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed' ? j : undefined;
  }, `BackupJob ${name} finished`).catch((e: unknown) =>
    assert.fail(`${String(e)} ${JSON.stringify(getJob(name)?.status)} ${log.join('; ')}`),
  );

describe('BackupJob', () => {
  test('a full then an incremental backup; each Backup made Ready with its artifact', async () => {
    makeVm('web', false);
    backupJob('b1', 'web');
    const j1 = await finished('b1');
    assert.equal(j1.status?.phase, 'Succeeded', j1.status?.message);
    assert.match(j1.status?.message ?? '', /data in full \(first backup\)/);
    const b1 = getBackup('b1');
    assert.equal(b1?.status?.phase, 'Ready');
    assert.deepEqual(b1?.status?.artifact, {
      uri: 'file:///backups/default/web/b1.json',
      sizeBytes: 4096,
      checksum: 'sha256:00',
    });
    assert.deepEqual(b1?.metadata.finalizers, ['backups.hikube.io/artifact']);
    assert.deepEqual(executor.points[0]?.volumes, [{ name: 'data', path: '/pool/default/web-data.qcow2' }]);
    assert.equal(executor.points[0]?.running, false);

    now = new Date(now.getTime() + 60_000);
    backupJob('b2', 'web');
    const j2 = await finished('b2');
    assert.equal(j2.status?.phase, 'Succeeded', j2.status?.message);
    assert.deepEqual(executor.points[1]?.previous, { data: '/pool/default/web-data.qcow2.b1' });
    assert.equal(repo.writes[1]?.previous, 'default/web/b1');
    assert.deepEqual(
      executor.released,
      ['/pool/default/web-data.qcow2.b1'],
      'the previous boundary is released',
    );
    assert.equal(executor.closed, 2);
  });

  test('a failed upload: the job Failed with the reason, no Backup, its boundary released', async () => {
    makeVm('db', false);
    repo.failWith = 'connect ECONNREFUSED 127.0.0.1:9';
    backupJob('f1', 'db');
    const j = await finished('f1');
    assert.equal(j.status?.phase, 'Failed');
    assert.match(j.status?.message ?? '', /backup failed: connect ECONNREFUSED/);
    assert.equal(getBackup('f1'), undefined);
    assert.deepEqual(executor.released, ['/pool/default/db-data.qcow2.b1']);
  });

  test('an application that does not exist fails with the reason', async () => {
    backupJob('n1', 'ghost');
    const j = await finished('n1');
    assert.equal(j.status?.phase, 'Failed');
    assert.match(j.status?.message ?? '', /VirtualMachine default\/ghost not found/);
  });

  test('a job left Running by a stopped platform fails as interrupted; nothing is run again', async () => {
    makeVm('old', false);
    for (const [def, kind, spec] of [
      [backupJobKind, 'BackupJob', { applicationRef: vmRef('old'), backupClassName: 'default' }],
      [restoreJobKind, 'RestoreJob', { backupRef: { name: 'none' } }],
    ] as const)
      api.create(def, {
        apiVersion: B,
        kind,
        metadata: { name: 'left', namespace: NS },
        spec,
        status: { phase: 'Running' },
      });
    for (const [def, what] of [
      [backupJobKind, 'backup'],
      [restoreJobKind, 'restore'],
    ] as const) {
      const j = await eventually(() => {
        const o = api.get<BackupJob>(def, NS, 'left');
        return o?.status?.phase === 'Failed' ? o : undefined;
      }, `${what} job failed`);
      assert.equal(
        j.status?.message,
        `${what} failed: interrupted (the platform stopped during the run); create a new job`,
      );
    }
    assert.deepEqual(executor.points, [], 'no point taken');
  });
});

describe('Backup made by hand (as a tenant may)', () => {
  test('deleting it touches no artifact and no node file its spec names', async () => {
    api.create(backupKind, {
      apiVersion: B,
      kind: 'Backup',
      metadata: { name: 'forged', namespace: NS, finalizers: ['backups.hikube.io/artifact'] },
      spec: {
        applicationRef: vmRef('web'),
        strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name: 'default' },
        takenAt: '2026-01-01T00:00:00Z',
        driverMetadata: {
          key: 'other-tenant/db/nightly',
          boundary: JSON.stringify({ data: '/var/lib/hikube/volumes/other.qcow2' }),
        },
      },
    });
    api.delete(backupKind, NS, 'forged');
    await eventually(() => getBackup('forged') === undefined, 'the forged backup gone');
    assert.deepEqual(repo.deleted, [], 'no artifact deleted');
    assert.deepEqual(executor.released, [], 'no layer released');
  });
});

describe('Plan', () => {
  test('the cron makes a BackupJob; retention deletes the older Backup and its artifact', async () => {
    makeVm('app', false);
    api.create<Plan>(planKind, {
      apiVersion: B,
      kind: 'Plan',
      metadata: { name: 'every', namespace: NS, annotations: { 'backups.hikube.io/keep': '1' } },
      spec: { applicationRef: vmRef('app'), backupClassName: 'default', schedule: { cron: '* * * * *' } },
    });
    await eventually(() => api.get<Plan>(planKind, NS, 'every')?.status?.nextScheduleTime, 'next time');
    assert.equal(api.get<Plan>(planKind, NS, 'every')?.status?.nextScheduleTime, '2026-01-01T00:01:00Z');
    const tick = async (to: string): Promise<BackupJob> => {
      now = new Date(to);
      api.mutate(planKind, NS, 'every', (p) => void (p.metadata.labels = { t: to.replace(/\D/g, '') }));
      return eventually(
        () =>
          api
            .list<BackupJob>(backupJobKind, NS)
            .find((j) => j.metadata.name === `every-${Math.floor(Date.parse(to) / 60_000)}`),
        `job at ${to}`,
      );
    };
    const first = await tick('2026-01-01T00:01:05Z');
    assert.equal(first.spec.planRef?.name, 'every');
    await finished(first.metadata.name ?? '');
    const second = await tick('2026-01-01T00:02:05Z');
    await finished(second.metadata.name ?? '');
    now = new Date('2026-01-01T00:02:20Z');
    api.mutate(planKind, NS, 'every', (p) => void (p.metadata.labels = { t: 'prune' }));
    await eventually(() => getBackup(first.metadata.name ?? '') === undefined, 'the older backup deleted');
    assert.deepEqual(repo.deleted, [`default/app/${first.metadata.name ?? ''}`]);
    assert.equal(getBackup(second.metadata.name ?? '')?.status?.phase, 'Ready');
  });
});

describe('RestoreJob', () => {
  const restore = (name: string, annotations?: Record<string, string>, target?: string): void =>
    void api.create(restoreJobKind, {
      apiVersion: B,
      kind: 'RestoreJob',
      metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
      spec: { backupRef: { name: 'b1' }, ...(target ? { targetApplicationRef: vmRef(target) } : {}) },
    });
  const done = (name: string): Promise<RestoreJob> =>
    eventually(() => {
      const r = api.get<RestoreJob>(restoreJobKind, NS, name);
      return r?.status?.phase === 'Succeeded' || r?.status?.phase === 'Failed' ? r : undefined;
    }, `restore ${name}`);

  test('in place on a running VM: refused with the reason, or stopped, restored and started', async () => {
    makeVm('web', true);
    backupJob('b1', 'web');
    await finished('b1');
    restore('r1');
    const r1 = await done('r1');
    assert.equal(r1.status?.phase, 'Failed');
    assert.match(
      r1.status?.message ?? '',
      /is running: stop it first, or set the annotation backups.hikube.io\/stop-running-vm/,
    );
    restore('r2', { 'backups.hikube.io/stop-running-vm': 'true' });
    // Plays the VM controller: the VMI goes once the VM is Halted.
    await eventually(
      () => api.get<VirtualMachine>(virtualMachineKind, NS, 'web')?.spec.runStrategy === 'Halted',
      'VM halted',
    );
    api.delete(virtualMachineInstanceKind, NS, 'web');
    const r2 = await done('r2');
    assert.equal(r2.status?.phase, 'Succeeded', r2.status?.message);
    assert.deepEqual(
      executor.sinks.map((s) => [s.path, s.format, s.virtualSize, s.writes, s.finished]),
      [['/pool/default/web-data.qcow2', 'qcow2', 1 << 20, 1, true]],
    );
    assert.equal(
      api.get<VirtualMachine>(virtualMachineKind, NS, 'web')?.spec.runStrategy,
      'Always',
      'started again',
    );
  });

  test('into a new VM: its disk made first, then the VM with the disk renamed', async () => {
    makeVm('web', false);
    backupJob('b1', 'web');
    await finished('b1');
    restore('r3', undefined, 'copy');
    const r = await done('r3');
    assert.equal(r.status?.phase, 'Succeeded', r.status?.message);
    assert.ok(api.get(dataVolumeKind, NS, 'copy-data'));
    const vm = api.get<VirtualMachine>(virtualMachineKind, NS, 'copy');
    assert.deepEqual(vm?.spec.template.spec?.volumes?.find((v) => v.name === 'data')?.dataVolume, {
      name: 'copy-data',
    });
    assert.equal(executor.sinks[0]?.path, '/pool/default/copy-data.qcow2');
    restore('r4', undefined, 'copy');
    assert.match((await done('r4')).status?.message ?? '', /VirtualMachine copy already exists/);
  });
});
