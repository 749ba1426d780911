/** The index of what VMs reference: claims, instance types and preferences, per namespace. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { claimRef, ReferenceIndex, referencesOf, sourceRef } from '../../../src/controllers/vm/references.js';

const vm = (name: string, spec: Partial<VirtualMachine['spec']>): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: 'ns1' },
  spec: { template: { spec: { domain: { devices: {} } } }, ...spec },
});

describe('VM references', () => {
  test('claims from volumes and dataVolumeTemplates; instance types and preferences by kind and scope', () => {
    const v = vm('a', {
      instancetype: { name: 'u1.medium' },
      preference: { kind: 'VirtualMachinePreference', name: 'mine' },
      dataVolumeTemplates: [{ metadata: { name: 'root' }, spec: {} }],
      template: {
        spec: {
          domain: { devices: {} },
          volumes: [
            { name: 'd1', persistentVolumeClaim: { claimName: 'data' } },
            { name: 'd2', dataVolume: { name: 'root' } },
            { name: 'c', containerDisk: { image: 'x' } },
          ],
        },
      },
    });
    assert.deepEqual(
      [...referencesOf(v)].sort(),
      [
        claimRef('ns1', 'data'),
        claimRef('ns1', 'root'),
        sourceRef('VirtualMachineClusterInstancetype', '', 'u1.medium'),
        sourceRef('VirtualMachinePreference', 'ns1', 'mine'),
      ].sort(),
    );
  });

  test('the index answers who uses a reference, and forgets what a VM no longer names', () => {
    const index = new ReferenceIndex();
    index.set('ns1/a', new Set([claimRef('ns1', 'data')]));
    index.set('ns1/b', new Set([claimRef('ns1', 'data'), claimRef('ns1', 'other')]));
    assert.deepEqual(index.usersOf(claimRef('ns1', 'data')).sort(), ['ns1/a', 'ns1/b']);
    assert.deepEqual(index.usersOf(claimRef('ns2', 'data')), [], 'another namespace');
    index.set('ns1/b', new Set([claimRef('ns1', 'other')]));
    assert.deepEqual(index.usersOf(claimRef('ns1', 'data')), ['ns1/a']);
    index.set('ns1/a', new Set());
    assert.deepEqual(index.usersOf(claimRef('ns1', 'data')), []);
    assert.deepEqual(index.usersOf(claimRef('ns1', 'other')), ['ns1/b']);
  });
});
