/**
 * Hikube's VMDisk and VMInstance: what they compile to (pure), what the API refuses (a real
 * Registry over in-memory SQLite, seeded with the catalog), and the reconciler keeping the compiled
 * objects in step with edits (no node agent, no DataVolume controller: the test writes their status).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { seedObjects } from '../../../src/api/catalog.js';
import { dataSourceKind } from '../../../src/api/cdi/datasource.js';
import { dataVolumeKind, type DataVolume } from '../../../src/api/cdi/datavolume.js';
import {
  eventKind,
  namespaceKind,
  persistentVolumeClaimKind,
  secretKind,
  type Event,
} from '../../../src/api/core/core.js';
import { serviceKind, type Service } from '../../../src/api/core/service.js';
import { GOLDEN_IMAGES_NAMESPACE, vmDiskKind, type VMDisk } from '../../../src/api/cozystack/vmdisk.js';
import { vmInstanceKind, type VMInstance } from '../../../src/api/cozystack/vminstance.js';
import type { FieldError } from '../../../src/api/kind.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { compileDisk, compileInstance, stableUuid } from '../../../src/controllers/cozystack/compile.js';
import { CozystackController } from '../../../src/controllers/cozystack/controller.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import type { Claim } from '../../../src/storage/claims.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';

const NS = 'tenant';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDw2kDYpdyHo5SgmCzLSIbYtUAyyWjgcIHAQT6jfLOuD alice@example';

const disk = (name: string, spec: VMDisk['spec'] = {}): VMDisk => ({
  apiVersion: 'apps.cozystack.io/v1alpha1',
  kind: 'VMDisk',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
  spec,
});
const instance = (name: string, spec: VMInstance['spec'] = {}): VMInstance => ({
  apiVersion: 'apps.cozystack.io/v1alpha1',
  kind: 'VMInstance',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
  spec,
});
/** The compiled VM spec, typed loosely enough for assertions. */
interface VmView {
  runStrategy: string;
  instancetype?: unknown;
  preference?: unknown;
  template: {
    metadata: { labels: Record<string, string> };
    spec: {
      domain: {
        cpu?: unknown;
        resources?: unknown;
        firmware: { uuid: string };
        devices: { disks: unknown[]; gpus?: unknown };
      };
      volumes: unknown[];
      accessCredentials?: unknown;
      networks: { name: string; multus?: { networkName: string } }[];
    };
  };
}
const view = (vm: VirtualMachine): VmView => vm.spec as unknown as VmView;
const decode = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');

describe('compiling a VMDisk', () => {
  test('each source becomes the DataVolume source Cozystack renders, named vm-disk-<name>', () => {
    const http = compileDisk(
      disk('root', { source: { http: { url: 'http://127.0.0.1:1/d.qcow2' } }, storage: '20Gi' }),
    );
    assert.equal(http.metadata.name, 'vm-disk-root');
    assert.deepEqual(http.spec.source, { http: { url: 'http://127.0.0.1:1/d.qcow2' } });
    assert.deepEqual(http.spec.storage?.resources?.requests, { storage: '20Gi' });
    assert.equal(http.spec.storage?.storageClassName, undefined, 'no class: the default class');
    assert.equal(http.metadata.annotations?.['vm-disk.cozystack.io/optical'], 'false');
    assert.deepEqual(http.metadata.ownerReferences?.[0], {
      apiVersion: 'apps.cozystack.io/v1alpha1',
      kind: 'VMDisk',
      name: 'root',
      uid: 'uid-root',
      controller: true,
      blockOwnerDeletion: true,
    });

    const image = compileDisk(
      disk('sys', { source: { image: { name: 'debian-12' } }, storageClass: 'local' }),
    );
    assert.equal(image.spec.source, undefined);
    assert.deepEqual(image.spec.sourceRef, {
      kind: 'DataSource',
      namespace: GOLDEN_IMAGES_NAMESPACE,
      name: 'debian-12',
    });
    assert.equal(image.spec.storage?.storageClassName, 'local');
    assert.deepEqual(image.spec.storage?.resources?.requests, { storage: '5Gi' }, 'default size');

    assert.deepEqual(compileDisk(disk('copy', { source: { disk: { name: 'sys' } } })).spec.source, {
      pvc: { namespace: NS, name: 'vm-disk-sys' },
    });
    assert.deepEqual(compileDisk(disk('up', { source: { upload: {} } })).spec.source, { upload: {} });
    assert.deepEqual(compileDisk(disk('blank')).spec.source, { blank: {} });
    const iso = compileDisk(disk('iso', { optical: true, source: { upload: {} } }), 'hikube/tiny');
    assert.equal(iso.metadata.annotations?.['vm-disk.cozystack.io/optical'], 'true');
    assert.equal(iso.metadata.annotations?.['vm-disk.hikube.io/kernel-image'], 'hikube/tiny');
  });
});

