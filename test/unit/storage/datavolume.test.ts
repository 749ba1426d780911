/**
 * The storage controllers together against a real Registry over in-memory SQLite, real qemu-img in
 * a temporary pool, and a loopback HTTP server: claims provisioned from the default class,
 * DataVolumes imported from every format, checksums, 404s, dropped connections retried, uploads,
 * clones through a DataSource, pvc-protection and expansion. No guest runs here (see
 * test/e2e/storage-vm.test.ts); a test plays the node agent by writing VMI objects.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import {
  eventKind,
  namespaceKind,
  persistentVolumeClaimKind,
  secretKind,
  type Event,
} from '../../../src/api/core/core.js';
import { dataSourceKind } from '../../../src/api/cdi/datasource.js';
import { dataVolumeKind, type DataVolume } from '../../../src/api/cdi/datavolume.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { persistentVolumeKind, type PersistentVolume } from '../../../src/api/storage/persistentvolume.js';
import { defaultStorageClass, storageClassKind } from '../../../src/api/storage/storageclass.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { DataVolumeController } from '../../../src/controllers/datavolume/controller.js';
import { DataSourceController } from '../../../src/controllers/datavolume/datasource.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { type Claim } from '../../../src/storage/claims.js';
import { Provisioner } from '../../../src/storage/provisioner.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';
import {
  GOLDEN,
  IMAGE_BYTES,
  makeImages,
  serveImages,
  type ImageServer,
  type Images,
} from './image-server.js';

const NS = 'default';
let fixtures: Images;
let server: ImageServer;
let store: SqliteStore;
let api: ApiClient;
let pool: string;
let provisioner: Provisioner;
let dvs: DataVolumeController;
let dss: DataSourceController;
let manager: Manager;
let resized: { path: string; bytes: number }[];
let guestHasDisk: (path: string) => boolean;

before(async () => {
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-images-')));
  server = await serveImages(fixtures.dir);
});
after(async () => {
  await server.close();
  await rm(fixtures.dir, { recursive: true, force: true });
});

beforeEach(async () => {
  pool = await mkdtemp(join(tmpdir(), 'hikube-pool-'));
  store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  registry.create(namespaceKind, '', { metadata: { name: NS } });
  registry.create(storageClassKind, '', defaultStorageClass());
  api = new ApiClient(registry);
  resized = [];
  guestHasDisk = () => false;
  manager = new Manager(new RegistryTransport(registry));
  provisioner = new Provisioner({
    manager,
    events: recorderFor(manager, 'persistentvolume-controller', 'node-1'),
    images: qemuImgTool,
    dir: pool,
    onlineResize: (path, bytes) => {
      if (!guestHasDisk(path)) return Promise.resolve(false);
      resized.push({ path, bytes });
      return Promise.resolve(true);
    },
  });
  dvs = new DataVolumeController({
    manager,
    events: recorderFor(manager, 'datavolume-controller', 'node-1'),
    images: qemuImgTool,
    // The test's servers listen on loopback.
    targets: { allowPrivateTargets: true },
    volumePath: (ns, claim) => provisioner.volumePath(ns, claim),
    retryBaseMs: 50,
    retries: 3,
    progressIntervalMs: 0,
  });
  dss = new DataSourceController(manager);
  void manager.add(provisioner);
  void manager.add(dvs);
  void manager.add(dss);
  await manager.start();
});

afterEach(async () => {
  manager.stop();
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
const http = (path: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  source: { http: { url: `${server.url}/${path}`, ...extra } },
});
const getDv = (name: string): DataVolume | undefined => api.get<DataVolume>(dataVolumeKind, NS, name);
const claim = (name: string): Claim | undefined => api.get<Claim>(persistentVolumeClaimKind, NS, name);
const running = (d: DataVolume | undefined) => d?.status?.conditions?.find((c) => c.type === 'Running');

async function settled(name: string, timeoutMs = 20_000): Promise<DataVolume> {
  return eventually(
    () => {
      const d = getDv(name);
      return d?.status?.phase === 'Succeeded' || d?.status?.phase === 'Failed' ? d : undefined;
    },
    `DataVolume ${name} to finish (now ${JSON.stringify(getDv(name)?.status)})`,
    timeoutMs,
  );
}

/** The guest's view of the volume: its first bytes and virtual size, read with qemu-img. */
function volume(name: string): { head: string; virtualSize: number; format: string; path: string } {
  const path = provisioner.claimPath(NS, name);
  assert.ok(path !== undefined, `claim ${name} has a usable disk`);
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path]).toString()) as {
    'virtual-size': number;
    format: string;
  };
  const raw = join(pool, `${name}.check.raw`);
  execFileSync('qemu-img', [
    'dd',
    '-f',
    info.format,
    '-O',
    'raw',
    `if=${path}`,
    `of=${raw}`,
    'bs=4096',
    'count=1',
  ]);
  const head = readFileSync(raw).subarray(0, GOLDEN.length).toString();
  execFileSync('rm', ['-f', raw]);
  return { head, virtualSize: info['virtual-size'], format: info.format, path };
}

