/**
 * Where an OVA is read from: a local file, or an http(s) URL. A URL is hostile input, so it is
 * fetched as the platform's importer fetches DataVolume URLs (src/storage/import/http.ts): every
 * hop, redirects included, connects only where the outbound policy allows (src/network/outbound.ts:
 * loopback, private and link-local refused unless private targets are allowed), and an archive
 * larger than the limit is refused from its Content-Length, or stopped once that many bytes went by.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { formatBytes } from '../../api/quantity.js';
import type { OutboundPolicy } from '../../network/outbound.js';
import { ImportError } from '../import/errors.js';
import { openHttp, redact } from '../import/http.js';

export interface OvaSource {
  stream: Readable;
  /** How messages name the source: the path, or the URL without credentials or query. */
  label: string;
}

/** `scheme://…` is a URL (of a kind we may not fetch); anything else is a file path. */
export function isUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}

export async function openOva(
  location: string,
  options: { policy: OutboundPolicy; maxBytes: number; idleTimeoutMs?: number },
): Promise<OvaSource> {
  if (!isUrl(location)) return { stream: createReadStream(location), label: location };
  const url = new URL(location);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`cannot import an OVA from a ${url.protocol} URL: only http:// and https:// are fetched`);
  let opened;
  try {
    opened = await openHttp(
      {
        url: url.href,
        ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      },
      options.policy,
    );
  } catch (err) {
    if (err instanceof ImportError && err.reason === 'TargetNotAllowed')
      throw new Error(
        `${err.message}; the CLI applies the platform's rule to the OVA it fetches: --allow-private-targets (or HIKUBE_ALLOW_PRIVATE_TARGETS=1) allows private targets, as for hikube up`,
      );
    throw err;
  }
  if (opened.total !== undefined && opened.total > options.maxBytes) {
    opened.stream.destroy();
    throw new Error(
      `${redact(url)} is ${opened.total} bytes, larger than the limit of ${formatBytes(options.maxBytes)} (--max-size)`,
    );
  }
  return { stream: opened.stream, label: redact(url) };
}
