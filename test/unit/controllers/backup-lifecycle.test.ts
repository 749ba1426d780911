/**
 * Around the backup runs, in process with the fake ports of backup-fakes.ts: a Plan keeps its
 * finished BackupJobs to the history limits (newest Succeeded and Failed ones, CronJob's defaults
 * 3 and 1), leaving running jobs, other plans' jobs and every Backup alone; and an S3 endpoint on
 * a loopback, private or link-local address (given as such or resolved from a name) fails the
 * job with the reason unless private targets are allowed, before anything is sent; a Backup stays
 * deletable when its strategy is gone or now refused (the artifact is kept, with a Warning event),
 * while a target that fails only delays the deletion.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backupJobKind, backupKind, type Backup, type BackupJob } from '../../../src/api/backups/jobs.js';
import { backupClassKind, planKind, type Plan } from '../../../src/api/backups/plan.js';
import { backupStrategyKind } from '../../../src/api/backups/strategy.js';
import { eventKind, namespaceKind, secretKind, type Event } from '../../../src/api/core/core.js';
import { eventually } from '../../support/wait.js';
import { B, makeVmIn, NS, useBackupHarness } from './backup-fakes.js';

const h = useBackupHarness();
const vmRef = { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'web' };
const jobNames = (): string[] =>
  h.api
    .list<BackupJob>(backupJobKind, NS)
    .map((j) => j.metadata.name ?? '')
    .sort();

describe('a Plan keeps its finished BackupJobs to the history limits', () => {
  test('the newest 2 Succeeded and 1 Failed stay; running, foreign jobs and Backups stay', async () => {
    makeVmIn(h.api, 'web', false);
    h.api.create<Plan>(planKind, {
      apiVersion: B,
      kind: 'Plan',
      metadata: {
        name: 'hist',
        namespace: NS,
        annotations: { 'backups.hikube.io/successful-jobs-history-limit': '2' },
      },
      spec: { applicationRef: vmRef, backupClassName: 'default', schedule: { cron: '0 3 * * *' } },
    });
    const job = (name: string, plan: string, phase: string, minute: number): void =>
      void h.api.create(backupJobKind, {
        apiVersion: B,
        kind: 'BackupJob',
        metadata: { name, namespace: NS, labels: { 'backups.hikube.io/plan': plan } },
        spec: { planRef: { name: plan }, applicationRef: vmRef, backupClassName: 'default' },
        status: {
          phase,
          ...(phase === 'Running' ? {} : { completedAt: `2025-12-31T10:0${minute}:00Z` }),
        },
      });
    // A Backup of a job that goes: it lives by the plan's retention, not by its job.
    h.api.create(backupKind, {
      apiVersion: B,
      kind: 'Backup',
      metadata: { name: 'ok1', namespace: NS },
      spec: {
        applicationRef: vmRef,
        strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name: 'default' },
        takenAt: '2025-12-31T10:01:00Z',
      },
    });
    job('ok1', 'hist', 'Succeeded', 1);
    job('ok2', 'hist', 'Succeeded', 2);
    job('ok3', 'hist', 'Succeeded', 3);
    job('bad1', 'hist', 'Failed', 4);
    job('bad2', 'hist', 'Failed', 5);
    job('other1', 'other', 'Succeeded', 1);
    await eventually(
      () => (jobNames().join(',') === 'bad2,ok2,ok3,other1' ? true : undefined),
      `jobs pruned to the limits (now ${jobNames().join(',')})`,
    );
    assert.ok(h.api.get(backupKind, NS, 'ok1'), 'the Backup of a pruned job is kept');
  });

  test('the default limits: 3 Succeeded, 1 Failed', async () => {
    makeVmIn(h.api, 'web', false);
    h.api.create<Plan>(planKind, {
      apiVersion: B,
      kind: 'Plan',
      metadata: { name: 'dflt', namespace: NS },
      spec: { applicationRef: vmRef, backupClassName: 'default', schedule: { cron: '0 3 * * *' } },
    });
    for (let i = 1; i <= 5; i++)
      h.api.create(backupJobKind, {
        apiVersion: B,
        kind: 'BackupJob',
        metadata: { name: `d${i}`, namespace: NS, labels: { 'backups.hikube.io/plan': 'dflt' } },
        spec: { planRef: { name: 'dflt' }, applicationRef: vmRef, backupClassName: 'default' },
        status: { phase: i % 2 === 0 ? 'Failed' : 'Succeeded', completedAt: `2025-12-31T10:0${i}:00Z` },
      });
    await eventually(
      () => (jobNames().join(',') === 'd1,d3,d4,d5' ? true : undefined),
      `jobs pruned to 3 Succeeded and 1 Failed (now ${jobNames().join(',')})`,
    );
  });
});

/** A BackupClass NAME on the BackupStrategy NAME, the VM `web` and a BackupJob `j` of it on that class. */
function jobOn(name: string): void {
  h.api.create(backupClassKind, {
    apiVersion: B,
    kind: 'BackupClass',
    metadata: { name },
    spec: {
      strategies: [
        {
          strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name },
          application: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine' },
        },
      ],
    },
  });
  makeVmIn(h.api, 'web', false);
  h.api.create(backupJobKind, {
    apiVersion: B,
    kind: 'BackupJob',
    metadata: { name: 'j', namespace: NS },
    spec: { applicationRef: vmRef, backupClassName: name },
  });
}

