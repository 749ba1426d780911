/**
 * containerDisks pulled from a real OCI registry on loopback (Debian's docker-registry): a VM
 * boots hikube/tiny from a registry reference (disk and, through firmware.kernelBoot.container,
 * kernel and initrd from the same image), pulled once into the image store with its digest, the
 * disk read-only and each VM on its own overlay; what the guest writes on it is gone after a
 * restart. A catalog short name (`ubuntu:22.04`) resolves to its registry reference (served here
 * by a mirror of that registry on loopback). A wrong tag and an unreachable registry show
 * ErrImagePull, then ImagePullBackOff, with the reason.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Console, openConsole, sh, vm, waitStatus } from '../support/guest.js';
import { kubectlOk, hikubeOk, repoRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { GOLDEN, makeImages, type Images } from '../unit/storage/image-server.js';
import { pushContainerDisk, startRegistry, type Registry } from '../unit/storage/registry-server.js';

let p: TestPlatform;
let registry: Registry;
let fixtures: Images;
let tinyDigest = '';
const tinyDir = join(process.env['HIKUBE_IMAGE_DIR'] ?? join(repoRoot, '.cache', 'images'), 'hikube-tiny');

before(async () => {
  registry = await startRegistry();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-cd-')));
  const scratch = join(fixtures.dir, 'scratch.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', scratch, '64M']);
  tinyDigest = await pushContainerDisk(registry.host, 'containerdisks/tiny', '1', scratch, false, {
    'boot/vmlinux': join(tinyDir, 'vmlinux'),
    'boot/initrd.img': join(tinyDir, 'initrd.img'),
  });
  await pushContainerDisk(registry.host, 'containerdisks/ubuntu', '22.04', join(fixtures.dir, 'disk.qcow2'));
  await pushContainerDisk(registry.host, 'containerdisks/debian', '11', join(fixtures.dir, 'disk.qcow2'));
  await pushContainerDisk(registry.host, 'containerdisks/ubuntu', '24.04', join(fixtures.dir, 'disk.qcow2'));
  p = await startTestPlatform({ registryMirrors: { 'quay.io': registry.host } });
});
after(async () => {
  await p.cleanup();
  await registry.stop();
  await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);

function vmFrom(name: string, root: string, extra: { data?: string; kernelFrom?: string } = {}): string {
  const kernel =
    extra.kernelFrom === undefined
      ? ''
      : `        firmware:
          kernelBoot:
            kernelArgs: "console=ttyS0 panic=-1 quiet"
            container: {image: "${extra.kernelFrom}", kernelPath: /boot/vmlinux, initrdPath: /boot/initrd.img}
`;
  return `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: ${name}}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 5
      domain:
        memory: {guest: 128Mi}
${kernel}        devices:
          disks:
          - {name: root, serial: root, disk: {}}
${extra.data !== undefined ? '          - {name: data, serial: data, disk: {}}\n' : ''}          - {name: cloudinit, disk: {}}
      volumes:
      - {name: root, containerDisk: {image: "${root}"}}
${extra.data !== undefined ? `      - {name: data, containerDisk: {image: "${extra.data}"}}\n` : ''}      - {name: cloudinit, cloudInitNoCloud: {userData: "#!/bin/sh\\necho booted"}}
`;
}

const dev = (serial: string): string =>
  `$(for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = ${serial} ] && echo /dev/\${d##*/}; done)`;

async function boot(name: string): Promise<Console> {
  try {
    await waitStatus(p, name, 'Running', 120_000);
  } catch (err) {
    const vmi = await p.kubectl(['get', 'vmi', name, '-o', 'yaml']);
    throw new Error(`${(err as Error).message}\nVMI: ${vmi.stdout.slice(-1500)}${vmi.stderr}`);
  }
  const c = await openConsole(p, name);
  await c.waitFor(/hikube-tiny: ready/, 90_000);
  return c;
}

interface Events {
  items: { involvedObject: { name: string }; reason: string; message: string; type: string }[];
}

describe('containerDisks from a registry', () => {
  test('a VM boots from a registry reference; the image is pulled once, verified, shared read-only; writes are gone after a restart', async () => {
    const ref = `${registry.host}/containerdisks/tiny:1`;
    await kubectl(['apply', '-f', '-'], vmFrom('pulled', ref, { kernelFrom: ref }));
    let c = await boot('pulled');
    try {
      await sh(c, `echo scratch-marker | dd of=${dev('root')} bs=512 seek=4096 conv=fsync 2>/dev/null; sync`);
      assert.equal(
        await sh(c, `dd if=${dev('root')} bs=512 skip=4096 count=1 2>/dev/null | head -n1 | tr -d '\\000'`),
        'scratch-marker',
      );
    } finally {
      c.close();
    }
    const events = JSON.parse(await kubectl(['get', 'events', '-o', 'json'])) as Events;
    const mine = events.items.filter((e) => e.involvedObject.name === 'pulled');
    assert.ok(
      mine.some((e) => e.reason === 'Pulling' && e.message.includes(`pulling image "${ref}"`)),
      `a Pulling event: ${JSON.stringify(mine.map((e) => e.reason))}`,
    );
    assert.ok(mine.some((e) => e.reason === 'Pulled'));

    // The cache: one directory, the manifest digest recorded, the disk read-only, an overlay per VM.
    const cached = join(p.dataDir, 'images', `${ref.replace(/[/:@]/g, '-')}`);
    const manifest = JSON.parse(readFileSync(join(cached, 'image.json'), 'utf8')) as {
      name: string;
      digest: string;
      source: string;
      disk: string;
    };
    assert.equal(manifest.digest, tinyDigest);
    assert.equal(manifest.source, ref);
    assert.equal(statSync(join(cached, manifest.disk)).mode & 0o222, 0, 'the cached disk is read-only');
    assert.ok(existsSync(join(cached, 'boot', 'vmlinux')));
    const pulledAt = statSync(join(cached, 'image.json')).mtimeMs;

    await hikube(['stop', 'pulled', '--wait']);
    await eventually(async () => (await p.kubectl(['get', 'vmi', 'pulled'])).code !== 0, 'VMI gone', 30_000);
    await hikube(['start', 'pulled', '--wait']);
    c = await boot('pulled');
    try {
      assert.equal(
        await sh(c, `dd if=${dev('root')} bs=512 skip=4096 count=1 2>/dev/null | head -n1 | tr -d '\\000'`),
        '',
        'what was written on the containerDisk is gone after a restart',
      );
      const overlay = execFileSync('sh', [
        '-c',
        `qemu-img info -U --output=json ${p.dataDir}/run/pulled-*/root.qcow2`,
      ]).toString();
      assert.equal(
        (JSON.parse(overlay) as { 'backing-filename': string })['backing-filename'],
        join(cached, manifest.disk),
      );
    } finally {
      c.close();
    }
    assert.equal(statSync(join(cached, 'image.json')).mtimeMs, pulledAt, 'not pulled a second time');
    await kubectl(['delete', 'vm', 'pulled', '--wait=false']);
  });

  test('a short name resolves through the catalog to its registry reference', async () => {
    await kubectl(['apply', '-f', '-'], vmFrom('short', 'hikube/tiny', { data: 'ubuntu:22.04' }));
    const c = await boot('short');
    try {
      assert.equal(await sh(c, `head -c ${GOLDEN.length - 1} ${dev('data')}`), GOLDEN.trim());
    } finally {
      c.close();
    }
    const cached = join(p.dataDir, 'images', 'quay.io-containerdisks-ubuntu-22.04', 'image.json');
    const manifest = JSON.parse(readFileSync(cached, 'utf8')) as { name: string; aliases: string[] };
    assert.equal(manifest.name, 'quay.io/containerdisks/ubuntu:22.04');
    assert.deepEqual(manifest.aliases, ['ubuntu:22.04']);
    await kubectl(['delete', 'vm', 'short', '--wait=false']);
  });

  test('hikube image import of a catalog OS with no file imports its upstream containerdisk (here a mirror)', async () => {
    const r = await hikube(['image', 'import', 'debian-11']);
    assert.match(
      r,
      /importing Debian 11 \(bullseye\) from quay\.io\/containerdisks\/debian:11 into kubevirt-os-images\/debian-11/,
    );
    await eventually(
      async () => {
        const ds = JSON.parse(
          await kubectl(['get', 'datasource', 'debian-11', '-n', 'kubevirt-os-images', '-o', 'json']),
        ) as { status?: { conditions?: { type: string; status: string }[] } };
        return ds.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      'debian-11 Ready',
      30_000,
      250,
    );
    assert.match(
      await hikube(['image', 'list']),
      /\ndebian-11\s+debian-11\s+10Gi\s+docker:\/\/quay\.io\/containerdisks\/debian:11\s+Ready\n/,
    );
  });

  test('hikube vm create with an OS not imported yet imports it from upstream first, then clones its root disk', async () => {
    const r = await p.hikube(['vm', 'create', 'noble', '--instancetype', 'u1.small', '--os', 'ubuntu-24.04']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /the ubuntu-2404 image is not here yet: importing Ubuntu 24\.04 LTS from quay\.io\/containerdisks\/ubuntu:24\.04/,
    );
    assert.match(
      r.stdout,
      /virtualmachine\.kubevirt\.io\/noble created \(u1\.small, ubuntu-2404, root disk 10Gi\)/,
    );
    // The fixture disk has no boot loader: what matters is that the VM got its disks and started.
    await waitStatus(p, 'noble', 'Running', 120_000);
    const dv = JSON.parse(await kubectl(['get', 'dv', 'noble-root', '-o', 'json'])) as {
      spec: { sourceRef: { name: string } };
      status: { phase: string };
    };
    assert.equal(dv.spec.sourceRef.name, 'ubuntu-2404');
    assert.equal(dv.status.phase, 'Succeeded');
    await kubectl(['delete', 'vm', 'noble', '--wait=false']);
  });

  test('a wrong tag and an unreachable registry: ErrImagePull, then ImagePullBackOff, with the reason', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      vmFrom('wrong-tag', `${registry.host}/containerdisks/tiny:9.9`) +
        '---\n' +
        vmFrom('offline', '127.0.0.1:1/containerdisks/tiny:1'),
    );
    for (const [name, reason] of [
      ['wrong-tag', /containerdisks\/tiny:9\.9: manifest unknown/],
      ['offline', /connection failed/],
    ] as const) {
      await waitStatus(p, name, 'ErrImagePull', 30_000);
      const vmi = JSON.parse(await kubectl(['get', 'vmi', name, '-o', 'json'])) as {
        status: { conditions: { type: string; reason: string; message: string }[] };
      };
      const sync = vmi.status.conditions.find((x) => x.type === 'Synchronized');
      assert.equal(sync?.reason, 'ErrImagePull');
      assert.match(sync?.message ?? '', reason);
      const back = await waitStatus(p, name, 'ImagePullBackOff', 30_000);
      assert.ok(back.status?.printableStatus === 'ImagePullBackOff');
      assert.match(await kubectl(['get', 'vm', name]), /ImagePullBackOff/);
    }
    const v = await vm(p, 'wrong-tag');
    assert.notEqual(v.status?.printableStatus, 'Running');
    await kubectl(['delete', 'vm', 'wrong-tag', 'offline']);
  });
});
