/**
 * Serves a kind in an older version (src/api/versions.ts). The request body's `apiVersion` is
 * rewritten to the stored version before the Registry sees it, and every object of the kind in the
 * response (a single object, a list's items, a watch event's object) gets the older `apiVersion`
 * back. Other apiVersions in the body (owner references, Status, Table) are left alone, as
 * kube-apiserver's conversion leaves them. Each response carries the deprecation warning.
 */
import { apiVersionOf } from '../api/kind.js';
import type { OlderVersionKind } from '../api/versions.js';
import type { ApiResponse } from './http.js';

export interface VersionConverter {
  /** Rewrites a request body (object or patch) from the older version to the stored one. */
  toStorage(body: unknown): unknown;
}

export function converterFor(def: OlderVersionKind): VersionConverter {
  const older = apiVersionOf(def);
  const stored = apiVersionOf(def.storage);
  return {
    toStorage(body: unknown): unknown {
      if (isRecord(body) && body['apiVersion'] === older) return { ...body, apiVersion: stored };
      return body;
    },
  };
}

/** Rewrites a response object of the stored version (or a list or watch event of them) to the older one. */
export function toOlder(def: OlderVersionKind, value: unknown): unknown {
  const older = apiVersionOf(def);
  const stored = apiVersionOf(def.storage);
  const convert = (o: unknown): unknown =>
    isRecord(o) && o['apiVersion'] === stored && o['kind'] === def.kind ? { ...o, apiVersion: older } : o;
  if (!isRecord(value)) return value;
  if (value['kind'] === `${def.kind}List` && value['apiVersion'] === stored && Array.isArray(value['items']))
    return { ...value, apiVersion: older, items: value['items'].map(convert) };
  if (typeof value['type'] === 'string' && isRecord(value['object']) && value['kind'] === undefined)
    return { ...value, object: convert(value['object']) };
  return convert(value);
}

/**
 * Makes `res` answer in the older version: JSON bodies (whole, or one watch event per line) are
 * converted as they are written, the deprecation warning joins the headers, and Content-Length is
 * dropped since the body grows.
 */
export function answerInOlderVersion(def: OlderVersionKind, res: ApiResponse): void {
  const warning = `299 - ${JSON.stringify(def.deprecationWarning)}`;
  const rewrite = (chunk: unknown): unknown => {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk)) return chunk;
    const text = chunk.toString();
    return text
      .split('\n')
      .map((line) => (line.trim() === '' ? line : convertLine(def, line)))
      .join('\n');
  };
  const target = res as unknown as Record<string, (...args: unknown[]) => unknown>;
  const writeHead = target['writeHead']?.bind(res);
  const write = target['write']?.bind(res);
  const end = target['end']?.bind(res);
  if (writeHead === undefined || write === undefined || end === undefined) return;
  target['writeHead'] = (code: unknown, ...rest: unknown[]) => {
    const headers = rest.find((r): r is Record<string, unknown> => isRecord(r)) ?? {};
    const kept = Object.fromEntries(
      Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-length'),
    );
    const existing: unknown = kept['Warning'];
    const others: unknown[] = Array.isArray(existing) ? existing : existing === undefined ? [] : [existing];
    kept['Warning'] = def.deprecationWarning === '' ? others : [warning, ...others];
    return writeHead(code, kept);
  };
  target['write'] = (chunk: unknown, ...rest: unknown[]) => write(rewrite(chunk), ...rest);
  target['end'] = (chunk?: unknown, ...rest: unknown[]) =>
    chunk === undefined || typeof chunk === 'function' ? end(chunk, ...rest) : end(rewrite(chunk), ...rest);
}

function convertLine(def: OlderVersionKind, line: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  return JSON.stringify(toOlder(def, parsed));
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
