/**
 * Runs the ScheduleSnapshots contract against the in-memory fake and against the API adapter over
 * a real Registry and SQLite store. The adapter runs on the platform's VirtualMachineSnapshot
 * kind when one is registered, else on a minimal stand-in kind of the same group, version and
 * fields (declared here, never served), so this file needs no change once the real kind lands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KindDefinition } from '../../../src/api/kind.js';
import { ObjectMeta } from '../../../src/api/meta.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { Preserve, StringEnum, Type, opt } from '../../../src/api/schema.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import {
  apiScheduleSnapshots,
  SNAPSHOT_API_VERSION,
  SNAPSHOT_KIND,
} from '../../../src/controllers/schedule/api-snapshots.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeScheduleSnapshots } from '../../support/schedule-snapshots.js';
import { CONTRACT_VMS, scheduleSnapshotsContract } from './schedule-snapshots.contract.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';

/** A stand-in with KubeVirt's field names, for as long as the platform does not register the kind. */
const standInSnapshotKind: KindDefinition = {
  group: 'snapshot.kubevirt.io',
  version: 'v1beta1',
  kind: SNAPSHOT_KIND,
  plural: 'virtualmachinesnapshots',
  singular: 'virtualmachinesnapshot',
  namespaced: true,
  description: 'test stand-in',
  schema: Type.Object({
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: ObjectMeta,
    spec: Type.Object({
      source: Type.Object({ apiGroup: opt(Type.String()), kind: Type.String(), name: Type.String() }),
      failureDeadline: opt(Type.String()),
    }),
    status: opt(
      Type.Object({
        phase: opt(StringEnum(['InProgress', 'Succeeded', 'Failed', 'Unknown'])),
        readyToUse: opt(Type.Boolean()),
        error: opt(Preserve()),
      }),
    ),
  }),
  statusSubresource: true,
  printerColumns: [],
};

const snapshotKind = findKindByGvk(SNAPSHOT_API_VERSION, SNAPSHOT_KIND) ?? standInSnapshotKind;
const kindName = snapshotKind === standInSnapshotKind ? 'stand-in kind' : 'registered kind';

function apiHarness() {
  const store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry(store);
  const nsDef = findKindByGvk('v1', 'Namespace');
  if (nsDef === undefined) throw new Error('Namespace kind missing');
  for (const name of ['default', 'other']) registry.create(nsDef, '', { metadata: { name } });
  const api = new ApiClient(registry);
  // VMs for the snapshots to be of (a snapshot of another name waits for its VM).
  for (const namespace of ['default', 'other'])
    for (const name of CONTRACT_VMS)
      api.create<VirtualMachine>(virtualMachineKind, {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, namespace },
        spec: {
          runStrategy: 'Halted',
          template: { spec: { domain: { devices: {}, memory: { guest: '64Mi' } } } },
        },
      });
  return { store, api, registry };
}

scheduleSnapshotsContract(`API adapter (${kindName})`, async () => {
  const { store, api, registry } = apiHarness();
  const manager = new Manager(new RegistryTransport(registry));
  const port = apiScheduleSnapshots(manager, () => snapshotKind);
  const unavailable = apiScheduleSnapshots(manager, () => undefined);
  await manager.start();
  return {
    port,
    unavailable,
    setStatus(namespace, name, status) {
      api.mutate(
        snapshotKind,
        namespace,
        name,
        (o) => {
          o['status'] = {
            ...(status.phase !== undefined ? { phase: status.phase } : {}),
            ...(status.readyToUse !== undefined ? { readyToUse: status.readyToUse } : {}),
            ...(status.error !== undefined ? { error: { message: status.error } } : {}),
          };
        },
        true,
      );
    },
    close() {
      manager.stop();
      store.close();
    },
  };
});

scheduleSnapshotsContract('in-memory fake', () => {
  const fake = new FakeScheduleSnapshots();
  const unavailable = new FakeScheduleSnapshots();
  unavailable.available = false;
  return {
    port: fake,
    unavailable,
    setStatus: (ns, name, s) => fake.setStatus(ns, name, s),
    close: () => undefined,
  };
});

test("the API adapter writes KubeVirt's VirtualMachineSnapshot, source and failureDeadline included", async () => {
  const { store, api, registry } = apiHarness();
  const manager = new Manager(new RegistryTransport(registry));
  try {
    const port = apiScheduleSnapshots(manager, () => snapshotKind);
    await manager.start();
    await port.create('default', {
      name: 'web-nightly-202405011200',
      vm: 'web',
      labels: { 'hikube.io/snapshot-schedule': 'nightly' },
      annotations: { 'hikube.io/scheduled-time': '2024-05-01T12:00:00Z' },
      failureDeadline: '5m',
    });
    const o = api.get(snapshotKind, 'default', 'web-nightly-202405011200');
    assert.equal(o?.apiVersion, 'snapshot.kubevirt.io/v1beta1');
    assert.equal(o?.kind, 'VirtualMachineSnapshot');
    assert.deepEqual(o?.metadata.labels, { 'hikube.io/snapshot-schedule': 'nightly' });
    assert.deepEqual(o?.['spec'], {
      source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'web' },
      failureDeadline: '5m',
    });
  } finally {
    manager.stop();
    store.close();
  }
});
