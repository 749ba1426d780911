/**
 * Monitoring with real guests: load driven inside one tiny guest (a CPU loop, 50 MiB written to
 * an emptyDisk with O_DIRECT) raises its KubeVirt counters by about that much while an idle guest's
 * stay flat; `kubectl get --raw /metrics` passes promtool; a guest-served endpoint shows up as
 * custom metrics with the VM's labels; `hikube top` and `hikube metrics` read it; history survives
 * a restart of the control plane.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseText, type ParsedSample } from '../../src/metrics/exposition.js';
import { openConsole, waitStatus, type Console } from '../support/guest.js';
import { raw } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const METRICS = { intervalMs: 1000 };
const MiB = 1024 * 1024;
let p: TestPlatform;
let busyConsole: Console | undefined;

before(async () => {
  p = await startTestPlatform({ metrics: METRICS });
});
after(async () => {
  busyConsole?.close();
  await p.cleanup();
});

const PAGE = [
  '# HELP app_jobs_total Jobs done by the app.',
  '# TYPE app_jobs_total counter',
  'app_jobs_total{queue="a"} 42',
  '# HELP app_temperature_celsius Temperature seen by the app.',
  '# TYPE app_temperature_celsius gauge',
  'app_temperature_celsius 21.5',
].join('\\n');

const vmYaml = (name: string, busy: boolean): string => `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ${name}
spec:
  runStrategy: Always
  template:
    metadata:
      labels: {app: ${name}}
${busy ? '      annotations: {hikube.io/metrics-port: "8080", hikube.io/metrics-path: /metrics}\n' : ''}    spec:
      terminationGracePeriodSeconds: 5
      domain:
        devices:
          disks:
          - {name: root, disk: {}}
          - {name: cloudinit, disk: {}}
          - {name: scratch, disk: {}}
        memory: {guest: 128Mi}
      volumes:
      - {name: root, containerDisk: {image: hikube/tiny}}
      - {name: scratch, emptyDisk: {capacity: 300Mi}}
      - name: cloudinit
        cloudInitNoCloud:
          userData: |
            #!/bin/sh
${busy ? `            mkdir -p /www && printf '${PAGE}\\n' > /www/metrics && httpd -p 8080 -h /www\n` : ''}            echo user-data-done
`;

async function scrape(): Promise<ParsedSample[]> {
  const r = await p.kubectl(['get', '--raw', '/metrics']);
  assert.equal(r.code, 0, r.stderr);
  return parseText(r.stdout);
}

function value(samples: ParsedSample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

const rounds = async (): Promise<number> =>
  value(await scrape(), 'hikube_metrics_collection_rounds_total', {}) ?? 0;

/** Waits for `n` more collection rounds, so the next scrape shows what happened before this call. */
async function nextRounds(n = 2): Promise<void> {
  const start = await rounds();
  await eventually(
    async () => ((await rounds()) >= start + n ? true : undefined),
    `${n} collection rounds`,
    30_000,
    200,
  );
}

