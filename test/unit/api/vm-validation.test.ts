/**
 * Table tests for VM admission beyond the schema: each mistake a user can make in a VM, with the
 * exact field path and reason of the Status cause kubectl prints, and every cause reported at once.
 */
import { defaultAdmissionSettings } from '../../../src/api/admission.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FieldError } from '../../../src/api/kind.js';
import { validateVm, virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import { validateVmiSpec } from '../../../src/api/kubevirt/validation.js';

const T = 'spec.template.spec';
const D = `${T}.domain`;

/** A VM that passes: one disk on one volume, one NIC on the pod network, 1Gi requested. */
function goodVm(): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      runStrategy: 'Always',
      template: {
        spec: {
          domain: {
            devices: {
              disks: [{ name: 'root', disk: { bus: 'virtio' }, bootOrder: 1 }],
              interfaces: [{ name: 'default', masquerade: {}, macAddress: '02:00:00:00:00:01' }],
            },
            resources: { requests: { memory: '1Gi', cpu: 1 }, limits: { memory: '2Gi' } },
          },
          volumes: [{ name: 'root', containerDisk: { image: 'debian:12' } }],
          networks: [{ name: 'default', pod: {} }],
        },
      },
    },
  };
}

function goodVmWithout(field: 'resources'): VirtualMachine {
  const vm = goodVm();
  delete tmpl(vm).domain[field];
  return vm;
}

const tmpl = (vm: VirtualMachine): VirtualMachineInstanceSpec => {
  const spec = vm.spec.template.spec;
  if (spec === undefined) throw new Error('fixture has no template spec');
  return spec;
};

type Cause = Pick<FieldError, 'path' | 'reason'>;
const causes = (errors: FieldError[]): Cause[] =>
  errors.map((e) => ({ path: e.path, ...(e.reason !== undefined ? { reason: e.reason } : {}) }));

