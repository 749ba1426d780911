/**
 * `hikube apply -f FILE|-`: create what is missing, patch what exists. Like kubectl's client-side
 * apply, the last applied configuration is kept in an annotation, so fields removed from the file
 * are removed from the object (a JSON merge patch with nulls for them).
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { KubeApiError, resourcePath, type KubeClient } from '../client/kube.js';
import { UsageError } from './errors.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export async function readManifests(file: string): Promise<KubeObject[]> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new UsageError(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value))
      throw new UsageError(`${file}: a document is not an object`);
    const o = value as KubeObject;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string')
      throw new UsageError(`${file}: an object is missing apiVersion or kind`);
    if (o.kind.endsWith('List') && Array.isArray(o['items'])) objects.push(...(o['items'] as KubeObject[]));
    else objects.push(o);
  }
  return objects;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Nulls for every field of `before` that `after` no longer has, recursively through objects. */
export function removals(before: unknown, after: unknown): unknown {
  if (!isObject(before) || !isObject(after)) return after;
  const out: Record<string, unknown> = { ...after };
  for (const key of Object.keys(before)) {
    if (!(key in after)) out[key] = null;
    else out[key] = removals(before[key], after[key]);
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export async function applyObject(
  client: KubeClient,
  object: KubeObject,
  namespaceFlag: string | undefined,
): Promise<{ line: string; warnings: string[] }> {
  const r = await client.resolveKind(object.apiVersion, object.kind);
  const namespace = r.namespaced
    ? (object.metadata.namespace ?? namespaceFlag ?? client.namespace)
    : undefined;
  const name = object.metadata.name ?? '';
  const kind = r.kind.toLowerCase();
  const qualified = `${r.group === '' ? kind : `${kind}.${r.group}`}/${name}`;
  const desired = structuredClone(object);
  const { [LAST_APPLIED]: _previous, ...annotations } = desired.metadata.annotations ?? {};
  const config = JSON.stringify({
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
    },
  });
  desired.metadata.annotations = { ...annotations, [LAST_APPLIED]: `${config}\n` };
  const query = '?fieldManager=hikube-client-side-apply&fieldValidation=Strict';
  let live: KubeObject | undefined;
  try {
    live = (await client.call<KubeObject>('GET', resourcePath(r, namespace, name))).value;
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 404)) throw err;
  }
  if (live === undefined) {
    const created = await client.call<KubeObject>('POST', `${resourcePath(r, namespace)}${query}`, desired);
    return { line: `${qualified} created`, warnings: created.warnings };
  }
  const before = live.metadata.annotations?.[LAST_APPLIED];
  const previous = before === undefined ? {} : (JSON.parse(before) as unknown);
  const patch = removals(previous, desired);
  const res = await client.call<KubeObject>('PATCH', `${resourcePath(r, namespace, name)}${query}`, patch, {
    'Content-Type': 'application/merge-patch+json',
  });
  const changed = res.value.metadata.resourceVersion !== live.metadata.resourceVersion;
  return { line: `${qualified} ${changed ? 'configured' : 'unchanged'}`, warnings: res.warnings };
}