describe('monitoring: tiny guests under load', () => {
  let scratch = '';

  test('both guests run and their disks, CPU and balloon memory are collected', async () => {
    for (const [name, busy] of [
      ['busy', true],
      ['idle', false],
    ] as const) {
      const r = await p.kubectl(['apply', '-f', '-'], vmYaml(name, busy));
      assert.equal(r.code, 0, r.stderr);
    }
    await waitStatus(p, 'busy', 'Running', 90_000);
    await waitStatus(p, 'idle', 'Running', 90_000);
    busyConsole = await openConsole(p, 'busy');
    await busyConsole.waitFor(/hikube-tiny: ready/, 90_000);
    const mark = busyConsole.output().length;
    busyConsole.send(
      '\nfor d in /sys/block/vd*; do echo "DISK ${d##*/}=$(cat $d/size)"; done; echo "LIST-$((40+2))"\n',
    );
    await busyConsole.waitFor(/LIST-42/, 20_000, mark);
    const listing = busyConsole.output().slice(mark);
    scratch = /DISK (vd[a-z])=614400/.exec(listing)?.[1] ?? '';
    assert.match(scratch, /^vd[a-z]$/, `the 300 MiB emptyDisk is one of the guest's disks:\n${listing}`);

    const samples = await eventually(
      async () => {
        const s = await scrape();
        return value(s, 'kubevirt_vmi_memory_available_bytes', { name: 'busy' }) !== undefined &&
          value(s, 'kubevirt_vmi_storage_write_traffic_bytes_total', { name: 'idle', drive: 'scratch' }) !==
            undefined
          ? s
          : undefined;
      },
      'balloon and disk series of both guests',
      60_000,
      500,
    );
    const busy = { name: 'busy', namespace: 'default', node: p.nodeName };
    assert.equal(value(samples, 'kubevirt_vmi_memory_domain_bytes', busy), 128 * MiB);
    assert.ok((value(samples, 'kubevirt_vmi_memory_resident_bytes', busy) ?? 0) > 20 * MiB);
    const available = value(samples, 'kubevirt_vmi_memory_available_bytes', busy) ?? 0;
    const usable = value(samples, 'kubevirt_vmi_memory_usable_bytes', busy) ?? Infinity;
    assert.ok(available > 40 * MiB && available <= 128 * MiB, `guest total memory ${available}`);
    assert.ok(usable < available, 'usable (MemAvailable) is below the total');
    assert.ok(
      (value(samples, 'kubevirt_vmi_vcpu_seconds_total', { ...busy, id: '0', state: 'running' }) ?? 0) > 0,
    );
    assert.equal(value(samples, 'kubevirt_vmi_info', { ...busy, phase: 'running' }), 1);
    assert.equal(value(samples, 'kubevirt_vmi_phase_count', { node: p.nodeName, phase: 'running' }), 2);
    assert.equal(
      samples.find((s) => s.name === 'kubevirt_vmi_cpu_usage_seconds_total' && s.labels['name'] === 'busy')
        ?.labels['kubernetes_vmi_label_app'],
      'busy',
      "the VMI's labels come along as kubernetes_vmi_label_*",
    );
    // The tiny guest has no guest agent: no NIC counters (documented), nothing made up.
    assert.equal(value(samples, 'kubevirt_vmi_network_receive_bytes_total', busy), undefined);
  });

  test('writing 50 MiB to a disk raises its write counters by at least 50 MiB; the idle guest writes nothing', async () => {
    const c = busyConsole;
    assert.ok(c !== undefined && scratch !== '');
    await nextRounds();
    const before = await scrape();
    const wrote = (s: ParsedSample[], name: string): number =>
      value(s, 'kubevirt_vmi_storage_write_traffic_bytes_total', { name, drive: 'scratch' }) ?? NaN;
    const ops = (s: ParsedSample[]): number =>
      value(s, 'kubevirt_vmi_storage_iops_write_total', { name: 'busy', drive: 'scratch' }) ?? NaN;
    const mark = c.output().length;
    c.send(`dd if=/dev/zero of=/dev/${scratch} bs=1M count=50 oflag=direct; echo "DD-$((40+2))"\n`);
    await c.waitFor(/DD-42/, 120_000, mark);
    await nextRounds();
    const afterDd = await scrape();
    const written = wrote(afterDd, 'busy') - wrote(before, 'busy');
    assert.ok(
      written >= 50 * MiB,
      `busy wrote ${written} bytes; console:\n${c.output().slice(mark)}\n${JSON.stringify(afterDd.filter((x) => x.name === 'kubevirt_vmi_storage_write_traffic_bytes_total'))}`,
    );
    assert.ok(written < 60 * MiB, `busy wrote ${written} bytes, not much more than dd did`);
    assert.ok(ops(afterDd) - ops(before) >= 50, 'at least one write operation per 1 MiB block');
    assert.ok(wrote(afterDd, 'idle') - wrote(before, 'idle') < MiB, 'the idle guest wrote nothing');
  });

  test('a CPU loop in one guest shows in its CPU counters; the idle guest stays near flat', async () => {
    const c = busyConsole;
    assert.ok(c !== undefined);
    await nextRounds();
    const before = await scrape();
    const t0 = Date.now();
    const mark = c.output().length;
    c.send('(while :; do :; done) & LOOP=$!; sleep 8; kill $LOOP; echo "LOOP-$((40+2))"\n');
    await c.waitFor(/LOOP-42/, 60_000, mark);
    await nextRounds();
    const afterLoop = await scrape();
    const seconds = (Date.now() - t0) / 1000;
    const cpu = (s: ParsedSample[], name: string): number =>
      value(s, 'kubevirt_vmi_cpu_usage_seconds_total', { name }) ?? NaN;
    const busy = cpu(afterLoop, 'busy') - cpu(before, 'busy');
    const idle = cpu(afterLoop, 'idle') - cpu(before, 'idle');
    const vcpu = (s: ParsedSample[]): number =>
      value(s, 'kubevirt_vmi_vcpu_seconds_total', { name: 'busy', id: '0' }) ?? NaN;
    // Under TCG on a loaded 2-core host the loop gets well under a full core; idle stays near zero.
    assert.ok(busy >= 2, `busy used ${busy.toFixed(2)} CPU s in ${seconds.toFixed(1)} s (an 8 s loop)`);
    assert.ok(vcpu(afterLoop) - vcpu(before) >= 1.5, 'the vCPU thread did the work');
    assert.ok(idle < 0.1 * seconds, `idle used ${idle.toFixed(2)} CPU s in ${seconds.toFixed(1)} s`);
    assert.ok(busy > 5 * idle);
  });

  test('/metrics, read with kubectl get --raw, passes promtool check metrics', async () => {
    // A missing promtool fails the test (scripts/setup.sh installs prometheus, which provides it).
    assert.equal(spawnSync('promtool', ['--version']).error, undefined, 'promtool is not installed');
    const r = await p.kubectl(['get', '--raw', '/metrics']);
    assert.equal(r.code, 0, r.stderr);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.stdout, encoding: 'utf8' });
    // KubeVirt's own name kubevirt_vmi_phase_count breaks promtool's `_count` naming lint; we keep
    // the name dashboards use. Any other problem, or a parse error, fails.
    const problems = `${check.stdout}${check.stderr}`
      .split('\n')
      .filter(
        (l) =>
          l.trim() !== '' &&
          !/^kubevirt_vmi_phase_count non-histogram and non-summary metrics should not have "_count" suffix$/.test(
            l.trim(),
          ),
      );
    assert.ok(check.status === 0 || check.status === 3, `promtool exited ${check.status}: ${check.stderr}`);
    assert.deepEqual(problems, []);
    assert.match(r.stdout, /^apiserver_request_duration_seconds_bucket\{.*verb="list".*\} \d+/m);
    const unauthenticated = await raw(p, 'GET', '/metrics', undefined, {}, null);
    assert.equal(unauthenticated.code, 401);
  });

  test('the scrape token reads /metrics and nothing else', async () => {
    const scrapeToken = readFileSync(join(p.dataDir, 'pki', 'scrape.token'), 'utf8').trim();
    assert.notEqual(scrapeToken, p.token);
    const scraped = await raw(p, 'GET', '/metrics', undefined, {}, scrapeToken);
    assert.equal(scraped.code, 200);
    assert.match(scraped.body, /^kubevirt_vmi_phase_count\{/m);
    for (const [method, path] of [
      ['GET', '/api/v1/namespaces/default/secrets'],
      ['GET', '/apis/kubevirt.io/v1/virtualmachines'],
      ['DELETE', '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/busy'],
      ['GET', '/apis/metrics.hikube.io/v1alpha1/virtualmachineinstances'],
    ] as const) {
      const r = await raw(p, method, path, undefined, {}, scrapeToken);
      assert.equal(r.code, 403, `${method} ${path}: ${r.body}`);
      assert.equal(r.json['reason'], 'Forbidden');
      assert.match(String(r.json['message']), /the scrape token may only GET \/metrics/);
    }
    assert.equal((await raw(p, 'GET', '/metrics', undefined, {}, `${scrapeToken}x`)).code, 401);
  });

  test("metrics served inside the guest appear in /metrics with the VM's labels", async () => {
    const samples = await eventually(
      async () => {
        const s = await scrape();
        return value(s, 'app_jobs_total', { name: 'busy' }) !== undefined ? s : undefined;
      },
      'the guest-served app_jobs_total',
      30_000,
      500,
    );
    const labels = { name: 'busy', namespace: 'default', node: p.nodeName };
    assert.equal(value(samples, 'app_jobs_total', { ...labels, queue: 'a' }), 42);
    assert.equal(samples.find((s) => s.name === 'app_jobs_total')?.type, 'counter');
    assert.equal(value(samples, 'app_temperature_celsius', labels), 21.5);
    assert.equal(value(samples, 'app_jobs_total', { name: 'idle' }), undefined);
  });

  test('hikube top shows both guests; hikube metrics returns the disk history', async () => {
    const top = await p.hikube(['top', 'vm']);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^NAME\s+CPU\s+MEMORY\(RSS\)/);
    assert.match(top.stdout, /^busy\s+\d+\.\d%\s+\d+(\.\d)?MiB/m);
    assert.match(top.stdout, /^idle\s+/m);
    const json = await p.hikube([
      'metrics',
      'busy',
      '--metric',
      'kubevirt_vmi_storage_write_traffic_bytes_total',
      '--label',
      'drive=scratch',
      '--since',
      '10m',
      '--fn',
      'increase',
      '-o',
      'json',
    ]);
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as {
      series: { labels: Record<string, string>; points: [number, number][] }[];
    };
    assert.equal(list.series.length, 1);
    const total = list.series[0]?.points.reduce((a, [, v]) => a + v, 0) ?? 0;
    assert.ok(total >= 50 * MiB, `history holds ${total} bytes written`);
    const table = await p.hikube(['metrics', 'busy', '--since', '5m', '--step', '30s']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TIME\s+rate\(cpu_usage_seconds_total\)\s+memory_resident_bytes/);
  });

  test('history survives a restart of the control plane, and collection resumes', async () => {
    const query = async (): Promise<[number, number][]> => {
      const r = await raw(
        p,
        'GET',
        `/apis/metrics.hikube.io/v1alpha1/namespaces/default/virtualmachineinstances/busy/series?metric=kubevirt_vmi_storage_write_traffic_bytes_total&label=drive%3Dscratch&start=${start}&end=${end}&step=10s&fn=increase`,
      );
      assert.equal(r.code, 200, r.body);
      return (r.json['series'] as { points: [number, number][] }[])[0]?.points ?? [];
    };
    const end = Math.floor(Date.now() / 1000);
    const start = end - 600;
    const before = await query();
    assert.ok(before.reduce((a, [, v]) => a + v, 0) >= 50 * MiB);
    const dataDir = p.dataDir;
    await p.stop();
    p = await startTestPlatform({ dataDir, metrics: METRICS });
    assert.deepEqual(await query(), before, 'the same history after the restart');
    await waitStatus(p, 'busy', 'Running');
    const after = await eventually(
      async () => {
        const r = await raw(
          p,
          'GET',
          `/apis/metrics.hikube.io/v1alpha1/namespaces/default/virtualmachineinstances/busy/series?metric=kubevirt_vmi_memory_resident_bytes&since=20s&step=1s`,
        );
        const pts = (r.json['series'] as { points: [number, number][] }[] | undefined)?.[0]?.points ?? [];
        return pts.some(([t]) => t > end) ? pts : undefined;
      },
      'new samples after the restart',
      30_000,
      500,
    );
    assert.ok(after.length > 0);
  });
});

