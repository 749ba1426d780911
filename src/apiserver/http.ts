/**
 * Small HTTP helpers: read a bounded body, decode it within the nesting limit, write JSON, write a
 * Status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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

export { MAX_BODY_BYTES } from './body-limits.js';

/** Reads the body, refusing it (413) past the limit for its content type. */
export async function readBody(
  req: IncomingMessage,
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

export function sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  sendRaw(res, code, JSON.stringify(body), warnings);
}

export function sendRaw(res: ServerResponse, code: number, json: string, warnings: string[] = []): void {
  const headers: Record<string, string | string[]> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(json)),
    'Cache-Control': 'no-cache, private',
  };
  if (warnings.length > 0) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(json);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.code, statusFor(err));
}