const eventsOf = (name: string): Event[] =>
  api.list<Event>(eventKind, NS).filter((e) => e.involvedObject.name === name);

describe('claims and the default storage class', () => {
  test('a claim without a class gets the default one, a PersistentVolume and Bound with its capacity', async () => {
    api.create<Claim>(persistentVolumeClaimKind, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'plain', namespace: NS },
      spec: { accessModes: ['ReadWriteOncePod'], resources: { requests: { storage: '100M' } } },
    });
    const c = await eventually(
      () => (claim('plain')?.status?.phase === 'Bound' ? claim('plain') : undefined),
      'bound',
    );
    assert.equal(c.spec.storageClassName, 'local');
    assert.deepEqual(c.status?.capacity, { storage: '96Mi' }, '100M rounded up to whole MiB');
    assert.deepEqual(c.status?.accessModes, ['ReadWriteOncePod']);
    assert.deepEqual(c.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    const pv = api.get<PersistentVolume>(persistentVolumeKind, '', c.spec.volumeName ?? '');
    assert.equal(pv?.spec.claimRef?.name, 'plain');
    assert.equal(pv?.spec.volumeMode, 'Filesystem');
    assert.equal(volume('plain').format, 'qcow2');
    assert.equal(volume('plain').virtualSize, 96 * 1048576, '100M rounded up to whole MiB');
  });

  test('a Block claim is a sparse raw file; a class that does not exist leaves the claim Pending with a reason', async () => {
    for (const [name, extra] of [
      ['block', { volumeMode: 'Block' }],
      ['nowhere', { storageClassName: 'fast-ssd' }],
    ] as const)
      api.create<Claim>(persistentVolumeClaimKind, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: NS },
        spec: { resources: { requests: { storage: '8Mi' } }, ...extra },
      });
    await eventually(() => claim('block')?.status?.phase === 'Bound', 'block claim bound');
    assert.equal(volume('block').format, 'raw');
    assert.match(volume('block').path, /\.img$/);
    await eventually(() => claim('nowhere')?.status?.phase === 'Pending', 'pending claim');
    await eventually(
      () =>
        eventsOf('nowhere').find(
          (e) => e.reason === 'ProvisioningFailed' && /"fast-ssd" not found/.test(e.message ?? ''),
        ),
      'ProvisioningFailed event',
    );
  });

  test('deleting a claim a running VMI uses waits for the VMI to finish, then the volume goes', async () => {
    dv('held', { source: { blank: {} } });
    await settled('held');
    const path = volume('held').path;
    api.create<KubeObject>(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'vm1', namespace: NS },
      spec: {
        domain: { devices: {}, memory: { guest: '64Mi' } },
        volumes: [{ name: 'd', dataVolume: { name: 'held' } }],
      },
      status: { phase: 'Running' },
    });
    api.delete(persistentVolumeClaimKind, NS, 'held');
    await new Promise((r) => setTimeout(r, 300));
    await provisioner.idle();
    assert.ok(claim('held')?.metadata.deletionTimestamp !== undefined, 'the claim is Terminating');
    assert.ok(existsSync(path), 'its disk is still there while the VMI runs');
    api.mutate<KubeObject>(
      virtualMachineInstanceKind,
      NS,
      'vm1',
      (v) => {
        v['status'] = { phase: 'Succeeded' };
      },
      true,
    );
    await eventually(() => claim('held') === undefined, 'the claim to go once the VMI finished');
    await eventually(() => !existsSync(path), 'the disk file to go');
    // The file goes first, then the PV: poll for both.
    await eventually(() => api.list(persistentVolumeKind).length === 0, 'the PV to go');
  });

  test('a volume edited to point at another host file is neither given to a guest nor deleted', async () => {
    dv('edited', { source: { blank: {} } });
    await settled('edited');
    const victim = join(pool, 'victim.txt');
    writeFileSync(victim, 'precious');
    const name = claim('edited')?.spec.volumeName ?? '';
    api.mutate<PersistentVolume>(persistentVolumeKind, '', name, (pv) => {
      pv.spec.hostPath = { path: victim, type: 'File' };
    });
    assert.equal(provisioner.claimPath(NS, 'edited'), undefined);
    api.delete(dataVolumeKind, NS, 'edited');
    api.delete(persistentVolumeClaimKind, NS, 'edited');
    await eventually(() => claim('edited') === undefined, 'the claim to go');
    await provisioner.idle();
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
  });

  test('expansion: offline with qemu-img, online through the node agent when a guest has the disk open', async () => {
    dv('grow', { source: { blank: {} } }, '16Mi');
    await settled('grow');
    api.mutate<Claim>(persistentVolumeClaimKind, NS, 'grow', (c) => {
      c.spec.resources = { requests: { storage: '32Mi' } };
    });
    await eventually(() => claim('grow')?.status?.capacity?.['storage'] === '32Mi', 'capacity 32Mi');
    assert.equal(volume('grow').virtualSize, 32 * 1048576);
    const path = volume('grow').path;
    guestHasDisk = (p) => p === path;
    api.mutate<Claim>(persistentVolumeClaimKind, NS, 'grow', (c) => {
      c.spec.resources = { requests: { storage: '48Mi' } };
    });
    await eventually(() => claim('grow')?.status?.capacity?.['storage'] === '48Mi', 'capacity 48Mi');
    assert.deepEqual(resized, [{ path, bytes: 48 * 1048576 }]);
    assert.ok(
      eventsOf('grow').some((e) => e.reason === 'VolumeResizeSuccessful' && /online/.test(e.message ?? '')),
    );
    assert.throws(
      () =>
        api.mutate<Claim>(persistentVolumeClaimKind, NS, 'grow', (c) => {
          c.spec.resources = { requests: { storage: '8Mi' } };
        }),
      /field can not be less than previous value/,
    );
  });
});

