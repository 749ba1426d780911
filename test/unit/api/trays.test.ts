/**
 * Live CD-ROM media (src/api/kubevirt/trays.ts): which volumes are a tray's medium, what a running
 * VMI takes from its VM, that a VMI's spec may change in its media only, and that media changes do
 * not ask for a restart.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { followTrays, trayMedia, withoutTrayMedia } from '../../../src/api/kubevirt/trays.js';
import { validateVmiSpec } from '../../../src/api/kubevirt/validation.js';
import type { VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import { templateHash } from '../../../src/controllers/vm/launch.js';

const booted = (): VirtualMachineInstanceSpec => ({
  domain: {
    memory: { guest: '128Mi' },
    devices: {
      disks: [
        { name: 'root' },
        { name: 'installer', cdrom: { bus: 'sata' } },
        { name: 'seed', cdrom: { bus: 'sata' } },
      ],
    },
  },
  volumes: [
    { name: 'root', containerDisk: { image: 'hikube/tiny' } },
    { name: 'seed', cloudInitNoCloud: { userData: '#cloud-config' } },
  ],
});
const iso = { name: 'installer', persistentVolumeClaim: { claimName: 'iso' } };
const filled = (): VirtualMachineInstanceSpec => {
  const s = booted();
  s.volumes = [...(s.volumes ?? []), iso];
  return s;
};

describe('CD-ROM media', () => {
  test('a medium is a claim, DataVolume or containerDisk volume named after a cdrom disk', () => {
    assert.deepEqual(trayMedia(booted()), []); // the root disk is no tray, the seed no medium
    assert.deepEqual(trayMedia(filled()), [iso]);
    const dv = booted();
    dv.volumes?.push({ name: 'installer', dataVolume: { name: 'iso-dv' } });
    assert.deepEqual(
      trayMedia(dv).map((v) => v.name),
      ['installer'],
    );
  });

  test('a running VMI takes the media its VM gains or loses, and nothing else', () => {
    assert.deepEqual(followTrays(filled(), booted()), [...(booted().volumes ?? []), iso]);
    assert.deepEqual(followTrays(booted(), filled()), booted().volumes);
    assert.equal(followTrays(filled(), filled()), undefined);
    assert.equal(followTrays(booted(), booted()), undefined);
    // Another change of the template (a new disk) is not carried over: it waits for a restart.
    const grown = filled();
    grown.volumes?.push({ name: 'extra', emptyDisk: { capacity: '1Gi' } });
    assert.deepEqual(
      followTrays(grown, booted())?.map((v) => v.name),
      ['root', 'seed', 'installer'],
    );
  });

  test('a medium for a disk the VMI has no tray for is not carried over', () => {
    const vm = filled();
    vm.volumes?.push({ name: 'later', persistentVolumeClaim: { claimName: 'x' } });
    vm.domain.devices.disks?.push({ name: 'later', cdrom: {} });
    assert.deepEqual(
      followTrays(vm, booted())?.map((v) => v.name),
      ['root', 'seed', 'installer'],
    );
  });

  test("a VMI's spec may change in its media only", () => {
    assert.deepEqual(validateVmiSpec(filled(), 'spec', booted()), []);
    assert.deepEqual(validateVmiSpec(booted(), 'spec', filled()), []);
    const reseeded = filled();
    reseeded.volumes = (reseeded.volumes ?? []).map((v) =>
      v.name === 'seed' ? { name: 'seed', cloudInitNoCloud: { userData: '#cloud-config\n' } } : v,
    );
    assert.deepEqual(
      validateVmiSpec(reseeded, 'spec', booted()).map((e) => [e.path, e.reason]),
      [['spec', 'FieldValueForbidden']],
    );
    assert.deepEqual(withoutTrayMedia(filled()), booted());
  });

  test('a media change does not make the VM RestartRequired; another change does', () => {
    const vm = (spec: VirtualMachineInstanceSpec): VirtualMachine =>
      ({ metadata: { name: 'v' }, spec: { template: { spec } } }) as unknown as VirtualMachine;
    assert.equal(templateHash(vm(filled())), templateHash(vm(booted())));
    const other = booted();
    other.hostname = 'other';
    assert.notEqual(templateHash(vm(other)), templateHash(vm(booted())));
  });
});
