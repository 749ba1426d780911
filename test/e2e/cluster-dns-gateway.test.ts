/**
 * Cluster DNS and the pod gateway's lifetime: the pod network makes the gateway link with the first
 * sandbox and removes it with the last, while the server starts with the platform. In a network
 * namespace of the test, the server is started before its address exists, answers once the address
 * appears, and still answers after the link is deleted and made again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../support/platform.js';

const NS = `hkt-dnsgw-${process.pid}`;
const R = 1 + Math.floor(Math.random() * 250);
const ADDRESS = `10.243.${R}.1`;

after(() => {
  try {
    execFileSync('ip', ['netns', 'delete', NS]);
  } catch {
    // Not made.
  }
});

const SCRIPT = String.raw`
const { ClusterDns } = await import(process.argv[1]);
const { createSocket } = await import('node:dgram');
const { execFileSync: x } = await import('node:child_process');
const address = process.argv[2];
const dns = new ClusterDns({ address, port: 53, retryMs: 100, upstream: undefined,
  view: { service: () => undefined, vmis: () => [], probeReady: () => true } });
const bound = dns.start();
const link = () => { x('ip', ['link', 'add', 'gwt', 'type', 'bridge']); x('ip', ['addr', 'add', address + '/24', 'dev', 'gwt']); x('ip', ['link', 'set', 'gwt', 'up']); };
const ask = () => new Promise((resolve) => {
  const c = createSocket('udp4');
  const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...'nope.default.svc.cluster.local'.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0, 0, 1, 0, 1])]);
  const t = setTimeout(() => { c.close(); resolve('none'); }, 2000);
  c.on('message', (m) => { clearTimeout(t); c.close(); resolve('rcode=' + (m.readUInt16BE(2) & 15)); });
  c.send(q, 53, address);
});
await new Promise((r) => setTimeout(r, 500));
console.log('before=' + (await ask()));
link();
await bound;
console.log('after=' + (await ask()));
x('ip', ['link', 'del', 'gwt']);
link();
console.log('again=' + (await ask()));
await dns.stop();
`;

test('cluster DNS listens once the gateway address exists, and across the link being made again', () => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  const module = pathToFileURL(join(repoRoot, 'dist', 'src', 'network', 'dns', 'server.js')).href;
  const out = execFileSync(
    'ip',
    ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', SCRIPT, module, ADDRESS],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.match(out, /^before=none$/m);
  assert.match(out, /^after=rcode=3$/m, out);
  assert.match(out, /^again=rcode=3$/m, out);
});
