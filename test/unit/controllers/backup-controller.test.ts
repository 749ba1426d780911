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
import { beforeEach, describe, test } from 'node:test';
import {
  backupJobKind,
  backupKind,
  restoreJobKind,
  type Backup,
  type BackupJob,
  type RestoreJob,
} from '../../../src/api/backups/jobs.js';
import { planKind, type Plan } from '../../../src/api/backups/plan.js';
import { dataVolumeKind } from '../../../src/api/cdi/datavolume.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { MAX_RESUMES, type BackupController } from '../../../src/controllers/backup/controller.js';
import type { ApiClient } from '../../../src/runtime/registry-client.js';
import { eventually } from '../../support/wait.js';
import { B, FakeExecutor, FakeRepository, makeVmIn, NS, useBackupHarness } from './backup-fakes.js';

const h = useBackupHarness();
let api: ApiClient;
let controller: BackupController;
let executor: FakeExecutor;
let repo: FakeRepository;
beforeEach(() => void ({ api, controller, executor, repo } = h));

const makeVm = (name: string, running: boolean): void => makeVmIn(api, name, running);

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
    assert.fail(`${String(e)} ${JSON.stringify(getJob(name)?.status)} ${h.log.join('; ')}`),
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

    h.now = new Date(h.now.getTime() + 60_000);
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

  test('a BackupJob left Running by a stopped platform is resumed and succeeds; a RestoreJob fails', async () => {
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
    const j = await finished('left');
    assert.equal(j.status?.phase, 'Succeeded', j.status?.message);
    assert.equal(getBackup('left')?.status?.phase, 'Ready');
    assert.equal(
      j.status?.conditions?.find((c) => c.type === 'Resumed')?.message,
      'resumed 1 time(s) after the platform stopped during the run',
    );
    assert.equal(executor.points.length, 1, 'one point taken by the resumed run');
    const r = await eventually(() => {
      const o = api.get<RestoreJob>(restoreJobKind, NS, 'left');
      return o?.status?.phase === 'Failed' ? o : undefined;
    }, 'restore job failed');
    assert.equal(
      r.status?.message,
      'restore failed: interrupted (the platform stopped during the run); create a new job',
    );
  });

  test('a BackupJob interrupted MAX_RESUMES times fails instead of looping', async () => {
    makeVm('crashy', false);
    api.create(backupJobKind, {
      apiVersion: B,
      kind: 'BackupJob',
      metadata: { name: 'crashy', namespace: NS },
      spec: { applicationRef: vmRef('crashy'), backupClassName: 'default' },
      status: {
        phase: 'Running',
        conditions: [
          {
            type: 'Resumed',
            status: 'True',
            reason: 'PlatformStopped',
            message: `resumed ${MAX_RESUMES} time(s) after the platform stopped during the run`,
          },
        ],
      },
    });
    const j = await finished('crashy');
    assert.equal(j.status?.phase, 'Failed');
    assert.equal(
      j.status?.message,
      `backup failed: interrupted ${MAX_RESUMES + 1} times (the platform stopped during the run); create a new job`,
    );
    assert.deepEqual(executor.points, [], 'no point taken');
  });

  test('stopping the platform mid-run leaves the job Running, to be resumed', async () => {
    makeVm('slow', false);
    let release: () => void = () => undefined;
    repo.gate = new Promise<void>((r) => (release = r));
    backupJob('s1', 'slow');
    await eventually(() => repo.waiting, 'the upload under way');
    controller.stop();
    release();
    await controller.settled();
    assert.equal(getJob('s1')?.status?.phase, 'Running', getJob('s1')?.status?.message);
    assert.equal(getBackup('s1'), undefined);
    assert.deepEqual(executor.released, ['/pool/default/slow-data.qcow2.b1'], 'its point released');
  });

  test('its Backup deleted: the job stays Succeeded, is not run again; the next backup is full', async () => {
    makeVm('gone', false);
    backupJob('g1', 'gone');
    assert.equal((await finished('g1')).status?.phase, 'Succeeded');
    api.delete(backupKind, NS, 'g1');
    await eventually(() => getBackup('g1') === undefined, 'Backup g1 gone');
    h.now = new Date(h.now.getTime() + 60_000);
    backupJob('g2', 'gone');
    const g2 = await finished('g2');
    assert.equal(g2.status?.phase, 'Succeeded', g2.status?.message);
    assert.match(g2.status?.message ?? '', /in full \(first backup\)/);
    const g1 = getJob('g1');
    assert.equal(g1?.status?.phase, 'Succeeded');
    assert.deepEqual(g1?.status?.backupRef, { name: 'g1' });
    assert.equal(executor.points.length, 2, 'g1 was not run again');
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
      h.now = new Date(to);
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
    h.now = new Date('2026-01-01T00:02:20Z');
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
