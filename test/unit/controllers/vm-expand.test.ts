/**
 * Table tests for expandSpec: how an instance type sizes the VMI, how a preference fills only what
 * the template leaves unset, KubeVirt's default pod network, and preference requirements.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InstancetypeSpec, PreferenceSpec } from '../../../src/api/instancetype/instancetype.js';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import { ExpansionError, expandSpec } from '../../../src/controllers/vm/expand.js';

const template = (
  devices: VirtualMachineInstanceSpec['domain']['devices'] = {},
): VirtualMachineInstanceSpec => ({
  domain: { devices },
});
const it = (guest: number, memory: string, extra: Partial<InstancetypeSpec> = {}): InstancetypeSpec => ({
  cpu: { guest },
  memory: { guest: memory },
  ...extra,
});

describe('expandSpec: instance type', () => {
  const topologies: [
    string,
    PreferenceSpec | undefined,
    { sockets: number; cores: number; threads: number },
  ][] = [
    ['no preference: sockets', undefined, { sockets: 4, cores: 1, threads: 1 }],
    ['preference without cpu: sockets', { devices: {} }, { sockets: 4, cores: 1, threads: 1 }],
    [
      'preferSockets',
      { cpu: { preferredCPUTopology: 'preferSockets' } },
      { sockets: 4, cores: 1, threads: 1 },
    ],
    ['preferCores', { cpu: { preferredCPUTopology: 'preferCores' } }, { sockets: 1, cores: 4, threads: 1 }],
    [
      'preferThreads',
      { cpu: { preferredCPUTopology: 'preferThreads' } },
      { sockets: 1, cores: 1, threads: 4 },
    ],
  ];
  for (const [name, pref, want] of topologies) {
    test(`4 vCPUs, ${name}`, () => {
      const spec = expandSpec(template(), it(4, '8Gi'), pref);
      const cpu = spec.domain.cpu;
      assert.deepEqual({ sockets: cpu?.sockets, cores: cpu?.cores, threads: cpu?.threads }, want);
    });
  }

  test('memory.guest comes from the instance type', () => {
    assert.equal(expandSpec(template(), it(2, '4Gi'), undefined).domain.memory?.guest, '4Gi');
  });

  test('cpu model, dedicated placement, hugepages, gpus and node selector are carried over', () => {
    const spec = expandSpec(
      {
        domain: { devices: { gpus: [{ name: 'mine', deviceName: 'a.com/x' }] } },
        nodeSelector: { zone: 'b' },
      },
      {
        cpu: { guest: 2, model: 'host-passthrough', dedicatedCPUPlacement: true },
        memory: { guest: '4Gi', hugepages: { pageSize: '2Mi' } },
        gpus: [{ name: 'gpu1', deviceName: 'nvidia.com/gpu' }],
        nodeSelector: { zone: 'a', gpu: 'yes' },
      },
      undefined,
    );
    assert.equal(spec.domain.cpu?.model, 'host-passthrough');
    assert.equal(spec.domain.cpu?.dedicatedCpuPlacement, true);
    assert.deepEqual(spec.domain.memory, { guest: '4Gi', hugepages: { pageSize: '2Mi' } });
    assert.deepEqual(
      spec.domain.devices.gpus?.map((g) => g.name),
      ['mine', 'gpu1'],
    );
    assert.deepEqual(spec.nodeSelector, { zone: 'b', gpu: 'yes' }, "the template's selector wins per key");
  });

  test('without an instance type the template sizes the guest unchanged', () => {
    const t: VirtualMachineInstanceSpec = {
      domain: { devices: {}, cpu: { cores: 2 }, resources: { requests: { memory: '1Gi' } } },
    };
    const spec = expandSpec(t, undefined, undefined);
    assert.deepEqual(spec.domain.cpu, { cores: 2 });
    assert.equal(spec.domain.memory, undefined);
    assert.deepEqual(spec.domain.resources, { requests: { memory: '1Gi' } });
  });

  test('the template passed in is not modified', () => {
    const t = template({ disks: [{ name: 'root', disk: {} }] });
    const before = structuredClone(t);
    expandSpec(t, it(2, '4Gi'), {
      devices: { preferredDiskBus: 'sata' },
      firmware: { preferredUseEfi: true },
    });
    assert.deepEqual(t, before);
  });
});

describe('expandSpec: preference fills only what is absent', () => {
  const linux: PreferenceSpec = {
    devices: { preferredDiskBus: 'virtio', preferredInterfaceModel: 'virtio', preferredCdromBus: 'sata' },
  };
  const windows: PreferenceSpec = {
    devices: { preferredDiskBus: 'sata', preferredInterfaceModel: 'e1000e' },
    firmware: { preferredUseEfi: true },
  };

  test('disk bus: set when absent, kept when set', () => {
    const spec = expandSpec(
      template({
        disks: [
          { name: 'root', disk: {} },
          { name: 'data', disk: { bus: 'scsi' } },
          { name: 'iso', cdrom: {} },
          { name: 'bare' },
        ],
      }),
      undefined,
      windows,
    );
    assert.deepEqual(spec.domain.devices.disks, [
      { name: 'root', disk: { bus: 'sata' } },
      { name: 'data', disk: { bus: 'scsi' } },
      { name: 'iso', cdrom: {} },
      { name: 'bare', disk: { bus: 'sata' } },
    ]);
  });

  test('cdrom bus from preferredCdromBus', () => {
    const spec = expandSpec(template({ disks: [{ name: 'iso', cdrom: {} }] }), undefined, linux);
    assert.deepEqual(spec.domain.devices.disks, [{ name: 'iso', cdrom: { bus: 'sata' } }]);
  });

  test('interface model: set when absent, kept when set', () => {
    const spec = expandSpec(
      {
        domain: {
          devices: {
            interfaces: [
              { name: 'default', masquerade: {} },
              { name: 'lan', bridge: {}, model: 'rtl8139' },
            ],
          },
        },
        networks: [
          { name: 'default', pod: {} },
          { name: 'lan', multus: { networkName: 'lan' } },
        ],
      },
      undefined,
      windows,
    );
    assert.deepEqual(
      spec.domain.devices.interfaces?.map((n) => [n.name, n.model]),
      [
        ['default', 'e1000e'],
        ['lan', 'rtl8139'],
      ],
    );
  });

  // KubeVirt adds the default NIC and a disk per disk-less volume before applying the preference
  // (virt-controller's VM controller: SetDefaultVolumeDisk, SetDefaultNetworkInterface, then ApplyToVMI),
  // so a Windows guest gets an e1000e NIC and SATA disks it has drivers for.
  test('the default NIC gets the preferred interface model', () => {
    const spec = expandSpec(template(), undefined, windows);
    assert.deepEqual(spec.domain.devices.interfaces, [{ name: 'default', masquerade: {}, model: 'e1000e' }]);
  });

  test('a volume with no disk gets a disk on the preferred bus', () => {
    const spec = expandSpec(
      { domain: { devices: {} }, volumes: [{ name: 'root', containerDisk: { image: 'win:2022' } }] },
      undefined,
      windows,
    );
    assert.deepEqual(spec.domain.devices.disks, [{ name: 'root', disk: { bus: 'sata' } }]);
  });

  const firmwares: [
    string,
    VirtualMachineInstanceSpec['domain']['firmware'],
    PreferenceSpec['firmware'],
    unknown,
  ][] = [
    ['EFI when absent', undefined, { preferredUseEfi: true }, { bootloader: { efi: { secureBoot: false } } }],
    [
      'EFI with secure boot',
      undefined,
      { preferredUseEfi: true, preferredUseSecureBoot: true },
      { bootloader: { efi: { secureBoot: true } } },
    ],
    [
      'EFI keeps the other firmware fields',
      { serial: 'abc' },
      { preferredUseEfi: true },
      { serial: 'abc', bootloader: { efi: { secureBoot: false } } },
    ],
    [
      'a template BIOS stays BIOS',
      { bootloader: { bios: {} } },
      { preferredUseEfi: true },
      { bootloader: { bios: {} } },
    ],
    [
      'a template EFI keeps its own secure boot',
      { bootloader: { efi: { secureBoot: true } } },
      { preferredUseEfi: true, preferredUseSecureBoot: false },
      { bootloader: { efi: { secureBoot: true } } },
    ],
    [
      'BIOS preference',
      undefined,
      { preferredUseBios: true },
      { bootloader: { bios: { useSerial: false } } },
    ],
    ['no firmware preference', undefined, undefined, undefined],
  ];
  for (const [name, fw, pref, want] of firmwares) {
    test(`firmware: ${name}`, () => {
      const t = template();
      if (fw !== undefined) t.domain.firmware = fw;
      const spec = expandSpec(t, undefined, pref === undefined ? {} : { firmware: pref });
      assert.deepEqual(spec.domain.firmware, want);
    });
  }

  test('machine type, grace period and rng only when the template has none', () => {
    const pref: PreferenceSpec = {
      machine: { preferredMachineType: 'pc-q35-8.2' },
      preferredTerminationGracePeriodSeconds: 180,
      devices: { preferredRng: {} },
    };
    const bare = expandSpec(template(), undefined, pref);
    assert.deepEqual(
      [bare.domain.machine?.type, bare.terminationGracePeriodSeconds, bare.domain.devices.rng],
      ['pc-q35-8.2', 180, {}],
    );
    const set = expandSpec(
      { domain: { devices: {}, machine: { type: 'q35' } }, terminationGracePeriodSeconds: 0 },
      undefined,
      pref,
    );
    assert.deepEqual([set.domain.machine?.type, set.terminationGracePeriodSeconds], ['q35', 0]);
  });
});

describe('expandSpec: default network', () => {
  test('no NIC and no network: one masquerade NIC on the pod network', () => {
    const spec = expandSpec(template(), undefined, undefined);
    assert.deepEqual(spec.domain.devices.interfaces, [{ name: 'default', masquerade: {} }]);
    assert.deepEqual(spec.networks, [{ name: 'default', pod: {} }]);
  });

  test('autoattachPodInterface false: no NIC at all', () => {
    const spec = expandSpec(template({ autoattachPodInterface: false }), undefined, undefined);
    assert.equal(spec.domain.devices.interfaces, undefined);
    assert.equal(spec.networks, undefined);
  });

  test('a NIC with no network joins the pod network under its own name', () => {
    const spec = expandSpec(template({ interfaces: [{ name: 'eth0', bridge: {} }] }), undefined, undefined);
    assert.deepEqual(spec.domain.devices.interfaces, [{ name: 'eth0', bridge: {} }]);
    assert.deepEqual(spec.networks, [{ name: 'eth0', pod: {} }]);
  });

  test('NICs and networks the template lists are left alone', () => {
    const t: VirtualMachineInstanceSpec = {
      domain: { devices: { interfaces: [{ name: 'lan', bridge: {} }] } },
      networks: [{ name: 'lan', multus: { networkName: 'lan' } }],
    };
    const spec = expandSpec(t, undefined, undefined);
    assert.deepEqual(spec.domain.devices.interfaces, t.domain.devices.interfaces);
    assert.deepEqual(spec.networks, t.networks);
  });
});

describe('expandSpec: preference requirements', () => {
  const needs = (cpu: number | undefined, memory: string | undefined): PreferenceSpec => ({
    requirements: {
      ...(cpu !== undefined ? { cpu: { guest: cpu } } : {}),
      ...(memory !== undefined ? { memory: { guest: memory } } : {}),
    },
  });
  const unmet: [string, InstancetypeSpec, PreferenceSpec, RegExp][] = [
    [
      'too few vCPUs',
      it(1, '4Gi'),
      needs(2, '4Gi'),
      /^insufficient CPU resources: the preference requires 2 vCPU, the instance type provides 1$/,
    ],
    [
      'too little memory',
      it(2, '2Gi'),
      needs(1, '4Gi'),
      /^insufficient memory: the preference requires 4Gi, the instance type provides 2Gi$/,
    ],
    [
      'memory compared as quantities, not strings',
      it(2, '1024Mi'),
      needs(undefined, '2Gi'),
      /^insufficient memory/,
    ],
  ];
  for (const [name, type, pref, message] of unmet) {
    test(`unmet: ${name} → ExpansionError`, () => {
      assert.throws(
        () => expandSpec(template(), type, pref),
        (err: unknown) => {
          assert.ok(err instanceof ExpansionError, `expected an ExpansionError, got ${String(err)}`);
          assert.equal(err.path, 'spec.instancetype');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  const met: [string, InstancetypeSpec, PreferenceSpec][] = [
    ['exactly the minimum', it(2, '4Gi'), needs(2, '4Gi')],
    ['more than the minimum, in other units', it(4, '8192Mi'), needs(2, '4Gi')],
    ['only memory required', it(1, '1Gi'), needs(undefined, '512Mi')],
  ];
  for (const [name, type, pref] of met) {
    test(`met: ${name}`, () => {
      assert.equal(expandSpec(template(), type, pref).domain.memory?.guest, type.memory.guest);
    });
  }
});