/** Job `j` once it Succeeded or Failed. */
const jobOutcome = (): Promise<BackupJob> =>
  eventually(() => {
    const j = h.api.get<BackupJob>(backupJobKind, NS, 'j');
    return j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed' ? j : undefined;
  }, 'the job finished');

describe('an S3 endpoint obeys the outbound address policy', () => {
  const bucket = (endpoint: string): void => {
    h.api.create(namespaceKind, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hikube-system' } });
    h.api.create(secretKind, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bucket', namespace: 'hikube-system' },
      data: { accessKeyId: btoa('k'), secretAccessKey: btoa('s') },
    });
    h.api.create(backupStrategyKind, {
      apiVersion: 'backups.hikube.io/v1alpha1',
      kind: 'BackupStrategy',
      metadata: { name: 'bucket' },
      spec: {
        target: 's3',
        endpoint,
        bucket: 'vms',
        credentialsSecretRef: { namespace: 'hikube-system', name: 'bucket' },
      },
    });
    jobOn('bucket');
  };

  const refused: [what: string, endpoint: string, resolved: string[], reason: RegExp][] = [
    ['a loopback IP', 'http://127.0.0.1:9000', [], /127\.0\.0\.1 is a loopback address/],
    ['an IPv6 loopback', 'http://[::1]:9000', [], /::1 is a loopback address/],
    ['a link-local IP (cloud metadata)', 'http://169.254.169.254', [], /is a link-local address/],
    [
      'a name resolving to a private address',
      'https://s3.corp.test',
      ['10.1.2.3'],
      /10\.1\.2\.3 is a private/,
    ],
    [
      'a name with one public and one loopback address',
      'https://s3.mixed.test',
      ['16.0.0.1', '127.0.0.2'],
      /127\.0\.0\.2 is a loopback/,
    ],
  ];
  for (const [what, endpoint, resolved, reason] of refused)
    test(`${what}: the job fails with the reason, nothing sent`, async () => {
      h.resolve = () => Promise.resolve(resolved);
      bucket(endpoint);
      const j = await jobOutcome();
      assert.equal(j.status?.phase, 'Failed');
      assert.match(
        j.status?.message ?? '',
        /^backup failed: BackupStrategy bucket: endpoint .+target not allowed/,
      );
      assert.match(j.status?.message ?? '', reason);
      assert.deepEqual(h.repo.writes, []);
      assert.deepEqual(h.executor.points, [], 'no point taken');
    });

  test('a name that does not resolve: the job fails with the reason', async () => {
    bucket('https://s3.nowhere.test');
    const j = await jobOutcome();
    assert.match(j.status?.message ?? '', /cannot resolve s3\.nowhere\.test: getaddrinfo ENOTFOUND/);
  });

  test('a name resolving to a public address is used', async () => {
    h.resolve = () => Promise.resolve(['16.0.0.1']);
    bucket('https://s3.public.test');
    const j = await jobOutcome();
    assert.equal(j.status?.phase, 'Succeeded', j.status?.message);
    assert.equal(h.repo.writes.length, 1);
  });
});

