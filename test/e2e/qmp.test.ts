/**
 * Real QEMU on this machine: a QMP session through a guest's lifecycle, the accelerator probe, and
 * QEMU accepting — daemonized, as the node agent starts it — the argv rendered for every golden
 * fixture. No guest OS is needed: machines start paused, or run firmware with nothing to boot.
 * These tests fail (they do not skip) when QEMU is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildMachine } from '../../src/hypervisor/build.js';
import { ovmfVarsTemplate } from '../../src/hypervisor/configurators/firmware.js';
import type { NicBackend, QemuMachine } from '../../src/hypervisor/machine.js';
import type { PreparedResources } from '../../src/hypervisor/prepared.js';
import { KVM_PROBE_ARGV, probeAccelerator, resetAcceleratorCache } from '../../src/hypervisor/probe.js';
import { kvmDevicePresent, QEMU_BINARY, spawnProbe } from '../../src/hypervisor/probe-qemu.js';
import { connectQmp, type QmpClient } from '../../src/hypervisor/qmp.js';
import { renderArgv } from '../../src/hypervisor/render.js';
import { eventually } from '../support/wait.js';
import { FIXTURES } from '../unit/hypervisor/fixtures.js';

const dirs: string[] = [];
const pids = new Set<number>();
const children: ChildProcess[] = [];

function tempDir(): string {
  // Short: unix socket paths are limited to 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'hk-qmp-'));
  dirs.push(dir);
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A daemonized QEMU belongs to PID 1, which may not reap it: a zombie has exited.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return eventually(
    () => (child.exitCode !== null || child.signalCode !== null ? { code: child.exitCode } : undefined),
    'QEMU to exit',
    timeoutMs,
  ).then((r) => r.code);
}

before(() => {
  const version = spawnSync(QEMU_BINARY, ['--version'], { encoding: 'utf8' });
  assert.equal(version.error, undefined, `${QEMU_BINARY} is required: ${version.error?.message ?? ''}`);
  assert.match(version.stdout, /QEMU emulator version/);
});

after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('QMP against a real QEMU', () => {
  test('prelaunch → cont → running → stop → paused → powerdown → quit → exited', async () => {
    const socket = join(tempDir(), 'qmp.sock');
    const argv = [
      '-M',
      'q35',
      '-accel',
      'tcg',
      '-nodefaults',
      '-display',
      'none',
      '-S',
      '-qmp',
      `unix:${socket},server=on,wait=off`,
    ];
    const child = spawn(QEMU_BINARY, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    const qmp: QmpClient = await eventually(
      () => (existsSync(socket) ? connectQmp(socket, { connectTimeoutMs: 2000 }) : undefined),
      'the QMP socket',
      10_000,
    );

    assert.equal(qmp.greeting?.version.qemu.major, 7);
    assert.deepEqual(await qmp.execute('query-status'), {
      status: 'prelaunch',
      running: false,
      singlestep: false,
    });

    const resumed = qmp.waitForEvent('RESUME', 5000);
    assert.deepEqual(await qmp.execute('cont'), {});
    await resumed;
    assert.deepEqual(await qmp.execute('query-status'), {
      status: 'running',
      running: true,
      singlestep: false,
    });

    const stopped = qmp.waitForEvent('STOP', 5000);
    await qmp.execute('stop');
    await stopped;
    assert.deepEqual(await qmp.execute('query-status'), {
      status: 'paused',
      running: false,
      singlestep: false,
    });

    // No guest OS answers the ACPI button; QEMU still reports the request.
    const powerdown = qmp.waitForEvent('POWERDOWN', 5000);
    assert.deepEqual(await qmp.execute('system_powerdown'), {});
    await powerdown;

    const shutdown = qmp.waitForEvent('SHUTDOWN', 5000, (e) => e.data['reason'] === 'host-qmp-quit');
    assert.deepEqual(await qmp.execute('quit'), {});
    await shutdown;
    assert.equal(await exitOf(child, 5000), 0);
    await eventually(() => qmp.closed, 'the QMP connection to close', 2000);
  });

  test('commands in flight together, and a refused one', async () => {
    const socket = join(tempDir(), 'qmp.sock');
    const child = spawn(
      QEMU_BINARY,
      [
        '-M',
        'q35',
        '-accel',
        'tcg',
        '-nodefaults',
        '-display',
        'none',
        '-S',
        '-qmp',
        `unix:${socket},server=on,wait=off`,
      ],
      { stdio: 'ignore' },
    );
    children.push(child);
    const qmp = await eventually(
      () => (existsSync(socket) ? connectQmp(socket, { connectTimeoutMs: 2000 }) : undefined),
      'the QMP socket',
      10_000,
    );
    const [status, name, kvm] = await Promise.all([
      qmp.execute('query-status'),
      qmp.execute('query-name'),
      qmp.execute('query-kvm'),
    ]);
    assert.deepEqual(
      [status, name, kvm],
      [{ status: 'prelaunch', running: false, singlestep: false }, {}, { enabled: false, present: true }],
    );
    await assert.rejects(qmp.execute('no-such-command'), {
      name: 'QmpError',
      class: 'CommandNotFound',
      desc: 'The command no-such-command has not been found',
    });
    await qmp.execute('quit');
    assert.equal(await exitOf(child, 5000), 0);
  });
});

describe('probeAccelerator on this machine', () => {
  test('chooses TCG within a few seconds (KVM is present but does not work here)', async () => {
    resetAcceleratorCache();
    const reasons: string[] = [];
    const started = Date.now();
    const accel = await probeAccelerator(spawnProbe(), 3000, {
      kvmPresent: () => kvmDevicePresent(),
      env: {},
      onReject: (r) => reasons.push(r),
    });
    assert.equal(accel, 'tcg');
    assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
    assert.equal(reasons.length, 1);
  });

  test('the probe guest itself works: under TCG it runs through SeaBIOS and exits 0', async () => {
    const argv = KVM_PROBE_ARGV.map((a) => (a === 'kvm' ? 'tcg' : a === 'host' ? 'max' : a));
    const started = Date.now();
    assert.deepEqual(await spawnProbe()(argv, 3000), { ok: true });
    assert.ok(Date.now() - started < 3000);
  });
});

/** Creates the files a node agent would have prepared; taps become user networking (no privileges assumed). */
function materialize(prepared: PreparedResources): PreparedResources {
  for (const volume of Object.values(prepared.volumes)) {
    if (volume.format === 'qcow2') {
      const made = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume.path, '64M'], {
        encoding: 'utf8',
      });
      assert.equal(made.status, 0, made.stderr);
    } else {
      writeFileSync(volume.path, '');
      truncateSync(volume.path, 2 ** 20);
    }
    if (volume.kernelBoot !== undefined) {
      writeFileSync(volume.kernelBoot.kernel, fakeBzImage());
      if (volume.kernelBoot.initrd !== undefined) writeFileSync(volume.kernelBoot.initrd, Buffer.alloc(4096));
    }
  }
  const backends: Record<string, NicBackend> = {};
  for (const [name, b] of Object.entries(prepared.backends)) {
    // Host port 0: the kernel picks a free one, so parallel runs do not collide.
    backends[name] =
      b.kind === 'tap'
        ? { kind: 'user', restrict: true, hostForwards: [] }
        : { ...b, hostForwards: b.hostForwards.map((f) => ({ ...f, hostPort: 0 })) };
  }
  return { ...prepared, backends };
}

