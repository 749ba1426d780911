/**
 * The seed's "direct connection": a NetworkAttachmentDefinition annotated `hikube.io/host-bridge:
 * "true"` puts VM NICs on an existing bridge of the host. The test builds a stand-in for a LAN that
 * stays on this machine: a bridge with no address and no uplink in the host namespace, joined by a
 * veth whose other end is in a network namespace the test creates, where dnsmasq plays the LAN's
 * DHCP server. The guest gets its address from that server, and the "LAN" reaches the guest's HTTP
 * server directly (no NAT, no forward). Bad host-bridge definitions are refused with causes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseText } from '../../src/metrics/exposition.js';
import { openConsole } from '../support/guest.js';
import { guestVm, serverUserData } from '../support/network.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const tag = Math.floor(Math.random() * 0xffff)
  .toString(16)
  .padStart(4, '0');
const BRIDGE = `hkb${tag}`;
const LAN = `hklan${tag}`;
const VETH_HOST = `hkv${tag}a`;
const VETH_LAN = `hkv${tag}b`;
const LAN_ADDRESS = '10.78.0.1';

let p: TestPlatform;
let lanDir: string;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

before(async () => {
  p = await startTestPlatform({ metrics: { intervalMs: 1000 } });
  lanDir = await mkdtemp(join(tmpdir(), 'hikube-lan-'));
  ip('link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
  ip('link', 'set', BRIDGE, 'up');
  ip('netns', 'add', LAN);
  ip('link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_LAN);
  ip('link', 'set', VETH_HOST, 'master', BRIDGE, 'up');
  ip('link', 'set', VETH_LAN, 'netns', LAN);
  ip('-n', LAN, 'addr', 'add', `${LAN_ADDRESS}/24`, 'dev', VETH_LAN);
  ip('-n', LAN, 'link', 'set', VETH_LAN, 'up');
  ip('-n', LAN, 'link', 'set', 'lo', 'up');
  execFileSync('ip', [
    'netns',
    'exec',
    LAN,
    'dnsmasq',
    '--conf-file=/dev/null',
    '--port=0',
    `--pid-file=${join(lanDir, 'dnsmasq.pid')}`,
    `--dhcp-leasefile=${join(lanDir, 'leases')}`,
    '--bind-interfaces',
    `--interface=${VETH_LAN}`,
    '--dhcp-range=10.78.0.50,10.78.0.60,255.255.255.0,1h',
  ]);
});

after(async () => {
  spawnSync('sh', ['-c', `kill $(cat ${join(lanDir, 'dnsmasq.pid')}) 2>/dev/null`]);
  spawnSync('ip', ['netns', 'delete', LAN]);
  spawnSync('ip', ['link', 'del', VETH_HOST]);
  spawnSync('ip', ['link', 'del', BRIDGE]);
  await rm(lanDir, { recursive: true, force: true });
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

/** The guest's counter for its `lan` NIC in /metrics, or undefined while there is none. */
async function lanCounter(name: string): Promise<number | undefined> {
  const text = await ok(['get', '--raw', '/metrics']);
  return parseText(text).find(
    (s) => s.name === name && s.labels['name'] === 'direct' && s.labels['interface'] === 'lan',
  )?.value;
}

const hostBridgeNad = (name: string, config: string): string => `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ${name}
  annotations:
    hikube.io/host-bridge: "true"
spec:
  config: '${config}'
`;

