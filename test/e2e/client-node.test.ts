/**
 * The real @kubernetes/client-node (1.x) against a real platform: typed CRUD through
 * CustomObjectsApi, CoreV1Api and the generic KubernetesObjectApi, merge patches, a raw Watch
 * and an informer whose cache must converge on the server's list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

interface VM extends KubernetesObject {
  spec: {
    runStrategy?: string;
    template: { spec: { domain: { devices: Record<string, unknown>; memory?: { guest?: string } } } };
  };
}

interface StatusBody {
  kind?: string;
  code?: number;
  reason?: string;
  details?: { causes?: { field?: string; reason?: string; message?: string }[] };
}

const GROUP = 'kubevirt.io';
const VERSION = 'v1';
const PLURAL = 'virtualmachines';

/** A minimal valid VM. Spec changes below move runStrategy to Manual, which never starts a VMI. */
const vm = (name: string, guest = '128Mi', labels: Record<string, string> = {}): VM => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, labels },
  spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {}, memory: { guest } } } } },
});

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let p: TestPlatform;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let objects: KubernetesObjectApi;

before(async () => {
  p = await startTestPlatform();
  kc = new KubeConfig();
  kc.loadFromFile(p.kubeconfigPath);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  objects = KubernetesObjectApi.makeApiClient(kc);
});
after(async () => {
  await p.cleanup();
});

/** The ApiException a call rejected with, failing the test if it resolved or threw something else. */
async function apiError(call: Promise<unknown>): Promise<{ code: number; status: StatusBody }> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, 'expected the call to be rejected');
  assert.ok(caught instanceof ApiException, `expected an ApiException, got ${inspect(caught)}`);
  const exc = caught as ApiException<unknown>;
  const status = (typeof exc.body === 'string' ? JSON.parse(exc.body) : exc.body) as StatusBody;
  return { code: exc.code, status };
}

/**
 * The VM controller writes status concurrently with the test: re-read and retry a
 * read-modify-write on 409 Conflict, as client-go's RetryOnConflict does.
 */
async function retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= 10 || !(err instanceof ApiException) || (err as ApiException<unknown>).code !== 409) throw err;
    }
  }
}

async function createNamespace(name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
}

const getVM = async (namespace: string, name: string): Promise<VM> =>
  (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
  })) as VM;
const listVMs = async (namespace: string): Promise<KubernetesListObject<VM>> =>
  (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
  })) as KubernetesListObject<VM>;
const createVM = async (namespace: string, body: VM): Promise<VM> =>
  (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body,
  })) as VM;

