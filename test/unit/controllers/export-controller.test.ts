/**
 * The VirtualMachineExport controller in process over a real Registry (SQLite in memory), with
 * the clock injected: the token Secret generated (owned by the export) or waited for when named;
 * a running VM keeps the export Pending (InUse) until its VMI is gone; a snapshot exports its
 * frozen layers whatever the VM does; a VM without persistent volumes is Skipped; the links list
 * every format of every volume; an export past its ttlDuration is deleted.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { persistentVolumeClaimKind, secretKind } from '../../../src/api/core/core.js';
import { virtualMachineExportKind, type VirtualMachineExport } from '../../../src/api/export/export.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { virtualMachineKind } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { virtualMachineSnapshotContentKind } from '../../../src/api/snapshot/content.js';
import { virtualMachineSnapshotKind } from '../../../src/api/snapshot/snapshot.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ExportController } from '../../../src/controllers/export/controller.js';
import { LAYERS_ANNOTATION } from '../../../src/controllers/snapshot/volumes.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';

const NS = 'default';
let store: SqliteStore;
let api: ApiClient;
let manager: Manager;
let now: Date;

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  now = new Date('2026-01-01T00:00:00Z');
  const registry = new Registry(store, { now: () => now });
  const nsDef = findKindByGvk('v1', 'Namespace');
  assert.ok(nsDef);
  registry.create(nsDef, '', { metadata: { name: NS } });
  api = new ApiClient(registry);
  manager = new Manager(new RegistryTransport(registry));
  void manager.add(
    new ExportController({
      manager,
      events: recorderFor(manager, 'export-controller', 'node', () => now),
      claimPath: (_ns, claim) => (claim.startsWith('bound-') ? `/pool/${claim}.qcow2` : undefined),
      url: () => 'https://127.0.0.1:6443',
      caCert: 'CA PEM',
      now: () => now,
    }),
  );
  await manager.start();
});
afterEach(() => {
  manager.stop();
  store.close();
});

const vm = (name: string, volumes: unknown[]): void => {
  api.create(virtualMachineKind, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS },
    spec: {
      runStrategy: 'Halted',
      template: { spec: { domain: { memory: { guest: '128Mi' }, devices: {} }, volumes } },
    },
  });
};
const claim = (name: string): void => {
  api.create(persistentVolumeClaimKind, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
};
const exportOf = (
  name: string,
  source: { apiGroup: string; kind: string; name: string },
  extra = {},
): void => {
  api.create(virtualMachineExportKind, {
    apiVersion: 'export.kubevirt.io/v1',
    kind: 'VirtualMachineExport',
    metadata: { name, namespace: NS },
    spec: { source, ...extra },
  });
};
const get = (name: string): VirtualMachineExport | undefined =>
  api.get<VirtualMachineExport>(virtualMachineExportKind, NS, name);
const phaseOf = (name: string): Promise<VirtualMachineExport> =>
  eventually(
    () => (get(name)?.status?.phase !== undefined ? get(name) : undefined),
    `export ${name} to have a phase`,
  );
const until = (name: string, phase: string): Promise<VirtualMachineExport> =>
  eventually(() => (get(name)?.status?.phase === phase ? get(name) : undefined), `export ${name} ${phase}`);
const reason = (e: VirtualMachineExport): string | undefined =>
  e.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
const VM = (name: string) => ({ apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name });

describe('VirtualMachineExport controller', () => {
  test('a stopped VM: token Secret generated and owned, Ready with every link, TTL two hours', async () => {
    claim('bound-data');
    vm('app', [
      { name: 'root', containerDisk: { image: 'hikube/tiny' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'bound-data' } },
    ]);
    exportOf('ex', VM('app'));
    const e = await until('ex', 'Ready');
    assert.equal(e.status?.tokenSecretRef, 'export-token-ex');
    assert.equal(e.status?.virtualMachineName, 'app');
    assert.equal(e.status?.ttlExpirationTime, '2026-01-01T02:00:00Z');
    const secret = api.get<KubeObject & { data?: { token?: string } }>(secretKind, NS, 'export-token-ex');
    assert.equal(Buffer.from(secret?.data?.token ?? '', 'base64').toString().length, 32);
    assert.deepEqual(
      secret?.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid]),
      [['VirtualMachineExport', 'ex', e.metadata.uid]],
    );
    const link = e.status?.links?.external;
    assert.equal(link?.cert, 'CA PEM');
    assert.deepEqual(e.status?.links?.internal, link);
    assert.deepEqual(
      link?.volumes?.map((v) => [v.name, v.formats?.map((f) => f.format)]),
      [['data', ['raw', 'gzip', 'dir', 'tar.gz', 'qcow2']]],
    );
    assert.equal(
      link?.volumes?.[0]?.formats?.[0]?.url,
      'https://127.0.0.1:6443/exports/default/ex/volumes/data/disk.img',
    );
    assert.deepEqual(
      link?.manifests?.map((m) => m.type),
      ['all', 'auth-header-secret'],
    );
  });

  test('a running VM: Pending with reason InUse until its VMI is gone', async () => {
    claim('bound-d2');
    vm('busy', [{ name: 'data', persistentVolumeClaim: { claimName: 'bound-d2' } }]);
    api.create(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'busy', namespace: NS },
      spec: { domain: { memory: { guest: '128Mi' }, devices: {} } },
    });
    exportOf('ex2', VM('busy'));
    const pending = await phaseOf('ex2');
    assert.equal(pending.status?.phase, 'Pending');
    assert.equal(reason(pending), 'InUse');
    assert.equal(pending.status?.links, undefined);
    api.delete(virtualMachineInstanceKind, NS, 'busy');
    await until('ex2', 'Ready');
  });

  test('a claim not populated yet waits; a VM with no persistent volume is Skipped', async () => {
    claim('loose');
    vm('waiting', [{ name: 'data', persistentVolumeClaim: { claimName: 'loose' } }]);
    exportOf('ex3', VM('waiting'));
    assert.equal(reason(await phaseOf('ex3')), 'PVCPending');
    vm('bare', [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }]);
    exportOf('ex4', VM('bare'));
    assert.equal(reason(await until('ex4', 'Skipped')), 'VMNoVolumes');
  });

  test('a snapshot exports its frozen layers, the VM running or not', async () => {
    api.create(virtualMachineSnapshotContentKind, {
      apiVersion: 'snapshot.kubevirt.io/v1beta1',
      kind: 'VirtualMachineSnapshotContent',
      metadata: {
        name: 'content-s1',
        namespace: NS,
        annotations: { [LAYERS_ANNOTATION]: JSON.stringify({ 'vs-data': '/pool/layer1.qcow2' }) },
      },
      spec: {
        source: {},
        volumeBackups: [
          {
            volumeName: 'data',
            persistentVolumeClaim: { metadata: { name: 'd' } },
            volumeSnapshotName: 'vs-data',
          },
        ],
      },
    });
    api.create(virtualMachineSnapshotKind, {
      apiVersion: 'snapshot.kubevirt.io/v1beta1',
      kind: 'VirtualMachineSnapshot',
      metadata: { name: 's1', namespace: NS },
      spec: { source: VM('app') },
    });
    exportOf('ex5', { apiGroup: 'snapshot.kubevirt.io', kind: 'VirtualMachineSnapshot', name: 's1' });
    assert.equal(reason(await phaseOf('ex5')), 'NotReady');
    api.mutate(
      virtualMachineSnapshotKind,
      NS,
      's1',
      (s) => {
        (s as { status?: unknown }).status = {
          readyToUse: true,
          virtualMachineSnapshotContentName: 'content-s1',
        };
      },
      true,
    );
    const e = await until('ex5', 'Ready');
    assert.deepEqual(
      e.status?.links?.external?.volumes?.map((v) => v.name),
      ['data'],
    );
  });

  test('a named token Secret is waited for, and none is generated', async () => {
    claim('bound-d3');
    exportOf(
      'ex6',
      { apiGroup: '', kind: 'PersistentVolumeClaim', name: 'bound-d3' },
      { tokenSecretRef: 'mine' },
    );
    assert.equal(reason(await phaseOf('ex6')), 'TokenSecretNotFound');
    assert.equal(api.get(secretKind, NS, 'export-token-ex6'), undefined);
    api.create(secretKind, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'mine', namespace: NS },
      data: { token: Buffer.from('a-token-of-my-own').toString('base64') },
    });
    const e = await until('ex6', 'Ready');
    assert.equal(e.status?.tokenSecretRef, 'mine');
  });

  test('an export past its ttlDuration is deleted', async () => {
    claim('bound-d4');
    exportOf(
      'ex7',
      { apiGroup: '', kind: 'PersistentVolumeClaim', name: 'bound-d4' },
      { ttlDuration: '10m' },
    );
    const e = await until('ex7', 'Ready');
    assert.equal(e.status?.ttlExpirationTime, '2026-01-01T00:10:00Z');
    now = new Date('2026-01-01T00:10:01Z');
    // Any change wakes it; the controller also comes back by itself at the expiry time.
    api.mutate(virtualMachineExportKind, NS, 'ex7', (x) => {
      x.metadata.labels = { poke: '1' };
    });
    await eventually(() => get('ex7') === undefined, 'ex7 deleted');
  });
});
