/**
 * CIDR safety at start (src/network/pod/cidr-safety.ts): the pod and service ranges may not overlap
 * each other or a route the host already has (other than this platform's own), and two platforms
 * on one host may not hold overlapping pod CIDRs while both run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createHash } from 'node:crypto';
import {
  cidrConflicts,
  claimPodCidr,
  guardPodCidrs,
  platformPrefixOf,
  type HostRoute,
} from '../../../src/network/pod/cidr-safety.js';

const routes: HostRoute[] = [
  { dst: 'default', dev: 'eth0' },
  { dst: '192.0.2.0/24', dev: 'eth0' },
  { dst: '10.244.7.0/24', dev: 'docker0' },
  { dst: '10.244.0.5', dev: 'hkabc123v0f0f0f' },
  { dst: '10.244.0.0/16', dev: 'hkabc123gw' },
  { dst: '10.96.0.0/16', dev: 'lo' },
];
const ours = (dev: string): boolean => dev.startsWith('hkabc123');

test('conflicts: each one named, with the flag that changes it', () => {
  const cases: [string, string, RegExp[]][] = [
    [
      '10.244.0.0/16',
      '10.96.0.0/16',
      [/overlaps the host's route to 10\.244\.7\.0\/24 \(dev docker0\).*--pod-cidr/],
    ],
    ['10.245.0.0/16', '10.96.0.0/16', []],
    [
      '10.96.0.0/24',
      '10.96.0.0/16',
      [/pod CIDR 10\.96\.0\.0\/24 and the service CIDR 10\.96\.0\.0\/16 overlap/],
    ],
    [
      '10.245.0.0/16',
      '192.0.2.0/26',
      [/service CIDR 192\.0\.2\.0\/26 overlaps the host's route to 192\.0\.2\.0\/24.*--service-cidr/],
    ],
    ['10.0.0.0/8', '10.96.0.0/16', [/overlap/, /10\.244\.7\.0\/24/]],
  ];
  for (const [podCidr, serviceCidr, want] of cases) {
    const got = cidrConflicts({ podCidr, serviceCidr, routes, ours });
    assert.equal(got.length, want.length, `${podCidr} + ${serviceCidr}: ${got.join('; ')}`);
    want.forEach((re, i) => assert.match(got[i] ?? '', re));
  }
});

const dir = mkdtempSync(join(tmpdir(), 'hikube-cidr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a second platform with an overlapping pod CIDR is refused while the first runs', () => {
  const alive = new Set([100]);
  const isAlive = (pid: number): boolean => alive.has(pid);
  const release = claimPodCidr('10.244.0.0/16', '/data/a', dir, 100, isAlive);
  assert.throws(
    () => claimPodCidr('10.244.128.0/17', '/data/b', dir, 200, isAlive),
    /overlaps 10\.244\.0\.0\/16 of another hikube on this host \(data dir \/data\/a, pid 100\).*--pod-cidr/,
  );
  claimPodCidr('10.245.0.0/16', '/data/b', dir, 200, isAlive)(); // apart: fine
  claimPodCidr('10.244.0.0/16', '/data/a', dir, 101, isAlive)(); // the same data dir restarting
  const again = claimPodCidr('10.244.0.0/16', '/data/a', dir, 100, isAlive);
  alive.delete(100); // crashed: its marker is stale
  claimPodCidr('10.244.0.0/16', '/data/b', dir, 200, isAlive)();
  again();
  release();
  assert.deepEqual(readdirSync(dir), [], 'a release removes the marker');
});

test("a dead platform's pod links are removed, a live one's left to its marker, others still conflict", async () => {
  const prefix = (dataDir: string): string =>
    `hk${createHash('sha256').update(dataDir).digest('hex').slice(0, 6)}`;
  const live = prefix('/data/live');
  const markers = mkdtempSync(join(tmpdir(), 'hk-cidr-markers-'));
  const release = claimPodCidr('10.250.0.0/24', '/data/live', markers, process.pid);
  const removed: string[] = [];
  const hostRoutes: HostRoute[] = [
    { dst: '10.244.0.0/16', dev: 'hkdead00gw' }, // a crashed platform whose data dir is gone
    { dst: '10.244.0.9', dev: 'hkdead00v0a0b0c' },
    { dst: '10.250.0.0/24', dev: `${live}gw` }, // a live platform's: its marker speaks for it
    { dst: '10.244.0.0/16', dev: 'hk65fae2aa614' }, // not a pod link name: a conflict as any route
  ];
  try {
    await assert.rejects(
      guardPodCidrs({
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.96.0.0/16',
        dataDir: '/data/new',
        prefix: prefix('/data/new'),
        routes: () => Promise.resolve(hostRoutes),
        markers,
        removeLink: (dev) => Promise.resolve(void removed.push(dev)),
      }),
      (err: Error) => {
        assert.doesNotMatch(err.message, /hkdead00/);
        assert.match(err.message, /route to 10\.244\.0\.0\/16 \(dev hk65fae2aa614\)/);
        return true;
      },
    );
    assert.deepEqual(removed, ['hkdead00gw', 'hkdead00v0a0b0c']);
    assert.equal(platformPrefixOf(`${live}gw`), live);
    assert.equal(platformPrefixOf('hk65fae2aa614'), undefined);
    await assert.rejects(
      guardPodCidrs({
        podCidr: '10.250.0.0/16',
        serviceCidr: '10.96.0.0/16',
        dataDir: '/data/new',
        prefix: prefix('/data/new'),
        routes: () => Promise.resolve([hostRoutes[2] as HostRoute]),
        markers,
        removeLink: () => Promise.reject(new Error('a live platform link must not be removed')),
      }),
      /overlaps 10\.250\.0\.0\/24 of another hikube on this host/,
    );
  } finally {
    release();
    rmSync(markers, { recursive: true, force: true });
  }
});
