/**
 * A cdrom disk with no volume is an empty tray (as KubeVirt attaches it, to be filled by hotplug):
 * the configurator keeps it, the renderer writes a CD device with no drive, and QEMU itself starts
 * with the drive present and no medium inserted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import { validateVmiSpec, vmiSpecWarnings } from '../../../src/api/kubevirt/validation.js';
import { configureDisks } from '../../../src/hypervisor/configurators/disks.js';
import { Issues } from '../../../src/hypervisor/errors.js';
import type { QemuMachine } from '../../../src/hypervisor/machine.js';
import { renderControllers, renderDisks } from '../../../src/hypervisor/render-disks.js';

const spec: VirtualMachineInstanceSpec = {
  domain: {
    devices: {
      disks: [
        { name: 'root' },
        { name: 'installer', cdrom: { bus: 'sata' } },
        { name: 'drivers', cdrom: { bus: 'scsi' } },
        { name: 'lost' },
      ],
    },
  },
  volumes: [{ name: 'root', emptyDisk: { capacity: '1Gi' } }],
};

describe('an empty CD-ROM tray', () => {
  const issues = new Issues();
  const { disks } = configureDisks(spec, { root: { path: '/run/vm/root.qcow2', format: 'qcow2' } }, issues);
  const machine = { disks, tablet: false } as unknown as QemuMachine;

  test('the configurator keeps cdroms without a volume, and still drops a plain disk without one', () => {
    assert.deepEqual(
      disks.map((d) => [d.id, d.device, d.bus, d.empty === true]),
      [
        ['root', 'disk', 'virtio', false],
        ['installer', 'cdrom', 'sata', true],
        ['drivers', 'cdrom', 'scsi', true],
      ],
    );
    assert.deepEqual(issues.errors, []);
    assert.equal(issues.warnings.length, 1);
    assert.match(issues.warnings[0] ?? '', /disk "lost" has no prepared volume/);
  });

  test('admission accepts the plain disk without a volume with a warning (api-exceptions: disk-without-volume), the empty cdrom silently', () => {
    assert.deepEqual(
      validateVmiSpec(spec, 'spec').filter((e) => e.path.startsWith('spec.domain.devices.disks')),
      [],
    );
    const lost = spec.domain.devices.disks?.findIndex((d) => d.name === 'lost');
    assert.deepEqual(vmiSpecWarnings(spec, 'spec'), [
      `spec.domain.devices.disks[${lost}].name: disk "lost" has no volume of that name; the guest will start without it`,
    ]);
  });

  test('rendered as CD devices without a drive, and no blockdev for them', () => {
    const argv = renderDisks(machine);
    assert.ok(argv.includes('ide-cd,id=disk-installer,bus=ide.0'), argv.join(' '));
    assert.ok(argv.includes('scsi-cd,id=disk-drivers,bus=scsi0.0'), argv.join(' '));
    assert.equal(argv.filter((a) => a.startsWith('driver=file')).length, 1);
  });

  test('QEMU starts with both drives present and no medium', () => {
    const argv = [...renderControllers(machine), ...renderDisks(machine)].filter(
      (_a, i, all) => !(all[i] === '-blockdev' || all[i - 1] === '-blockdev'),
    );
    const withoutRoot = argv.filter(
      (a, i, all) => !(a.includes('disk-root') || all[i + 1]?.includes('disk-root') === true),
    );
    const run = spawnSync(
      'qemu-system-x86_64',
      [
        '-M',
        'q35',
        '-accel',
        'tcg',
        '-S',
        '-nodefaults',
        '-display',
        'none',
        '-monitor',
        'stdio',
        ...withoutRoot,
      ],
      { input: 'info block\nquit\n', encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(run.error, undefined, String(run.error));
    assert.match(run.stdout, /disk-installer: \[not inserted\]/, run.stdout + run.stderr);
    assert.match(run.stdout, /disk-drivers: \[not inserted\]/, run.stdout + run.stderr);
  });
});
