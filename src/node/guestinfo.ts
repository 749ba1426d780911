/**
 * What the guest agent tells about a guest: its OS and its interfaces' addresses, in the shapes
 * of a VMI's status. Undefined when no agent answers.
 */
import type { GuestAgent, GuestInterface, GuestOsInfo } from './guestagent.js';

export interface GuestInfo {
  os?: {
    name?: string;
    kernelRelease?: string;
    version?: string;
    prettyName?: string;
    versionId?: string;
    kernelVersion?: string;
    machine?: string;
    id?: string;
  };
  interfaces: { name: string; mac: string; ips: string[] }[];
}

export async function pollGuestAgent(agent: GuestAgent): Promise<GuestInfo | undefined> {
  try {
    await agent.execute('guest-ping', undefined, 1500);
  } catch {
    return undefined;
  }
  const info: GuestInfo = { interfaces: [] };
  try {
    const os = await agent.execute<GuestOsInfo>('guest-get-osinfo');
    info.os = {};
    const set = (k: keyof NonNullable<GuestInfo['os']>, v: string | undefined): void => {
      if (v !== undefined && info.os !== undefined) info.os[k] = v;
    };
    set('name', os.name);
    set('kernelRelease', os['kernel-release']);
    set('version', os.version);
    set('prettyName', os['pretty-name']);
    set('versionId', os['version-id']);
    set('kernelVersion', os['kernel-version']);
    set('machine', os.machine);
    set('id', os.id);
  } catch {
    // Older agents lack guest-get-osinfo.
  }
  try {
    const nics = await agent.execute<GuestInterface[]>('guest-network-get-interfaces');
    info.interfaces = nics
      .filter((n) => n['hardware-address'] !== undefined && n.name !== 'lo')
      .map((n) => ({
        name: n.name,
        mac: n['hardware-address'] ?? '',
        ips: (n['ip-addresses'] ?? [])
          .filter((a) => !a['ip-address'].startsWith('fe80'))
          .map((a) => a['ip-address']),
      }));
  } catch {
    // Interfaces are optional.
  }
  return info;
}

/** The part of a VMI status interface the guest agent's report updates. */
export interface StatusNic {
  mac?: string;
  interfaceName?: string;
  ipAddress?: string;
  ipAddresses?: string[];
  infoSource?: string;
}

/**
 * Merges what the guest agent saw on one NIC into its status entry. On the routed pod network the
 * pod interface keeps its pod IP (`podIp`): with the masquerade binding the guest only knows
 * 10.0.2.2, and Services and NetworkPolicy read the pod IP from this entry, as KubeVirt shows it.
 */
export function mergeGuestNic(nic: StatusNic, seen: GuestInfo['interfaces'][number], podIp?: string): void {
  nic.interfaceName = seen.name;
  nic.infoSource = 'domain, guest-agent';
  if (podIp !== undefined) {
    nic.ipAddress = podIp;
    nic.ipAddresses = [podIp];
    return;
  }
  if (seen.ips[0] !== undefined) nic.ipAddress = seen.ips[0];
  nic.ipAddresses = seen.ips;
}