describe('compiling a VMInstance', () => {
  const disks = new Map([
    ['system', disk('system')],
    ['iso', disk('iso', { optical: true })],
  ]);

  test('defaults: u1.medium and ubuntu, runStrategy Always, a headless Service, no Secrets', () => {
    const { vm, secrets, service } = compileInstance(instance('web', { disks: [{ name: 'system' }] }), {
      disks,
    });
    const spec = view(vm);
    assert.equal(vm.metadata.name, 'vm-instance-web');
    assert.equal(spec.runStrategy, 'Always');
    assert.deepEqual(spec.instancetype, { kind: 'VirtualMachineClusterInstancetype', name: 'u1.medium' });
    assert.deepEqual(spec.preference, { kind: 'VirtualMachineClusterPreference', name: 'ubuntu' });
    assert.equal(spec.template.spec.domain.cpu, undefined, 'the instance type sizes the VM');
    assert.deepEqual(spec.template.spec.volumes, [
      { name: 'disk-system', dataVolume: { name: 'vm-disk-system' } },
    ]);
    assert.deepEqual(secrets, []);
    assert.equal(service.spec?.clusterIP, 'None');
    assert.deepEqual(service.spec?.ports, [{ port: 65535 }]);
    assert.deepEqual(service.spec?.selector, {
      'app.kubernetes.io/name': 'vm-instance',
      'app.kubernetes.io/instance': 'vm-instance-web',
    });
    assert.deepEqual(spec.template.metadata.labels, service.spec?.selector, 'the VMI carries the selector');
    assert.equal(vm.metadata.ownerReferences?.[0]?.kind, 'VMInstance');
    assert.equal(service.metadata.ownerReferences?.[0]?.uid, 'uid-web');
  });

  test('disks boot in list order, optical ones as cdroms; keys and cloud-init into Secrets; external PortList', () => {
    const { vm, secrets, service } = compileInstance(
      instance('web', {
        disks: [{ name: 'system' }, { name: 'iso', bus: 'sata' }],
        sshKeys: [KEY],
        cloudInit: '#cloud-config\nhostname: web\n',
        external: true,
        externalPorts: [22, 80],
        networks: [{ name: 'lan' }],
        gpus: [{ name: 'nvidia.com/GA102GL_A10' }],
        cpuModel: 'host-model',
      }),
      { disks },
    );
    const t = view(vm).template.spec;
    assert.deepEqual(t.domain.devices.disks, [
      { name: 'disk-system', disk: {}, bootOrder: 1 },
      { name: 'disk-iso', cdrom: { bus: 'sata' }, bootOrder: 2 },
      { name: 'cloudinitdisk', disk: {} },
    ]);
    assert.deepEqual(t.volumes[2], {
      name: 'cloudinitdisk',
      cloudInitNoCloud: { secretRef: { name: 'vm-instance-web-cloud-init' } },
    });
    assert.deepEqual(t.accessCredentials, [
      {
        sshPublicKey: {
          source: { secret: { secretName: 'vm-instance-web-ssh-keys' } },
          propagationMethod: { noCloud: {} },
        },
      },
    ]);
    assert.deepEqual(t.networks, [
      { name: 'default', pod: {} },
      { name: 'lan', multus: { networkName: `${NS}/lan` } },
    ]);
    assert.deepEqual(t.domain.devices.gpus, [{ name: 'gpu1', deviceName: 'nvidia.com/GA102GL_A10' }]);
    assert.deepEqual(t.domain.cpu, { model: 'host-model' });
    const keys = secrets.find((s) => s.metadata.name === 'vm-instance-web-ssh-keys');
    assert.equal(decode(keys?.data?.['key0']), KEY);
    const init = secrets.find((s) => s.metadata.name === 'vm-instance-web-cloud-init');
    assert.equal(decode(init?.data?.['userdata']), '#cloud-config\nhostname: web\n');
    assert.equal(service.spec?.type, 'LoadBalancer');
    assert.deepEqual(service.spec?.ports, [
      { name: 'port-22', port: 22, targetPort: 22 },
      { name: 'port-80', port: 80, targetPort: 80 },
    ]);
    assert.deepEqual(service.metadata.annotations, {
      'networking.cozystack.io/wholeIP': 'false',
      'networking.cozystack.io/allowICMP': 'true',
    });
  });

  test('keys without cloud-init get a minimal cloud-config; WholeIP; custom resources; running: false', () => {
    const { vm, secrets, service } = compileInstance(
      instance('db', {
        instanceType: '',
        resources: { cpu: 2, sockets: 1, memory: '3Gi' },
        sshKeys: [KEY],
        external: true,
        externalMethod: 'WholeIP',
        externalPorts: [],
        running: false,
        subnets: [{ name: 'old' }],
      }),
      { disks },
    );
    const spec = view(vm);
    assert.equal(spec.runStrategy, 'Halted');
    assert.equal(spec.instancetype, undefined);
    assert.deepEqual(spec.template.spec.domain.cpu, { cores: 2, sockets: 1 });
    assert.deepEqual(spec.template.spec.domain.resources, { requests: { memory: '3Gi' } });
    assert.equal(spec.template.spec.networks[1]?.multus?.networkName, `${NS}/old`, 'subnets is the alias');
    const init = decode(secrets.find((s) => s.metadata.name?.endsWith('cloud-init'))?.data?.['userdata']);
    assert.equal(init, `#cloud-config\nssh_authorized_keys:\n  - ${JSON.stringify(KEY)}\n`);
    assert.equal(service.metadata.annotations?.['networking.cozystack.io/wholeIP'], 'true');
    assert.deepEqual(service.spec?.ports, [{ port: 65535 }]);
  });

  test('the SMBIOS UUID is stable per namespace, name and seed; without a seed the existing one stays', () => {
    const a = stableUuid(NS, 'web', '');
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-9[0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(stableUuid(NS, 'web', ''), a);
    assert.notEqual(stableUuid(NS, 'web', 'upd1'), a);
    assert.notEqual(stableUuid('other', 'web', ''), a);
    assert.equal(stableUuid(NS, 'web', '', 'kept-uuid'), 'kept-uuid');
    assert.notEqual(stableUuid(NS, 'web', 'upd1', 'kept-uuid'), 'kept-uuid');
    const { vm } = compileInstance(instance('web', { cloudInitSeed: 'upd1' }), { disks });
    assert.equal(view(vm).template.spec.domain.firmware.uuid, stableUuid(NS, 'web', 'upd1'));
  });
});

let store: SqliteStore;
let registry: Registry;
let api: ApiClient;

function seed(r: Registry): void {
  r.create(namespaceKind, '', { metadata: { name: NS } });
  r.create(namespaceKind, '', { metadata: { name: GOLDEN_IMAGES_NAMESPACE } });
  for (const object of seedObjects()) {
    const def = findKindByGvk(object.apiVersion, object.kind);
    if (def === undefined) throw new Error(`unknown kind ${object.apiVersion} ${object.kind}`);
    r.create(def, object.metadata.namespace ?? '', object);
  }
  r.create(dataSourceKind, GOLDEN_IMAGES_NAMESPACE, {
    metadata: { name: 'debian-12' },
    spec: { source: { pvc: { name: 'debian-12', namespace: GOLDEN_IMAGES_NAMESPACE } } },
  });
}

beforeEach(() => {
  store = new SqliteStore({ path: ':memory:' });
  registry = new Registry(store);
  seed(registry);
  api = new ApiClient(registry);
});
afterEach(() => store.close());

/** The causes of the 422 a write gets. */
function refused(write: () => unknown): FieldError[] {
  try {
    write();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.reason, 'Invalid');
    assert.equal(err.code, 422);
    return err.details.causes ?? [];
  }
  assert.fail('the write was accepted');
}
const eventsOf = (o: KubeObject): Event[] =>
  api.list<Event>(eventKind, NS).filter((e) => e.involvedObject.uid === o.metadata.uid);
