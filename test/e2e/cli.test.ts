/**
 * The hikube CLI through the Kubernetes API: apply, get in every output format, delete, and
 * errors printed as the Status message plus one line per cause.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { examplesDir, repoRoot, run, startTestPlatform, type TestPlatform } from '../support/platform.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

describe('hikube CLI', () => {
  test('apply creates, then reports unchanged, then configured', async () => {
    const created = await p.hikube(['apply', '-f', join(examplesDir, 'dev-vm.yaml')]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim(), 'virtualmachine.kubevirt.io/dev-vm created');
    const again = await p.hikube(['apply', '-f', join(examplesDir, 'dev-vm.yaml')]);
    assert.equal(again.stdout.trim(), 'virtualmachine.kubevirt.io/dev-vm unchanged');
    const manifest =
      'apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: dev-vm\nspec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n        memory:\n          guest: 1Gi\n';
    const changed = await p.hikube(['apply', '-f', '-'], manifest);
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(changed.stdout.trim(), 'virtualmachine.kubevirt.io/dev-vm configured');
    const vm = JSON.parse((await p.hikube(['get', 'vm', 'dev-vm', '-o', 'json'])).stdout) as {
      spec: Record<string, unknown>;
    };
    assert.equal(vm.spec['running'], undefined, 'a field removed from the file is removed from the object');
    assert.equal(vm.spec['runStrategy'], 'Halted');
  });

  test('get prints table, wide, json, yaml and name', async () => {
    const table = await p.hikube(['get', 'vm']);
    assert.match(table.stdout, /^NAME\s+AGE\s+STATUS\s+READY\n/);
    assert.match(table.stdout, /^dev-vm\s/m);
    assert.match((await p.hikube(['get', 'vm', '-o', 'wide'])).stdout, /^NAME/);
    const yaml = parse((await p.hikube(['get', 'vm', 'dev-vm', '-o', 'yaml'])).stdout) as {
      kind: string;
      metadata: { name: string };
    };
    assert.equal(yaml.kind, 'VirtualMachine');
    assert.equal(yaml.metadata.name, 'dev-vm');
    const list = JSON.parse((await p.hikube(['get', 'vm', '-o', 'json'])).stdout) as {
      kind: string;
      items: unknown[];
    };
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 1);
    assert.equal(
      (await p.hikube(['get', 'vm', '-o', 'name'])).stdout.trim(),
      'virtualmachine.kubevirt.io/dev-vm',
    );
    assert.match((await p.hikube(['get', 'vmclusterinstancetype'])).stdout, /m1\.2xlarge/);
  });

  test('errors show the Status message and one line per cause, with a non-zero exit', async () => {
    const bad =
      'apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: bad\nspec:\n  running: true\n  runStrategy: Always\n  template:\n    spec:\n      domain:\n        devices: {}\n        resources:\n          requests:\n            memory: 4Gx\n';
    const r = await p.hikube(['apply', '-f', '-'], bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error from server \(Invalid\)/);
    assert.match(r.stderr, /^ {2}spec\.template\.spec\.domain\.resources\.requests\.memory: /m);
    assert.match(r.stderr, /^ {2}spec\.running: /m);
    const missing = await p.hikube(['get', 'vm', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NotFound/);
    const unknownKind = await p.hikube(['get', 'widgets']);
    assert.match(unknownKind.stderr, /doesn't have a resource type "widgets"/);
  });

  test('delete removes the object; KUBECONFIG is honoured when --kubeconfig is absent', async () => {
    const r = await run(join(repoRoot, 'bin', 'hikube'), ['delete', 'vm', 'dev-vm'], undefined, {
      KUBECONFIG: p.kubeconfigPath,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"dev-vm" deleted/);
    assert.match((await p.hikube(['get', 'vm'])).stderr, /No resources found in default namespace/);
  });
});
