/**
 * Admission of the VMI values that reach QEMU, as a table: machine types against KubeVirt's
 * emulated-machine globs, names that cannot be escaped, UUIDs, serials (the HostDisk gate: feature-gates.test.ts); and
 * the VMInstance's cpuModel, compiled into the same field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateVMInstance, type VMInstance } from '../../../src/api/cozystack/vminstance.js';
import { validateDomainValues } from '../../../src/api/kubevirt/domain-values.js';
import type { DomainSpec } from '../../../src/api/kubevirt/domain.js';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';

const spec = (domain: Partial<DomainSpec>, rest: Partial<VirtualMachineInstanceSpec> = {}) => ({
  domain: { devices: {}, ...domain },
  ...rest,
});
const fields = (s: VirtualMachineInstanceSpec): string[] =>
  validateDomainValues(s, 'spec').map((e) => `${e.path} ${e.reason ?? ''}`);

describe('validateDomainValues', () => {
  const cases: [string, VirtualMachineInstanceSpec, string[]][] = [
    ['nothing set', spec({}), []],
    ['q35', spec({ machine: { type: 'q35' } }), []],
    ['pc-q35-7.2', spec({ machine: { type: 'pc-q35-7.2' } }), []],
    ['pc-q35-rhel9.2.0', spec({ machine: { type: 'pc-q35-rhel9.2.0' } }), []],
    [
      'pc-i440fx-7.2',
      spec({ machine: { type: 'pc-i440fx-7.2' } }),
      ['spec.domain.machine.type FieldValueNotSupported'],
    ],
    ['microvm', spec({ machine: { type: 'microvm' } }), ['spec.domain.machine.type FieldValueNotSupported']],
    [
      'q35,kernel=/etc/shadow',
      spec({ machine: { type: 'q35,kernel=/etc/shadow' } }),
      ['spec.domain.machine.type FieldValueInvalid'],
    ],
    ['cpu host-passthrough', spec({ cpu: { model: 'host-passthrough' } }), []],
    ['cpu Skylake-Client-v4', spec({ cpu: { model: 'Skylake-Client-v4' } }), []],
    ['cpu max,+vmx', spec({ cpu: { model: 'max,+vmx' } }), ['spec.domain.cpu.model FieldValueInvalid']],
    [
      'feature x,kernel=/etc/passwd and a bad policy',
      spec({ cpu: { features: [{ name: 'x,kernel=/etc/passwd' }, { name: 'vmx', policy: 'maybe' }] } }),
      [
        'spec.domain.cpu.features[0].name FieldValueInvalid',
        'spec.domain.cpu.features[1].policy FieldValueNotSupported',
      ],
    ],
    ['uuid x,y', spec({ firmware: { uuid: 'x,y' } }), ['spec.domain.firmware.uuid FieldValueInvalid']],
    ['a real uuid', spec({ firmware: { uuid: '6a1a24a1-4061-4607-8bf4-a3963d0c5895' } }), []],
    [
      'firmware serial with a comma',
      spec({ firmware: { serial: 'a,b' } }),
      ['spec.domain.firmware.serial FieldValueInvalid'],
    ],
    [
      'disk serials',
      spec({
        devices: {
          disks: [
            { name: 'a', serial: 'OK-1.2+3_4' },
            { name: 'b', serial: 'x y' },
            { name: 'c', serial: 'z'.repeat(257) },
          ],
        },
      }),
      [
        'spec.domain.devices.disks[1].serial FieldValueInvalid',
        'spec.domain.devices.disks[2].serial FieldValueInvalid',
      ],
    ],
  ];
  for (const [name, s, want] of cases) test(name, () => assert.deepEqual(fields(s), want));
});

test('VMInstance cpuModel is refused when it cannot render', () => {
  const vmi = (cpuModel: string): VMInstance => ({
    apiVersion: 'apps.cozystack.io/v1alpha1',
    kind: 'VMInstance',
    metadata: { name: 'x', namespace: 'default' },
    spec: { cpuModel },
  });
  const paths = (m: string): string[] => validateVMInstance(vmi(m)).map((e) => e.path);
  assert.ok(paths('max,+vmx').includes('spec.cpuModel'));
  assert.ok(!paths('host-model').includes('spec.cpuModel'));
});