describe('CustomObjectsApi on kubevirt.io/v1 VirtualMachines', () => {
  const ns = 'cn-custom';
  before(async () => {
    await createNamespace(ns);
  });

  test('create, get, list, replace, merge patch, delete', async () => {
    const created = await createVM(ns, vm('crud-1', '128Mi', { app: 'crud' }));
    assert.equal(created.kind, 'VirtualMachine');
    assert.equal(created.metadata?.name, 'crud-1');
    assert.equal(created.metadata?.namespace, ns);
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.equal(created.metadata?.generation, 1);
    assert.equal(created.spec.template.spec.domain.memory?.guest, '128Mi');

    // the VM controller may have written status since: same object, same or later version
    const got = await getVM(ns, 'crud-1');
    assert.equal(got.metadata?.uid, created.metadata?.uid);
    assert.ok(Number(got.metadata?.resourceVersion) >= Number(created.metadata?.resourceVersion));
    assert.equal(got.metadata?.generation, 1);

    await createVM(ns, vm('crud-2'));
    const list = await listVMs(ns);
    assert.equal(list.kind, 'VirtualMachineList');
    assert.match(list.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.deepEqual(list.items.map((o) => o.metadata?.name).sort(), ['crud-1', 'crud-2']);

    // replace: a spec change bumps generation and resourceVersion
    const replaced = await retryOnConflict(async () => {
      const current = await getVM(ns, 'crud-1');
      const changed: VM = {
        ...current,
        spec: {
          ...current.spec,
          template: { spec: { domain: { devices: {}, memory: { guest: '256Mi' } } } },
        },
      };
      return (await custom.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'crud-1',
        body: changed,
      })) as VM;
    });
    assert.equal(replaced.spec.template.spec.domain.memory?.guest, '256Mi');
    assert.equal(replaced.metadata?.generation, 2);
    assert.ok(Number(replaced.metadata?.resourceVersion) > Number(got.metadata?.resourceVersion));
    assert.equal(replaced.metadata?.uid, created.metadata?.uid);

    // replace with the stale resourceVersion: 409 Conflict
    const stale = await apiError(
      custom.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'crud-1',
        body: created,
      }),
    );
    assert.equal(stale.code, 409);
    assert.equal(stale.status.reason, 'Conflict');

    // merge patch: labels merge, a spec field changes, untouched fields stay
    const patched = (await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'crud-1',
        body: { metadata: { labels: { tier: 'gold' } }, spec: { runStrategy: 'Manual' } },
      },
      mergePatch,
    )) as VM;
    assert.deepEqual(patched.metadata?.labels, { app: 'crud', tier: 'gold' });
    assert.equal(patched.spec.runStrategy, 'Manual');
    assert.equal(patched.spec.template.spec.domain.memory?.guest, '256Mi');
    assert.equal(patched.metadata?.generation, 3);
    assert.equal((await getVM(ns, 'crud-1')).spec.runStrategy, 'Manual');

    // a merge patch that sets a label to null removes it
    const unlabelled = (await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'crud-1',
        body: { metadata: { labels: { tier: null } } },
      },
      mergePatch,
    )) as VM;
    assert.deepEqual(unlabelled.metadata?.labels, { app: 'crud' });

    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'crud-1',
    });
    const gone = await apiError(getVM(ns, 'crud-1'));
    assert.equal(gone.code, 404);
    assert.equal(gone.status.reason, 'NotFound');
    assert.deepEqual(
      (await listVMs(ns)).items.map((o) => o.metadata?.name),
      ['crud-2'],
    );
  });

  test('an invalid memory quantity is an ApiException 422 naming the field', async () => {
    const bad = await apiError(createVM(ns, vm('bad-mem', '4Gx')));
    assert.equal(bad.code, 422);
    assert.equal(bad.status.kind, 'Status');
    assert.equal(bad.status.code, 422);
    assert.equal(bad.status.reason, 'Invalid');
    const fields = (bad.status.details?.causes ?? []).map((c) => c.field);
    assert.ok(
      fields.includes('spec.template.spec.domain.memory.guest'),
      `causes: ${JSON.stringify(bad.status.details?.causes)}`,
    );
    // nothing was half-created
    assert.equal((await apiError(getVM(ns, 'bad-mem'))).code, 404);
  });

  test('creating a name that exists is a 409 AlreadyExists', async () => {
    await createVM(ns, vm('dup-1'));
    const dup = await apiError(createVM(ns, vm('dup-1')));
    assert.equal(dup.code, 409);
    assert.equal(dup.status.reason, 'AlreadyExists');
  });
});

describe('CoreV1Api on ConfigMaps', () => {
  const ns = 'cn-core';
  before(async () => {
    await createNamespace(ns);
  });

  test('create, get, list, replace, merge patch, delete', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'cm-1', labels: { app: 'cm' } }, data: { a: '1' } },
    });
    assert.equal(created.metadata?.name, 'cm-1');
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(created.data, { a: '1' });

    const got = await core.readNamespacedConfigMap({ namespace: ns, name: 'cm-1' });
    assert.equal(got.metadata?.resourceVersion, created.metadata?.resourceVersion);
    assert.ok(got.metadata?.creationTimestamp instanceof Date, 'creationTimestamp deserializes as a Date');

    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'cm-2' }, data: { b: '2' } },
    });
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    assert.deepEqual(list.items.map((o) => o.metadata?.name).sort(), ['cm-1', 'cm-2']);
    const selected = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'app=cm' });
    assert.deepEqual(
      selected.items.map((o) => o.metadata?.name),
      ['cm-1'],
    );

    const replaced = await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: 'cm-1',
      body: { ...got, data: { a: '10', c: '3' } },
    });
    assert.deepEqual(replaced.data, { a: '10', c: '3' });
    assert.notEqual(replaced.metadata?.resourceVersion, got.metadata?.resourceVersion);
    const stale = await apiError(core.replaceNamespacedConfigMap({ namespace: ns, name: 'cm-1', body: got }));
    assert.equal(stale.code, 409);

    const patched: V1ConfigMap = await core.patchNamespacedConfigMap(
      { namespace: ns, name: 'cm-1', body: { data: { c: null, d: '4' } } },
      mergePatch,
    );
    assert.deepEqual(patched.data, { a: '10', d: '4' });
    assert.deepEqual(patched.metadata?.labels, { app: 'cm' });

    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'cm-1' });
    assert.equal((await apiError(core.readNamespacedConfigMap({ namespace: ns, name: 'cm-1' }))).code, 404);
    assert.deepEqual(
      (await core.listNamespacedConfigMap({ namespace: ns })).items.map((o) => o.metadata?.name),
      ['cm-2'],
    );
  });

  test('an invalid name is a 422 naming metadata.name', async () => {
    const bad = await apiError(
      core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'Not_A_Name' } } }),
    );
    assert.equal(bad.code, 422);
    assert.ok(
      (bad.status.details?.causes ?? []).some((c) => c.field === 'metadata.name'),
      JSON.stringify(bad.status),
    );
  });
});

