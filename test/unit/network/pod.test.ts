/**
 * The pod network's logic with the kernel replaced by recorders: IPAM (stable per VM, reclaimed,
 * persisted, CIDR changes), the rendered nftables and dnsmasq text, the choice of default network
 * at `hikube up`, the options' checks, and the sandbox lifecycle through HostNetworking (pod IP in
 * the prepared addresses, tap backend, join after start, release keeping the VM's address, the
 * host side removed with the last sandbox, the bridge binding, passt refused), and host forwards replaced
 * by the pod IP.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { parseCidr } from '../../../src/api/network/cni.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { UndoStack } from '../../../src/node/undo.js';
import type { RunningGuest } from '../../../src/node/agent.js';
import { QmpForwards } from '../../../src/network/forwards.js';
import { HostNetworking } from '../../../src/network/host.js';
import type { LinkTool } from '../../../src/network/links.js';
import { resolveNetworkOptions } from '../../../src/network/options.js';
import { PodIpam } from '../../../src/network/pod/ipam.js';
import type { HostSide, PodLinks, Sandbox } from '../../../src/network/pod/links.js';
import { chooseNetworkMode } from '../../../src/network/pod/mode.js';
import { PodNetwork } from '../../../src/network/pod/pod.js';
import { guestDhcpArgs, renderHostRules, renderMasqueradeRules } from '../../../src/network/pod/rules.js';
import { NetworkError } from '../../../src/network/setup.js';

const cidr = (text: string): { network: number; prefix: number } => {
  const c = parseCidr(text);
  assert.ok(c !== undefined);
  return c;
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-podnet-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pod IPAM', () => {
  test('a VM keeps its address; others get the lowest free one after the gateway', async () => {
    const ipam = new PodIpam(join(dir, 'ipam.json'), cidr('10.244.0.0/24'));
    const all = () => true;
    assert.equal(await ipam.allocate('default', 'a', 'u1', all), '10.244.0.2');
    assert.equal(await ipam.allocate('other', 'a', 'u2', all), '10.244.0.3');
    // The same VM with a new VMI (restart) and after a control-plane restart.
    assert.equal(await ipam.allocate('default', 'a', 'u3', all), '10.244.0.2');
    const again = new PodIpam(join(dir, 'ipam.json'), cidr('10.244.0.0/24'));
    assert.equal(await again.allocate('default', 'a', 'u4', all), '10.244.0.2');
    assert.equal(again.find('default', 'a')?.uid, 'u4');
    await again.release('default', 'a');
    assert.equal(again.find('default', 'a'), undefined);
    assert.equal(await again.allocate('default', 'b', 'u5', all), '10.244.0.2');
  });

  test('records of VMs that are gone are reclaimed; a full CIDR is an error; a new CIDR forgets the old', async () => {
    const file = join(dir, 'ipam.json');
    const ipam = new PodIpam(file, cidr('10.244.0.0/29'));
    // .1 is the gateway, .6 the bridge binding's DHCP server, .7 the broadcast address.
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries())
      assert.equal(await ipam.allocate('default', name, `u${i}`, () => true), `10.244.0.${i + 2}`);
    await assert.rejects(
      ipam.allocate('default', 'e', 'u5', () => true),
      /no address left in the pod CIDR 10\.244\.0\.0\/29/,
    );
    assert.equal(await ipam.allocate('default', 'e', 'u5', (_ns, n) => n !== 'a'), '10.244.0.2');
    const moved = new PodIpam(file, cidr('10.245.0.0/24'));
    assert.deepEqual(moved.list(), []);
  });
});

describe('pod network rules', () => {
  const host = {
    table: 'hkabcdef_pod',
    cidr: '10.244.0.0/16',
    gateway: '10.244.0.1',
    dns: '10.96.0.10',
    vethPattern: 'hkabcdefv*',
  };
  test('host table: replies and DNS to the gateway from pods, nothing else; outbound masquerade', () => {
    const text = renderHostRules(host);
    assert.match(text, /^table inet hkabcdef_pod\ndelete table inet hkabcdef_pod\n/);
    const lines = text.split('\n').map((l) => l.trim());
    const input = lines.slice(lines.indexOf('chain input {'), lines.indexOf('chain postrouting {'));
    assert.deepEqual(input.slice(2, 6), [
      'iifname "hkabcdefv*" ct state established,related accept',
      'iifname "hkabcdefv*" ip daddr { 10.244.0.1, 10.96.0.10 } udp dport 53 accept',
      'iifname "hkabcdefv*" ip daddr { 10.244.0.1, 10.96.0.10 } tcp dport 53 accept',
      'iifname "hkabcdefv*" drop',
    ]);
    assert.ok(
      lines.includes('ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 oifname != "hkabcdefv*" masquerade'),
    );
    assert.equal(renderHostRules(host, false), 'table inet hkabcdef_pod\ndelete table inet hkabcdef_pod\n');
  });

  test('masquerade binding: inbound to 10.0.2.2, outbound as the pod IP; DHCP gives the guest 10.0.2.2', () => {
    const rules = renderMasqueradeRules();
    assert.match(rules, /iifname "eth0" meta l4proto \{ tcp, udp \} dnat to 10\.0\.2\.2/);
    assert.match(rules, /oifname "eth0" ip saddr 10\.0\.2\.2 masquerade/);
    const args = guestDhcpArgs({
      guest: '10.0.2.2',
      netmask: '255.255.255.0',
      router: '10.0.2.1',
      server: '10.0.2.1',
      pidfile: '/d/pid',
      leasefile: '/d/leases',
      logfile: '/d/log',
      mac: '02:00:00:00:00:01',
      dns: '10.96.0.10',
      namespace: 'team',
      hostname: 'web',
    });
    for (const a of [
      '--port=0',
      '--interface=k6t-eth0',
      '--dhcp-host=02:00:00:00:00:01,10.0.2.2,web',
      '--dhcp-option=option:router,10.0.2.1',
      '--dhcp-option=option:dns-server,10.96.0.10',
      '--dhcp-option=option:domain-search,team.svc.cluster.local,svc.cluster.local,cluster.local',
    ])
      assert.ok(args.includes(a), a);
  });
});

describe('choice of the default network', () => {
  const can = () => Promise.resolve(undefined);
  const cannot = () => Promise.resolve('the pod network needs root');
  test('pod when it can run, user otherwise or when asked; pod asked where it cannot run is an error', async () => {
    assert.equal((await chooseNetworkMode(undefined, can, '10.244.0.0/16')).mode, 'pod');
    const fallback = await chooseNetworkMode(undefined, cannot, '10.244.0.0/16');
    assert.equal(fallback.mode, 'user');
    assert.match(
      fallback.line,
      /^network: QEMU user networking \(the pod network cannot run here: the pod network needs root\)/,
    );
    assert.equal((await chooseNetworkMode('user', can, '10.244.0.0/16')).mode, 'user');
    await assert.rejects(
      chooseNetworkMode('pod', cannot, '10.244.0.0/16'),
      /cannot run here: the pod network needs root/,
    );
    await assert.rejects(chooseNetworkMode('slirp', can, '10.244.0.0/16'), /"slirp" is not "pod" or "user"/);
  });

  test('options: user unless asked; the pod CIDR must be an IPv4 CIDR of at least /24', () => {
    assert.equal(resolveNetworkOptions({}, {}).mode, 'user');
    assert.equal(resolveNetworkOptions({}, { HIKUBE_NETWORK: 'pod' }).mode, 'pod');
    assert.deepEqual(resolveNetworkOptions({}, {}).podCidr, cidr('10.244.0.0/16'));
    assert.deepEqual(
      resolveNetworkOptions({}, { HIKUBE_POD_CIDR: '10.9.0.0/20' }).podCidr,
      cidr('10.9.0.0/20'),
    );
    assert.throws(() => resolveNetworkOptions({ podCidr: '10.9.0.0/25' }, {}), /at least \/24/);
    assert.throws(() => resolveNetworkOptions({ podCidr: 'nope' }, {}), /not an IPv4 CIDR/);
    assert.throws(() => resolveNetworkOptions({}, { HIKUBE_NETWORK: 'x' }), /"x" is not "pod" or "user"/);
  });
});

class FakePodLinks implements PodLinks {
  readonly calls: string[] = [];
  readonly namespaces = new Set<string>();
  hostUp = false;
  failSandbox = false;
  unavailable() {
    return Promise.resolve(undefined);
  }
  ensureHost(h: HostSide) {
    this.calls.push(`host ${h.gatewayLink} ${h.gatewayCidr}`);
    this.hostUp = true;
    return Promise.resolve();
  }
  removeHost(gatewayLink: string) {
    this.calls.push(`host del ${gatewayLink}`);
    this.hostUp = false;
    return Promise.resolve();
  }
  namespaceExists(netns: string) {
    return this.namespaces.has(netns);
  }
  createSandbox(s: Sandbox) {
    if (this.failSandbox) return Promise.reject(new Error('ip: RTNETLINK answers: File exists'));
    this.calls.push(`sandbox ${s.binding} ${s.netns} ${s.podIp} via ${s.gateway} ${s.bridgeCidr}`);
    this.namespaces.add(s.netns);
    return Promise.resolve();
  }
  deleteSandbox(netns: string) {
    if (this.namespaces.delete(netns)) this.calls.push(`sandbox del ${netns}`);
    return Promise.resolve();
  }
  /** Names "on the host" for sweep() to pick from. */
  readonly hostNames = { netns: [] as string[], links: [] as string[] };
  sweep(leftover: { netns(name: string): boolean; link(name: string): boolean }) {
    const removed = [
      ...this.hostNames.netns.filter((n) => leftover.netns(n)).map((n) => `namespace ${n}`),
      ...this.hostNames.links.filter((l) => leftover.link(l)).map((l) => `link ${l}`),
    ];
    this.calls.push(...removed.map((r) => `sweep ${r}`));
    return Promise.resolve(removed);
  }
}

