/**
 * The start-up sweep against the kernel (PodNetwork.resume with the real iproute2 adapter): a pod
 * namespace and a host-side veth named with this data dir's prefix but recorded nowhere (a crashed
 * run's) are removed; a namespace of another data dir's prefix, made by this test too, is not.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCidr } from '../../src/api/network/cni.js';
import { linuxLinks } from '../../src/network/linux.js';
import { linuxPodLinks } from '../../src/network/pod/linux.js';
import { PodNetwork } from '../../src/network/pod/pod.js';

const dataDir = mkdtempSync(join(tmpdir(), 'hikube-sweep-'));
const other = mkdtempSync(join(tmpdir(), 'hikube-sweep-other-'));
const R = 1 + (process.pid % 250);
const make = (d: string): PodNetwork =>
  new PodNetwork({
    dataDir: d,
    cidr: parseCidr(`10.253.${R}.0/24`) ?? assert.fail('cidr'),
    dns: '10.96.0.10',
    links: linuxPodLinks,
    taps: linuxLinks,
    vmExists: () => false,
  });
const pod = make(dataDir);
const foreign = `${make(other).prefix}-pod-0123456789`;
const leftover = `${pod.prefix}-pod-0123456789`;
const veth = `${pod.prefix}vabcdef`;

after(() => {
  for (const n of [leftover, foreign])
    if (existsSync(`/run/netns/${n}`)) execFileSync('ip', ['netns', 'del', n]);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(other, { recursive: true, force: true });
});

test('a crashed run’s pod namespace and veth are swept; another data dir’s are not', async () => {
  execFileSync('ip', ['netns', 'add', leftover]);
  execFileSync('ip', ['netns', 'add', foreign]);
  execFileSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', leftover]);
  await pod.resume();
  assert.equal(existsSync(`/run/netns/${leftover}`), false, 'the leftover namespace is gone');
  assert.equal(existsSync(`/sys/class/net/${veth}`), false, 'the leftover veth is gone');
  assert.equal(existsSync(`/run/netns/${foreign}`), true, 'another platform’s namespace is kept');
});
