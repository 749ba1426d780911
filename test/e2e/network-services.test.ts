/**
 * The default network and Services, with real tiny guests: a guest reaches a server the test runs
 * on the host side (outbound NAT through 10.0.2.2, host loopback); its VMI shows MAC and IP; the
 * MAC survives a restart. `hikube expose` puts a LoadBalancer over two VMs serving their names:
 * connections alternate, the EndpointSlice lists both, the cluster IP and node port answer too;
 * a guest whose server dies is taken out by the health check and comes back when it returns; a
 * stopped VM leaves at once; UDP is balanced as well; a readiness probe keeps a VM out until it passes.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openConsole, tinyVm, waitStatus, waitTinyReady } from '../support/guest.js';
import { guestVm, HTTP_PORT, httpName, serverUserData, UDP_PORT, udpAsk } from '../support/network.js';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
/** What guests sent to the host-side server, one line per connection. */
const received: string[] = [];
const hostServer = createServer((s) => {
  let data = '';
  s.on('data', (d: Buffer) => (data += d.toString()));
  s.on('end', () => {
    received.push(data.trim());
    s.end();
  });
});

before(async () => {
  await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));
  p = await startTestPlatform();
});
after(async () => {
  hostServer.close();
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);
const json = async <T>(args: string[]): Promise<T> => JSON.parse(await ok([...args, '-o', 'json'])) as T;

interface SvcView {
  spec: {
    clusterIP: string;
    ports: { port: number; nodePort?: number; protocol: string; targetPort: number }[];
    selector: Record<string, string>;
  };
  status?: { loadBalancer?: { ingress?: { ip: string; ports: { port: number; protocol: string }[] }[] } };
}
interface SliceList {
  items: {
    endpoints: { addresses: string[]; conditions: { ready: boolean }; targetRef: { name: string } }[];
    ports: { port: number }[];
  }[];
}

const lbAddress = async (name: string): Promise<{ ip: string; port: number }> =>
  eventually(
    async () => {
      const svc = await json<SvcView>(['get', 'svc', name]);
      const ing = svc.status?.loadBalancer?.ingress?.[0];
      const port = ing?.ports[0]?.port;
      return ing === undefined || port === undefined ? undefined : { ip: ing.ip, port };
    },
    `load balancer address of ${name}`,
    20_000,
    200,
  );

/** Names answering `n` consecutive requests. */
const names = async (ask: () => Promise<string>, n: number): Promise<string[]> => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await ask());
  return out;
};

