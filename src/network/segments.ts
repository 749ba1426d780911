/**
 * Secondary networks as isolated L2 segments. Each NetworkAttachmentDefinition in use becomes a
 * network namespace of its own holding one Linux bridge (and, with IPAM, a dnsmasq serving DHCP
 * with a fixed address per VM NIC and DNS of the VM names). Nothing routes between namespaces, so
 * two networks, or the same network name in two Kubernetes namespaces, cannot reach each other.
 *
 * A VM NIC is a tap created in the host namespace, opened there by QEMU (which keeps running in the
 * host namespace, where its default network and host forwards live), then moved into the segment's
 * namespace and enslaved to its bridge. State lives in DATA_DIR/network/segments/ID/state.json, so
 * segments, leases and taps are found again after a control-plane restart (guests outlive it).
 *
 * A host-bridge network (CniConfig.hostBridge, the seed's "direct connection") keeps the same state
 * and lifecycle without a namespace or dnsmasq: its taps stay in the host namespace, enslaved to the
 * existing bridge the configuration names, and the network the bridge is on serves addresses.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIpv4, netmaskOf, type CniConfig } from '../api/network/cni.js';
import type { LinkTool } from './links.js';

export interface SegmentRef {
  /** Namespace and name of the NetworkAttachmentDefinition. */
  namespace: string;
  name: string;
}

export interface Attachment {
  uid: string;
  iface: string;
  mac: string;
  /** DNS names of the VM on the segment. */
  names: string[];
  tap: string;
  ip?: string;
  /** The tap is in the segment's namespace (QEMU had opened it). */
  joined: boolean;
}

interface SegmentState {
  ref: SegmentRef;
  /** Empty for a host-bridge network. */
  netns: string;
  bridge: string;
  config: CniConfig;
  attachments: Attachment[];
}

const hash = (text: string, n: number): string => createHash('sha256').update(text).digest('hex').slice(0, n);

