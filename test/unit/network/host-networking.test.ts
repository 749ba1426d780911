/**
 * The node's NetworkSetup with the host's plumbing replaced by a recorder: the default network
 * (outbound NAT, the known DHCP address), secondary networks as segments (one namespace per
 * NetworkAttachmentDefinition, fixed addresses, DNS names, taps joined after QEMU starts), the
 * conditions a VMI gets when a network cannot be joined, rollback, release and teardown.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { UndoStack } from '../../../src/node/undo.js';
import { HostNetworking } from '../../../src/network/host.js';
import type { LinkTool } from '../../../src/network/links.js';
import { Segments } from '../../../src/network/segments.js';
import { NetworkError } from '../../../src/network/setup.js';

class FakeLinks implements LinkTool {
  readonly calls: string[] = [];
  readonly namespaces = new Set<string>();
  readonly daemons = new Set<string>();
  readonly hostBridges = new Set<string>();
  reason: string | undefined;
  failDnsmasq = false;

  unavailable() {
    return Promise.resolve(this.reason);
  }
  namespaceExists(netns: string) {
    return this.namespaces.has(netns);
  }
  addNamespace(netns: string) {
    this.calls.push(`netns add ${netns}`);
    this.namespaces.add(netns);
    return Promise.resolve();
  }
  deleteNamespace(netns: string) {
    this.calls.push(`netns delete ${netns}`);
    this.namespaces.delete(netns);
    return Promise.resolve();
  }
  addBridge(netns: string, bridge: string, address: string | undefined) {
    this.calls.push(`bridge ${netns} ${bridge} ${address ?? '-'}`);
    return Promise.resolve();
  }
  addTap(name: string) {
    this.calls.push(`tap add ${name}`);
    return Promise.resolve();
  }
  joinBridge(tap: string, netns: string, bridge: string) {
    this.calls.push(`join ${tap} ${netns} ${bridge}`);
    return Promise.resolve();
  }
  hostBridgeExists(bridge: string) {
    return this.hostBridges.has(bridge);
  }
  joinHostBridge(tap: string, bridge: string) {
    this.calls.push(`join-host ${tap} ${bridge}`);
    return Promise.resolve();
  }
  deleteTap(tap: string) {
    this.calls.push(`tap del ${tap}`);
    return Promise.resolve();
  }
  startDnsmasq(netns: string, args: string[], pidfile: string) {
    if (this.failDnsmasq) return Promise.reject(new Error('dnsmasq: address in use'));
    this.calls.push(`dnsmasq ${netns} ${args.find((a) => a.startsWith('--dhcp-range=')) ?? ''}`);
    this.daemons.add(pidfile);
    return Promise.resolve();
  }
  running(pidfile: string) {
    return this.daemons.has(pidfile);
  }
  signal(pidfile: string, signal: NodeJS.Signals) {
    this.calls.push(`signal ${signal}`);
    if (signal === 'SIGTERM') this.daemons.delete(pidfile);
  }
}

const CONFIG =
  '{"cniVersion":"0.3.1","type":"bridge","ipam":{"type":"host-local","subnet":"10.9.0.0/24","rangeStart":"10.9.0.10","rangeEnd":"10.9.0.11"}}';

let dir: string;
let links: FakeLinks;
let segments: Segments;
let nads: Record<string, string>;
let hostBridgeNads: Set<string>;
let net: HostNetworking;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-net-'));
  links = new FakeLinks();
  segments = new Segments(dir, links);
  nads = {
    'default/lan': CONFIG,
    'default/plain': '{"type":"bridge"}',
    'default/mac': '{"type":"macvlan"}',
    'other/lan': CONFIG,
    'default/uplink': '{"type":"bridge","bridge":"brlan"}',
  };
  hostBridgeNads = new Set(['default/uplink']);
  net = new HostNetworking({
    segments,
    networkConfig: (ns, name) => {
      const config = nads[`${ns}/${name}`];
      return config === undefined ? undefined : { config, hostBridge: hostBridgeNads.has(`${ns}/${name}`) };
    },
    unavailable: () => links.unavailable(),
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function vmi(
  name: string,
  networks: Record<string, string> = {},
  namespace = 'default',
): VirtualMachineInstance {
  const secondary = Object.entries(networks);
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: {
      domain: {
        devices: {
          interfaces: [
            { name: 'default', masquerade: {} },
            ...secondary.map(([iface]) => ({ name: iface, bridge: {} })),
          ],
        },
        memory: { guest: '128Mi' },
      },
      networks: [
        { name: 'default', pod: {} },
        ...secondary.map(([iface, nad]) => ({ name: iface, multus: { networkName: nad } })),
      ],
    },
  };
}
const macs = { default: '02:00:00:00:00:01', lan: '02:00:00:00:00:02' };

describe('host networking', () => {
  test('a host-bridge network: the tap joins the existing host bridge; no namespace, no dnsmasq, no address', async () => {
    await assert.rejects(
      net.prepare(vmi('a', { lan: 'uplink' }), macs, new UndoStack()),
      (err: unknown) =>
        err instanceof NetworkError && /host bridge "brlan" does not exist on this node/.test(err.message),
    );
    links.hostBridges.add('brlan');
    const a = await net.prepare(vmi('a', { lan: 'uplink' }), macs, new UndoStack());
    const tap = Segments.tapName('uid-a', 'lan');
    assert.deepEqual(a.backends['lan'], { kind: 'tap', ifname: tap });
    assert.equal(a.addresses['lan'], undefined, 'the LAN hands out the address');
    await a.started();
    assert.deepEqual(
      links.calls.filter((c) => !c.startsWith('tap del')),
      [`tap add ${tap}`, `join-host ${tap} brlan`],
    );
    await net.release('uid-a');
    assert.ok(links.calls.includes(`tap del ${tap}`));
    assert.ok(!links.calls.some((c) => c.startsWith('netns') || c.startsWith('dnsmasq')));
    assert.ok(
      !existsSync(join(dir, 'network', 'segments', segments.idOf({ namespace: 'default', name: 'uplink' }))),
    );
  });

  test('a host-bridge network with IPAM or without a bridge name is refused', async () => {
    links.hostBridges.add('br0');
    nads['default/uplink'] = CONFIG;
    await assert.rejects(
      net.prepare(vmi('a', { lan: 'uplink' }), macs, new UndoStack()),
      (err: unknown) =>
        err instanceof NetworkError &&
        /"bridge", the name of the host bridge/.test(err.message) &&
        /Forbidden: "ipam"/.test(err.message),
    );
  });

  test('the default network: user networking with outbound NAT, and the address QEMU hands out', async () => {
    const p = await net.prepare(vmi('a'), macs, new UndoStack());
    assert.deepEqual(p.backends, { default: { kind: 'user', restrict: false, hostForwards: [] } });
    assert.deepEqual(p.addresses, { default: { ipAddress: '10.0.2.15', ipAddresses: ['10.0.2.15'] } });
    const closed = new HostNetworking({ outbound: false, networkConfig: () => undefined });
    assert.deepEqual((await closed.prepare(vmi('a'), macs, new UndoStack())).backends['default'], {
      kind: 'user',
      restrict: true,
      hostForwards: [],
    });
    assert.deepEqual(links.calls, [], 'no host plumbing for the default network');
  });

  test('a secondary network: one segment, fixed addresses and names, taps joined once QEMU runs', async () => {
    const a = await net.prepare(vmi('a', { lan: 'lan' }), macs, new UndoStack());
    const b = await net.prepare(
      vmi('b', { lan: 'lan' }),
      { ...macs, lan: '02:00:00:00:00:03' },
      new UndoStack(),
    );
    const tapA = Segments.tapName('uid-a', 'lan');
    assert.deepEqual(a.backends['lan'], { kind: 'tap', ifname: tapA });
    assert.equal(tapA.length <= 15, true);
    assert.equal(a.addresses['lan']?.ipAddress, '10.9.0.10');
    assert.equal(b.addresses['lan']?.ipAddress, '10.9.0.11');
    const netns = segments.netnsOf({ namespace: 'default', name: 'lan' });
    assert.deepEqual(links.calls.slice(0, 3), [
      `netns add ${netns}`,
      `bridge ${netns} br0 10.9.0.1/24`,
      `dnsmasq ${netns} --dhcp-range=10.9.0.10,10.9.0.11,255.255.255.0,12h`,
    ]);
    assert.equal(
      links.calls.filter((c) => c.startsWith('netns add')).length,
      1,
      'one namespace for the network',
    );
    assert.ok(!links.calls.some((c) => c.startsWith('join')), 'not joined before QEMU runs');
    await a.started();
    assert.ok(links.calls.includes(`join ${tapA} ${netns} br0`));

    const id = segments.idOf({ namespace: 'default', name: 'lan' });
    const hosts = await readFile(join(dir, 'network', 'segments', id, 'dhcp-hosts'), 'utf8');
    assert.equal(hosts, '02:00:00:00:00:02,10.9.0.10,a\n02:00:00:00:00:03,10.9.0.11,b\n');
    assert.equal(
      await readFile(join(dir, 'network', 'segments', id, 'hosts'), 'utf8'),
      '10.9.0.10 a\n10.9.0.11 b\n',
    );

    await assert.rejects(
      net.prepare(vmi('c', { lan: 'lan' }), macs, new UndoStack()),
      /no address left in 10\.9\.0\.10-10\.9\.0\.11/,
    );

    await net.release('uid-a');
    assert.equal(await readFile(join(dir, 'network', 'segments', id, 'hosts'), 'utf8'), '10.9.0.11 b\n');
    assert.ok(links.namespaces.has(netns), 'the segment stays while b uses it');
    await net.release('uid-b');
    assert.ok(!links.namespaces.has(netns), 'the last VM out removes the segment');
    assert.ok(!existsSync(join(dir, 'network', 'segments', id)));
    await net.release('uid-b');
  });

  test('the same network name in two namespaces is two segments; a network without IPAM has no dnsmasq', async () => {
    await net.prepare(vmi('a', { lan: 'lan' }), macs, new UndoStack());
    const o = await net.prepare(vmi('o', { lan: 'lan' }, 'other'), macs, new UndoStack());
    assert.equal(o.addresses['lan']?.ipAddress, '10.9.0.10', 'its own address space');
    assert.equal(links.calls.filter((c) => c.startsWith('netns add')).length, 2);
    const p = await net.prepare(vmi('p', { lan: 'plain' }), macs, new UndoStack());
    assert.equal(p.addresses['lan'], undefined);
    assert.equal(links.calls.filter((c) => c.startsWith('dnsmasq')).length, 2);
  });

  test('a failed launch rolls back: the tap, the address, the segment', async () => {
    const undo = new UndoStack();
    await net.prepare(vmi('a', { lan: 'lan' }), macs, undo);
    assert.deepEqual(await undo.rollback(), []);
    assert.equal(links.namespaces.size, 0);
    assert.ok(links.calls.includes(`tap del ${Segments.tapName('uid-a', 'lan')}`));
  });

  test('a segment that cannot start is not left behind', async () => {
    links.failDnsmasq = true;
    await assert.rejects(net.prepare(vmi('a', { lan: 'lan' }), macs, new UndoStack()), (err: unknown) => {
      assert.ok(err instanceof NetworkError);
      assert.equal(err.reason, 'NetworkUnavailable');
      assert.match(
        err.message,
        /failed joining network "lan" \(NetworkAttachmentDefinition default\/lan\): dnsmasq: address in use/,
      );
      return true;
    });
    assert.equal(links.namespaces.size, 0);
  });

  const refused: [string, Record<string, string>, string, string, RegExp][] = [
    [
      'a missing definition',
      { lan: 'nope' },
      'default',
      'NetworkNotFound',
      /NetworkAttachmentDefinition default\/nope\): the NetworkAttachmentDefinition does not exist/,
    ],
    [
      'another namespace',
      { lan: 'other/lan' },
      'third',
      'NetworkNotFound',
      /may only use NetworkAttachmentDefinitions of its own namespace or of default/,
    ],
    [
      'an unsupported plugin',
      { lan: 'mac' },
      'default',
      'NetworkNotSupported',
      /CNI plugin "macvlan" is not supported on this node; use "bridge"/,
    ],
  ];
  for (const [name, networks, namespace, reason, message] of refused)
    test(`refused: ${name}`, async () => {
      await assert.rejects(
        net.prepare(vmi('a', networks, namespace), macs, new UndoStack()),
        (err: unknown) => {
          assert.ok(err instanceof NetworkError);
          assert.equal(err.reason, reason);
          assert.match(err.message, message);
          return true;
        },
      );
    });

  test('bridges unavailable on the host: a clear NetworkUnavailable; the default network is unaffected', async () => {
    links.reason = 'bridges and taps need root (CAP_NET_ADMIN); hikube runs as uid 1000';
    await assert.rejects(net.prepare(vmi('a', { lan: 'lan' }), macs, new UndoStack()), (err: unknown) => {
      assert.ok(err instanceof NetworkError);
      assert.equal(err.reason, 'NetworkUnavailable');
      assert.equal(
        err.message,
        'network "lan" (NetworkAttachmentDefinition default/lan) cannot be set up on this node: bridges and taps need root (CAP_NET_ADMIN); hikube runs as uid 1000',
      );
      return true;
    });
    assert.deepEqual(Object.keys((await net.prepare(vmi('b'), macs, new UndoStack())).backends), ['default']);
  });
});
