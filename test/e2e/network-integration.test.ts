/**
 * The pod network, kernel Services, cluster DNS and NetworkPolicy together, with real tiny guests
 * (issue 14's "how we will check it"): a guest resolves a Service's full and short name, a headless
 * Service, a hostname.subdomain name, an ExternalName Service and an outside name (a fake upstream DNS server in a network
 * namespace the test makes); wget from a guest reaches the backend VM through a ClusterIP Service,
 * and a VM reaches itself through its own Service (hairpin); a deny-all ingress policy blocks that
 * and an allow rule for one label opens it again for that label only; NodePort and LoadBalancer
 * frontends reach the guest from the host. Own pod CIDR, service CIDR and namespaces per run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { openConsole, type Console } from '../support/guest.js';
import { guestVm, httpName, serverUserData } from '../support/network.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const R = 1 + Math.floor(Math.random() * 250);
const POD_CIDR = `10.247.${R}.0/24`;
const SERVICE_CIDR = `10.98.${R}.0/24`;
const DNS_IP = `10.98.${R}.10`;
const OUTSIDE_NS = `hkt-dns-${process.pid}`;
const OUTSIDE_LINK = `hktd${process.pid % 100000}`;
const OUTSIDE_HOST = `10.252.${R}.1`;
const UPSTREAM = `10.252.${R}.2`;

/** The fake upstream: www.example.org is 203.0.113.7 (a documentation address), nothing else exists. */
const UPSTREAM_JS = String.raw`
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
s.bind(53, '${UPSTREAM}');
`;

/**
 * The lease hook of the tiny image, honouring the search path (DHCP option 119, `$search`) as the
 * image's own hook does from this branch on; applied once more so the result does not depend on
 * the image build in the cache.
 */
const userData = serverUserData(
  [
    "cat > /tmp/lease.sh <<'EOF'",
    '#!/bin/sh',
    'case "$1" in',
    '  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;',
    '  bound | renew)',
    '    ip -4 addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface"',
    '    for r in $router; do ip route add default via "$r" dev "$interface"; break; done',
    '    : >/etc/resolv.conf; for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done',
    '    [ -n "$search$domain" ] && echo "search ${search:-$domain}" >>/etc/resolv.conf ;;',
    'esac',
    'EOF',
    'chmod +x /tmp/lease.sh',
    'for i in 1 2 3 4 5 6; do udhcpc -i eth0 -s /tmp/lease.sh -O search -q -n -t 3 -T 1 >/dev/null 2>&1 && break; done',
  ].join('\n'),
);