describe('a local strategy stays under the allowed directories', () => {
  const local = (path: string, prefix?: string): void => {
    h.api.create(backupStrategyKind, {
      apiVersion: 'backups.hikube.io/v1alpha1',
      kind: 'BackupStrategy',
      metadata: { name: 'disk' },
      spec: { target: 'local', path, ...(prefix !== undefined ? { prefix } : {}) },
    });
    jobOn('disk');
  };

  for (const [what, path] of [
    ['a system directory', '/etc'],
    ['the data dir above the backups root', '/data'],
    ['a sibling that shares the root as a name prefix', '/data/backups-evil'],
  ] as const)
    test(`${what} (${path}): the job fails with the reason, nothing written`, async () => {
      local(path);
      const j = await jobOutcome();
      assert.equal(j.status?.phase, 'Failed');
      assert.match(
        j.status?.message ?? '',
        /^backup failed: BackupStrategy disk: path .+ is outside the directories local backups may use \(\/data\/backups\); an admin may add one with hikube up --backup-dirs/,
      );
      assert.deepEqual(h.repo.writes, []);
      assert.deepEqual(h.executor.points, [], 'no point taken');
    });

  test('a directory under the root, with a prefix, is used', async () => {
    local('/data/backups/team', 'nightly');
    const j = await jobOutcome();
    assert.equal(j.status?.phase, 'Succeeded', j.status?.message);
    assert.equal(h.repo.writes.length, 1);
  });

  const backupOf = (j: BackupJob): string => j.status?.backupRef?.name ?? assert.fail('no backupRef');
  const warnings = (name: string): Event[] =>
    h.api
      .list<Event>(eventKind, NS)
      .filter((e) => e.involvedObject.name === name && e.reason === 'ArtifactKept');

  test('a Backup whose directory the rules now refuse is deleted; its artifact stays, and a Warning says so', async () => {
    local('/data/backups/team');
    const b = backupOf(await jobOutcome());
    // The admin's rules change under the Backup (here: its strategy now points outside them).
    h.api.mutate(backupStrategyKind, '', 'disk', (s) => void ((s.spec as { path: string }).path = '/etc'));
    h.api.delete(backupKind, NS, b);
    await eventually(() => h.api.get<Backup>(backupKind, NS, b) === undefined, 'the Backup gone');
    assert.deepEqual(h.repo.deleted, [], 'nothing deleted through a refused target');
    const [w] = warnings(b);
    assert.match(
      w?.message ?? '',
      new RegExp(
        `^the artifact default/web/${b} was left in its target: BackupStrategy disk: path /etc is outside`,
      ),
    );
    assert.equal(w?.type, 'Warning');
  });

  test('a Backup whose strategy was deleted is deleted too, its artifact kept', async () => {
    local('/data/backups/team');
    const b = backupOf(await jobOutcome());
    h.api.delete(backupStrategyKind, '', 'disk');
    h.api.delete(backupKind, NS, b);
    await eventually(() => h.api.get<Backup>(backupKind, NS, b) === undefined, 'the Backup gone');
    assert.deepEqual(h.repo.deleted, []);
    assert.match(warnings(b)[0]?.message ?? '', /BackupStrategy disk not found$/);
  });

  test('a target that fails keeps the Backup until a retry deletes its artifact', async () => {
    local('/data/backups/team');
    const b = backupOf(await jobOutcome());
    const real = h.repo.delete.bind(h.repo);
    let failures = 0;
    h.repo.delete = (key) => (failures++ < 1 ? Promise.reject(new Error('connect ECONNREFUSED')) : real(key));
    h.api.delete(backupKind, NS, b);
    await eventually(
      () => h.api.get<Backup>(backupKind, NS, b) === undefined,
      'the Backup gone after a retry',
    );
    assert.equal(failures, 2, 'one failed attempt, then one that deleted');
    assert.deepEqual(h.repo.deleted, [`default/web/${b}`]);
    assert.deepEqual(warnings(b), [], 'no artifact was given up on');
  });
});
