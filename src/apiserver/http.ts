/**
 * Small HTTP helpers: read a bounded body, decode it within the nesting limit, write JSON, write a
 * Status. They take a request of either protocol the server speaks (listener.ts): node's HTTP/2
 * compatibility API mirrors http's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Http2ServerResponse, type Http2ServerRequest } from 'node:http2';
import type { Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { measure } from '../api/limits.js';
import {
  bodyDepthLimit,
  bodyLimit,
  checkJsonDepth,
  checkYamlDepth,
  isYaml,
  MAX_BODY_BYTES,
  tooDeep,
} from './body-limits.js';
import { ApiError, statusFor } from './errors.js';
import { decodeProtobuf, isProtobuf } from './protobuf.js';

/** A request over HTTP/1.1 or HTTP/2. */
export type ApiRequest = IncomingMessage | Http2ServerRequest;
/**
 * Its response. HTTP/2 forbids connection headers (Connection, Transfer-Encoding, Keep-Alive):
 * never set them; node chunks an HTTP/1.1 body of unknown length itself.
 */
export type ApiResponse = ServerResponse | Http2ServerResponse;

export { MAX_BODY_BYTES } from './body-limits.js';

/** Reads the body, refusing it (413) past the limit for its content type. */
export async function readBody(
  req: ApiRequest,
  limit = bodyLimit(req.headers['content-type']),
): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (limit: number): ApiError =>
  new ApiError('RequestEntityTooLarge', `the request is too large: limit is ${limit} bytes`);

/**
 * Decodes a protobuf, JSON or YAML body (YAML when the content type says so). The raw text is
 * scanned for nesting before it is parsed, and the parsed value measured again (YAML aliases can
 * nest what the text does not show), so nothing downstream recurses past the limit.
 */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  if (isProtobuf(contentType)) return decodeProtobuf(body);
  const text = body.toString('utf8');
  if (text.trim() === '') throw new ApiError('BadRequest', 'the request body is empty');
  const yaml = isYaml(contentType);
  const depthLimit = bodyDepthLimit(contentType);
  if (yaml) checkYamlDepth(text, depthLimit);
  else checkJsonDepth(body, depthLimit);
  const value = parseText(text, yaml);
  const exceeded = measure(value, { depth: depthLimit, bytes: 2 * MAX_BODY_BYTES }).exceeded;
  if (exceeded === 'depth') throw tooDeep(depthLimit);
  if (exceeded === 'bytes') throw tooLarge(2 * MAX_BODY_BYTES);
  return value;
}

function parseText(text: string, yaml: boolean): unknown {
  try {
    return yaml ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    const what = yaml ? 'YAML' : 'JSON';
    throw new ApiError(
      'BadRequest',
      `the request body is not valid ${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
}

/**
 * Starts a 200 whose body streams (a watch): the status and headers leave at once, so the client
 * knows the watch is established before the first event. Returns the body to write into.
 */
export function startStream(res: ApiResponse, headers: Record<string, string>): Writable {
  res.writeHead(200, headers);
  // HTTP/2 sends the headers in writeHead; HTTP/1.1 holds them until the first write.
  if (!(res instanceof Http2ServerResponse)) res.flushHeaders();
  return res;
}

export function sendJson(res: ApiResponse, code: number, body: unknown, warnings: string[] = []): void {
  sendRaw(res, code, JSON.stringify(body), warnings);
}

export function sendRaw(res: ApiResponse, code: number, json: string, warnings: string[] = []): void {
  const headers: Record<string, string | string[]> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(json)),
    'Cache-Control': 'no-cache, private',
  };
  if (warnings.length > 0) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(json);
}

export function sendError(res: ApiResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.code, statusFor(err));
}
