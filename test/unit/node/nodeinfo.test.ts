/** The Node's nodeInfo from host facts: every field kube sets, with fallbacks where a host lacks a file. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nodeSystemInfo, runtimeVersion, type HostFacts } from '../../../src/node/nodeinfo.js';

const files =
  (map: Record<string, string>): HostFacts['read'] =>
  (path) =>
    map[path];

const full: Record<string, string> = {
  '/proc/sys/kernel/random/boot_id': '536bcb34-890c-43c6-ab43-fb7f49c0d6d6\n',
  '/etc/machine-id': '3d1219c7c4c5404aaa1f6d2a48adfda4\n',
  '/sys/class/dmi/id/product_uuid': 'ec2a1b2c-0000-1111-2222-333344445555\n',
  '/proc/sys/kernel/osrelease': '6.1.0-28-amd64\n',
  '/etc/os-release': 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
};

describe('nodeSystemInfo', () => {
  test('fills every field from the host', () => {
    const info = nodeSystemInfo(
      {
        read: files(full),
        qemuVersionLine: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)',
        hostname: 'h',
        arch: 'x64',
      },
      'v1.32.0+hikube',
    );
    assert.deepEqual(info, {
      architecture: 'amd64',
      bootID: '536bcb34-890c-43c6-ab43-fb7f49c0d6d6',
      containerRuntimeVersion: 'qemu://7.2.22',
      kernelVersion: '6.1.0-28-amd64',
      kubeProxyVersion: 'v1.32.0+hikube',
      kubeletVersion: 'v1.32.0+hikube',
      machineID: '3d1219c7c4c5404aaa1f6d2a48adfda4',
      operatingSystem: 'linux',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      systemUUID: 'ec2a1b2c-0000-1111-2222-333344445555',
    });
  });

  test('without DMI the system UUID derives from the machine id; without one, from the host name', () => {
    const noDmi = { ...full };
    delete noDmi['/sys/class/dmi/id/product_uuid'];
    const info = nodeSystemInfo(
      { read: files(noDmi), qemuVersionLine: undefined, hostname: 'h', arch: 'arm64' },
      'v',
    );
    assert.equal(info.systemUUID, '3d1219c7-c4c5-404a-aa1f-6d2a48adfda4');
    assert.equal(info.architecture, 'arm64');
    assert.equal(info.containerRuntimeVersion, 'qemu://unknown');
    const bare = nodeSystemInfo(
      { read: files({}), qemuVersionLine: undefined, hostname: 'h', arch: 'x64' },
      'v',
    );
    assert.match(bare.machineID, /^[0-9a-f]{32}$/);
    assert.equal(bare.systemUUID.replaceAll('-', ''), bare.machineID);
    assert.equal(bare.osImage, 'Linux');
    const again = nodeSystemInfo(
      { read: files({}), qemuVersionLine: undefined, hostname: 'h', arch: 'x64' },
      'v',
    );
    assert.equal(again.machineID, bare.machineID, 'stable across restarts');
  });

  test('runtimeVersion reads the version QEMU prints', () => {
    assert.equal(runtimeVersion('QEMU emulator version 8.2.2 (qemu-8.2.2)'), 'qemu://8.2.2');
    assert.equal(runtimeVersion('garbage'), 'qemu://unknown');
  });
});