describe('KubernetesObjectApi (discovery-driven, generic)', () => {
  const ns = 'cn-generic';
  before(async () => {
    await createNamespace(ns);
  });

  test('create, read, list, replace, merge patch, delete a VirtualMachine', async () => {
    const spec: VM = { ...vm('generic-1'), metadata: { name: 'generic-1', namespace: ns } };
    const created = await objects.create<VM>(spec);
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    const read = await objects.read<VM>({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'generic-1', namespace: ns },
    });
    assert.equal(read.metadata?.uid, created.metadata?.uid);
    const list = await objects.list<VM>('kubevirt.io/v1', 'VirtualMachine', ns);
    assert.deepEqual(
      list.items.map((o) => o.metadata?.name),
      ['generic-1'],
    );

    const replaced = await retryOnConflict(async () => {
      const current = await objects.read<VM>({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'generic-1', namespace: ns },
      });
      return objects.replace<VM>({ ...current, spec: { ...current.spec, runStrategy: 'Manual' } });
    });
    assert.equal(replaced.spec.runStrategy, 'Manual');

    const patched = await objects.patch<KubernetesObject>(
      {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'generic-1', namespace: ns, labels: { via: 'generic' } },
      },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    assert.deepEqual(patched.metadata?.labels, { via: 'generic' });
    assert.equal((patched as VM).spec.runStrategy, 'Manual');

    await objects.delete({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'generic-1', namespace: ns },
    });
    assert.deepEqual((await objects.list('kubevirt.io/v1', 'VirtualMachine', ns)).items, []);
  });

  test('a ConfigMap through the generic client', async () => {
    const created = await objects.create<V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'g-cm', namespace: ns },
      data: { x: 'y' },
    });
    assert.deepEqual(created.data, { x: 'y' });
    await objects.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'g-cm', namespace: ns } });
    assert.equal((await apiError(core.readNamespacedConfigMap({ namespace: ns, name: 'g-cm' }))).code, 404);
  });
});

