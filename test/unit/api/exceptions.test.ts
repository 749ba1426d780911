/**
 * The exceptions list (docs/api-exceptions.md): every place Hikube is deliberately stricter than
 * upstream is listed there and enforced here, through the code that enforces it in the server; an
 * entry without a test, or a test without an entry, fails.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { defaultAdmissionSettings, type AdmissionSettings } from '../../../src/api/admission.js';
import { cdiConfigKind } from '../../../src/api/cdi/cdiconfig.js';
import { dataSourceKind } from '../../../src/api/cdi/datasource.js';
import { dataVolumeKind } from '../../../src/api/cdi/datavolume.js';
import { configMapKind, namespaceKind } from '../../../src/api/core/core.js';
import { serviceKind } from '../../../src/api/core/service.js';
import { virtualMachineKind } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineRestoreKind } from '../../../src/api/snapshot/restore.js';
import { virtualMachineSnapshotKind } from '../../../src/api/snapshot/snapshot.js';
import type { CustomResourceDefinition } from '../../../src/api/crd/crd.js';
import { kinds } from '../../../src/api/registry.js';
import { namesConflict } from '../../../src/apiserver/crd-names.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { checkTarget, TargetNotAllowed } from '../../../src/network/outbound.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const DOC = fileURLToPath(new URL('../../../../docs/api-exceptions.md', import.meta.url));

/** The ids in the first column of the document's table. */
function listedIds(): string[] {
  return [...readFileSync(DOC, 'utf8').matchAll(/^\| `([a-z0-9-]+)` *\|/gm)].map((m) => m[1] ?? '');
}

function registry(settings: Partial<AdmissionSettings> = {}): Registry {
  const r = new Registry(
    new SqliteStore({ path: ':memory:' }),
    { now: () => new Date() },
    {
      ...defaultAdmissionSettings(),
      ...settings,
    },
  );
  r.create(namespaceKind, '', { metadata: { name: 'default' } });
  return r;
}

const refused = (reason: string, path?: string) => (err: unknown) => {
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.reason, reason, err.message);
  if (path !== undefined)
    assert.ok(
      (err.details.causes ?? []).some((c) => c.path === path),
      JSON.stringify(err.details.causes),
    );
  return true;
};

function vm(domain: Record<string, unknown>, volumes: unknown[] = []) {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'x' },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: { resources: { requests: { memory: '128Mi' } }, devices: {}, ...domain },
          volumes,
        },
      },
    },
  };
}

