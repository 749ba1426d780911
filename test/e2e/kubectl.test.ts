/**
 * The real kubectl against a real server: the seed's manifests apply unchanged and every verb a
 * user reaches for works (apply, get -o yaml/json/wide, describe, edit, patch, label, annotate,
 * explain, delete, get --watch).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/api/meta.js';
import { kubectlOk, examplesDir, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string, env?: Record<string, string>): Promise<string> =>
  kubectlOk(p, args, input, env);

describe('kubectl', () => {
  test('applies the three seed examples unchanged and reads them back intact', async () => {
    for (const name of ['dev-vm', 'prod-vm', 'gpu-vm']) {
      const out = await ok(['apply', '-f', join(examplesDir, `${name}.yaml`)]);
      assert.match(out, new RegExp(`virtualmachine.kubevirt.io/${name} created`));
    }
    for (const name of ['dev-vm', 'prod-vm', 'gpu-vm']) {
      const original = parse(await readFile(join(examplesDir, `${name}.yaml`), 'utf8')) as KubeObject;
      const fromYaml = parse(await ok(['get', 'vm', name, '-o', 'yaml'])) as KubeObject;
      const fromJson = JSON.parse(await ok(['get', 'vm', name, '-o', 'json'])) as KubeObject;
      for (const got of [fromYaml, fromJson]) {
        assert.deepEqual(got['spec'], original['spec'], `${name}: spec changed on the way through`);
        assert.equal(got.metadata.namespace, 'default');
        assert.match(got.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
        assert.match(got.metadata.resourceVersion ?? '', /^\d+$/);
        assert.equal(got.metadata.generation, 1);
        assert.ok(got.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']);
      }
    }
  });

  test('get prints a table with the columns KubeVirt prints, and -o wide and -o name', async () => {
    const table = await ok(['get', 'vm']);
    const header = table.split('\n')[0] ?? '';
    assert.match(header, /^NAME\s+AGE\s+STATUS\s+READY/);
    assert.match(table, /^dev-vm\s+\d+s/m);
    assert.match(await ok(['get', 'vms', '-o', 'wide']), /^NAME\s+AGE/);
    assert.equal(
      (await ok(['get', 'virtualmachines.kubevirt.io', '-o', 'name'])).trim().split('\n').sort().join(','),
      'virtualmachine.kubevirt.io/dev-vm,virtualmachine.kubevirt.io/gpu-vm,virtualmachine.kubevirt.io/prod-vm',
    );
    assert.match(await ok(['get', 'vmclusterinstancetypes']), /cx1\.medium/);
    assert.match(await ok(['get', 'ns']), /^default\s+Active/m);
  });

  test('patch, apply of a changed file, label, annotate and edit change the object; generation follows spec only', async () => {
    await ok(['patch', 'vm', 'dev-vm', '--type', 'merge', '-p', '{"spec":{"running":false}}']);
    let vm = JSON.parse(await ok(['get', 'vm', 'dev-vm', '-o', 'json'])) as KubeObject;
    assert.equal((vm['spec'] as { running: boolean }).running, false);
    assert.equal(vm.metadata.generation, 2);

    await ok(['label', 'vm', 'dev-vm', 'tier=dev']);
    await ok(['annotate', 'vm', 'dev-vm', 'owner=alice']);
    vm = JSON.parse(await ok(['get', 'vm', 'dev-vm', '-o', 'json'])) as KubeObject;
    assert.equal(vm.metadata.labels?.['tier'], 'dev');
    assert.equal(vm.metadata.annotations?.['owner'], 'alice');
    assert.equal(vm.metadata.generation, 2, 'labels and annotations do not bump generation');
    assert.match(
      await ok(['get', 'vm', '-l', 'tier=dev', '-o', 'name']),
      /^virtualmachine.kubevirt.io\/dev-vm\s*$/,
    );

    await ok([
      'patch',
      'vm',
      'dev-vm',
      '--type',
      'json',
      '-p',
      '[{"op":"replace","path":"/spec/template/spec/domain/resources/requests/memory","value":"2Gi"}]',
    ]);
    const changed = (await readFile(join(examplesDir, 'dev-vm.yaml'), 'utf8')).replace(
      /(requests:\s+memory:) 4Gi/,
      '$1 3Gi',
    );
    const file = join(p.dataDir, 'dev-vm-changed.yaml');
    await writeFile(file, changed);
    assert.match(await ok(['apply', '-f', file]), /virtualmachine.kubevirt.io\/dev-vm configured/);
    vm = JSON.parse(await ok(['get', 'vm', 'dev-vm', '-o', 'json'])) as KubeObject;
    const domain = (
      vm['spec'] as {
        template: { spec: { domain: { resources: { requests: { memory: string } } } } };
        running: boolean;
      }
    ).template.spec.domain;
    assert.equal(domain.resources.requests.memory, '3Gi');
    assert.equal(vm.metadata.labels?.['tier'], 'dev', 'apply keeps fields it does not manage');

    await ok(['edit', 'vm', 'dev-vm'], undefined, {
      KUBE_EDITOR: `sed -i -e s/owner:\\ alice/owner:\\ bob/`,
      EDITOR: '',
    });
    vm = JSON.parse(await ok(['get', 'vm', 'dev-vm', '-o', 'json'])) as KubeObject;
    assert.equal(vm.metadata.annotations?.['owner'], 'bob');
  });

  test('describe shows the object and explain shows the schema', async () => {
    const described = await ok(['describe', 'vm', 'gpu-vm']);
    assert.match(described, /Name:\s+gpu-vm/);
    assert.match(described, /nvidia.com\/gpu/);
    const explained = await ok(['explain', 'vm.spec.runStrategy']);
    assert.match(explained, /runStrategy/i);
    assert.match(await ok(['explain', 'virtualmachines.spec.template.spec.domain.devices']), /disks/);
  });

  test('get --watch sees ADDED, MODIFIED and DELETED', async () => {
    const child = spawn(
      'kubectl',
      [
        '--kubeconfig',
        p.kubeconfigPath,
        '--cache-dir',
        join(p.dataDir, 'kube-cache'),
        'get',
        'vm',
        '--watch',
        '--output-watch-events',
      ],
      { env: { ...process.env, HOME: p.dataDir } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(() => out.includes('dev-vm'), 'the initial list in the watch');
      await ok(
        ['apply', '-f', '-'],
        'apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: watched\nspec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n        memory:\n          guest: 128Mi\n',
      );
      await eventually(() => /ADDED\s+watched/.test(out), `ADDED watched in:\n${out}`);
      await ok(['label', 'vm', 'watched', 'seen=yes']);
      await eventually(() => /MODIFIED\s+watched/.test(out), `MODIFIED watched in:\n${out}`);
      await ok(['delete', 'vm', 'watched']);
      await eventually(() => /DELETED\s+watched/.test(out), `DELETED watched in:\n${out}`);
    } finally {
      child.kill();
    }
  });

  test('delete removes the object, and deleting a namespace removes its contents', async () => {
    assert.match(await ok(['delete', 'vm', 'gpu-vm']), /deleted/);
    const r = await p.kubectl(['get', 'vm', 'gpu-vm']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound|not found/);

    await ok(['create', 'namespace', 'team-a']);
    await ok(['apply', '-n', 'team-a', '-f', join(examplesDir, 'dev-vm.yaml')]);
    await ok(['create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=a=b']);
    await ok(['delete', 'namespace', 'team-a']);
    await eventually(
      async () => (await p.kubectl(['get', 'ns', 'team-a'])).code !== 0,
      'namespace team-a to disappear',
    );
    assert.match((await p.kubectl(['get', 'vm', '-n', 'team-a'])).stderr, /No resources found/);
  });
});
