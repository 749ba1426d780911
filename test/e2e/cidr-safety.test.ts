/**
 * CIDR safety against the kernel: the routes read from a network namespace this test makes (a
 * bridge with an address stands in for a LAN the host has), and `startPlatform` on the pod network
 * refusing, before it touches anything, a pod CIDR that overlaps its service CIDR.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { guardPodCidrs, readHostRoutes } from '../../src/network/pod/cidr-safety.js';
import { startPlatform } from '../../src/platform/platform.js';
import { uniquePrefix } from '../support/fakepods.js';

const netns = `${uniquePrefix()}r`;
const R = 1 + (process.pid % 250);
const markers = mkdtempSync(join(tmpdir(), 'hikube-cidr-markers-'));

before(() => {
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['-n', netns, 'link', 'add', 'lan0', 'type', 'bridge']);
  execFileSync('ip', ['-n', netns, 'addr', 'add', `10.251.${R}.1/24`, 'dev', 'lan0']);
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lan0', 'up']);
});
after(() => {
  execFileSync('ip', ['netns', 'del', netns]);
  rmSync(markers, { recursive: true, force: true });
});

test('a pod CIDR over a route the host has is refused, naming the route; one apart is claimed', async () => {
  const guard = (podCidr: string): Promise<() => void> =>
    guardPodCidrs({
      podCidr,
      serviceCidr: `10.97.${R}.0/24`,
      dataDir: `/nonexistent/hikube-${netns}`,
      prefix: 'hkzzzzzz',
      routes: () => readHostRoutes(netns),
      markers,
    });
  await assert.rejects(
    guard('10.251.0.0/16'),
    new RegExp(
      `pod CIDR 10\\.251\\.0\\.0/16 overlaps the host's route to 10\\.251\\.${R}\\.0/24 \\(dev lan0\\)`,
    ),
  );
  const release = await guard(`10.252.${R}.0/24`);
  release();
});

test('startPlatform refuses overlapping pod and service CIDRs with a clear message', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hikube-cidr-'));
  try {
    await assert.rejects(
      startPlatform({
        dataDir,
        host: '127.0.0.1',
        port: 0,
        network: { mode: 'pod', podCidr: `10.96.${R}.0/24`, serviceCidr: '10.96.0.0/16' },
      }),
      /refusing to start the pod network:\n {2}the pod CIDR 10\.96\.\d+\.0\/24 and the service CIDR 10\.96\.0\.0\/16 overlap/,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
