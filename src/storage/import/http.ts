/**
 * Opens an http(s) source as CDI's importer does: basic auth from a Secret, extra CAs from a
 * ConfigMap, extra headers, redirects followed. HTTP errors are classified: 404 or 401/403 will
 * not get better by retrying, a 503 or a reset connection may. Every hop, redirects included, connects
 * only where the outbound policy allows (src/network/outbound.ts), and only over http(s).
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { outboundRequestOptions, type OutboundPolicy } from '../../network/outbound.js';
import { ImportError, connectionError } from './errors.js';

export interface HttpSource {
  url: string;
  auth?: { user: string; password: string };
  /** PEM CA certificates trusted in addition to the system ones. */
  ca?: string[];
  headers?: Record<string, string>;
  insecureSkipVerify?: boolean;
  /** A connection silent this long is dropped (and the import retried). */
  idleTimeoutMs?: number;
}

export interface OpenedSource {
  stream: Readable;
  /** Content-Length, when the server sent one. */
  total: number | undefined;
}

const MAX_REDIRECTS = 10;

export async function openHttp(
  source: HttpSource,
  targets: OutboundPolicy,
  signal?: AbortSignal,
): Promise<OpenedSource> {
  let url = new URL(source.url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await get(url, source, targets, signal);
    const code = res.statusCode ?? 0;
    const location = res.headers.location;
    if (code >= 300 && code < 400 && location !== undefined) {
      res.resume();
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new ImportError(
          'Error',
          `${redact(url)} redirects to a ${next.protocol} URL, which is not fetched`,
          true,
        );
      // Credentials go only where they were meant to: never to another host.
      if (next.host !== url.host) {
        const { auth: _auth, ...rest } = source;
        source = { ...rest, url: next.href, headers: {} };
      }
      url = next;
      continue;
    }
    if (code >= 200 && code < 300) {
      const length = Number(res.headers['content-length']);
      return { stream: res, total: Number.isFinite(length) && length > 0 ? length : undefined };
    }
    res.resume();
    throw statusError(code, res.statusMessage ?? '', url);
  }
  throw new ImportError('Error', `too many redirects fetching ${source.url}`, true);
}

function statusError(code: number, text: string, url: URL): ImportError {
  const what = `HTTP ${code}${text !== '' ? ` ${text}` : ''} from ${redact(url)}`;
  if (code === 404 || code === 410)
    return new ImportError('NotFound', `${what}: the image is not there`, true);
  if (code === 401 || code === 403)
    return new ImportError('Unauthorized', `${what}: check the credentials in secretRef`, true);
  if (code === 408 || code === 429 || code >= 500) return new ImportError('Error', what, false);
  return new ImportError('Error', what, true);
}

/** The URL without its user info or query (which may carry tokens), for messages. */
export function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function get(
  url: URL,
  source: HttpSource,
  targets: OutboundPolicy,
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  const https = url.protocol === 'https:';
  const headers: Record<string, string> = { 'User-Agent': 'hikube-importer', ...source.headers };
  if (source.auth !== undefined)
    headers['Authorization'] =
      `Basic ${Buffer.from(`${source.auth.user}:${source.auth.password}`).toString('base64')}`;
  const options: RequestOptions & { ca?: string[]; rejectUnauthorized?: boolean } = {
    method: 'GET',
    headers,
    ...(signal !== undefined ? { signal } : {}),
  };
  if (https && source.ca !== undefined && source.ca.length > 0) {
    options.ca = [...rootCertificates, ...source.ca];
  }
  if (https && source.insecureSkipVerify === true) options.rejectUnauthorized = false;
  return new Promise((resolve, reject) => {
    try {
      options.lookup = outboundRequestOptions(targets, url).lookup;
    } catch (err) {
      reject(connectionError(err, `fetching ${redact(url)}`));
      return;
    }
    const req = (https ? httpsRequest : httpRequest)(url, options, (res) => {
      res.setTimeout(source.idleTimeoutMs ?? 30_000, () =>
        res.destroy(Object.assign(new Error('the server stopped sending data'), { code: 'ETIMEDOUT' })),
      );
      resolve(res);
    });
    req.setTimeout(source.idleTimeoutMs ?? 30_000, () =>
      req.destroy(Object.assign(new Error('no answer from the server'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err) => reject(connectionError(err, `fetching ${redact(url)}`)));
    req.end();
  });
}
