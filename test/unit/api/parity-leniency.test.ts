/**
 * Where upstream (KubeVirt, CDI, Cozystack) accepts what Hikube used to refuse: each leniency as a
 * table, with what upstream accepts and what it still refuses, so neither side drifts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateDataVolume, type DataVolume } from '../../../src/api/cdi/datavolume.js';
import {
  COZYSTACK_GOLDEN_IMAGES,
  COZYSTACK_LEGACY_IMAGES,
  goldenImageName,
} from '../../../src/api/cozystack/golden-names.js';
import { admitVMDisk, type VMDisk } from '../../../src/api/cozystack/vmdisk.js';
import type { ObjectLookup } from '../../../src/api/kind.js';
import { compileDisk } from '../../../src/controllers/cozystack/compile.js';
import { canonicalMatcherKind } from '../../../src/api/instancetype/matcher.js';
import { validateVmiSpec } from '../../../src/api/kubevirt/validation.js';
import { validateVm, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { referencesOf } from '../../../src/controllers/vm/references.js';
import { OS_IMAGES } from '../../../src/storage/os-catalog.js';

const dv = (checksum: string): DataVolume => ({
  apiVersion: 'cdi.kubevirt.io/v1beta1',
  kind: 'DataVolume',
  metadata: { name: 'd', namespace: 'default' },
  spec: {
    source: { http: { url: 'http://images.test/disk.qcow2', checksum } },
    storage: { resources: { requests: { storage: '1Gi' } } },
  },
});

describe('CDI: http checksum', () => {
  const table: [string, string[]][] = [
    ['', []],
    [`sha256:${'a'.repeat(64)}`, []],
    ['sha256:abc', ['spec.source.http.checksum']],
    ['nonsense', ['spec.source.http.checksum']],
  ];
  for (const [checksum, paths] of table)
    test(`checksum ${JSON.stringify(checksum)} → ${paths.length === 0 ? 'accepted' : 'refused'}`, () => {
      assert.deepEqual(
        validateDataVolume(dv(checksum), undefined).map((e) => e.path),
        paths,
      );
    });
});

function vm(extra: Partial<VirtualMachine['spec']> = {}, memory = true): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'v', namespace: 'ns' },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: {
            devices: {},
            ...(memory ? { resources: { requests: { memory: '128Mi' } } } : {}),
          },
        },
      },
      ...extra,
    },
  };
}

describe('KubeVirt: instancetype and preference kinds', () => {
  const table: [string, 'instancetype' | 'preference', string | undefined, string | undefined][] = [
    ['absent', 'instancetype', undefined, 'VirtualMachineClusterInstancetype'],
    ['empty', 'instancetype', '', 'VirtualMachineClusterInstancetype'],
    ['canonical', 'instancetype', 'VirtualMachineInstancetype', 'VirtualMachineInstancetype'],
    ['lower-case singular', 'instancetype', 'virtualmachineinstancetype', 'VirtualMachineInstancetype'],
    ['plural', 'instancetype', 'virtualmachineinstancetypes', 'VirtualMachineInstancetype'],
    [
      'cluster, any case',
      'instancetype',
      'VIRTUALMACHINECLUSTERINSTANCETYPE',
      'VirtualMachineClusterInstancetype',
    ],
    [
      'cluster plural',
      'instancetype',
      'virtualmachineclusterinstancetypes',
      'VirtualMachineClusterInstancetype',
    ],
    ['preference plural', 'preference', 'virtualmachinepreferences', 'VirtualMachinePreference'],
    [
      'cluster preference',
      'preference',
      'virtualmachineclusterpreference',
      'VirtualMachineClusterPreference',
    ],
    ['a preference kind for an instancetype', 'instancetype', 'VirtualMachinePreference', undefined],
    ['a short name', 'instancetype', 'vmit', undefined],
  ];
  for (const [what, target, kind, want] of table)
    test(`${target} kind ${what}: ${JSON.stringify(kind)} → ${want ?? 'refused'}`, () => {
      assert.equal(canonicalMatcherKind(target, kind), want);
      const errors = validateVm(
        vm({ [target]: { name: 'x', ...(kind !== undefined ? { kind } : {}) } }, false),
      );
      assert.deepEqual(
        errors.map((e) => e.path),
        want === undefined ? [`spec.${target}.kind`] : [],
      );
    });

  test('the VM controller indexes a plural, lower-case kind as the canonical one', () => {
    const refs = referencesOf(vm({ instancetype: { name: 'big', kind: 'virtualmachineinstancetypes' } }));
    assert.ok(refs.has('VirtualMachineInstancetype/ns/big'), [...refs].join(', '));
  });
});

describe('KubeVirt: a VM template without memory', () => {
  test('is accepted on the VM', () => {
    assert.deepEqual(validateVm(vm({}, false)), []);
  });
  test('is refused on the VMI made from it', () => {
    const spec = vm({}, false).spec.template.spec;
    assert.ok(spec !== undefined);
    assert.deepEqual(
      validateVmiSpec(spec, 'spec').map((e) => [e.path, e.reason]),
      [['spec.domain.resources.requests.memory', 'FieldValueRequired']],
    );
  });
});

describe('KubeVirt: DRA GPUs', () => {
  const withGpu = (gpu: Record<string, string>): VirtualMachine => {
    const v = vm();
    const spec = v.spec.template.spec;
    assert.ok(spec !== undefined);
    spec.domain.devices.gpus = [{ name: 'g', ...gpu }];
    return v;
  };
  test('a claimName stands for a deviceName', () => {
    assert.deepEqual(validateVm(withGpu({ claimName: 'c', requestName: 'r' })), []);
  });
  test('a GPU with neither is refused', () => {
    assert.deepEqual(
      validateVm(withGpu({})).map((e) => e.path),
      ['spec.template.spec.domain.devices.gpus[0].deviceName'],
    );
  });
});

describe("Cozystack's golden image names", () => {
  const catalog = new Set(OS_IMAGES.map((o) => o.name));
  for (const name of [...COZYSTACK_GOLDEN_IMAGES, ...COZYSTACK_LEGACY_IMAGES])
    test(`${name} resolves to a catalog DataSource`, () => {
      assert.ok(catalog.has(goldenImageName(name)), `${name} → ${goldenImageName(name)}`);
    });
  test('renamed where our names differ; our own names are left alone', () => {
    assert.equal(goldenImageName('ubuntu-22.04'), 'ubuntu-2204');
    assert.equal(goldenImageName('ubuntu-2204'), 'ubuntu-2204');
    assert.equal(goldenImageName('debian-12'), 'debian-12');
  });
});

describe('a VMDisk written for Cozystack', () => {
  const disk = (name: string): VMDisk => ({
    apiVersion: 'apps.cozystack.io/v1alpha1',
    kind: 'VMDisk',
    metadata: { name: 'root', namespace: 'tenant' },
    spec: { source: { image: { name } }, storage: '5Gi' },
  });
  const catalog: ObjectLookup = ((_def: unknown, namespace: string, name: string) =>
    namespace === 'kubevirt-os-images' && OS_IMAGES.some((o) => o.name === name)
      ? { metadata: { name, namespace } }
      : undefined) as ObjectLookup;

  test('is admitted with a Cozystack image name, and clones the catalog DataSource', () => {
    assert.deepEqual(admitVMDisk(disk('ubuntu-22.04'), undefined, catalog), []);
    assert.equal(compileDisk(disk('ubuntu-22.04')).spec.sourceRef?.name, 'ubuntu-2204');
    assert.equal(compileDisk(disk('alpine')).spec.sourceRef?.name, 'alpine-3.21');
  });

  test('a name in neither list is accepted and waits for a DataSource of that name', () => {
    assert.deepEqual(admitVMDisk(disk('plan9'), undefined, catalog), []);
    assert.equal(compileDisk(disk('plan9')).spec.sourceRef?.name, 'plan9');
  });
});

describe('CDI: registry source URLs with host:port and digests', () => {
  const registryDv = (url: string): DataVolume => ({
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name: 'r', namespace: 'default' },
    spec: { source: { registry: { url } }, storage: { resources: { requests: { storage: '1Gi' } } } },
  });
  for (const url of [
    'docker://registry:5000/kubevirt/cirros:devel',
    `docker://127.0.0.1:5000/disk@sha256:${'ab'.repeat(32)}`,
    `docker://registry:5000/disk:v1@sha256:${'ab'.repeat(32)}`,
  ])
    test(`${url} is accepted`, () => {
      assert.deepEqual(validateDataVolume(registryDv(url), undefined), []);
    });
});
