/**
 * Table tests for each configurator: which part of the VMI spec decides which part of the QEMU
 * machine, and the message and field path a user gets for what cannot run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DomainSpec } from '../../../src/api/kubevirt/domain.js';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import { buildMachine } from '../../../src/hypervisor/build.js';
import { configureConsoles } from '../../../src/hypervisor/configurators/consoles.js';
import { configureCpu } from '../../../src/hypervisor/configurators/cpu.js';
import { configureDevices } from '../../../src/hypervisor/configurators/devices.js';
import { configureDisks, effectiveDisks } from '../../../src/hypervisor/configurators/disks.js';
import { configureFirmware, ovmfVarsTemplate } from '../../../src/hypervisor/configurators/firmware.js';
import { configureIdentity, uuidV5 } from '../../../src/hypervisor/configurators/identity.js';
import { configureMachineType } from '../../../src/hypervisor/configurators/machine-type.js';
import { configureMemory } from '../../../src/hypervisor/configurators/memory.js';
import { configureNics, effectiveInterfaces } from '../../../src/hypervisor/configurators/nics.js';
import { Issues, MachineError } from '../../../src/hypervisor/errors.js';
import type { Accel, NicBackend } from '../../../src/hypervisor/machine.js';
import type { PreparedVolume } from '../../../src/hypervisor/prepared.js';
import { devVm, runtimePaths, vmi } from './fixtures.js';

function run<T>(configure: (issues: Issues) => T): { value: T; errors: string[]; warnings: string[] } {
  const issues = new Issues();
  const value = configure(issues);
  return { value, errors: issues.errors.map((e) => `${e.path}: ${e.message}`), warnings: issues.warnings };
}

const domain = (d: Partial<DomainSpec> = {}): DomainSpec => ({ devices: {}, ...d });
const spec = (
  d: Partial<DomainSpec>,
  rest: Partial<VirtualMachineInstanceSpec> = {},
): VirtualMachineInstanceSpec => ({ domain: domain(d), ...rest });

describe('configureCpu: topology', () => {
  const cases: [string, Partial<DomainSpec>, [sockets: number, cores: number, threads: number]][] = [
    ['nothing: one vCPU', {}, [1, 1, 1]],
    ['request of 2 goes to sockets', { resources: { requests: { cpu: 2 } } }, [2, 1, 1]],
    ['limit wins over request', { resources: { requests: { cpu: 2 }, limits: { cpu: '3' } } }, [3, 1, 1]],
    ['500m rounds up to 1', { resources: { requests: { cpu: '500m' } } }, [1, 1, 1]],
    ['1500m rounds up to 2', { resources: { limits: { cpu: '1500m' } } }, [2, 1, 1]],
    ['cores alone', { cpu: { cores: 4 } }, [1, 4, 1]],
    [
      'explicit topology ignores resources',
      { cpu: { sockets: 2, threads: 2 }, resources: { requests: { cpu: 16 } } },
      [2, 1, 2],
    ],
    ['zeros count as unset', { cpu: { cores: 0 }, resources: { requests: { cpu: 2 } } }, [2, 1, 1]],
  ];
  for (const [name, d, [sockets, cores, threads]] of cases) {
    test(name, () => {
      const { value, errors } = run((i) => configureCpu(domain(d), 'tcg', i));
      assert.deepEqual(errors, []);
      assert.deepEqual(
        { sockets: value.sockets, cores: value.cores, threads: value.threads },
        { sockets, cores, threads },
      );
    });
  }

  test('a CPU request that is not a quantity', () => {
    const { errors } = run((i) =>
      configureCpu(domain({ resources: { requests: { cpu: 'lots' } } }), 'tcg', i),
    );
    assert.deepEqual(errors, [
      'spec.domain.resources.requests.cpu: Invalid value: "lots": must be a positive quantity',
    ]);
  });
});

describe('configureCpu: model', () => {
  const cases: [model: string | undefined, accel: Accel, expected: string][] = [
    [undefined, 'tcg', 'max'],
    [undefined, 'kvm', 'host'],
    ['host-passthrough', 'tcg', 'max'],
    ['host-passthrough', 'kvm', 'host'],
    ['host-model', 'kvm', 'host'],
    ['host', 'tcg', 'max'],
    ['Skylake-Client', 'tcg', 'Skylake-Client'],
    ['qemu64', 'kvm', 'qemu64'],
  ];
  for (const [model, accel, expected] of cases) {
    test(`${model ?? '(none)'} under ${accel} → ${expected}`, () => {
      const d = domain(model === undefined ? {} : { cpu: { model } });
      assert.equal(run((i) => configureCpu(d, accel, i)).value.model, expected);
    });
  }

  test('features become +flag/-flag; unknown policies and odd names are refused', () => {
    const ok = run((i) =>
      configureCpu(
        domain({
          cpu: {
            features: [
              { name: 'vmx' },
              { name: 'svm', policy: 'disable' },
              { name: 'pcid', policy: 'optional' },
            ],
          },
        }),
        'tcg',
        i,
      ),
    );
    assert.deepEqual(ok.value.features, ['+vmx', '-svm', '+pcid']);
    const bad = run((i) =>
      configureCpu(
        domain({ cpu: { model: 'max,+x', features: [{ name: 'a,b' }, { name: 'vmx', policy: 'maybe' }] } }),
        'tcg',
        i,
      ),
    );
    assert.deepEqual(bad.errors, [
      "spec.domain.cpu.model: Invalid value: \"max,+x\": must be host-model, host-passthrough or a QEMU CPU model name (letters, digits, '.', '_' and '-')",
      "spec.domain.cpu.features[0].name: Invalid value: \"a,b\": not a CPU feature name (letters, digits, '.', '_' and '-')",
      'spec.domain.cpu.features[1].policy: Unsupported value: "maybe": supported values: "force", "require", "optional", "disable", "forbid"',
    ]);
  });
});

describe('configureMemory', () => {
  const MiB = 2 ** 20;
  const cases: [string, Partial<DomainSpec>, number][] = [
    [
      'memory.guest first',
      { memory: { guest: '2Gi' }, resources: { requests: { memory: '1Gi' } } },
      2048 * MiB,
    ],
    [
      'then the request',
      { resources: { requests: { memory: '1Gi' }, limits: { memory: '3Gi' } } },
      1024 * MiB,
    ],
    ['then the limit', { resources: { limits: { memory: '96Mi' } } }, 96 * MiB],
    ['fractions of Gi', { resources: { requests: { memory: '1.5Gi' } } }, 1536 * MiB],
  ];
  for (const [name, d, bytes] of cases) {
    test(name, () => {
      const { value, errors, warnings } = run((i) => configureMemory(domain(d), i));
      assert.deepEqual([value, errors, warnings], [bytes, [], []]);
    });
  }

  test('decimal sizes round up to whole MiB, with a warning', () => {
    const { value, warnings } = run((i) =>
      configureMemory(domain({ resources: { requests: { memory: '1G' } } }), i),
    );
    assert.equal(value, 954 * MiB);
    assert.deepEqual(warnings, ['spec.domain.resources.requests.memory: "1G" rounded up to 954Mi']);
  });

  test('no memory anywhere, or zero', () => {
    assert.deepEqual(run((i) => configureMemory(domain(), i)).errors, [
      'spec.domain.resources.requests.memory: Required value: set spec.domain.memory.guest or spec.domain.resources.requests.memory',
    ]);
    assert.deepEqual(run((i) => configureMemory(domain({ memory: { guest: '0' } }), i)).errors, [
      'spec.domain.memory.guest: Invalid value: "0": must be a positive quantity',
    ]);
  });
});

describe('configureMachineType', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['q35', undefined],
    ['pc-q35-7.2', undefined],
    ['pc-q35-rhel9.2.0', undefined],
    [
      'pc',
      'spec.domain.machine.type: Unsupported value: "pc": supported values: "q35*", "pc-q35*" (emulated machines)',
    ],
    [
      'microvm',
      'spec.domain.machine.type: Unsupported value: "microvm": supported values: "q35*", "pc-q35*" (emulated machines)',
    ],
    [
      'q35,kernel=/etc/shadow',
      "spec.domain.machine.type: Invalid value: \"q35,kernel=/etc/shadow\": a machine type is a name of letters, digits, '.', '_' and '-'",
    ],
    [
      'q35 -kernel',
      "spec.domain.machine.type: Invalid value: \"q35 -kernel\": a machine type is a name of letters, digits, '.', '_' and '-'",
    ],
  ];
  for (const [type, error] of cases) {
    test(type ?? '(none)', () => {
      const { value, errors } = run((i) =>
        configureMachineType(domain(type === undefined ? {} : { machine: { type } }), i),
      );
      assert.deepEqual(errors, error === undefined ? [] : [error]);
      if (error === undefined) assert.equal(value, type ?? 'q35');
    });
  }
});

describe('configureFirmware', () => {
  const vars = '/run/vm/OVMF_VARS.fd';
  test('BIOS unless EFI is asked for', () => {
    assert.deepEqual(run((i) => configureFirmware(domain(), undefined, vars, i)).value, { kind: 'bios' });
    assert.deepEqual(
      run((i) => configureFirmware(domain({ firmware: { bootloader: { bios: {} } } }), undefined, vars, i))
        .value,
      { kind: 'bios' },
    );
  });

  test('EFI defaults to secure boot with the Microsoft-keyed images', () => {
    const { value } = run((i) =>
      configureFirmware(domain({ firmware: { bootloader: { efi: {} } } }), undefined, vars, i),
    );
    assert.deepEqual(value, {
      kind: 'efi',
      code: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd',
      vars,
      secureBoot: true,
    });
    assert.equal(ovmfVarsTemplate(true), '/usr/share/OVMF/OVMF_VARS_4M.ms.fd');
  });

  test('EFI without secure boot, from another OVMF directory', () => {
    const { value } = run((i) =>
      configureFirmware(
        domain({ firmware: { bootloader: { efi: { secureBoot: false } } } }),
        '/opt/ovmf',
        vars,
        i,
      ),
    );
    assert.deepEqual(value, { kind: 'efi', code: '/opt/ovmf/OVMF_CODE_4M.fd', vars, secureBoot: false });
    assert.equal(ovmfVarsTemplate(false, '/opt/ovmf'), '/opt/ovmf/OVMF_VARS_4M.fd');
  });

  test('secure boot with SMM turned off, and bios with efi, are refused', () => {
    const { errors } = run((i) =>
      configureFirmware(
        domain({ firmware: { bootloader: { bios: {}, efi: {} } }, features: { smm: { enabled: false } } }),
        undefined,
        vars,
        i,
      ),
    );
    assert.deepEqual(errors, [
      'spec.domain.firmware.bootloader.efi: Forbidden: a bootloader is either bios or efi, not both',
      'spec.domain.features.smm.enabled: Invalid value: false: EFI secure boot needs SMM; enable it or set firmware.bootloader.efi.secureBoot to false',
    ]);
  });
});

describe('configureDisks', () => {
  const file = (name: string, extra: Partial<PreparedVolume> = {}): PreparedVolume => ({
    path: `/run/vm/${name}`,
    format: 'qcow2',
    ...extra,
  });
  const volumes = (...names: string[]) => names.map((name) => ({ name, emptyDisk: { capacity: '1Gi' } }));

  test('bus and device defaults: disk on virtio, cdrom on sata, LUN on scsi; cdroms are read-only', () => {
    const s = spec(
      {
        devices: {
          disks: [
            { name: 'a' },
            { name: 'b', cdrom: {} },
            { name: 'c', lun: {} },
            { name: 'd', disk: { bus: 'sata', readonly: true } },
          ],
        },
      },
      { volumes: volumes('a', 'b', 'c', 'd') },
    );
    const { value, errors } = run((i) =>
      configureDisks(s, { a: file('a'), b: file('b'), c: file('c'), d: file('d') }, i),
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(
      value.disks.map((d) => [d.id, d.nodeName, d.bus, d.device, d.readonly]),
      [
        ['a', 'drive0', 'virtio', 'disk', false],
        ['b', 'drive1', 'sata', 'cdrom', true],
        ['c', 'drive2', 'scsi', 'lun', false],
        ['d', 'drive3', 'sata', 'disk', true],
      ],
    );
  });

  test('boot order, serial, cache and io pass through; a read-only prepared volume stays read-only', () => {
    const s = spec({
      devices: { disks: [{ name: 'root', bootOrder: 3, serial: 'S1', cache: 'writeback', io: 'threads' }] },
    });
    const { value } = run((i) => configureDisks(s, { root: file('root', { readonly: true }) }, i));
    assert.deepEqual(value.disks[0], {
      id: 'root',
      nodeName: 'drive0',
      path: '/run/vm/root',
      format: 'qcow2',
      bus: 'virtio',
      device: 'disk',
      readonly: true,
      bootOrder: 3,
      serial: 'S1',
      cache: 'writeback',
      io: 'threads',
    });
  });

  test('a disk with no prepared volume is left out with a warning; node names stay dense', () => {
    const s = spec({ devices: { disks: [{ name: 'gone' }, { name: 'here' }] } });
    const { value, warnings } = run((i) => configureDisks(s, { here: file('here') }, i));
    assert.deepEqual(
      value.disks.map((d) => [d.id, d.nodeName]),
      [['here', 'drive0']],
    );
    assert.deepEqual(warnings, [
      'spec.domain.devices.disks[0]: disk "gone" has no prepared volume; the guest starts without it',
    ]);
  });

  test('a volume without a disk gets a default virtio disk (KubeVirt SetDefaultVolumeDisk)', () => {
    const s = spec({ devices: { disks: [{ name: 'root' }] } }, { volumes: volumes('root', 'extra') });
    assert.deepEqual(
      effectiveDisks(s).map((d) => d.at),
      ['spec.domain.devices.disks[0]', 'spec.volumes[1]'],
    );
    const { value } = run((i) => configureDisks(s, { root: file('root'), extra: file('extra') }, i));
    assert.deepEqual(
      value.disks.map((d) => [d.id, d.bus]),
      [
        ['root', 'virtio'],
        ['extra', 'virtio'],
      ],
    );
  });

  test('a volume carrying a kernel boots it directly', () => {
    const kernelBoot = { kernel: '/run/vm/vmlinux', cmdline: 'console=ttyS0' };
    const { value } = run((i) =>
      configureDisks(
        spec({ devices: { disks: [{ name: 'root' }] } }),
        { root: file('root', { kernelBoot }) },
        i,
      ),
    );
    assert.deepEqual(value.kernelBoot, kernelBoot);
  });

  const refused: [string, VirtualMachineInstanceSpec, string][] = [
    [
      'cdrom on virtio',
      // The schema refuses this; the configurator must too, for a VMI that bypassed it.
      spec({ devices: { disks: [{ name: 'a' }, { name: 'b', cdrom: { bus: 'virtio' as 'sata' } }] } }),
      'spec.domain.devices.disks[1].cdrom.bus: Unsupported value: "virtio": a cdrom attaches to "sata", "scsi" or "usb"',
    ],
    [
      'LUN on sata',
      spec({ devices: { disks: [{ name: 'a', lun: { bus: 'sata' } }] } }),
      'spec.domain.devices.disks[0].lun.bus: Unsupported value: "sata": a LUN attaches to "scsi"',
    ],
    [
      'disk on an unknown bus',
      spec({ devices: { disks: [{ name: 'a', disk: { bus: 'ide' as 'sata' } }] } }),
      'spec.domain.devices.disks[0].disk.bus: Unsupported value: "ide": supported values: "virtio", "sata", "scsi", "usb"',
    ],
    [
      'io native with a host cache',
      spec({ devices: { disks: [{ name: 'a', io: 'native', cache: 'writeback' }] } }),
      'spec.domain.devices.disks[0].io: Invalid value: "native": io native needs cache "none", not "writeback"',
    ],
    [
      'seven SATA devices',
      spec({ devices: { disks: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => ({ name, cdrom: {} })) } }),
      'spec.domain.devices.disks[6].cdrom.bus: Too many: 7: the q35 SATA controller has 6 ports',
    ],
  ];
  for (const [name, s, error] of refused) {
    test(`refused: ${name}`, () => {
      const prepared = Object.fromEntries((s.domain.devices.disks ?? []).map((d) => [d.name, file(d.name)]));
      assert.deepEqual(run((i) => configureDisks(s, prepared, i)).errors, [error]);
    });
  }

  test('io native alone implies cache none', () => {
    const { value } = run((i) =>
      configureDisks(spec({ devices: { disks: [{ name: 'a', io: 'native' }] } }), { a: file('a') }, i),
    );
    assert.equal(value.disks[0]?.cache, 'none');
  });

  test('two volumes carrying a kernel', () => {
    const k = { kernel: '/k' };
    const { errors } = run((i) =>
      configureDisks(
        spec({ devices: { disks: [{ name: 'a' }, { name: 'b' }] } }),
        { a: file('a', { kernelBoot: k }), b: file('b', { kernelBoot: k }) },
        i,
      ),
    );
    assert.deepEqual(errors, [
      'spec.domain.devices.disks[1]: Invalid value: "b": only one volume may provide a kernel for direct boot',
    ]);
  });
});

describe('configureNics', () => {
  const user: NicBackend = { kind: 'user', restrict: true, hostForwards: [] };

  test('no interfaces and no networks: one masquerade interface named default', () => {
    assert.deepEqual(
      effectiveInterfaces(spec({})).map((x) => x.iface),
      [{ name: 'default', masquerade: {} }],
    );
    assert.deepEqual(effectiveInterfaces(spec({ devices: { autoattachPodInterface: false } })), []);
    assert.deepEqual(
      effectiveInterfaces(spec({}, { networks: [{ name: 'lan', multus: { networkName: 'lan' } }] })),
      [],
    );
  });

  test('model, MAC and boot order; MACs are normalised; absent interfaces are skipped', () => {
    const s = spec({
      devices: {
        interfaces: [
          { name: 'a', masquerade: {}, macAddress: '02-AB-00-00-00-01', bootOrder: 1 },
          { name: 'b', bridge: {}, model: 'e1000' },
          { name: 'c', bridge: {}, state: 'absent' },
        ],
      },
    });
    const { value, errors } = run((i) =>
      configureNics(s, { b: '02:00:00:00:00:02' }, { a: user, b: { kind: 'tap', ifname: 'tap0' } }, i),
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(value, [
      { id: 'a', mac: '02:ab:00:00:00:01', model: 'virtio', backend: user, bootOrder: 1 },
      { id: 'b', mac: '02:00:00:00:00:02', model: 'e1000', backend: { kind: 'tap', ifname: 'tap0' } },
    ]);
  });

  test('unknown model, no MAC, bad MAC, no backend', () => {
    const s = spec({
      devices: {
        interfaces: [
          { name: 'a', model: 'ne2k_pci' },
          { name: 'b' },
          { name: 'c', macAddress: 'nope' },
          { name: 'd', macAddress: '02:00:00:00:00:04' },
        ],
      },
    });
    const { errors } = run((i) => configureNics(s, {}, { a: user, b: user, c: user }, i));
    assert.deepEqual(errors, [
      'spec.domain.devices.interfaces[0].model: Unsupported value: "ne2k_pci": supported values: "virtio", "e1000", "e1000e", "rtl8139"',
      'spec.domain.devices.interfaces[1].macAddress: Required value: interface "b" has no MAC address in the spec and none was prepared',
      'spec.domain.devices.interfaces[2].macAddress: Invalid value: "nope": must be a MAC address such as 02:00:00:00:00:01',
      'spec.domain.devices.interfaces[3]: Invalid value: "d": no network backend was prepared for this interface',
    ]);
  });
});

describe('configureConsoles and configureDevices', () => {
  const paths = runtimePaths('/run/vm');
  test('sockets from the runtime paths; VNC unless graphics are off', () => {
    const { value } = run((i) => configureConsoles(domain(), paths, i));
    assert.deepEqual(value, {
      serial: { socket: '/run/vm/serial.sock', logfile: '/run/vm/serial.log' },
      qmp: { socket: '/run/vm/qmp.sock' },
      guestAgent: { socket: '/run/vm/qga.sock' },
      vnc: { socket: '/run/vm/vnc.sock' },
    });
    assert.equal(
      run((i) => configureConsoles(domain({ devices: { autoattachGraphicsDevice: false } }), paths, i)).value
        .vnc,
      undefined,
    );
  });

  test('a socket path longer than sun_path allows', () => {
    const long = runtimePaths(`/run/${'x'.repeat(100)}`);
    const { errors } = run((i) =>
      configureConsoles(domain({ devices: { autoattachGraphicsDevice: false } }), long, i),
    );
    assert.deepEqual(
      errors.map((e) => e.split(':')[0]),
      ['prepared.paths.qmp', 'prepared.paths.serial', 'prepared.paths.guestAgent'],
    );
  });

  const devices: [string, DomainSpec['devices'], { rng: boolean; balloon: boolean; tablet: boolean }][] = [
    ['defaults', {}, { rng: false, balloon: true, tablet: true }],
    ['rng listed', { rng: {} }, { rng: true, balloon: true, tablet: true }],
    ['balloon off', { autoattachMemBalloon: false }, { rng: false, balloon: false, tablet: true }],
    [
      'no graphics: no tablet',
      { autoattachGraphicsDevice: false },
      { rng: false, balloon: true, tablet: false },
    ],
    ['input device off', { autoattachInputDevice: false }, { rng: false, balloon: true, tablet: false }],
    [
      'tablet listed without graphics',
      { autoattachGraphicsDevice: false, inputs: [{ name: 't', type: 'tablet' }] },
      { rng: false, balloon: true, tablet: true },
    ],
  ];
  for (const [name, d, expected] of devices) {
    test(`devices: ${name}`, () => assert.deepEqual(configureDevices(domain({ devices: d })), expected));
  }
});

describe('configureIdentity', () => {
  test('UUID v5 matches RFC 4122 test vector', () => {
    assert.equal(
      uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'),
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  test('the UUID is derived from namespace/name, so it survives a restart (new VMI, new uid)', () => {
    const a = run((i) => configureIdentity(vmi('web', spec({})), i)).value;
    const b = run((i) =>
      configureIdentity(
        { ...vmi('web', spec({})), metadata: { name: 'web', namespace: 'default', uid: 'another' } },
        i,
      ),
    ).value;
    const c = run((i) => configureIdentity(vmi('web', spec({}), 'other'), i)).value;
    assert.equal(a.uuid, b.uuid);
    assert.notEqual(a.uuid, c.uuid);
    assert.deepEqual(a, { name: 'default/web', uuid: a.uuid, smbios: { uuid: a.uuid } });
  });

  test('firmware uuid and serial win; a malformed uuid is refused', () => {
    const ok = run((i) =>
      configureIdentity(
        vmi('web', spec({ firmware: { uuid: 'ABCDEF01-2345-4678-9ABC-DEF012345678', serial: 'S' } })),
        i,
      ),
    );
    assert.deepEqual(ok.value.smbios, { uuid: 'abcdef01-2345-4678-9abc-def012345678', serial: 'S' });
    const bad = run((i) => configureIdentity(vmi('web', spec({ firmware: { uuid: 'x' } })), i));
    assert.deepEqual(bad.errors, ['spec.domain.firmware.uuid: Invalid value: "x": must be a UUID']);
  });
});

describe('buildMachine', () => {
  test('every impossible field is one cause of a single MachineError', () => {
    const bad = vmi(
      'bad',
      spec({
        machine: { type: 'microvm' },
        devices: { disks: [{ name: 'cd', cdrom: { bus: 'virtio' as 'sata' } }] },
      }),
    );
    const prepared = {
      ...devVm.prepared('/run/vm'),
      volumes: { cd: { path: '/run/vm/cd.iso', format: 'raw' as const } },
    };
    assert.throws(
      () => buildMachine(bad, prepared, { accel: 'tcg' }),
      (err: unknown) => {
        assert.ok(err instanceof MachineError);
        assert.equal(err.path, 'spec.domain.devices.disks[0].cdrom.bus');
        assert.deepEqual(
          err.causes.map((c) => c.path),
          [
            'spec.domain.devices.disks[0].cdrom.bus',
            'spec.domain.machine.type',
            'spec.domain.resources.requests.memory',
          ],
        );
        assert.match(
          err.message,
          /^spec\.domain\.devices\.disks\[0\]\.cdrom\.bus: Unsupported value: "virtio"/,
        );
        return true;
      },
    );
  });

  test('warnings travel on the machine', () => {
    const prepared = devVm.prepared('/run/vm');
    const machine = buildMachine(
      devVm.vmi,
      { ...prepared, volumes: { containerdisk: prepared.volumes['containerdisk']! } },
      { accel: 'tcg' },
    );
    assert.deepEqual(
      machine.disks.map((d) => d.id),
      ['containerdisk'],
    );
    assert.deepEqual(machine.warnings, [
      'spec.domain.devices.disks[1]: disk "cloudinitdisk" has no prepared volume; the guest starts without it',
    ]);
  });

  test('startStrategy Paused starts paused; noReboot comes from the node agent', () => {
    const prepared = devVm.prepared('/run/vm');
    const m = buildMachine(
      { ...devVm.vmi, spec: { ...devVm.vmi.spec, startStrategy: 'Paused' } },
      { ...prepared, noReboot: true },
      { accel: 'tcg' },
    );
    assert.deepEqual([m.startPaused, m.noReboot], [true, true]);
    const n = buildMachine(devVm.vmi, prepared, { accel: 'tcg' });
    assert.deepEqual([n.startPaused, n.noReboot], [false, false]);
  });
});
