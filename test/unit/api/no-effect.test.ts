/**
 * Newer upstream fields this platform keeps but does not act on: accepted as given (never pruned,
 * never a strict-decoding error) and answered with one warning per field, through the one NoEffect
 * mechanism of the schema.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { dataVolumeKind } from '../../../src/api/cdi/datavolume.js';
import { virtualMachineCloneKind } from '../../../src/api/clone/clone.js';
import { namespaceKind } from '../../../src/api/core/core.js';
import { virtualMachineClusterPreferenceKind } from '../../../src/api/instancetype/instancetype.js';
import { apiVersionOf, type KindDefinition } from '../../../src/api/kind.js';
import { virtualMachineKind } from '../../../src/api/kubevirt/vm.js';
import { noEffectWarning } from '../../../src/api/schema.js';
import { validateStructure } from '../../../src/api/validate.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const T = 'spec.template.spec';

const vm = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'dra', namespace: 'default' },
  spec: {
    runStrategy: 'Halted',
    template: {
      spec: {
        domain: {
          resources: { requests: { memory: '128Mi' } },
          devices: {
            gpus: [{ name: 'g1', claimName: 'gpu-claim', requestName: 'one' }],
            interfaces: [{ name: 'default', passtBinding: {} }],
            video: { type: 'virtio' },
          },
        },
        networks: [{ name: 'default', pod: {} }],
        resourceClaims: [{ name: 'gpu-claim', resourceClaimTemplateName: 'gpu-template' }],
      },
    },
  },
};

const table: [string, KindDefinition, Record<string, unknown>, string[]][] = [
  [
    'VirtualMachine',
    virtualMachineKind,
    vm,
    [
      `${T}.domain.devices.gpus[0].claimName`,
      `${T}.domain.devices.gpus[0].requestName`,
      `${T}.domain.devices.interfaces[0].passtBinding`,
      `${T}.domain.devices.video`,
      `${T}.resourceClaims`,
    ],
  ],
  [
    'VirtualMachineClusterPreference',
    virtualMachineClusterPreferenceKind,
    {
      metadata: { name: 'p' },
      spec: {
        cpu: { preferredCPUTopology: 'preferSpread', spreadOptions: { across: 'SocketsCores', ratio: 2 } },
        firmware: { preferredEfi: { secureBoot: false, persistent: true } },
      },
    },
    ['spec.cpu.spreadOptions', 'spec.firmware.preferredEfi'],
  ],
  [
    'VirtualMachineClone',
    virtualMachineCloneKind,
    {
      metadata: { name: 'c' },
      spec: { source: { kind: 'VirtualMachine', name: 'a' }, volumeNamePolicy: 'RandomizeNames' },
    },
    ['spec.volumeNamePolicy'],
  ],
  [
    'DataVolume',
    dataVolumeKind,
    {
      metadata: { name: 'd' },
      spec: {
        source: { blank: {} },
        storage: { resources: { requests: { storage: '1Gi' } } },
        serviceAccountName: 'importer',
      },
    },
    ['spec.serviceAccountName'],
  ],
];

describe('NoEffect fields', () => {
  for (const [kind, def, object, paths] of table)
    test(`${kind}: declared, kept as given, and reported`, () => {
      const full = { apiVersion: apiVersionOf(def), kind: def.kind, ...object };
      const r = validateStructure(full, def.schema);
      assert.deepEqual(r.unknownFields, []);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.noEffectFields.sort(), [...paths].sort());
      assert.deepEqual(r.value, full);
    });

  let registry: Registry;
  beforeEach(() => {
    registry = new Registry(new SqliteStore({ path: ':memory:' }));
    registry.create(namespaceKind, '', { metadata: { name: 'default' } });
  });

  test('a write answers one warning per field, worded as kubectl prints it', () => {
    const { object, warnings } = registry.create(virtualMachineKind, 'default', structuredClone(vm), {
      fieldValidation: 'Strict',
    });
    assert.deepEqual(
      warnings.filter((w) => w.endsWith('has no effect on this platform')).sort(),
      (table[0]?.[3] ?? []).map(noEffectWarning).sort(),
    );
    assert.equal(
      noEffectWarning(`${T}.resourceClaims`),
      `${T}.resourceClaims: accepted, has no effect on this platform`,
    );
    const stored = object as unknown as typeof vm;
    assert.deepEqual(stored.spec.template.spec.resourceClaims, vm.spec.template.spec.resourceClaims);
  });

  test('a status write does not warn', () => {
    registry.create(virtualMachineKind, 'default', structuredClone(vm));
    const current = registry.get(virtualMachineKind, 'default', 'dra');
    const { warnings } = registry.update(virtualMachineKind, 'default', 'dra', current.object, {
      subresource: 'status',
    });
    assert.deepEqual(warnings, []);
  });
});
