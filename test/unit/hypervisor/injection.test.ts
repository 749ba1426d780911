/**
 * QEMU option injection: hostile values in every part of a VMI (and of what the node prepares) that
 * reaches a QEMU option string. Each either renders as one escaped value, read back by a parser of
 * QEMU's `key=value,…` syntax as exactly what was given and adding no key, or is refused with its
 * field named. A value that selects a name (machine type, CPU model or flag) is refused even when a
 * VMI bypasses the configurators and reaches the renderer directly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { buildMachine } from '../../../src/hypervisor/build.js';
import { MachineError } from '../../../src/hypervisor/errors.js';
import type { QemuMachine } from '../../../src/hypervisor/machine.js';
import type { PreparedResources } from '../../../src/hypervisor/prepared.js';
import { renderArgv } from '../../../src/hypervisor/render.js';
import { devVm, efiInstaller, runtimePaths, tiny, topology, type Fixture } from './fixtures.js';

/** Options whose value QEMU parses as `[head,]key=value,…` (QemuOpts / keyval). */
const OPTION_LISTS = new Set([
  '-name',
  '-machine',
  '-accel',
  '-smp',
  '-smbios',
  '-blockdev',
  '-device',
  '-chardev',
  '-netdev',
  '-object',
  '-qmp',
  '-vnc',
  '-global',
]);

/** QEMU's reading of an option list: a single comma separates, a doubled one is a comma in the value. */
function parseOptionList(text: string): { key: string | undefined; value: string }[] {
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ',' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (c === ',') {
      items.push(current);
      current = '';
    } else current += c;
  }
  items.push(current);
  return items.map((item, i) => {
    const eq = item.indexOf('=');
    // The first item may be a bare head (driver, type): QEMU reads it as the implied key.
    if (eq < 0) return { key: i === 0 ? undefined : item, value: item };
    return { key: item.slice(0, eq), value: item.slice(eq + 1) };
  });
}

/** Every key=value QEMU would read from the argv's option lists. */
function parsedOptions(argv: string[]): { flag: string; key: string | undefined; value: string }[] {
  const out: { flag: string; key: string | undefined; value: string }[] = [];
  argv.forEach((arg, i) => {
    const value = argv[i + 1];
    if (OPTION_LISTS.has(arg) && value !== undefined)
      for (const kv of parseOptionList(value)) out.push({ flag: arg, ...kv });
  });
  return out;
}

const HOSTILE = 'x,kernel=/etc/passwd,x-injected=/etc/shadow';
const DIR = '/run/hikube/vms/default/h';

function withSpec(f: Fixture, change: (vmi: VirtualMachineInstance) => void): VirtualMachineInstance {
  const copy = structuredClone(f.vmi);
  change(copy);
  return copy;
}

function build(
  vmi: VirtualMachineInstance,
  f: Fixture,
  prepared: (p: PreparedResources) => void = () => undefined,
): QemuMachine {
  const p = f.prepared(DIR);
  prepared(p);
  return buildMachine(vmi, p, f.host);
}