export class Segments {
  private readonly root: string;
  /** Short per-data-dir prefix of namespace names, so two platforms on one host never share one. */
  readonly prefix: string;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly links: LinkTool,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.root = join(dataDir, 'network', 'segments');
    this.prefix = `hk${hash(dataDir, 6)}`;
  }

  /** Runs `fn` alone: segment state files are read, changed and written whole. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  idOf(ref: SegmentRef): string {
    return hash(`${ref.namespace}/${ref.name}`, 10);
  }

  netnsOf(ref: SegmentRef): string {
    const readable = `${this.prefix}-${ref.namespace}-${ref.name}`;
    return readable.length <= 64 ? readable : `${this.prefix}-${this.idOf(ref)}`;
  }

  /** Host-side name of the tap of one VM NIC (at most 15 characters, unique per VMI and interface). */
  static tapName(uid: string, iface: string): string {
    return `hk${hash(`${uid}/${iface}`, 11)}`;
  }

  private dir(ref: SegmentRef): string {
    return join(this.root, this.idOf(ref));
  }

  /**
   * Joins a VM NIC to the segment of `ref` (creating the segment on first use): allocates its
   * address, publishes its name, and creates its tap. Returns the attachment; `undo` reverses it.
   */
  attach(
    ref: SegmentRef,
    config: CniConfig,
    a: Omit<Attachment, 'tap' | 'joined' | 'ip'>,
  ): Promise<Attachment> {
    return this.exclusive(async () => {
      let state: SegmentState | undefined;
      try {
        state = await this.ensureSegment(ref, config);
        const existing = state.attachments.find((x) => x.uid === a.uid && x.iface === a.iface);
        if (existing !== undefined) return existing;
        const attachment: Attachment = { ...a, tap: Segments.tapName(a.uid, a.iface), joined: false };
        const ip = allocate(state);
        if (ip !== undefined) attachment.ip = ip;
        await this.links.deleteTap(attachment.tap, state.netns);
        await this.links.addTap(attachment.tap);
        state.attachments.push(attachment);
        await this.save(state);
        await this.publish(state);
        return attachment;
      } catch (err) {
        // A segment this call created and could not use is not left behind.
        const current = (await this.load(ref)) ?? state;
        if (current !== undefined && current.attachments.length === 0) await this.teardown(current);
        throw err;
      }
    });
  }

  /** QEMU holds the tap: move it into the segment. */
  join(ref: SegmentRef, uid: string, iface: string): Promise<void> {
    return this.exclusive(async () => {
      const state = await this.load(ref);
      const a = state?.attachments.find((x) => x.uid === uid && x.iface === iface);
      if (state === undefined || a === undefined || a.joined) return;
      if (state.config.hostBridge === true) await this.links.joinHostBridge(a.tap, state.bridge);
      else await this.links.joinBridge(a.tap, state.netns, state.bridge);
      a.joined = true;
      await this.save(state);
    });
  }

  /** Removes every attachment of the VMI `uid`; a segment left empty is torn down. */
  release(uid: string): Promise<void> {
    return this.exclusive(async () => {
      for (const state of await this.all()) {
        const mine = state.attachments.filter((a) => a.uid === uid);
        if (mine.length === 0) continue;
        for (const a of mine) await this.links.deleteTap(a.tap, state.netns);
        state.attachments = state.attachments.filter((a) => a.uid !== uid);
        if (state.attachments.length === 0) await this.teardown(state);
        else {
          await this.save(state);
          await this.publish(state);
        }
      }
    });
  }

  /** Every segment of this data dir, with its attachments (tests, status). */
  list(): Promise<(SegmentState & { id: string })[]> {
    return this.exclusive(async () => (await this.all()).map((s) => ({ ...s, id: this.idOf(s.ref) })));
  }

  /** Tears down every segment (used by tests and by a platform being removed for good). */
  destroyAll(): Promise<void> {
    return this.exclusive(async () => {
      for (const state of await this.all()) {
        for (const a of state.attachments)
          await this.links.deleteTap(a.tap, state.netns).catch(() => undefined);
        await this.teardown(state);
      }
    });
  }

  private async ensureSegment(ref: SegmentRef, config: CniConfig): Promise<SegmentState> {
    if (config.hostBridge === true) return this.ensureHostBridge(ref, config);
    const state: SegmentState = (await this.load(ref)) ?? {
      ref,
      netns: this.netnsOf(ref),
      bridge: config.bridge ?? 'br0',
      config,
      attachments: [],
    };
    const dir = this.dir(ref);
    await mkdir(dir, { recursive: true });
    if (!this.links.namespaceExists(state.netns)) {
      this.log(`network: creating segment ${ref.namespace}/${ref.name} (namespace ${state.netns})`);
      await this.links.addNamespace(state.netns);
      try {
        const ipam = state.config.ipam;
        const address = ipam === undefined ? undefined : `${formatIpv4(ipam.gateway)}/${ipam.prefix}`;
        await this.links.addBridge(state.netns, state.bridge, address, state.config.mtu);
      } catch (err) {
        await this.links.deleteNamespace(state.netns);
        throw err;
      }
    }
    await this.save(state);
    if (state.config.ipam !== undefined && !this.links.running(this.pidfile(ref), dir)) {
      await this.writeHosts(state);
      await this.links.startDnsmasq(state.netns, this.dnsmasqArgs(state), this.pidfile(ref));
    }
    return state;
  }

  /** The host's bridge is not ours: it must exist, and nothing is created beside the state. */
  private async ensureHostBridge(ref: SegmentRef, config: CniConfig): Promise<SegmentState> {
    const bridge = config.bridge ?? '';
    if (!this.links.hostBridgeExists(bridge))
      throw new Error(
        `host bridge ${JSON.stringify(bridge)} does not exist on this node (create it, with its uplink, before VMs join it)`,
      );
    const state: SegmentState = (await this.load(ref)) ?? { ref, netns: '', bridge, config, attachments: [] };
    await mkdir(this.dir(ref), { recursive: true });
    await this.save(state);
    return state;
  }

  private pidfile(ref: SegmentRef): string {
    return join(this.dir(ref), 'dnsmasq.pid');
  }

  private dnsmasqArgs(state: SegmentState): string[] {
    const ipam = state.config.ipam;
    if (ipam === undefined) return [];
    const dir = this.dir(state.ref);
    const gw = formatIpv4(ipam.gateway);
    return [
      '--conf-file=/dev/null',
      `--pid-file=${this.pidfile(state.ref)}`,
      '--user=root',
      '--group=root',
      // Authoritative for the segment only: no upstream servers, no host files of the host.
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--bind-interfaces',
      `--interface=${state.bridge}`,
      '--except-interface=lo',
      `--listen-address=${gw}`,
      `--dhcp-range=${formatIpv4(ipam.start)},${formatIpv4(ipam.end)},${netmaskOf(ipam.prefix)},12h`,
      `--dhcp-hostsfile=${join(dir, 'dhcp-hosts')}`,
      `--addn-hosts=${join(dir, 'hosts')}`,
      `--dhcp-leasefile=${join(dir, 'leases')}`,
      '--dhcp-authoritative',
      // The segment is isolated: advertise a router only when the configuration names a gateway.
      ipam.gatewayGiven ? `--dhcp-option=option:router,${gw}` : '--dhcp-option=option:router',
      `--dhcp-option=option:dns-server,${gw}`,
      `--log-facility=${join(dir, 'dnsmasq.log')}`,
    ];
  }

  /** Writes the fixed leases and DNS names, and tells dnsmasq to read them again. */
  private async publish(state: SegmentState): Promise<void> {
    if (state.config.ipam === undefined) return;
    await this.writeHosts(state);
    this.links.signal(this.pidfile(state.ref), 'SIGHUP');
  }

  private async writeHosts(state: SegmentState): Promise<void> {
    const dir = this.dir(state.ref);
    const withIp = state.attachments.filter((a) => a.ip !== undefined);
    await writeFile(
      join(dir, 'dhcp-hosts'),
      withIp.map((a) => `${a.mac},${a.ip ?? ''},${a.names[0] ?? ''}\n`).join(''),
    );
    await writeFile(join(dir, 'hosts'), withIp.map((a) => `${a.ip ?? ''} ${a.names.join(' ')}\n`).join(''));
  }

  private async teardown(state: SegmentState): Promise<void> {
    if (state.config.hostBridge === true) {
      await rm(this.dir(state.ref), { recursive: true, force: true });
      return;
    }
    this.log(`network: removing segment ${state.ref.namespace}/${state.ref.name} (namespace ${state.netns})`);
    this.links.signal(this.pidfile(state.ref), 'SIGTERM');
    await this.links.deleteNamespace(state.netns);
    await rm(this.dir(state.ref), { recursive: true, force: true });
  }

  private async load(ref: SegmentRef): Promise<SegmentState | undefined> {
    const file = join(this.dir(ref), 'state.json');
    if (!existsSync(file)) return undefined;
    return JSON.parse(await readFile(file, 'utf8')) as SegmentState;
  }

  private async all(): Promise<SegmentState[]> {
    if (!existsSync(this.root)) return [];
    const out: SegmentState[] = [];
    for (const id of await readdir(this.root)) {
      const file = join(this.root, id, 'state.json');
      if (existsSync(file)) out.push(JSON.parse(await readFile(file, 'utf8')) as SegmentState);
    }
    return out;
  }

  private async save(state: SegmentState): Promise<void> {
    await writeFile(join(this.dir(state.ref), 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  }
}

/** The lowest free address of the range (the gateway excluded), or undefined without IPAM. */
function allocate(state: SegmentState): string | undefined {
  const ipam = state.config.ipam;
  if (ipam === undefined) return undefined;
  const used = new Set(state.attachments.map((a) => a.ip));
  for (let n = ipam.start; n <= ipam.end; n++) {
    if (n === ipam.gateway) continue;
    const ip = formatIpv4(n);
    if (!used.has(ip)) return ip;
  }
  throw new Error(
    `no address left in ${formatIpv4(ipam.start)}-${formatIpv4(ipam.end)} of network ${state.ref.namespace}/${state.ref.name}`,
  );
}