const taps = (calls: string[]): LinkTool => ({
  unavailable: () => Promise.resolve(undefined),
  namespaceExists: () => false,
  addNamespace: () => Promise.resolve(),
  deleteNamespace: () => Promise.resolve(),
  addBridge: () => Promise.resolve(),
  addTap: (name) => Promise.resolve(void calls.push(`tap add ${name}`)),
  joinBridge: (tap, netns, bridge) => Promise.resolve(void calls.push(`join ${tap} ${netns} ${bridge}`)),
  hostBridgeExists: () => false,
  joinHostBridge: () => Promise.resolve(),
  deleteTap: () => Promise.resolve(),
  startDnsmasq: (netns, args) =>
    Promise.resolve(
      void calls.push(
        `dnsmasq ${netns} ${args.filter((a) => /^--(dhcp-range|listen|dhcp-option=option:router)/.test(a)).join(' ')}`,
      ),
    ),
  running: () => false,
  signal: (_p, signal) => void calls.push(`signal ${signal}`),
});

const vmi = (
  name: string,
  uid: string,
  binding: 'masquerade' | 'bridge' | 'passt' = 'masquerade',
): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name, namespace: 'default', uid },
  spec: {
    domain: { devices: { interfaces: [{ name: 'default', [binding]: {} }] } },
    networks: [{ name: 'default', pod: {} }],
  },
});

