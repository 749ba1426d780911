/**
 * What a DataVolume is filled from, resolved against the API: a DataSource becomes the PVC it
 * names; an http source gets its basic-auth credentials, extra CAs and secret headers from the
 * Secrets and ConfigMaps it refers to. Reads only; a missing reference is a reason to wait.
 */
import { configMapKind, persistentVolumeClaimKind, secretKind } from '../../api/core/core.js';
import { parseChecksum, type Checksum } from '../../api/cdi/checksum.js';
import { dataSourceKind, type DataSource } from '../../api/cdi/datasource.js';
import { requestedBytes, sourceKind, type DataVolume } from '../../api/cdi/datavolume.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { capacityBytes, type Claim } from '../../storage/claims.js';
import type { HttpSource } from '../../storage/import/http.js';
import type { RegistrySource } from '../../storage/import/registry.js';
import type { SourceKind } from './status.js';

export type ResolvedSource =
  | { kind: 'http'; http: HttpSource; checksum?: Checksum }
  | { kind: 'registry'; registry: RegistrySource }
  | { kind: 'pvc'; namespace: string; name: string }
  | { kind: 'upload' }
  | { kind: 'blank' };

/** A reference that does not resolve yet: the DataVolume waits, saying why. */
export class Unresolved extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

type Data = KubeObject & { data?: Record<string, string> };

/** What resolving reads: the runtime's cached client, or anything else that gets objects at once. */
export interface SourceReader {
  get<T extends KubeObject>(def: KindDefinition, namespace: string, name: string): T | undefined;
}

export function resolveSource(api: SourceReader, dv: DataVolume): ResolvedSource {
  const namespace = dv.metadata.namespace ?? '';
  const ref = dv.spec.sourceRef;
  if (ref !== undefined) {
    const ns = ref.namespace ?? namespace;
    const ds = api.get<DataSource>(dataSourceKind, ns, ref.name);
    if (ds === undefined) throw new Unresolved('NotFound', `DataSource ${ns}/${ref.name} not found`);
    const pvc = ds.spec.source.pvc;
    if (pvc === undefined)
      throw new Unresolved('NotFound', `DataSource ${ns}/${ref.name} does not name a PVC`);
    return { kind: 'pvc', namespace: pvc.namespace ?? ns, name: pvc.name };
  }
  const kind = sourceKind(dv.spec);
  const source = dv.spec.source;
  if (kind === 'pvc' && source?.pvc !== undefined)
    return { kind: 'pvc', namespace: source.pvc.namespace ?? namespace, name: source.pvc.name };
  if (kind === 'upload') return { kind: 'upload' };
  if (kind === 'blank') return { kind: 'blank' };
  if (kind === 'registry' && source?.registry?.url !== undefined) {
    const r = source.registry;
    const registry: RegistrySource = { url: r.url ?? '' };
    if (r.secretRef !== undefined) {
      const data = secretData(api, namespace, r.secretRef);
      const user = data['accessKeyId'];
      const password = data['secretKey'];
      if (user === undefined || password === undefined)
        throw new Unresolved('NotFound', `Secret ${r.secretRef} needs the keys accessKeyId and secretKey`);
      registry.auth = { user, password };
    }
    if (r.certConfigMap !== undefined) {
      const cm = api.get<Data>(configMapKind, namespace, r.certConfigMap);
      if (cm === undefined) throw new Unresolved('NotFound', `ConfigMap ${r.certConfigMap} not found`);
      registry.ca = Object.values(cm.data ?? {});
    }
    return { kind: 'registry', registry };
  }
  if (kind === 'http' && source?.http !== undefined) {
    const h = source.http;
    const http: HttpSource = { url: h.url };
    if (h.secretRef !== undefined) {
      const data = secretData(api, namespace, h.secretRef);
      const user = data['accessKeyId'];
      const password = data['secretKey'];
      if (user === undefined || password === undefined)
        throw new Unresolved('NotFound', `Secret ${h.secretRef} needs the keys accessKeyId and secretKey`);
      http.auth = { user, password };
    }
    if (h.certConfigMap !== undefined) {
      const cm = api.get<Data>(configMapKind, namespace, h.certConfigMap);
      if (cm === undefined) throw new Unresolved('NotFound', `ConfigMap ${h.certConfigMap} not found`);
      http.ca = Object.values(cm.data ?? {});
    }
    const headers: Record<string, string> = {};
    const addHeader = (line: string): void => {
      const at = line.indexOf(':');
      if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    };
    for (const line of h.extraHeaders ?? []) addHeader(line);
    for (const name of h.secretExtraHeaders ?? [])
      for (const line of Object.values(secretData(api, namespace, name))) addHeader(line);
    if (Object.keys(headers).length > 0) http.headers = headers;
    if (h.insecureSkipVerify === true) http.insecureSkipVerify = true;
    const checksum = h.checksum === undefined ? undefined : parseChecksum(h.checksum);
    return typeof checksum === 'object' ? { kind: 'http', http, checksum } : { kind: 'http', http };
  }
  throw new Unresolved(
    'Unsupported',
    `the source of DataVolume ${dv.metadata.name ?? ''} is not supported here`,
  );
}

function secretData(api: SourceReader, namespace: string, name: string): Record<string, string> {
  const secret = api.get<Data>(secretKind, namespace, name);
  if (secret === undefined) throw new Unresolved('NotFound', `Secret ${name} not found`);
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** The size of the claim to make: requested, or for a clone with none, the source's capacity. */
export function sizeFor(api: SourceReader, dv: DataVolume, source: ResolvedSource): number {
  const asked = requestedBytes(dv.spec);
  if (asked !== undefined) return asked;
  if (source.kind === 'pvc') {
    const src = api.get<Claim>(persistentVolumeClaimKind, source.namespace, source.name);
    const bytes = src === undefined ? undefined : capacityBytes(src);
    if (bytes !== undefined) return bytes;
    throw new Unresolved(
      'NotFound',
      `source PVC ${source.namespace}/${source.name} is not bound yet: its size is unknown`,
    );
  }
  throw new Unresolved('Invalid', 'the DataVolume requests no size');
}

export const kindOfSource = (s: ResolvedSource): SourceKind => s.kind;
