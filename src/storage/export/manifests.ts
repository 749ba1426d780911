/**
 * The manifests an export of a VM publishes, as KubeVirt's export server does: `all` is the VM
 * with one DataVolume template per exported disk, importing that disk (gzip) back from this export
 * over HTTP with the token header taken from a Secret; `auth-header-secret` is that Secret. Applied
 * on another platform together (and the CA trusted), they recreate the VM. YAML documents, or a
 * v1 List when JSON is asked for.
 */
import { stringify } from 'yaml';
import {
  EXPORT_TOKEN_HEADER,
  type ManifestType,
  type VirtualMachineExport,
} from '../../api/export/export.js';
import type { KubeObject } from '../../api/meta.js';
import type { ExportVolume } from './source.js';
import { volumeUrl } from './paths.js';

type Ready = { volumes: ExportVolume[]; vm?: KubeObject };
type Volume = { name: string; persistentVolumeClaim?: unknown; dataVolume?: unknown; [k: string]: unknown };
type VmSpec = {
  template?: { spec?: { volumes?: Volume[] } };
  dataVolumeTemplates?: unknown[];
  [k: string]: unknown;
};

export const headerSecretName = (exportName: string): string => `header-secret-${exportName}`;

export function renderManifests(
  e: VirtualMachineExport,
  source: Ready,
  url: string,
  type: ManifestType,
  json: boolean,
  token: string,
): string {
  const ns = e.metadata.namespace ?? '';
  const name = e.metadata.name ?? '';
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: headerSecretName(name) },
    type: 'Opaque',
    data: { token: Buffer.from(`${EXPORT_TOKEN_HEADER}:${token}`).toString('base64') },
  };
  const items: unknown[] = type === 'auth-header-secret' ? [secret] : vmManifests(e, source, url, ns, name);
  if (json) return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: {}, items }, null, 2)}\n`;
  return items.map((i) => stringify(i)).join('---\n');
}

function vmManifests(
  e: VirtualMachineExport,
  source: Ready,
  url: string,
  ns: string,
  name: string,
): unknown[] {
  if (source.vm === undefined) return [];
  const vm = structuredClone(source.vm) as KubeObject & { spec?: VmSpec };
  const spec: VmSpec = vm.spec ?? {};
  const templates = source.volumes.map((v) => ({
    metadata: { name: v.claimName },
    spec: {
      source: {
        http: {
          url: volumeUrl(url, ns, name, v.name, 'gzip'),
          secretExtraHeaders: [headerSecretName(name)],
        },
      },
      storage: {},
    },
  }));
  const exported = new Map(source.volumes.map((v) => [v.name, v.claimName]));
  const volumes = (spec.template?.spec?.volumes ?? []).map((v): Volume => {
    const claim = exported.get(v.name);
    if (claim === undefined) return v;
    const { persistentVolumeClaim: _p, dataVolume: _d, ...rest } = v;
    return { ...rest, dataVolume: { name: claim } };
  });
  if (spec.template?.spec !== undefined) spec.template.spec.volumes = volumes;
  return [
    {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: {
        name: vm.metadata.name ?? e.spec.source.name,
        ...(vm.metadata.labels !== undefined ? { labels: vm.metadata.labels } : {}),
      },
      spec: { ...spec, dataVolumeTemplates: templates },
    },
  ];
}