describe('validateVm', () => {
  test('a well-formed VM has no causes', () => {
    assert.deepEqual(validateVm(goodVm()), []);
  });

  test('a host device names a deviceName or a DRA claim', () => {
    const vm = goodVm();
    tmpl(vm).domain.devices.hostDevices = [
      { name: 'a' },
      { name: 'b', deviceName: 'vendor.com/dev' },
      { name: 'c', claimName: 'claim', requestName: 'one' },
    ];
    const gates = { ...defaultAdmissionSettings(), featureGates: new Set(['HostDevices'] as const) };
    assert.deepEqual(causes(validateVm(vm, gates)), [
      { path: `${D}.devices.hostDevices[0].deviceName`, reason: 'FieldValueRequired' },
    ]);
    // As KubeVirt: host devices need the (alpha) HostDevices gate, DRA claims included.
    assert.deepEqual(causes(validateVm(vm)), [
      { path: `${D}.devices.hostDevices[0].deviceName`, reason: 'FieldValueRequired' },
      { path: `${D}.devices.HostDevices`, reason: 'FieldValueInvalid' },
    ]);
  });

  const cases: [string, (vm: VirtualMachine) => void, Cause[], RegExp][] = [
    [
      'duplicate disk names',
      (vm) => tmpl(vm).domain.devices.disks?.push({ name: 'root', cdrom: {} }),
      [{ path: `${D}.devices.disks[1].name`, reason: 'FieldValueDuplicate' }],
      /^Duplicate value: "root"$/,
    ],
    [
      'duplicate volume names',
      (vm) => tmpl(vm).volumes?.push({ name: 'root', emptyDisk: { capacity: '1Gi' } }),
      [{ path: `${T}.volumes[1].name`, reason: 'FieldValueDuplicate' }],
      /^Duplicate value: "root"$/,
    ],
    [
      'a volume with two sources',
      (vm) => {
        const root = tmpl(vm).volumes?.[0];
        if (root !== undefined) root.persistentVolumeClaim = { claimName: 'data' };
      },
      [{ path: `${T}.volumes[0].persistentVolumeClaim`, reason: 'FieldValueForbidden' }],
      /a volume has exactly one source; found containerDisk and persistentVolumeClaim/,
    ],
    [
      'a volume with no source',
      (vm) => {
        tmpl(vm).volumes = [{ name: 'root' }];
      },
      [{ path: `${T}.volumes[0]`, reason: 'FieldValueRequired' }],
      /^Required value: a volume needs exactly one source/,
    ],
    [
      'an interface naming a missing network',
      (vm) => tmpl(vm).domain.devices.interfaces?.push({ name: 'lan', bridge: {} }),
      [{ path: `${D}.devices.interfaces[1].name`, reason: 'FieldValueNotFound' }],
      /^Not found: "lan": no network of that name in spec.networks$/,
    ],
    [
      'a bad MAC address',
      (vm) => {
        const nic = tmpl(vm).domain.devices.interfaces?.[0];
        if (nic !== undefined) nic.macAddress = '02:00:00:00:00';
      },
      [{ path: `${D}.devices.interfaces[0].macAddress` }],
      /^Invalid value: "02:00:00:00:00": must be a MAC address/,
    ],
    [
      'a disk and a NIC with the same boot order',
      (vm) => {
        const nic = tmpl(vm).domain.devices.interfaces?.[0];
        if (nic !== undefined) nic.bootOrder = 1;
      },
      [{ path: `${D}.devices.interfaces[0].bootOrder`, reason: 'FieldValueDuplicate' }],
      /^Duplicate value: boot order 1 is also used by spec.template.spec.domain.devices.disks\[0\].bootOrder$/,
    ],
    [
      'two disks with the same boot order',
      (vm) => {
        tmpl(vm).domain.devices.disks?.push({ name: 'data', disk: {}, bootOrder: 1 });
        tmpl(vm).volumes?.push({ name: 'data', emptyDisk: { capacity: '1Gi' } });
      },
      [{ path: `${D}.devices.disks[1].bootOrder`, reason: 'FieldValueDuplicate' }],
      /boot order 1/,
    ],
    [
      'running and runStrategy together',
      (vm) => {
        vm.spec.running = true;
      },
      [{ path: 'spec.running', reason: 'FieldValueInvalid' }],
      /running and runStrategy are mutually exclusive/,
    ],
    [
      'an instance type and domain.cpu.sockets',
      (vm) => {
        vm.spec.instancetype = { name: 'cx1.medium' };
        delete tmpl(vm).domain.resources;
        tmpl(vm).domain.cpu = { sockets: 2 };
      },
      [{ path: `${D}.cpu.sockets`, reason: 'FieldValueForbidden' }],
      /conflicts with the selected instance type/,
    ],
    [
      'an instance type and a memory request',
      (vm) => {
        vm.spec.instancetype = { name: 'cx1.medium' };
        tmpl(vm).domain.resources = { requests: { memory: '1Gi' } };
      },
      [{ path: `${D}.resources.requests.memory`, reason: 'FieldValueForbidden' }],
      /conflicts with the selected instance type/,
    ],
    [
      'a memory limit below the request',
      (vm) => {
        tmpl(vm).domain.resources = { requests: { memory: '4Gi' }, limits: { memory: '2Gi' } };
      },
      [{ path: `${D}.resources.requests.memory` }],
      /^Invalid value: "4Gi": must be less than or equal to the memory limit "2Gi"$/,
    ],
    [
      'a cpu limit below the request, in other units',
      (vm) => {
        tmpl(vm).domain.resources = { requests: { memory: '1Gi', cpu: 2 }, limits: { cpu: '1500m' } };
      },
      [{ path: `${D}.resources.requests.cpu` }],
      /must be less than or equal to the cpu limit "1500m"/,
    ],
    [
      'a zero memory request',
      (vm) => {
        tmpl(vm).domain.resources = { requests: { memory: '0' } };
      },
      [{ path: `${D}.resources.requests.memory` }],
      /must be greater than zero/,
    ],
    [
      'a disk with two device types',
      (vm) => {
        const disk = tmpl(vm).domain.devices.disks?.[0];
        if (disk !== undefined) disk.cdrom = {};
      },
      [{ path: `${D}.devices.disks[0].cdrom`, reason: 'FieldValueForbidden' }],
      /a disk has one device type; found disk and cdrom/,
    ],
    [
      'an interface with two bindings',
      (vm) => {
        const nic = tmpl(vm).domain.devices.interfaces?.[0];
        if (nic !== undefined) nic.bridge = {};
      },
      [{ path: `${D}.devices.interfaces[0].bridge`, reason: 'FieldValueForbidden' }],
      /an interface has one binding; found masquerade and bridge/,
    ],
    [
      'masquerade on a multus network',
      (vm) => {
        tmpl(vm).networks = [{ name: 'default', multus: { networkName: 'lan' } }];
      },
      [{ path: `${D}.devices.interfaces[0].masquerade`, reason: 'FieldValueForbidden' }],
      /masquerade is only for the default \(pod\) network/,
    ],
    [
      'a hostname that is not a DNS label',
      (vm) => {
        tmpl(vm).hostname = 'Web_1';
      },
      [{ path: `${T}.hostname` }],
      /must be a DNS label/,
    ],
    [
      'a disk name that is not a DNS label',
      (vm) => {
        const disk = tmpl(vm).domain.devices.disks?.[0];
        if (disk !== undefined) disk.name = 'Root';
        const volume = tmpl(vm).volumes?.[0];
        if (volume !== undefined) volume.name = 'Root';
      },
      [{ path: `${D}.devices.disks[0].name` }, { path: `${T}.volumes[0].name` }],
      /must be a DNS label/,
    ],
    [
      'two dataVolumeTemplates with one name',
      (vm) => {
        vm.spec.dataVolumeTemplates = [
          { metadata: { name: 'disk' }, spec: {} },
          { metadata: { name: 'disk' }, spec: {} },
        ];
      },
      [{ path: 'spec.dataVolumeTemplates[1].metadata.name', reason: 'FieldValueDuplicate' }],
      /Duplicate value: "disk"/,
    ],
  ];
  for (const [name, mutate, want, message] of cases) {
    test(name, () => {
      const vm = goodVm();
      mutate(vm);
      const errors = validateVm(vm);
      assert.deepEqual(causes(errors), want);
      for (const e of errors) assert.match(e.message, message);
    });
  }

  test('every mistake is reported in one round trip', () => {
    const vm = goodVm();
    vm.spec.running = true;
    const spec = tmpl(vm);
    spec.domain.devices.disks?.push({ name: 'root', disk: {} });
    const nic = spec.domain.devices.interfaces?.[0];
    if (nic !== undefined) nic.macAddress = 'nope';
    if (spec.domain.resources?.requests !== undefined) spec.domain.resources.requests['memory'] = '0';
    assert.deepEqual(
      validateVm(vm).map((e) => e.path),
      [
        'spec.running',
        `${D}.devices.disks[1].name`,
        `${D}.devices.interfaces[0].macAddress`,
        `${D}.resources.requests.memory`,
      ],
    );
  });

  // Admission lets one NIC without a network through (it joins the pod network); a second such NIC
  // gets no network from the VM controller, so the VMI is refused and the VM can never start.
  test('two NICs and no networks: the second one names no network', () => {
    const vm = goodVm();
    delete tmpl(vm).networks;
    tmpl(vm).domain.devices.interfaces?.push({ name: 'lan', bridge: {} });
    assert.deepEqual(causes(validateVm(vm)), [
      { path: `${D}.devices.interfaces[1].name`, reason: 'FieldValueNotFound' },
    ]);
  });

  test('one NIC and no networks is accepted: it joins the pod network', () => {
    const vm = goodVm();
    delete tmpl(vm).networks;
    assert.deepEqual(validateVm(vm), []);
  });

  test('memory.guest alone is enough memory', () => {
    const vm = goodVm();
    tmpl(vm).domain.resources = {};
    tmpl(vm).domain.memory = { guest: '512Mi' };
    assert.deepEqual(validateVm(vm), []);
  });

  test('an instance type provides the memory', () => {
    const vm = goodVm();
    vm.spec.instancetype = { name: 'cx1.medium' };
    delete tmpl(vm).domain.resources;
    assert.deepEqual(validateVm(vm), []);
  });

  test('a VM without a template spec', () => {
    const vm = goodVm();
    delete vm.spec.template.spec;
    assert.deepEqual(causes(validateVm(vm)), [{ path: 'spec.template.spec', reason: 'FieldValueRequired' }]);
  });

  test('the VM kind validates with validateVm', () => {
    const vm = goodVm();
    vm.spec.running = false;
    const errors = virtualMachineKind.validate?.(vm, undefined) ?? [];
    assert.deepEqual(causes(errors), [{ path: 'spec.running', reason: 'FieldValueInvalid' }]);
  });
});

