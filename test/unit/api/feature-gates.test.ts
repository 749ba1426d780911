/**
 * KubeVirt v1.9's feature gates as data: the `--feature-gates` syntax (unknown names refused with
 * the list, GA gates cannot be turned off, Discontinued ones cannot be turned on), KubeVirt's
 * precedence (GA, then enabled, then disabled, then Beta on), and every gated field refused with
 * KubeVirt's message and path when its gate is off, admitted when it is on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import {
  KUBEVIRT_FEATURE_GATES,
  gateEnabled,
  parseFeatureGates,
  type FeatureGate,
} from '../../../src/api/feature-gates.js';
import { defaultAdmissionSettings } from '../../../src/api/admission.js';
import { namespaceKind } from '../../../src/api/core/core.js';
import { gatedFieldErrors } from '../../../src/api/kubevirt/gated-fields.js';
import type { VirtualMachineInstanceSpec } from '../../../src/api/kubevirt/vmi.js';
import { virtualMachineKind } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineSnapshotKind } from '../../../src/api/snapshot/snapshot.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const DOC = fileURLToPath(new URL('../../../../docs/feature-gates.md', import.meta.url));

describe('parseFeatureGates', () => {
  const cases: [string, string[], string[]][] = [
    ['', [], []],
    ['HostDisk', ['HostDisk'], []],
    ['HostDisk=true', ['HostDisk'], []],
    [' HostDisk , ', ['HostDisk'], []],
    ['HostDisk,HostDisk=false', [], ['HostDisk']],
    ['Snapshot=false,VSOCK', ['VSOCK'], ['Snapshot']],
    ['LiveMigration', ['LiveMigration'], []],
  ];
  for (const [text, on, off] of cases)
    test(JSON.stringify(text), () => {
      const choice = parseFeatureGates(text);
      assert.deepEqual([...choice.enabled], on);
      assert.deepEqual([...choice.disabled], off);
    });

  test('refusals name the problem', () => {
    assert.throws(
      () => parseFeatureGates('HostDisks'),
      /unknown feature gate "HostDisks"; known gates \(KubeVirt v1\.9\.0\): AlignCPUs, .*HostDisk, /,
    );
    assert.throws(() => parseFeatureGates('HostDisk=yes'), /neither true nor false/);
    assert.throws(() => parseFeatureGates('HostDisk=true=false'), /neither true nor false/);
    assert.throws(() => parseFeatureGates('LiveMigration=false'), /GA .* cannot be turned off/);
    assert.throws(() => parseFeatureGates('Macvtap'), /discontinued .* cannot be turned on/);
  });
});

describe('gateEnabled', () => {
  const cases: [FeatureGate, string, boolean][] = [
    ['LiveMigration', '', true],
    ['Snapshot', '', true],
    ['Snapshot', 'Snapshot=false', false],
    ['HostDisk', '', false],
    ['HostDisk', 'HostDisk', true],
    ['HotplugVolumes', '', false],
    ['HotplugVolumes', 'HotplugVolumes', true],
    ['DeclarativeHotplugVolumes', '', true],
  ];
  for (const [gate, text, want] of cases)
    test(`${gate} with ${JSON.stringify(text)}`, () =>
      assert.equal(gateEnabled(gate, parseFeatureGates(text)), want));

  test('the table has each gate once, and the documentation names every gate that has an effect here', () => {
    const names = KUBEVIRT_FEATURE_GATES.map((g) => g.name);
    assert.equal(new Set(names).size, names.length);
    const doc = readFileSync(DOC, 'utf8');
    for (const g of KUBEVIRT_FEATURE_GATES)
      if ('effect' in g) assert.match(doc, new RegExp(`\\| \`${g.name}\` +\\| ${g.state} `), g.name);
  });
});

const spec = (
  devices: Record<string, unknown>,
  rest: Record<string, unknown> = {},
  domain: Record<string, unknown> = {},
): VirtualMachineInstanceSpec => ({ domain: { devices, ...domain }, ...rest });

describe('gated fields', () => {
  // [gate, to turn it on/off, spec, annotations, path, message]
  const cases: [string, string, VirtualMachineInstanceSpec, Record<string, string>, string, RegExp][] = [
    [
      'HostDisk',
      'HostDisk',
      spec({}, { volumes: [{ name: 'h', hostDisk: { path: '/d', type: 'Disk' } }] }),
      {},
      'spec.volumes[0]',
      /^HostDisk feature gate is not enabled$/,
    ],
    [
      'DownwardMetrics',
      'DownwardMetrics',
      spec({ downwardMetrics: {} }),
      {},
      'spec.domain.devices.downwardMetrics',
      /virtio serial is not allowed/,
    ],
    [
      'DownwardMetrics volume',
      'DownwardMetrics',
      spec({}, { volumes: [{ name: 'm', downwardMetrics: {} }] }),
      {},
      'spec.volumes[0]',
      /downwardMetrics disks are not allowed/,
    ],
    [
      'VSOCK',
      'VSOCK',
      spec({ autoattachVSOCK: true }),
      {},
      'spec.domain.devices.autoattachVSOCK',
      /^VSOCK feature gate/,
    ],
    [
      'HostDevices',
      'HostDevices',
      spec({ hostDevices: [{ name: 'h', deviceName: 'x/y' }] }),
      {},
      'spec.domain.devices.HostDevices',
      /Host Devices feature gate/,
    ],
    [
      'Sidecar',
      'Sidecar',
      spec({}),
      { 'hooks.kubevirt.io/hookSidecars': '[]' },
      'metadata.annotations',
      /sidecar feature gate/,
    ],
    [
      'Ignition',
      'ExperimentalIgnitionSupport',
      spec({}),
      { 'kubevirt.io/ignitiondata': '{}' },
      'metadata.annotations',
      /ExperimentalIgnitionSupport/,
    ],
    [
      'UtilityVolumes',
      'UtilityVolumes',
      spec({}, { utilityVolumes: [{ name: 'u' }] }),
      {},
      'spec.utilityVolumes',
      /UtilityVolumes feature gate/,
    ],
    [
      'ReservedOverheadMemlock',
      'ReservedOverheadMemlock',
      spec({}, {}, { memory: { reservedOverhead: {} } }),
      {},
      'spec.domain.memory.reservedOverhead',
      /memlock/,
    ],
    [
      'TDX',
      'WorkloadEncryptionTDX',
      spec({}, {}, { launchSecurity: { tdx: {} } }),
      {},
      'spec.domain.launchSecurity',
      /WorkloadEncryptionTDX/,
    ],
    [
      'PortRangesSpec',
      'PortRangesSpec',
      spec({ interfaces: [{ name: 'default', masquerade: {}, portRanges: [{ start: 1, end: 2 }] }] }),
      {},
      'spec.domain.devices.interfaces[0].name',
      /PortRangesSpec/,
    ],
    [
      'NetworkDevicesWithDRA',
      'NetworkDevicesWithDRA',
      spec({}, { networks: [{ name: 'n', resourceClaim: { claimName: 'c' } }] }),
      {},
      'spec.networks',
      /DRA networks/,
    ],
    [
      'virtiofs PVC',
      'EnableVirtioFsStorageVolumes',
      spec(
        { filesystems: [{ name: 'fs', virtiofs: {} }] },
        { volumes: [{ name: 'fs', persistentVolumeClaim: { claimName: 'c' } }] },
      ),
      {},
      'spec.domain.devices.filesystems',
      /virtiofs feature gate/,
    ],
    // Beta gates: on by default, so they are turned off to be seen.
    [
      'empty cdrom',
      'DeclarativeHotplugVolumes=false',
      spec({ disks: [{ name: 'cd', cdrom: {} }] }),
      {},
      'spec.domain.devices.disks[0].name',
      /cannot define an empty CD-ROM disk/,
    ],
    [
      'PasstBinding',
      'PasstBinding=false',
      spec({ interfaces: [{ name: 'default', passtBinding: {} }] }),
      {},
      'spec.domain.devices.interfaces[0].name',
      /^PasstBinding feature gate is not enabled$/,
    ],
    [
      'RebootPolicy',
      'RebootPolicy=false',
      spec({}, {}, { rebootPolicy: 'Terminate' }),
      {},
      'spec.domain.rebootPolicy',
      /RebootPolicy feature gate/,
    ],
    [
      'SEV',
      'WorkloadEncryptionSEV=false',
      spec({}, {}, { launchSecurity: { sev: {} } }),
      {},
      'spec.domain.launchSecurity',
      /WorkloadEncryptionSEV/,
    ],
  ];
  for (const [name, flag, s, annotations, path, message] of cases)
    test(name, () => {
      const beta = flag.endsWith('=false');
      const off = parseFeatureGates(beta ? flag : '');
      const on = parseFeatureGates(beta ? '' : flag);
      const errors = gatedFieldErrors(s, annotations, 'spec', 'metadata', off);
      assert.deepEqual(
        errors.map((e) => e.path),
        [path],
      );
      assert.match(errors[0]?.message ?? '', message);
      assert.deepEqual(gatedFieldErrors(s, annotations, 'spec', 'metadata', on), []);
    });
});

describe('through the registry', () => {
  const registry = (gates: string): Registry => {
    const choice = parseFeatureGates(gates);
    const r = new Registry(
      new SqliteStore({ path: ':memory:' }),
      { now: () => new Date() },
      {
        ...defaultAdmissionSettings(),
        featureGates: choice.enabled,
        disabledFeatureGates: choice.disabled,
      },
    );
    r.create(namespaceKind, '', { metadata: { name: 'default' } });
    return r;
  };
  const causes = (f: () => unknown): string[] => {
    try {
      f();
    } catch (err) {
      assert.ok(err instanceof ApiError, String(err));
      return (err.details.causes ?? []).map((c) => `${c.path ?? ''}: ${c.message ?? ''}`);
    }
    return [];
  };
  const vm = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'g' },
    spec: {
      runStrategy: 'Halted',
      template: {
        metadata: { annotations: { 'hooks.kubevirt.io/hookSidecars': '[{"image":"x"}]' } },
        spec: {
          domain: { resources: { requests: { memory: '128Mi' } }, devices: { autoattachVSOCK: true } },
        },
      },
    },
  };

  test('a VM template is judged with the gates of the server, every cause at once', () => {
    assert.deepEqual(
      causes(() => registry('').create(virtualMachineKind, 'default', structuredClone(vm))),
      [
        'spec.template.metadata.annotations: sidecar feature gate is not enabled in kubevirt-config, invalid entry spec.template.metadata.annotations.hooks.kubevirt.io/hookSidecars',
        'spec.template.spec.domain.devices.autoattachVSOCK: VSOCK feature gate is not enabled in kubevirt-config',
      ],
    );
    assert.deepEqual(
      causes(() => registry('Sidecar,VSOCK').create(virtualMachineKind, 'default', structuredClone(vm))),
      [],
    );
  });

  test('Snapshot=false refuses new VirtualMachineSnapshots', () => {
    const snap = {
      apiVersion: 'snapshot.kubevirt.io/v1beta1',
      kind: 'VirtualMachineSnapshot',
      metadata: { name: 's' },
      spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'g' } },
    };
    assert.deepEqual(
      causes(() =>
        registry('Snapshot=false').create(virtualMachineSnapshotKind, 'default', structuredClone(snap)),
      ),
      ['spec: snapshot feature gate not enabled'],
    );
    assert.deepEqual(
      causes(() => registry('').create(virtualMachineSnapshotKind, 'default', structuredClone(snap))),
      [],
    );
  });
});
