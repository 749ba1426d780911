/**
 * The snapshot controller over an in-memory store with a fake node Snapshotter: a snapshot's
 * phases, content and indications; failure when the source is gone or the deadline passes;
 * deleting a snapshot frees its layers before it goes; a restore waits for (or stops) a running
 * target per targetReadinessPolicy; a restore to a new VM creates claims before the VM; a clone
 * walks SnapshotInProgress → CreatingTargetVM → RestoreInProgress → Succeeded with a new identity.
 * Also the admission checks that look at other objects, and the clone's patches and filters.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { virtualMachineCloneKind, type VirtualMachineClone } from '../../../src/api/clone/clone.js';
import { eventKind, persistentVolumeClaimKind, type Event } from '../../../src/api/core/core.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { parseDuration } from '../../../src/api/duration.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
} from '../../../src/api/snapshot/content.js';
import { virtualMachineRestoreKind, type VirtualMachineRestore } from '../../../src/api/snapshot/restore.js';
import {
  virtualMachineSnapshotKind,
  type VirtualMachineSnapshot,
} from '../../../src/api/snapshot/snapshot.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { EventRecorder } from '../../../src/runtime/events.js';
import { clonePatches, filterKeys } from '../../../src/controllers/snapshot/clone.js';
import { SnapshotController } from '../../../src/controllers/snapshot/controller.js';
import type { Snapshotter, TakeRequest } from '../../../src/node/snapshots.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';

const NS = 'default';

class FakeSnapshotter implements Snapshotter {
  taken: TakeRequest[] = [];
  restored: { path: string; layer: string; full: boolean }[] = [];
  deleted: string[] = [];
  take(
    req: TakeRequest,
  ): Promise<{ layers: Record<string, string>; indications: ('Online' | 'NoGuestAgent')[] }> {
    this.taken.push(req);
    const n = this.taken.length;
    return Promise.resolve({
      layers: Object.fromEntries(req.volumes.map((v) => [v.name, `/pool/${v.name}-layer${n}.qcow2`])),
      indications: ['Online', 'NoGuestAgent'],
    });
  }
  restore(volumes: { path: string; layer: string }[], full = false): Promise<void> {
    for (const v of volumes) this.restored.push({ ...v, full });
    return Promise.resolve();
  }
  deleteLayer(layer: string): Promise<void> {
    this.deleted.push(layer);
    return Promise.resolve();
  }
}

let store: SqliteStore;
let api: ApiClient;
let fake: FakeSnapshotter;
let controller: SnapshotController;
let now: Date;
const bound = new Set<string>();

beforeEach(() => {
  store = new SqliteStore({ path: ':memory:' });
  now = new Date('2026-01-01T00:00:00Z');
  const registry = new Registry(store, { now: () => now });
  const nsDef = findKindByGvk('v1', 'Namespace');
  assert.ok(nsDef);
  registry.create(nsDef, '', { metadata: { name: NS } });
  api = new ApiClient(registry);
  fake = new FakeSnapshotter();
  bound.clear();
  controller = new SnapshotController({
    api,
    events: new EventRecorder(api, 'snapshot-controller', 'node'),
    snapshotter: fake,
    claimPath: (ns, claim) => (bound.has(claim) ? `/pool/${claim}.qcow2` : undefined),
    now: () => now,
  });
  controller.start();
});
afterEach(() => {
  controller.stop();
  store.close();
});

function makeVm(name: string, running = false): VirtualMachine {
  return api.create<VirtualMachine>(virtualMachineKind, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS, labels: { app: 'web', 'team/internal': 'x' } },
    spec: {
      runStrategy: running ? 'Always' : 'Halted',
      template: {
        spec: {
          domain: {
            memory: { guest: '128Mi' },
            firmware: { uuid: '11111111-2222-3333-4444-555555555555', serial: 'abc' },
            devices: { interfaces: [{ name: 'default', masquerade: {}, macAddress: '02:00:00:00:00:01' }] },
          },
          networks: [{ name: 'default', pod: {} }],
          volumes: [
            { name: 'root', containerDisk: { image: 'hikube/tiny' } },
            { name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } },
          ],
        },
      },
    },
  } as unknown as VirtualMachine);
}

function makeClaim(name: string): void {
  api.create(persistentVolumeClaimKind, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  bound.add(name);
}

const snapshotOf = (name: string, vm: string): VirtualMachineSnapshot =>
  api.create<VirtualMachineSnapshot>(virtualMachineSnapshotKind, {
    apiVersion: 'snapshot.kubevirt.io/v1beta1',
    kind: 'VirtualMachineSnapshot',
    metadata: { name, namespace: NS },
    spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: vm } },
  });

const getSnap = (name: string): VirtualMachineSnapshot | undefined =>
  api.get<VirtualMachineSnapshot>(virtualMachineSnapshotKind, NS, name);

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await controller.idle();
    await new Promise((r) => setTimeout(r, 5));
  }
}

const eventsOf = (o: KubeObject | undefined): Event[] =>
  api.list<Event>(eventKind, NS).filter((e) => e.involvedObject.uid === o?.metadata.uid);

function causesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    return (err.details?.causes ?? []).map((c) => `${c.path}: ${c.message}`);
  }
  assert.fail('expected a 422');
}

describe('VirtualMachineSnapshot', () => {
  test('an attempt that died between writing the content and its status is finished, not retaken', async () => {
    makeVm('crashy');
    makeClaim('crashy-data');
    // The process "dies" right after creating the content: its status write never happens.
    const write = api.updateStatus.bind(api);
    let died = false;
    api.updateStatus = <T extends KubeObject>(def: Parameters<ApiClient['updateStatus']>[0], o: T): T => {
      if (def === virtualMachineSnapshotContentKind && !died) {
        died = true;
        throw new Error('killed');
      }
      return write(def, o);
    };
    snapshotOf('s-crash', 'crashy');
    await eventually(() => getSnap('s-crash')?.status?.readyToUse === true, 'the snapshot to finish', 10_000);
    assert.ok(died);
    assert.equal(fake.taken.length, 1, 'no second set of layers taken');
    const content = api.get<VirtualMachineSnapshotContent>(
      virtualMachineSnapshotContentKind,
      NS,
      getSnap('s-crash')?.status?.virtualMachineSnapshotContentName ?? '',
    );
    assert.equal(content?.status?.readyToUse, true);
  });

  test('offline snapshot: content with the VM spec and one backup per persistent volume', async () => {
    makeVm('db');
    makeClaim('db-data');
    snapshotOf('s1', 'db');
    await settle();
    const s = getSnap('s1');
    assert.equal(s?.status?.phase, 'Succeeded');
    assert.equal(s?.status?.readyToUse, true);
    assert.deepEqual(s?.status?.snapshotVolumes, { includedVolumes: ['data'], excludedVolumes: ['root'] });
    assert.deepEqual(s?.metadata.finalizers, ['snapshot.kubevirt.io/vmsnapshot-protection']);
    assert.deepEqual(
      s?.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      ['Progressing=False', 'Ready=True'],
    );
    assert.deepEqual(fake.taken[0]?.volumes, [{ name: 'data', path: '/pool/db-data.qcow2' }]);
    assert.equal(fake.taken[0]?.freeze, false);
    const content = api.get<VirtualMachineSnapshotContent>(
      virtualMachineSnapshotContentKind,
      NS,
      s?.status?.virtualMachineSnapshotContentName ?? '',
    );
    assert.equal(content?.status?.readyToUse, true);
    // As written to the store (what a restart reads back), not only as held in memory.
    const stored = store.get(
      'snapshot.kubevirt.io/virtualmachinesnapshotcontents',
      NS,
      content?.metadata.name ?? '',
    );
    assert.equal(
      (JSON.parse(stored?.json ?? '{}') as VirtualMachineSnapshotContent).status?.readyToUse,
      true,
    );
    assert.equal(content?.spec.volumeBackups?.[0]?.persistentVolumeClaim.metadata?.['name'], 'db-data');
    assert.equal((content?.spec.source.virtualMachine?.['metadata'] as { name: string }).name, 'db');
    assert.equal(
      api.get<VirtualMachine>(virtualMachineKind, NS, 'db')?.status?.snapshotInProgress,
      undefined,
    );

    // Deleting the snapshot frees its layer first, then both objects go.
    api.delete(virtualMachineSnapshotKind, NS, 's1');
    await settle();
    assert.deepEqual(fake.deleted, ['/pool/data-layer1.qcow2']);
    assert.equal(getSnap('s1'), undefined);
    assert.equal(api.list(virtualMachineSnapshotContentKind, NS).length, 0);
  });

  test('a snapshot waits for a VM that does not exist yet; a source gone mid-way or the deadline fails it', async () => {
    snapshotOf('early', 'later');
    await settle();
    const waiting = getSnap('early');
    assert.equal(waiting?.status?.phase, undefined, 'not started');
    const progressing = waiting?.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(progressing?.reason, 'SourceDoesNotExist');
    assert.match(progressing?.message ?? '', /waiting for VirtualMachine "later"/);
    assert.deepEqual(
      eventsOf(waiting).map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`),
      ['SourceDoesNotExist: waiting for VirtualMachine "later": it does not exist yet'],
    );
    makeVm('later');
    makeClaim('later-data');
    await settle();
    assert.equal(getSnap('early')?.status?.phase, 'Succeeded', 'the VM appearing wakes its snapshot');

    makeVm('gone');
    snapshotOf('s', 'gone');
    await settle();
    assert.equal(getSnap('s')?.status?.phase, 'InProgress', 'its claim never binds');
    api.delete(virtualMachineKind, NS, 'gone');
    await settle();
    assert.equal(getSnap('s')?.status?.phase, 'Failed');
    assert.match(getSnap('s')?.status?.error?.message ?? '', /does not exist/);

    makeVm('slow'); // its claim never binds
    snapshotOf('t', 'slow');
    await settle();
    assert.equal(getSnap('t')?.status?.phase, 'InProgress');
    now = new Date(now.getTime() + 6 * 60_000);
    api.mutate(virtualMachineSnapshotKind, NS, 't', (o) => {
      o.metadata.labels = { poke: '1' };
    });
    await settle();
    assert.equal(getSnap('t')?.status?.phase, 'Failed');
    assert.match(getSnap('t')?.status?.error?.message ?? '', /^snapshot deadline exceeded$/);
  });

  test('admission: bad kind and group, bad deadline, immutable source (an unknown VM is accepted)', () => {
    makeVm('vm1');
    assert.deepEqual(
      causesOf(() =>
        api.create(virtualMachineSnapshotKind, {
          apiVersion: 'snapshot.kubevirt.io/v1beta1',
          kind: 'VirtualMachineSnapshot',
          metadata: { name: 'x', namespace: NS },
          spec: { source: { apiGroup: 'v1', kind: 'Pod', name: 'p' }, failureDeadline: '5 minutes' },
        }),
      ),
      [
        'spec.source.kind: Unsupported value: "Pod": supported values: "VirtualMachine"',
        'spec.source.apiGroup: Unsupported value: "v1": supported values: "kubevirt.io"',
        'spec.failureDeadline: Invalid value: "5 minutes": a duration such as "5m" or "90s"',
      ],
    );
    assert.equal(
      snapshotOf('y', 'nope').spec.source.name,
      'nope',
      'a VM that does not exist yet is accepted',
    );
    snapshotOf('z', 'vm1');
    assert.deepEqual(
      causesOf(() =>
        api.mutate<VirtualMachineSnapshot>(virtualMachineSnapshotKind, NS, 'z', (s) => {
          s.spec.source.name = 'other';
        }),
      ),
      ['spec.source: Forbidden: spec.source is immutable'],
    );
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('soon'), undefined);
  });
});

describe('VirtualMachineRestore', () => {
  const restoreOf = (
    name: string,
    target: string,
    snapshot: string,
    policy?: string,
  ): VirtualMachineRestore =>
    api.create<VirtualMachineRestore>(virtualMachineRestoreKind, {
      apiVersion: 'snapshot.kubevirt.io/v1beta1',
      kind: 'VirtualMachineRestore',
      metadata: { name, namespace: NS },
      spec: {
        target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: target },
        virtualMachineSnapshotName: snapshot,
        ...(policy !== undefined ? { targetReadinessPolicy: policy } : {}),
      },
    } as VirtualMachineRestore);
  const getRestore = (name: string): VirtualMachineRestore | undefined =>
    api.get<VirtualMachineRestore>(virtualMachineRestoreKind, NS, name);

  test('in place: StopTarget halts the running VM, then the volumes and the spec come back', async () => {
    makeVm('app', true);
    makeClaim('app-data');
    snapshotOf('s1', 'app');
    await settle();
    api.mutate<VirtualMachine>(virtualMachineKind, NS, 'app', (v) => {
      v.spec.template.spec!.domain.devices.interfaces![0]!.macAddress = '02:00:00:00:00:99';
    });
    const vmi = api.create(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'app', namespace: NS },
      spec: { domain: { memory: { guest: '128Mi' }, devices: {} } },
    });
    assert.ok(vmi);
    restoreOf('r1', 'app', 's1', 'StopTarget');
    await settle();
    assert.equal(api.get<VirtualMachine>(virtualMachineKind, NS, 'app')?.spec.runStrategy, 'Halted');
    assert.equal(getRestore('r1')?.status?.complete, false);
    assert.equal(fake.restored.length, 0, 'nothing restored while the guest runs');
    api.delete(virtualMachineInstanceKind, NS, 'app');
    await settle();
    assert.equal(getRestore('r1')?.status?.complete, true);
    assert.deepEqual(fake.restored, [
      { path: '/pool/app-data.qcow2', layer: '/pool/data-layer1.qcow2', full: false },
    ]);
    const vm = api.get<VirtualMachine>(virtualMachineKind, NS, 'app');
    assert.equal(vm?.spec.template.spec?.domain.devices.interfaces?.[0]?.macAddress, '02:00:00:00:00:01');
    assert.equal(vm?.spec.runStrategy, 'Halted', 'the run strategy stays what it is now');
    assert.deepEqual(getRestore('r1')?.status?.restores, [
      {
        volumeName: 'data',
        persistentVolumeClaim: 'app-data',
        volumeSnapshotName: `vmsnapshot-${getSnap('s1')?.metadata.uid ?? ''}-volume-data`,
      },
    ]);
  });

  test('FailImmediate on a running target fails; a restore waits for a snapshot that does not exist yet', async () => {
    makeVm('app', true);
    makeClaim('app-data');
    snapshotOf('s1', 'app');
    await settle();
    api.create(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'app', namespace: NS },
      spec: { domain: { memory: { guest: '128Mi' }, devices: {} } },
    });
    restoreOf('r', 'app', 's1', 'FailImmediate');
    await settle();
    const failure = getRestore('r')?.status?.conditions?.find((c) => c.type === 'Failure');
    assert.equal(failure?.status, 'True');
    assert.match(failure?.message ?? '', /is running/);

    // Admission no longer looks for the snapshot: the restore waits for it, then goes on.
    const early = restoreOf('x', 'copy', 'later');
    await settle();
    const waiting = getRestore('x')?.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(waiting?.reason, 'SnapshotDoesNotExist');
    assert.match(waiting?.message ?? '', /waiting for VirtualMachineSnapshot "later"/);
    assert.ok(eventsOf(early).some((e) => e.reason === 'SnapshotDoesNotExist'));
    makeVm('stuck'); // claim never bound: its snapshot stays InProgress
    snapshotOf('pending', 'stuck');
    await settle();
    makeVm('third');
    assert.deepEqual(
      causesOf(() => restoreOf('y', 'third', 'pending')),
      [
        'spec.target.name: Invalid value: "third": restoring onto another existing VM is not supported; name a new VM or "stuck"',
      ],
      'a snapshot not ready yet is accepted; restoring onto another VM is not',
    );
    makeVm('other');
    makeClaim('other-data');
    snapshotOf('later', 'other');
    await settle();
    assert.equal(getSnap('later')?.status?.readyToUse, true);
    // The snapshot appearing woke the restore: it is filling the new VM's claim.
    const claim = `restore-${early.metadata.uid ?? ''}-data`;
    assert.ok(api.get(persistentVolumeClaimKind, NS, claim), 'claim created');
    assert.notEqual(
      getRestore('x')?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason,
      'SnapshotDoesNotExist',
    );
  });

  test('to a new VM: claims (RandomizeNames) filled before the VM is created, owned by it', async () => {
    makeVm('app');
    makeClaim('app-data');
    snapshotOf('s1', 'app');
    await settle();
    const r = restoreOf('r2', 'copy', 's1');
    await settle();
    const claim = `restore-${r.metadata.uid ?? ''}-data`;
    assert.ok(api.get(persistentVolumeClaimKind, NS, claim), 'claim created');
    assert.equal(api.get(virtualMachineKind, NS, 'copy'), undefined, 'no VM before its disks are filled');
    bound.add(claim);
    api.mutate(virtualMachineRestoreKind, NS, 'r2', (o) => {
      o.metadata.labels = { poke: '1' };
    });
    await settle();
    const copy = api.get<VirtualMachine>(virtualMachineKind, NS, 'copy');
    assert.ok(copy);
    assert.equal(copy.spec.template.spec?.volumes?.[1]?.persistentVolumeClaim?.claimName, claim);
    assert.deepEqual(fake.restored, [
      { path: `/pool/${claim}.qcow2`, layer: '/pool/data-layer1.qcow2', full: false },
    ]);
    assert.equal(
      api.get<KubeObject>(persistentVolumeClaimKind, NS, claim)?.metadata.ownerReferences?.[0]?.name,
      'copy',
    );
    assert.equal(getRestore('r2')?.status?.complete, true);
  });
});

describe('VirtualMachineClone', () => {
  test('phases, a kept snapshot, a new VM without the source identity', async () => {
    makeVm('src');
    makeClaim('src-data');
    const clone = api.create<VirtualMachineClone>(virtualMachineCloneKind, {
      apiVersion: 'clone.kubevirt.io/v1beta1',
      kind: 'VirtualMachineClone',
      metadata: { name: 'c1', namespace: NS },
      spec: {
        source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'src' },
        target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'dst' },
        labelFilters: ['*', '!team/*'],
        newSMBiosSerial: 'new-serial',
      },
    });
    const phases = new Set<string>();
    const off = api.watch([virtualMachineCloneKind], () => {
      const p = api.get<VirtualMachineClone>(virtualMachineCloneKind, NS, 'c1')?.status?.phase;
      if (p !== undefined) phases.add(p);
    });
    await settle();
    const claim = api
      .list<KubeObject>(persistentVolumeClaimKind, NS)
      .find((c) => c.metadata.name?.startsWith('restore-'))?.metadata.name;
    assert.ok(claim);
    bound.add(claim);
    api.mutate(virtualMachineRestoreKind, NS, `restore-${clone.metadata.uid ?? ''}`, (o) => {
      o.metadata.labels = { ...o.metadata.labels, poke: '1' };
    });
    await settle();
    off();
    assert.deepEqual(
      [...phases],
      ['SnapshotInProgress', 'CreatingTargetVM', 'RestoreInProgress', 'Succeeded'],
    );
    const dst = api.get<VirtualMachine>(virtualMachineKind, NS, 'dst');
    assert.ok(dst);
    const domain = dst.spec.template.spec?.domain;
    assert.equal(
      domain?.devices.interfaces?.[0]?.macAddress,
      undefined,
      'a new MAC is derived from the new name',
    );
    assert.equal(domain?.firmware?.uuid, undefined);
    assert.equal(domain?.firmware?.serial, 'new-serial');
    assert.equal(dst.metadata.labels?.['app'], 'web');
    assert.equal(dst.metadata.labels?.['team/internal'], undefined);
    assert.equal(
      getSnap(`tmp-snapshot-${clone.metadata.uid ?? ''}`)?.status?.readyToUse,
      true,
      'a linked clone keeps its snapshot',
    );
  });

  test('a clone waits for its source; an existing target fails it; patches', async () => {
    makeVm('src');
    makeVm('taken');
    const early = api.create<VirtualMachineClone>(virtualMachineCloneKind, {
      apiVersion: 'clone.kubevirt.io/v1beta1',
      kind: 'VirtualMachineClone',
      metadata: { name: 'early', namespace: NS },
      spec: {
        source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'ghost' },
        target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'taken' },
      },
    });
    await settle();
    const clone = (): VirtualMachineClone | undefined =>
      api.get<VirtualMachineClone>(virtualMachineCloneKind, NS, 'early');
    const waiting = clone()?.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(waiting?.reason, 'SourceDoesNotExist');
    assert.match(waiting?.message ?? '', /waiting for VirtualMachine "ghost"/);
    assert.ok(eventsOf(early).some((e) => e.reason === 'SourceDoesNotExist'));
    makeVm('ghost');
    await settle();
    assert.equal(clone()?.status?.phase, 'Failed', 'the source appeared; the target exists');
    assert.match(
      clone()?.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
      /target VirtualMachine "taken" already exists/,
    );
    assert.deepEqual(filterKeys({ a: '1', 'b/x': '2', c: '3' }, ['*', '!b/*', '!c']), { a: '1' });
    assert.deepEqual(filterKeys({ a: '1' }, undefined), { a: '1' });
    const src = api.get<VirtualMachine>(virtualMachineKind, NS, 'src');
    assert.ok(src);
    const ops = clonePatches(
      {
        apiVersion: 'clone.kubevirt.io/v1beta1',
        kind: 'VirtualMachineClone',
        metadata: {},
        spec: {
          source: { kind: 'VirtualMachine', name: 'src' },
          newMacAddresses: { default: '02:11:22:33:44:55' },
          patches: ['{"op":"add","path":"/metadata/labels/extra","value":"1"}'],
        },
      },
      src,
    );
    assert.deepEqual(ops.slice(2), [
      {
        op: 'replace',
        path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
        value: '02:11:22:33:44:55',
      },
      { op: 'remove', path: '/spec/template/spec/domain/firmware/uuid' },
      { op: 'remove', path: '/spec/template/spec/domain/firmware/serial' },
      { op: 'add', path: '/metadata/labels/extra', value: '1' },
    ]);
  });
});
