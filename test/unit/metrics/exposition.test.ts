/**
 * Pure parts of monitoring: the text format both ways, what QEMU's and the guest agent's answers
 * become, custom metrics from an untrusted guest, /proc parsing, KubeVirt's VMI families.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { customSeries, customTarget } from '../../../src/metrics/custom.js';
import { parseText, renderText } from '../../../src/metrics/exposition.js';
import {
  PhaseTransitions,
  phaseCountFamily,
  vmiInfoFamily,
  vmiLabels,
} from '../../../src/metrics/kubevirt.js';
import { parseRss, parseStat, vcpuIndex } from '../../../src/metrics/procfs.js';
import { balloonSeries, blockSeries, networkSeries } from '../../../src/metrics/qemu.js';
import { Histogram, classifyRequest } from '../../../src/metrics/registry.js';
import { parseSeriesKey, seriesKey } from '../../../src/metrics/sample.js';
import { parseDuration, parseInstant } from '../../../src/metrics/time.js';

describe('text exposition', () => {
  test('families render with HELP and TYPE, sorted labels, escaped values; empty labels are left out', () => {
    const text = renderText([
      {
        name: 'x_total',
        help: 'A help\nwith a newline and a \\ backslash.',
        type: 'counter',
        samples: [{ labels: { b: 'say "hi"\n', a: '1', empty: '' }, value: 3 }],
      },
      { name: 'y', help: 'Nothing yet.', type: 'gauge', samples: [] },
      { name: 'z', help: 'Specials.', type: 'gauge', samples: [{ labels: {}, value: Infinity }] },
    ]);
    assert.equal(
      text,
      [
        '# HELP x_total A help\\nwith a newline and a \\\\ backslash.',
        '# TYPE x_total counter',
        'x_total{a="1",b="say \\"hi\\"\\n"} 3',
        '# HELP y Nothing yet.',
        '# TYPE y gauge',
        '# HELP z Specials.',
        '# TYPE z gauge',
        'z +Inf',
        '',
      ].join('\n'),
    );
    const back = parseText(text);
    assert.deepEqual(back[0]?.labels, { a: '1', b: 'say "hi"\n' });
    assert.equal(back[0]?.type, 'counter');
  });

  test('parsing skips garbage lines, ignores timestamps and assigns histogram samples to their family', () => {
    const samples = parseText(
      [
        '# HELP req_seconds Latency.',
        '# TYPE req_seconds histogram',
        'req_seconds_bucket{le="0.1"} 4',
        'req_seconds_bucket{le="+Inf"} 5 1700000000000',
        'req_seconds_sum 0.7',
        'req_seconds_count 5',
        'this is not a metric',
        'bad{unterminated="x} 1',
        'temp_celsius{room="a b"} -3.5e1',
        'no_value',
      ].join('\n'),
    );
    assert.deepEqual(
      samples.map((s) => [s.name, s.type, s.value]),
      [
        ['req_seconds_bucket', 'histogram', 4],
        ['req_seconds_bucket', 'histogram', 5],
        ['req_seconds_sum', 'histogram', 0.7],
        ['req_seconds_count', 'histogram', 5],
        ['temp_celsius', 'untyped', -35],
      ],
    );
  });

  test('series keys round-trip', () => {
    const key = seriesKey('m', { drive: 'root', x: 'a"b' });
    assert.equal(key, 'm{drive="root",x="a\\"b"}');
    assert.deepEqual(parseSeriesKey(key), { name: 'm', labels: { drive: 'root', x: 'a"b' } });
    assert.deepEqual(parseSeriesKey('plain'), { name: 'plain', labels: {} });
  });
});

describe('custom metrics', () => {
  test('the annotation names a port and a path; bad ports are ignored', () => {
    assert.deepEqual(customTarget({ 'hikube.io/metrics-port': '9100' }), { port: 9100, path: '/metrics' });
    assert.deepEqual(
      customTarget({ 'hikube.io/metrics-port': '80', 'hikube.io/metrics-path': 'cgi-bin/m' }),
      {
        port: 80,
        path: '/cgi-bin/m',
      },
    );
    assert.equal(customTarget({ 'hikube.io/metrics-port': 'http' }), undefined);
    assert.equal(customTarget({ 'hikube.io/metrics-port': '70000' }), undefined);
    assert.equal(customTarget(undefined), undefined);
  });

  test('a guest cannot pose as the platform: its name/namespace labels are renamed and kubevirt_ names dropped', () => {
    const series = customSeries(
      parseText(
        [
          '# TYPE app_requests_total counter',
          'app_requests_total{name="spoof",namespace="x",path="/"} 12',
          'kubevirt_vmi_cpu_usage_seconds_total 1e9',
          '# TYPE app_queue gauge',
          'app_queue 3',
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      series.map((s) => [s.name, s.type, s.labels, s.value, s.family?.type]),
      [
        [
          'app_requests_total',
          'counter',
          { exported_name: 'spoof', exported_namespace: 'x', path: '/' },
          12,
          'counter',
        ],
        ['app_queue', 'gauge', {}, 3, 'gauge'],
      ],
    );
  });
});

describe('QEMU and guest agent answers', () => {
  test('blockstats become per-drive series named after the VMI disk; devices without a disk id are skipped', () => {
    const series = blockSeries([
      {
        'node-name': 'drive0',
        qdev: '/machine/peripheral/disk-rootfs/virtio-backend',
        stats: {
          rd_bytes: 4096,
          wr_bytes: 52428800,
          rd_operations: 2,
          wr_operations: 50,
          wr_total_time_ns: 2_500_000_000,
          flush_operations: 1,
        },
      },
      { 'node-name': 'efi-vars', stats: { rd_bytes: 1 } },
    ]);
    const get = (name: string): number | undefined => series.find((s) => s.name === name)?.value;
    assert.ok(series.every((s) => s.labels['drive'] === 'rootfs'));
    assert.equal(get('kubevirt_vmi_storage_write_traffic_bytes_total'), 52428800);
    assert.equal(get('kubevirt_vmi_storage_iops_write_total'), 50);
    assert.equal(get('kubevirt_vmi_storage_write_times_seconds_total'), 2.5);
    assert.equal(get('kubevirt_vmi_storage_flush_requests_total'), 1);
  });

  test('balloon stats the guest did not report (-1) are left out; nothing before the first update', () => {
    const series = balloonSeries({
      'last-update': 1,
      stats: {
        'stat-total-memory': 100,
        'stat-available-memory': 60,
        'stat-swap-in': -1,
        'stat-major-faults': 3,
      },
    });
    assert.deepEqual(
      series.map((s) => [s.name, s.value]),
      [
        ['kubevirt_vmi_memory_available_bytes', 100],
        ['kubevirt_vmi_memory_usable_bytes', 60],
        ['kubevirt_vmi_memory_pgmajfault_total', 3],
      ],
    );
    assert.deepEqual(balloonSeries({ 'last-update': 0, stats: { 'stat-total-memory': 1 } }), []);
  });

  test('guest NIC counters are matched to the VMI interface by MAC', () => {
    const series = networkSeries(
      [
        { name: 'lo', 'hardware-address': '00:00:00:00:00:00', statistics: { 'rx-bytes': 9 } },
        {
          name: 'eth0',
          'hardware-address': '02:AA:bb:cc:dd:ee',
          statistics: { 'rx-bytes': 1000, 'tx-bytes': 2000, 'rx-dropped': 1 },
        },
      ],
      [{ name: 'default', mac: '02:aa:bb:cc:dd:ee', network: 'default' }],
    );
    assert.deepEqual(
      series.map((s) => [s.name, s.labels, s.value]),
      [
        ['kubevirt_vmi_network_receive_bytes_total', { interface: 'default', network: 'default' }, 1000],
        ['kubevirt_vmi_network_transmit_bytes_total', { interface: 'default', network: 'default' }, 2000],
        [
          'kubevirt_vmi_network_receive_packets_dropped_total',
          { interface: 'default', network: 'default' },
          1,
        ],
      ],
    );
  });

  test('/proc stat lines with spaces in the name; vCPU threads by name; VmRSS', () => {
    const line = '4242 (CPU 1/TCG) S 1 2 3 4 5 6 120 0 7 0 250 50 0 0 20 0 4 0 100 1 2\n';
    assert.deepEqual(parseStat(line), {
      comm: 'CPU 1/TCG',
      state: 'S',
      minflt: 120,
      majflt: 7,
      utime: 2.5,
      stime: 0.5,
    });
    assert.equal(vcpuIndex('CPU 1/TCG'), 1);
    assert.equal(vcpuIndex('CPU 12/KVM'), 12);
    assert.equal(vcpuIndex('qemu-system-x86'), undefined);
    assert.equal(parseRss('Name:\tqemu\nVmRSS:\t  2048 kB\n'), 2048 * 1024);
  });
});

const vmi = (
  name: string,
  phase: string,
  extra: Partial<VirtualMachineInstance['metadata']> = {},
): VirtualMachineInstance =>
  ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      ...extra,
    },
    spec: { domain: { devices: {} } },
    status: {
      phase,
      nodeName: 'node1',
      phaseTransitionTimestamps: [{ phase, phaseTransitionTimestamp: '2026-01-01T00:00:07Z' }],
    },
  }) as unknown as VirtualMachineInstance;

describe("KubeVirt's VMI families", () => {
  test('identity labels: name, namespace, node and the VMI labels as kubernetes_vmi_label_*', () => {
    assert.deepEqual(vmiLabels(vmi('a', 'Running', { labels: { 'kubevirt.io/vm': 'a' } })), {
      kubernetes_vmi_label_kubevirt_io_vm: 'a',
      node: 'node1',
      namespace: 'default',
      name: 'a',
    });
  });

  test('kubevirt_vmi_info has one sample per VMI; phase_count sums them by node and phase', () => {
    const vmis = [
      vmi('a', 'Running'),
      vmi('b', 'Running'),
      vmi('c', 'Scheduled', { annotations: { 'vm.kubevirt.io/os': 'linux' } }),
    ];
    assert.equal(vmiInfoFamily(vmis).samples.length, 3);
    assert.equal(vmiInfoFamily(vmis).samples[0]?.labels['phase'], 'running');
    const counts = phaseCountFamily(vmis).samples.map((s) => [s.labels['phase'], s.labels['os'], s.value]);
    assert.deepEqual(counts, [
      ['running', '', 2],
      ['scheduled', 'linux', 1],
    ]);
  });

  test('a phase transition is observed once, from creation to the phase timestamp', () => {
    const t = new PhaseTransitions();
    t.seed(vmi('a', 'Scheduled'));
    t.update(vmi('a', 'Scheduled'));
    t.update(vmi('a', 'Running'));
    t.update(vmi('a', 'Running'));
    const samples = t.family().samples;
    const le10 = samples.find((s) => s.labels['le'] === '10' && s.labels['phase'] === 'Running');
    const le5 = samples.find((s) => s.labels['le'] === '5' && s.labels['phase'] === 'Running');
    const count = samples.find((s) => s.name?.endsWith('_count'));
    assert.equal(le10?.value, 1);
    assert.equal(le5?.value, 0);
    assert.equal(count?.value, 1);
    assert.equal(samples.find((s) => s.name?.endsWith('_sum'))?.value, 7);
  });
});

describe('control plane registry', () => {
  test('requests are classified as Kubernetes verbs on resources', () => {
    const q = new URLSearchParams();
    assert.deepEqual(classifyRequest('GET', '/apis/kubevirt.io/v1/namespaces/default/virtualmachines', q), {
      verb: 'list',
      group: 'kubevirt.io',
      resource: 'virtualmachines',
      subresource: '',
      longRunning: false,
    });
    assert.equal(classifyRequest('GET', '/api/v1/namespaces/default/pods/p', q).verb, 'get');
    assert.equal(
      classifyRequest('GET', '/api/v1/namespaces', new URLSearchParams('watch=true')).longRunning,
      true,
    );
    assert.equal(
      classifyRequest('PUT', '/apis/subresources.kubevirt.io/v1/namespaces/d/virtualmachines/x/start', q)
        .subresource,
      'start',
    );
    assert.equal(classifyRequest('DELETE', '/api/v1/namespaces/default/secrets', q).verb, 'deletecollection');
  });

  test('histograms are cumulative with +Inf, _sum and _count', () => {
    const h = new Histogram('h_seconds', 'H.', [0.1, 1], ['verb']);
    h.observe({ verb: 'get' }, 0.05);
    h.observe({ verb: 'get' }, 0.5);
    h.observe({ verb: 'get' }, 5);
    assert.deepEqual(
      h.collect().samples.map((s) => [s.name, s.labels['le'] ?? '', s.value]),
      [
        ['h_seconds_bucket', '0.1', 1],
        ['h_seconds_bucket', '1', 2],
        ['h_seconds_bucket', '+Inf', 3],
        ['h_seconds_sum', '', 5.55],
        ['h_seconds_count', '', 3],
      ],
    );
  });

  test('durations and instants in queries', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('1x'), undefined);
    assert.equal(parseInstant('now-1h', 7_200_000), 3_600_000);
    assert.equal(parseInstant('1700000000', 0), 1_700_000_000_000);
    assert.equal(parseInstant('2026-01-01T00:00:00Z', 0), Date.UTC(2026, 0, 1));
  });
});
