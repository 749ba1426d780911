/**
 * Renders a VMI's cloud-init volume (NoCloud or ConfigDrive) into the files of its seed ISO: the
 * instance id (the VMI's uid, so a new VMI re-runs per-instance modules), the hostname, user data
 * (inline, base64 or from a Secret), network data, and the SSH keys of `accessCredentials` merged
 * into cloud-config user data. Pure: secrets are looked up through the function passed in.
 */
import { parse, stringify } from 'yaml';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { Volume } from '../api/kubevirt/volumes.js';

export type SecretLookup = (name: string) => Record<string, string> | undefined;

export class CloudInitError extends Error {}

export interface SeedIso {
  label: 'cidata' | 'config-2';
  files: Record<string, string>;
}

const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');

function fromSecret(secrets: SecretLookup, name: string, keys: string[], what: string): string | undefined {
  const data = secrets(name);
  if (data === undefined) throw new CloudInitError(`secret ${JSON.stringify(name)} for ${what} not found`);
  for (const k of keys) if (data[k] !== undefined) return decode(data[k]);
  return undefined;
}

/** Public keys from the Secrets named by `accessCredentials` (every value of each Secret is a key list). */
export function sshKeysOf(vmi: VirtualMachineInstance, secrets: SecretLookup): string[] {
  const keys: string[] = [];
  for (const cred of vmi.spec.accessCredentials ?? []) {
    const ssh = cred.sshPublicKey;
    if (
      ssh === undefined ||
      (ssh.propagationMethod.noCloud === undefined && ssh.propagationMethod.configDrive === undefined)
    )
      continue;
    const name = ssh.source.secret.secretName;
    const data = secrets(name);
    if (data === undefined)
      throw new CloudInitError(`secret ${JSON.stringify(name)} for accessCredentials not found`);
    for (const v of Object.values(data)) {
      for (const line of decode(v).split('\n'))
        if (line.trim() !== '' && !line.trim().startsWith('#')) keys.push(line.trim());
    }
  }
  return keys;
}

/** Appends keys to cloud-config user data; a script cannot carry them and is returned as is. */
export function withSshKeys(userData: string, keys: string[]): string {
  if (keys.length === 0) return userData;
  if (userData.trim() === '') return `#cloud-config\n${stringify({ ssh_authorized_keys: keys })}`;
  if (!userData.startsWith('#cloud-config')) return userData;
  const doc = (parse(userData) as Record<string, unknown> | null) ?? {};
  const existing = Array.isArray(doc['ssh_authorized_keys']) ? (doc['ssh_authorized_keys'] as string[]) : [];
  doc['ssh_authorized_keys'] = [...existing, ...keys.filter((k) => !existing.includes(k))];
  // Users named in `users:` get the keys too, as KubeVirt's propagation does for the default user.
  return `#cloud-config\n${stringify(doc)}`;
}

export function renderSeed(vmi: VirtualMachineInstance, volume: Volume, secrets: SecretLookup): SeedIso {
  const source = volume.cloudInitNoCloud ?? volume.cloudInitConfigDrive;
  if (source === undefined)
    throw new CloudInitError(`volume ${JSON.stringify(volume.name)} is not a cloud-init volume`);
  const what = `volume ${JSON.stringify(volume.name)}`;
  let userData =
    source.userData ?? (source.userDataBase64 !== undefined ? decode(source.userDataBase64) : undefined);
  if (userData === undefined && source.secretRef !== undefined)
    userData = fromSecret(secrets, source.secretRef.name, ['userdata', 'userData'], what);
  let networkData =
    source.networkData ??
    (source.networkDataBase64 !== undefined ? decode(source.networkDataBase64) : undefined);
  if (networkData === undefined && source.networkDataSecretRef !== undefined) {
    networkData = fromSecret(secrets, source.networkDataSecretRef.name, ['networkdata', 'networkData'], what);
  }
  const user = withSshKeys(userData ?? '', sshKeysOf(vmi, secrets));
  const instanceId = vmi.metadata.uid ?? `${vmi.metadata.namespace ?? ''}.${vmi.metadata.name ?? ''}`;
  const hostname = vmi.spec.hostname ?? vmi.metadata.name ?? 'localhost';
  if (volume.cloudInitNoCloud !== undefined) {
    const files: Record<string, string> = {
      'meta-data': `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`,
      'user-data': user,
    };
    if (networkData !== undefined) files['network-config'] = networkData;
    return { label: 'cidata', files };
  }
  const files: Record<string, string> = {
    'openstack/latest/meta_data.json': JSON.stringify({ uuid: instanceId, hostname, name: hostname }),
    'openstack/latest/user_data': user,
  };
  if (networkData !== undefined) files['openstack/latest/network_data.json'] = networkData;
  return { label: 'config-2', files };
}