describe('Watch', () => {
  const ns = 'cn-watch';
  before(async () => {
    await createNamespace(ns);
  });

  test('sees ADDED, MODIFIED and DELETED for a VM, in order, with increasing resourceVersions', async () => {
    const start = await listVMs(ns);
    const events: { type: string; name: string; rv: string; runStrategy: string | undefined }[] = [];
    const errors: unknown[] = [];
    let doneCalled = false;
    const w = new Watch(kc);
    const controller = await w.watch(
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`,
      { resourceVersion: start.metadata?.resourceVersion ?? '0' },
      (type, obj: VM) => {
        events.push({
          type,
          name: obj.metadata?.name ?? '',
          rv: obj.metadata?.resourceVersion ?? '',
          runStrategy: obj.spec.runStrategy,
        });
      },
      (err: unknown) => {
        doneCalled = true;
        if (err !== null && err !== undefined && !(err instanceof Error && err.name === 'AbortError'))
          errors.push(err);
      },
    );
    try {
      await createVM(ns, vm('watched'));
      await custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          name: 'watched',
          body: { spec: { runStrategy: 'Manual' } },
        },
        mergePatch,
      );
      await custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'watched',
      });
      await eventually(
        () => events.some((e) => e.type === 'DELETED') || errors.length > 0,
        'the DELETED event',
      );
      assert.deepEqual(errors, []);
      // ADDED first, DELETED last, MODIFIED between: ours, plus any status writes of the VM controller
      const types = events.map((e) => `${e.type} ${e.name}`);
      assert.equal(types[0], 'ADDED watched', types.join(', '));
      assert.equal(types.at(-1), 'DELETED watched', types.join(', '));
      const middle = types.slice(1, -1);
      assert.ok(middle.length >= 1, types.join(', '));
      assert.ok(
        middle.every((t) => t === 'MODIFIED watched'),
        types.join(', '),
      );
      assert.equal(events[0]?.runStrategy, 'Halted');
      assert.ok(
        events.slice(1, -1).some((e) => e.runStrategy === 'Manual'),
        'a MODIFIED event carries the patch',
      );
      const rvs = events.map((e) => Number(e.rv));
      assert.ok(
        rvs.every((rv, i) => i === 0 || rv > (rvs[i - 1] ?? Infinity)),
        `resourceVersions ${rvs.join(',')}`,
      );
      assert.equal(doneCalled, false, 'the watch ended early');
    } finally {
      controller.abort();
    }
  });
});

describe('informer', () => {
  const ns = 'cn-informer';
  before(async () => {
    await createNamespace(ns);
  });

  test('after 100 quick creates, updates and deletes, the cache equals the server list', async () => {
    // pre-existing objects must arrive through the initial list
    for (let i = 0; i < 5; i++) await createVM(ns, vm(`pre-${i}`));

    const informer = makeInformer<VM>(kc, `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`, () =>
      listVMs(ns),
    );
    const errors: unknown[] = [];
    const counts = { add: 0, update: 0, delete: 0 };
    informer.on('add', () => counts.add++);
    informer.on('update', () => counts.update++);
    informer.on('delete', () => counts.delete++);
    informer.on('error', (err: unknown) => errors.push(err));
    await informer.start();
    try {
      await eventually(() => informer.list(ns).length === 5, 'the initial list in the cache');

      // 100 writes, as fast as the client can issue them: 40 creates, 30 updates, 30 deletes,
      // each batch concurrent so the watch sees interleaved changes.
      const N = 40;
      await Promise.all(
        Array.from({ length: N }, (_, i) => createVM(ns, vm(`inf-${i}`, '128Mi', { batch: 'a' }))),
      );
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          custom.patchNamespacedCustomObject(
            {
              group: GROUP,
              version: VERSION,
              namespace: ns,
              plural: PLURAL,
              name: `inf-${i}`,
              body: { metadata: { labels: { batch: 'b', n: String(i) } }, spec: { runStrategy: 'Manual' } },
            },
            mergePatch,
          ),
        ),
      );
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          custom.deleteNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: ns,
            plural: PLURAL,
            name: `inf-${i + 10}`,
          }),
        ),
      );

      const snapshot = (items: readonly VM[]): string[] =>
        items
          .map(
            (o) =>
              `${o.metadata?.name ?? ''} uid=${o.metadata?.uid ?? ''} rv=${o.metadata?.resourceVersion ?? ''} labels=${JSON.stringify(o.metadata?.labels ?? {})} run=${o.spec.runStrategy ?? ''}`,
          )
          .sort();
      // compare with a fresh server list on every probe: controllers may still be writing status
      let want: string[] = [];
      let last: string[] = [];
      try {
        await eventually(
          async () => {
            want = snapshot((await listVMs(ns)).items);
            last = snapshot(informer.list(ns));
            return JSON.stringify(last) === JSON.stringify(want);
          },
          'the informer cache to equal the server list',
          15_000,
        );
      } catch (err) {
        assert.deepEqual(last, want, String(err));
      }
      assert.equal(want.length, 5 + N - 30);
      assert.deepEqual(errors, []);
      assert.equal(counts.add, 5 + N);
      assert.equal(counts.delete, 30);
      assert.ok(counts.update >= 30, `updates seen: ${counts.update}`);
      // the patched-but-not-deleted objects carry the update
      assert.equal(informer.get('inf-5', ns)?.spec.runStrategy, 'Manual');
      assert.equal(informer.get('inf-5', ns)?.metadata?.labels?.['batch'], 'b');
      assert.equal(informer.get('inf-15', ns), undefined);
      assert.equal(informer.get('inf-35', ns), undefined);
      assert.equal(informer.get('pre-2', ns)?.spec.runStrategy, 'Halted');
    } finally {
      await informer.stop();
    }
  });
});

// Divergences from kube-apiserver this suite found, now fixed.
describe('Kubernetes parity', () => {
  test('deleting a ConfigMap answers a Status Success, as kube-apiserver does for kinds without ReturnDeletedObject', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'parity-cm' } },
    });
    const status = await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'parity-cm' });
    assert.equal(status.kind, 'Status');
    assert.equal(status.status, 'Success');
    assert.equal(status.details?.name, 'parity-cm');
    assert.equal(status.details?.kind, 'configmaps');
  });

  test('the built-in namespaces cannot be deleted: 403 Forbidden', async () => {
    const refused = await apiError(core.deleteNamespace({ name: 'kube-public' }));
    assert.equal(refused.code, 403);
    assert.equal(refused.status.reason, 'Forbidden');
    assert.equal((await core.readNamespace({ name: 'kube-public' })).status?.phase, 'Active');
  });
});
