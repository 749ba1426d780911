/**
 * The VM controller against a real Registry over an in-memory SQLite store, seeded as `hikube up`
 * seeds it (the default namespace and the catalog). The test plays the node agent by writing VMI
 * status, waits with controller.idle() and moves a fake clock instead of sleeping.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { seedObjects } from '../../../src/api/catalog.js';
import {
  controllerRevisionKind,
  eventKind,
  persistentVolumeClaimKind,
  secretKind,
  type ControllerRevision,
  type Event,
} from '../../../src/api/core/core.js';
import { networkAttachmentDefinitionKind } from '../../../src/api/network/nad.js';
import { virtualMachineInstancePresetKind } from '../../../src/api/kubevirt/preset.js';
import { virtualMachineClusterInstancetypeKind } from '../../../src/api/instancetype/instancetype.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import type { Condition } from '../../../src/api/kubevirt/status.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import {
  virtualMachineInstanceKind,
  type VirtualMachineInstance,
  type VirtualMachineInstanceSpec,
} from '../../../src/api/kubevirt/vmi.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { VmController } from '../../../src/controllers/vm/controller.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { FakeTime } from '../../support/fake-time.js';

const NS = 'default';

let time: FakeTime;
let store: SqliteStore;
let registry: Registry;
let api: ApiClient;
let controller: VmController;
let manager: Manager;
let syncErrors: string[];
let onSyncError: () => void;

/** First start of the platform: built-in namespace and catalog, as src/platform/platform.ts seeds them. */
function seed(r: Registry): void {
  const nsDef = findKindByGvk('v1', 'Namespace');
  if (nsDef === undefined) throw new Error('Namespace kind missing');
  r.create(nsDef, '', { metadata: { name: NS } });
  for (const object of seedObjects()) {
    const def = findKindByGvk(object.apiVersion, object.kind);
    if (def === undefined) throw new Error(`unknown kind ${object.apiVersion} ${object.kind}`);
    r.create(def, object.metadata.namespace ?? '', object);
  }
}

beforeEach(async () => {
  time = new FakeTime();
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store, { now: () => time.now });
  seed(registry);
  api = new ApiClient(registry);
  syncErrors = [];
  onSyncError = () => undefined;
  manager = new Manager(new RegistryTransport(registry));
  controller = new VmController({
    manager,
    events: recorderFor(manager, 'virtualmachine-controller', 'node-1', () => time.now),
    now: () => time.now,
    timers: time,
    log: (message) => {
      syncErrors.push(message);
      onSyncError();
    },
  });
  void manager.add(controller);
  await manager.start();
});

afterEach(() => {
  manager.stop();
  store.close();
});

/**
 * Waits until the controller has nothing left to do. A failed sync fails the test instead of
 * hanging it (its retry waits on the fake clock); `tolerate` instead stops waiting at a new failure.
 */
async function settle(tolerate = false): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const fail = (): void => reject(new Error(`the VM controller failed: ${syncErrors.join('; ')}`));
    if (!tolerate && syncErrors.length > 0) return fail();
    onSyncError = tolerate ? resolve : fail;
    controller.idle().then(resolve, reject);
  });
  onSyncError = () => undefined;
}

const template = (): VirtualMachineInstanceSpec => ({
  domain: {
    devices: { disks: [{ name: 'root', disk: {} }] },
    resources: { requests: { memory: '256Mi' } },
  },
  volumes: [{ name: 'root', containerDisk: { image: 'tiny' } }],
});

function createVm(spec: Partial<VirtualMachine['spec']>, name = 'web'): VirtualMachine {
  return api.create<VirtualMachine>(virtualMachineKind, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS },
    spec: { template: { metadata: { labels: { app: name } }, spec: template() }, ...spec },
  });
}

const getVm = (name = 'web'): VirtualMachine => {
  const vm = api.get<VirtualMachine>(virtualMachineKind, NS, name);
  if (vm === undefined) throw new Error(`VM ${name} not found`);
  return vm;
};
const getVmi = (name = 'web'): VirtualMachineInstance | undefined =>
  api.get<VirtualMachineInstance>(virtualMachineInstanceKind, NS, name);
