/**
 * The built-in guest images (built by scripts/setup.sh into .cache/images) follow the contract the
 * node agent reads, and hikube/tiny really boots under QEMU the way the platform boots it: NoCloud
 * seed found by label, hostname and user-data applied, ready marker on the serial console, ACPI
 * power-down (QMP) and `poweroff -f` both ending QEMU. A missing image or QEMU fails, never skips.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createConnection, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const imageRoot = process.env['HIKUBE_IMAGE_DIR'] ?? join(repoRoot, '.cache', 'images');

interface ImageManifest {
  name: string;
  aliases: string[];
  disk: string | null;
  format: string;
  kernel: string;
  initrd: string | null;
  cmdline: string;
  minMemory: string;
  readyMarker: string;
}

async function readManifest(dir: string): Promise<ImageManifest> {
  const path = join(imageRoot, dir, 'image.json');
  assert.ok(existsSync(path), `${path} is missing: run scripts/setup.sh (or scripts/images/build-all.sh)`);
  return JSON.parse(await readFile(path, 'utf8')) as ImageManifest;
}

const dirs: string[] = [];
const guests: ChildProcess[] = [];
after(async () => {
  for (const g of guests) if (g.exitCode === null && g.signalCode === null) g.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function exec(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _stdout, stderr) =>
      err === null ? resolve() : reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`)),
    );
  });
}

interface Guest {
  dir: string;
  exited: Promise<number | null>;
  /** Why QEMU is gone (failed to start, or exited), once it is. */
  gone(): string | undefined;
  serialLog(): Promise<string>;
}

/**
 * Boots hikube/tiny as the platform does: q35, TCG, direct kernel boot, a cidata seed on virtio.
 * `netdev` adds options to its isolated user network (e.g. a guestfwd to a test server).
 */
async function bootTiny(hostname: string, userData: string, netdev = ''): Promise<Guest> {
  const image = await readManifest('hikube-tiny');
  const dir = await mkdtemp(join(tmpdir(), 'hikube-images-'));
  dirs.push(dir);
  await writeFile(join(dir, 'meta-data'), `instance-id: ${hostname}\nlocal-hostname: ${hostname}\n`);
  await writeFile(join(dir, 'user-data'), userData);
  const seed = join(dir, 'seed.iso');
  await exec('genisoimage', [
    '-quiet',
    '-V',
    'cidata',
    '-J',
    '-r',
    '-o',
    seed,
    join(dir, 'meta-data'),
    join(dir, 'user-data'),
  ]);
  const imageDir = join(imageRoot, 'hikube-tiny');
  const options: [string, string][] = [
    ['-M', 'q35'],
    ['-accel', 'tcg'],
    // The platform's model under TCG (src/hypervisor/configurators/cpu.ts).
    ['-cpu', 'max'],
    ['-m', '128M'],
    ['-display', 'none'],
    [
      '-chardev',
      `socket,id=serial0,path=${join(dir, 'serial.sock')},server=on,wait=off,logfile=${join(dir, 'serial.log')}`,
    ],
    ['-serial', 'chardev:serial0'],
    ['-kernel', join(imageDir, image.kernel)],
    ...(image.initrd !== null ? [['-initrd', join(imageDir, image.initrd)] as [string, string]] : []),
    ['-append', image.cmdline],
    ['-drive', `file=${seed},if=virtio,format=raw,readonly=on`],
    ['-netdev', `user,id=net0,restrict=on${netdev}`],
    ['-device', 'virtio-net-pci,netdev=net0'],
    ['-device', 'virtio-serial-pci'],
    ['-chardev', `socket,id=qga0,path=${join(dir, 'qga.sock')},server=on,wait=off`],
    ['-device', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0'],
    ['-qmp', `unix:${join(dir, 'qmp.sock')},server=on,wait=off`],
  ];
  const args = ['-no-user-config', '-nodefaults', ...options.flat()];
  const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  guests.push(proc);
  let stderr = '';
  let gone: string | undefined;
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    proc.on('error', (err) => {
      gone = `failed starting qemu-system-x86_64: ${err.message}`;
      reject(new Error(gone));
    });
    proc.on('exit', (code) => {
      gone = `qemu exited with ${String(code)}: ${stderr}`;
      resolve(code);
    });
  });
  exited.catch(() => undefined); // reported through gone() while waiting, and by exitsWithin
  const logPath = join(dir, 'serial.log');
  return {
    dir,
    exited,
    gone: () => gone,
    serialLog: async () => (existsSync(logPath) ? readFile(logPath, 'utf8') : ''),
  };
}

