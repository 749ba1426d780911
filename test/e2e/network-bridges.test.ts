/**
 * Secondary networks with real guests, all inside network namespaces the platform creates: two VMs
 * on one NetworkAttachmentDefinition get their fixed addresses by DHCP, reach each other by IP and
 * by name; a VM on another network, and one on a network of the same name in another namespace,
 * cannot reach them (the three networks share a subnet, so every probe stays on the guests' own
 * segment and nothing is ever routed towards the host). Deleting the VMs removes the segments.
 * With bridges disabled, such a VM gets a clear condition and a default-network VM still runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as yamlToJson } from 'yaml';
import { startPlatform, type Platform } from '../../src/platform/platform.js';
import { openConsole, qemuPids, waitStatus, type Console } from '../support/guest.js';
import { raw } from '../support/http.js';
import { guestVm, serverUserData } from '../support/network.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.network.segments.destroyAll();
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

const nad = (
  name: string,
  namespace: string,
  range: [string, string],
): string => `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  config: '{"cniVersion":"0.3.1","type":"bridge","ipam":{"type":"host-local","subnet":"10.50.0.0/24","rangeStart":"${range[0]}","rangeEnd":"${range[1]}"}}'
`;

/** eth1 gets its lease before the ready marker; DNS then points at the segment's dnsmasq. */
const secondaryUserData = serverUserData(
  'for i in 1 2 3 4 5; do udhcpc -i eth1 -s /usr/share/udhcpc/default.script -q -n -t 3 -T 1 >/dev/null 2>&1 && break; done',
);

const netnsList = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(p.network.segments.prefix));

/** Runs a shell line on the guest's console and returns what it printed before the marker. */
async function sh(c: Console, line: string, timeoutMs = 20_000): Promise<string> {
  const mark = c.output().length;
  const tag = `END${Math.floor(Math.random() * 1e9)}`;
  c.send(`${line}; echo ${tag}=$?\n`);
  const m = await c.waitFor(new RegExp(`${tag}=(\\d+)`), timeoutMs, mark);
  return `${c.output().slice(mark, mark + (m.index ?? 0))}status=${m[1] ?? ''}`;
}

/** Waits until the guest's eth1 has its address from the segment's DHCP server. */
const leased = (c: Console, ip: string): Promise<unknown> =>
  eventually(
    async () => (await sh(c, 'ip -4 -o addr show eth1', 5000)).includes(`inet ${ip}/24`),
    `eth1 to have ${ip}`,
    60_000,
    500,
  );