describe('DataVolume imports over http', () => {
  for (const file of [
    'disk.qcow2',
    'disk.raw',
    'disk.qcow2.gz',
    'disk.raw.xz',
    'disk.vmdk',
    'disk.vhd',
    'disk.vhdx',
  ]) {
    test(`${file} is imported into a thin qcow2 of the requested size`, async () => {
      const name = file.replace(/[^a-z0-9]/g, '-');
      dv(name, http(file));
      const d = await settled(name);
      assert.equal(d.status?.phase, 'Succeeded', JSON.stringify(d.status));
      assert.equal(d.status?.progress, '100.0%');
      assert.deepEqual(
        d.status?.conditions?.map((c) => [c.type, c.status, c.reason ?? '']),
        [
          ['Bound', 'True', 'Bound'],
          ['Ready', 'True', ''],
          ['Running', 'False', 'Completed'],
        ],
      );
      const v = volume(name);
      assert.equal(v.head, GOLDEN);
      assert.equal(v.format, 'qcow2');
      assert.equal(v.virtualSize, 16 * 1048576, 'grown from the 8 MiB image to the 16 MiB volume');
      assert.equal(claim(name)?.metadata.ownerReferences?.[0]?.kind, 'DataVolume');
      assert.deepEqual(
        readdirSync(pool).filter((f) => f.endsWith('.part')),
        [],
      );
    });
  }

  test('a matching checksum (sha256 or md5 of the file as served) passes; a wrong one fails with ChecksumError', async () => {
    dv('sum-ok', http('disk.qcow2.gz', { checksum: `sha256:${fixtures.sha256('disk.qcow2.gz')}` }));
    dv('sum-md5', http('disk.raw', { checksum: `md5:${fixtures.md5('disk.raw')}` }));
    dv('sum-bad', http('disk.raw', { checksum: `sha256:${'0'.repeat(64)}` }));
    assert.equal((await settled('sum-ok')).status?.phase, 'Succeeded');
    assert.equal((await settled('sum-md5')).status?.phase, 'Succeeded');
    const bad = await settled('sum-bad');
    assert.equal(bad.status?.phase, 'Failed');
    assert.equal(running(bad)?.reason, 'ChecksumError');
    assert.match(
      running(bad)?.message ?? '',
      /checksum mismatch: expected sha256:0{64}, calculated sha256:[0-9a-f]{64}/,
    );
    assert.equal(bad.status?.restartCount, 0, 'a checksum mismatch is not retried');
  });

  test('a 404 fails at once with the reason; a dropped connection is retried and succeeds', async () => {
    dv('missing', http('no-such-image.qcow2'));
    dv('dropped', http('drop-once/disk.raw'));
    const missing = await settled('missing');
    assert.equal(missing.status?.phase, 'Failed');
    assert.equal(running(missing)?.reason, 'NotFound');
    assert.match(
      running(missing)?.message ?? '',
      /HTTP 404 Not Found from http:\/\/127\.0\.0\.1:\d+\/no-such-image\.qcow2/,
    );
    const dropped = await settled('dropped');
    assert.equal(dropped.status?.phase, 'Succeeded', JSON.stringify(dropped.status));
    assert.equal(dropped.status?.restartCount, 1);
    assert.equal(server.hits.get('/drop-once/disk.raw'), 2);
    assert.ok(eventsOf('dropped').some((e) => e.reason === 'Error' && /retrying in/.test(e.message ?? '')));
    assert.equal(volume('dropped').head, GOLDEN);
  });

  test('basic auth from secretRef; without it the import fails as Unauthorized', async () => {
    api.create(secretKind, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: NS },
      stringData: { accessKeyId: 'hikube', secretKey: 's3cret' },
    });
    dv('authed', http('auth/disk.qcow2', { secretRef: 'creds' }));
    dv('anonymous', http('auth/disk.qcow2'));
    assert.equal((await settled('authed')).status?.phase, 'Succeeded');
    const anon = await settled('anonymous');
    assert.equal(running(anon)?.reason, 'Unauthorized');
  });

  test('corrupt, unsupported and oversized images fail with a clear reason and leave the volume blank', async () => {
    const cases: [string, string, RegExp, string?][] = [
      ['bad-version.qcow2', 'UnsupportedFormat', /unsupported qcow2 version 9/],
      ['truncated.qcow2', 'CorruptImage', /qcow2 image is corrupt/],
      ['truncated.raw.xz', 'CorruptImage', /xz data is corrupt: .*Unexpected end of input/],
      ['archive.zip', 'UnsupportedFormat', /a zip archive, not a disk image/],
      ['backed.qcow2', 'UnsupportedFormat', /refers to another file/],
      [
        'disk.qcow2',
        'ImageTooLarge',
        /virtual image size 8388608 \(8Mi\) is larger than the volume \(4Mi\)/,
        '4Mi',
      ],
    ];
    for (const [file, , , size] of cases) dv(file.replace(/[^a-z0-9]/g, '-'), http(file), size ?? '16Mi');
    for (const [file, reason, message] of cases) {
      const d = await settled(file.replace(/[^a-z0-9]/g, '-'));
      assert.equal(d.status?.phase, 'Failed', file);
      assert.equal(running(d)?.reason, reason, file);
      assert.match(running(d)?.message ?? '', message, file);
    }
    assert.deepEqual(
      readdirSync(pool).filter((f) => f.includes('.part')),
      [],
      'no partial files',
    );
  });

  test("progress goes up as the bytes arrive, in CDI's format", async () => {
    const seen = new Set<string>();
    const stop = api.watch([dataVolumeKind], (e) => {
      const p = (e.object as DataVolume).status?.progress;
      if (e.name === 'slow' && p !== undefined) seen.add(p);
    });
    dv('slow', http('slow/disk.raw'));
    await settled('slow');
    stop();
    const middle = [...seen].filter((p) => p !== 'N/A' && p !== '100.0%');
    assert.ok(middle.length >= 3, `several intermediate values: ${[...seen].join(' ')}`);
    for (const p of middle) assert.match(p, /^\d{1,3}\.\d\d%$/);
  });
});

