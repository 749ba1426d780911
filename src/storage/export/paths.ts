/**
 * The download server's URLs, in one place for the export controller (which publishes them in
 * status.links) and the server (which reads them back). Each names an export and one of its
 * volumes by name, never a host file: the server maps the volume to its file itself.
 * Files are KubeVirt's (`disk.img`, `disk.img.gz`, `disk.tar.gz`, `dir`) plus `disk.qcow2`.
 */
import type { ExportFormat, ExportLink, ManifestType } from '../../api/export/export.js';

export const EXPORT_PREFIX = '/exports';

const FILES: Readonly<Record<ExportFormat, string>> = {
  raw: 'disk.img',
  gzip: 'disk.img.gz',
  dir: 'dir',
  'tar.gz': 'disk.tar.gz',
  qcow2: 'disk.qcow2',
};
const MANIFEST_FILES: Readonly<Record<ManifestType, string>> = {
  all: 'all',
  'auth-header-secret': 'secret',
};

/** What a download path asks for; undefined when it is not one of the server's paths. */
export type ExportRequest =
  | { namespace: string; name: string; what: 'volume'; volume: string; format: ExportFormat; inDir: boolean }
  | { namespace: string; name: string; what: 'manifest'; manifest: ManifestType };

const SEGMENT = '([a-z0-9][-a-z0-9.]{0,252})';
export const EXPORT_PATH = new RegExp(
  `^${EXPORT_PREFIX}/${SEGMENT}/${SEGMENT}/(?:volumes/([-a-zA-Z0-9_.]{1,253})/(disk\\.img|disk\\.img\\.gz|disk\\.tar\\.gz|disk\\.qcow2|dir|dir/disk\\.img)|manifests/(all|secret))$`,
);

export function parseExportPath(path: string): ExportRequest | undefined {
  const m = EXPORT_PATH.exec(path);
  if (m === null) return undefined;
  const [, namespace = '', name = '', volume, file, manifest] = m;
  if (manifest !== undefined)
    return { namespace, name, what: 'manifest', manifest: manifest === 'all' ? 'all' : 'auth-header-secret' };
  if (volume === undefined || file === undefined || volume === '.' || volume === '..') return undefined;
  if (file === 'dir/disk.img') return { namespace, name, what: 'volume', volume, format: 'raw', inDir: true };
  const format = (Object.keys(FILES) as ExportFormat[]).find((f) => FILES[f] === file);
  return format === undefined ? undefined : { namespace, name, what: 'volume', volume, format, inDir: false };
}

const base = (url: string, ns: string, name: string): string =>
  `${url}${EXPORT_PREFIX}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;

export const volumeUrl = (
  url: string,
  ns: string,
  name: string,
  volume: string,
  format: ExportFormat,
): string => `${base(url, ns, name)}/volumes/${encodeURIComponent(volume)}/${FILES[format]}`;

export const manifestUrl = (url: string, ns: string, name: string, type: ManifestType): string =>
  `${base(url, ns, name)}/manifests/${MANIFEST_FILES[type]}`;

/** The link of a Ready export: every format of every volume, and the manifests of a VM. */
export function exportLink(
  url: string,
  cert: string,
  ns: string,
  name: string,
  volumes: readonly string[],
  withManifests: boolean,
): ExportLink {
  return {
    cert,
    volumes: volumes.map((v) => ({
      name: v,
      formats: (Object.keys(FILES) as ExportFormat[]).map((format) => ({
        format,
        url: volumeUrl(url, ns, name, v, format),
      })),
    })),
    ...(withManifests
      ? {
          manifests: (['all', 'auth-header-secret'] as const).map((type) => ({
            type,
            url: manifestUrl(url, ns, name, type),
          })),
        }
      : {}),
  };
}
