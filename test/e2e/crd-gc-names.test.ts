/**
 * Custom resources in the life of a cluster, with the real kubectl against a real platform: the
 * garbage collector deletes objects owned by a custom resource (a ConfigMap and another Widget)
 * when it goes, in background and foreground, and orphans them when asked; a CRD whose names
 * collide with what is already served is not allowed to take them over.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
  await ok(['apply', '-f', '-'], stringify(crd('gc.example.test', 'Widget', 'widgets', ['gcw'])));
  await ok(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.gc.example.test']);
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

function crd(group: string, kind: string, plural: string, shortNames: string[]): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, shortNames },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          },
        },
      ],
    },
  };
}

interface Owner {
  name: string;
  uid: string;
}

async function widget(name: string, owner?: Owner): Promise<Owner> {
  const metadata = {
    name,
    namespace: 'default',
    ...(owner !== undefined ? { ownerReferences: [ownerRef(owner)] } : {}),
  };
  await ok(
    ['apply', '-f', '-'],
    stringify({ apiVersion: 'gc.example.test/v1', kind: 'Widget', metadata, spec: {} }),
  );
  return {
    name,
    uid: (await ok(['get', 'widget.gc.example.test', name, '-o', 'jsonpath={.metadata.uid}'])).trim(),
  };
}

const ownerRef = (o: Owner): Record<string, unknown> => ({
  apiVersion: 'gc.example.test/v1',
  kind: 'Widget',
  name: o.name,
  uid: o.uid,
  blockOwnerDeletion: true,
});

async function configMap(name: string, owner: Owner): Promise<void> {
  const metadata = { name, namespace: 'default', ownerReferences: [ownerRef(owner)] };
  await ok(
    ['apply', '-f', '-'],
    stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { a: 'b' } }),
  );
}

async function gone(resource: string, name: string): Promise<boolean> {
  const r = await p.kubectl(['get', resource, name, '-o', 'name']);
  return r.code !== 0 && r.stderr.includes('NotFound');
}

describe('garbage collection of custom resources', () => {
  test('background: a Widget owning a ConfigMap and a Widget takes both with it', async () => {
    const parent = await widget('parent');
    await configMap('parent-config', parent);
    await widget('parent-child', parent);
    await ok(['delete', 'widget.gc.example.test', 'parent']);
    await eventually(
      async () =>
        (await gone('configmap', 'parent-config')) && (await gone('widget.gc.example.test', 'parent-child')),
      'the ConfigMap and the Widget owned by the deleted Widget to be collected',
      30_000,
    );
  });

  test('foreground: the owner is deleted after its dependents', async () => {
    const parent = await widget('fg');
    await configMap('fg-config', parent);
    await widget('fg-child', parent);
    await ok(['delete', 'widget.gc.example.test', 'fg', '--cascade=foreground', '--timeout=60s']);
    assert.ok(await gone('configmap', 'fg-config'));
    assert.ok(await gone('widget.gc.example.test', 'fg-child'));
  });

  test('orphan: the dependents stay, without their owner reference', async () => {
    const parent = await widget('keep');
    await configMap('keep-config', parent);
    await widget('keep-child', parent);
    await ok(['delete', 'widget.gc.example.test', 'keep', '--cascade=orphan']);
    await eventually(() => gone('widget.gc.example.test', 'keep'), 'the owner to be deleted', 30_000);
    const refs = (resource: string, name: string): Promise<string> =>
      ok(['get', resource, name, '-o', 'jsonpath={.metadata.ownerReferences}']);
    assert.equal((await refs('configmap', 'keep-config')).trim(), '');
    assert.equal((await refs('widget.gc.example.test', 'keep-child')).trim(), '');
  });
});

describe('CRD names already served', () => {
  const namesAccepted = async (name: string): Promise<string> =>
    ok(['get', 'crd', name, '-o', 'jsonpath={.status.conditions[?(@.type=="NamesAccepted")].reason}']);

  test('a plural that is a built-in short name is refused; kubectl get vm still lists VirtualMachines', async () => {
    await ok(['apply', '-f', '-'], stringify(crd('names.example.test', 'Vm', 'vm', [])));
    await eventually(
      async () => (await namesAccepted('vm.names.example.test')) === 'PluralConflict',
      'NamesAccepted=False with PluralConflict',
      30_000,
    );
    const msg = await ok([
      'get',
      'crd',
      'vm.names.example.test',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="NamesAccepted")].message}',
    ]);
    assert.match(msg, /"vm" is already in use as a short name of virtualmachines.kubevirt.io/);
    const established = await ok([
      'get',
      'crd',
      'vm.names.example.test',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Established")].status}',
    ]);
    assert.equal(established, 'False');
    // A short name taken in another group is accepted (as upstream) but kubectl keeps the first.
    await ok(['apply', '-f', '-'], stringify(crd('names.example.test', 'Machine', 'machines', ['vm'])));
    await ok(['wait', '--for=condition=Established', '--timeout=30s', 'crd/machines.names.example.test']);
    const r = await p.kubectl(['get', 'vm', '-A', '-o', 'jsonpath={.kind}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'List');
    const resolved = await p.kubectl(['get', 'vm', '-A', '-v=6']);
    assert.match(
      resolved.stderr,
      /\/apis\/kubevirt.io\/v1\/virtualmachines/,
      'kubectl get vm still asks for VirtualMachines',
    );
    assert.doesNotMatch(resolved.stderr, /names.example.test\/v1\/machines/);
  });

  test('a CRD whose kind is served in its group is not served', async () => {
    await ok(['apply', '-f', '-'], stringify(crd('gc.example.test', 'Widget', 'otherwidgets', [])));
    await eventually(
      async () => (await namesAccepted('otherwidgets.gc.example.test')) === 'KindConflict',
      'NamesAccepted=False with KindConflict',
      30_000,
    );
    const r = await p.kubectl(['get', 'otherwidgets']);
    assert.notEqual(r.code, 0);
  });
});
