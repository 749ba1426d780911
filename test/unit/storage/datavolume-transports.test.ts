/**
 * The DataVolume controller and the pool's provisioner on the controller runtime over both
 * transports: in process, and over HTTP to a real API server, where the DataVolume informer may
 * lag the writes the controller just made. An import happens once (a report the cache has not seen yet must not start a second
 * download), a DataSource clone and an upload succeed. Real registry, qemu-img, loopback servers.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { dataSourceKind } from '../../../src/api/cdi/datasource.js';
import { dataVolumeKind, type DataVolume } from '../../../src/api/cdi/datavolume.js';
import { kinds } from '../../../src/api/registry.js';
import { defaultStorageClass, storageClassKind } from '../../../src/api/storage/storageclass.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { DataVolumeController } from '../../../src/controllers/datavolume/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { Provisioner } from '../../../src/storage/provisioner.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';
import { IMAGE_BYTES, makeImages, serveImages, type ImageServer, type Images } from './image-server.js';

const NS = 'dv-transports';

let fixtures: Images;
let server: ImageServer;
before(async () => {
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-dvt-images-')));
  server = await serveImages(fixtures.dir);
});
after(async () => {
  await server.close();
  await rm(fixtures.dir, { recursive: true, force: true });
});

for (const kind of transports) {
  describe(`the DataVolume controller (${kind.name})`, () => {
    let store: SqliteStore;
    let api: ApiClient;
    let pool: string;
    let open: TransportUnderTest;
    let provisioner: Provisioner;
    let manager: Manager;
    let dvs: DataVolumeController;
    const failures: string[] = [];

    beforeEach(async () => {
      pool = await mkdtemp(join(tmpdir(), 'hikube-dvt-pool-'));
      store = new SqliteStore({ path: ':memory:' });
      const registry = new Registry(store);
      registry.create(namespaceKind, '', { metadata: { name: NS } });
      registry.create(storageClassKind, '', defaultStorageClass());
      api = new ApiClient(registry);
      open = await kind.open(registry, kinds);
      manager = new Manager(open.transport);
      provisioner = new Provisioner({
        manager,
        events: recorderFor(manager, 'persistentvolume-controller', 'node-1'),
        images: qemuImgTool,
        dir: pool,
        onlineResize: () => Promise.resolve(false),
      });
      failures.length = 0;
      dvs = new DataVolumeController({
        manager,
        events: recorderFor(manager, 'datavolume-controller', 'node-1'),
        images: qemuImgTool,
        targets: { allowPrivateTargets: true },
        volumePath: (ns, claim) => provisioner.volumePath(ns, claim),
        log: (m) => failures.push(m),
        retryBaseMs: 50,
        retries: 3,
        progressIntervalMs: 0,
      });
      void manager.add(provisioner);
      void manager.add(dvs);
      await manager.start();
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
      store.close();
      await rm(pool, { recursive: true, force: true });
    });

    const dv = (name: string, spec: Record<string, unknown>, size = '16Mi'): DataVolume =>
      api.create<DataVolume>(dataVolumeKind, {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name, namespace: NS },
        spec: { storage: { resources: { requests: { storage: size } } }, ...spec },
      });
    const phase = (name: string): string | undefined =>
      api.get<DataVolume>(dataVolumeKind, NS, name)?.status?.phase;
    const succeeded = (name: string): Promise<true> =>
      eventually(
        () => {
          assert.notEqual(phase(name), 'Failed', failures.join('\n'));
          return phase(name) === 'Succeeded' ? true : undefined;
        },
        `DataVolume ${name} to succeed (now ${JSON.stringify(api.get<DataVolume>(dataVolumeKind, NS, name)?.status)}; ${failures.slice(0, 3).join('; ')})`,
        30_000,
      );

    test('an http import downloads once, even when the cache lags its report', async () => {
      dv('first', { source: { http: { url: `${server.url}/${kind.name}/disk.qcow2` } } });
      await succeeded('first');
      // A later DataVolume's import is a barrier: events after the first one's report are handled.
      dv('second', { source: { http: { url: `${server.url}/${kind.name}/disk.raw` } } });
      await succeeded('second');
      assert.equal(server.hits.get(`/${kind.name}/disk.qcow2`), 1);
      assert.equal(server.hits.get(`/${kind.name}/disk.raw`), 1);
      assert.equal(phase('first'), 'Succeeded');
    });

    test('a clone from a DataSource and an upload succeed', async () => {
      dv('golden', { source: { http: { url: `${server.url}/disk.qcow2` } } });
      api.create(dataSourceKind, {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataSource',
        metadata: { name: 'debian', namespace: NS },
        spec: { source: { pvc: { name: 'golden' } } },
      });
      dv('copy', { sourceRef: { kind: 'DataSource', name: 'debian' } }, '32Mi');
      await succeeded('copy');
      // The provisioner reads its own cache, which may see the Succeeded phase a moment after ours.
      await eventually(() => provisioner.claimPath(NS, 'copy') !== undefined, 'the copy usable', 10_000);

      dv('up', { source: { upload: {} } });
      await eventually(() => phase('up') === 'UploadReady', 'UploadReady');
      const result = await dvs.upload(
        NS,
        'up',
        createReadStream(join(fixtures.dir, 'disk.raw.xz')),
        undefined,
      );
      assert.equal(result.virtualSize, IMAGE_BYTES);
      await succeeded('up');
    });
  });
}