describe('monitoring: a guest with the guest agent (debian:12)', () => {
  test('NIC counters per VMI interface and filesystems come from the guest agent', async () => {
    const manifest = `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: deb
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 5
      domain:
        devices:
          disks:
          - {name: root, disk: {}}
          - {name: cloudinit, disk: {}}
        memory: {guest: 512Mi}
      volumes:
      - {name: root, containerDisk: {image: "debian:12"}}
      - {name: cloudinit, cloudInitNoCloud: {userData: "#cloud-config\\n{}"}}
`;
    const r = await p.kubectl(['apply', '-f', '-'], manifest);
    assert.equal(r.code, 0, r.stderr);
    const samples = await eventually(
      async () => {
        const s = await scrape();
        return value(s, 'kubevirt_vmi_filesystem_capacity_bytes', { name: 'deb', mount_point: '/' }) !==
          undefined && value(s, 'kubevirt_vmi_network_receive_bytes_total', { name: 'deb' }) !== undefined
          ? s
          : undefined;
      },
      'network and filesystem series of the debian guest',
      240_000,
      1000,
    );
    const nic = { name: 'deb', namespace: 'default', interface: 'default', network: 'default' };
    assert.ok((value(samples, 'kubevirt_vmi_network_receive_bytes_total', nic) ?? 0) > 0, 'DHCP came in');
    assert.ok((value(samples, 'kubevirt_vmi_network_transmit_packets_total', nic) ?? 0) > 0);
    assert.equal(value(samples, 'kubevirt_vmi_network_receive_errors_total', nic), 0);
    const root = { name: 'deb', mount_point: '/', file_system_type: 'ext4' };
    const capacity = value(samples, 'kubevirt_vmi_filesystem_capacity_bytes', root) ?? 0;
    const used = value(samples, 'kubevirt_vmi_filesystem_used_bytes', root) ?? Infinity;
    assert.ok(capacity > 1024 * MiB && used > 100 * MiB && used < capacity, `root fs ${used} of ${capacity}`);
    const del = await p.kubectl(['delete', 'vm', 'deb']);
    assert.equal(del.code, 0, del.stderr);
  });
});
