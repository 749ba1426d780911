/**
 * The console's pure logic, as table tests: chart columns from a history answer, a VM's disk rows
 * and the objects "Add disk" writes, the Services that select a VM and the one "Expose a port"
 * creates, an import's DataVolume and progress, a network's CNI summary.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  DataVolume,
  PersistentVolumeClaim,
  Service,
  VirtualMachine,
} from '../../../web/src/api/types.js';
import { describeConfig } from '../../../web/src/catalog/networks.js';
import { dataSourceFor, importDataVolume, progressOf, sourceOf } from '../../../web/src/catalog/images.js';
import {
  CHARTS,
  columnsOf,
  formatValue,
  latestOf,
  pointsOf,
  timeSpanOf,
  type SeriesList,
} from '../../../web/src/metrics/series.js';
import {
  blankDataVolume,
  dataVolumeStatus,
  diskRows,
  usersOf,
  whyNoNewDisk,
  withDataVolumeDisk,
} from '../../../web/src/vms/disks.js';
import {
  exposeService,
  interfaceRows,
  loadBalancerText,
  portsText,
  servicesOf,
} from '../../../web/src/vms/exposure.js';

const chart = (id: string) => {
  const c = CHARTS.find((x) => x.id === id);
  assert.ok(c !== undefined);
  return c;
};

const vm = (over: Partial<VirtualMachine['spec']['template']> = {}): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'web', namespace: 'default', creationTimestamp: '2026-01-01T00:10:00Z' },
  spec: {
    runStrategy: 'Halted',
    template: {
      spec: {
        domain: {
          devices: {
            disks: [
              { name: 'root', disk: {} },
              { name: 'data', disk: { bus: 'sata' } },
            ],
          },
        },
        volumes: [
          { name: 'root', containerDisk: { image: 'hikube/tiny' } },
          { name: 'data', dataVolume: { name: 'web-data' } },
        ],
      },
      ...over,
    },
  },
});

describe('metrics series', () => {
  const list: SeriesList = {
    start: '2026-01-01T00:00:00Z',
    end: '2026-01-01T00:15:00Z',
    step: '10s',
    series: [
      {
        metric: 'kubevirt_vmi_storage_read_traffic_bytes_total',
        type: 'counter',
        labels: { drive: 'root' },
        points: [
          [10, 100],
          [20, 50],
        ],
      },
      {
        metric: 'kubevirt_vmi_storage_read_traffic_bytes_total',
        type: 'counter',
        labels: { drive: 'data' },
        points: [
          [20, 25],
          [30, 5],
        ],
      },
      {
        metric: 'kubevirt_vmi_storage_write_traffic_bytes_total',
        type: 'counter',
        labels: { drive: 'root' },
        points: [[30, 7]],
      },
    ],
  };

  test('lines sum their series over labels per step; missing steps are gaps', () => {
    const cols = columnsOf(list, chart('disk'));
    assert.deepEqual(cols, [
      [10, 20, 30],
      [100, 75, 5],
      [null, null, 7],
    ]);
    assert.equal(pointsOf(cols), 4);
    assert.deepEqual(latestOf(cols), [5, 7]);
  });

  test('a chart with no series has no points and no latest value', () => {
    const cols = columnsOf(list, chart('cpu'));
    assert.deepEqual(cols, [[], []]);
    assert.equal(pointsOf(cols), 0);
    assert.deepEqual(latestOf(cols), [undefined]);
  });

  test('values print as a share of a vCPU, bytes and byte rates', () => {
    const table: [Parameters<typeof formatValue>, string][] = [
      [['cpu', 0.042], '4.2%'],
      [['cpu', 1.5], '150%'],
      [['bytes', 512], '512 B'],
      [['bytes', 268435456], '256 MiB'],
      [['bytesPerSecond', 1536], '1.5 KiB/s'],
    ];
    for (const [args, want] of table) assert.equal(formatValue(...args), want, JSON.stringify(args));
  });

  test('the time axis spans the range asked for, not before the VM existed', () => {
    const t = (iso: string) => Date.parse(iso) / 1000;
    assert.deepEqual(timeSpanOf(list, undefined), [t(list.start), t(list.end)]);
    assert.deepEqual(timeSpanOf(list, '2026-01-01T00:10:00Z'), [t('2026-01-01T00:10:00Z'), t(list.end)]);
    assert.deepEqual(timeSpanOf(list, '2025-12-31T00:00:00Z'), [t(list.start), t(list.end)]);
  });
});

describe('VM disks', () => {
  const claim = (name: string, capacity?: string): PersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: { resources: { requests: { storage: '1Gi' } } },
    ...(capacity !== undefined ? { status: { phase: 'Bound', capacity: { storage: capacity } } } : {}),
  });
  const dv = (phase: string, progress?: string): DataVolume => ({
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name: 'web-data', namespace: 'default' },
    spec: { source: { http: { url: 'http://127.0.0.1:8000/disk.raw' } } },
    status: { phase: phase as 'Succeeded', ...(progress !== undefined ? { progress } : {}) },
  });

  test('each volume joins its device, its claim and its DataVolume', () => {
    const rows = diskRows(vm(), [claim('web-data', '2Gi')], [dv('ImportInProgress', '47.30%')]);
    assert.deepEqual(
      rows.map((r) => [r.name, r.device, r.source, r.ref, r.size, r.status]),
      [
        ['root', 'disk (virtio)', 'Container disk', 'hikube/tiny', '', ''],
        ['data', 'disk (sata)', 'DataVolume', 'web-data', '2Gi', 'ImportInProgress 47.30%'],
      ],
    );
    assert.equal(diskRows(vm(), [], [])[1]?.status, 'Missing', 'a claim that does not exist says so');
    assert.equal(dataVolumeStatus(dv('Succeeded', '100.0%')), 'Succeeded');
  });

  test('a disk is added to a stopped VM only, as a DataVolume volume on virtio', () => {
    const running = { vm: vm(), vmi: { metadata: {}, spec: {}, status: { phase: 'Running' } } };
    assert.equal(whyNoNewDisk(running as never), 'Stop the VM to add a disk');
    assert.equal(whyNoNewDisk({ vm: vm(), vmi: undefined }), undefined);
    const before = vm();
    const after = withDataVolumeDisk(before, 'extra', 'web-extra');
    assert.deepEqual(after.spec.template.spec?.domain.devices.disks?.at(-1), {
      name: 'extra',
      disk: { bus: 'virtio' },
    });
    assert.deepEqual(after.spec.template.spec?.volumes?.at(-1), {
      name: 'extra',
      dataVolume: { name: 'web-extra' },
    });
    assert.equal(before.spec.template.spec?.volumes?.length, 2, 'the VM read from the watch is not changed');
    assert.deepEqual(blankDataVolume('default', 'web-extra', '1Gi').spec, {
      source: { blank: {} },
      storage: { resources: { requests: { storage: '1Gi' } } },
    });
  });

  test('a claim is used by the VMs of its namespace whose template names it', () => {
    const other: VirtualMachine = { ...vm(), metadata: { name: 'web', namespace: 'other' } };
    assert.deepEqual(
      usersOf(claim('web-data'), [vm(), other]).map((v) => v.metadata.namespace),
      ['default'],
    );
    assert.deepEqual(usersOf(claim('unused'), [vm()]), []);
  });
});

describe('VM exposure', () => {
  const svc = (
    name: string,
    selector: Record<string, string> | undefined,
    namespace = 'default',
  ): Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: {
      type: 'LoadBalancer',
      ...(selector !== undefined ? { selector } : {}),
      ports: [{ port: 8080, targetPort: 80, protocol: 'TCP', nodePort: 31000 }],
    },
    status: { loadBalancer: { ingress: [{ ip: '127.0.0.1', ports: [{ port: 8080, protocol: 'TCP' }] }] } },
  });

  test('Services select the VM by its VMI labels, its template labels or its name label', () => {
    const labelled = vm({ metadata: { labels: { app: 'web' } } });
    const all = [
      svc('by-app', { app: 'web' }),
      svc('by-name', { 'vm.kubevirt.io/name': 'web' }),
      svc('other-app', { app: 'db' }),
      svc('no-selector', undefined),
      svc('other-namespace', { app: 'web' }, 'other'),
    ];
    assert.deepEqual(
      servicesOf(labelled, undefined, all).map((s) => s.metadata.name),
      ['by-app', 'by-name'],
    );
    assert.deepEqual(portsText(all[0] as Service), ['8080→80/TCP (node 31000)']);
    assert.deepEqual(loadBalancerText(all[0] as Service), ['127.0.0.1 8080/TCP']);
  });

  test('"Expose a port" builds what hikube expose builds', () => {
    const form = {
      name: 'web-http',
      port: '8080',
      targetPort: '',
      type: 'NodePort' as const,
      protocol: 'TCP' as const,
    };
    assert.deepEqual(exposeService(vm({ metadata: { labels: { app: 'web' } } }), form).spec, {
      type: 'NodePort',
      selector: { app: 'web' },
      ports: [{ port: 8080, targetPort: 8080, protocol: 'TCP' }],
    });
    assert.deepEqual(exposeService(vm(), { ...form, targetPort: 'http' }).spec?.selector, {
      'vm.kubevirt.io/name': 'web',
    });
    assert.equal(exposeService(vm(), { ...form, targetPort: 'http' }).spec?.ports?.[0]?.targetPort, 'http');
    // Not a number: sent as typed, for the API server to name the field.
    assert.equal(exposeService(vm(), { ...form, port: 'abc' }).spec?.ports?.[0]?.port, 'abc');
  });

  test('without interfaces, the default masquerade interface on the pod network, with what the VMI reports', () => {
    const vmi = {
      metadata: {},
      spec: {},
      status: { interfaces: [{ name: 'default', mac: '02:00:00:00:00:01', ipAddress: '10.0.2.15' }] },
    };
    assert.deepEqual(interfaceRows(vm(), vmi as never), [
      {
        name: 'default',
        network: 'Pod network',
        binding: 'masquerade',
        model: 'virtio',
        mac: '02:00:00:00:00:01',
        ips: ['10.0.2.15'],
        guestName: '',
      },
    ]);
  });
});

describe('images and networks', () => {
  test('an import becomes a DataVolume from a URL or a registry', () => {
    const form = {
      name: ' debian ',
      namespace: 'default',
      kind: 'http' as const,
      url: ' http://h/d.qcow2 ',
      size: '10Gi',
    };
    const dv = importDataVolume(form);
    assert.equal(dv.metadata.name, 'debian');
    assert.deepEqual(dv.spec.source, { http: { url: 'http://h/d.qcow2' } });
    assert.deepEqual(importDataVolume({ ...form, kind: 'registry', url: 'docker://r/i:1' }).spec.source, {
      registry: { url: 'docker://r/i:1' },
    });
    assert.equal(sourceOf(dv), 'http://h/d.qcow2');
    assert.deepEqual(dataSourceFor(dv, ' golden ').spec, {
      source: { pvc: { name: 'debian', namespace: 'default' } },
    });
    assert.equal(dataSourceFor(dv, ' golden ').metadata.name, 'golden');
  });

  test('progress is the percentage of status.progress, none for N/A', () => {
    const withProgress = (progress: string | undefined): DataVolume => ({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: {},
      spec: {},
      ...(progress !== undefined ? { status: { progress } } : {}),
    });
    assert.equal(progressOf(withProgress('47.30%')), 47.3);
    assert.equal(progressOf(withProgress('N/A')), undefined);
    assert.equal(progressOf(withProgress(undefined)), undefined);
  });

  test("a network's CNI type and subnet, from a plugin or a conflist; nonsense reads as empty", () => {
    assert.deepEqual(
      describeConfig('{"type":"bridge","ipam":{"type":"host-local","subnet":"10.1.0.0/24"}}'),
      {
        type: 'bridge',
        subnet: '10.1.0.0/24',
      },
    );
    assert.deepEqual(
      describeConfig('{"plugins":[{"type":"bridge","ipam":{"ranges":[[{"subnet":"10.2.0.0/16"}]]}}]}'),
      { type: 'bridge', subnet: '10.2.0.0/16' },
    );
    assert.deepEqual(describeConfig('{"type":"bridge"}'), { type: 'bridge', subnet: '' });
    assert.deepEqual(describeConfig('not json'), { type: '', subnet: '' });
    assert.deepEqual(describeConfig(undefined), { type: '', subnet: '' });
  });
});
