/**
 * kubevirt.io/v1alpha3: the served-version table expands into definitions that share the stored
 * kind's schema and storage, discovery prefers v1, and conversion touches only the kind's own
 * apiVersion (never owner references or a Status).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiVersionOf } from '../../../src/api/kind.js';
import { kinds, olderVersions, servedKinds } from '../../../src/api/registry.js';
import { isOlderVersion, withOlderVersions, type OlderVersionKind } from '../../../src/api/versions.js';
import { apiGroupDoc, groupVersions } from '../../../src/apiserver/discovery.js';
import { converterFor, toOlder } from '../../../src/apiserver/conversion.js';

const vmAlpha = servedKinds.find(
  (k): k is OlderVersionKind => isOlderVersion(k) && k.kind === 'VirtualMachine',
);

describe('older API versions', () => {
  test('kubevirt.io/v1alpha3 serves VM, VMI and VMIRS with the v1 schema; export.kubevirt.io/v1beta1 the export; snapshot.kubevirt.io/v1alpha1 the snapshot kinds', () => {
    const alpha = servedKinds.filter(isOlderVersion).map((k) => `${apiVersionOf(k)} ${k.kind}`);
    assert.deepEqual(alpha, [
      'kubevirt.io/v1alpha3 VirtualMachine',
      'kubevirt.io/v1alpha3 VirtualMachineInstance',
      'kubevirt.io/v1alpha3 VirtualMachineInstanceReplicaSet',
      'export.kubevirt.io/v1beta1 VirtualMachineExport',
      'snapshot.kubevirt.io/v1alpha1 VirtualMachineSnapshot',
      'snapshot.kubevirt.io/v1alpha1 VirtualMachineSnapshotContent',
      'snapshot.kubevirt.io/v1alpha1 VirtualMachineRestore',
    ]);
    assert.ok(vmAlpha);
    assert.equal(vmAlpha.schema, vmAlpha.storage.schema);
    assert.equal(apiVersionOf(vmAlpha.storage), 'kubevirt.io/v1');
    assert.equal(vmAlpha.plural, 'virtualmachines');
    assert.match(vmAlpha.deprecationWarning, /^kubevirt\.io\/v1alpha3 VirtualMachine is deprecated/);
    assert.equal(kinds.filter(isOlderVersion).length, 0, 'the stored kinds stay one per resource');
  });

  test('a table row naming an unknown kind is refused at start', () => {
    assert.throws(
      () =>
        withOlderVersions(kinds, [
          ...olderVersions,
          { group: 'kubevirt.io', version: 'v1alpha3', storageVersion: 'v1', kinds: ['Nope'] },
        ]),
      /unknown kind Nope/,
    );
  });

  test('discovery lists both versions of kubevirt.io with v1 preferred', () => {
    const doc = apiGroupDoc('kubevirt.io', groupVersions(servedKinds)) as {
      versions: { version: string }[];
      preferredVersion: { version: string };
    };
    assert.deepEqual(
      doc.versions.map((v) => v.version),
      ['v1', 'v1alpha3'],
    );
    assert.equal(doc.preferredVersion.version, 'v1');
  });

  test('conversion rewrites the kind, its lists and watch events, and nothing else', () => {
    assert.ok(vmAlpha);
    const vm = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'a', ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine' }] },
    };
    const one = toOlder(vmAlpha, vm) as typeof vm;
    assert.equal(one.apiVersion, 'kubevirt.io/v1alpha3');
    assert.equal(one.metadata.ownerReferences[0]?.apiVersion, 'kubevirt.io/v1');
    const list = toOlder(vmAlpha, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineList',
      items: [vm],
    }) as { apiVersion: string; items: { apiVersion: string }[] };
    assert.equal(list.apiVersion, 'kubevirt.io/v1alpha3');
    assert.equal(list.items[0]?.apiVersion, 'kubevirt.io/v1alpha3');
    const event = toOlder(vmAlpha, { type: 'ADDED', object: vm }) as { object: { apiVersion: string } };
    assert.equal(event.object.apiVersion, 'kubevirt.io/v1alpha3');
    const status = { apiVersion: 'v1', kind: 'Status', code: 422 };
    assert.deepEqual(toOlder(vmAlpha, status), status);
    const vmi = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance' };
    assert.deepEqual(toOlder(vmAlpha, vmi), vmi, 'another kind of the same version is left alone');

    const incoming = converterFor(vmAlpha).toStorage({
      apiVersion: 'kubevirt.io/v1alpha3',
      kind: 'VirtualMachine',
    });
    assert.deepEqual(incoming, { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine' });
    const patch = [{ op: 'replace', path: '/spec/running', value: true }];
    assert.equal(converterFor(vmAlpha).toStorage(patch), patch);
  });
});