describe('validateVmiSpec on a VMI', () => {
  // A VM template without memory is accepted (as KubeVirt); the VMI made from it is refused.
  test('no memory anywhere', () => {
    const spec = structuredClone(tmpl(goodVm()));
    delete spec.domain.resources;
    const errors = validateVmiSpec(spec, 'spec');
    assert.deepEqual(causes(errors), [
      { path: 'spec.domain.resources.requests.memory', reason: 'FieldValueRequired' },
    ]);
    assert.match(
      errors[0]?.message ?? '',
      /^Required value: set spec.domain.resources.requests.memory or spec.domain.memory.guest, or select an instance type$/,
    );
    assert.deepEqual(validateVm(goodVmWithout('resources')), []);
  });

  test('paths are relative to the VMI root', () => {
    const spec = structuredClone(tmpl(goodVm()));
    spec.domain.devices.disks?.push({ name: 'root' });
    assert.deepEqual(causes(validateVmiSpec(spec, 'spec')), [
      { path: 'spec.domain.devices.disks[1].name', reason: 'FieldValueDuplicate' },
    ]);
  });

  test('the spec of a VMI cannot change once created', () => {
    const old = tmpl(goodVm());
    const next = structuredClone(old);
    next.hostname = 'other';
    assert.deepEqual(causes(validateVmiSpec(next, 'spec', old)), [
      { path: 'spec', reason: 'FieldValueForbidden' },
    ]);
    assert.deepEqual(validateVmiSpec(structuredClone(old), 'spec', old), []);
  });
});