describe('pod sandboxes through the node agent NetworkSetup', () => {
  let links: FakePodLinks;
  let tapCalls: string[];
  let vms: Set<string>;
  let pod: PodNetwork;
  let net: HostNetworking;
  beforeEach(() => {
    links = new FakePodLinks();
    tapCalls = [];
    vms = new Set(['default/a', 'default/b']);
    const make = () =>
      new PodNetwork({
        dataDir: dir,
        cidr: cidr('10.244.0.0/16'),
        dns: '10.96.0.10',
        links,
        taps: taps(tapCalls),
        vmExists: (ns, n) => vms.has(`${ns}/${n}`),
      });
    pod = make();
    net = new HostNetworking({ pod, networkConfig: () => undefined });
  });

  test('the pod interface is a tap with the pod IP; it joins the bridge once QEMU runs; release keeps the VM address', async () => {
    const prepared = await net.prepare(vmi('a', 'u1'), { default: '02:00:00:00:00:01' }, new UndoStack());
    const tap = prepared.backends['default'];
    assert.equal(tap?.kind, 'tap');
    assert.deepEqual(prepared.addresses['default'], { ipAddress: '10.244.0.2', ipAddresses: ['10.244.0.2'] });
    assert.equal(net.podAddress('u1'), '10.244.0.2');
    assert.ok(links.hostUp);
    await prepared.started();
    assert.ok(
      tapCalls.some((c) => c.startsWith('join ') && c.endsWith(' k6t-eth0')),
      tapCalls.join('\n'),
    );
    assert.equal(pod.list()[0]?.joined, true);
    // The VM restarts: a new VMI of the same VM gets the same address; the host side went and came back.
    await net.release('u1');
    assert.equal(net.podAddress('u1'), undefined);
    assert.equal(links.hostUp, false, 'the last sandbox removes the gateway link and table');
    const again = await net.prepare(vmi('a', 'u2'), { default: '02:00:00:00:00:01' }, new UndoStack());
    assert.equal(again.addresses['default']?.ipAddress, '10.244.0.2');
    // State is on disk: a new control plane finds the sandbox and its address.
    const reloaded = new PodNetwork({
      dataDir: dir,
      cidr: cidr('10.244.0.0/16'),
      dns: '10.96.0.10',
      links,
      taps: taps([]),
      vmExists: () => true,
    });
    assert.equal(reloaded.addressOf('u2'), '10.244.0.2');
    // The VM is deleted: its address is free again.
    vms.delete('default/a');
    await net.release('u2');
    const b = await net.prepare(vmi('b', 'u3'), {}, new UndoStack());
    assert.equal(b.addresses['default']?.ipAddress, '10.244.0.2');
  });

  test('a start sweeps what a crashed run of this data dir left, and only that', async () => {
    const prepared = await net.prepare(vmi('a', 'u9'), { default: '02:00:00:00:00:09' }, new UndoStack());
    assert.ok(prepared.addresses['default']);
    const kept = pod.list()[0];
    assert.ok(kept !== undefined);
    const p = pod.prefix;
    links.hostNames.netns = [kept.netns, `${p}-pod-0123456789`, 'hk999999-pod-0123456789', `${p}-team-lan`];
    links.hostNames.links = [kept.veth, `${p}vabcdef`, 'hk999999vabcdef', `${p}gw`, 'eth0'];
    // A sandbox directory without state.json: a crash while it was made; its dnsmasq is stopped.
    await mkdir(join(dir, 'network', 'pod', 'crashed-uid'), { recursive: true });
    links.calls.length = 0;
    tapCalls.length = 0;
    await pod.resume();
    assert.deepEqual(
      links.calls.filter((c) => c.startsWith('sweep')),
      [`sweep namespace ${p}-pod-0123456789`, `sweep link ${p}vabcdef`],
    );
    assert.ok(tapCalls.includes('signal SIGTERM'), tapCalls.join('\n'));
    assert.equal(existsSync(join(dir, 'network', 'pod', 'crashed-uid')), false);
    assert.ok(existsSync(join(dir, 'network', 'pod', 'u9', 'state.json')), 'a recorded sandbox is kept');
    assert.ok(links.hostUp, 'the host side is put back for the recorded sandbox');
    await net.release('u9');
  });

  test('a failed sandbox is rolled back and reported as NetworkUnavailable; passt is refused', async () => {
    links.failSandbox = true;
    await assert.rejects(
      net.prepare(vmi('a', 'u1'), {}, new UndoStack()),
      (err: unknown) =>
        err instanceof NetworkError &&
        err.reason === 'NetworkUnavailable' &&
        /failed setting up interface "default" on the pod network: ip: RTNETLINK answers: File exists/.test(
          err.message,
        ),
    );
    assert.deepEqual(pod.list(), []);
    assert.equal(links.hostUp, false);
    links.failSandbox = false;
    await assert.rejects(
      net.prepare(vmi('b', 'u2', 'passt'), {}, new UndoStack()),
      (err: unknown) =>
        err instanceof NetworkError &&
        err.reason === 'NetworkNotSupported' &&
        /only the masquerade and bridge bindings/.test(err.message),
    );
  });

  test('the bridge binding puts the pod IP in the guest: DHCP of the pod IP, router the gateway', async () => {
    const prepared = await net.prepare(vmi('b', 'u9', 'bridge'), {}, new UndoStack());
    assert.equal(prepared.addresses['default']?.ipAddress, '10.244.0.2');
    assert.ok(
      links.calls.includes(`sandbox bridge ${pod.netnsOf('u9')} 10.244.0.2 via 10.244.0.1 10.244.255.254/16`),
      links.calls.join('\n'),
    );
    assert.ok(
      tapCalls.includes(
        `dnsmasq ${pod.netnsOf('u9')} --listen-address=10.244.255.254 --dhcp-range=10.244.0.2,10.244.0.2,255.255.0.0,12h --dhcp-option=option:router,10.244.0.1`,
      ),
      tapCalls.join('\n'),
    );
    assert.equal(pod.list()[0]?.binding, 'bridge');
  });
});

test('with a pod IP, services and probes reach the guest there instead of through a host forward', async () => {
  const guest = {
    namespace: 'default',
    name: 'a',
    uid: 'u1',
    nics: [{ name: 'default', mac: '', netdev: 'netdev-default', pod: true, podIp: '10.244.0.7' }],
    command: () => Promise.reject(new Error('no QMP on the pod network')),
  } as unknown as RunningGuest;
  const forwards = new QmpForwards({ running: () => [guest] });
  assert.deepEqual(await forwards.forward('u1', 'tcp', 8080), { host: '10.244.0.7', port: 8080 });
});
