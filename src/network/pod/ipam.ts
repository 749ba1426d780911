/**
 * Pod IP address management: one address of the pod CIDR per VM, recorded by the VM's namespace
 * and name in DATA_DIR/network/pod/ipam.json, so a VM keeps its pod IP when it is restarted (its
 * new VMI has a new uid but the same name) and when the control plane restarts. The first address
 * is the gateway; the last two (the bridge binding's DHCP server, the broadcast) are never given out. A record is dropped when
 * its VM is gone (the caller says which names are still in use).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatIpv4, parseIpv4 } from '../../api/network/cni.js';

export interface PodCidr {
  /** The network address, as a number. */
  network: number;
  prefix: number;
}

export interface IpamRecord {
  namespace: string;
  name: string;
  ip: string;
  /** The VMI that holds it now (informational: the key is namespace/name). */
  uid: string;
}

/** The gateway: the first host address of the CIDR. */
export const gatewayOf = (cidr: PodCidr): string => formatIpv4(cidr.network + 1);

/**
 * The last host address: never a pod IP; with the bridge binding each sandbox's DHCP server has it
 * on the guest's bridge (the guest's own subnet), without a route.
 */
export const dhcpServerOf = (cidr: PodCidr): string => formatIpv4(cidr.network + 2 ** (32 - cidr.prefix) - 2);

export const cidrText = (cidr: PodCidr): string => `${formatIpv4(cidr.network)}/${cidr.prefix}`;

export class PodIpam {
  private records: IpamRecord[];

  constructor(
    private readonly file: string,
    private readonly cidr: PodCidr,
  ) {
    this.records = existsSync(file)
      ? ((JSON.parse(readFileSync(file, 'utf8')) as { records?: IpamRecord[] }).records ?? [])
      : [];
    // A pod CIDR changed by the admin: addresses outside it are forgotten.
    this.records = this.records.filter((r) => this.contains(r.ip));
  }

  private contains(ip: string): boolean {
    const n = parseIpv4(ip);
    const size = 2 ** (32 - this.cidr.prefix);
    return n !== undefined && n > this.cidr.network + 1 && n < this.cidr.network + size - 2;
  }

  /** The address already recorded for this VM, if any. */
  find(namespace: string, name: string): IpamRecord | undefined {
    return this.records.find((r) => r.namespace === namespace && r.name === name);
  }

  /**
   * The VM's address: its recorded one, else the lowest free one. `inUse(namespace, name)` tells
   * whether another record's VM still exists; records of VMs that are gone are reclaimed first.
   */
  async allocate(
    namespace: string,
    name: string,
    uid: string,
    inUse: (namespace: string, name: string) => boolean,
  ): Promise<string> {
    const existing = this.find(namespace, name);
    if (existing !== undefined) {
      if (existing.uid !== uid) {
        existing.uid = uid;
        await this.save();
      }
      return existing.ip;
    }
    this.records = this.records.filter((r) => inUse(r.namespace, r.name));
    const used = new Set(this.records.map((r) => r.ip));
    const size = 2 ** (32 - this.cidr.prefix);
    for (let n = this.cidr.network + 2; n < this.cidr.network + size - 2; n++) {
      const ip = formatIpv4(n);
      if (used.has(ip)) continue;
      this.records.push({ namespace, name, ip, uid });
      await this.save();
      return ip;
    }
    throw new Error(`no address left in the pod CIDR ${cidrText(this.cidr)}`);
  }

  /** Forgets the VM's address (its VM was deleted). */
  async release(namespace: string, name: string): Promise<void> {
    const before = this.records.length;
    this.records = this.records.filter((r) => !(r.namespace === namespace && r.name === name));
    if (this.records.length !== before) await this.save();
  }

  list(): readonly IpamRecord[] {
    return this.records;
  }

  private async save(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(
      tmp,
      `${JSON.stringify({ cidr: cidrText(this.cidr), records: this.records }, null, 2)}\n`,
    );
    await rename(tmp, this.file);
  }
}
