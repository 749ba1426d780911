/**
 * `hikube vm create`'s pure parts: the --disk flag (every problem named), the cloud-init user-data
 * with an SSH key (alone, merged into a #cloud-config, refused with a script), and the manifest.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseDiskFlag, userDataWith, vmManifest } from '../../../src/cli/vm-create.js';

describe('--disk', () => {
  test('a good flag', () => {
    assert.deepEqual(parseDiskFlag('name=data,size=50Gi'), { name: 'data', size: '50Gi' });
    assert.deepEqual(parseDiskFlag('name=logs,size=1Gi,bus=scsi'), {
      name: 'logs',
      size: '1Gi',
      bus: 'scsi',
    });
  });
  test('every problem of a bad one', () => {
    assert.deepEqual(parseDiskFlag('size=0,colour=red'), [
      '--disk size=0,colour=red: "colour=red" is not name=…, size=… or bus=…',
      '--disk size=0,colour=red: name=… is required',
      '--disk size=0,colour=red: size "0" is not a positive quantity such as 50Gi',
    ]);
    assert.deepEqual(parseDiskFlag('name=Data_1,size=1Gi'), [
      '--disk name=Data_1,size=1Gi: name "Data_1" must be a DNS label (a-z, 0-9, -)',
    ]);
  });
});

describe('user-data', () => {
  const key = 'ssh-ed25519 AAAAC3Nza user@host';
  test('a key alone', () => {
    assert.equal(userDataWith(undefined, key), `#cloud-config\nssh_authorized_keys:\n  - ${key}\n`);
  });
  test('a key merged into a #cloud-config', () => {
    const merged = userDataWith(
      '#cloud-config\npackages: [htop]\nssh_authorized_keys: [ssh-rsa AAAB old]\n',
      key,
    );
    assert.ok(merged?.startsWith('#cloud-config\n'));
    assert.deepEqual(parse(merged ?? ''), {
      packages: ['htop'],
      ssh_authorized_keys: ['ssh-rsa AAAB old', key],
    });
  });
  test('a script with a key is refused; without a key it is kept', () => {
    assert.throws(() => userDataWith('#!/bin/sh\necho hi\n', key), /--ssh-key goes with a #cloud-config/);
    assert.equal(userDataWith('#!/bin/sh\necho hi\n', undefined), '#!/bin/sh\necho hi\n');
  });
});

describe('the manifest', () => {
  test('references, root disk, extra disks, cloud-init', () => {
    const vm = vmManifest({
      name: 'web',
      namespace: 'default',
      instancetype: 'cx1.medium',
      preference: 'debian',
      os: 'debian-12',
      rootSize: '20Gi',
      disks: [{ name: 'data', size: '50Gi', bus: 'virtio' }],
      userData: '#cloud-config\n',
    }) as unknown as {
      spec: {
        instancetype: unknown;
        preference: unknown;
        dataVolumeTemplates: { metadata: { name: string } }[];
        template: { spec: { domain: { devices: { disks: unknown[] } }; volumes: { name: string }[] } };
      };
    };
    assert.deepEqual(vm.spec.instancetype, { kind: 'VirtualMachineClusterInstancetype', name: 'cx1.medium' });
    assert.deepEqual(vm.spec.preference, { kind: 'VirtualMachineClusterPreference', name: 'debian' });
    assert.deepEqual(
      vm.spec.dataVolumeTemplates.map((d) => d.metadata.name),
      ['web-root', 'web-data'],
    );
    assert.deepEqual(vm.spec.template.spec.domain.devices.disks, [
      { name: 'root', disk: {}, bootOrder: 1 },
      { name: 'data', disk: { bus: 'virtio' } },
      { name: 'cloudinit', disk: {} },
    ]);
    assert.deepEqual(
      vm.spec.template.spec.volumes.map((v) => v.name),
      ['root', 'data', 'cloudinit'],
    );
  });
});