/** Enough of a Linux boot-protocol header for QEMU to load it; the guest never runs it (-S). */
function fakeBzImage(): Buffer {
  const b = Buffer.alloc(16384);
  b[0x1f1] = 4; // setup sectors
  b.writeUInt16LE(0xaa55, 0x1fe);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x020f, 0x206); // boot protocol 2.15
  b[0x211] = 0x01; // LOADED_HIGH
  b.writeUInt32LE(0x37ffffff, 0x22c); // initrd_addr_max
  b.writeUInt32LE(2048, 0x238); // cmdline_size
  return b;
}

function expectedDevices(m: QemuMachine): string[] {
  return [
    ...m.disks.map((d) => `disk-${d.id}`),
    ...m.nics.map((n) => `nic-${n.id}`),
    ...(m.vnc === undefined ? [] : ['video0']),
    ...(m.tablet ? ['tablet0'] : []),
    ...(m.balloon ? ['balloon0'] : []),
    ...(m.rng ? ['rng-dev0'] : []),
    ...(m.guestAgent === undefined ? [] : ['virtio-serial0']),
  ].sort();
}

describe('QEMU accepts the rendered argv of every golden fixture', () => {
  for (const [name, fixture] of Object.entries(FIXTURES)) {
    test(name, async () => {
      const dir = tempDir();
      const prepared = materialize(fixture.prepared(dir));
      const built = buildMachine(fixture.vmi, prepared, { accel: 'tcg' });
      if (built.firmware.kind === 'efi')
        copyFileSync(ovmfVarsTemplate(built.firmware.secureBoot), built.firmware.vars);
      const machine: QemuMachine = { ...built, startPaused: true };

      const child = spawn(QEMU_BINARY, renderArgv(machine), { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      // -daemonize: the parent exits once the machine is set up, 0 only if QEMU accepted everything.
      assert.equal(await exitOf(child, 20_000), 0, stderr);
      const pid = Number(readFileSync(prepared.paths.pidfile, 'utf8').trim());
      pids.add(pid);
      assert.ok(alive(pid), 'the daemonized QEMU runs');
      assert.ok(
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=${machine.name}`),
        'ps shows the VM name',
      );

      const qmp = await connectQmp(prepared.paths.qmp);
      try {
        assert.deepEqual(await qmp.execute('query-status'), {
          status: 'prelaunch',
          running: false,
          singlestep: false,
        });
        const peripherals = (
          await qmp.execute<{ name: string }[]>('qom-list', { path: '/machine/peripheral' })
        ).map((p) => p.name);
        for (const id of expectedDevices(machine))
          assert.ok(peripherals.includes(id), `${id} in ${peripherals.join(', ')}`);
        const blocks =
          await qmp.execute<{ inserted?: { 'node-name': string; ro: boolean } }[]>('query-block');
        const readOnly = Object.fromEntries(
          blocks.flatMap((b) => (b.inserted === undefined ? [] : [[b.inserted['node-name'], b.inserted.ro]])),
        );
        const expected = Object.fromEntries(machine.disks.map((d) => [d.nodeName, d.readonly]));
        if (machine.firmware.kind === 'efi') Object.assign(expected, { 'efi-code': true, 'efi-vars': false });
        assert.deepEqual(readOnly, expected);
        assert.ok(existsSync(prepared.paths.serialLog), 'the serial console is logged');
        for (const socket of [
          prepared.paths.serial,
          prepared.paths.guestAgent,
          ...(machine.vnc === undefined ? [] : [machine.vnc.socket]),
        ]) {
          assert.ok(existsSync(socket), `${socket} exists`);
        }
        await qmp.execute('quit');
      } finally {
        qmp.destroy();
      }
      await eventually(() => !alive(pid), `QEMU ${pid} to exit`, 5000);
    });
  }
});