describe('network: host bridge (direct connection)', () => {
  test('a host-bridge network without a bridge name, or with IPAM, is refused with a cause on spec.config', async () => {
    const r = await p.kubectl(
      ['apply', '-f', '-'],
      hostBridgeNad('bad', '{"type":"bridge","ipam":{"type":"host-local","subnet":"10.78.0.0/24"}}'),
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.config: Required value: "bridge", the name of the host bridge/);
    assert.match(r.stderr, /spec\.config: Forbidden: "ipam" on a host-bridge network/);
    const other = await p.kubectl(
      ['apply', '-f', '-'],
      hostBridgeNad('bad', '{"type":"bridge","bridge":"x"}').replace('"true"', '"yes"'),
    );
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /metadata\.annotations\[hikube\.io\/host-bridge\]: Unsupported value: "yes"/);
  });

  test('the guest gets its address from the LAN and the LAN reaches it directly', async () => {
    await ok(
      ['apply', '-f', '-'],
      hostBridgeNad('uplink', `{"cniVersion":"0.3.1","type":"bridge","bridge":"${BRIDGE}"}`),
    );
    await ok(
      ['apply', '-f', '-'],
      guestVm('direct', {
        networks: { lan: 'uplink' },
        userData: serverUserData(
          'for i in 1 2 3 4 5 6 7 8; do udhcpc -i eth1 -s /usr/share/udhcpc/default.script -q -n -t 3 -T 1 >/dev/null 2>&1 && break; done',
        ),
      }),
    );
    await eventually(
      async () =>
        (JSON.parse(await ok(['get', 'vmi', 'direct', '-o', 'json'])) as { status?: { phase?: string } })
          .status?.phase === 'Running',
      'the VM to run',
      90_000,
      300,
    );
    const c = await openConsole(p, 'direct');
    try {
      const guestIp = await eventually(
        async () => {
          const mark = c.output().length;
          c.send('ip -4 -o addr show eth1; echo DONE-$((40+2))\n');
          await c.waitFor(/DONE-42/, 5000, mark);
          return /inet (10\.78\.0\.\d+)\//.exec(c.output().slice(mark))?.[1];
        },
        'eth1 to get an address from the LAN',
        90_000,
        1000,
      );
      // The VMI reports no address for the NIC itself (the LAN, not this node, assigned it).
      const vmi = JSON.parse(await ok(['get', 'vmi', 'direct', '-o', 'json'])) as {
        status?: { interfaces?: { name: string; mac?: string; ipAddress?: string }[] };
      };
      assert.ok(vmi.status?.interfaces?.some((i) => i.name === 'lan' && (i.mac ?? '') !== ''));
      const body = await eventually(
        () => {
          const r = spawnSync(
            'ip',
            ['netns', 'exec', LAN, 'curl', '-s', '--max-time', '3', `http://${guestIp}:8080/`],
            { encoding: 'utf8' },
          );
          return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
        },
        'the LAN to reach the guest HTTP server',
        60_000,
        1000,
      );
      assert.equal(body, 'direct');

      // Network metrics of the NIC come from its tap, on the host: no guest agent in this guest.
      const rxBefore = await eventually(
        () => lanCounter('kubevirt_vmi_network_receive_bytes_total'),
        'a receive counter for the lan NIC',
        30_000,
        500,
      );
      const txBefore = (await lanCounter('kubevirt_vmi_network_transmit_bytes_total')) ?? 0;
      const ping = spawnSync(
        'ip',
        ['netns', 'exec', LAN, 'busybox', 'ping', '-q', '-c', '8', '-s', '1400', guestIp],
        { encoding: 'utf8' },
      );
      assert.equal(ping.status, 0, ping.stdout + ping.stderr);
      // 8 echo requests of 1428 IP bytes in, 8 replies out.
      await eventually(
        async () =>
          ((await lanCounter('kubevirt_vmi_network_receive_bytes_total')) ?? 0) - rxBefore >= 8 * 1428 &&
          ((await lanCounter('kubevirt_vmi_network_transmit_bytes_total')) ?? 0) - txBefore >= 8 * 1428,
        'the lan counters to count the pings both ways',
        20_000,
        500,
      );
      // No namespace or DHCP server of ours was made for this network.
      const segments = await p.network.segments.list();
      assert.deepEqual(
        segments.map((s) => ({ netns: s.netns, bridge: s.bridge })),
        [{ netns: '', bridge: BRIDGE }],
      );
    } finally {
      c.close();
    }
    await ok(['delete', 'vm', 'direct']);
    await eventually(
      async () => (await p.network.segments.list()).length === 0,
      'the host-bridge state to go with the VM',
      60_000,
      300,
    );
    assert.equal(
      ip('-o', 'link', 'show', 'master', BRIDGE)
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.includes(VETH_HOST)).length,
      0,
      'the tap left the host bridge',
    );
  });
});
