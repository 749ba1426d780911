/**
 * The routed pod network with real guests (tiny image, masquerade and bridge bindings), on a pod
 * CIDR of the test's own (10.248.R.0/24) and an "outside" network namespace the test creates
 * (10.251.R.0/30): VMs reach each other's pod IPs across namespaces; guests reach nothing on the
 * host (gateway, 0.0.0.0 and loopback listeners) but the outside through NAT; the default NIC's tap
 * counters rise with traffic; Services and port-forward connect to the pod IP; a secondary network
 * works beside it; a VM keeps its pod IP across `hikube restart`; sandboxes survive a control-plane
 * restart; and deleting the VMs (through the new control plane) leaves no namespace, link,
 * nftables table or dnsmasq behind.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseText } from '../../src/metrics/exposition.js';
import { openConsole, type Console } from '../support/guest.js';
import { guestVm, httpName, serverUserData } from '../support/network.js';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const R = 1 + Math.floor(Math.random() * 250);
const POD_CIDR = `10.248.${R}.0/24`;
const GATEWAY = `10.248.${R}.1`;
const OUTSIDE_NS = `hkt-out-${process.pid}`;
const OUTSIDE_HOST = `10.251.${R}.1`;
const OUTSIDE_SERVER = `10.251.${R}.2`;
const OUTSIDE_LINK = `hkto${process.pid % 100000}`;

let p: TestPlatform;
let outsideServer: ChildProcess | undefined;
const listeners: Server[] = [];

const ip = (args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

before(async () => {
  p = await startTestPlatform({ network: { mode: 'pod', podCidr: POD_CIDR }, metrics: { intervalMs: 1000 } });
  // The "outside": a namespace behind a veth, with an HTTP server answering the client's address.
  ip(['netns', 'add', OUTSIDE_NS]);
  ip(['link', 'add', OUTSIDE_LINK, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE_NS]);
  ip(['addr', 'add', `${OUTSIDE_HOST}/30`, 'dev', OUTSIDE_LINK]);
  ip(['link', 'set', OUTSIDE_LINK, 'up']);
  ip(['-n', OUTSIDE_NS, 'addr', 'add', `${OUTSIDE_SERVER}/30`, 'dev', 'eth0']);
  ip(['-n', OUTSIDE_NS, 'link', 'set', 'eth0', 'up']);
  ip(['-n', OUTSIDE_NS, 'link', 'set', 'lo', 'up']);
  outsideServer = spawn(
    'ip',
    [
      'netns',
      'exec',
      OUTSIDE_NS,
      process.execPath,
      '-e',
      `require('http').createServer((q, s) => s.end('from=' + q.socket.remoteAddress + '\\n')).listen(8080, '${OUTSIDE_SERVER}')`,
    ],
    { stdio: 'ignore' },
  );
});

after(async () => {
  outsideServer?.kill('SIGKILL');
  for (const l of listeners) l.close();
  try {
    ip(['netns', 'delete', OUTSIDE_NS]);
  } catch {
    // Not made.
  }
  await p.network.pod?.destroyAll();
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

/** eth0 gets its lease from the sandbox's dnsmasq (again, if the boot's try came before the tap joined). */
const userData = serverUserData(
  'ip -4 addr show eth0 | grep -q "inet " || for i in 1 2 3 4 5; do udhcpc -i eth0 -s /usr/share/udhcpc/default.script -q -n -t 3 -T 1 >/dev/null 2>&1 && break; done',
);

/** Runs a shell line on the guest's console and returns what it printed before the marker. */
async function sh(c: Console, line: string, timeoutMs = 20_000): Promise<string> {
  const mark = c.output().length;
  const tag = `END${Math.floor(Math.random() * 1e9)}`;
  c.send(`${line}; echo ${tag}=$?\n`);
  const m = await c.waitFor(new RegExp(`${tag}=(\\d+)`), timeoutMs, mark);
  return `${c.output().slice(mark, mark + (m.index ?? 0))}status=${m[1] ?? ''}`;
}

