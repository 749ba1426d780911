/**
 * `hikube vm import URL` against a real platform, the OVA served by an http server of this test on
 * loopback, and the imported VM booted from its own disk: the OVA holds hikube-tiny-boot (a disk
 * with SYSLINUX, the tiny guest's kernel and initramfs, built at setup) converted by qemu-img to a
 * streamOptimized VMDK; the VM created from it starts under QEMU with no direct kernel boot and
 * its console shows the tiny guest's ready marker. The CLI fetches under the platform's outbound
 * rule: without HIKUBE_ALLOW_PRIVATE_TARGETS (or --allow-private-targets) the loopback server is
 * refused and nothing is created; an OVA over --max-size is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { builtinImageDir } from '../../src/storage/images.js';
import { gone } from '../support/disk-guest.js';
import { guestPids, waitStatus } from '../support/guest.js';
import { ovfXml, writeOva } from '../support/ova.js';
import { kubectlOk, repoRoot, run, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
let dir: string;
let server: Server;
let base: string;
const served: string[] = [];

/** The CLI with (or without) the private-targets switch in its environment. */
const hikube = (args: string[], allowPrivate: boolean): ReturnType<TestPlatform['hikube']> =>
  run(join(repoRoot, 'bin', 'hikube'), ['--kubeconfig', p.kubeconfigPath, ...args], undefined, {
    HIKUBE_ALLOW_PRIVATE_TARGETS: allowPrivate ? '1' : '0',
  });

before(async () => {
  const bootDisk = join(builtinImageDir(), 'hikube-tiny-boot', 'disk.raw');
  assert.ok(
    existsSync(bootDisk),
    `${bootDisk} is missing: run scripts/setup.sh (scripts/images/build-all.sh)`,
  );
  p = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'hikube-ova-url-'));
  const vmdk = join(dir, 'boot.vmdk');
  execFileSync('qemu-img', [
    'convert',
    '-f',
    'raw',
    '-O',
    'vmdk',
    '-o',
    'subformat=streamOptimized',
    bootDisk,
    vmdk,
  ]);
  const ova = join(dir, 'boot.ova');
  await writeOva(ova, [
    [
      'boot.ovf',
      Buffer.from(
        ovfXml({
          name: 'Boot Me',
          cpus: 1,
          memoryMiB: 2048,
          disks: [{ href: 'boot.vmdk', capacity: statSync(bootDisk).size }],
        }),
      ),
    ],
    ['boot.vmdk', { path: vmdk }],
  ]);
  server = createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/moved') res.writeHead(302, { location: '/images/boot.ova' }).end();
    else if (req.url === '/images/boot.ova')
      createReadStream(ova).pipe(res.writeHead(200, { 'content-length': statSync(ova).size }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.close();
  await p.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('hikube vm import URL', () => {
  test('a loopback URL without HIKUBE_ALLOW_PRIVATE_TARGETS: refused, no request made, nothing created', async () => {
    const r = await hikube(['vm', 'import', `${base}/moved`, '--name', 'refused'], false);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /target not allowed: 127\.0\.0\.1 is a loopback address/);
    assert.match(r.stderr, /HIKUBE_ALLOW_PRIVATE_TARGETS=1/);
    assert.deepEqual(served, []);
    assert.notEqual((await p.kubectl(['get', 'dv', 'refused-disk0'])).code, 0);
  });

  test('allowed by the --allow-private-targets flag, an OVA over --max-size is refused, nothing created', async () => {
    const r = await hikube(
      ['vm', 'import', `${base}/moved`, '--name', 'big', '--max-size', '1Mi', '--allow-private-targets'],
      false,
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /larger than the limit of 1Mi \(--max-size\)/);
    assert.notEqual((await p.kubectl(['get', 'vm', 'big'])).code, 0);
  });

  test('imported through a redirect, the VM boots from its own disk to the ready marker', async () => {
    const r = await hikube(['vm', 'import', `${base}/moved`], true);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`OVA ${base}/moved: VM "Boot Me", 1 vCPU, 2048 MiB`));
    assert.match(r.stdout, /virtualmachine\.kubevirt\.io\/boot-me created/);
    assert.deepEqual(served.slice(-2), ['/moved', '/images/boot.ova']);
    assert.equal(
      await kubectlOk(p, ['get', 'dv', 'boot-me-disk0', '-o', 'jsonpath={.status.phase}']),
      'Succeeded',
    );

    await kubectlOk(p, ['patch', 'vm', 'boot-me', '--type=merge', '-p', '{"spec":{"runStrategy":"Always"}}']);
    await waitStatus(p, 'boot-me', 'Running', 120_000);
    const [pid] = guestPids(p, 'boot-me');
    assert.ok(pid !== undefined, 'a QEMU runs for boot-me');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(!argv.includes('-kernel'), `no direct kernel boot: ${argv.join(' ')}`);
    // The serial log holds the whole boot: the bootloader's banner, then the tiny guest's marker.
    const logfile = /logfile=((?:[^,]|,,)+)/.exec(argv.join(' '))?.[1]?.replace(/,,/g, ',');
    assert.ok(logfile !== undefined, 'QEMU records its serial console');
    const log = await eventually(
      () => {
        const text = existsSync(logfile) ? readFileSync(logfile, 'utf8') : '';
        return /hikube-tiny: ready/.test(text) ? text : undefined;
      },
      'the ready marker on the serial console of boot-me',
      180_000,
      500,
    );
    assert.match(log, /SYSLINUX/);
    await kubectlOk(p, ['patch', 'vm', 'boot-me', '--type=merge', '-p', '{"spec":{"runStrategy":"Halted"}}']);
    await gone(p, 'vmi', 'boot-me');
  });
});