describe('escaped: hostile values render as one value and add no key', () => {
  const cases: [string, () => QemuMachine, flag: string, key: string][] = [
    [
      'a disk serial (identity of the virtio disk)',
      () =>
        build(
          withSpec(efiInstaller, (v) => {
            const disk = v.spec.domain.devices.disks?.[1];
            if (disk !== undefined) disk.serial = HOSTILE;
          }),
          efiInstaller,
        ),
      '-device',
      'serial',
    ],
    [
      'the SMBIOS serial (firmware.serial)',
      () =>
        build(
          withSpec(devVm, (v) => (v.spec.domain.firmware = { serial: HOSTILE })),
          devVm,
        ),
      '-smbios',
      'serial',
    ],
    [
      "a volume's file path",
      () =>
        build(devVm.vmi, devVm, (p) => {
          const v = p.volumes['containerdisk'];
          if (v !== undefined) v.path = `/data/${HOSTILE}/disk.qcow2`;
        }),
      '-blockdev',
      'filename',
    ],
    [
      'the serial console socket and log paths',
      () =>
        build(devVm.vmi, devVm, (p) => {
          p.paths = runtimePaths(`/d/${HOSTILE.slice(0, 20)}`);
        }),
      '-chardev',
      'path',
    ],
    [
      'a tap interface name',
      () =>
        build(topology.vmi, topology, (p) => {
          p.backends['lan'] = { kind: 'tap', ifname: HOSTILE };
        }),
      '-netdev',
      'ifname',
    ],
    [
      'a host forward address',
      () =>
        build(tiny.vmi, tiny, (p) => {
          p.backends['default'] = {
            kind: 'user',
            restrict: true,
            hostForwards: [{ protocol: 'tcp', hostAddress: HOSTILE, hostPort: 1, guestPort: 2 }],
          };
        }),
      '-netdev',
      'hostfwd',
    ],
    [
      'the guest name (namespace/name)',
      () =>
        build(
          withSpec(devVm, (v) => (v.metadata.name = HOSTILE)),
          devVm,
        ),
      '-name',
      'guest',
    ],
  ];
  for (const [name, make, flag, key] of cases) {
    test(name, () => {
      const argv = renderArgv(make());
      const options = parsedOptions(argv);
      assert.deepEqual(
        options.filter((o) => o.key === 'kernel' || o.key === 'x-injected'),
        [],
        `no injected key in ${argv.join(' ')}`,
      );
      assert.ok(
        options.some((o) => o.flag === flag && o.key === key && o.value.includes(HOSTILE.slice(0, 20))),
        `${flag} ${key}= carries the hostile value whole: ${argv.join(' ')}`,
      );
    });
  }

  test('the path of the VNC and QMP sockets (unix: addresses)', () => {
    const machine = build(efiInstaller.vmi, efiInstaller, (p) => {
      p.paths = runtimePaths('/d/a,b');
    });
    const argv = renderArgv(machine);
    assert.equal(argv[argv.indexOf('-vnc') + 1], 'unix:/d/a,,b/vnc.sock');
    assert.equal(argv[argv.indexOf('-qmp') + 1], 'unix:/d/a,,b/qmp.sock,server=on,wait=off');
  });
});

describe('refused: values that select a name cannot be escaped', () => {
  const cases: [string, (v: VirtualMachineInstance) => void, path: string][] = [
    [
      'machine.type with an injected option',
      (v) => (v.spec.domain.machine = { type: 'q35,kernel=/etc/shadow' }),
      'spec.domain.machine.type',
    ],
    ['cpu.model with a flag', (v) => (v.spec.domain.cpu = { model: 'max,+vmx' }), 'spec.domain.cpu.model'],
    [
      'a CPU feature with an injected option',
      (v) => (v.spec.domain.cpu = { features: [{ name: 'x,kernel=/etc/passwd' }] }),
      'spec.domain.cpu.features[0].name',
    ],
    [
      'a CPU feature with a key',
      (v) => (v.spec.domain.cpu = { features: [{ name: 'x=on' }] }),
      'spec.domain.cpu.features[0].name',
    ],
    ['firmware.uuid', (v) => (v.spec.domain.firmware = { uuid: 'x,y' }), 'spec.domain.firmware.uuid'],
  ];
  for (const [name, change, path] of cases) {
    test(name, () => {
      assert.throws(
        () => build(withSpec(devVm, change), devVm),
        (err: unknown) => err instanceof MachineError && err.causes.some((c) => c.path === path),
      );
    });
  }

  const direct: [string, (m: QemuMachine) => void, string][] = [
    ['machine type', (m) => (m.machineType = 'q35,kernel=/etc/shadow'), 'machine.machineType'],
    ['machine type with a key', (m) => (m.machineType = 'kernel=/etc/shadow'), 'machine.machineType'],
    ['CPU model', (m) => (m.cpu.model = 'max,+vmx'), 'machine.cpu.model'],
    ['CPU flag', (m) => (m.cpu.features = ['+ok', '+x,kernel=/etc/passwd']), 'machine.cpu.features[1]'],
  ];
  for (const [name, change, path] of direct) {
    test(`the renderer refuses a ${name} that bypassed the configurators`, () => {
      const machine = build(devVm.vmi, devVm);
      change(machine);
      assert.throws(
        () => renderArgv(machine),
        (err: unknown) => err instanceof MachineError && err.path === path,
      );
    });
  }
});
