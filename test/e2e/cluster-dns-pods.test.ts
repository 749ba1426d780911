/**
 * Cluster DNS from inside a fake pod, as a guest would use it: the server runs in the fake node
 * namespace on the gateway, the Service table DNATs 10.96.0.10:53 to it, and the pod's resolver
 * (glibc's, through /etc/netns/POD/resolv.conf with the search path pods get) resolves a Service's
 * short and full names, a headless Service, `hostname.subdomain`, and an outside name that a fake
 * upstream DNS server in another namespace of the test answers; a Service deleted disappears.
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Service } from '../../src/api/core/service.js';
import type { VirtualMachineInstance } from '../../src/api/kubevirt/vmi.js';
import { clusterDnsEntry } from '../../src/network/dns/server.js';
import { linuxServiceTable } from '../../src/network/services/nft.js';
import { FakeNode, type FakePod } from '../support/fakepods.js';
import { repoRoot } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const GW = '10.244.0.1';
const DNS_IP = '10.96.0.10';
const UPSTREAM_IP = '10.250.0.53';

/**
 * A fake upstream: www.example.org has 203.0.113.7 (a documentation address, never contacted);
 * every other name does not exist, as a real resolver says of `web.default`.
 */
const UPSTREAM = String.raw`
const s = require('dgram').createSocket('udp4');
s.on('message', (q, from) => {
  let at = 12; const labels = [];
  while (q[at] !== 0) { labels.push(q.subarray(at + 1, at + 1 + q[at]).toString()); at += q[at] + 1; }
  at += 5;
  const known = labels.join('.').toLowerCase() === 'www.example.org' && q.readUInt16BE(at - 4) === 1;
  const head = Buffer.from(q.subarray(0, at));
  head.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
  head.writeUInt16BE(known ? 1 : 0, 6); head.writeUInt16BE(0, 8); head.writeUInt16BE(0, 10);
  const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 7]);
  s.send(known ? Buffer.concat([head, rr]) : head, from.port, from.address);
});
s.bind(53, '0.0.0.0', () => process.stdout.write('ready\n'));
`;

const service = (ns: string, name: string, spec: NonNullable<Service['spec']>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec,
});
const vmi = (name: string, ip: string, hostname: string): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name, namespace: 'prod', uid: `uid-${name}`, labels: { app: 'db' } },
  spec: { domain: { devices: {} }, hostname, subdomain: 'db' },
  status: {
    phase: 'Running',
    interfaces: [{ name: 'default', ipAddress: ip, ipAddresses: [ip] }],
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});

function waitLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (seen.split('\n').includes(line)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`child exited (${code ?? 'signal'}) before "${line}"`)));
  });
}

describe('cluster DNS from a fake pod', () => {
  let node: FakeNode;
  let client: FakePod;
  let dns: ChildProcess;
  let upstream: ChildProcess;
  let etc: string;

  /** glibc's answer in the pod (getent ahostsv4): the addresses, or [] when the name does not resolve. */
  const resolve = (name: string): Promise<string[]> =>
    new Promise((done, fail) =>
      execFile(
        'ip',
        ['netns', 'exec', client.netns, 'getent', 'ahostsv4', name],
        { timeout: 15_000 },
        (err, stdout) => {
          if (err !== null && (err as { code?: unknown }).code !== 2)
            return fail(new Error(`getent ${name}: ${err.message}`));
          done(
            [
              ...new Set(
                stdout
                  .split('\n')
                  .map((l) => l.split(/\s+/)[0] ?? '')
                  .filter((x) => x !== ''),
              ),
            ].sort(),
          );
        },
      ),
    );
  const publish = async (services: Service[], vmis: VirtualMachineInstance[]): Promise<void> => {
    const updated = waitLine(dns, 'updated');
    dns.stdin?.write(`${JSON.stringify({ services, vmis })}\n`);
    await updated;
  };

  before(async () => {
    node = await FakeNode.create(GW);
    client = await node.addPod('c', '10.244.0.41');
    const outside = await node.addPod('up', UPSTREAM_IP);
    etc = join('/etc/netns', client.netns);
    await mkdir(etc, { recursive: true });
    await writeFile(
      join(etc, 'resolv.conf'),
      `nameserver ${DNS_IP}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions timeout:2 attempts:2\n`,
    );
    await linuxServiceTable({ netns: node.netns, serviceCidr: '10.96.0.0/16' }).apply({
      table: 'hkdns_svc',
      gateway: GW,
      services: [clusterDnsEntry(DNS_IP, GW)],
    });
    upstream = spawn('ip', ['netns', 'exec', outside.netns, process.execPath, '-e', UPSTREAM], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitLine(upstream, 'ready');
    dns = spawn(
      'ip',
      [
        'netns',
        'exec',
        node.netns,
        process.execPath,
        join(repoRoot, 'dist/test/support/dns-node.js'),
        GW,
        `${UPSTREAM_IP}:53`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    await waitLine(dns, 'ready');
    await publish(
      [
        service('default', 'web', { clusterIP: '10.96.3.4', selector: { app: 'web' } }),
        service('prod', 'db', { clusterIP: 'None', selector: { app: 'db' } }),
      ],
      [vmi('db-1', '10.244.0.51', 'db-1'), vmi('db-2', '10.244.0.52', 'db-2')],
    );
  });

  after(async () => {
    dns.kill();
    upstream.kill();
    await rm(etc, { recursive: true, force: true });
    await node.destroy();
  });

  test('a Service by its full and short names (search path)', async () => {
    assert.deepEqual(await resolve('web.default.svc.cluster.local'), ['10.96.3.4']);
    assert.deepEqual(await resolve('web'), ['10.96.3.4']);
    assert.deepEqual(await resolve('web.default'), ['10.96.3.4']);
  });

  test('a headless Service is its ready VMIs; hostname.subdomain is one VMI', async () => {
    assert.deepEqual(await resolve('db.prod.svc.cluster.local'), ['10.244.0.51', '10.244.0.52']);
    assert.deepEqual(await resolve('db-2.db.prod.svc.cluster.local'), ['10.244.0.52']);
  });

  test('an outside name is answered by the upstream', async () => {
    assert.deepEqual(await resolve('www.example.org'), ['203.0.113.7']);
  });

  test('records change live: a deleted Service stops resolving', async () => {
    await publish([service('prod', 'db', { clusterIP: 'None', selector: { app: 'db' } })], []);
    await eventually(async () => (await resolve('web.default.svc.cluster.local')).length === 0, 'web to go');
    assert.deepEqual(await resolve('db.prod.svc.cluster.local'), []);
  });
});