const create = (def: typeof vmDiskKind, o: KubeObject): KubeObject => registry.create(def, NS, o).object;
const update = (def: typeof vmDiskKind, o: KubeObject): KubeObject =>
  registry.update(def, NS, o.metadata.name ?? '', o).object;

describe('what the API refuses', () => {
  test('a VMDisk with two sources: "exactly one type of source is expected" on spec.source', () => {
    const causes = refused(() =>
      create(
        vmDiskKind,
        disk('two', { source: { image: { name: 'debian-12' }, http: { url: 'http://x/y' } } }),
      ),
    );
    assert.deepEqual(
      causes.map((c) => c.path),
      ['spec.source'],
    );
    assert.match(causes[0]?.message ?? '', /exactly one type of source is expected/);
  });

  test('a VMDisk may grow, never shrink; its storage class and source are immutable', () => {
    const d = create(vmDiskKind, disk('data', { storage: '10Gi' })) as VMDisk;
    assert.equal(d.spec?.storage, '10Gi');
    const shrink = refused(() => update(vmDiskKind, { ...d, spec: { storage: '5Gi' } }));
    assert.deepEqual(
      shrink.map((c) => [c.path, c.reason]),
      [['spec.storage', 'FieldValueForbidden']],
    );
    assert.match(shrink[0]?.message ?? '', /can only grow: "5Gi" is smaller than "10Gi"/);
    const cls = refused(() => update(vmDiskKind, { ...d, spec: { storage: '10Gi', storageClass: 'fast' } }));
    assert.deepEqual(
      cls.map((c) => c.path),
      ['spec.storageClass'],
    );
    const grown = update(vmDiskKind, { ...d, spec: { storage: '20Gi' } }) as VMDisk;
    assert.equal(grown.spec?.storage, '20Gi');
    const src = refused(() =>
      update(vmDiskKind, { ...grown, spec: { storage: '20Gi', source: { upload: {} } } }),
    );
    assert.deepEqual(
      src.map((c) => c.path),
      ['spec.source'],
    );
  });

  test('a VMDisk of an unknown class, a bad URL, a bad size (an image not in the catalog yet is accepted)', () => {
    assert.ok(create(vmDiskKind, disk('x', { source: { image: { name: 'windows-95' } } })));
    assert.deepEqual(
      refused(() =>
        create(vmDiskKind, disk('y', { source: { http: { url: 'ftp://host/d.img' } }, storage: '0' })),
      ).map((c) => c.path),
      ['spec.source.http.url', 'spec.storage'],
    );
    assert.deepEqual(
      refused(() => create(vmDiskKind, disk('w', { storageClass: 'replicated' }))).map((c) => [
        c.path,
        c.reason,
      ]),
      [['spec.storageClass', 'FieldValueNotFound']],
    );
    assert.ok(create(vmDiskKind, disk('z', { source: { image: { name: 'debian-12' } } })));
  });

  test('a VMInstance naming an instance type, profile or disk that does not exist yet is accepted', () => {
    assert.ok(
      create(
        vmInstanceKind,
        instance('vm', { instanceType: 'u9.huge', instanceProfile: 'beos', disks: [{ name: 'nope' }] }),
      ),
    );
  });

  test('resources without sockets and no instance type; resources with one; bad ports and keys', () => {
    assert.deepEqual(
      refused(() =>
        create(vmInstanceKind, instance('vm', { instanceType: '', resources: { cpu: 2, memory: '2Gi' } })),
      ).map((c) => [c.path, c.reason]),
      [['spec.resources.sockets', 'FieldValueRequired']],
    );
    assert.deepEqual(
      refused(() => create(vmInstanceKind, instance('vm', { resources: { cpu: 2 } }))).map((c) => c.path),
      ['spec.resources.sockets', 'spec.resources.memory'],
      'resources alone mean no instance type',
    );
    assert.deepEqual(
      refused(() =>
        create(
          vmInstanceKind,
          instance('vm', { resources: { cpu: 1, memory: '1Gi' }, disks: [{ name: 'nope' }] }),
        ),
      ).map((c) => c.path),
      ['spec.resources.sockets'],
      'a disk that does not exist yet is no cause',
    );
    assert.deepEqual(
      refused(() =>
        create(
          vmInstanceKind,
          instance('vm', { instanceType: 'u1.medium', resources: { cpu: 1, sockets: 1, memory: '1Gi' } }),
        ),
      ).map((c) => c.path),
      ['spec.resources'],
    );
    assert.deepEqual(
      refused(() =>
        create(vmInstanceKind, instance('vm', { externalPorts: [22, 70000], sshKeys: ['not a key'] })),
      ).map((c) => c.path),
      ['spec.externalPorts[1]', 'spec.sshKeys[0]'],
    );
    assert.deepEqual(
      refused(() =>
        create(vmInstanceKind, instance('vm', { networks: [{ name: 'default' }, { name: 'Lan_1' }] })),
      ).map((c) => c.path),
      ['spec.networks[0].name', 'spec.networks[1].name'],
    );
    assert.deepEqual(
      refused(() =>
        create(vmInstanceKind, instance('vm', { externalMethod: 'Everything' as 'WholeIP' })),
      ).map((c) => [c.path, c.reason]),
      [['spec.externalMethod', 'FieldValueNotSupported']],
    );
  });

  test('the catalog serves the s1 and u1 series and the Hikube preferences', () => {
    const types = seedObjects().filter((o) => o.kind === 'VirtualMachineClusterInstancetype');
    const size = (name: string): [number, string] | undefined => {
      const t = types.find((o) => o.metadata.name === name) as
        { spec: { cpu: { guest: number }; memory: { guest: string } } } | undefined;
      return t === undefined ? undefined : [t.spec.cpu.guest, t.spec.memory.guest];
    };
    assert.deepEqual(size('s1.small'), [1, '2Gi']);
    assert.deepEqual(size('s1.8xlarge'), [64, '128Gi']);
    assert.deepEqual(size('u1.medium'), [1, '4Gi']);
    assert.deepEqual(size('u1.8xlarge'), [32, '128Gi']);
    assert.deepEqual(size('cx1.medium'), [2, '4Gi'], 'the seed series stay');
    const prefs = seedObjects()
      .filter((o) => o.kind === 'VirtualMachineClusterPreference')
      .map((o) => o.metadata.name);
    for (const p of ['ubuntu', 'debian', 'centos.stream9', 'centos', 'windows.2k25.virtio'])
      assert.ok(prefs.includes(p), p);
    assert.equal(new Set(types.map((t) => t.metadata.name)).size, types.length, 'no duplicate names');
  });
});