describe('network: default network and services', () => {
  test('two VMs serve their names; each reaches a server on the host side; VMI status shows MAC and IP', async () => {
    const port = (hostServer.address() as AddressInfo).port;
    const callHome = `(for i in $(seq 1 60); do echo "hello from $(hostname)" | nc 10.0.2.2 ${port} && break; sleep 1; done) &`;
    for (const name of ['web-a', 'web-b'])
      await ok(
        ['apply', '-f', '-'],
        guestVm(name, { labels: { app: 'web' }, userData: serverUserData(callHome) }),
      );
    await waitStatus(p, 'web-a', 'Running', 60_000);
    await waitStatus(p, 'web-b', 'Running', 60_000);
    await eventually(
      () => received.includes('hello from web-a') && received.includes('hello from web-b'),
      `both guests to reach the host-side server (got ${JSON.stringify(received)})`,
      60_000,
      200,
    );
    const vmi = await json<{ status: { interfaces: { name: string; mac: string; ipAddress: string }[] } }>([
      'get',
      'vmi',
      'web-a',
    ]);
    assert.equal(vmi.status.interfaces[0]?.name, 'default');
    assert.equal(vmi.status.interfaces[0]?.ipAddress, '10.0.2.15');
    assert.match(vmi.status.interfaces[0]?.mac ?? '', /^02(:[0-9a-f]{2}){5}$/);
  });

  test('hikube expose makes a LoadBalancer; connections alternate between the VMs; cluster IP and node port answer', async () => {
    const out = await hikube([
      'expose',
      'vm',
      'web-a',
      '--name',
      'web',
      '--port',
      '80',
      '--target-port',
      String(HTTP_PORT),
      '--type',
      'LoadBalancer',
    ]);
    assert.match(out, /Service web successfully exposed for vm web-a/);
    const svc = await json<SvcView>(['get', 'svc', 'web']);
    assert.deepEqual(
      svc.spec.selector,
      { app: 'web' },
      'the selector is the template labels, as virtctl makes it',
    );
    assert.match(svc.spec.clusterIP, /^127\./);
    const lb = await lbAddress('web');
    assert.equal(lb.ip, '127.0.0.1');
    // Both backends pass their health check, then round robin alternates.
    await eventually(
      async () => new Set(await names(() => httpName(lb.ip, lb.port), 4)).size === 2,
      'both VMs to answer through the load balancer',
      60_000,
      300,
    );
    const seq = await names(() => httpName(lb.ip, lb.port), 6);
    for (let i = 1; i < seq.length; i++)
      assert.notEqual(seq[i], seq[i - 1], `round robin alternates: ${seq.join(',')}`);
    assert.deepEqual(new Set(seq), new Set(['web-a', 'web-b']));

    const slices = await json<SliceList>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
    const endpoints = slices.items[0]?.endpoints ?? [];
    assert.deepEqual(endpoints.map((e) => [e.targetRef.name, e.conditions.ready, e.addresses[0]]).sort(), [
      ['web-a', true, '10.0.2.15'],
      ['web-b', true, '10.0.2.15'],
    ]);
    assert.equal(slices.items[0]?.ports[0]?.port, HTTP_PORT);

    const fresh = await json<SvcView>(['get', 'svc', 'web']);
    assert.match(
      await httpName(fresh.spec.clusterIP, 80),
      /^web-[ab]$/,
      'the cluster IP answers on the service port',
    );
    const nodePort = fresh.spec.ports[0]?.nodePort ?? 0;
    assert.ok(nodePort >= 30000 && nodePort <= 32767);
    assert.match(await httpName('127.0.0.1', nodePort), /^web-[ab]$/, 'the node port answers');
    assert.match(await ok(['get', 'svc', 'web']), /web\s+LoadBalancer\s+127\.\S+\s+127\.0\.0\.1\s+80/);
  });

  test('a guest whose server dies is taken out by the health check within its period, and comes back', async () => {
    const lb = await lbAddress('web');
    const console = await openConsole(p, 'web-b');
    try {
      console.send('\nkillall httpd\n');
      const since = Date.now();
      // Default check: every 2 s, 1 s timeout, out after 2 failures.
      await eventually(
        async () => (await names(() => httpName(lb.ip, lb.port), 4)).every((n) => n === 'web-a'),
        'all traffic to go to web-a',
        15_000,
        100,
      );
      const took = Date.now() - since;
      assert.ok(took < 2 * 2000 + 1000 + 2000, `out within the check period (took ${took} ms)`);
      const events = await ok(['describe', 'svc', 'web']);
      assert.match(events, /BackendUnhealthy/);
      console.send(`httpd -p ${HTTP_PORT} -h /tmp/www\n`);
      await eventually(
        async () => new Set(await names(() => httpName(lb.ip, lb.port), 4)).size === 2,
        'web-b to be back',
        15_000,
        200,
      );
    } finally {
      console.close();
    }
  });

  test('UDP is balanced too', async () => {
    await hikube([
      'expose',
      'vm',
      'web-a',
      '--name',
      'echo',
      '--port',
      '5353',
      '--target-port',
      String(UDP_PORT),
      '--protocol',
      'UDP',
      '--type',
      'LoadBalancer',
    ]);
    const lb = await lbAddress('echo');
    await eventually(
      async () => {
        const answers = await names(() => udpAsk(lb.ip, lb.port, 'ping', 1500), 4);
        return new Set(answers).size === 2 && answers.every((a) => /^web-[ab] ping$/.test(a));
      },
      'both VMs to answer UDP through the load balancer',
      30_000,
      300,
    );
  });

  test('a stopped VM leaves the load balancer at once; started again, it is back', async () => {
    const lb = await lbAddress('web');
    await hikube(['stop', 'web-b']);
    await eventually(
      async () => (await names(() => httpName(lb.ip, lb.port), 4)).every((n) => n === 'web-a'),
      'all traffic to go to web-a',
      10_000,
      100,
    );
    await waitStatus(p, 'web-b', 'Stopped', 30_000);
    const slices = await json<SliceList>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
    assert.deepEqual(
      slices.items[0]?.endpoints.map((e) => e.targetRef.name),
      ['web-a'],
    );
    await hikube(['start', 'web-b']);
    await eventually(
      async () => new Set(await names(() => httpName(lb.ip, lb.port), 4)).size === 2,
      'web-b to be back after start',
      60_000,
      300,
    );
  });

  test('a readiness probe keeps a VM out of its services until it passes', async () => {
    await ok(
      ['apply', '-f', '-'],
      guestVm('web-c', {
        labels: { app: 'probed' },
        readinessProbe: [
          'httpGet: {port: 8080, path: /ready.html}',
          'periodSeconds: 1',
          'failureThreshold: 1',
        ],
      }),
    );
    await hikube(['expose', 'vm', 'web-c', '--name', 'probed', '--port', '8080', '--type', 'NodePort']);
    await waitStatus(p, 'web-c', 'Running', 60_000);
    const console = await openConsole(p, 'web-c');
    try {
      await waitTinyReady(console);
      const slice = async (): Promise<boolean | undefined> =>
        (await json<SliceList>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=probed'])).items[0]
          ?.endpoints[0]?.conditions.ready;
      await eventually(async () => (await slice()) === false, 'web-c listed, not ready', 20_000, 200);
      const svc = await json<SvcView>(['get', 'svc', 'probed']);
      await assert.rejects(
        httpName('127.0.0.1', svc.spec.ports[0]?.nodePort ?? 0, 2000),
        'no backend while not ready',
      );
      console.send('\necho ok > /tmp/www/ready.html\n');
      await eventually(
        async () => (await slice()) === true,
        'web-c ready once /ready.html exists',
        20_000,
        200,
      );
      await eventually(
        async () => (await httpName('127.0.0.1', svc.spec.ports[0]?.nodePort ?? 0, 2000)) === 'web-c',
        'web-c to answer through its node port',
        20_000,
        200,
      );
    } finally {
      console.close();
    }
  });

  test('the MAC address is the same after a restart', async () => {
    const before = await json<{ metadata: { uid: string }; status: { interfaces: { mac: string }[] } }>([
      'get',
      'vmi',
      'web-a',
    ]);
    await hikube(['restart', 'web-a']);
    const after = await eventually(
      async () => {
        const v = await json<{
          metadata: { uid: string };
          status?: { phase?: string; interfaces?: { mac: string }[] };
        }>(['get', 'vmi', 'web-a']);
        return v.metadata.uid !== before.metadata.uid && v.status?.phase === 'Running' ? v : undefined;
      },
      'a new VMI after restart',
      60_000,
      200,
    );
    assert.equal(after.status?.interfaces?.[0]?.mac, before.status.interfaces[0]?.mac);
  });

  test('expose: a VM template without labels is selected by vm.kubevirt.io/name; bad flags are refused', async () => {
    await ok(['apply', '-f', '-'], tinyVm('quiet', { runStrategy: 'Halted' }));
    const svc = JSON.parse(
      await hikube([
        'expose',
        'vm',
        'quiet',
        '--port',
        '22',
        '--type',
        'NodePort',
        '--dry-run',
        '-o',
        'json',
      ]),
    ) as SvcView & { spec: { type: string } };
    assert.deepEqual(svc.spec.selector, { 'vm.kubevirt.io/name': 'quiet' });
    assert.equal(svc.spec.type, 'NodePort');
    const bad = await p.hikube(['expose', 'vm', 'quiet', '--port', '22', '--type', 'Ingress']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--type must be one of ClusterIP, NodePort, LoadBalancer/);
  });
});