describe('network: secondary networks (bridges)', () => {
  test('VMs on one network reach each other by IP and name; other networks and namespaces cannot', async () => {
    await ok(['create', 'namespace', 'other']);
    await ok(['apply', '-f', '-'], nad('net-a', 'default', ['10.50.0.10', '10.50.0.49']));
    await ok(['apply', '-f', '-'], nad('net-b', 'default', ['10.50.0.50', '10.50.0.89']));
    await ok(['apply', '-f', '-'], nad('net-a', 'other', ['10.50.0.90', '10.50.0.129']));
    const vms: [string, string, string][] = [
      ['a1', 'default', 'net-a'],
      ['a2', 'default', 'net-a'],
      ['b1', 'default', 'net-b'],
      ['o1', 'other', 'net-a'],
    ];
    for (const [name, namespace, net] of vms)
      await ok(
        ['apply', '-f', '-'],
        guestVm(name, { namespace, networks: { lan: net }, userData: secondaryUserData }),
      );
    const ips: Record<string, string> = {};
    for (const [name, namespace] of vms) {
      const vmi = await eventually(
        async () => {
          const v = JSON.parse(await ok(['get', 'vmi', name, '-n', namespace, '-o', 'json'])) as {
            status?: { phase?: string; interfaces?: { name: string; ipAddress?: string }[] };
          };
          return v.status?.phase === 'Running' ? v : undefined;
        },
        `${namespace}/${name} to run`,
        90_000,
        300,
      );
      ips[name] = vmi.status?.interfaces?.find((i) => i.name === 'lan')?.ipAddress ?? '';
    }
    // Every guest holds its lease (so a probe that fails below fails for isolation, not absence).
    for (const [name, namespace, net] of vms) {
      const leases = join(
        p.dataDir,
        'network',
        'segments',
        p.network.segments.idOf({ namespace, name: net }),
        'leases',
      );
      await eventually(
        async () => (await readFile(leases, 'utf8').catch(() => '')).includes(` ${ips[name] ?? '?'} `),
        `${namespace}/${name} to hold its lease ${ips[name] ?? '?'}`,
        60_000,
        300,
      );
    }

    // a1 and a2 share net-a's range: which one asks first (and gets .10) depends on their boots.
    const a1ip = ips['a1'] ?? '';
    const a2ip = ips['a2'] ?? '';
    assert.deepEqual(
      { a: [a1ip, a2ip].sort(), b1: ips['b1'], o1: ips['o1'] },
      { a: ['10.50.0.10', '10.50.0.11'], b1: '10.50.0.50', o1: '10.50.0.90' },
    );
    const re = (ip: string): string => ip.replace(/\./g, '\\.');
    assert.equal(netnsList().length, 3, 'one namespace per network in use');

    const a1 = await openConsole(p, 'a1');
    try {
      await leased(a1, a1ip);
      assert.match(await sh(a1, 'cat /etc/resolv.conf'), /nameserver 10\.50\.0\.1/);
      assert.match(await sh(a1, `ping -c1 -W2 ${a2ip}`), /1 packets received[\s\S]*status=0/);
      assert.match(await sh(a1, 'nslookup a2 10.50.0.1'), new RegExp(`Address: ${re(a2ip)}`));
      // a2 serves its name over HTTP, reached by name through the segment's DNS. (Static busybox's
      // wget crashes on glibc's NSS lookups; nslookup has its own resolver, nc takes an address.)
      const get = (host: string): string =>
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} 8080 | tail -n1`;
      const byName = get(`$(nslookup a2 10.50.0.1 | sed -n 's/^Address: //p' | tail -n1)`);
      let fetched = '';
      await eventually(
        async () => /^a2\r?\nstatus=0$/m.test((fetched = await sh(a1, byName))),
        'a1 to fetch a2 by name',
        30_000,
        500,
      ).catch((err: unknown) => assert.fail(`${String(err)}; last: ${JSON.stringify(fetched)}`));
      // The other network and the same network name in another namespace are invisible.
      assert.match(await sh(a1, 'ping -c1 -W2 10.50.0.50'), /status=1$/);
      assert.match(await sh(a1, 'ping -c1 -W2 10.50.0.90'), /status=1$/);
      assert.doesNotMatch(await sh(a1, get('10.50.0.90')), /o1/);
      assert.doesNotMatch(await sh(a1, 'nslookup b1 10.50.0.1'), /Address: 10\.50\.0\.50/);
    } finally {
      a1.close();
    }
    const b1 = await openConsole(p, 'b1');
    try {
      await leased(b1, '10.50.0.50');
      assert.match(await sh(b1, `ping -c1 -W2 ${a1ip}`), /status=1$/);
    } finally {
      b1.close();
    }

    for (const [name, namespace] of vms) await ok(['delete', 'vm', name, '-n', namespace]);
    await eventually(
      () => netnsList().length === 0,
      'the segments to be removed with their last VM',
      60_000,
      300,
    );
  });

  test('with bridges disabled a VM on a secondary network gets a clear condition; the default network still works', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hikube-nobridge-'));
    const q: Platform = await startPlatform({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      network: { bridges: false },
    });
    const tp = { ...q, dataDir } as TestPlatform;
    try {
      const create = async (yaml: string): Promise<void> => {
        const r = await raw(
          tp,
          'POST',
          '/apis/kubevirt.io/v1/namespaces/default/virtualmachines',
          JSON.stringify(yamlToJson(yaml)),
        );
        assert.equal(r.code, 201, r.body);
      };
      await raw(
        tp,
        'POST',
        '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions',
        JSON.stringify(yamlToJson(nad('lan', 'default', ['10.50.0.10', '10.50.0.20']))),
      );
      await create(guestVm('bridged', { networks: { lan: 'lan' } }));
      await create(guestVm('plain'));
      const cond = await eventually(
        async () => {
          const v = (
            await raw(tp, 'GET', '/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances/bridged')
          ).json as {
            status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
          };
          return v.status?.conditions?.find((c) => c.type === 'Synchronized' && c.status === 'False');
        },
        'a Synchronized=False condition on the bridged VMI',
        30_000,
        200,
      );
      assert.equal(cond.reason, 'NetworkUnavailable');
      assert.match(
        cond.message ?? '',
        /network "lan" \(NetworkAttachmentDefinition default\/lan\) cannot be set up on this node: secondary networks are disabled/,
      );
      await waitStatus(tp, 'plain', 'Running', 60_000);
    } finally {
      await q.stop();
      for (const pid of qemuPids(dataDir)) process.kill(pid, 'SIGKILL');
      // The agent may still be writing the retried VMI's directory: rm retries.
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  });
});
