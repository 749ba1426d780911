/**
 * `hikube up` flags that shape networking and admission: a bad --lb-pool or feature gate is a usage
 * error before anything starts; a good pool is where LoadBalancer services get their address, and
 * the admin switches reach admission.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { raw } from '../support/http.js';
import { repoRoot } from '../support/platform.js';
import { testPodCidr, up } from '../support/up.js';
import { eventually } from '../support/wait.js';

describe('hikube up flags', () => {
  test('--lb-pool that is not an address or CIDR is refused, and nothing is created', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-up-'));
    try {
      const r = spawnSync(
        join(repoRoot, 'bin', 'hikube'),
        [
          'up',
          '--data-dir',
          join(dir, 'data'),
          '--listen',
          '127.0.0.1:0',
          '--lb-pool',
          '127.0.0.1,10.0.0.0/99',
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /--lb-pool: load balancer pool: "10\.0\.0\.0\/99" is not an IPv4 CIDR/);
      assert.equal(spawnSync('test', ['-e', join(dir, 'data')]).status, 1, 'no data dir was made');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('LoadBalancer services get their address from --lb-pool', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-up-'));
    const child = await up(dir, ['--lb-pool', '127.0.111.0/30']);
    try {
      const svc = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 8080 }] },
      };
      const r = await raw(child.platform, 'POST', '/api/v1/namespaces/default/services', JSON.stringify(svc));
      assert.equal(r.code, 201, r.body);
      const ingress = await eventually(
        async () => {
          const got = await raw(child.platform, 'GET', '/api/v1/namespaces/default/services/web');
          const s = JSON.parse(got.body) as { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } };
          return s.status?.loadBalancer?.ingress?.[0]?.ip;
        },
        'the service to get a load balancer address',
        20_000,
        200,
      );
      assert.equal(ingress, '127.0.111.1');
    } finally {
      child.proc.kill('SIGTERM');
      await new Promise((r) => child.proc.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const [flag, value, message] of [
    ['--service-cidr', '10.96.0.0/99', /--service-cidr: service CIDR "10\.96\.0\.0\/99" is not an IPv4 CIDR/],
    [
      '--service-cidr',
      '10.96.0.0/30',
      /--service-cidr: service CIDR 10\.96\.0\.0\/30 is too small \(at most \/28\)/,
    ],
    ['--dns-upstream', 'dns.example', /--dns-upstream: DNS upstream "dns\.example" is not an IPv4 address/],
  ] as const)
    test(`${flag} ${value} is a usage error, and nothing is created`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hikube-up-'));
      try {
        const r = spawnSync(
          join(repoRoot, 'bin', 'hikube'),
          ['up', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', flag, value],
          { encoding: 'utf8', timeout: 30_000 },
        );
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, message);
        assert.equal(spawnSync('test', ['-e', join(dir, 'data')]).status, 1, 'no data dir was made');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

  test('cluster IPs come from --service-cidr', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-up-'));
    const child = await up(dir, ['--service-cidr', '127.31.0.0/24']);
    try {
      const svc = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ port: 8080 }] },
      };
      const r = await raw(child.platform, 'POST', '/api/v1/namespaces/default/services', JSON.stringify(svc));
      assert.equal(r.code, 201, r.body);
      const ip = await eventually(
        async () => {
          const got = await raw(child.platform, 'GET', '/api/v1/namespaces/default/services/web');
          return (JSON.parse(got.body) as { spec?: { clusterIP?: string } }).spec?.clusterIP;
        },
        'a cluster IP',
        20_000,
        200,
      );
      assert.match(ip, /^127\.31\.0\.\d+$/);
      const outside = await raw(
        child.platform,
        'POST',
        '/api/v1/namespaces/default/services',
        JSON.stringify({
          ...svc,
          metadata: { name: 'fixed' },
          spec: { ...svc.spec, clusterIP: '127.16.0.9' },
        }),
      );
      assert.equal(outside.code, 422, 'a cluster IP outside the range is refused');
    } finally {
      child.proc.kill('SIGTERM');
      await new Promise((r) => child.proc.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an unknown --feature-gates name is a usage error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-up-'));
    try {
      const r = spawnSync(
        join(repoRoot, 'bin', 'hikube'),
        ['up', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', '--feature-gates', 'HostDisks'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.notEqual(r.status, 0);
      assert.match(
        r.stderr,
        /--feature-gates: unknown feature gate "HostDisks"; known gates \(KubeVirt v1\.9\.0\): .*\bHostDisk\b/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('--allow-external-ips and --feature-gates HostDisk reach admission', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-up-'));
    const child = await up(dir, ['--allow-external-ips', '--feature-gates', 'HostDisk']);
    try {
      const svc = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ext' },
        spec: { selector: { app: 'ext' }, ports: [{ port: 80 }], externalIPs: ['198.51.100.7'] },
      };
      const s = await raw(child.platform, 'POST', '/api/v1/namespaces/default/services', JSON.stringify(svc));
      assert.equal(s.code, 201, s.body);
      const vm = {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'hd' },
        spec: {
          runStrategy: 'Halted',
          template: {
            spec: {
              domain: { devices: {}, resources: { requests: { memory: '128Mi' } } },
              volumes: [{ name: 'host', hostDisk: { path: '/var/tmp/hd.img', type: 'Disk' } }],
            },
          },
        },
      };
      const v = await raw(
        child.platform,
        'POST',
        '/apis/kubevirt.io/v1/namespaces/default/virtualmachines',
        JSON.stringify(vm),
      );
      assert.equal(v.code, 201, v.body);
    } finally {
      child.proc.kill('SIGTERM');
      await new Promise((r) => child.proc.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    }
  });
  test('--network and --pod-cidr: bad values are usage errors; the start-up line says which network runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-up-'));
    try {
      for (const [args, error] of [
        [['--network', 'slirp'], /--network\/--pod-cidr: "slirp" is not "pod" or "user"/],
        [
          ['--pod-cidr', '10.1.0.0/28'],
          /--network\/--pod-cidr: pod CIDR "10\.1\.0\.0\/28" is not an IPv4 CIDR of at least \/24/,
        ],
      ] as const) {
        const r = spawnSync(
          join(repoRoot, 'bin', 'hikube'),
          ['up', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', ...args],
          { encoding: 'utf8', timeout: 30_000 },
        );
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, error);
        assert.equal(spawnSync('test', ['-e', join(dir, 'data')]).status, 1, 'no data dir was made');
      }
      // As root with the tools installed (as here), the pod network runs without --network. (up()
      // gives each data dir a pod CIDR of its own: the default 10.244.0.0/16 would be refused
      // beside another test's platform holding it; the default itself is unit-tested in options.)
      for (const [args, line] of [
        [
          [],
          new RegExp(
            `^network: routed pod network ${testPodCidr(join(dir, 'data-0')).replace(/\./g, '\\.')} `,
            'm',
          ),
        ],
        [['--network', 'user'], /^network: QEMU user networking \(asked for\)/m],
      ] as const) {
        const child = await up(join(dir, `data-${args.length}`), [...args]);
        try {
          await eventually(() => line.test(child.output()), `the start-up line ${String(line)}`, 10_000, 100);
        } finally {
          child.proc.kill('SIGTERM');
          await new Promise((r) => child.proc.once('exit', r));
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
