/**
 * Golden argv: what QEMU is started with for representative VMIs. The expected command lines live in
 * golden/<fixture>.json, one option (with its value) per row. After an intended change, regenerate
 * them with `HIKUBE_UPDATE_GOLDEN=1 scripts/test.sh hypervisor/render`, then
 * `npx prettier --write test/unit/hypervisor/golden`, and review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildMachine } from '../../../src/hypervisor/build.js';
import type { QemuMachine } from '../../../src/hypervisor/machine.js';
import { renderArgv } from '../../../src/hypervisor/render.js';
import { FIXTURES, RUN_DIR, type Fixture } from './fixtures.js';

// Tests run from dist/test/unit/hypervisor; the golden files stay in the source tree.
const GOLDEN_DIR = fileURLToPath(new URL('../../../../test/unit/hypervisor/golden/', import.meta.url));
const FLAGS_WITHOUT_VALUE = new Set(['-nodefaults', '-no-user-config', '-daemonize', '-S', '-no-reboot']);

function group(argv: string[]): string[][] {
  const rows: string[][] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    if (FLAGS_WITHOUT_VALUE.has(flag)) rows.push([flag]);
    else rows.push([flag, argv[++i] ?? '']);
  }
  return rows;
}

function machineOf(f: Fixture): QemuMachine {
  const { namespace, name } = f.vmi.metadata;
  return buildMachine(f.vmi, f.prepared(`${RUN_DIR}/${namespace ?? 'default'}/${name ?? ''}`), f.host);
}

describe('renderArgv: golden command lines', () => {
  for (const [name, fixture] of Object.entries(FIXTURES)) {
    test(name, () => {
      const machine = machineOf(fixture);
      assert.deepEqual(machine.warnings, []);
      const argv = renderArgv(machine);
      const file = `${GOLDEN_DIR}${name}.json`;
      if (process.env['HIKUBE_UPDATE_GOLDEN'] === '1') {
        writeFileSync(
          file,
          `[\n${group(argv)
            .map((row) => `  ${JSON.stringify(row)}`)
            .join(',\n')}\n]\n`,
        );
      }
      const expected = (JSON.parse(readFileSync(file, 'utf8')) as string[][]).flat();
      assert.deepEqual(argv, expected);
    });
  }
});

describe('renderArgv: properties', () => {
  test('is deterministic and leaves the machine untouched', () => {
    const machine = machineOf(FIXTURES.forwarded);
    const before = structuredClone(machine);
    assert.deepEqual(renderArgv(machine), renderArgv(machine));
    assert.deepEqual(machine, before);
  });

  test('ps shows the VM: -name carries namespace/name', () => {
    const argv = renderArgv(machineOf(FIXTURES.devVm));
    assert.equal(argv[argv.indexOf('-name') + 1], 'guest=default/dev-vm,debug-threads=on');
  });

  test('commas in paths and values are doubled so QEMU does not split them', () => {
    const machine = machineOf(FIXTURES.tiny);
    machine.disks[0] = { ...machine.disks[0]!, path: '/srv/a,b/root.qcow2', serial: 'x,y' };
    machine.qmp = { socket: '/run/q,1/qmp.sock' };
    const argv = renderArgv(machine);
    assert.ok(
      argv.includes('driver=file,node-name=drive0-file,filename=/srv/a,,b/root.qcow2,read-only=off'),
      argv.join(' '),
    );
    assert.ok(
      argv.includes('virtio-blk-pci,id=disk-rootfs,drive=drive0,serial=x,,y,werror=stop,rerror=stop'),
    );
    assert.ok(argv.includes('unix:/run/q,,1/qmp.sock,server=on,wait=off'));
    // -append, -kernel and -pidfile take their value verbatim.
    assert.ok(argv.includes('console=ttyS0 root=/dev/vda rw panic=-1'));
  });

  test('EFI without secure boot maps pflash but needs neither SMM nor a secure flash', () => {
    const machine = machineOf(FIXTURES.efiInstaller);
    machine.firmware = {
      kind: 'efi',
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      vars: '/run/v.fd',
      secureBoot: false,
    };
    const argv = renderArgv(machine);
    assert.equal(argv[argv.indexOf('-machine') + 1], 'q35,pflash0=efi-code,pflash1=efi-vars');
    assert.ok(!argv.includes('-global'));
    assert.ok(
      argv.includes(
        'driver=file,node-name=efi-code-file,filename=/usr/share/OVMF/OVMF_CODE_4M.fd,read-only=on',
      ),
    );
  });

  test('the accelerator decides -accel; only TCG gets a smaller translation cache', () => {
    const machine = machineOf(FIXTURES.tiny);
    const accel = (m: QemuMachine) => {
      const argv = renderArgv(m);
      return argv[argv.indexOf('-accel') + 1];
    };
    assert.equal(accel(machine), 'tcg,tb-size=32');
    assert.equal(accel({ ...machine, accel: 'kvm' }), 'kvm');
  });

  test('-S and -no-reboot follow startPaused and noReboot; -daemonize and -pidfile always', () => {
    const machine = machineOf(FIXTURES.devVm);
    for (const startPaused of [false, true]) {
      for (const noReboot of [false, true]) {
        const argv = renderArgv({ ...machine, startPaused, noReboot });
        assert.equal(argv.includes('-S'), startPaused);
        assert.equal(argv.includes('-no-reboot'), noReboot);
        assert.ok(argv.includes('-daemonize'));
        assert.equal(argv[argv.indexOf('-pidfile') + 1], `${RUN_DIR}/default/dev-vm/qemu.pid`);
      }
    }
  });

  test('with no graphics there is no VGA, no VNC and no USB controller', () => {
    const argv = renderArgv(machineOf(FIXTURES.tiny));
    assert.ok(!argv.includes('-vnc'));
    assert.ok(
      !argv.some((a) => a.startsWith('VGA') || a.startsWith('qemu-xhci') || a.startsWith('usb-tablet')),
    );
    assert.equal(argv[argv.indexOf('-display') + 1], 'none');
  });
});
