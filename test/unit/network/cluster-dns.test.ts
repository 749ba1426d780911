/**
 * Cluster DNS: the Kubernetes naming rules over API objects (a table of names), and the real UDP
 * server on loopback with a fake upstream on loopback: cluster names answered with authority,
 * unknown cluster names NXDOMAIN, AAAA of a known name empty, other names relayed to the upstream
 * and its answer passed back, a silent upstream SERVFAIL, garbage FORMERR or dropped, records
 * following the objects as they change.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import type { Service } from '../../../src/api/core/service.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import {
  buildQuery,
  buildResponse,
  parseQuery,
  RCODE,
  readResponse,
} from '../../../src/network/dns/message.js';
import { lookupClusterName, type ClusterView } from '../../../src/network/dns/records.js';
import { ClusterDns, parseUpstream, upstreamFromResolvConf } from '../../../src/network/dns/server.js';

const services = new Map<string, Service>();
const vmis: VirtualMachineInstance[] = [];
const view: ClusterView = {
  service: (ns, name) => services.get(`${ns}/${name}`),
  vmis: (ns) => vmis.filter((v) => v.metadata.namespace === ns),
  probeReady: () => undefined,
};

function svc(ns: string, name: string, spec: NonNullable<Service['spec']>): void {
  services.set(`${ns}/${name}`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec,
  });
}
function vmi(
  ns: string,
  name: string,
  ip: string,
  extra: Partial<VirtualMachineInstance['spec']> = {},
  ready = true,
): void {
  vmis.push({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: ns, uid: `uid-${name}`, labels: { app: 'db' } },
    spec: { domain: { devices: {} }, ...extra },
    status: {
      phase: 'Running',
      interfaces: [{ name: 'default', ipAddress: ip, ipAddresses: [ip] }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
}

svc('default', 'web', { clusterIP: '10.96.3.4', selector: { app: 'web' } });
svc('prod', 'db', { clusterIP: 'None', selector: { app: 'db' } });
svc('prod', 'ext', { type: 'ExternalName', externalName: 'Example.invalid.' });
svc('prod', 'inner', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' });
svc('prod', 'gone', { type: 'ExternalName', externalName: 'nope.default.svc.cluster.local' });
svc('prod', 'bad', { type: 'ExternalName', externalName: 'under_score..example' });
svc('prod', 'plain', { clusterIP: '10.96.3.5' });
vmi('prod', 'db-1', '10.244.0.31', { hostname: 'db-1', subdomain: 'db' });
vmi('prod', 'db-2', '10.244.0.32', { hostname: 'db-2', subdomain: 'db' });
vmi('prod', 'db-3', '10.244.0.33', {}, false);
vmi('prod', 'other', '10.244.0.34', { hostname: 'x', subdomain: 'plain' });

describe('cluster DNS names', () => {
  const cases: [string, ReturnType<typeof lookupClusterName>][] = [
    ['web.default.svc.cluster.local', { exists: true, addresses: ['10.96.3.4'] }],
    ['WEB.Default.svc.cluster.local.', { exists: true, addresses: ['10.96.3.4'] }],
    ['db.prod.svc.cluster.local', { exists: true, addresses: ['10.244.0.31', '10.244.0.32', '10.244.0.34'] }],
    ['db-1.db.prod.svc.cluster.local', { exists: true, addresses: ['10.244.0.31'] }],
    ['x.plain.prod.svc.cluster.local', { exists: false }],
    ['ext.prod.svc.cluster.local', { exists: true, addresses: [], cname: 'example.invalid' }],
    ['bad.prod.svc.cluster.local', { exists: false }],
    ['web.prod.svc.cluster.local', { exists: false }],
    ['web.default.cluster.local', { exists: false }],
    ['cluster.local', { exists: false }],
    ['example.org', undefined],
    ['web.default.svc.cluster.local.example.org', undefined],
  ];
  for (const [name, want] of cases)
    test(`${name} → ${JSON.stringify(want)}`, () => assert.deepEqual(lookupClusterName(name, view), want));
});

describe('DNS messages', () => {
  test('a query reads back; a response carries its A records', () => {
    const q = parseQuery(buildQuery(4242, 'Web.Default.svc.cluster.local'));
    assert.deepEqual(q.question, { name: 'web.default.svc.cluster.local', type: 1, class: 1 });
    const r = readResponse(buildResponse(q, { rcode: RCODE.noError, addresses: ['10.96.3.4', '1.2.3.4'] }));
    assert.deepEqual(r, { id: 4242, rcode: 0, addresses: ['10.96.3.4', '1.2.3.4'] });
  });
  test('an alias: a CNAME record, then A records owned by its target', () => {
    const q = parseQuery(buildQuery(5, 'ext.prod.svc.cluster.local'));
    const msg = buildResponse(q, { rcode: 0, cname: 'host.example.org', addresses: ['192.0.2.1'] });
    assert.deepEqual(readResponse(msg), {
      id: 5,
      rcode: 0,
      addresses: ['192.0.2.1'],
      cname: 'host.example.org',
    });
    // The A record's owner is a pointer to the name inside the CNAME's data.
    const aOwner = msg.readUInt16BE(12 + q.questionBytes.length + 12 + 'host.example.org'.length + 2);
    assert.equal(aOwner, 0xc000 | (12 + q.questionBytes.length + 12));
  });
  for (const [what, bytes] of [
    ['short', Buffer.from([1, 2, 3])],
    ['no question', Buffer.from([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['a label past the end', Buffer.concat([buildQuery(1, 'a').subarray(0, 12), Buffer.from([40, 97])])],
    [
      'a compression pointer',
      Buffer.concat([buildQuery(1, 'a').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]),
    ],
  ] as const)
    test(`a bad query (${what}) is a format error`, () => assert.throws(() => parseQuery(bytes), /./));
});

describe('cluster DNS server on loopback', () => {
  let dns: ClusterDns;
  let port: number;
  let upstream: Socket;
  let upstreamPort: number;
  let silent: Socket;
  let silentPort: number;
  let client: Socket;

  const ask = (msg: Buffer, to = port): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 3000);
      client.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      client.send(msg, to, '127.0.0.1');
    });
  const query = async (name: string, type = 1): Promise<ReturnType<typeof readResponse>> => {
    const answer = await ask(buildQuery(7, name, type));
    assert.ok(answer !== undefined, `no answer for ${name}`);
    return readResponse(answer);
  };

  before(async () => {
    // The fake upstream answers every name with one documentation address.
    upstream = createSocket('udp4');
    upstream.on('message', (m, from) =>
      upstream.send(
        buildResponse(parseQuery(m), { rcode: 0, addresses: ['203.0.113.7'] }),
        from.port,
        from.address,
      ),
    );
    upstreamPort = await new Promise<number>((r) =>
      upstream.bind(0, '127.0.0.1', () => r(upstream.address().port)),
    );
    silent = createSocket('udp4');
    silentPort = await new Promise<number>((r) =>
      silent.bind(0, '127.0.0.1', () => r(silent.address().port)),
    );
    dns = new ClusterDns({
      address: '127.0.0.1',
      port: 0,
      view,
      upstream: { host: '127.0.0.1', port: upstreamPort },
    });
    port = await dns.start();
    client = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await dns.stop();
    upstream.close();
    silent.close();
    client.close();
  });

  test('cluster names: answers, NXDOMAIN, empty AAAA', async () => {
    assert.deepEqual(await query('web.default.svc.cluster.local'), {
      id: 7,
      rcode: 0,
      addresses: ['10.96.3.4'],
    });
    assert.deepEqual(await query('nope.default.svc.cluster.local'), {
      id: 7,
      rcode: RCODE.nxDomain,
      addresses: [],
    });
    assert.deepEqual(await query('web.default.svc.cluster.local', 28), { id: 7, rcode: 0, addresses: [] });
  });

  test('other names go to the upstream and its answer comes back', async () => {
    assert.deepEqual(await query('www.example.org'), { id: 7, rcode: 0, addresses: ['203.0.113.7'] });
  });

  test('an ExternalName Service: a CNAME, its target resolved by the upstream or the cluster', async () => {
    assert.deepEqual(await query('ext.prod.svc.cluster.local'), {
      id: 7,
      rcode: 0,
      addresses: ['203.0.113.7'],
      cname: 'example.invalid',
    });
    assert.deepEqual(await query('inner.prod.svc.cluster.local'), {
      id: 7,
      rcode: 0,
      addresses: ['10.96.3.4'],
      cname: 'web.default.svc.cluster.local',
    });
    assert.deepEqual(await query('gone.prod.svc.cluster.local'), {
      id: 7,
      rcode: RCODE.nxDomain,
      addresses: [],
      cname: 'nope.default.svc.cluster.local',
    });
    assert.deepEqual(await query('ext.prod.svc.cluster.local', 28), {
      id: 7,
      rcode: 0,
      addresses: [],
      cname: 'example.invalid',
    });
  });

  test('records follow the objects', async () => {
    svc('default', 'late', { clusterIP: '10.96.9.9' });
    assert.deepEqual((await query('late.default.svc.cluster.local')).addresses, ['10.96.9.9']);
    services.delete('default/late');
    assert.equal((await query('late.default.svc.cluster.local')).rcode, RCODE.nxDomain);
  });

  test('a silent upstream gives SERVFAIL; garbage gives FORMERR or nothing, and the server lives on', async () => {
    const quiet = new ClusterDns({
      address: '127.0.0.1',
      port: 0,
      view,
      upstream: { host: '127.0.0.1', port: silentPort },
      upstreamTimeoutMs: 200,
    });
    const quietPort = await quiet.start();
    try {
      const a = await ask(buildQuery(9, 'www.example.org'), quietPort);
      assert.equal(a === undefined ? undefined : readResponse(a).rcode, RCODE.servFail);
    } finally {
      await quiet.stop();
    }
    const bad = await ask(Buffer.from([0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63]));
    assert.equal(bad === undefined ? undefined : readResponse(bad).rcode, RCODE.formErr);
    assert.equal(await ask(Buffer.from([1])), undefined);
    assert.deepEqual((await query('web.default.svc.cluster.local')).addresses, ['10.96.3.4']);
  });

  test('upstream settings: HOST[:PORT], resolv.conf’s first IPv4 nameserver', () => {
    assert.deepEqual(parseUpstream('192.0.2.53'), { host: '192.0.2.53', port: 53 });
    assert.deepEqual(parseUpstream('192.0.2.53:5353'), { host: '192.0.2.53', port: 5353 });
    assert.throws(() => parseUpstream('dns.example'), /not an IPv4 address/);
    assert.throws(() => parseUpstream('1.2.3.4:70000'), /not an IPv4 address/);
    assert.deepEqual(upstreamFromResolvConf('# x\nnameserver ::1\nnameserver 192.0.2.9\n'), {
      host: '192.0.2.9',
      port: 53,
    });
  });
});