/** Polls until check() holds; fails at once if QEMU is gone, and shows the console on timeout. */
async function until(
  guest: Guest,
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    const gone = guest.gone();
    if (gone !== undefined)
      throw new Error(`waiting for ${what}: ${gone}\nserial console:\n${await guest.serialLog()}`);
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; serial console:\n${await guest.serialLog()}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once QEMU has exited, failing after timeoutMs. */
async function exitsWithin(guest: Guest, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`qemu still running ${timeoutMs} ms later`)), timeoutMs);
  });
  try {
    return await Promise.race([guest.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends one QMP command (after the capabilities handshake) and resolves with its answer. */
function qmp(socketPath: string, command: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buffered = '';
    let negotiated = false;
    sock.on('error', reject);
    sock.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const msg = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        if ('QMP' in msg) sock.write('{"execute":"qmp_capabilities"}\n');
        else if ('event' in msg) continue;
        else if (!negotiated) {
          negotiated = true;
          sock.write(JSON.stringify({ execute: command }) + '\n');
        } else {
          sock.end();
          if ('error' in msg) reject(new Error(`QMP ${command} failed: ${JSON.stringify(msg['error'])}`));
          else resolve(msg['return']);
        }
      }
    });
  });
}

/** A client of the guest's serial console that collects everything it prints. */
function serialConsole(socketPath: string): Promise<{ sock: Socket; output: () => string }> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString()));
    sock.once('error', reject);
    sock.once('connect', () => resolve({ sock, output: () => out }));
  });
}

