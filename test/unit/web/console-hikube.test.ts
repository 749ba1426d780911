/**
 * The console's Hikube logic, as table tests: the VMDisk and VMInstance the wizard writes (a dry
 * run leaves the disk out), external ports, which form field each API path belongs to, and what
 * the VM instances and VM disks pages show.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VMDisk, VMInstance } from '../../../web/src/api/types.js';
import {
  diskProgress,
  diskSize,
  diskSourceText,
  diskUsers,
  externalText,
} from '../../../web/src/hikube/hikube.js';
import {
  buildVmDisk,
  buildVmInstance,
  hikubeFieldOfPath,
  parsePorts,
  type HikubeForm,
} from '../../../web/src/vms/create/hikube.js';

const form: HikubeForm = {
  name: 'web',
  namespace: 'ns',
  instancetype: 'u1.small',
  instanceProfile: 'custom',
  diskSource: 'image',
  diskImage: 'hikube-tiny',
  diskUrl: '',
  diskSize: ' 1Gi ',
  sshKey: '# a comment\nssh-ed25519 AAAA me@host\n',
  userData: '#!/bin/sh\necho hi',
  external: true,
  externalPorts: '22, 80 443',
  start: false,
};

describe('console: the Hikube create mode', () => {
  test('a VMDisk of a catalog image or a URL, and a VMInstance booting it', () => {
    assert.deepEqual(buildVmDisk(form), {
      apiVersion: 'apps.cozystack.io/v1alpha1',
      kind: 'VMDisk',
      metadata: { name: 'web-disk', namespace: 'ns' },
      spec: { source: { image: { name: 'hikube-tiny' } }, storage: '1Gi' },
    });
    assert.deepEqual(
      buildVmDisk({ ...form, diskSource: 'http', diskUrl: ' http://x/d.qcow2 ' }).spec?.source,
      {
        http: { url: 'http://x/d.qcow2' },
      },
    );
    assert.deepEqual(buildVmInstance(form).spec, {
      runStrategy: 'Halted',
      instanceType: 'u1.small',
      instanceProfile: 'custom',
      disks: [{ name: 'web-disk' }],
      sshKeys: ['ssh-ed25519 AAAA me@host'],
      cloudInit: '#!/bin/sh\necho hi',
      external: true,
      externalMethod: 'PortList',
      externalPorts: [22, 80, 443],
    });
    const dry = buildVmInstance({ ...form, external: false, sshKey: '', userData: ' ', start: true }, false);
    assert.deepEqual(dry.spec, {
      runStrategy: 'Always',
      instanceType: 'u1.small',
      instanceProfile: 'custom',
      external: false,
    });
  });

  test('ports and field paths', () => {
    assert.deepEqual(parsePorts(''), []);
    assert.deepEqual(parsePorts('22,8080'), [22, 8080]);
    assert.equal(parsePorts('22 http'), undefined);
    const cases: [string, 'vmdisk' | 'vminstance', string][] = [
      ['metadata.name', 'vmdisk', 'name'],
      ['spec.storage', 'vmdisk', 'diskSize'],
      ['spec.source.image.name', 'vmdisk', 'disk'],
      ['spec.source', 'vmdisk', 'disk'],
      ['spec.storageClass', 'vmdisk', 'diskSize'],
      ['spec.instanceType', 'vminstance', 'instancetype'],
      ['spec.resources.cpu', 'vminstance', 'instancetype'],
      ['spec.instanceProfile', 'vminstance', 'instanceProfile'],
      ['spec.sshKeys[0]', 'vminstance', 'sshKey'],
      ['spec.externalPorts[1]', 'vminstance', 'externalPorts'],
      ['spec.disks[0].name', 'vminstance', 'disk'],
      ['spec.cloudInit', 'vminstance', 'userData'],
      ['spec.gpus', 'vminstance', 'general'],
    ];
    for (const [path, object, field] of cases) assert.equal(hikubeFieldOfPath(path, object), field, path);
  });
});

describe('console: VM instances and VM disks pages', () => {
  const disk = (name: string, spec: VMDisk['spec'], status?: VMDisk['status']): VMDisk => ({
    apiVersion: 'apps.cozystack.io/v1alpha1',
    kind: 'VMDisk',
    metadata: { name, namespace: 'ns' },
    ...(spec !== undefined ? { spec } : {}),
    ...(status !== undefined ? { status } : {}),
  });
  const instance = (name: string, disks: string[], namespace = 'ns', status?: VMInstance['status']) =>
    ({
      metadata: { name, namespace },
      spec: { disks: disks.map((d) => ({ name: d })), external: true },
      ...(status !== undefined ? { status } : {}),
    }) as VMInstance;

  test('a disk: source, size, progress, users', () => {
    assert.equal(diskSourceText(disk('a', { source: { image: { name: 'debian-12' } } })), 'image debian-12');
    assert.equal(diskSourceText(disk('a', { source: { http: { url: 'http://x' } } })), 'http://x');
    assert.equal(diskSourceText(disk('a', { source: { disk: { name: 'b' } } })), 'clone of b');
    assert.equal(diskSourceText(disk('a', undefined)), 'blank');
    assert.equal(diskSize(disk('a', undefined)), '5Gi');
    assert.equal(diskSize(disk('a', { storage: '2Gi' }, { capacity: '3Gi' })), '3Gi');
    assert.equal(diskProgress(disk('a', {}, { phase: 'ImportInProgress', progress: '47.30%' })), 47.3);
    assert.equal(diskProgress(disk('a', {}, { phase: 'Succeeded', progress: '100.0%' })), undefined);
    const users = diskUsers(disk('d', {}), [
      instance('x', ['d']),
      instance('y', ['e']),
      instance('z', ['d'], 'other'),
    ]);
    assert.deepEqual(
      users.map((u) => u.metadata.name),
      ['x'],
    );
  });

  test('external address with its ports', () => {
    assert.equal(externalText(instance('x', [])), 'pending');
    assert.equal(
      externalText(
        instance('x', [], 'ns', {
          externalAddress: '127.0.0.5',
          externalEndpoints: ['127.0.0.5:22', '127.0.0.5:80'],
        }),
      ),
      '127.0.0.5 (:22, :80)',
    );
    assert.equal(externalText(instance('x', [], 'ns', { externalAddress: '127.0.0.5' })), '127.0.0.5');
  });
});
