/**
 * The routed pod network. Every VMI on the pod network gets a sandbox: a network namespace holding
 * the pod side of a veth pair (`eth0`, the pod IP as a /32, `default via GATEWAY onlink`) and the
 * guest's bridge `k6t-eth0` (10.0.2.1/24) where its tap is, with a dnsmasq giving the guest
 * 10.0.2.2 and an nftables table doing KubeVirt's masquerade binding. The host has a /32 route to
 * each pod IP through its veth and the gateway on a port-less bridge, so all pod traffic crosses the
 * host's forward path (where Services and NetworkPolicies act) and the host's input hook (where
 * this module keeps guests away from the host).
 *
 * As with secondary networks, QEMU opens the tap in the host namespace and it is moved into the
 * sandbox once QEMU holds it. State is on disk (DATA_DIR/network/pod/UID/state.json), so sandboxes
 * outlive the control plane like guests do; the last sandbox to go removes the host's gateway link
 * and table.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { guestView, parseIpLinkStats, type NicCounters } from '../counters.js';
import type { LinkTool } from '../links.js';
import type { SysctlLedger } from '../host-sysctls.js';
import { Segments } from '../segments.js';
import { netmaskOf } from '../../api/network/cni.js';
import { cidrText, dhcpServerOf, gatewayOf, PodIpam, type PodCidr } from './ipam.js';
import type { PodBinding, PodLinks } from './links.js';
import { guestDhcpArgs, MASQUERADE, renderHostRules, renderMasqueradeRules } from './rules.js';

export interface PodNetworkOptions {
  dataDir: string;
  cidr: PodCidr;
  /** The cluster DNS address given to guests. */
  dns: string;
  links: PodLinks;
  /** Taps and dnsmasq, shared with secondary networks. */
  taps: LinkTool;
  /** Whether a VM or VMI of this namespace/name still exists (its pod IP is kept while it does). */
  vmExists(namespace: string, name: string): boolean;
  log?: (message: string) => void;
  /** Where the host's settings are recorded before they change (default: not recorded). */
  ledger?: SysctlLedger | undefined;
}

export interface PodSandbox {
  uid: string;
  namespace: string;
  name: string;
  iface: string;
  mac: string;
  ip: string;
  binding: PodBinding;
  netns: string;
  veth: string;
  tap: string;
  /** The tap is on the sandbox's bridge (QEMU had opened it). */
  joined: boolean;
}

