/**
 * CDIConfig and StorageProfiles follow our storage: the singleton appears with the upload URL and
 * the default class as scratch space, a profile appears and goes with each class, and a deleted
 * profile or CDIConfig comes back. Runs over both runtime transports.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { cdiConfigKind, type CDIConfig } from '../../../src/api/cdi/cdiconfig.js';
import { storageProfileKind, type StorageProfile } from '../../../src/api/cdi/storageprofile.js';
import { kinds } from '../../../src/api/registry.js';
import {
  defaultStorageClass,
  replicatedStorageClass,
  storageClassKind,
} from '../../../src/api/storage/storageclass.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { CdiConfigController } from '../../../src/controllers/cdiconfig/controller.js';
import { cdiConfigStatus, storageProfileStatus } from '../../../src/controllers/cdiconfig/status.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

const URL_ = 'https://127.0.0.1:6443';

describe('CDIConfig and StorageProfile status', () => {
  test('scratch space: the named class when it exists, else the default class', () => {
    const classes = [defaultStorageClass(), replicatedStorageClass()];
    const base = { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'CDIConfig', metadata: { name: 'config' } };
    assert.deepEqual(cdiConfigStatus(base, classes, URL_), {
      uploadProxyURL: URL_,
      scratchSpaceStorageClass: 'local',
    });
    assert.equal(
      cdiConfigStatus({ ...base, spec: { scratchSpaceStorageClass: 'replicated' } }, classes, URL_)
        .scratchSpaceStorageClass,
      'replicated',
    );
    assert.equal(
      cdiConfigStatus({ ...base, spec: { scratchSpaceStorageClass: 'gone' } }, classes, URL_)
        .scratchSpaceStorageClass,
      'local',
    );
    assert.equal(cdiConfigStatus(base, [replicatedStorageClass()], URL_).scratchSpaceStorageClass, undefined);
    assert.equal(
      cdiConfigStatus({ ...base, spec: { uploadProxyURLOverride: 'https://up.example' } }, classes, URL_)
        .uploadProxyURL,
      'https://up.example',
    );
  });

  test('the local pool offers ReadWriteOnce Filesystem and Block; another provisioner nothing', () => {
    assert.deepEqual(storageProfileStatus(defaultStorageClass()), {
      storageClass: 'local',
      provisioner: 'hikube.io/local-pool',
      claimPropertySets: [
        { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' },
        { accessModes: ['ReadWriteOnce'], volumeMode: 'Block' },
      ],
      cloneStrategy: 'copy',
    });
    const other = { ...defaultStorageClass(), provisioner: 'csi.example.com' };
    assert.deepEqual(storageProfileStatus(other).claimPropertySets, []);
  });
});

for (const kind of transports) {
  describe(`CDIConfig controller (${kind.name})`, () => {
    let r: Registry;
    let open: TransportUnderTest;
    let manager: Manager;
    beforeEach(async () => {
      r = new Registry(new SqliteStore({ path: ':memory:' }));
      r.create(storageClassKind, '', defaultStorageClass());
      open = await kind.open(r, kinds);
      manager = new Manager(open.transport);
      void manager.add(new CdiConfigController(manager, { apiServerURL: URL_ }));
      await manager.start();
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
    });

    const config = (): CDIConfig | undefined =>
      r.store.get('cdi.kubevirt.io/cdiconfigs', '', 'config')?.object;
    const profile = (name: string): StorageProfile | undefined =>
      r.store.get('cdi.kubevirt.io/storageprofiles', '', name)?.object;

    test('creates the singleton and a profile per class, and follows the classes', async () => {
      await eventually(() => config()?.status?.uploadProxyURL === URL_, 'CDIConfig status');
      assert.equal(config()?.status?.scratchSpaceStorageClass, 'local');
      await eventually(() => profile('local')?.status?.provisioner === 'hikube.io/local-pool', 'profile');

      r.create(storageClassKind, '', replicatedStorageClass());
      await eventually(() => profile('replicated')?.status?.storageClass === 'replicated', 'new profile');
      r.delete(storageClassKind, '', 'local');
      await eventually(() => profile('local') === undefined, 'the profile of a deleted class to go');
      await eventually(
        () => config()?.status !== undefined && config()?.status?.scratchSpaceStorageClass === undefined,
        'no scratch class once the default class is gone',
      );
    });

    test('a deleted profile or CDIConfig comes back; spec overrides show in status', async () => {
      await eventually(
        () => profile('local')?.status !== undefined && config()?.status !== undefined,
        'sync',
      );
      r.delete(storageProfileKind, '', 'local');
      await eventually(() => profile('local')?.status?.storageClass === 'local', 'the profile to come back');
      r.delete(cdiConfigKind, '', 'config');
      await eventually(() => config()?.status?.uploadProxyURL === URL_, 'CDIConfig to come back');
      const current = config();
      assert.ok(current);
      r.update(cdiConfigKind, '', 'config', {
        ...current,
        spec: { uploadProxyURLOverride: 'https://uploads.test' },
      });
      await eventually(() => config()?.status?.uploadProxyURL === 'https://uploads.test', 'override');
    });

    test('another name than `config` is refused with a cause on metadata.name', () => {
      assert.throws(
        () =>
          r.create(cdiConfigKind, '', {
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'CDIConfig',
            metadata: { name: 'other' },
          }),
        (err: unknown) => JSON.stringify(err).includes('metadata.name'),
      );
    });
  });
}
