/**
 * Issue 13's "versions and kinds" against a real server with the real kubectl. kubevirt.io/v1alpha3:
 * a v1alpha3 manifest applies (and re-applies), reads back in either version, lists and watches in
 * v1alpha3, and every answer in v1alpha3 carries kube's deprecation warning. CDIConfig and
 * StorageProfiles reflect our storage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform, kubectlOk, type TestPlatform } from '../support/platform.js';
import { raw } from '../support/http.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ns = `v1alpha3-${process.pid}`;
const manifest = (label: string): string => `apiVersion: kubevirt.io/v1alpha3
kind: VirtualMachine
metadata:
  name: old-vm
  namespace: ${ns}
  labels:
    tier: ${label}
spec:
  running: false
  template:
    spec:
      domain:
        devices: {}
        resources:
          requests:
            memory: 128Mi
      volumes: []
`;
const deprecated = /kubevirt\.io\/v1alpha3 VirtualMachine is deprecated/;

describe('kubevirt.io/v1alpha3', () => {
  test('kubectl applies a v1alpha3 manifest, warns, and re-applies a change', async () => {
    await kubectlOk(p, ['create', 'namespace', ns]);
    const first = await p.kubectl(['apply', '-f', '-'], manifest('dev'));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /virtualmachine\.kubevirt\.io\/old-vm created/);
    assert.match(first.stderr, /Warning: kubevirt\.io\/v1alpha3 VirtualMachine is deprecated/);

    const second = await p.kubectl(['apply', '-f', '-'], manifest('prod'));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /virtualmachine\.kubevirt\.io\/old-vm configured/);

    const v1 = JSON.parse(await kubectlOk(p, ['get', 'vm', 'old-vm', '-n', ns, '-o', 'json'])) as {
      apiVersion: string;
      metadata: { labels: Record<string, string> };
    };
    assert.equal(v1.apiVersion, 'kubevirt.io/v1', 'the preferred version is v1');
    assert.equal(v1.metadata.labels['tier'], 'prod');
    const alpha = JSON.parse(
      await kubectlOk(p, ['get', 'virtualmachines.v1alpha3.kubevirt.io', 'old-vm', '-n', ns, '-o', 'json']),
    ) as { apiVersion: string };
    assert.equal(alpha.apiVersion, 'kubevirt.io/v1alpha3');
  });

  test('discovery, list and watch in v1alpha3; the object is stored once', async () => {
    const group = await raw(p, 'GET', '/apis/kubevirt.io');
    assert.deepEqual(group.json['preferredVersion'], { groupVersion: 'kubevirt.io/v1', version: 'v1' });
    assert.deepEqual(
      (group.json['versions'] as { version: string }[]).map((v) => v.version),
      ['v1', 'v1alpha3'],
    );
    const resources = await raw(p, 'GET', '/apis/kubevirt.io/v1alpha3');
    const names = (resources.json['resources'] as { name: string }[]).map((r) => r.name);
    assert.ok(names.includes('virtualmachines') && names.includes('virtualmachineinstances'), names.join());

    const base = `/apis/kubevirt.io/v1alpha3/namespaces/${ns}/virtualmachines`;
    const list = await raw(p, 'GET', base);
    assert.equal(list.code, 200);
    assert.equal(list.json['apiVersion'], 'kubevirt.io/v1alpha3');
    assert.equal(list.json['kind'], 'VirtualMachineList');
    const items = list.json['items'] as { apiVersion: string }[];
    assert.deepEqual(
      items.map((i) => i.apiVersion),
      ['kubevirt.io/v1alpha3'],
    );
    assert.match(String(list.headers['warning']), deprecated);
    const v1List = await raw(p, 'GET', `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`);
    assert.equal((v1List.json['items'] as unknown[]).length, 1, 'one object, not one per version');
    assert.equal(v1List.headers['warning'], undefined, 'v1 is not deprecated');

    const watch = await raw(p, 'GET', `${base}?watch=true&timeoutSeconds=1`);
    const events = watch.body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; object: { apiVersion: string } });
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.object.apiVersion}`),
      ['ADDED kubevirt.io/v1alpha3'],
    );
  });

  test('bad input in v1alpha3 gets a Status with one cause per bad field', async () => {
    const body = JSON.stringify({
      apiVersion: 'kubevirt.io/v1alpha3',
      kind: 'VirtualMachine',
      metadata: { name: 'Bad_Name' },
      spec: { running: 'yes', template: { spec: { domain: { devices: {} } } } },
    });
    const r = await raw(p, 'POST', `/apis/kubevirt.io/v1alpha3/namespaces/${ns}/virtualmachines`, body);
    assert.equal(r.code, 422, r.body);
    assert.equal(r.json['kind'], 'Status');
    assert.equal(r.json['apiVersion'], 'v1');
    const causes = ((r.json['details'] as { causes: { field: string }[] }).causes ?? []).map((c) => c.field);
    assert.ok(causes.includes('metadata.name'), causes.join());
    assert.ok(causes.includes('spec.running'), causes.join());
    assert.match(String(r.headers['warning']), deprecated);
  });
});

describe('CDIConfig and StorageProfile', () => {
  test('kubectl reads the CDIConfig singleton and one StorageProfile per class', async () => {
    await eventually(async () => {
      const r = await p.kubectl(['get', 'cdiconfig', 'config', '-o', 'json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { status?: unknown }).status !== undefined;
    }, 'the CDIConfig status');
    const config = JSON.parse(await kubectlOk(p, ['get', 'cdiconfig', 'config', '-o', 'json'])) as {
      status: Record<string, unknown>;
    };
    assert.equal(config.status['uploadProxyURL'], p.url);
    assert.equal(config.status['scratchSpaceStorageClass'], 'local');
    assert.equal(config.status['defaultPodResourceRequirements'], undefined);

    await eventually(async () => {
      const r = await p.kubectl(['get', 'storageprofiles', '-o', 'name']);
      return r.stdout.includes('storageprofile.cdi.kubevirt.io/local');
    }, 'the StorageProfile of the default class');
    const profile = JSON.parse(await kubectlOk(p, ['get', 'storageprofile', 'local', '-o', 'json'])) as {
      status: { provisioner: string; storageClass: string; claimPropertySets: { volumeMode: string }[] };
    };
    assert.equal(profile.status.storageClass, 'local');
    assert.equal(profile.status.provisioner, 'hikube.io/local-pool');
    assert.deepEqual(
      profile.status.claimPropertySets.map((s) => s.volumeMode),
      ['Filesystem', 'Block'],
    );

    const bad = await p.kubectl(
      ['create', '-f', '-'],
      'apiVersion: cdi.kubevirt.io/v1beta1\nkind: CDIConfig\nmetadata:\n  name: second\n',
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /metadata\.name/);
  });
});

describe('PriorityClass', () => {
  test('kubectl creates and lists PriorityClasses; a VMI naming a missing one waits saying so', async () => {
    const name = `gold-${process.pid}`;
    const created = await kubectlOk(p, [
      'create',
      'priorityclass',
      name,
      '--value=1000',
      '--description=for the important VMs',
    ]);
    assert.match(created, new RegExp(`priorityclass.scheduling.k8s.io/${name} created`));
    const table = await kubectlOk(p, ['get', 'pc', name]);
    assert.match(table.split('\n')[0] ?? '', /^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY/);
    assert.match(table, new RegExp(`^${name}\\s+1000\\s+false\\s+\\S+\\s+PreemptLowerPriority`, 'm'));
    const changed = await p.kubectl(['patch', 'pc', name, '--type=merge', '-p', '{"value":5}']);
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /value: Forbidden: may not be changed in an update/);

    const vmi = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: waits-for-class
  namespace: ${ns}
spec:
  priorityClassName: missing-${process.pid}
  domain:
    devices: {}
    memory:
      guest: 64Mi
`;
    await kubectlOk(p, ['apply', '-f', '-'], vmi);
    await eventually(async () => {
      const r = await p.kubectl([
        'get',
        'vmi',
        'waits-for-class',
        '-n',
        ns,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}',
      ]);
      return r.stdout.includes(`no PriorityClass with name "missing-${process.pid}" was found`);
    }, 'the VMI to say its class is missing');
    await kubectlOk(p, ['delete', 'vmi', 'waits-for-class', '-n', ns, '--wait=false']);
  });
});

describe('VirtualMachineInstanceReplicaSet', () => {
  test('kubectl applies a VMIRS, scales it through the scale subresource, and reads it', async () => {
    const manifest = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceReplicaSet
metadata:
  name: web
  namespace: ${ns}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      nodeSelector:
        no-such-node: "true"
      domain:
        devices: {}
        memory:
          guest: 64Mi
`;
    assert.match(
      await kubectlOk(p, ['apply', '-f', '-'], manifest),
      /virtualmachineinstancereplicaset\.kubevirt\.io\/web created/,
    );
    const vmiCount = async (): Promise<number> =>
      (await kubectlOk(p, ['get', 'vmi', '-n', ns, '-l', 'app=web', '-o', 'name']))
        .split('\n')
        .filter((l) => l !== '').length;
    await eventually(async () => (await vmiCount()) === 1, 'one VMI');

    assert.match(
      await kubectlOk(p, ['scale', 'vmirs', 'web', '-n', ns, '--replicas=3']),
      /virtualmachineinstancereplicaset\.kubevirt\.io\/web scaled/,
    );
    await eventually(async () => (await vmiCount()) === 3, 'three VMIs');
    const scale = JSON.parse(
      await kubectlOk(p, [
        'get',
        '--raw',
        `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstancereplicasets/web/scale`,
      ]),
    ) as { kind: string; spec: { replicas: number }; status: { selector?: string } };
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 3);
    await eventually(
      async () => /^web\s+3\s+3\s+0\s+/m.test(await kubectlOk(p, ['get', 'vmirs', '-n', ns])),
      'DESIRED 3, CURRENT 3',
    );

    const bad = await raw(
      p,
      'PATCH',
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstancereplicasets/web/scale`,
      '{"spec":{"replicas":-1}}',
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(bad.code, 422, bad.body);
    assert.deepEqual(
      (bad.json['details'] as { causes: { field: string }[] }).causes.map((c) => c.field),
      ['spec.replicas'],
    );

    await kubectlOk(p, ['scale', 'vmirs', 'web', '-n', ns, '--replicas=0']);
    await eventually(async () => (await vmiCount()) === 0, 'no VMI left');
    await kubectlOk(p, ['delete', 'vmirs', 'web', '-n', ns]);
  });
});