describe('uploads, clones and DataSources', () => {
  test('an upload DataVolume becomes UploadReady, takes a stream, and succeeds', async () => {
    dv('up', { source: { upload: {} } });
    await eventually(() => getDv('up')?.status?.phase === 'UploadReady', 'UploadReady');
    const body = createReadStream(join(fixtures.dir, 'disk.raw.xz'));
    const result = await dvs.upload(NS, 'up', body, undefined);
    assert.deepEqual(
      [result.compression, result.sourceFormat, result.virtualSize],
      ['xz', 'raw', IMAGE_BYTES],
    );
    assert.equal(getDv('up')?.status?.phase, 'Succeeded');
    assert.equal(volume('up').head, GOLDEN);
    await assert.rejects(
      dvs.upload(NS, 'up', createReadStream(join(fixtures.dir, 'disk.raw')), undefined),
      /already holds an upload/,
    );
  });

  test('a DataVolume from a DataSource clones the golden image into a bigger disk', async () => {
    dv('golden', http('disk.qcow2'));
    api.create<KubeObject>(dataSourceKind, {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataSource',
      metadata: { name: 'debian', namespace: NS },
      spec: { source: { pvc: { name: 'golden' } } },
    });
    dv('copy', { sourceRef: { kind: 'DataSource', name: 'debian' } }, '32Mi');
    const copy = await settled('copy');
    assert.equal(copy.status?.phase, 'Succeeded', JSON.stringify(copy.status));
    assert.equal(running(copy)?.message, 'Clone Complete');
    assert.equal(volume('copy').head, GOLDEN);
    assert.equal(volume('copy').virtualSize, 32 * 1048576);
    assert.notEqual(volume('copy').path, volume('golden').path);
    await eventually(
      () =>
        api
          .get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
            dataSourceKind,
            NS,
            'debian',
          )
          ?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True'),
      'DataSource Ready',
    );
    assert.ok(eventsOf('copy').some((e) => e.reason === 'CloneSucceeded'));
  });
});
