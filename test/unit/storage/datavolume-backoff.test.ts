/**
 * The DataVolume controller when the store refuses the report of a finished import: the import is
 * looked at again after a growing wait, not at once (at once meant a new download and conversion
 * in a loop for as long as the store failed). Real registry over in-memory SQLite whose writes of
 * a Succeeded DataVolume fail, real qemu-img, a loopback HTTP server; the controller's time is a
 * fake clock, so what happens without it moving is what a hot loop would do.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { dataVolumeKind, type DataVolume } from '../../../src/api/cdi/datavolume.js';
import { defaultStorageClass, storageClassKind } from '../../../src/api/storage/storageclass.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { DataVolumeController } from '../../../src/controllers/datavolume/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { Provisioner } from '../../../src/storage/provisioner.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';
import { FailingStore } from '../../support/failing-store.js';
import { FakeTime } from '../../support/fake-time.js';
import { eventually } from '../../support/wait.js';
import { makeImages, serveImages, type ImageServer, type Images } from './image-server.js';

let images: Images;
let server: ImageServer;
let pool: string;
before(async () => {
  images = makeImages(await mkdtemp(join(tmpdir(), 'hikube-dv-backoff-images-')));
  server = await serveImages(images.dir);
  pool = await mkdtemp(join(tmpdir(), 'hikube-dv-backoff-pool-'));
});
after(async () => {
  await server.close();
  await rm(images.dir, { recursive: true, force: true });
  await rm(pool, { recursive: true, force: true });
});

describe('DataVolume reports retry with backoff', () => {
  test('a finished import whose report the store refuses is not imported again at once', async () => {
    const time = new FakeTime();
    const store = new FailingStore(() => time.now.getTime());
    const registry = new Registry(store);
    registry.create(namespaceKind, '', { metadata: { name: 'default' } });
    registry.create(storageClassKind, '', defaultStorageClass());
    const api = new ApiClient(registry);
    const manager = new Manager(new RegistryTransport(registry));
    const provisioner = new Provisioner({
      manager,
      events: recorderFor(manager, 'persistentvolume-controller', 'node-1'),
      images: qemuImgTool,
      dir: pool,
      onlineResize: () => Promise.resolve(false),
    });
    const logged: string[] = [];
    const dvs = new DataVolumeController({
      manager,
      events: recorderFor(manager, 'datavolume-controller', 'node-1'),
      images: qemuImgTool,
      volumePath: (ns, claim) => provisioner.volumePath(ns, claim),
      timers: time,
      targets: { allowPrivateTargets: true },
      log: (m) => logged.push(m),
      progressIntervalMs: 0,
    });
    store.failing = (resource, object) =>
      resource === 'cdi.kubevirt.io/datavolumes' &&
      (object as DataVolume | undefined)?.status?.phase === 'Succeeded';
    void manager.add(provisioner);
    void manager.add(dvs);
    await manager.start();
    try {
      api.create<DataVolume>(dataVolumeKind, {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: 'disk', namespace: 'default' },
        spec: {
          source: { http: { url: `${server.url}/disk.qcow2` } },
          storage: { resources: { requests: { storage: '16Mi' } } },
        },
      });
      await eventually(() => store.refused.length >= 1, 'the Succeeded report to be refused', 20_000);
      // Time stands still: a hot loop would download and convert again and again meanwhile.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(server.hits.get('/disk.qcow2'), 1, logged.join('\n'));
      assert.equal(store.refused.length, 1);
      assert.match(logged[0] ?? '', /failed reporting on disk \(next look in 1s\): disk I\/O error/);

      store.failing = () => false;
      time.advance(1000);
      const done = await eventually(() => {
        const dv = api.get<DataVolume>(dataVolumeKind, 'default', 'disk');
        return dv?.status?.phase === 'Succeeded' ? dv : undefined;
      }, 'the import to be reported once the store heals');
      assert.equal(done.status?.progress, '100.0%');
    } finally {
      manager.stop();
      store.close();
    }
  });
});
