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
