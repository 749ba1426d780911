/**
 * The one file of a `multipart/form-data` body, streamed: CDI's upload proxy takes an image as the
 * form field `file` on `/v1beta1/upload-form` (what a browser's `<form>` or `curl -F file=@disk.img`
 * sends). Only that part's bytes come out, as they arrive, so a many-GiB image is never held in
 * memory; the other fields are read past. Pure stream logic, no I/O of its own.
 */
import { Readable } from 'node:stream';

/** The body is not a form with the expected file (mapped to 400 Bad Request by the caller). */
export class FormError extends Error {}

const MAX_HEADER_BYTES = 16 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a `multipart/form-data; boundary=…` content type, if it is one. */
export function formBoundary(contentType: string | undefined): string | undefined {
  const [type = '', ...params] = (contentType ?? '').split(';').map((s) => s.trim());
  if (type.toLowerCase() !== 'multipart/form-data') return undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (p.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    const value = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    // RFC 2046: 1 to 70 characters.
    return value.length >= 1 && value.length <= 70 ? value : undefined;
  }
  return undefined;
}

/** The form field name of a part, from its `Content-Disposition: form-data; name="…"` header. */
function fieldName(headers: string): string | undefined {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
    const m = /;\s*name="([^"]*)"/i.exec(line) ?? /;\s*name=([^;\s]+)/i.exec(line);
    return m?.[1];
  }
  return undefined;
}

/** Yields the bytes of the part named `field`; throws FormError when the body has no such part. */
async function* partBytes(
  source: AsyncIterable<Buffer>,
  boundary: string,
  field: string,
): AsyncGenerator<Buffer> {
  // The first boundary has no CRLF before it: prepend one so every delimiter looks the same.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const keep = delimiter.length + 1;
  let buf = Buffer.from('\r\n');
  let phase: 'preamble' | 'after-delimiter' | 'headers' | 'skip' | 'file' = 'preamble';
  const input = source[Symbol.asyncIterator]();
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await input.next();
    if (next.done === true) {
      ended = true;
      return false;
    }
    buf = Buffer.concat([buf, next.value]);
    return true;
  };

  for (;;) {
    if (phase === 'preamble' || phase === 'skip' || phase === 'file') {
      const at = buf.indexOf(delimiter);
      if (at >= 0) {
        if (phase === 'file') {
          if (at > 0) yield buf.subarray(0, at);
          return;
        }
        buf = buf.subarray(at + delimiter.length);
        phase = 'after-delimiter';
        continue;
      }
      if (phase === 'file' && buf.length > keep) {
        yield buf.subarray(0, buf.length - keep);
        buf = buf.subarray(buf.length - keep);
      } else if (buf.length > keep) buf = buf.subarray(buf.length - keep);
      if (!(await more()))
        throw new FormError(
          phase === 'file' ? `form field "${field}" is cut short` : `form has no field "${field}"`,
        );
      continue;
    }
    if (phase === 'after-delimiter') {
      if (buf.length < 2 && (await more())) continue;
      if (buf.subarray(0, 2).toString() === '--' || buf.length < 2)
        throw new FormError(`form has no field "${field}"`);
      phase = 'headers';
      continue;
    }
    // headers: the rest of the delimiter line, then header lines up to an empty line.
    const end = buf.indexOf(HEADER_END);
    if (end < 0) {
      if (buf.length > MAX_HEADER_BYTES) throw new FormError('form part headers are too long');
      if (!(await more())) throw new FormError(`form has no field "${field}"`);
      continue;
    }
    const headers = buf.subarray(0, end).toString('latin1');
    // The part's body follows; the CRLF that ends it belongs to the next delimiter.
    buf = buf.subarray(end + HEADER_END.length);
    phase = fieldName(headers) === field ? 'file' : 'skip';
  }
}

/**
 * The file of a form upload as a stream, once its part has been found: a body without the field
 * (or not a form at all) is refused before any byte is written.
 * @throws FormError
 */
export async function formFile(
  body: AsyncIterable<Buffer>,
  contentType: string | undefined,
  field = 'file',
): Promise<Readable> {
  const boundary = formBoundary(contentType);
  if (boundary === undefined)
    throw new FormError(
      `Content-Type must be multipart/form-data with a boundary, not ${JSON.stringify(contentType ?? '')}`,
    );
  const parts = partBytes(body, boundary, field);
  const first = await parts.next();
  async function* all(): AsyncGenerator<Buffer> {
    if (first.done === true) return;
    yield first.value;
    yield* parts;
  }
  return Readable.from(all(), { objectMode: false });
}
