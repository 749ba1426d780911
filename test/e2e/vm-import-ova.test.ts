/**
 * `hikube vm import FILE.ova` against a real platform: an OVA built here (an OVF written as
 * VMware writes it, and a streamOptimized VMDK made by qemu-img from a disk holding a marker)
 * imports: the VMDK passes the image inspection rule on the upload path, the DataVolume fills, the
 * VM is created with the instance type that fits, starts under QEMU, and a tiny guest given the
 * imported disk reads the marker; with --hikube, a VMInstance on a VMDisk. An OVA with a `../x` member, or with a device the importer does
 * not know, is refused before anything is created.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openSync, closeSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { boot, gone, read, sh, tinyOnClaim } from '../support/disk-guest.js';
import { waitStatus } from '../support/guest.js';
import { ovfXml, writeOva } from '../support/ova.js';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
let dir: string;
let vmdk: string;

before(async () => {
  p = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'hikube-ova-'));
  // A 32 MiB disk with the marker where the tiny guest's `read` looks (sector 4096).
  const raw = join(dir, 'disk.raw');
  const fd = openSync(raw, 'w');
  writeSync(fd, Buffer.from('ova-marker\n'), 0, 11, 4096 * 512);
  writeSync(fd, Buffer.alloc(1), 0, 1, 32 * 2 ** 20 - 1);
  closeSync(fd);
  vmdk = join(dir, 'disk1.vmdk');
  execFileSync('qemu-img', [
    'convert',
    '-f',
    'raw',
    '-O',
    'vmdk',
    '-o',
    'subformat=streamOptimized',
    raw,
    vmdk,
  ]);
});
after(async () => {
  await p.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const spec = {
  name: 'Legacy App',
  cpus: 1,
  memoryMiB: 2048,
  disks: [{ href: 'disk1.vmdk', capacity: 32 * 2 ** 20 }],
};

describe('hikube vm import', () => {
  test('an OVA imports: disk uploaded, VM with the fitting instance type, the disk readable by a guest', async () => {
    const ova = join(dir, 'legacy.ova');
    await writeOva(ova, [
      ['legacy.ovf', Buffer.from(ovfXml(spec))],
      ['disk1.vmdk', { path: vmdk }],
    ]);
    const out = await hikubeOk(p, ['vm', 'import', ova]);
    assert.match(out, /VM "Legacy App", 1 vCPU, 2048 MiB, firmware bios, 1 disk\(s\), 1 NIC\(s\)/);
    assert.match(out, /instance type s1\.small \(1 vCPU, 2 GiB\): an exact match/);
    assert.match(out, /VmxNet3 adapter becomes virtio/);
    assert.match(out, /Video card: .*not imported/);
    assert.match(out, /virtualmachine\.kubevirt\.io\/legacy-app created/);
    assert.equal(
      await kubectl(['get', 'dv', 'legacy-app-disk0', '-o', 'jsonpath={.status.phase}']),
      'Succeeded',
    );
    assert.equal(
      await kubectl(['get', 'vm', 'legacy-app', '-o', 'jsonpath={.spec.instancetype.name}']),
      's1.small',
    );

    // It starts under QEMU on the imported disk (which holds no OS: it is data for this test).
    await hikubeOk(p, ['start', 'legacy-app']);
    await waitStatus(p, 'legacy-app', 'Running', 120_000);
    await hikubeOk(p, ['stop', 'legacy-app']);
    await gone(p, 'vmi', 'legacy-app');

    // A guest given the imported disk reads what was written before the VMDK conversion.
    await kubectl(['apply', '-f', '-'], tinyOnClaim('reader', 'legacy-app-disk0'));
    const c = await boot(p, 'reader');
    assert.equal(await sh(c, read), 'ova-marker');
    c.close();
    await kubectl(['delete', 'vm', 'reader', '--wait=false']);
  });

  test('--hikube: the disk uploaded into a VMDisk, a VMInstance on it', async () => {
    const ova = join(dir, 'hikube.ova');
    await writeOva(ova, [
      ['hikube.ovf', Buffer.from(ovfXml({ ...spec, name: 'legacy2' }))],
      ['disk1.vmdk', { path: vmdk }],
    ]);
    const out = await hikubeOk(p, ['vm', 'import', ova, '--hikube']);
    assert.match(out, /vminstance\.apps\.cozystack\.io\/legacy2 created/);
    assert.equal(
      await kubectl(['get', 'dv', 'vm-disk-legacy2-disk0', '-o', 'jsonpath={.status.phase}']),
      'Succeeded',
    );
    assert.equal(
      await kubectl(['get', 'vminstance', 'legacy2', '-o', 'jsonpath={.spec.instanceType}']),
      's1.small',
    );
    assert.equal(
      await kubectl(['get', 'vminstance', 'legacy2', '-o', 'jsonpath={.spec.disks[0].name}']),
      'legacy2-disk0',
    );
  });

  test('an OVA with a ../x member or an unknown device is refused, nothing created', async () => {
    const sneaky = join(dir, 'sneaky.ova');
    await writeOva(sneaky, [
      ['sneaky.ovf', Buffer.from(ovfXml({ ...spec, name: 'sneaky' }))],
      ['../x', Buffer.from('escape')],
      ['disk1.vmdk', { path: vmdk }],
    ]);
    const r1 = await p.hikube(['vm', 'import', sneaky]);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /member "\.\.\/x" names a path/);

    const odd = join(dir, 'odd.ova');
    await writeOva(odd, [
      [
        'odd.ovf',
        Buffer.from(
          ovfXml({
            ...spec,
            name: 'odd',
            extraItems:
              '      <Item><rasd:ElementName>Dongle 0</rasd:ElementName><rasd:InstanceID>99</rasd:InstanceID><rasd:ResourceType>42</rasd:ResourceType></Item>',
          }),
        ),
      ],
      ['disk1.vmdk', { path: vmdk }],
    ]);
    const r2 = await p.hikube(['vm', 'import', odd]);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stdout, /unknown device: Dongle 0 \(ResourceType 42\)/);
    assert.match(r2.stderr, /nothing was created/);
    await eventually(
      async () => (await p.kubectl(['get', 'dv', 'odd-disk0'])).code !== 0,
      'no DataVolume for odd',
    );
    assert.notEqual((await p.kubectl(['get', 'dv', 'sneaky-disk0'])).code, 0);
    assert.notEqual((await p.kubectl(['get', 'vm', 'odd'])).code, 0);
  });
});