describe('the reconciler', () => {
  let controller: CozystackController;
  let manager: Manager;
  /** The reconciler on the controller runtime, over the test's Registry in process. */
  async function startController(log: (m: string) => void): Promise<void> {
    manager = new Manager(new RegistryTransport(api.registry));
    controller = new CozystackController({
      manager,
      events: recorderFor(manager, 'cozystack-controller', 'node-1'),
      log,
    });
    void manager.add(controller);
    await manager.start();
  }
  beforeEach(() => startController((m) => assert.fail(m)));
  afterEach(() => manager.stop());

  const get = <T extends KubeObject>(def: typeof vmDiskKind, name: string): T | undefined =>
    api.get<T>(def, NS, name);

  test('a VMDisk gets its DataVolume and reports its phase; growing it grows the PVC', async () => {
    create(
      vmDiskKind,
      disk('data', { source: { http: { url: 'http://127.0.0.1:9/d.qcow2' } }, storage: '1Gi' }),
    );
    await controller.idle();
    const dv = get<DataVolume>(dataVolumeKind, 'vm-disk-data');
    assert.deepEqual(dv?.spec.source, { http: { url: 'http://127.0.0.1:9/d.qcow2' } });
    // Play the DataVolume controller and the provisioner: a bound claim, an import under way.
    api.create<Claim>(persistentVolumeClaimKind, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'vm-disk-data', namespace: NS },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName: 'local',
      },
    });
    api.mutate<Claim>(
      persistentVolumeClaimKind,
      NS,
      'vm-disk-data',
      (c) => {
        c.status = { phase: 'Bound', capacity: { storage: '1Gi' } };
      },
      true,
    );
    api.mutate<DataVolume>(
      dataVolumeKind,
      NS,
      'vm-disk-data',
      (d) => {
        d.status = { phase: 'ImportInProgress', progress: '42.00%' };
      },
      true,
    );
    await controller.idle();
    const status = get<VMDisk>(vmDiskKind, 'data')?.status;
    assert.equal(status?.phase, 'ImportInProgress');
    assert.equal(status?.progress, '42.00%');
    assert.equal(status?.storageClass, 'local');
    assert.equal(status?.conditions?.[0]?.status, 'False');

    const d = get<VMDisk>(vmDiskKind, 'data') as VMDisk;
    update(vmDiskKind, { ...d, spec: { ...d.spec, storage: '3Gi' } });
    await controller.idle();
    const claim = get<Claim>(persistentVolumeClaimKind, 'vm-disk-data');
    assert.equal(claim?.spec.resources?.requests?.['storage'], '3Gi');
  });

  test('a VMInstance gets its VM, Secrets and Service; edits follow; external recreates the Service', async () => {
    create(vmDiskKind, disk('system'));
    create(vmInstanceKind, instance('web', { disks: [{ name: 'system' }], sshKeys: [KEY] }));
    await controller.idle();
    const vm = get<VirtualMachine>(virtualMachineKind, 'vm-instance-web');
    assert.equal(vm?.spec.instancetype?.name, 'u1.medium');
    assert.ok(get(secretKind, 'vm-instance-web-ssh-keys'));
    assert.ok(get(secretKind, 'vm-instance-web-cloud-init'));
    const headless = get<Service>(serviceKind, 'vm-instance-web');
    assert.equal(headless?.spec?.clusterIP, 'None');
    const inst = get<VMInstance>(vmInstanceKind, 'web') as VMInstance;
    assert.equal(inst.status?.virtualMachine, 'vm-instance-web');
    assert.equal(inst.status?.firmwareUUID, stableUuid(NS, 'web', ''));

    update(vmInstanceKind, {
      ...inst,
      spec: {
        ...inst.spec,
        instanceType: 'u1.large',
        instanceProfile: 'debian',
        sshKeys: [],
        external: true,
      },
    });
    await controller.idle();
    const after = get<VirtualMachine>(virtualMachineKind, 'vm-instance-web');
    assert.equal(after?.spec.instancetype?.name, 'u1.large');
    assert.equal(after?.spec.preference?.name, 'debian');
    assert.equal(after?.metadata.uid, vm?.metadata.uid, 'the VM is updated, not replaced');
    assert.equal(get(secretKind, 'vm-instance-web-ssh-keys'), undefined, 'keys gone with the last key');
    const lb = get<Service>(serviceKind, 'vm-instance-web');
    assert.equal(lb?.spec?.type, 'LoadBalancer');
    assert.notEqual(lb?.metadata.uid, headless?.metadata.uid, 'recreated: a cluster IP cannot change');
    assert.deepEqual(
      lb?.spec?.ports?.map((p) => p.port),
      [22],
    );
  });

  test("a stop on the VM stands until the VMInstance's runStrategy changes", async () => {
    create(vmInstanceKind, instance('web', { instanceType: 'u1.small' }));
    await controller.idle();
    // hikube stop / virtctl stop: the VM's runStrategy becomes Halted.
    api.mutate<VirtualMachine>(virtualMachineKind, NS, 'vm-instance-web', (vm) => {
      vm.spec.runStrategy = 'Halted';
    });
    await controller.idle();
    assert.equal(get<VirtualMachine>(virtualMachineKind, 'vm-instance-web')?.spec.runStrategy, 'Halted');
    const inst = get<VMInstance>(vmInstanceKind, 'web') as VMInstance;
    update(vmInstanceKind, { ...inst, spec: { ...inst.spec, runStrategy: 'Manual' } });
    await controller.idle();
    assert.equal(get<VirtualMachine>(virtualMachineKind, 'vm-instance-web')?.spec.runStrategy, 'Manual');
  });

  test('a VM the API refuses shows on the VMInstance (FailedCreate) and is retried', async () => {
    manager.stop();
    const logged: string[] = [];
    await startController((m) => logged.push(m));
    // A VMDisk name may hold a dot; a KubeVirt disk name may not.
    create(vmDiskKind, disk('sys.v1'));
    create(vmInstanceKind, instance('web', { disks: [{ name: 'sys.v1' }] }));
    // The failing key stays queued for its retry: poll instead of waiting for idle.
    const ready = await eventually(
      () =>
        get<VMInstance>(vmInstanceKind, 'web')?.status?.conditions?.find(
          (c) => c.type === 'Ready' && c.reason === 'FailedCreate',
        ),
      'the FailedCreate condition',
    );
    assert.equal(ready?.reason, 'FailedCreate');
    assert.match(
      ready?.message ?? '',
      /VirtualMachine\.kubevirt\.io "vm-instance-web" is invalid: .*disk-sys\.v1/,
    );
    assert.ok(logged.length > 0, 'the failure is logged and retried');
    assert.equal(get(virtualMachineKind, 'vm-instance-web'), undefined, 'nothing half-made');
  });

  test('a VMInstance before its VMDisk, a VMDisk before its image: waiting, said, then reconciled', async () => {
    const inst = create(vmInstanceKind, instance('early', { disks: [{ name: 'later' }] }));
    await controller.idle();
    let ready = get<VMInstance>(vmInstanceKind, 'early')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'DiskNotFound');
    assert.equal(ready?.message, 'waiting for VMDisk "later": not found');
    assert.deepEqual(
      eventsOf(inst).map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`),
      ['DiskNotFound: waiting for VMDisk "later": not found'],
    );
    const d = create(vmDiskKind, disk('later', { source: { image: { name: 'plan9' } } }));
    await controller.idle();
    ready = get<VMInstance>(vmInstanceKind, 'early')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.notEqual(ready?.reason, 'DiskNotFound', 'the disk appearing wakes the instance');
    const vm = get<VirtualMachine>(virtualMachineKind, 'vm-instance-early');
    assert.ok(
      vm?.spec.template.spec?.volumes?.some((v) => v.dataVolume?.name === 'vm-disk-later'),
      'the VM uses the disk',
    );
    const diskReady = get<VMDisk>(vmDiskKind, 'later')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(diskReady?.reason, 'ImageNotFound');
    assert.match(diskReady?.message ?? '', /waiting for image "plan9"/);
    assert.ok(eventsOf(d).some((e) => e.reason === 'ImageNotFound' && /"plan9"/.test(e.message ?? '')));
    registry.create(dataSourceKind, GOLDEN_IMAGES_NAMESPACE, {
      metadata: { name: 'plan9' },
      spec: { source: { pvc: { name: 'plan9', namespace: GOLDEN_IMAGES_NAMESPACE } } },
    });
    await controller.idle();
    const after = get<VMDisk>(vmDiskKind, 'later')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.notEqual(after?.reason, 'ImageNotFound', 'the image appearing wakes the disk');
  });

  test('an unknown disk shows on the Ready condition once the disk is gone', async () => {
    create(vmDiskKind, disk('system'));
    create(vmInstanceKind, instance('web', { disks: [{ name: 'system' }] }));
    await controller.idle();
    api.delete(vmDiskKind, NS, 'system');
    await controller.idle();
    const ready = get<VMInstance>(vmInstanceKind, 'web')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'DiskNotFound');
  });
});