const get = (host: string, port = 8080): string =>
  `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port} | tail -n1`;

interface VmiView {
  metadata: { uid: string };
  status?: { phase?: string; interfaces?: { name: string; ipAddress?: string; ipAddresses?: string[] }[] };
}

async function running(name: string, namespace = 'default', notUid?: string): Promise<VmiView> {
  return eventually(
    async () => {
      const r = await p.kubectl(['get', 'vmi', name, '-n', namespace, '-o', 'json']);
      if (r.code !== 0) return undefined;
      const v = JSON.parse(r.stdout) as VmiView;
      return v.status?.phase === 'Running' && v.metadata.uid !== notUid ? v : undefined;
    },
    `${namespace}/${name} to run`,
    120_000,
    300,
  );
}

const podIp = (v: VmiView): string =>
  v.status?.interfaces?.find((i) => i.name === 'default')?.ipAddress ?? '';

/** The guest answers on its pod IP (so a probe that fails below fails for policy, not absence). */
const serving = (ip: string, name: string): Promise<unknown> =>
  eventually(
    async () => (await httpName(ip, 8080, 2000).catch(() => '')) === name,
    `${name} on ${ip}`,
    90_000,
    500,
  );

const ips: Record<string, string> = {};

describe('network: the routed pod network', () => {
  test('VMs get pod IPs and reach each other across namespaces', async () => {
    await ok(['create', 'namespace', 'other']);
    const vms: [string, string][] = [
      ['a1', 'default'],
      ['a2', 'default'],
      ['o1', 'other'],
      ['b1', 'default'],
    ];
    for (const [name, namespace] of vms) {
      const yaml = guestVm(name, { namespace, userData });
      // b1 has the bridge binding: the pod IP itself in the guest.
      await ok(['apply', '-f', '-'], name === 'b1' ? yaml.replace('masquerade: {}', 'bridge: {}') : yaml);
    }
    for (const [name, namespace] of vms) {
      const v = await running(name, namespace);
      ips[name] = podIp(v);
      assert.match(ips[name], new RegExp(`^10\\.248\\.${R}\\.\\d+$`), `${name}'s pod IP is in the pod CIDR`);
      assert.deepEqual(v.status?.interfaces?.find((i) => i.name === 'default')?.ipAddresses, [ips[name]]);
    }
    assert.equal(new Set(Object.values(ips)).size, 4, 'four distinct pod IPs');
    // The VMI's IP column shows the pod IP.
    assert.match(await ok(['get', 'vmi', 'a1']), new RegExp(ips['a1']?.replaceAll('.', '\\.') ?? '?'));
    for (const [name] of vms) await serving(ips[name] ?? '', name);

    const a1 = await openConsole(p, 'a1');
    try {
      assert.match(await sh(a1, 'ip -4 -o addr show eth0'), /inet 10\.0\.2\.2\/24/);
      assert.match(await sh(a1, get(ips['a2'] ?? '')), /^a2\r?\nstatus=0$/m);
      assert.match(await sh(a1, get(ips['o1'] ?? '')), /^o1\r?\nstatus=0$/m);
      assert.match(await sh(a1, get(ips['b1'] ?? '')), /^b1\r?\nstatus=0$/m);
    } finally {
      a1.close();
    }
    const b1 = await openConsole(p, 'b1');
    try {
      assert.match(await sh(b1, 'ip -4 -o addr show eth0'), new RegExp(`inet ${ips['b1'] ?? '?'}/24`));
      assert.match(await sh(b1, get(ips['a2'] ?? '')), /^a2\r?\nstatus=0$/m);
      assert.match(await sh(b1, get(ips['o1'] ?? '')), /^o1\r?\nstatus=0$/m);
    } finally {
      b1.close();
    }
    const o1 = await openConsole(p, 'o1', 'other');
    try {
      assert.match(await sh(o1, get(ips['a1'] ?? '')), /^a1\r?\nstatus=0$/m);
    } finally {
      o1.close();
    }
  });

  test('guests reach nothing on the host, but the outside through NAT', async () => {
    const listen = (host: string): Promise<number> =>
      new Promise((resolve) => {
        const s = createServer((c) => c.end('HOST-REACHED\n'));
        listeners.push(s);
        s.listen(0, host, () => resolve((s.address() as { port: number }).port));
      });
    const loopback = await listen('127.0.0.1');
    const onGateway = await listen(GATEWAY);
    const anywhere = await listen('0.0.0.0');
    // The 0.0.0.0 listener answers on a host address when asked from the test's outside namespace.
    // (Asynchronously: the listener is in this process.)
    const control = await new Promise<string>((resolve) =>
      execFile(
        'ip',
        ['netns', 'exec', OUTSIDE_NS, 'sh', '-c', `sleep 1 | busybox nc -w 3 ${OUTSIDE_HOST} ${anywhere}`],
        { encoding: 'utf8', timeout: 10_000 },
        (_err, stdout) => resolve(stdout),
      ),
    );
    assert.match(control, /HOST-REACHED/);
    const a1 = await openConsole(p, 'a1');
    try {
      const targets = [
        [GATEWAY, onGateway],
        [GATEWAY, anywhere],
        [GATEWAY, loopback],
        [OUTSIDE_HOST, anywhere],
        [GATEWAY, Number(new URL(p.url).port)],
      ] as const;
      for (const [host, port] of targets) {
        const out = await sh(a1, `sleep 1 | nc -w 2 ${host} ${port}`);
        assert.doesNotMatch(out, /HOST-REACHED|HTTP/, `${host}:${port} must not be reachable from a guest`);
      }
      let fetched = '';
      await eventually(
        async () => (fetched = await sh(a1, get(OUTSIDE_SERVER))).includes(`from=${OUTSIDE_HOST}`),
        'a1 to reach the outside server, masqueraded to the host address',
        30_000,
        1000,
      ).catch((err: unknown) => assert.fail(`${String(err)}; last: ${JSON.stringify(fetched)}`));
    } finally {
      a1.close();
    }
  });

  test('the default NIC has tap counters that rise with traffic', async () => {
    const rx = async (): Promise<number | undefined> => {
      const r = await p.kubectl(['get', '--raw', '/metrics']);
      return parseText(r.stdout).find(
        (s) =>
          s.name === 'kubevirt_vmi_network_receive_bytes_total' &&
          s.labels['name'] === 'a2' &&
          s.labels['interface'] === 'default',
      )?.value;
    };
    const before = await eventually(rx, 'a2 to have network counters', 30_000, 500);
    for (let i = 0; i < 20; i++) assert.equal(await httpName(ips['a2'] ?? '', 8080), 'a2');
    await eventually(
      async () => ((await rx()) ?? 0) > before + 20 * 40,
      'a2 received bytes to rise with 20 requests',
      30_000,
      500,
    );
  });

  test('Services and port-forward reach a VM at its pod IP (no host forward)', async () => {
    await hikubeOk(p, ['expose', 'vm', 'a2', '--name', 'web', '--port', '80', '--target-port', '8080']);
    const svc = JSON.parse(await ok(['get', 'svc', 'web', '-o', 'json'])) as { spec: { clusterIP: string } };
    await eventually(
      async () => (await httpName(svc.spec.clusterIP, 80, 2000).catch(() => '')) === 'a2',
      'the cluster IP to answer with a2',
      60_000,
      500,
    );
    const stream = await p.agent.actions.portForward('default', 'a2', 8080);
    const answer = await new Promise<string>((resolve, reject) => {
      let data = '';
      stream.on('data', (d: Buffer) => (data += d.toString()));
      stream.once('end', () => resolve(data));
      stream.once('error', reject);
      stream.write('GET / HTTP/1.0\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.[01] 200[\s\S]*\r\n\r\na2\n?$/);
    await ok(['delete', 'svc', 'web']);
  });

  test('a secondary network works beside the pod network', async () => {
    await ok(
      ['apply', '-f', '-'],
      `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: lan}
spec:
  config: '{"cniVersion":"0.3.1","type":"bridge","ipam":{"type":"host-local","subnet":"10.50.0.0/24","rangeStart":"10.50.0.10","rangeEnd":"10.50.0.20"}}'
`,
    );
    await ok(
      ['apply', '-f', '-'],
      guestVm('s1', {
        networks: { lan: 'lan' },
        userData: serverUserData(
          'for i in 1 2 3 4 5; do udhcpc -i eth1 -s /usr/share/udhcpc/default.script -q -n -t 3 -T 1 >/dev/null 2>&1 && break; done',
        ),
      }),
    );
    const v = await running('s1');
    assert.equal(v.status?.interfaces?.find((i) => i.name === 'lan')?.ipAddress, '10.50.0.10');
    ips['s1'] = podIp(v);
    assert.match(ips['s1'], new RegExp(`^10\\.248\\.${R}\\.\\d+$`));
    await serving(ips['s1'], 's1');
    const s1 = await openConsole(p, 's1');
    try {
      await eventually(
        async () => (await sh(s1, 'ip -4 -o addr show eth1', 5000)).includes('inet 10.50.0.10/24'),
        'eth1 to have its lease',
        60_000,
        500,
      );
    } finally {
      s1.close();
    }
    await ok(['delete', 'vm', 's1']);
  });

  test('a VM keeps its pod IP across hikube restart', async () => {
    const first = await running('a1');
    await hikubeOk(p, ['restart', 'a1']);
    const second = await running('a1', 'default', first.metadata.uid);
    assert.equal(podIp(second), ips['a1']);
    await serving(ips['a1'] ?? '', 'a1');
  });

  test('sandboxes survive a control-plane restart: guests stay reachable, the new platform finds them', async () => {
    const sandboxes = p.network.pod?.list().length ?? 0;
    await p.stop();
    assert.equal(
      await httpName(ips['a2'] ?? '', 8080),
      'a2',
      'the guest is reachable while no platform runs',
    );
    p = await startTestPlatform({
      dataDir: p.dataDir,
      network: { mode: 'pod', podCidr: POD_CIDR },
      metrics: { intervalMs: 1000 },
    });
    assert.equal(p.network.pod?.list().length, sandboxes);
    await running('a2');
    // The re-attached guest is reached at its pod IP (port-forward reads it from the sandbox state).
    const stream = await eventually(
      () => p.agent.actions.portForward('default', 'a2', 8080).catch(() => undefined),
      'a2 to be re-attached',
      30_000,
      500,
    );
    const answer = await new Promise<string>((resolve, reject) => {
      let data = '';
      stream.on('data', (d: Buffer) => (data += d.toString()));
      stream.once('end', () => resolve(data));
      stream.once('error', reject);
      stream.write('GET / HTTP/1.0\r\n\r\n');
    });
    assert.match(answer, /\r\n\r\na2\n?$/);
  });

  test('deleting the VMs removes every sandbox, link, table and dnsmasq', async () => {
    const pod = p.network.pod;
    assert.ok(pod !== undefined);
    assert.ok(pod.list().length > 0);
    await ok(['delete', 'vm', 'a1', 'a2', 'b1']);
    await ok(['delete', 'vm', 'o1', '-n', 'other']);
    const leftovers = (): string[] => {
      const out: string[] = [];
      out.push(
        ...ip(['netns', 'list'])
          .split('\n')
          .filter((l) => l.startsWith(`${pod.prefix}-`)),
      );
      out.push(
        ...ip(['-br', 'link'])
          .split('\n')
          .filter((l) => l.startsWith(pod.prefix)),
      );
      out.push(
        ...execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })
          .split('\n')
          .filter((l) => l.includes(pod.table)),
      );
      out.push(
        ...execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
          .split('\n')
          .filter((l) => l.startsWith('dnsmasq') && l.includes(p.dataDir)),
      );
      return out;
    };
    await eventually(
      () => leftovers().length === 0,
      'nothing of the pod network to be left',
      90_000,
      500,
    ).catch((err: unknown) => assert.fail(`${String(err)}: ${leftovers().join('; ')}`));
  });
});
