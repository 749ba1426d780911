/**
 * Issue 12, item 3, through a real platform: `firmware.kernelBoot.container` kernelPath/initrdPath
 * that leave the image. kubectl is refused at admission for a dotted or relative path, with the
 * field named; an image in the local store whose kernel is a symlink to a host file makes the VM
 * fail to start (ErrImagePull saying the path leaves the image), and no QEMU is started.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { guestPids, waitStatus } from '../support/guest.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';

let p: TestPlatform;
let outside: string;

before(async () => {
  p = await startTestPlatform();
  outside = mkdtempSync(join(tmpdir(), 'hikube-host-'));
  writeFileSync(join(outside, 'shadow'), 'host secret\n');
  // An image in the data dir's store whose kernel is a symlink out of it.
  const image = join(p.dataDir, 'images', 'escaping-latest');
  mkdirSync(join(image, 'boot'), { recursive: true });
  writeFileSync(join(image, 'boot', 'initrd.img'), 'initrd');
  symlinkSync(join(outside, 'shadow'), join(image, 'boot', 'vmlinux'));
  writeFileSync(
    join(image, 'image.json'),
    JSON.stringify({ name: 'escaping:latest', aliases: ['escaping'], disk: null, format: 'qcow2' }),
  );
});
after(async () => {
  await p.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

const vm = (name: string, kernelPath: string, initrdPath: string): string => `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: ${name}}
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        memory: {guest: 128Mi}
        firmware:
          kernelBoot:
            container: {image: escaping, kernelPath: "${kernelPath}", initrdPath: "${initrdPath}"}
        devices:
          disks:
          - {name: root, disk: {}}
      volumes:
      - {name: root, containerDisk: {image: escaping}}
`;

describe('kernelBoot paths', () => {
  test('kubectl is refused a path with .. or a relative one, each field named', async () => {
    const r = await p.kubectl(['apply', '-f', '-'], vm('dotted', '/../../../etc/shadow', 'boot/initrd.img'));
    assert.notEqual(r.code, 0);
    const field = 'spec.template.spec.domain.firmware.kernelBoot.container';
    assert.match(
      r.stderr,
      new RegExp(`${field}\\.kernelPath: Invalid value: "/\\.\\./\\.\\./\\.\\./etc/shadow"`),
    );
    assert.match(r.stderr, new RegExp(`${field}\\.initrdPath: Invalid value: "boot/initrd\\.img"`));
  });

  test('a kernel symlinked out of the image fails the start with ErrImagePull, and no QEMU runs', async () => {
    await kubectlOk(p, ['apply', '-f', '-'], vm('symlinked', '/boot/vmlinux', '/boot/initrd.img'));
    await waitStatus(p, 'symlinked', 'ErrImagePull', 30_000);
    const vmi = JSON.parse(await kubectlOk(p, ['get', 'vmi', 'symlinked', '-o', 'json'])) as {
      status: { conditions: { type: string; reason: string; message: string }[] };
    };
    const sync = vmi.status.conditions.find((c) => c.type === 'Synchronized');
    assert.equal(sync?.reason, 'ErrImagePull');
    assert.match(
      sync?.message ?? '',
      /kernelPath "\/boot\/vmlinux" leaves the image \(it resolves to .*shadow\)/,
    );
    assert.equal(guestPids(p, 'symlinked').length, 0);
    await kubectlOk(p, ['delete', 'vm', 'symlinked']);
  });
});