const mustVmi = (name = 'web'): VirtualMachineInstance => {
  const vmi = getVmi(name);
  if (vmi === undefined) throw new Error(`VMI ${name} not found`);
  return vmi;
};
const conditionOf = (vm: VirtualMachine, type: string): Condition | undefined =>
  (vm.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

/** What the node agent does: report the VMI's phase (and more) through the status subresource. */
function report(status: NonNullable<VirtualMachineInstance['status']>, name = 'web'): void {
  const done = api.mutate<VirtualMachineInstance>(
    virtualMachineInstanceKind,
    NS,
    name,
    (vmi) => {
      vmi.status = { ...vmi.status, ...status };
    },
    true,
  );
  assert.ok(done, `VMI ${name} to report on`);
}

function updateVm(change: (vm: VirtualMachine) => void, name = 'web'): void {
  api.mutate<VirtualMachine>(virtualMachineKind, NS, name, change);
}

function eventsOf(object: KubeObject): Event[] {
  return api.list<Event>(eventKind, NS).filter((e) => e.involvedObject.uid === object.metadata.uid);
}

const at = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('VM controller: run strategies', { timeout: 20_000 }, () => {
  test('Always creates a VMI owned by the VM', async () => {
    const vm = createVm({ runStrategy: 'Always' });
    await settle();
    const vmi = mustVmi();
    assert.deepEqual(vmi.metadata.ownerReferences, [
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        name: 'web',
        uid: vm.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(vmi.metadata.labels?.['vm.kubevirt.io/name'], 'web');
    assert.equal(vmi.metadata.labels?.['app'], 'web', 'template labels are carried over');
    assert.equal(vmi.metadata.annotations?.['kubevirt.io/vm-generation'], '1');
    assert.deepEqual(vmi.spec.volumes, template().volumes);
    const status = getVm().status;
    assert.equal(status?.printableStatus, 'Starting');
    assert.equal(status?.created, true);
    assert.equal(status?.runStrategy, 'Always');
  });

  test('the VM follows what the node agent reports: Running, Ready, Paused', async () => {
    createVm({ runStrategy: 'Always' });
    await settle();
    report({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      phaseTransitionTimestamps: [{ phase: 'Running', phaseTransitionTimestamp: at(time.now) }],
    });
    await settle();
    assert.equal(getVm().status?.printableStatus, 'Running');
    assert.equal(getVm().status?.ready, true);
    assert.equal(conditionOf(getVm(), 'Ready')?.status, 'True');
    report({
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Paused', status: 'True', reason: 'PausedByUser' },
      ],
    });
    await settle();
    assert.equal(getVm().status?.printableStatus, 'Paused');
    assert.equal(conditionOf(getVm(), 'Paused')?.status, 'True');
  });

  test('Halted deletes the VMI', async () => {
    const vm = createVm({ runStrategy: 'Always' });
    await settle();
    const uid = mustVmi().metadata.uid;
    updateVm((v) => {
      v.spec.runStrategy = 'Halted';
    });
    await settle();
    assert.equal(getVmi(), undefined);
    const status = getVm().status;
    assert.equal(status?.printableStatus, 'Stopped');
    assert.equal(status?.created, false);
    assert.equal(conditionOf(getVm(), 'Ready')?.reason, 'VMINotExists');
    const deleted = eventsOf(vm).find((e) => e.reason === 'SuccessfulDelete');
    assert.ok(deleted?.message?.includes(uid ?? '?'), JSON.stringify(deleted));
  });

  test('a Halted VM gets no VMI', async () => {
    createVm({ runStrategy: 'Halted' });
    await settle();
    assert.equal(getVmi(), undefined);
    assert.equal(getVm().status?.printableStatus, 'Stopped');
  });

  test('running: true behaves as Always, running: false as Halted', async () => {
    createVm({ running: true });
    await settle();
    assert.ok(getVmi(), 'a VMI for running: true');
    assert.equal(getVm().status?.runStrategy, 'Always');
    updateVm((v) => {
      v.spec.running = false;
    });
    await settle();
    assert.equal(getVmi(), undefined);
    assert.equal(getVm().status?.runStrategy, 'Halted');
  });

  test('Manual creates nothing until a Start request, then starts and clears the request', async () => {
    createVm({ runStrategy: 'Manual' });
    await settle();
    assert.equal(getVmi(), undefined);
    assert.equal(getVm().status?.printableStatus, 'Stopped');
    api.mutate<VirtualMachine>(
      virtualMachineKind,
      NS,
      'web',
      (vm) => {
        vm.status = { ...vm.status, stateChangeRequests: [{ action: 'Start' }] };
      },
      true,
    );
    await settle();
    assert.ok(getVmi(), 'a VMI after the Start request');
    assert.equal(getVm().status?.stateChangeRequests, undefined);
    assert.equal(getVm().status?.printableStatus, 'Starting');
  });

  test('Manual: a Stop request for the running VMI deletes it', async () => {
    createVm({ runStrategy: 'Manual' });
    await settle();
    api.mutate<VirtualMachine>(
      virtualMachineKind,
      NS,
      'web',
      (vm) => {
        vm.status = { ...vm.status, stateChangeRequests: [{ action: 'Start' }] };
      },
      true,
    );
    await settle();
    const uid = mustVmi().metadata.uid ?? '';
    api.mutate<VirtualMachine>(
      virtualMachineKind,
      NS,
      'web',
      (vm) => {
        vm.status = { ...vm.status, stateChangeRequests: [{ action: 'Stop', uid }] };
      },
      true,
    );
    await settle();
    assert.equal(getVmi(), undefined);
    assert.equal(getVm().status?.stateChangeRequests, undefined);
  });

  test('RerunOnFailure keeps a Succeeded VMI', async () => {
    createVm({ runStrategy: 'RerunOnFailure' });
    await settle();
    const uid = mustVmi().metadata.uid;
    report({ phase: 'Succeeded' });
    await settle();
    assert.equal(getVmi()?.metadata.uid, uid, 'the same VMI, not deleted nor replaced');
    assert.equal(getVm().status?.printableStatus, 'Stopped');
  });

  test('RerunOnFailure replaces a Failed VMI', async () => {
    createVm({ runStrategy: 'RerunOnFailure' });
    await settle();
    const uid = mustVmi().metadata.uid;
    report({ phase: 'Failed' });
    await settle();
    const next = mustVmi();
    assert.notEqual(next.metadata.uid, uid);
    assert.equal(next.status?.phase, 'Pending');
  });

  test('Once does not recreate the VMI after it Succeeded', async () => {
    createVm({ runStrategy: 'Once' });
    await settle();
    const uid = mustVmi().metadata.uid;
    report({ phase: 'Succeeded' });
    await settle();
    assert.equal(getVmi()?.metadata.uid, uid, 'the finished VMI stays');
    api.delete(virtualMachineInstanceKind, NS, 'web');
    await settle();
    assert.equal(getVmi(), undefined, 'no second run');
    assert.equal(getVm().status?.printableStatus, 'Stopped');
  });

  test('Once does not recreate the VMI after it Failed', async () => {
    createVm({ runStrategy: 'Once' });
    await settle();
    const uid = mustVmi().metadata.uid;
    report({ phase: 'Failed' });
    await settle();
    assert.equal(getVmi()?.metadata.uid, uid, 'the failed VMI stays, nothing new');
    assert.equal(getVm().status?.printableStatus, 'Stopped');
  });

  test('Always: a Failed VMI is deleted and a new one created at once', async () => {
    createVm({ runStrategy: 'Always' });
    await settle();
    const first = mustVmi().metadata.uid;
    report({ phase: 'Failed' });
    await settle();
    const second = mustVmi();
    assert.notEqual(second.metadata.uid, first);
    assert.equal(second.status?.phase, 'Pending');
    const failure = getVm().status?.startFailure;
    assert.equal(failure?.consecutiveFailCount, 1);
    assert.equal(failure?.lastFailedVMIUID, first);
    assert.equal(getVm().status?.printableStatus, 'Starting');
  });

  test('Always: a second failure backs off (CrashLoopBackOff), then starts again when the delay is over', async () => {
    const vm = createVm({ runStrategy: 'Always' });
    await settle();
    report({ phase: 'Failed' });
    await settle();
    const secondUid = mustVmi().metadata.uid;
    report({ phase: 'Failed' });
    await settle();

    assert.equal(getVmi(), undefined, 'no VMI while backing off');
    const status = getVm().status;
    assert.equal(status?.printableStatus, 'CrashLoopBackOff');
    assert.equal(status?.startFailure?.consecutiveFailCount, 2);
    assert.equal(status?.startFailure?.lastFailedVMIUID, secondUid);
    const retryAfter = new Date(status?.startFailure?.retryAfterTimestamp ?? 'missing');
    assert.ok(retryAfter > time.now, `retryAfterTimestamp ${retryAfter.toISOString()} is in the future`);
    assert.equal(retryAfter.getTime() - time.now.getTime(), 5_000);
    assert.ok(eventsOf(vm).some((e) => e.reason === 'CrashLoopBackOff' && e.type === 'Warning'));

    time.advance(4_000);
    await settle();
    assert.equal(getVmi(), undefined, 'still backing off after 4 s');

    time.advance(1_100);
    await settle();
    assert.ok(getVmi(), 'a new VMI once the delay is over');
    assert.equal(getVm().status?.printableStatus, 'Starting');
  });

  test('a VMI that runs for a minute resets the failure count', async () => {
    createVm({ runStrategy: 'Always' });
    await settle();
    report({ phase: 'Failed' });
    await settle();
    report({
      phase: 'Running',
      phaseTransitionTimestamps: [{ phase: 'Running', phaseTransitionTimestamp: at(time.now) }],
    });
    await settle();
    assert.equal(getVm().status?.startFailure?.consecutiveFailCount, 1);
    time.advance(60_100);
    await settle();
    assert.equal(getVm().status?.startFailure?.consecutiveFailCount, undefined);
    assert.equal(getVm().status?.startFailure?.retryAfterTimestamp, undefined);
  });

  test('halting a crash-looping VM forgets its failures', async () => {
    createVm({ runStrategy: 'Always' });
    await settle();
    report({ phase: 'Failed' });
    await settle();
    report({ phase: 'Failed' });
    await settle();
    assert.equal(getVm().status?.printableStatus, 'CrashLoopBackOff');
    updateVm((v) => {
      v.spec.runStrategy = 'Halted';
    });
    await settle();
    assert.equal(getVm().status?.startFailure, undefined);
    assert.equal(getVm().status?.printableStatus, 'Stopped');
    updateVm((v) => {
      v.spec.runStrategy = 'Always';
    });
    await settle();
    assert.ok(getVmi(), 'starts at once, without waiting out the old back-off');
  });
});

describe('VM controller: volumes, instance types, template changes', { timeout: 20_000 }, () => {
  test('a missing PVC: ErrorPvcNotFound and no VMI, then a VMI once the PVC exists', async () => {
    const spec = template();
    spec.volumes = [{ name: 'root', persistentVolumeClaim: { claimName: 'data' } }];
    const vm = api.create<VirtualMachine>(virtualMachineKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'web', namespace: NS },
      spec: { runStrategy: 'Always', template: { spec } },
    });
    await settle();
    assert.equal(getVmi(), undefined);
    assert.equal(getVm().status?.printableStatus, 'ErrorPvcNotFound');
    assert.deepEqual(
      { status: conditionOf(getVm(), 'Failure')?.status, reason: conditionOf(getVm(), 'Failure')?.reason },
      { status: 'True', reason: 'FailedPvcNotFound' },
    );
    assert.ok(
      eventsOf(vm).some((e) => e.reason === 'FailedPvcNotFound' && e.message?.includes('data') === true),
    );

    api.create(persistentVolumeClaimKind, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await settle();
    assert.ok(getVmi(), 'a VMI once the PVC exists');
    assert.equal(getVm().status?.printableStatus, 'Starting');
    assert.equal(conditionOf(getVm(), 'Failure'), undefined);
  });

  test('a Secret and a network attachment not there yet: no VMI, said, then a VMI once both exist', async () => {
    const spec = template();
    spec.domain.devices.disks = [
      { name: 'root', disk: {} },
      { name: 'init', disk: {} },
    ];
    spec.volumes = [
      { name: 'root', containerDisk: { image: 'tiny' } },
      { name: 'init', cloudInitNoCloud: { secretRef: { name: 'userdata' } } },
    ];
    spec.domain.devices.interfaces = [
      { name: 'default', masquerade: {} },
      { name: 'lan', bridge: {} },
    ];
    spec.networks = [
      { name: 'default', pod: {} },
      { name: 'lan', multus: { networkName: 'lan' } },
    ];
    const vm = createVm({ runStrategy: 'Always', template: { spec } });
    await settle();
    assert.equal(getVmi(), undefined);
    assert.equal(getVm().status?.printableStatus, 'Starting');
    const failure = conditionOf(getVm(), 'Failure');
    assert.equal(failure?.reason, 'ReferenceNotFound');
    const missing = 'waiting for Secret "userdata", NetworkAttachmentDefinition "default/lan": not found';
    assert.equal(failure?.message, missing);
    assert.deepEqual(
      eventsOf(vm)
        .filter((e) => e.reason === 'ReferenceNotFound')
        .map((e) => e.message),
      [missing],
    );

    api.create(secretKind, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'userdata', namespace: NS },
      stringData: { userdata: '#cloud-config\n' },
    });
    await settle();
    assert.equal(getVmi(), undefined, 'the attachment is still missing');
    assert.match(
      conditionOf(getVm(), 'Failure')?.message ?? '',
      /^waiting for NetworkAttachmentDefinition "default\/lan"/,
    );
    api.create(networkAttachmentDefinitionKind, {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'lan', namespace: NS },
      spec: { config: '{"cniVersion":"0.3.1","name":"lan","type":"bridge"}' },
    });
    await settle();
    assert.ok(getVmi(), 'a VMI once both exist');
    assert.equal(conditionOf(getVm(), 'Failure'), undefined);
  });

  test('VirtualMachineInstancePresets matching the template labels are merged into the VMI', async () => {
    for (const [name, domain] of [
      ['cpu', { cpu: { cores: 3 } }],
      ['clash', { resources: { requests: { memory: '1Gi' } } }],
    ] as const)
      registry.create(virtualMachineInstancePresetKind, NS, {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstancePreset',
        metadata: { name },
        spec: { selector: { matchLabels: { app: 'web' } }, domain },
      });
    const vm = createVm({ runStrategy: 'Always' });
    await settle();
    const vmi = mustVmi();
    assert.equal(vmi.spec.domain.cpu?.cores, 3);
    assert.equal(
      vmi.metadata.annotations?.['virtualmachineinstancepreset.kubevirt.io/cpu'],
      'kubevirt.io/v1',
    );
    assert.equal(vmi.metadata.annotations?.['virtualmachineinstancepreset.kubevirt.io/clash'], undefined);
    assert.ok(
      eventsOf(vm).some(
        (e) =>
          e.reason === 'PresetFailed' &&
          /clash: it conflicts with spec\.domain\.resources/.test(e.message ?? ''),
      ),
    );
  });

  test('instancetype cx1.medium: 2 sockets, 4Gi, recorded in a ControllerRevision', async () => {
    const spec = template();
    delete spec.domain.resources;
    const vm = api.create<VirtualMachine>(virtualMachineKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'web', namespace: NS },
      spec: { runStrategy: 'Always', instancetype: { name: 'cx1.medium' }, template: { spec } },
    });
    await settle();
    const vmi = mustVmi();
    assert.deepEqual(vmi.spec.domain.cpu, { sockets: 2, cores: 1, threads: 1 });
    assert.equal(vmi.spec.domain.memory?.guest, '4Gi');

    const ref = getVm().status?.instancetypeRef as
      { name: string; kind: string; controllerRevisionRef: { name: string } } | undefined;
    assert.equal(ref?.name, 'cx1.medium');
    assert.equal(ref?.kind, 'VirtualMachineClusterInstancetype');
    const revision = api.get<ControllerRevision>(
      controllerRevisionKind,
      NS,
      ref?.controllerRevisionRef.name ?? '',
    );
    assert.ok(revision, `ControllerRevision ${ref?.controllerRevisionRef.name ?? '?'} exists`);
    assert.deepEqual((revision.data as { spec?: unknown }).spec, {
      cpu: { guest: 2 },
      memory: { guest: '4Gi' },
    });
    assert.equal(revision.metadata.ownerReferences?.[0]?.uid, vm.metadata.uid);
  });

  test('a restart keeps the recorded instance type even after the catalog entry changes', async () => {
    const spec = template();
    delete spec.domain.resources;
    createVm({ runStrategy: 'Always', instancetype: { name: 'cx1.medium' }, template: { spec } });
    await settle();
    api.mutate<KubeObject>(virtualMachineClusterInstancetypeKind, '', 'cx1.medium', (it) => {
      it['spec'] = { cpu: { guest: 8 }, memory: { guest: '16Gi' } };
    });
    report({ phase: 'Failed' });
    await settle();
    const vmi = mustVmi();
    assert.equal(vmi.spec.domain.cpu?.sockets, 2);
    assert.equal(vmi.spec.domain.memory?.guest, '4Gi');
  });

  test('instance type and preference together: the preference shapes the devices', async () => {
    const spec = template();
    delete spec.domain.resources;
    createVm({
      runStrategy: 'Always',
      instancetype: { name: 'cx1.large' },
      preference: { name: 'windows' },
      template: { spec },
    });
    await settle();
    const vmi = mustVmi();
    assert.deepEqual(vmi.spec.domain.cpu, { sockets: 4, cores: 1, threads: 1 });
    assert.deepEqual(vmi.spec.domain.devices.disks, [{ name: 'root', disk: { bus: 'sata' } }]);
    assert.deepEqual(vmi.spec.domain.firmware?.bootloader, { efi: { secureBoot: false } });
    assert.equal(getVm().status?.preferenceRef !== undefined, true);
  });

  test('an instance type too small for the preference: FailedCreate, no VMI', async () => {
    const spec = template();
    delete spec.domain.resources;
    const vm = createVm({
      runStrategy: 'Always',
      instancetype: { name: 'u1.small' },
      preference: { name: 'windows' },
      template: { spec },
    });
    // Whether the controller also retries (and logs) is its own business.
    await settle(true);
    assert.equal(getVmi(), undefined);
    const failure = conditionOf(getVm(), 'Failure');
    assert.equal(failure?.reason, 'FailedCreate');
    assert.match(failure?.message ?? '', /insufficient CPU resources/);
    assert.ok(eventsOf(vm).some((e) => e.reason === 'FailedCreate'));
  });

  test('editing the template of a running VM sets RestartRequired and leaves the VMI alone', async () => {
    createVm({ runStrategy: 'Always' });
    await settle();
    const uid = mustVmi().metadata.uid;
    assert.equal(conditionOf(getVm(), 'RestartRequired'), undefined);
    updateVm((vm) => {
      const spec = vm.spec.template.spec;
      if (spec?.domain.resources?.requests !== undefined) spec.domain.resources.requests['memory'] = '512Mi';
    });
    await settle();
    assert.equal(getVmi()?.metadata.uid, uid);
    const restart = conditionOf(getVm(), 'RestartRequired');
    assert.equal(restart?.status, 'True');
    assert.equal(getVm().status?.observedGeneration, 2);
  });

  test('a restart runs the edited template and clears RestartRequired', async () => {
    createVm({ runStrategy: 'Always' });
    await settle();
    updateVm((vm) => {
      const spec = vm.spec.template.spec;
      if (spec?.domain.resources?.requests !== undefined) spec.domain.resources.requests['memory'] = '512Mi';
    });
    await settle();
    assert.equal(conditionOf(getVm(), 'RestartRequired')?.status, 'True');
    const uid = mustVmi().metadata.uid ?? '';
    api.mutate<VirtualMachine>(
      virtualMachineKind,
      NS,
      'web',
      (vm) => {
        vm.status = { ...vm.status, stateChangeRequests: [{ action: 'Stop', uid }, { action: 'Start' }] };
      },
      true,
    );
    await settle();
    const vmi = mustVmi();
    assert.notEqual(vmi.metadata.uid, uid);
    assert.equal(vmi.spec.domain.resources?.requests?.['memory'], '512Mi');
    assert.equal(vmi.metadata.annotations?.['kubevirt.io/vm-generation'], '2');
    assert.equal(getVm().status?.stateChangeRequests, undefined);
    assert.equal(conditionOf(getVm(), 'RestartRequired'), undefined);
  });

  test('a changed runStrategy alone does not require a restart', async () => {
    createVm({ runStrategy: 'Always' });
    await settle();
    updateVm((vm) => {
      vm.spec.runStrategy = 'RerunOnFailure';
    });
    await settle();
    assert.ok(getVmi());
    assert.equal(conditionOf(getVm(), 'RestartRequired'), undefined);
  });

  test('a missing instance type: Failure condition and a FailedCreate Event on the VM', async () => {
    const spec = template();
    delete spec.domain.resources;
    const vm = createVm({ runStrategy: 'Always', instancetype: { name: 'huge' }, template: { spec } });
    // Whether the controller also retries (and logs) is its own business.
    await settle(true);
    assert.equal(getVmi(), undefined);
    const failure = conditionOf(getVm(), 'Failure');
    assert.deepEqual(
      { status: failure?.status, reason: failure?.reason, message: failure?.message },
      {
        status: 'True',
        reason: 'FailedCreate',
        message: 'VirtualMachineClusterInstancetype "huge" not found',
      },
    );
    const events = eventsOf(vm).filter((e) => e.reason === 'FailedCreate');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'Warning');
    assert.equal(
      events[0]?.message,
      'Error creating VirtualMachineInstance web: VirtualMachineClusterInstancetype "huge" not found',
    );
  });

  test('a VM waiting for its instance type starts once the instance type is created', async () => {
    const spec = template();
    delete spec.domain.resources;
    createVm({ runStrategy: 'Always', instancetype: { name: 'huge' }, template: { spec } });
    // A fix may retry a failed create with backoff instead of watching instance types: allow both.
    await settle(true);
    api.create(virtualMachineClusterInstancetypeKind, {
      apiVersion: 'instancetype.kubevirt.io/v1beta1',
      kind: 'VirtualMachineClusterInstancetype',
      metadata: { name: 'huge' },
      spec: { cpu: { guest: 2 }, memory: { guest: '2Gi' } },
    });
    time.advance(300_000);
    await settle(true);
    assert.ok(getVmi(), 'a VMI once the instance type exists');
  });
});

describe('VM controller: Events', { timeout: 20_000 }, () => {
  test('are core/v1 Event objects about the VM, by uid', async () => {
    const vm = createVm({ runStrategy: 'Always' });
    createVm({ runStrategy: 'Always' }, 'other');
    await settle();
    const events = eventsOf(vm);
    assert.deepEqual(
      events.map((e) => [e.apiVersion, e.kind, e.type, e.reason]),
      [['v1', 'Event', 'Normal', 'SuccessfulCreate']],
    );
    const created = events[0];
    assert.deepEqual(created?.involvedObject, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      name: 'web',
      namespace: NS,
      uid: vm.metadata.uid,
      resourceVersion: created?.involvedObject.resourceVersion,
    });
    assert.equal(created?.source?.component, 'virtualmachine-controller');
    assert.equal(
      created?.message,
      'Started the virtual machine by creating the new virtual machine instance web',
    );
    assert.equal(created?.firstTimestamp, at(time.now));
  });
});