function nested(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

const service = (externalIPs: string[]) => ({
  metadata: { name: 's' },
  spec: { ports: [{ port: 80 }], externalIPs },
});

/** Each exception: what it refuses (through the real enforcing code), and that the allowed case passes. */
const EXCEPTIONS: Record<string, () => void> = {
  'object-depth': () => {
    const r = registry();
    const deep = vm({ features: { hyperv: nested(101) } });
    assert.throws(() => r.create(virtualMachineKind, 'default', deep), refused('BadRequest'));
  },
  'object-size': () => {
    const r = registry();
    const big = { metadata: { name: 'big' }, data: { blob: 'x'.repeat(1536 * 1024) } };
    assert.throws(() => r.create(configMapKind, 'default', big), refused('RequestEntityTooLarge'));
    r.create(configMapKind, 'default', { metadata: { name: 'ok' }, data: { blob: 'x'.repeat(1024 * 1024) } });
  },
  'external-ips': () => {
    assert.throws(
      () => registry().create(serviceKind, 'default', service(['192.0.2.10'])),
      refused('Invalid', 'spec.externalIPs'),
    );
    registry({ allowExternalIPs: true }).create(serviceKind, 'default', service(['192.0.2.10']));
  },
  'private-targets': () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '169.254.169.254', '::1', '100.64.0.1'])
      assert.throws(() => checkTarget({ allowPrivateTargets: false }, address), TargetNotAllowed, address);
    checkTarget({ allowPrivateTargets: true }, '127.0.0.1');
    checkTarget({ allowPrivateTargets: false }, '8.8.8.8');
  },
  'qemu-option-values': () => {
    const r = registry();
    for (const [domain, path] of [
      [{ machine: { type: 'q35,accel=kvm' } }, 'spec.template.spec.domain.machine.type'],
      [{ cpu: { model: 'qemu64,+vmx' } }, 'spec.template.spec.domain.cpu.model'],
    ] as const)
      assert.throws(() => r.create(virtualMachineKind, 'default', vm(domain)), refused('Invalid', path));
    r.create(virtualMachineKind, 'default', vm({ machine: { type: 'q35' } }));
  },
  'hostdisk-gate': () => {
    const hostDisk = [
      { name: 'h', hostDisk: { path: '/var/lib/h.img', type: 'DiskOrCreate', capacity: '1Gi' } },
    ];
    assert.throws(
      () => registry().create(virtualMachineKind, 'default', vm({}, hostDisk)),
      refused('Invalid', 'spec.template.spec.volumes[0]'),
    );
    registry({ featureGates: new Set(['HostDisk']) }).create(virtualMachineKind, 'default', vm({}, hostDisk));
  },
  'disk-without-volume': () => {
    const r = registry();
    const disks = { devices: { disks: [{ name: 'containerdisk', disk: {} }] } };
    const made = vm(disks);
    r.create(virtualMachineKind, 'default', made);
    assert.match(
      (virtualMachineKind.warnings?.(made) ?? []).join('\n'),
      /disks\[0\]\.name: disk "containerdisk" has no volume of that name/,
    );
  },
  'unsupported-sources': () => {
    const dv = (source: Record<string, unknown>) => ({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name: 'd' },
      spec: { source, storage: { resources: { requests: { storage: '1Gi' } } } },
    });
    const r = registry();
    assert.throws(
      () => r.create(dataVolumeKind, 'default', dv({ snapshot: { name: 's' } })),
      refused('Invalid', 'spec.source.snapshot'),
    );
    assert.throws(
      () =>
        r.create(dataSourceKind, 'default', {
          metadata: { name: 'ds' },
          spec: { source: { snapshot: { name: 's' } } },
        }),
      refused('Invalid', 'spec.source.pvc'),
    );
    r.create(dataVolumeKind, 'default', dv({ blank: {} }));
  },
  'cdiconfig-singleton': () => {
    const config = (name: string) => ({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'CDIConfig',
      metadata: { name },
    });
    const r = registry();
    assert.throws(() => r.create(cdiConfigKind, '', config('second')), refused('Invalid', 'metadata.name'));
    r.create(cdiConfigKind, '', config('config'));
  },
  'restore-onto-other-vm': () => {
    const r = registry();
    for (const name of ['a', 'b']) r.create(virtualMachineKind, 'default', { ...vm({}), metadata: { name } });
    r.create(virtualMachineSnapshotKind, 'default', {
      metadata: { name: 's' },
      spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'a' } },
    });
    const restore = (name: string, target: string) => ({
      metadata: { name },
      spec: {
        target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: target },
        virtualMachineSnapshotName: 's',
      },
    });
    assert.throws(
      () => r.create(virtualMachineRestoreKind, 'default', restore('onto-b', 'b')),
      refused('Invalid', 'spec.target.name'),
    );
    r.create(virtualMachineRestoreKind, 'default', restore('onto-a', 'a'));
    r.create(virtualMachineRestoreKind, 'default', restore('onto-new', 'c'));
  },
  'crd-plural-short-name': () => {
    const crd = (plural: string, shortNames: string[]) =>
      ({
        metadata: { name: `${plural}.names.example.test` },
        spec: {
          group: 'names.example.test',
          scope: 'Namespaced',
          names: { plural, kind: 'Thing', shortNames },
          versions: [],
        },
      }) as unknown as CustomResourceDefinition;
    assert.equal(namesConflict(crd('vm', []), kinds)?.reason, 'PluralConflict');
    // The short name itself, in another group, is accepted as upstream accepts it.
    assert.equal(namesConflict(crd('things', ['vm']), kinds), undefined);
  },
};

describe('exceptions list', () => {
  test('every exception listed in docs/api-exceptions.md has a test here, and every test is listed', () => {
    assert.deepEqual(listedIds().sort(), Object.keys(EXCEPTIONS).sort());
  });
  for (const [id, check] of Object.entries(EXCEPTIONS)) test(`${id} is enforced`, check);
});
