/**
 * Images as the API has them: DataSources (stable names of golden images) and DataVolumes (imports
 * from a URL or a registry, uploads, clones), with what an import form turns into.
 */
import { apiVersionOf, DATASOURCES, DATAVOLUMES } from '../api/resources.js';
import type { DataSource, DataVolume } from '../api/types.js';

/** Where a DataVolume's content comes from, as one line. */
export function sourceOf(dv: DataVolume): string {
  const s = dv.spec.source;
  if (dv.spec.sourceRef !== undefined) return `DataSource ${dv.spec.sourceRef.name}`;
  if (s?.http !== undefined) return s.http.url;
  if (s?.registry !== undefined) return s.registry.url ?? s.registry.imageStream ?? 'registry';
  if (s?.pvc !== undefined) return `clone of ${s.pvc.name}`;
  if (s?.upload !== undefined) return 'upload';
  if (s?.blank !== undefined) return 'blank';
  return '';
}

/** CDI's "47.30%" → 47.3; undefined for "N/A" or no progress. */
export function percentOf(progress: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(progress ?? '');
  return m === null ? undefined : Number(m[1]);
}

export const progressOf = (dv: DataVolume): number | undefined => percentOf(dv.status?.progress);

export const requestedSize = (dv: DataVolume): string =>
  String((dv.spec.storage ?? dv.spec.pvc)?.resources?.requests?.['storage'] ?? '');

export interface ImportForm {
  name: string;
  namespace: string;
  /** `upload`: the browser sends a local file to the DataVolume's upload endpoint. */
  kind: 'http' | 'registry' | 'upload';
  url: string;
  size: string;
}

export function importDataVolume(form: ImportForm): DataVolume {
  const url = form.url.trim();
  return {
    apiVersion: apiVersionOf(DATAVOLUMES),
    kind: 'DataVolume',
    metadata: { name: form.name.trim(), namespace: form.namespace },
    spec: {
      source:
        form.kind === 'upload'
          ? { upload: {} }
          : form.kind === 'http'
            ? { http: { url } }
            : { registry: { url } },
      storage: { resources: { requests: { storage: form.size.trim() } } },
    },
  };
}

/** CDI's upload endpoint of a DataVolume (the upload proxy's path, served by the API server). */
export const uploadPath = (namespace: string, name: string): string =>
  `/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/datavolumes/${encodeURIComponent(name)}/upload`;

/** A DataSource (a golden image's stable name) pointing at the claim a DataVolume filled. */
export function dataSourceFor(dv: DataVolume, name: string): DataSource {
  const namespace = dv.metadata.namespace ?? 'default';
  return {
    apiVersion: apiVersionOf(DATASOURCES),
    kind: 'DataSource',
    metadata: { name: name.trim(), namespace },
    spec: { source: { pvc: { name: dv.status?.claimName ?? dv.metadata.name ?? '', namespace } } },
  };
}