let p: TestPlatform;
let upstream: ChildProcess | undefined;
const ip = (args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

before(async () => {
  ip(['netns', 'add', OUTSIDE_NS]);
  ip(['link', 'add', OUTSIDE_LINK, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE_NS]);
  ip(['addr', 'add', `${OUTSIDE_HOST}/30`, 'dev', OUTSIDE_LINK]);
  ip(['link', 'set', OUTSIDE_LINK, 'up']);
  ip(['-n', OUTSIDE_NS, 'addr', 'add', `${UPSTREAM}/30`, 'dev', 'eth0']);
  ip(['-n', OUTSIDE_NS, 'link', 'set', 'eth0', 'up']);
  upstream = spawn('ip', ['netns', 'exec', OUTSIDE_NS, process.execPath, '-e', UPSTREAM_JS], {
    stdio: 'ignore',
  });
  p = await startTestPlatform({
    network: { mode: 'pod', podCidr: POD_CIDR, serviceCidr: SERVICE_CIDR, dnsUpstream: UPSTREAM },
  });
});

after(async () => {
  upstream?.kill('SIGKILL');
  try {
    ip(['netns', 'delete', OUTSIDE_NS]);
  } catch {
    // Not made.
  }
  await p.network.pod?.destroyAll();
  await p.cleanup();
});

/** Runs a shell line on the guest's console and returns what it printed, then `status=N`. */
async function sh(c: Console, line: string, timeoutMs = 30_000): Promise<string> {
  const mark = c.output().length;
  const tag = `END${Math.floor(Math.random() * 1e9)}`;
  c.send(`${line}; echo ${tag}=$?\n`);
  const m = await c.waitFor(new RegExp(`${tag}=(\\d+)`), timeoutMs, mark);
  return `${c.output().slice(mark, mark + (m.index ?? 0))}status=${m[1] ?? ''}`;
}

/** busybox wget crashes with -T in the tiny image: `timeout` bounds it instead. */
const wget = (url: string): string => `timeout 6 wget -q -O - ${url}`;

interface VmiView {
  status?: { phase?: string; interfaces?: { name: string; ipAddress?: string; ipAddresses?: string[] }[] };
}

async function podIpOf(name: string): Promise<string> {
  return eventually(
    async () => {
      const r = await p.kubectl(['get', 'vmi', name, '-o', 'json']);
      if (r.code !== 0) return undefined;
      const v = JSON.parse(r.stdout) as VmiView;
      const addr = v.status?.interfaces?.find((i) => i.name === 'default')?.ipAddress;
      return v.status?.phase === 'Running' && addr !== undefined ? addr : undefined;
    },
    `${name} to run with a pod IP`,
    180_000,
    500,
  );
}

const consoles = new Map<string, Console>();
const ips: Record<string, string> = {};
let clusterIp = '';

describe('network: pod network, Services, DNS and policy with real guests', () => {
  test('three guests boot on the pod network and serve their names', async () => {
    const web = guestVm('web1', { labels: { app: 'web' }, userData }).replace(
      '    spec:\n',
      '    spec:\n      hostname: web1\n      subdomain: webh\n',
    );
    await ok(['apply', '-f', '-'], web);
    await ok(['apply', '-f', '-'], guestVm('c1', { labels: { role: 'client' }, userData }));
    await ok(['apply', '-f', '-'], guestVm('c2', { labels: { role: 'other' }, userData }));
    for (const name of ['web1', 'c1', 'c2']) {
      ips[name] = await podIpOf(name);
      assert.match(ips[name], new RegExp(`^10\\.247\\.${R}\\.\\d+$`));
      await eventually(
        async () => (await httpName(ips[name] ?? '', 8080, 2000).catch(() => '')) === name,
        `${name} to serve its name on its pod IP`,
        120_000,
        500,
      );
      consoles.set(name, await openConsole(p, name));
    }
    const service = (name: string, extra: string[]): string =>
      [
        'apiVersion: v1',
        'kind: Service',
        'metadata:',
        `  name: ${name}`,
        'spec:',
        ...extra,
        '  selector:',
        '    app: web',
        '  ports:',
        '  - port: 80',
        '    targetPort: 8080',
      ].join('\n');
    await ok(['apply', '-f', '-'], service('web', []));
    await ok(['apply', '-f', '-'], service('webh', ['  clusterIP: None']));
    clusterIp = (await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    assert.match(clusterIp, new RegExp(`^10\\.98\\.${R}\\.\\d+$`));
  });

  test('a guest resolves Service, headless, hostname.subdomain and outside names', async () => {
    const c1 = consoles.get('c1');
    assert.ok(c1);
    const resolv = await sh(c1, 'cat /etc/resolv.conf');
    assert.match(resolv, new RegExp(`nameserver ${DNS_IP.replaceAll('.', '\\.')}`));
    assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
    const lookup = async (name: string, want: string): Promise<void> => {
      let out = '';
      await eventually(
        async () => (out = await sh(c1, `nslookup ${name}`)).includes(want),
        `${name} to resolve to ${want}`,
        30_000,
        1000,
      ).catch((err: unknown) => assert.fail(`${String(err)}; last: ${out}`));
    };
    await lookup('web.default.svc.cluster.local', clusterIp);
    await lookup('webh.default.svc.cluster.local', ips['web1'] ?? '?');
    await lookup('web1.webh.default.svc.cluster.local', ips['web1'] ?? '?');
    await lookup('www.example.org', '203.0.113.7');
    // An ExternalName Service: a CNAME to its host, which the upstream resolves.
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n  type: ExternalName\n  externalName: www.example.org\n',
    );
    await lookup('ext.default.svc.cluster.local', '203.0.113.7');
    // The short name, through the search path, as an application resolves it.
    assert.match(await sh(c1, wget('http://web:80/')), /^web1\r?\nstatus=0$/m);
  });

  test('wget to a ClusterIP Service reaches the backend VM, and hairpin works', async () => {
    const c1 = consoles.get('c1');
    const web1 = consoles.get('web1');
    assert.ok(c1 && web1);
    assert.match(await sh(c1, wget(`http://${clusterIp}:80/`)), /^web1\r?\nstatus=0$/m);
    assert.match(await sh(c1, wget('http://web.default.svc.cluster.local:80/')), /^web1\r?\nstatus=0$/m);
    // The backend reaching its own Service.
    assert.match(await sh(web1, wget(`http://${clusterIp}:80/`)), /^web1\r?\nstatus=0$/m);
  });

  test('deny-all ingress blocks the Service; an allow rule for one label opens it for that label', async () => {
    const c1 = consoles.get('c1');
    const c2 = consoles.get('c2');
    assert.ok(c1 && c2);
    const policy = (name: string, ingress: string[]): string =>
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata:',
        `  name: ${name}`,
        'spec:',
        '  podSelector:',
        '    matchLabels:',
        '      app: web',
        '  policyTypes: [Ingress]',
        ...ingress,
      ].join('\n');
    // Both clients reach the Service before any policy, so a failure below is the policy's.
    for (const c of [c1, c2])
      assert.match(await sh(c, wget(`http://${clusterIp}:80/`)), /^web1\r?\nstatus=0$/m);
    await ok(['apply', '-f', '-'], policy('deny-all', []));
    const blocked = (c: Console): Promise<unknown> =>
      eventually(
        async () => !/status=0$/.test(await sh(c, `timeout 4 wget -q -O /dev/null http://${clusterIp}:80/`)),
        'the Service to be blocked',
        30_000,
        500,
      );
    await blocked(c1);
    await blocked(c2);
    await ok(
      ['apply', '-f', '-'],
      policy('allow-clients', [
        '  ingress:',
        '  - from:',
        '    - podSelector:',
        '        matchLabels:',
        '          role: client',
      ]),
    );
    await eventually(
      async () => /^web1\r?\nstatus=0$/m.test(await sh(c1, wget(`http://${clusterIp}:80/`))),
      'c1 (role=client) to reach the Service again',
      30_000,
      500,
    );
    await blocked(c2);
    await ok(['delete', 'networkpolicy', 'deny-all', 'allow-clients']);
    await eventually(
      async () => /^web1\r?\nstatus=0$/m.test(await sh(c2, wget(`http://${clusterIp}:80/`))),
      'c2 to reach the Service once the policies are gone',
      30_000,
      500,
    );
  });

  test('NodePort and LoadBalancer Services reach the guest from the host', async () => {
    await ok(
      ['apply', '-f', '-'],
      [
        'apiVersion: v1',
        'kind: Service',
        'metadata:',
        '  name: web-lb',
        'spec:',
        '  type: LoadBalancer',
        '  selector:',
        '    app: web',
        '  ports:',
        `  - port: ${20000 + R}`,
        '    targetPort: 8080',
      ].join('\n'),
    );
    interface SvcView {
      spec: { ports: { port: number; nodePort?: number }[] };
      status?: { loadBalancer?: { ingress?: { ip?: string; ports?: { port: number }[] }[] } };
    }
    const svc = await eventually(
      async () => {
        const s = JSON.parse(await ok(['get', 'svc', 'web-lb', '-o', 'json'])) as SvcView;
        return s.status?.loadBalancer?.ingress?.[0]?.ip !== undefined ? s : undefined;
      },
      'web-lb to get a load balancer address',
      30_000,
      300,
    );
    const nodePort = svc.spec.ports[0]?.nodePort ?? 0;
    const ingress = svc.status?.loadBalancer?.ingress?.[0];
    const lbPort = ingress?.ports?.[0]?.port ?? svc.spec.ports[0]?.port ?? 0;
    assert.ok(nodePort >= 30000, `a node port (${nodePort})`);
    for (const [host, port] of [
      ['127.0.0.1', nodePort],
      [ingress?.ip ?? '?', lbPort],
    ] as const)
      await eventually(
        async () => (await httpName(host, port, 2000).catch(() => '')) === 'web1',
        `${host}:${port} to answer with web1`,
        30_000,
        500,
      );
  });

  test('the pod IP stays in status.interfaces', async () => {
    const v = JSON.parse(await ok(['get', 'vmi', 'web1', '-o', 'json'])) as VmiView;
    const pod = v.status?.interfaces?.find((i) => i.name === 'default');
    assert.equal(pod?.ipAddress, ips['web1']);
    assert.deepEqual(pod?.ipAddresses, [ips['web1']]);
    for (const c of consoles.values()) c.close();
  });
});