const hash = (text: string, n: number): string => createHash('sha256').update(text).digest('hex').slice(0, n);
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class PodNetwork {
  /** Per-data-dir prefix of every name this platform makes (as Segments has it). */
  readonly prefix: string;
  readonly gateway: string;
  readonly table: string;
  readonly gatewayLink: string;
  private readonly root: string;
  private readonly ipam: PodIpam;
  private readonly sandboxes = new Map<string, PodSandbox>();
  private lock: Promise<unknown> = Promise.resolve();
  private readonly log: (message: string) => void;

  constructor(private readonly o: PodNetworkOptions) {
    this.prefix = `hk${hash(o.dataDir, 6)}`;
    this.gateway = gatewayOf(o.cidr);
    this.table = `${this.prefix}_pod`;
    this.gatewayLink = `${this.prefix}gw`;
    this.root = join(o.dataDir, 'network', 'pod');
    this.ipam = new PodIpam(join(this.root, 'ipam.json'), o.cidr);
    this.log = o.log ?? (() => undefined);
    if (existsSync(this.root))
      for (const uid of readdirSync(this.root)) {
        const file = join(this.root, uid, 'state.json');
        if (existsSync(file)) this.sandboxes.set(uid, JSON.parse(readFileSync(file, 'utf8')) as PodSandbox);
      }
  }

  /** nftables wildcard of this platform's host-side veths (`v` is not a hex digit: taps never match). */
  get vethPattern(): string {
    return `${this.prefix}v*`;
  }

  vethOf(uid: string): string {
    return `${this.prefix}v${hash(uid, 6)}`;
  }

  netnsOf(uid: string): string {
    return `${this.prefix}-pod-${hash(uid, 10)}`;
  }

  /** The pod IP of a VMI on this node, once its sandbox exists. */
  addressOf(uid: string): string | undefined {
    return this.sandboxes.get(uid)?.ip;
  }

  list(): PodSandbox[] {
    return [...this.sandboxes.values()];
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private hostRules(present: boolean): string {
    return renderHostRules(
      {
        table: this.table,
        cidr: cidrText(this.o.cidr),
        gateway: this.gateway,
        dns: this.o.dns,
        vethPattern: this.vethPattern,
      },
      present,
    );
  }

  /**
   * At start: sweeps what a crashed earlier run of this data dir left (sweep()), then puts the host
   * side back in place when sandboxes exist, or removes it when none does.
   */
  resume(): Promise<void> {
    return this.exclusive(async () => {
      for (const what of await this.sweep()) this.log(`network: removed ${what}, left by an earlier run`);
      if (this.sandboxes.size > 0) await this.ensureHost();
      else await this.o.links.removeHost(this.gatewayLink, this.hostRules(false), this.o.ledger);
    });
  }

  /**
   * What an earlier run of this data dir left without a sandbox recorded for it: pod namespaces and
   * host-side veths named with this data dir's prefix (never another platform's, whose prefix
   * differs) that no state.json names, and sandbox directories without state.json (their dnsmasq
   * is stopped). Recorded sandboxes are kept: they outlive the control plane on purpose.
   */
  private async sweep(): Promise<string[]> {
    const netns = new Set(this.list().map((s) => s.netns));
    const veths = new Set(this.list().map((s) => s.veth));
    const podNetns = new RegExp(`^${this.prefix}-pod-[0-9a-f]{10}$`);
    const veth = new RegExp(`^${this.prefix}v[0-9a-f]{6}$`);
    const removed = await this.o.links.sweep({
      netns: (n) => podNetns.test(n) && !netns.has(n),
      link: (l) => veth.test(l) && !veths.has(l),
    });
    if (existsSync(this.root))
      for (const entry of readdirSync(this.root, { withFileTypes: true })) {
        if (!entry.isDirectory() || this.sandboxes.has(entry.name)) continue;
        const dir = join(this.root, entry.name);
        this.o.taps.signal(join(dir, 'dnsmasq.pid'), 'SIGTERM');
        await rm(dir, { recursive: true, force: true });
        removed.push(`sandbox directory ${dir}`);
      }
    return removed;
  }

  private ensureHost(): Promise<void> {
    return this.o.links.ensureHost({
      gatewayLink: this.gatewayLink,
      gatewayCidr: `${this.gateway}/${this.o.cidr.prefix}`,
      rules: this.hostRules(true),
      ledger: this.o.ledger,
    });
  }

  /**
   * Makes the sandbox of one VMI's pod interface and its tap (in the host namespace, for QEMU to
   * open). The pod IP is the VM's recorded one, or a new one. Safe to call again for the same uid.
   */
  attach(
    vmi: { uid: string; namespace: string; name: string },
    iface: string,
    mac: string,
    binding: PodBinding = 'masquerade',
  ): Promise<PodSandbox> {
    return this.exclusive(async () => {
      const old = this.sandboxes.get(vmi.uid);
      if (old !== undefined) await this.teardown(old);
      await this.ensureHost();
      const ip = await this.ipam.allocate(vmi.namespace, vmi.name, vmi.uid, (ns, n) =>
        this.o.vmExists(ns, n),
      );
      const s: PodSandbox = {
        ...vmi,
        iface,
        mac,
        ip,
        binding,
        netns: this.netnsOf(vmi.uid),
        veth: this.vethOf(vmi.uid),
        tap: Segments.tapName(vmi.uid, iface),
        joined: false,
      };
      const dir = join(this.root, vmi.uid);
      await mkdir(dir, { recursive: true });
      await this.save(s);
      try {
        await this.o.links.deleteSandbox(s.netns, s.veth);
        const masquerade = binding === 'masquerade';
        // masquerade: the guest is 10.0.2.2 behind the sandbox; bridge: the guest holds the pod IP
        // in the pod CIDR's subnet, its router the gateway (answered by proxy ARP).
        const dhcp = masquerade
          ? {
              guest: MASQUERADE.guest,
              netmask: MASQUERADE.netmask,
              router: MASQUERADE.gateway,
              server: MASQUERADE.gateway,
            }
          : {
              guest: ip,
              netmask: netmaskOf(this.o.cidr.prefix),
              router: this.gateway,
              server: dhcpServerOf(this.o.cidr),
            };
        await this.o.links.createSandbox({
          binding,
          netns: s.netns,
          veth: s.veth,
          podIp: ip,
          gateway: this.gateway,
          bridge: MASQUERADE.bridge,
          bridgeCidr: masquerade
            ? `${MASQUERADE.gateway}/${MASQUERADE.prefix}`
            : `${dhcp.server}/${this.o.cidr.prefix}`,
          rules: masquerade ? renderMasqueradeRules() : undefined,
        });
        await this.o.taps.startDnsmasq(
          s.netns,
          guestDhcpArgs({
            ...dhcp,
            pidfile: join(dir, 'dnsmasq.pid'),
            leasefile: join(dir, 'leases'),
            logfile: join(dir, 'dnsmasq.log'),
            mac,
            dns: this.o.dns,
            namespace: vmi.namespace,
            hostname: HOSTNAME.test(vmi.name) ? vmi.name : 'guest',
          }),
          join(dir, 'dnsmasq.pid'),
        );
        await this.o.taps.deleteTap(s.tap, '');
        await this.o.taps.addTap(s.tap);
      } catch (err) {
        await this.teardown(s);
        throw err;
      }
      this.log(`network: pod ${vmi.namespace}/${vmi.name} has pod IP ${ip} (namespace ${s.netns})`);
      return s;
    });
  }

  /** QEMU holds the tap: move it onto the sandbox's bridge. */
  join(uid: string): Promise<void> {
    return this.exclusive(async () => {
      const s = this.sandboxes.get(uid);
      if (s === undefined || s.joined) return;
      await this.o.taps.joinBridge(s.tap, s.netns, MASQUERADE.bridge);
      s.joined = true;
      await this.save(s);
    });
  }

  /** Removes the VMI's sandbox; its pod IP is kept while its VM exists. Safe when there is none. */
  release(uid: string): Promise<void> {
    return this.exclusive(async () => {
      const s = this.sandboxes.get(uid);
      if (s === undefined) return;
      await this.teardown(s);
      if (!this.o.vmExists(s.namespace, s.name)) await this.ipam.release(s.namespace, s.name);
    });
  }

  /** Removes every sandbox and the host side (tests, a platform removed for good). */
  destroyAll(): Promise<void> {
    return this.exclusive(async () => {
      for (const s of [...this.sandboxes.values()]) await this.teardown(s);
      await this.o.links.removeHost(this.gatewayLink, this.hostRules(false), this.o.ledger);
    });
  }

  private async teardown(s: PodSandbox): Promise<void> {
    const dir = join(this.root, s.uid);
    this.o.taps.signal(join(dir, 'dnsmasq.pid'), 'SIGTERM');
    await this.o.links.deleteSandbox(s.netns, s.veth);
    await this.o.taps.deleteTap(s.tap, '');
    await rm(dir, { recursive: true, force: true });
    this.sandboxes.delete(s.uid);
    if (this.sandboxes.size === 0)
      await this.o.links.removeHost(this.gatewayLink, this.hostRules(false), this.o.ledger);
  }

  private async save(s: PodSandbox): Promise<void> {
    this.sandboxes.set(s.uid, s);
    await writeFile(join(this.root, s.uid, 'state.json'), `${JSON.stringify(s, null, 2)}\n`);
  }

  /** Counters of each joined tap, seen from the guest, keyed `UID/INTERFACE` (as counters.ts does). */
  async counters(): Promise<Map<string, NicCounters>> {
    const out = new Map<string, NicCounters>();
    for (const s of this.list().filter((x) => x.joined)) {
      const json = await new Promise<string | undefined>((resolve) =>
        execFile(
          'ip',
          ['-n', s.netns, '-s', '-j', 'link', 'show', 'dev', s.tap],
          { timeout: 5000 },
          (err, stdout) => resolve(err === null ? stdout : undefined),
        ),
      );
      const st = json === undefined ? undefined : parseIpLinkStats(json).get(s.tap);
      if (st !== undefined) out.set(`${s.uid}/${s.iface}`, guestView(st.rx, st.tx));
    }
    return out;
  }
}
