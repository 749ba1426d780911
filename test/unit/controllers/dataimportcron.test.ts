/**
 * The DataImportCron controller over an in-memory store, a fake registry (the digest port) and a
 * fake clock: an import per new digest, only when the schedule fires; the DataSource follows the
 * newest import that succeeded; outdated imports are collected; a failing registry is said.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { dataSourceKind, type DataSource } from '../../../src/api/cdi/datasource.js';
import { dataImportCronKind, type DataImportCron } from '../../../src/api/cdi/dataimportcron.js';
import { dataVolumeKind, type DataVolume } from '../../../src/api/cdi/datavolume.js';
import { namespaceKind, secretKind } from '../../../src/api/core/core.js';
import { Registry } from '../../../src/apiserver/registry.js';
import {
  DataImportCronController,
  importName,
  pinned,
} from '../../../src/controllers/dataimportcron/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import type { RegistrySource } from '../../../src/storage/import/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';

const NS = 'images';
const URL_ = 'docker://127.0.0.1:5000/containerdisks/golden:latest';
const digest = (c: string): string => `sha256:${c.repeat(64)}`;

let time: FakeTime;
let store: SqliteStore;
let api: ApiClient;
let manager: Manager;
let controller: DataImportCronController;
let current: string | Error;
let asked: RegistrySource[];
let logged: string[];

beforeEach(async () => {
  time = new FakeTime(new Date('2026-01-01T10:30:00Z'));
  store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store, { now: () => time.now });
  registry.create(namespaceKind, '', { metadata: { name: NS } });
  api = new ApiClient(registry);
  current = digest('a');
  asked = [];
  logged = [];
  manager = new Manager(new RegistryTransport(registry));
  controller = new DataImportCronController({
    manager,
    events: recorderFor(manager, 'dataimportcron-controller', 'node', () => time.now),
    digestOf: (source) => {
      asked.push(source);
      return current instanceof Error ? Promise.reject(current) : Promise.resolve(current);
    },
    now: () => time.now,
    timers: time,
    log: (m) => logged.push(m),
  });
  void manager.add(controller);
  await manager.start();
});
afterEach(() => {
  manager.stop();
  store.close();
});

const settle = (): Promise<void> => controller.idle();
const cron = (): DataImportCron | undefined => api.get<DataImportCron>(dataImportCronKind, NS, 'golden');
const dvs = (): string[] =>
  api
    .list<DataVolume>(dataVolumeKind, NS)
    .map((d) => d.metadata.name ?? '')
    .sort();
const pointsAt = (): string | undefined =>
  api.get<DataSource>(dataSourceKind, NS, 'golden-ds')?.spec.source.pvc?.name;
function succeed(name: string): void {
  api.mutate<DataVolume>(dataVolumeKind, NS, name, (d) => void (d.status = { phase: 'Succeeded' }), true);
}

describe('DataImportCron controller', () => {
  test('imports each new digest when the schedule fires; the DataSource follows; old imports go', async () => {
    api.create(dataImportCronKind, {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataImportCron',
      metadata: { name: 'golden', namespace: NS },
      spec: {
        schedule: '0 * * * *',
        managedDataSource: 'golden-ds',
        importsToKeep: 1,
        template: {
          spec: {
            source: { registry: { url: URL_ } },
            storage: { resources: { requests: { storage: '16Mi' } } },
          },
        },
      },
    });
    await settle();
    const first = importName('golden', digest('a'));
    assert.deepEqual(dvs(), [first], `polled at once ${logged.join('; ')}`);
    assert.equal(
      api.get<DataVolume>(dataVolumeKind, NS, first)?.spec.source?.registry?.url,
      `docker://127.0.0.1:5000/containerdisks/golden@${digest('a')}`,
    );
    assert.equal(pointsAt(), undefined, 'no DataSource before an import succeeds');
    succeed(first);
    await settle();
    assert.equal(pointsAt(), first);
    assert.equal(cron()?.status?.lastImportedPVC?.name, first);

    current = digest('b');
    await time.advanceSettling(10 * 60_000, settle);
    assert.deepEqual(dvs(), [first], 'no firing yet: no poll');
    await time.advanceSettling(25 * 60_000, settle);
    const second = importName('golden', digest('b'));
    assert.deepEqual(dvs(), [second, first].sort(), 'the 11:00 firing found the new digest');
    assert.equal(pointsAt(), first, 'the DataSource waits for the new import');
    succeed(second);
    await settle();
    assert.equal(pointsAt(), second);
    assert.deepEqual(dvs(), [second], 'the outdated import is collected');
    assert.deepEqual(cron()?.status?.currentImports, [{ DataVolumeName: second, Digest: digest('b') }]);

    current = new Error('connection refused');
    await time.advanceSettling(60 * 60_000, settle);
    const upToDate = cron()?.status?.conditions?.find((c) => c.type === 'UpToDate');
    assert.equal(upToDate?.reason, 'PollFailed');
    assert.match(upToDate?.message ?? '', /connection refused/);
    assert.equal(pointsAt(), second, 'a failed poll changes nothing');
  });

  test('polls with the secretRef credentials; a missing Secret is said in UpToDate', async () => {
    api.create(dataImportCronKind, {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataImportCron',
      metadata: { name: 'golden', namespace: NS },
      spec: {
        schedule: '0 * * * *',
        managedDataSource: 'golden-ds',
        template: {
          spec: {
            source: { registry: { url: URL_, secretRef: 'pull-creds' } },
            storage: { resources: { requests: { storage: '16Mi' } } },
          },
        },
      },
    });
    await settle();
    assert.equal(asked.length, 0, 'no poll without the Secret');
    const upToDate = cron()?.status?.conditions?.find((c) => c.type === 'UpToDate');
    assert.equal(upToDate?.reason, 'PollFailed');
    assert.match(upToDate?.message ?? '', /Secret pull-creds not found/);

    api.create(secretKind, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pull-creds', namespace: NS },
      stringData: { accessKeyId: 'robot', secretKey: 's3cret' },
    });
    await time.advanceSettling(60 * 60_000, settle);
    assert.deepEqual(
      asked.map((a) => a.auth),
      [{ user: 'robot', password: 's3cret' }],
    );
    const dv = api.get<DataVolume>(dataVolumeKind, NS, importName('golden', digest('a')));
    assert.equal(dv?.spec.source?.registry?.secretRef, 'pull-creds', 'the import uses the same credentials');
  });

  test('a failed import keeps its reason in Progressing and is made again at the next firing', async () => {
    api.create(dataImportCronKind, {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataImportCron',
      metadata: { name: 'golden', namespace: NS },
      spec: {
        schedule: '0 * * * *',
        managedDataSource: 'golden-ds',
        template: {
          spec: {
            source: { registry: { url: URL_ } },
            storage: { resources: { requests: { storage: '16Mi' } } },
          },
        },
      },
    });
    await settle();
    const first = importName('golden', digest('a'));
    const uid = api.get<DataVolume>(dataVolumeKind, NS, first)?.metadata.uid;
    api.mutate<DataVolume>(
      dataVolumeKind,
      NS,
      first,
      (d) =>
        void (d.status = {
          phase: 'Failed',
          conditions: [
            { type: 'Running', status: 'False', reason: 'Unauthorized', message: 'registry said 401' },
          ],
        }),
      true,
    );
    await settle();
    const progressing = cron()?.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(progressing?.reason, 'Failed');
    assert.match(progressing?.message ?? '', /Failed: registry said 401/);

    await time.advanceSettling(35 * 60_000, settle);
    const again = api.get<DataVolume>(dataVolumeKind, NS, first);
    assert.ok(again !== undefined, 'the import is there again');
    assert.notEqual(again.metadata.uid, uid, 'a new DataVolume, not the failed one');
    assert.equal(again.status?.phase, undefined);
    succeed(first);
    await settle();
    assert.equal(pointsAt(), first);
  });

  test('an invalid schedule or a source that is not a registry is refused', () => {
    assert.throws(
      () =>
        api.create(dataImportCronKind, {
          apiVersion: 'cdi.kubevirt.io/v1beta1',
          kind: 'DataImportCron',
          metadata: { name: 'bad', namespace: NS },
          spec: {
            schedule: 'every day',
            managedDataSource: 'x',
            template: { spec: { source: { http: { url: 'http://h/d.img' } }, storage: {} } },
          },
        }),
      (err: Error & { details?: { causes?: { path: string }[] } }) =>
        JSON.stringify(err.details?.causes?.map((c) => c.path)) ===
        JSON.stringify(['spec.schedule', 'spec.template.spec.source.registry']),
    );
  });

  test('pinned: the image at a digest, with or without a tag, with a registry port', () => {
    assert.equal(pinned(URL_, digest('c')), `docker://127.0.0.1:5000/containerdisks/golden@${digest('c')}`);
    assert.equal(pinned('docker://r:5000/x', digest('c')), `docker://r:5000/x@${digest('c')}`);
    assert.equal(pinned(`docker://r/x@${digest('a')}`, digest('c')), `docker://r/x@${digest('c')}`);
  });
});