describe('built-in images', () => {
  test('hikube/tiny and debian:12 follow the image.json contract', async () => {
    const tiny = await readManifest('hikube-tiny');
    assert.equal(tiny.name, 'hikube/tiny');
    assert.deepEqual(tiny.aliases, ['hikube/tiny:latest']);
    assert.equal(tiny.disk, null);
    assert.equal(tiny.readyMarker, 'hikube-tiny: ready');
    assert.match(tiny.cmdline, /console=ttyS0/);
    const debian = await readManifest('debian-12');
    assert.equal(debian.name, 'debian:12');
    assert.deepEqual(debian.aliases, ['debian:12', 'debian:bookworm']);
    assert.equal(debian.format, 'qcow2');
    assert.match(debian.cmdline, /^root=\/dev\/vda rw console=ttyS0/);
    for (const [dir, image] of [
      ['hikube-tiny', tiny],
      ['debian-12', debian],
    ] as const) {
      for (const file of [image.kernel, image.initrd, image.disk]) {
        if (file !== null) assert.ok(existsSync(join(imageRoot, dir, file)), `${dir}/${file} is missing`);
      }
      // The kernel is the ELF vmlinux (booted directly, no decompression under TCG).
      const head = (await readFile(join(imageRoot, dir, image.kernel))).subarray(0, 4);
      assert.deepEqual([...head], [0x7f, 0x45, 0x4c, 0x46], `${dir}/${image.kernel} is not an ELF file`);
    }
  });

  test('hikube/tiny boots, applies the seed, runs user-data and powers off on ACPI power-down', async () => {
    const guest = await bootTiny('tinytest', '#!/bin/sh\necho user-data-ran-$(hostname)\n');
    let log = '';
    await until(
      guest,
      'user-data output and the ready marker on the serial console',
      async () => {
        log = await guest.serialLog();
        return log.includes('user-data-ran-tinytest') && log.includes('hikube-tiny: ready');
      },
      60_000,
    );
    assert.ok(
      log.indexOf('user-data-ran-tinytest') < log.indexOf('hikube-tiny: ready'),
      'user-data runs before the ready marker',
    );
    await qmp(join(guest.dir, 'qmp.sock'), 'system_powerdown');
    assert.equal(await exitsWithin(guest, 20_000), 0);
  });

  test('busybox wget in hikube/tiny fetches over http by address and by name (issue 12, item 18)', async () => {
    // The static busybox resolves services and names only through these files (glibc's built-in NSS).
    const tiny = await readManifest('hikube-tiny');
    const initrd = join(imageRoot, 'hikube-tiny', tiny.initrd ?? '');
    const listing = execFileSync('sh', ['-c', 'zcat "$0" | cpio -t --quiet', initrd]).toString().split('\n');
    for (const file of ['etc/services', 'etc/protocols', 'etc/nsswitch.conf'])
      assert.ok(
        listing.includes(file),
        `${file} is missing from the tiny initramfs: rebuild it (scripts/images/build-all.sh)`,
      );
    const server = createServer((req, res) => res.end(`served-${req.url ?? ''}\n`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // The guest's 10.0.2.100:80 is this test's server, one `nc` per connection (restrict=on leaves
      // the guest nothing else). No port in the URLs: wget looks up the "http" service, and a name
      // goes through /etc/hosts, as users' scripts do.
      const guest = await bootTiny(
        'wgettest',
        '#!/bin/sh\necho "10.0.2.100 web.test" >>/etc/hosts\n' +
          'wget -q -O - http://10.0.2.100/by-address; echo "address-status=$?"\n' +
          'wget -q -O - http://web.test/by-name; echo "name-status=$?"\n',
        `,guestfwd=tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 ${port}`,
      );
      let log = '';
      await until(
        guest,
        'the wget output and the ready marker',
        async () => {
          log = await guest.serialLog();
          return log.includes('hikube-tiny: ready');
        },
        60_000,
      );
      assert.match(log, /served-\/by-address\r?\naddress-status=0/);
      assert.match(log, /served-\/by-name\r?\nname-status=0/);
      await qmp(join(guest.dir, 'qmp.sock'), 'quit');
      await exitsWithin(guest, 20_000);
    } finally {
      server.close();
    }
  });

  test('hikube/tiny gives a shell on the console where ctrl-c, hostname and poweroff -f work', async () => {
    const guest = await bootTiny('shelltest', '#cloud-config\n');
    await until(guest, 'the serial socket', () => existsSync(join(guest.dir, 'serial.sock')), 10_000);
    const serial = await serialConsole(join(guest.dir, 'serial.sock'));
    try {
      await until(guest, 'the shell prompt', () => serial.output().includes('tiny:/# '), 60_000);
      serial.sock.write('sleep 100\n');
      await until(guest, 'the echoed command', () => serial.output().endsWith('sleep 100\r\n'), 10_000);
      // ctrl-c ends sleep: a new prompt follows. The tty's echo of ^C and the shell's newline may
      // reach the console in either order (seen under load: "\r\n^Ctiny:/# ").
      const before = serial.output().length;
      serial.sock.write('\x03');
      await until(
        guest,
        'ctrl-c back at the prompt',
        () => /\^C(\r\n)?tiny:\/# /.test(serial.output().slice(before)),
        10_000,
      );
      serial.sock.write('hostname\n');
      await until(
        guest,
        'the hostname from meta-data',
        () => /hostname\r\nshelltest\r\n/.test(serial.output()),
        10_000,
      );
      serial.sock.write('poweroff -f\n');
      assert.equal(await exitsWithin(guest, 20_000), 0);
    } finally {
      serial.sock.destroy();
    }
  });
});
