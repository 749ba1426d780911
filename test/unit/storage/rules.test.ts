/**
 * Pure table tests of the storage rules: CDI's checksum syntax, the DataVolume and claim admission
 * rules, the DataVolume status reducer (phases, progress, conditions), which class serves a claim,
 * which VMIs hold a claim, how an imported file is recognised, and the VM's printableStatus while
 * its DataVolumes are populated.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseChecksum } from '../../../src/api/cdi/checksum.js';
import { validateDataVolume, type DataVolume } from '../../../src/api/cdi/datavolume.js';
import { persistentVolumeClaimKind } from '../../../src/api/core/core.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import {
  defaultStorageClass,
  storageClassKind,
  type StorageClass,
} from '../../../src/api/storage/storageclass.js';
import { formatProgress, reduceDvStatus, type DvEvent } from '../../../src/controllers/datavolume/status.js';
import { printableStatus, vmStatusView, type VmFacts } from '../../../src/controllers/vm/printable.js';
import { classFor, usersOf, type Claim } from '../../../src/storage/claims.js';
import { sniff } from '../../../src/storage/import/format.js';

const NOW = new Date('2026-01-01T00:00:00Z');

describe('checksum', () => {
  const cases: [string, string | { algorithm: string; hex: string }][] = [
    [`sha256:${'A'.repeat(64)}`, { algorithm: 'sha256', hex: 'a'.repeat(64) }],
    [`MD5:${'0'.repeat(32)}`, { algorithm: 'md5', hex: '0'.repeat(32) }],
    [`sha512:${'f'.repeat(128)}`, { algorithm: 'sha512', hex: 'f'.repeat(128) }],
    ['abc', `"abc": expected 'algorithm:hash'`],
    [
      `crc32:${'0'.repeat(8)}`,
      'unsupported hash algorithm "crc32": supported algorithms are: md5, sha1, sha256, sha512',
    ],
    ['sha1:abc', 'invalid sha1 hash length: expected 40 hex characters, got 3'],
    [`sha1:${'z'.repeat(40)}`, 'checksum hash is not valid hexadecimal'],
  ];
  for (const [input, want] of cases) test(input, () => assert.deepEqual(parseChecksum(input), want));
});

const dv = (spec: Record<string, unknown>): DataVolume => ({
  apiVersion: 'cdi.kubevirt.io/v1beta1',
  kind: 'DataVolume',
  metadata: { name: 'd' },
  spec,
});
const sized = { storage: { resources: { requests: { storage: '1Gi' } } } };

describe('DataVolume admission', () => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['http with a size', { source: { http: { url: 'https://example.org/x.qcow2' } }, ...sized }, []],
    [
      'blank in pvc form',
      { source: { blank: {} }, pvc: { resources: { requests: { storage: '1Gi' } } } },
      [],
    ],
    ['clone without a size (inferred)', { source: { pvc: { name: 'golden' } }, storage: {} }, []],
    ['sourceRef without a size', { sourceRef: { kind: 'DataSource', name: 'debian' }, storage: {} }, []],
    [
      'no source',
      { ...sized },
      ['spec.source: Required value: one of http, registry, pvc, upload, blank (or spec.sourceRef)'],
    ],
    [
      'two sources',
      { source: { blank: {}, upload: {} }, ...sized },
      ['spec.source: Invalid value: only one source may be set, got upload, blank'],
    ],
    ['no storage', { source: { blank: {} } }, ['spec.storage: Required value: spec.storage or spec.pvc']],
    [
      'no size for http',
      { source: { http: { url: 'http://h/x' } }, storage: {} },
      ['spec.storage.resources.requests.storage: Required value: the size of the volume'],
    ],
    [
      'bad url and checksum',
      { source: { http: { url: 'ftp://h/x', checksum: 'sha256:12' } }, ...sized },
      [
        'spec.source.http.url: Invalid value: "ftp://h/x": must be an http or https URL',
        'spec.source.http.checksum: Invalid value: invalid sha256 hash length: expected 64 hex characters, got 2',
      ],
    ],
    [
      'an unsupported source',
      { source: { s3: { url: 's3://b/x' } }, ...sized },
      [
        'spec.source.s3: Unsupported value: "s3": this platform imports from http, registry, upload, pvc and blank',
      ],
    ],
  ];
  for (const [name, spec, want] of cases)
    test(name, () =>
      assert.deepEqual(
        validateDataVolume(dv(spec), undefined).map((e) => `${e.path}: ${e.message}`),
        want,
      ),
    );

  test('the spec is immutable', () => {
    const old = dv({ source: { blank: {} }, ...sized });
    const next = dv({ source: { blank: {} }, storage: { resources: { requests: { storage: '2Gi' } } } });
    assert.deepEqual(
      validateDataVolume(next, old).map((e) => e.message),
      ['Forbidden: a DataVolume spec is immutable'],
    );
  });
});

describe('claim admission', () => {
  const claim = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'c' },
    spec,
  });
  const validate = persistentVolumeClaimKind.validate ?? (() => []);
  const base = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };

  test('a size is required', () =>
    assert.deepEqual(
      validate(claim({ accessModes: ['ReadWriteOnce'] }), undefined).map((e) => e.path),
      ['spec.resources.requests.storage'],
    ));
  test('growing is allowed, and the binder may fill in volumeName and storageClassName', () =>
    assert.deepEqual(
      validate(
        claim({
          ...base,
          resources: { requests: { storage: '2Gi' } },
          volumeName: 'pv-1',
          storageClassName: 'local',
        }),
        claim(base),
      ),
      [],
    ));
  test('shrinking and changing other fields are refused', () =>
    assert.deepEqual(
      validate(
        claim({ ...base, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '512Mi' } } }),
        claim(base),
      ).map((e) => `${e.path}: ${e.message}`),
      [
        'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
        'spec.resources.requests.storage: Forbidden: field can not be less than previous value',
      ],
    ));
  test('a StorageClass keeps its provisioner and parameters', () => {
    const sc = defaultStorageClass() as unknown as KubeObject;
    const changed = { ...sc, provisioner: 'other', allowVolumeExpansion: false } as KubeObject;
    assert.deepEqual(
      (storageClassKind.validate ?? (() => []))(changed, sc).map((e) => e.path),
      ['provisioner'],
    );
  });
});

describe('DataVolume status', () => {
  const run = (events: DvEvent[]) => {
    let s = undefined as ReturnType<typeof reduceDvStatus> | undefined;
    for (const e of events) s = reduceDvStatus(s, e, NOW);
    return s;
  };
  const summary = (s: ReturnType<typeof reduceDvStatus> | undefined): string[] => [
    `${s?.phase ?? ''} ${s?.progress ?? ''} restarts=${s?.restartCount ?? 0}`,
    ...(s?.conditions ?? []).map(
      (c) => `${c.type}=${c.status} ${c.reason ?? ''}${c.message !== undefined ? `: ${c.message}` : ''}`,
    ),
  ];
  const cases: [string, DvEvent[], string[]][] = [
    [
      'claim pending',
      [{ type: 'ClaimPending', claim: 'd' }],
      [
        'Pending N/A restarts=0',
        'Bound=False Pending: PVC d Pending',
        'Ready=False ',
        'Running=False Pending',
      ],
    ],
    [
      'importing at 47.3%',
      [
        { type: 'ClaimBound', claim: 'd' },
        { type: 'Running', source: 'http', message: 'Import into d in progress' },
        { type: 'Progress', percent: 47.3 },
      ],
      [
        'ImportInProgress 47.30% restarts=0',
        'Bound=True Bound: PVC d Bound',
        'Ready=False TransferRunning',
        'Running=True TransferRunning: Import into d in progress',
      ],
    ],
    [
      'a transient failure, retried',
      [
        { type: 'ClaimBound', claim: 'd' },
        { type: 'Running', source: 'http', message: 'Import into d in progress' },
        { type: 'Retrying', reason: 'Error', message: 'the connection closed; retrying in 1s' },
      ],
      [
        'ImportInProgress N/A restarts=1',
        'Bound=True Bound: PVC d Bound',
        'Ready=False TransferRunning',
        'Running=False Error: the connection closed; retrying in 1s',
      ],
    ],
    [
      'a clone that succeeded, and stays so',
      [
        { type: 'ClaimBound', claim: 'd' },
        { type: 'Running', source: 'pvc', message: 'Cloning' },
        { type: 'Succeeded', source: 'pvc' },
        { type: 'Progress', percent: 3 },
        { type: 'Failed', reason: 'Error', message: 'late' },
      ],
      [
        'Succeeded 100.0% restarts=0',
        'Bound=True Bound: PVC d Bound',
        'Ready=True ',
        'Running=False Completed: Clone Complete',
      ],
    ],
    [
      'an upload ready, then failed',
      [
        { type: 'ClaimBound', claim: 'd' },
        { type: 'Running', source: 'upload', message: 'Upload into d ready' },
        { type: 'Failed', reason: 'NoSpace', message: 'no space left' },
      ],
      [
        'Failed N/A restarts=0',
        'Bound=True Bound: PVC d Bound',
        'Ready=False ',
        'Running=False NoSpace: no space left',
      ],
    ],
  ];
  for (const [name, events, want] of cases) test(name, () => assert.deepEqual(summary(run(events)), want));
  test('progress text', () => {
    assert.equal(formatProgress(47.3), '47.30%');
    assert.equal(formatProgress(-1), '0.00%');
    assert.equal(formatProgress(120), '100.00%');
  });
});

describe('claims', () => {
  const sc = (name: string, isDefault: boolean, created: string): StorageClass => ({
    ...defaultStorageClass(),
    metadata: {
      name,
      creationTimestamp: created,
      annotations: { 'storageclass.kubernetes.io/is-default-class': String(isDefault) },
    },
  });
  const claim = (storageClassName?: string): Claim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'c' },
    spec: storageClassName === undefined ? {} : { storageClassName },
  });
  const classes = [
    sc('old', true, '2025-01-01T00:00:00Z'),
    sc('new', true, '2026-01-01T00:00:00Z'),
    sc('slow', false, '2024-01-01T00:00:00Z'),
  ];
  test('the newest default class serves a claim without one', () =>
    assert.equal(classFor(claim(), classes)?.name, 'new'));
  test('a named class, found or not', () => {
    assert.equal(classFor(claim('slow'), classes)?.sc?.metadata.name, 'slow');
    assert.deepEqual(classFor(claim('gone'), classes), { name: 'gone', sc: undefined });
  });
  test('"" asks for no class', () => assert.equal(classFor(claim(''), classes), undefined));
  test('VMIs hold a claim until they finish', () => {
    const vmi = (name: string, phase: string, volume: object): VirtualMachineInstance =>
      ({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name },
        spec: { domain: { devices: {} }, volumes: [{ name: 'v', ...volume }] },
        status: { phase },
      }) as VirtualMachineInstance;
    const vmis = [
      vmi('a', 'Running', { persistentVolumeClaim: { claimName: 'data' } }),
      vmi('b', 'Scheduled', { dataVolume: { name: 'data' } }),
      vmi('c', 'Succeeded', { persistentVolumeClaim: { claimName: 'data' } }),
      vmi('d', 'Running', { persistentVolumeClaim: { claimName: 'other' } }),
    ];
    assert.deepEqual(usersOf('data', vmis), ['a', 'b']);
  });
});

describe('imported files', () => {
  const cases: [string, Buffer, string][] = [
    ['gzip', Buffer.from('1f8b0800', 'hex'), 'gzip'],
    ['xz', Buffer.from('fd377a585a0000', 'hex'), 'xz'],
    ['qcow2', Buffer.from('QFI\xfb', 'latin1'), 'none'],
    ['zip', Buffer.from('504b030414', 'hex'), 'the file is a zip archive'],
    ['bzip2', Buffer.from('BZh91AY'), 'the file is bzip2 compressed data'],
    ['tar', Buffer.concat([Buffer.alloc(257), Buffer.from('ustar')]), 'the file is a tar archive'],
  ];
  for (const [name, head, want] of cases)
    test(name, () => {
      let got: string;
      try {
        got = sniff(head);
      } catch (err) {
        got = (err as Error).message;
      }
      assert.ok(got.startsWith(want), got);
    });
});

describe('VM status while DataVolumes are populated', () => {
  const vm = (runStrategy: 'Always' | 'Halted' = 'Always'): VirtualMachine => ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'web', namespace: 'default', uid: 'u' },
    spec: { runStrategy, template: { spec: { domain: { devices: {} } } } },
  });
  const facts = (f: Partial<VmFacts>): VmFacts => ({
    missingPvcs: [],
    restartRequired: false,
    now: NOW,
    ...f,
  });
  const pendingVmi = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'web' },
    spec: { domain: { devices: {} } },
    status: { phase: 'Scheduled' },
  } as VirtualMachineInstance;
  const cases: [string, VirtualMachine, VirtualMachineInstance | undefined, Partial<VmFacts>, string][] = [
    [
      'importing',
      vm(),
      undefined,
      { dataVolumes: { pending: ['root (ImportInProgress 47.30%)'], errors: [] } },
      'Provisioning',
    ],
    [
      'importing, halted',
      vm('Halted'),
      undefined,
      { dataVolumes: { pending: ['root (ImportInProgress)'], errors: [] } },
      'Provisioning',
    ],
    [
      'failed',
      vm(),
      undefined,
      { dataVolumes: { pending: [], errors: ['DataVolume root failed: HTTP 404'] } },
      'DataVolumeError',
    ],
    ['populated', vm(), undefined, { dataVolumes: { pending: [], errors: [] } }, 'Stopped'],
    ['claim not bound, no VMI yet', vm(), undefined, { unboundPvcs: ['data'] }, 'WaitingForVolumeBinding'],
    ['claim not bound, VMI waiting', vm(), pendingVmi, { unboundPvcs: ['data'] }, 'WaitingForVolumeBinding'],
  ];
  for (const [name, v, i, f, want] of cases)
    test(name, () => assert.equal(printableStatus(v, i, facts(f)), want));

  test('DataVolumesReady and Failure conditions', () => {
    const view = vmStatusView(
      vm(),
      undefined,
      facts({ dataVolumes: { pending: [], errors: ['DataVolume root failed: HTTP 404'] } }),
    );
    const c = (type: string) => view.conditions.find((x) => x.type === type);
    assert.deepEqual(
      [c('DataVolumesReady')?.status, c('DataVolumesReady')?.reason],
      ['False', 'NotAllDVsReady'],
    );
    assert.deepEqual(
      [c('Failure')?.reason, c('Failure')?.message],
      ['DataVolumeError', 'DataVolume root failed: HTTP 404'],
    );
    const ok = vmStatusView(vm(), undefined, facts({ dataVolumes: { pending: [], errors: [] } }));
    assert.equal(ok.conditions.find((x) => x.type === 'DataVolumesReady')?.reason, 'AllDVsReady');
  });
});
